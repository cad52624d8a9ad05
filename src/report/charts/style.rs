//! The charts' shared measures and styles (report stage, charts): the
//! canvas and legend sizes, the font family, the plot's frame in pixels,
//! text styles and tints. `draw`, `legend`, `points` and `encode` all use
//! these, so they live below all four.

use plotters::prelude::*;

use super::figure::colours;
use super::scale::Scale;

/// The canvas, in pixels.
pub(super) const WIDTH: u32 = 1100;
pub(super) const HEIGHT: u32 = 560;
pub(super) const LEGEND_W: u32 = 250;

/// The family the charts' text asks for, in SVG and for layout.
pub(super) const FAMILY: &str = "sans-serif";

pub(super) type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Text in the charts' font.
pub(super) fn text_style(size: f64, colour: RGBColor) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&colour)
}

/// The plot's rectangle in pixels, and its scales, for drawing marks that
/// are placed by time but sized by the plot.
pub(super) struct Frame {
    pub x: Scale,
    pub y: Scale,
    pub left: i32,
    pub right: i32,
    pub top: i32,
    pub bottom: i32,
}

impl Frame {
    /// The pixel column of time `t` (or of any x value).
    pub(super) fn px(&self, t: f64) -> i32 {
        self.x.map(&t, (self.left, self.right))
    }

    /// The pixel row of a y value.
    pub(super) fn py(&self, v: f64) -> i32 {
        self.y.map(&v, (self.bottom, self.top))
    }
}

/// The translucent tint of a change's shaded span (and of its legend swatch).
pub(super) fn tint(colour: RGBColor) -> RGBAColor {
    colour.mix(0.16)
}

/// The warm-up's shading (and its legend swatch), a little paler than a change's.
pub(super) fn warmup_tint() -> RGBAColor {
    colours::WARMUP.mix(0.14)
}

/// A colour darkened, for lines that must stand out on its own tint.
pub(super) fn darker(c: RGBColor) -> RGBColor {
    RGBColor((f64::from(c.0) * 0.7) as u8, (f64::from(c.1) * 0.7) as u8, (f64::from(c.2) * 0.7) as u8)
}
