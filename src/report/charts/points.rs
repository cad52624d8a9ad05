//! Draws a point plot: series over a numeric or categorical axis, each
//! point with its interval (a shaded band, or whiskers) and a marker whose
//! shape tells its verdict; reference lines (SLO thresholds, a search's
//! answer), called-out points (knees) and short tags beside points (a
//! probe's order). Labels go where they cover neither a marker nor another
//! label, or are left out: the legend and the report say the same in words.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::figure::{Guide, IntervalStyle, Points, Series, Shape, runs};
use super::style::{DrawResult, Frame, darker, text_style};

/// The width of the lines joining a series' points.
const LINE_W: u32 = 2;
/// How translucent a confidence band is.
const BAND_ALPHA: f64 = 0.16;

/// A pixel rectangle: left, top, right, bottom.
type Rect = (i32, i32, i32, i32);

fn overlaps(a: Rect, b: Rect) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// The markers' radius: smaller when a series has many points, so that
/// forty of them still leave the line visible.
fn marker_radius(p: &Points) -> i32 {
    let most = p.series.iter().map(|s| s.points.len()).max().unwrap_or(0);
    if most > 15 { 3 } else { 5 }
}

/// The band's tint of a series colour (and of its legend swatch).
pub(super) fn band_tint(colour: RGBColor) -> RGBAColor {
    colour.mix(BAND_ALPHA)
}

/// A series' points in pixels, `None` where a coordinate is not finite.
fn pixel(frame: &Frame, x: f64, y: f64) -> Option<(i32, i32)> {
    (x.is_finite() && y.is_finite()).then(|| (frame.px(x), frame.py(y)))
}

/// The whole plot, over the mesh the caller drew.
pub(super) fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, frame: &Frame, p: &Points) -> DrawResult<DB> {
    let r = marker_radius(p);
    for s in &p.series {
        draw_intervals(root, frame, s, p.interval, r)?;
    }
    for g in &p.guides {
        draw_guide(root, frame, g)?;
    }
    for s in p.series.iter().filter(|s| s.joined) {
        draw_join(root, frame, s)?;
    }
    let mut taken: Vec<Rect> = Vec::new();
    for s in &p.series {
        for pt in &s.points {
            if let Some(at) = pixel(frame, pt.x, pt.y) {
                draw_marker(root, at, r, s.colour, pt.shape)?;
                taken.push((at.0 - r - 1, at.1 - r - 1, at.0 + r + 1, at.1 + r + 1));
            }
        }
    }
    let ring = r + 4;
    for c in &p.callouts {
        if let Some(at) = pixel(frame, c.x, c.y) {
            root.draw(&Circle::new(at, ring, c.colour.stroke_width(2)))?;
            taken.push((at.0 - ring - 1, at.1 - ring - 1, at.0 + ring + 1, at.1 + ring + 1));
        }
    }
    // Labels: the guides' first (they are few and must show), then the
    // callouts', then the tags, each where it covers nothing drawn so far.
    let mut labels = Labels { root, frame, taken };
    for g in &p.guides {
        labels.guide(g)?;
    }
    for c in p.callouts.iter().filter(|c| !c.label.is_empty()) {
        if let Some(at) = pixel(frame, c.x, c.y) {
            labels.beside(at, ring + 2, &c.label, text_style(12.0, c.colour))?;
        }
    }
    for s in &p.series {
        let style = text_style(11.0, darker(s.colour));
        for pt in &s.points {
            if let (Some(tag), Some(at)) = (&pt.tag, pixel(frame, pt.x, pt.y)) {
                labels.beside(at, r + 1, tag, style.clone())?;
            }
        }
    }
    Ok(())
}

/// A series' intervals: one translucent band over each stretch of points
/// that have one (a lone point gets whiskers), or whiskers at every point.
fn draw_intervals<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    frame: &Frame,
    s: &Series,
    style: IntervalStyle,
    r: i32,
) -> DrawResult<DB> {
    let spans: Vec<(f64, f64, f64)> = s.points.iter().map(|p| (p.x, p.lo, p.hi)).collect();
    for run in runs(&spans) {
        if style == IntervalStyle::Band && run.len() > 1 {
            let upper = run.iter().map(|&(x, _, hi)| (frame.px(x), frame.py(hi)));
            let lower = run.iter().rev().map(|&(x, lo, _)| (frame.px(x), frame.py(lo)));
            let outline: Vec<(i32, i32)> = upper.chain(lower).collect();
            root.draw(&Polygon::new(outline, band_tint(s.colour).filled()))?;
        } else {
            for &(x, lo, hi) in run {
                whisker(root, (frame.px(x), frame.py(hi), frame.py(lo)), r, s.colour)?;
            }
        }
    }
    Ok(())
}

/// An error bar at pixel column `x` from `top` to `bottom`, with caps as
/// wide as a marker.
pub(super) fn whisker<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    (x, top, bottom): (i32, i32, i32),
    r: i32,
    colour: RGBColor,
) -> DrawResult<DB> {
    let style = colour.stroke_width(1);
    root.draw(&PathElement::new(vec![(x, top), (x, bottom)], style))?;
    for y in [top, bottom] {
        root.draw(&PathElement::new(vec![(x - r, y), (x + r, y)], style))?;
    }
    Ok(())
}

/// The line through a series' points, broken where a point has no value.
fn draw_join<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, frame: &Frame, s: &Series) -> DrawResult<DB> {
    let points: Vec<(f64, f64)> = s.points.iter().map(|p| (p.x, p.y)).collect();
    for run in runs(&points).into_iter().filter(|r| r.len() > 1) {
        let path: Vec<(i32, i32)> = run.iter().map(|&(x, y)| (frame.px(x), frame.py(y))).collect();
        root.draw(&PathElement::new(path, s.colour.stroke_width(LINE_W)))?;
    }
    Ok(())
}

/// A marker on a white disc, so that it stands off the lines and bands
/// under it: a filled dot, a ring, or a cross.
pub(super) fn draw_marker<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    r: i32,
    colour: RGBColor,
    shape: Shape,
) -> DrawResult<DB> {
    root.draw(&Circle::new((x, y), r + 1, WHITE.filled()))?;
    match shape {
        Shape::Filled => root.draw(&Circle::new((x, y), r, colour.filled())),
        Shape::Hollow => root.draw(&Circle::new((x, y), r, colour.stroke_width(2))),
        Shape::Cross => {
            let (a, style) = (r - 1, colour.stroke_width(2));
            root.draw(&PathElement::new(vec![(x - a, y - a), (x + a, y + a)], style))?;
            root.draw(&PathElement::new(vec![(x - a, y + a), (x + a, y - a)], style))
        }
    }
}

/// 8 px dashes with 5 px gaps between two pixels, on a horizontal or a
/// vertical line.
pub(super) fn dashed<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    from: (i32, i32),
    to: (i32, i32),
    style: ShapeStyle,
) -> DrawResult<DB> {
    const DASH: i32 = 8;
    const GAP: i32 = 5;
    let length = (to.0 - from.0).abs().max((to.1 - from.1).abs());
    let (dx, dy) = ((to.0 - from.0).signum(), (to.1 - from.1).signum());
    let mut at = 0;
    while at < length {
        let end = (at + DASH).min(length);
        let a = (from.0 + dx * at, from.1 + dy * at);
        let b = (from.0 + dx * end, from.1 + dy * end);
        root.draw(&PathElement::new(vec![a, b], style))?;
        at = end + GAP;
    }
    Ok(())
}

/// A reference line across the plot.
fn draw_guide<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, frame: &Frame, g: &Guide) -> DrawResult<DB> {
    if !g.at.is_finite() {
        return Ok(());
    }
    let (from, to) = if g.vertical {
        let x = frame.px(g.at);
        ((x, frame.top), (x, frame.bottom))
    } else {
        let y = frame.py(g.at);
        ((frame.left, y), (frame.right, y))
    };
    let style = g.colour.stroke_width(2);
    if g.dashed { dashed(root, from, to, style) } else { root.draw(&PathElement::new(vec![from, to], style)) }
}

/// Places labels so that they cover neither markers nor each other.
struct Labels<'a, DB: DrawingBackend> {
    root: &'a DrawingArea<DB, Shift>,
    frame: &'a Frame,
    taken: Vec<Rect>,
}

impl<DB: DrawingBackend> Labels<'_, DB> {
    fn size(&self, text: &str, style: &TextStyle) -> Result<(i32, i32), DrawingAreaErrorKind<DB::ErrorType>> {
        let (w, h) = self.root.estimate_text_size(text, style)?;
        Ok((w as i32, h as i32))
    }

    fn inside(&self, r: Rect) -> bool {
        r.0 >= self.frame.left && r.2 <= self.frame.right && r.1 >= self.frame.top && r.3 <= self.frame.bottom
    }

    fn free(&self, r: Rect) -> bool {
        self.inside(r) && !self.taken.iter().any(|t| overlaps(*t, r))
    }

    /// Draws `text` with its top left at the first of `corners` where it
    /// fits, or at the first when `always` and none does; false when left out.
    fn place(
        &mut self,
        corners: &[(i32, i32)],
        text: &str,
        style: TextStyle,
        always: bool,
    ) -> Result<bool, DrawingAreaErrorKind<DB::ErrorType>> {
        let (w, h) = self.size(text, &style)?;
        let rect = |(x, y): (i32, i32)| (x, y, x + w, y + h);
        let chosen = corners.iter().copied().find(|c| self.free(rect(*c)));
        let Some(at) = chosen.or_else(|| corners.first().copied().filter(|_| always)) else { return Ok(false) };
        self.root.draw(&Text::new(text.to_string(), at, style))?;
        self.taken.push(rect(at));
        Ok(true)
    }

    /// A label beside the point at `at`, `gap` pixels off it: above right,
    /// below right, above left, below left, straight above or below, then
    /// the same a line further out (points of a search crowd together).
    fn beside(
        &mut self,
        (x, y): (i32, i32),
        gap: i32,
        text: &str,
        style: TextStyle,
    ) -> Result<bool, DrawingAreaErrorKind<DB::ErrorType>> {
        let (w, h) = self.size(text, &style)?;
        let corners: Vec<(i32, i32)> = [gap, gap + h]
            .into_iter()
            .flat_map(|g| {
                [
                    (x + g, y - g - h),
                    (x + g, y + g),
                    (x - g - w, y - g - h),
                    (x - g - w, y + g),
                    (x - w / 2, y - g - h),
                    (x - w / 2, y + g),
                ]
            })
            .collect();
        self.place(&corners, text, style, false)
    }

    /// A guide's label at its line's end: a horizontal line's right end
    /// (above the line, or below it near the top), a vertical line's top.
    fn guide(&mut self, g: &Guide) -> Result<bool, DrawingAreaErrorKind<DB::ErrorType>> {
        if !g.at.is_finite() || g.label.is_empty() {
            return Ok(false);
        }
        let style = text_style(12.0, darker(g.colour));
        let (w, h) = self.size(&g.label, &style)?;
        let f = self.frame;
        let corners: Vec<(i32, i32)> = if g.vertical {
            let x = f.px(g.at);
            [f.top + 4, f.top + 4 + h + 2, f.top + 4 + 2 * (h + 2)]
                .into_iter()
                .flat_map(|y| [(x + 5, y), (x - 5 - w, y)])
                .collect()
        } else {
            let y = f.py(g.at);
            [f.right - 6 - w, f.left + 6, (f.left + f.right - w) / 2]
                .into_iter()
                .flat_map(|x| [(x, y - 3 - h), (x, y + 4)])
                .collect()
        };
        self.place(&corners, &g.label, style, true)
    }
}

#[cfg(test)]
mod tests {
    use super::super::figure::colours;
    use super::*;

    #[test]
    fn rectangles_overlap_only_when_they_share_area() {
        assert!(overlaps((0, 0, 10, 10), (5, 5, 15, 15)));
        assert!(!overlaps((0, 0, 10, 10), (10, 0, 20, 10)), "touching edges do not overlap");
        assert!(!overlaps((0, 0, 10, 10), (0, 11, 10, 20)));
    }

    #[test]
    fn the_band_tint_is_translucent() {
        assert!(band_tint(colours::P50).3 < 0.5);
    }
}
