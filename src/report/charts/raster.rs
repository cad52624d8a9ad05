//! The PNG canvas: plotters' bitmap backend, with text drawn here. Plotters'
//! ab_glyph text drawing places each glyph at the pen position without its
//! left side bearing, so narrow glyphs ("1", "i") sit too far left and
//! labels read unevenly ("1 6:00"); this draws each glyph where the font
//! puts it. Everything else is the bitmap backend's own drawing.

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};
use plotters::prelude::*;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind};

/// The baseline below the top of a line of text, as a fraction of the
/// font size: with plotters' layout box (size / 1.24 high) this puts
/// lowercase letters in the middle of the box, as centred labels need.
const BASELINE: f32 = 0.64;

type Error<'a> = DrawingErrorKind<<BitMapBackend<'a> as DrawingBackend>::ErrorType>;

/// A bitmap backend that draws text with `font`.
pub(super) struct Raster<'a> {
    inner: BitMapBackend<'a>,
    font: &'a FontRef<'static>,
}

impl<'a> Raster<'a> {
    pub(super) fn new(inner: BitMapBackend<'a>, font: &'a FontRef<'static>) -> Raster<'a> {
        Raster { inner, font }
    }

    /// Coverage of each pixel the text touches, relative to the top left of
    /// its line: `(x, y, coverage 0..1)`.
    fn glyph_pixels(&self, text: &str, size: f32) -> Vec<(i32, i32, f32)> {
        let font = self.font.as_scaled(PxScale::from(size));
        let mut pixels = Vec::new();
        let mut caret = 0.0;
        let mut previous: Option<GlyphId> = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = previous {
                caret += font.kern(p, id);
            }
            let glyph = id.with_scale_and_position(size, point(caret, size * BASELINE));
            if let Some(outline) = self.font.outline_glyph(glyph) {
                let bounds = outline.px_bounds();
                let (left, top) = (bounds.min.x as i32, bounds.min.y as i32);
                outline.draw(|x, y, coverage| pixels.push((left + x as i32, top + y as i32, coverage)));
            }
            caret += font.h_advance(id);
            previous = Some(id);
        }
        pixels
    }
}

impl<'a> DrawingBackend for Raster<'a> {
    type ErrorType = <BitMapBackend<'a> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), Error<'a>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), Error<'a>> {
        self.inner.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Result<(), Error<'a>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(&mut self, from: BackendCoord, to: BackendCoord, style: &S) -> Result<(), Error<'a>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), Error<'a>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), Error<'a>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), Error<'a>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), Error<'a>> {
        self.inner.fill_polygon(vert, style)
    }

    /// Text placed by the same layout box as plotters uses for measuring
    /// (so anchors and label areas agree), rasterised glyph by glyph.
    fn draw_text<S: BackendTextStyle>(&mut self, text: &str, style: &S, pos: BackendCoord) -> Result<(), Error<'a>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let ((min_x, min_y), (max_x, max_y)) =
            style.layout_box(text).map_err(|e| DrawingErrorKind::FontError(Box::new(e)))?;
        let (width, height) = (max_x - min_x, max_y - min_y);
        let dx = match style.anchor().h_pos {
            HPos::Left => 0,
            HPos::Right => -width,
            HPos::Center => -width / 2,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0,
            VPos::Center => -height / 2,
            VPos::Bottom => -height,
        };
        let (w, h) = self.get_size();
        let transform = style.transform();
        for (x, y, coverage) in self.glyph_pixels(text, style.size() as f32) {
            let (x, y) = transform.transform(x + dx, y + dy);
            let (x, y) = (pos.0 + x, pos.1 + y);
            if x >= 0 && y >= 0 && x < w as i32 && y < h as i32 {
                let alpha = color.alpha * f64::from(coverage.min(1.0));
                self.inner.draw_pixel((x, y), BackendColor { alpha, rgb: color.rgb })?;
            }
        }
        Ok(())
    }
}
