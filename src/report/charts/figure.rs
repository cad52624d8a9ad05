//! What one chart shows, apart from how plotters draws it: the axes, the
//! series (lines, stacked bands, a heat map, or points with intervals),
//! the marks on the timeline and the notes for the legend. Keeping this plain data lets the builders
//! be tested without rendering, and lets one drawing routine serve both the
//! SVG and the PNG.

use plotters::style::RGBColor;

use super::heatmap::HeatMap;
use super::scale::Scale;
use crate::report::chartdata::{AlertMark, ChangeMark};

/// One chart, ready to draw.
#[derive(Clone, Debug)]
pub(super) struct Figure {
    /// File stem, like `latency` or `sweep-latency_p99_ms`.
    pub name: String,
    /// What the chart shows, for the HTML report.
    pub title: String,
    /// The title drawn on the chart (with the scenario's name).
    pub heading: String,
    pub x: Scale,
    pub y: Scale,
    pub plot: Plot,
    pub marks: Marks,
    /// Extra lines for the legend: how servers were grouped, and such.
    pub notes: Vec<String>,
}

impl Figure {
    /// Whether there is anything to draw besides the axes.
    pub(super) fn has_data(&self) -> bool {
        match &self.plot {
            Plot::Lines(lines) => lines.iter().any(|l| !runs(&l.points).is_empty()),
            Plot::Stack(bands) => bands.iter().any(|b| !runs(&b.points).is_empty()),
            Plot::Heat(h) => h.cells.iter().flatten().any(Option::is_some),
            Plot::Points(p) => p.series.iter().flat_map(|s| &s.points).any(|p| p.x.is_finite() && p.y.is_finite()),
        }
    }
}

/// The body of a chart.
#[derive(Clone, Debug)]
pub(super) enum Plot {
    Lines(Vec<Line>),
    /// Bands stacked bottom to top.
    Stack(Vec<Band>),
    Heat(HeatMap),
    /// Points over a numeric or categorical axis, each with an interval:
    /// an experiment's curves, a search's probes.
    Points(Points),
}

/// A series drawn as a line; a point whose `y` is not finite breaks it.
#[derive(Clone, Debug)]
pub(super) struct Line {
    pub label: String,
    pub colour: RGBColor,
    pub dashed: bool,
    pub width: u32,
    pub points: Vec<(f64, f64)>,
    /// The time a point stands for (a bucket), so that a point between two
    /// gaps can be drawn as a short level segment instead of vanishing.
    pub step: f64,
}

/// A filled band between `lo` and `hi` for each `(x, lo, hi)`; a
/// non-finite `hi` is a gap.
#[derive(Clone, Debug)]
pub(super) struct Band {
    pub label: String,
    pub colour: RGBColor,
    pub points: Vec<(f64, f64, f64)>,
    pub step: f64,
}

/// Series of points, each with an interval, and what to draw over them.
#[derive(Clone, Debug)]
pub(super) struct Points {
    pub series: Vec<Series>,
    /// Reference lines across the plot: SLO thresholds, a search's answer.
    pub guides: Vec<Guide>,
    /// Points ringed and labelled: the knees of curves.
    pub callouts: Vec<Callout>,
    pub interval: IntervalStyle,
    /// The legend, as the builder words it (what the shapes mean depends
    /// on the chart).
    pub legend: Vec<Key>,
}

/// One series of points, drawn in x order.
#[derive(Clone, Debug)]
pub(super) struct Series {
    pub label: String,
    pub colour: RGBColor,
    /// Whether a line joins the points (not on a categorical axis).
    pub joined: bool,
    pub points: Vec<Point>,
}

/// A mean with its interval (`lo`, `hi` NaN when there is none); a point
/// whose `y` is not finite is a gap.
#[derive(Clone, Debug)]
pub(super) struct Point {
    pub x: f64,
    pub y: f64,
    pub lo: f64,
    pub hi: f64,
    pub shape: Shape,
    /// A short label beside the point: a probe's order.
    pub tag: Option<String>,
}

/// A point's marker.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Shape {
    Filled,
    Hollow,
    Cross,
}

/// How intervals are drawn: a band along a curve, or error bars.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum IntervalStyle {
    Band,
    Whiskers,
}

/// A line across the plot at `at`: horizontal at a y value, or vertical at
/// an x value; labelled at its end.
#[derive(Clone, Debug)]
pub(super) struct Guide {
    pub vertical: bool,
    pub at: f64,
    pub label: String,
    pub colour: RGBColor,
    pub dashed: bool,
}

/// A point ringed and labelled.
#[derive(Clone, Debug)]
pub(super) struct Callout {
    pub x: f64,
    pub y: f64,
    pub label: String,
    pub colour: RGBColor,
}

/// One legend entry of a point plot.
#[derive(Clone, Debug)]
pub(super) struct Key {
    pub mark: KeyMark,
    pub text: String,
}

impl Key {
    /// Text alone.
    pub(super) fn note(text: impl Into<String>) -> Key {
        Key { mark: KeyMark::Note, text: text.into() }
    }
}

/// What stands before a legend entry of a point plot.
#[derive(Clone, Debug)]
pub(super) enum KeyMark {
    /// A series: a dot of its colour, on a line when its points are joined.
    Series {
        colour: RGBColor,
        joined: bool,
    },
    /// A confidence band's tint.
    Band(RGBColor),
    /// An error bar.
    Whisker(RGBColor),
    /// A marker's shape, in the text's colour.
    Shape(Shape),
    Guide {
        colour: RGBColor,
        dashed: bool,
        vertical: bool,
    },
    /// The ring of a callout.
    Ring(RGBColor),
    Note,
}

/// Something that can be split into drawable runs: finite coordinates.
pub(super) trait Plottable {
    fn is_finite(&self) -> bool;
}

impl Plottable for (f64, f64) {
    fn is_finite(&self) -> bool {
        self.0.is_finite() && self.1.is_finite()
    }
}

impl Plottable for (f64, f64, f64) {
    fn is_finite(&self) -> bool {
        self.0.is_finite() && self.1.is_finite() && self.2.is_finite()
    }
}

/// The stretches of consecutive finite points, between the gaps.
pub(super) fn runs<P: Plottable>(points: &[P]) -> Vec<&[P]> {
    points.split(|p| !p.is_finite()).filter(|run| !run.is_empty()).collect()
}

/// What happened on the run's timeline, drawn over the time-series charts.
#[derive(Clone, Debug, Default)]
pub(super) struct Marks {
    /// The end of the run (open-ended spans stop there).
    pub end_s: f64,
    /// The warm-up, left out of the statistics (none when 0).
    pub warmup_s: f64,
    pub changes: Vec<ChangeSet>,
    pub alerts: Vec<AlertMark>,
}

impl Marks {
    pub(super) fn is_empty(&self) -> bool {
        self.warmup_s <= 0.0 && self.alerts.is_empty() && self.changes.iter().all(|c| c.marks.is_empty())
    }
}

/// The changes of one run, in one tint (a comparison may show two runs').
#[derive(Clone, Debug)]
pub(super) struct ChangeSet {
    pub colour: RGBColor,
    /// Whose changes these are, when there is more than one set.
    pub owner: Option<String>,
    pub marks: Vec<ChangeMark>,
}

/// Colours for series that are not servers.
pub(super) mod colours {
    use plotters::style::RGBColor;

    pub(crate) const P50: RGBColor = RGBColor(0x1f, 0x6f, 0xb4);
    pub(crate) const P90: RGBColor = RGBColor(0xe8, 0x8a, 0x1a);
    pub(crate) const P99: RGBColor = RGBColor(0x8e, 0x2c, 0x9a);
    pub(crate) const ERRORS: RGBColor = RGBColor(0xd9, 0x5f, 0x0e);
    pub(crate) const TIMEOUTS: RGBColor = RGBColor(0x5e, 0x4f, 0xa2);
    pub(crate) const AFFECTED: RGBColor = RGBColor(0xd9, 0x5f, 0x0e);
    pub(crate) const SLOWED: RGBColor = RGBColor(0x1f, 0x6f, 0xb4);
    pub(crate) const SPECTRUM: RGBColor = RGBColor(0x1f, 0x6f, 0xb4);
    pub(crate) const OTHERS: RGBColor = RGBColor(0xbd, 0xbd, 0xbd);
    pub(crate) const CHANGE: RGBColor = RGBColor(0xf2, 0xa9, 0x00);
    pub(crate) const ALERT: RGBColor = RGBColor(0xd6, 0x27, 0x28);
    pub(crate) const WARMUP: RGBColor = RGBColor(0x80, 0x80, 0x80);
    pub(crate) const BASELINE: RGBColor = RGBColor(0x1f, 0x6f, 0xb4);
    pub(crate) const CHANGED: RGBColor = RGBColor(0xe8, 0x6a, 0x10);
    pub(crate) const GRID: RGBColor = RGBColor(0xe4, 0xe4, 0xe4);
    pub(crate) const TEXT: RGBColor = RGBColor(0x33, 0x33, 0x33);
    pub(crate) const MUTED: RGBColor = RGBColor(0x77, 0x77, 0x77);
    pub(crate) const NO_DATA: RGBColor = RGBColor(0xf0, 0xf0, 0xf0);
    /// An SLO's threshold (the reports' red for a failure).
    pub(crate) const THRESHOLD: RGBColor = RGBColor(0xc6, 0x28, 0x28);
    /// A capacity search's answer (the reports' green for a pass).
    pub(crate) const ANSWER: RGBColor = RGBColor(0x1a, 0x7f, 0x37);

    /// Twelve colours that stay apart from each other, for one series a server.
    const SERVERS: [RGBColor; 12] = [
        RGBColor(0x1f, 0x77, 0xb4),
        RGBColor(0xff, 0x7f, 0x0e),
        RGBColor(0x2c, 0xa0, 0x2c),
        RGBColor(0xd6, 0x27, 0x28),
        RGBColor(0x94, 0x67, 0xbd),
        RGBColor(0x8c, 0x56, 0x4b),
        RGBColor(0xe3, 0x77, 0xc2),
        RGBColor(0x17, 0xbe, 0xcf),
        RGBColor(0xbc, 0xbd, 0x22),
        RGBColor(0x39, 0x3b, 0x79),
        RGBColor(0x63, 0x79, 0x39),
        RGBColor(0x84, 0x3c, 0x39),
    ];

    /// The colour of the `i`th series of servers.
    pub(crate) fn server(i: usize) -> RGBColor {
        SERVERS[i % SERVERS.len()]
    }

    /// The colour of level `level` of `levels` on the heat maps' scale, from
    /// pale yellow (idle) through orange to dark red (saturated).
    pub(crate) fn heat(level: u8, levels: u8) -> RGBColor {
        const ANCHORS: [(f64, f64, f64); 3] = [(255.0, 255.0, 204.0), (253.0, 141.0, 60.0), (128.0, 0.0, 38.0)];
        let t = f64::from(level) / f64::from(levels.max(2) - 1);
        let (a, b, local) =
            if t <= 0.5 { (ANCHORS[0], ANCHORS[1], t * 2.0) } else { (ANCHORS[1], ANCHORS[2], t * 2.0 - 1.0) };
        let mix = |x: f64, y: f64| (x + (y - x) * local).round() as u8;
        RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_split_series_into_runs() {
        let nan = f64::NAN;
        let points = [(0.0, 1.0), (1.0, nan), (2.0, 2.0), (3.0, 3.0), (4.0, nan), (5.0, nan), (6.0, 4.0)];
        let lengths: Vec<usize> = runs(&points).iter().map(|r| r.len()).collect();
        assert_eq!(lengths, [1, 2, 1]);
        assert!(runs(&[(0.0, nan, nan)]).is_empty());
        assert!(runs::<(f64, f64)>(&[]).is_empty());
    }

    #[test]
    fn heat_colours_run_from_pale_to_dark() {
        let first = colours::heat(0, 10);
        let last = colours::heat(9, 10);
        assert_eq!(first, RGBColor(255, 255, 204));
        assert_eq!(last, RGBColor(128, 0, 38));
        let lightness = |c: RGBColor| u32::from(c.0) + u32::from(c.1) + u32::from(c.2);
        assert!((0..9).all(|l| lightness(colours::heat(l, 10)) > lightness(colours::heat(l + 1, 10))));
    }
}
