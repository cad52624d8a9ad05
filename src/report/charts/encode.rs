//! Turning a figure into the bytes written to disk: SVG text, and a PNG
//! encoded in memory from an RGB buffer. Text is laid out with DejaVu Sans,
//! embedded in the binary and registered once, so that charts come out the
//! same on any machine, fonts installed or not; the SVG names a generic
//! family so that browsers draw it with what they have.

use std::sync::OnceLock;

use ab_glyph::FontRef;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::draw::draw;
use super::figure::Figure;
use super::raster::Raster;
use super::style::{FAMILY, HEIGHT, WIDTH};

static DEJAVU_SANS: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// The embedded font, registered with plotters under [`FAMILY`] the first
/// time it is needed: plotters lays out every chart's text with the
/// registered font (for the SVG too), and the PNGs' text is drawn with the
/// font itself. Without it no chart can be laid out, so both encoders stop
/// with this error at once, and the report shows it in place of the chart,
/// rather than a font error from deep in plotters.
fn font() -> Result<&'static FontRef<'static>, String> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| {
        let font = FontRef::try_from_slice(DEJAVU_SANS).ok()?;
        plotters::style::register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).ok()?;
        Some(font)
    })
    .as_ref()
    .ok_or_else(|| "the embedded font is unreadable".to_string())
}

/// The figure as an SVG document.
pub(super) fn svg(fig: &Figure) -> Result<String, String> {
    font()?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        draw(fig, &root).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// The figure as a PNG image.
pub(super) fn png(fig: &Figure) -> Result<Vec<u8>, String> {
    let font = font()?;
    let mut rgb = vec![0u8; WIDTH as usize * HEIGHT as usize * 3];
    {
        let canvas = Raster::new(BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)), font);
        let root = canvas.into_drawing_area();
        draw(fig, &root).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    encode_png(&rgb, WIDTH, HEIGHT).map_err(|e| e.to_string())
}

/// An RGB buffer as PNG. Fast compression: charts are written by every
/// run, and flat colours compress well even so.
pub(super) fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(out)
}
