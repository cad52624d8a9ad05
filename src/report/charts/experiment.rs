//! The figures of the experiments: a sweep's curve of each headline metric
//! against its first axis (one curve per combination of the other axes,
//! with its confidence band, the SLO threshold the metric is bound by and
//! the knee), a chart for each SLO no headline metric matches, and a
//! capacity search's probes.
//!
//! Every marker tells the verdict at its point: a dot where the SLOs hold
//! with the stated confidence, a ring where the interval straddles a
//! threshold (inconclusive), a cross where they fail.

use plotters::style::RGBColor;

use super::figure::colours;
use super::figure::{Callout, Figure, Guide, IntervalStyle, Key, KeyMark, Marks, Plot, Point, Points, Series, Shape};
use super::scale::{self, Scale};
use super::style::darker;
use crate::model::slos::{Objective, SloMetric, SloUnit, parse_objective};
use crate::report::capacity::{CapacityReport, Probe};
use crate::report::design::Kind;
use crate::report::replications::{Verdict, confidence_pct};
use crate::report::sweep::{PointReport, SloThreshold, SweepReport};

/// A threshold further above the data than this many times its top is
/// named in the legend instead of drawn (it would flatten the curves).
const THRESHOLD_REACH: f64 = 3.0;

/// The marker of a verdict.
fn shape(v: Verdict) -> Shape {
    match v {
        Verdict::Pass => Shape::Filled,
        Verdict::Inconclusive => Shape::Hollow,
        Verdict::Fail => Shape::Cross,
    }
}

/// The legend's lines for the markers: what they judge, then each verdict.
fn verdict_keys(what: &str, confidence: f64, verbs: [&str; 3]) -> Vec<Key> {
    let conf = confidence_pct(confidence);
    vec![
        Key::note(format!("{what}, at {conf}:")),
        Key { mark: KeyMark::Shape(Shape::Filled), text: verbs[0].to_string() },
        Key { mark: KeyMark::Shape(Shape::Hollow), text: verbs[1].to_string() },
        Key { mark: KeyMark::Shape(Shape::Cross), text: verbs[2].to_string() },
    ]
}

/// `title` with its unit: `clients.web.rate (/s)`.
fn titled(title: &str, unit: &str) -> String {
    if unit.is_empty() { title.to_string() } else { format!("{title} ({unit})") }
}

/// How values of `kind` are drawn: the factor from the kind's base unit
/// and the unit's name (durations under a second in milliseconds).
fn value_unit(kind: Kind, numbers: &[f64]) -> (f64, &'static str) {
    match kind {
        Kind::Rate => (1.0, "/s"),
        Kind::Percent => (100.0, "%"),
        Kind::Duration if numbers.iter().copied().filter(|v| v.is_finite()).fold(0.0, f64::max) < 1.0 => (1e3, "ms"),
        Kind::Duration => (1.0, "s"),
        Kind::Integer | Kind::Number | Kind::Text => (1.0, ""),
    }
}

/// Whether sorted distinct values grow by a constant factor (a geometric
/// range like `100/s..6400/s*2`), which reads best on a log axis.
fn geometric(values: &[f64]) -> bool {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    if v.len() < 3 || v[0] <= 0.0 {
        return false;
    }
    let ratios: Vec<f64> = v.windows(2).map(|w| w[1] / w[0]).collect();
    let (lo, hi) = ratios.iter().fold((f64::INFINITY, 0.0f64), |(l, h), r| (l.min(*r), h.max(*r)));
    lo >= 1.5 && hi <= lo * 1.02
}

/// A numeric x axis over `values`: logarithmic for a geometric range,
/// whole-number ticks for counts.
fn numeric_axis(values: &[f64], title: &str, kind: Kind) -> Scale {
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let (min, max) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
    if geometric(values) {
        scale::log_numbers(min, max, &format!("{title} (log scale)"))
    } else {
        scale::linear(min, max, title, kind == Kind::Integer)
    }
}

/// A y axis for values in `unit`: response times as on the run charts
/// (logarithmic past 1.5 decades), else from zero, or fitted to the values
/// when they all lie in the top fifth of that.
fn value_axis(label: &str, unit: &str, values: &[f64]) -> Scale {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if unit == "ms" {
        let s = scale::response_time(finite.iter().copied());
        let label = if s.log { format!("{label} (log scale)") } else { label.to_string() };
        return Scale { label, ..s };
    }
    let title = titled(label, unit);
    let (min, max) = finite.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(*v), h.max(*v)));
    if max > 0.0 && min >= 0.8 * max {
        return scale::linear(min, max, &title, false);
    }
    let top = max.max(0.0);
    let s = scale::from_zero(top, if top > 0.0 { 0.0 } else { 1.0 }, &title);
    if unit == "%" && s.hi > 100.0 && top <= 100.0 { scale::percent(top, &title) } else { s }
}

/// The highest finite value (0 when none).
fn top(values: &[f64]) -> f64 {
    values.iter().copied().filter(|v| v.is_finite()).fold(0.0, f64::max)
}

/// Whether a threshold is close enough to the data to draw.
fn within_reach(threshold: f64, data: &[f64]) -> bool {
    let t = top(data);
    threshold.is_finite() && (t <= 0.0 || threshold <= THRESHOLD_REACH * t)
}

/// The finite ends and means of some series, for their axis.
fn extent(series: &[Series]) -> Vec<f64> {
    series.iter().flat_map(|s| s.points.iter().flat_map(|p| [p.y, p.lo, p.hi])).filter(|v| v.is_finite()).collect()
}

/// The SLO thresholds as dashed lines where they are near the data (their
/// values joining the axis), and a note for each that is not.
fn threshold_guides(
    lines: &[(String, f64, RGBColor)],
    data: &mut Vec<f64>,
    notes: &mut Vec<String>,
    fmt: &dyn Fn(f64) -> String,
) -> Vec<Guide> {
    let mut guides = Vec::new();
    let reach = data.clone();
    for (label, at, colour) in lines {
        if within_reach(*at, &reach) {
            data.push(*at);
            guides.push(Guide { vertical: false, at: *at, label: label.clone(), colour: *colour, dashed: true });
        } else if at.is_finite() {
            notes.push(format!("{label}: {} is above the chart", fmt(*at)));
        }
    }
    guides
}

/// The legend's keys of the guides.
fn guide_keys(guides: &[Guide]) -> Vec<Key> {
    guides
        .iter()
        .map(|g| Key {
            mark: KeyMark::Guide { colour: g.colour, dashed: g.dashed, vertical: g.vertical },
            text: g.label.clone(),
        })
        .collect()
}

fn series_keys(series: &[Series]) -> Vec<Key> {
    series
        .iter()
        .map(|s| Key { mark: KeyMark::Series { colour: s.colour, joined: s.joined }, text: s.label.clone() })
        .collect()
}

/// The title drawn on a chart: `scenario · what`.
fn heading(scenario: &str, title: &str) -> String {
    if scenario.is_empty() { title.to_string() } else { format!("{scenario} · {title}") }
}

fn point_figure(
    name: String,
    title: String,
    heading: String,
    x: Scale,
    y: Scale,
    points: Points,
    notes: Vec<String>,
) -> Figure {
    Figure { name, title, heading, x, y, plot: Plot::Points(points), marks: Marks::default(), notes }
}

// ---------------------------------------------------------------------------
// A sweep.

/// Where a sweep's points sit along its first axis.
struct Placement {
    scale: Scale,
    /// The x of each point (by position in `points`), before dodging.
    at: Vec<f64>,
    /// Whether the axis is numeric (curves are joined) or categorical
    /// (each curve's points are shifted a little so that they do not
    /// cover each other's).
    numeric: bool,
}

impl Placement {
    fn of(r: &SweepReport) -> Option<Placement> {
        let axis = r.axes.first()?;
        let numbers: Vec<Option<f64>> = r.points.iter().map(|p| p.values.first().and_then(|v| v.number)).collect();
        let numeric = axis.kind.is_numeric() && numbers.iter().all(|n| n.is_some_and(f64::is_finite));
        if numeric {
            let raw: Vec<f64> = numbers.iter().map(|n| n.unwrap_or(f64::NAN)).collect();
            let (factor, unit) = value_unit(axis.kind, &raw);
            let at: Vec<f64> = raw.iter().map(|v| v * factor).collect();
            let scale = numeric_axis(&at, &titled(&axis.path, unit), axis.kind);
            return Some(Placement { scale, at, numeric });
        }
        let labels: Vec<String> = axis.values.iter().map(|v| v.text.clone()).collect();
        let at = r
            .points
            .iter()
            .map(|p| {
                let text = p.values.first().map(|v| v.text.as_str());
                labels.iter().position(|l| Some(l.as_str()) == text).map_or(f64::NAN, |i| i as f64)
            })
            .collect();
        Some(Placement { scale: scale::categories(&labels, &axis.path), at, numeric })
    }

    /// How far curve `c` of `n` is shifted on a categorical axis.
    fn dodge(&self, c: usize, n: usize) -> f64 {
        if self.numeric || n < 2 {
            return 0.0;
        }
        let width = (0.5 / n as f64).min(0.12);
        (c as f64 - (n - 1) as f64 / 2.0) * width
    }
}

/// The position in `points` of the point with `index` (its position when
/// the report is as a sweep builds it).
fn position(r: &SweepReport, index: usize) -> Option<usize> {
    match r.points.get(index) {
        Some(p) if p.index == index => Some(index),
        _ => r.points.iter().position(|p| p.index == index),
    }
}

/// The sweep's curves: the points of each, and its label.
struct Curves<'a> {
    report: &'a SweepReport,
    place: Placement,
    /// Each curve's label and its points' positions in `points`.
    curves: Vec<(String, Vec<usize>)>,
}

impl<'a> Curves<'a> {
    fn of(report: &'a SweepReport) -> Option<Curves<'a>> {
        let place = Placement::of(report)?;
        let curves = report
            .curves()
            .into_iter()
            .map(|(_, idx)| {
                let idx: Vec<usize> = idx.into_iter().filter_map(|i| position(report, i)).collect();
                let label = idx
                    .first()
                    .map(|&p| {
                        report.points[p].values.iter().skip(1).map(|v| v.text.as_str()).collect::<Vec<_>>().join(" · ")
                    })
                    .unwrap_or_default();
                (label, idx)
            })
            .collect();
        Some(Curves { report, place, curves })
    }

    /// The position in `points` of the point with this index.
    fn position(&self, index: usize) -> Option<usize> {
        position(self.report, index)
    }

    /// The other axes' paths, which tell the curves apart (empty for one axis).
    fn title(&self) -> String {
        self.report.axes.iter().skip(1).map(|a| a.path.as_str()).collect::<Vec<_>>().join(" · ")
    }

    /// One series a curve: `value` gives a point's mean and interval ends
    /// (NaN when undefined), `verdict` its marker. A single curve is
    /// labelled `single`.
    fn series(
        &self,
        single: &str,
        value: &dyn Fn(&PointReport) -> [f64; 3],
        verdict: &dyn Fn(&PointReport) -> Verdict,
    ) -> Vec<Series> {
        let n = self.curves.len();
        self.curves
            .iter()
            .enumerate()
            .map(|(c, (label, idx))| {
                let dx = self.place.dodge(c, n);
                let mut points: Vec<Point> = idx
                    .iter()
                    .map(|&p| {
                        let point = &self.report.points[p];
                        let [y, lo, hi] = value(point);
                        Point { x: self.place.at[p] + dx, y, lo, hi, shape: shape(verdict(point)), tag: None }
                    })
                    .collect();
                points.sort_by(|a, b| a.x.total_cmp(&b.x));
                let label = if n == 1 { single.to_string() } else { label.clone() };
                Series { label, colour: colours::server(c), joined: self.place.numeric, points }
            })
            .collect()
    }

    /// The point plot of some series, its legend in order: what tells the
    /// curves apart, the curves, the interval, the verdicts, the guides.
    fn points(
        &self,
        series: Vec<Series>,
        guides: Vec<Guide>,
        callouts: Vec<Callout>,
        verdicts: Option<Vec<Key>>,
    ) -> Points {
        let mut legend = Vec::new();
        if series.len() > 1 {
            legend.push(Key::note(self.title()));
        }
        legend.extend(series_keys(&series));
        let interval = if self.place.numeric { IntervalStyle::Band } else { IntervalStyle::Whiskers };
        let conf = format!("{} confidence interval", confidence_pct(self.report.confidence));
        legend.push(Key {
            mark: match interval {
                IntervalStyle::Band => KeyMark::Band(colours::MUTED),
                IntervalStyle::Whiskers => KeyMark::Whisker(colours::MUTED),
            },
            text: conf,
        });
        legend.extend(verdicts.unwrap_or_default());
        legend.extend(guide_keys(&guides));
        if !callouts.is_empty() {
            legend.push(Key { mark: KeyMark::Ring(colours::TEXT), text: "knee (sharpest bend)".into() });
        }
        Points { series, guides, callouts, interval, legend }
    }

    fn against(&self) -> String {
        self.report.axes.first().map(|a| a.path.clone()).unwrap_or_default()
    }

    fn notes(&self) -> Vec<String> {
        vec![format!("mean of {} replications a point", self.report.replications)]
    }
}

/// Every chart of a sweep: one per headline metric that some point defines
/// and that is not the same at every point, then one per SLO that no
/// headline metric matches.
pub(super) fn sweep_figures(r: &SweepReport) -> Vec<Figure> {
    let Some(curves) = Curves::of(r) else { return Vec::new() };
    if r.points.is_empty() {
        return Vec::new();
    }
    let mut figures = Vec::new();
    for m in &r.points[0].replications.metrics {
        let means: Vec<f64> = r
            .points
            .iter()
            .filter_map(|p| p.replications.metrics.iter().find(|e| e.metric == m.metric)?.mean)
            .filter(|v| v.is_finite())
            .collect();
        let (lo, hi) = means.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(*v), h.max(*v)));
        if means.is_empty() || hi - lo <= 1e-12 * hi.abs().max(lo.abs()) {
            continue;
        }
        figures.push(metric_figure(&curves, m.metric, m.label, m.unit));
    }
    for t in r.thresholds.iter().filter(|t| t.metric.is_none()) {
        figures.push(slo_figure(&curves, t));
    }
    figures
}

fn or_nan(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NAN)
}

/// A headline metric's curves, its SLO thresholds and knees.
fn metric_figure(c: &Curves, key: &'static str, label: &str, unit: &str) -> Figure {
    let r = c.report;
    let bounds: Vec<&SloThreshold> =
        r.thresholds.iter().filter(|t| t.metric == Some(key) && t.metric_value.is_some_and(f64::is_finite)).collect();
    let value = |p: &PointReport| {
        let e = p.replications.metrics.iter().find(|e| e.metric == key);
        e.map_or([f64::NAN; 3], |e| [or_nan(e.mean), or_nan(e.ci_low), or_nan(e.ci_high)])
    };
    let verdict = |p: &PointReport| {
        if bounds.is_empty() {
            p.replications.verdict
        } else {
            Verdict::all(bounds.iter().filter_map(|t| p.replications.slos.get(t.slo).map(|s| s.verdict)))
        }
    };
    let series = c.series(&format!("{label} (mean)"), &value, &verdict);
    let mut data = extent(&series);
    let mut notes = c.notes();
    let lines: Vec<(String, f64, RGBColor)> =
        bounds.iter().map(|t| (format!("SLO {}", t.objective), or_nan(t.metric_value), colours::THRESHOLD)).collect();
    let fmt = |v: f64| metric_text(v, unit);
    let guides = threshold_guides(&lines, &mut data, &mut notes, &fmt);
    let y = value_axis(label, unit, &data);
    let callouts = r
        .knees
        .iter()
        .filter(|k| k.metric == key)
        .filter_map(|k| {
            let p = c.position(k.point)?;
            let curve = c.curves.iter().position(|(_, idx)| idx.contains(&p))?;
            let s = series.get(curve)?;
            let x = c.place.at[p] + c.place.dodge(curve, c.curves.len());
            let y = value(&r.points[p])[0];
            Some(Callout { x, y, label: format!("knee {}", k.value), colour: darker(s.colour) })
        })
        .collect();
    let callouts = label_once(callouts);
    let verdicts = r.slos_declared().then(|| {
        let what = if bounds.is_empty() {
            "every SLO".to_string()
        } else {
            bounds.iter().map(|t| t.objective.as_str()).collect::<Vec<_>>().join(", ")
        };
        verdict_keys(&what, r.confidence, ["holds", "inconclusive", "fails"])
    });
    let title = format!("{label} against {}", c.against());
    let points = c.points(series, guides, callouts, verdicts);
    point_figure(
        format!("sweep-{key}"),
        title.clone(),
        heading(&r.scenario, &title),
        c.place.scale.clone(),
        y,
        points,
        notes,
    )
}

/// Callouts with the same label (the curves of a grid bending at one
/// value) keep it on the first alone: the rings show where each bends.
fn label_once(mut callouts: Vec<Callout>) -> Vec<Callout> {
    let mut seen: Vec<String> = Vec::new();
    for c in &mut callouts {
        if seen.contains(&c.label) {
            c.label.clear();
        } else {
            seen.push(c.label.clone());
        }
    }
    callouts
}

/// A mean in a headline metric's unit, for a note.
fn metric_text(v: f64, unit: &str) -> String {
    crate::report::replications::with_unit(crate::report::replications::num(v), unit)
}

/// How an SLO's observed values are drawn: the factor from its unit, the
/// unit and the axis title.
fn slo_display(o: Option<&Objective>) -> (f64, &'static str, String) {
    let Some(o) = o else { return (1.0, "", "observed".to_string()) };
    let name = match o.metric {
        SloMetric::P999 => "p99.9".to_string(),
        m => m.name().replace('_', " "),
    };
    match o.metric.unit() {
        SloUnit::Millis => (1.0, "ms", format!("{name} response time")),
        SloUnit::Fraction => (100.0, "%", name),
        SloUnit::PercentOfUsers => (1.0, "%", format!("{name} (of users)")),
        SloUnit::PerSecond => (1.0, "req/s", name),
    }
}

/// `p99 < 300ms`, or `fast (p99 < 300ms)` when the SLO has its own name.
fn slo_title(name: &str, objective: &str) -> String {
    if name == objective || name.is_empty() { objective.to_string() } else { format!("{name} ({objective})") }
}

/// An SLO that no headline metric matches: its observed value at each point.
fn slo_figure(c: &Curves, t: &SloThreshold) -> Figure {
    let r = c.report;
    let objective = parse_objective(&t.objective).ok();
    let (factor, unit, label) = slo_display(objective.as_ref());
    let value = |p: &PointReport| {
        p.replications.slos.get(t.slo).map_or([f64::NAN; 3], |s| {
            [or_nan(s.observed_mean), or_nan(s.ci_low), or_nan(s.ci_high)].map(|v| v * factor)
        })
    };
    let verdict = |p: &PointReport| p.replications.slos.get(t.slo).map_or(Verdict::Fail, |s| s.verdict);
    let series = c.series(&format!("{label} (mean)"), &value, &verdict);
    let mut data = extent(&series);
    let mut notes = c.notes();
    let fmt =
        |v: f64| objective.as_ref().map_or_else(|| crate::report::replications::num(v), |o| o.format_value(v / factor));
    let lines = [(format!("SLO {}", t.objective), t.value * factor, colours::THRESHOLD)];
    let guides = threshold_guides(&lines, &mut data, &mut notes, &fmt);
    let y = value_axis(&label, unit, &data);
    let window =
        r.points.iter().find_map(|p| p.replications.slos.get(t.slo).map(|s| s.window.clone())).unwrap_or_default();
    if !window.is_empty() && window != "run" {
        notes.push(format!("window: {window}"));
    }
    let verdicts = Some(verdict_keys(&t.objective, r.confidence, ["holds", "inconclusive", "fails"]));
    let title = format!("SLO {} against {}", slo_title(&t.name, &t.objective), c.against());
    let points = c.points(series, guides, Vec::new(), verdicts);
    point_figure(
        format!("sweep-slo-{}", t.slo),
        title.clone(),
        heading(&r.scenario, &title),
        c.place.scale.clone(),
        y,
        points,
        notes,
    )
}

// ---------------------------------------------------------------------------
// A capacity search.

/// One SLO of a search, as the probes judged it.
struct SearchSlo {
    index: usize,
    name: String,
    objective: String,
    parsed: Option<Objective>,
}

/// The probes chart: one when every SLO is in one unit, else one per SLO
/// (`capacity-probes-<i>`), since a latency and an error rate do not share
/// an axis.
pub(super) fn capacity_figures(r: &CapacityReport) -> Vec<Figure> {
    let slos: Vec<SearchSlo> = r
        .probes
        .iter()
        .max_by_key(|p| p.replications.slos.len())
        .map(|p| {
            p.replications
                .slos
                .iter()
                .enumerate()
                .map(|(index, s)| SearchSlo {
                    index,
                    name: s.name.clone(),
                    objective: s.objective.clone(),
                    parsed: parse_objective(&s.objective).ok(),
                })
                .collect()
        })
        .unwrap_or_default();
    let unit = |s: &SearchSlo| s.parsed.as_ref().map(|o| o.metric.unit());
    let one_unit = slos.windows(2).all(|w| unit(&w[0]) == unit(&w[1]));
    if one_unit {
        return vec![capacity_figure(r, "capacity-probes".to_string(), &slos.iter().collect::<Vec<_>>())];
    }
    slos.iter().map(|s| capacity_figure(r, format!("capacity-probes-{}", s.index), &[s])).collect()
}

fn capacity_figure(r: &CapacityReport, name: String, slos: &[&SearchSlo]) -> Figure {
    let raw: Vec<f64> = r.probes.iter().map(|p| p.number).chain(r.answer_number).collect();
    let (xf, xunit) = value_unit(r.kind, &raw);
    let xs: Vec<f64> = raw.iter().map(|v| v * xf).collect();
    let x = numeric_axis(&xs, &titled(&r.path, xunit), r.kind);
    let (yf, yunit, ylabel) = slo_display(slos.first().and_then(|s| s.parsed.as_ref()));
    let ylabel = if slos.len() > 1 { "observed".to_string() } else { ylabel };
    let alone = slos.len() == 1;
    let series: Vec<Series> = slos
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut points: Vec<Point> = r.probes.iter().map(|p| probe_point(p, s.index, xf, yf)).collect();
            points.sort_by(|a, b| a.x.total_cmp(&b.x));
            Series { label: slo_title(&s.name, &s.objective), colour: colours::server(i), joined: true, points }
        })
        .collect();
    let mut data = extent(&series);
    let mut notes = Vec::new();
    let lines: Vec<(String, f64, RGBColor)> = slos
        .iter()
        .zip(&series)
        .filter_map(|(s, line)| {
            let t = s.parsed.as_ref()?.threshold * yf;
            Some((format!("SLO {}", s.objective), t, if alone { colours::THRESHOLD } else { darker(line.colour) }))
        })
        .collect();
    let fmt = |v: f64| {
        slos.first()
            .and_then(|s| s.parsed.as_ref())
            .map_or_else(|| crate::report::replications::num(v), |o| o.format_value(v / yf))
    };
    let mut guides = threshold_guides(&lines, &mut data, &mut notes, &fmt);
    match (&r.answer, r.answer_number) {
        (Some(answer), Some(at)) if at.is_finite() => guides.push(Guide {
            vertical: true,
            at: at * xf,
            label: format!("answer {answer}"),
            colour: colours::ANSWER,
            dashed: false,
        }),
        _ if !r.probes.is_empty() => notes.push(format!("no value in {}..{} meets every SLO", r.low, r.high)),
        _ => {}
    }
    let y = value_axis(&ylabel, yunit, &data);
    let mut legend = series_keys(&series);
    legend.push(Key {
        mark: KeyMark::Whisker(colours::MUTED),
        text: format!("{} confidence interval", confidence_pct(r.confidence)),
    });
    legend.extend(verdict_keys("each probe, every SLO", r.confidence, ["passes", "inconclusive", "fails"]));
    legend.extend(guide_keys(&guides));
    legend.extend(probe_keys(r, slos, yf, yunit));
    let points = Points { series, guides, callouts: Vec::new(), interval: IntervalStyle::Whiskers, legend };
    let end = if r.find == "min" { "smallest" } else { "largest" };
    let title = format!("Capacity search: the {end} {} meeting every SLO", r.path);
    point_figure(name, title.clone(), heading(&r.scenario, &title), x, y, points, notes)
}

/// The probes in the order they were made, as the plot numbers them: each
/// with its verdict's marker, its value and (for one SLO) the observed mean,
/// since the last probes of a bisection crowd around the answer.
fn probe_keys(r: &CapacityReport, slos: &[&SearchSlo], yf: f64, unit: &str) -> Vec<Key> {
    if r.probes.is_empty() {
        return Vec::new();
    }
    let mut keys = vec![Key::note("probes, in order:")];
    keys.extend(r.probes.iter().map(|p| {
        let observed = match slos {
            [s] => p.replications.slos.get(s.index).and_then(|o| o.observed_mean).map(|v| {
                let v = crate::report::replications::with_unit(crate::report::replications::num(v * yf), unit);
                format!(" · {v}")
            }),
            _ => None,
        };
        Key {
            mark: KeyMark::Shape(shape(p.verdict)),
            text: format!("{} · {}{}", p.order, p.value, observed.unwrap_or_default()),
        }
    }));
    keys
}

/// A probe's observed value of SLO `slo`, with its interval, marked by the
/// probe's verdict and tagged with its order.
fn probe_point(p: &Probe, slo: usize, xf: f64, yf: f64) -> Point {
    let s = p.replications.slos.get(slo);
    let [y, lo, hi] = s.map_or([f64::NAN; 3], |s| [or_nan(s.observed_mean), or_nan(s.ci_low), or_nan(s.ci_high)]);
    Point {
        x: p.number * xf,
        y: y * yf,
        lo: lo * yf,
        hi: hi * yf,
        shape: shape(p.verdict),
        tag: Some(p.order.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::fixtures::{axis, choices, probe, search, sweep};

    fn names(figs: &[Figure]) -> Vec<&str> {
        figs.iter().map(|f| f.name.as_str()).collect()
    }

    fn figure<'a>(figs: &'a [Figure], name: &str) -> &'a Figure {
        figs.iter().find(|f| f.name == name).unwrap_or_else(|| panic!("no {name} in {:?}", names(figs)))
    }

    fn points(f: &Figure) -> &Points {
        match &f.plot {
            Plot::Points(p) => p,
            _ => panic!("{} is not a point plot", f.name),
        }
    }

    fn legend(f: &Figure) -> Vec<&str> {
        points(f).legend.iter().map(|k| k.text.as_str()).collect()
    }

    const RATE: &str = "clients.web.rate=300/s..1000/s/100/s";

    #[test]
    fn a_sweep_charts_each_moving_metric_and_each_slo_of_its_own() {
        let r = sweep(vec![axis(RATE)], &["p99 < 300ms", "p999 < 1s"]);
        let figs = sweep_figures(&r);
        let n = names(&figs);
        for name in ["sweep-latency_p99_ms", "sweep-error_rate_pct", "sweep-throughput_rps", "sweep-slo-1"] {
            assert!(n.contains(&name), "{name} missing from {n:?}");
        }
        // Constant (server crashes) and undefined (time to detect) metrics have none;
        // the p99 SLO is drawn on the p99 chart, not on one of its own.
        for name in ["sweep-server_crashes", "sweep-time_to_detect_min", "sweep-slo-0"] {
            assert!(!n.contains(&name), "{name} in {n:?}");
        }
        assert_eq!(n.last(), Some(&"sweep-slo-1"));
        let p99 = figure(&figs, "sweep-latency_p99_ms");
        assert_eq!(p99.title, "latency p99 against clients.web.rate");
        assert_eq!(p99.x.label, "clients.web.rate (/s)");
        assert!(p99.y.label.starts_with("latency p99"), "{}", p99.y.label);
        let p = points(p99);
        assert_eq!(p.series.len(), 1);
        assert_eq!(p.series[0].points.len(), 8);
        assert!(p.series[0].joined && p.interval == IntervalStyle::Band);
        // The threshold, dashed, in the metric's unit.
        assert_eq!(p.guides.len(), 1);
        let g = &p.guides[0];
        assert_eq!((g.vertical, g.at, g.dashed, g.label.as_str()), (false, 300.0, true, "SLO p99 < 300ms"));
        // The knee, where the flat curve starts to rise.
        assert_eq!(p.callouts.len(), 1, "{:?}", r.knees);
        assert!(p.callouts[0].label.starts_with("knee "), "{}", p.callouts[0].label);
        assert!(legend(p99).contains(&"knee (sharpest bend)"));
        // Markers tell each point's verdict on p99 < 300ms: the low loads pass, the high ones fail.
        let shapes: Vec<Shape> = p.series[0].points.iter().map(|p| p.shape).collect();
        assert_eq!(shapes.first(), Some(&Shape::Filled));
        assert_eq!(shapes.last(), Some(&Shape::Cross));
        assert!(legend(p99).contains(&"p99 < 300ms, at 95%:"), "{:?}", legend(p99));
        // The SLO of its own: its observed value and threshold, in ms.
        let slo = figure(&figs, "sweep-slo-1");
        assert_eq!(slo.title, "SLO p999 < 1s against clients.web.rate");
        assert_eq!(points(slo).guides[0].at, 1000.0);
        assert!(slo.y.label.starts_with("p99.9 response time"), "{}", slo.y.label);
    }

    #[test]
    fn a_second_axis_gives_a_curve_per_value_with_a_legend() {
        let r = sweep(vec![axis(RATE), axis("servers.web.count=4..9")], &[]);
        let figs = sweep_figures(&r);
        let p = points(figure(&figs, "sweep-latency_p99_ms"));
        assert_eq!(p.series.len(), 6);
        let labels: Vec<&str> = p.series.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["4", "5", "6", "7", "8", "9"]);
        assert!(p.series.iter().all(|s| s.points.len() == 8));
        assert_eq!(p.series[1].colour, colours::server(1));
        let keys = legend(figure(&figs, "sweep-latency_p99_ms"));
        assert_eq!(keys[0], "servers.web.count");
        assert!(keys.contains(&"95% confidence interval"));
        // No SLO: every marker a dot, no verdict in the legend, no threshold.
        assert!(p.series.iter().flat_map(|s| &s.points).all(|p| p.shape == Shape::Filled));
        assert!(!keys.iter().any(|k| k.contains("at 95%")));
        assert!(p.guides.is_empty());
        // Each curve has its knee; at one value, it is named once.
        assert_eq!(p.callouts.len(), 6);
        assert_eq!(p.callouts.iter().filter(|c| !c.label.is_empty()).count(), 1);
    }

    #[test]
    fn a_text_axis_is_categorical_with_error_bars() {
        let algorithms = ["round_robin", "least_connections", "power_of_two_choices"];
        let r = sweep(vec![choices("balancers.edge.algorithm", &algorithms), axis("x.y=1,2")], &["p99 < 300ms"]);
        let figs = sweep_figures(&r);
        let f = figure(&figs, "sweep-latency_p99_ms");
        assert_eq!((f.x.lo, f.x.hi), (-0.5, 2.5));
        let ticks: Vec<&str> = f.x.ticks.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(ticks, algorithms);
        assert_eq!(f.x.label, "balancers.edge.algorithm");
        let p = points(f);
        assert_eq!(p.interval, IntervalStyle::Whiskers);
        assert!(p.series.iter().all(|s| !s.joined));
        // The two curves sit either side of each choice, not on top of each other.
        let (a, b) = (p.series[0].points[0].x, p.series[1].points[0].x);
        assert!(a < 0.0 && b > 0.0 && b - a < 0.5, "{a} {b}");
        assert!(p.callouts.is_empty(), "no knees on choices");
    }

    #[test]
    fn a_geometric_range_gets_a_log_axis() {
        let r = sweep(vec![axis("clients.web.rate=100/s..6400/s*2")], &[]);
        let f = &sweep_figures(&r)[0];
        assert!(f.x.log, "{}", f.x.label);
        assert!(!sweep_figures(&sweep(vec![axis(RATE)], &[]))[0].x.log);
    }

    #[test]
    fn a_far_threshold_is_named_instead_of_drawn() {
        let r = sweep(vec![axis("clients.web.rate=300/s..500/s/100/s")], &["p99 < 60s"]);
        let figs = sweep_figures(&r);
        let f = figure(&figs, "sweep-latency_p99_ms");
        assert!(points(f).guides.is_empty());
        assert!(
            f.notes.iter().any(|n| n.starts_with("SLO p99 < 60s: ") && n.ends_with("above the chart")),
            "{:?}",
            f.notes
        );
    }

    #[test]
    fn odd_sweeps_give_charts_without_panicking() {
        let mut r = sweep(vec![axis(RATE)], &["p99 < 300ms"]);
        r.points.truncate(1);
        r.knees.clear();
        assert!(sweep_figures(&r).iter().all(|f| f.name.starts_with("sweep-")));
        let mut none = sweep(vec![axis(RATE)], &[]);
        none.points.clear();
        assert!(sweep_figures(&none).is_empty());
        let mut no_axes = sweep(vec![axis(RATE)], &[]);
        no_axes.axes.clear();
        assert!(sweep_figures(&no_axes).is_empty());
        let mut nan = sweep(vec![axis(RATE), axis("a.b=1,2")], &["p99 < 300ms", "p999 < 1s"]);
        for p in &mut nan.points {
            for m in &mut p.replications.metrics {
                m.mean = Some(f64::NAN);
                m.ci_low = None;
            }
            p.replications.slos[1].observed_mean = Some(f64::INFINITY);
            p.replications.slos.pop();
        }
        nan.points[3].replications.metrics[0].mean = Some(1.0);
        nan.points[3].index = 99;
        nan.knees[0].point = 1000;
        let _ = sweep_figures(&nan);
    }

    #[test]
    fn the_probes_chart_shows_each_probe_the_thresholds_and_the_answer() {
        let probes = vec![
            probe(1, 300.0, 120.0, Verdict::Pass, None),
            probe(2, 2000.0, 900.0, Verdict::Fail, None),
            probe(3, 1150.0, 310.0, Verdict::Inconclusive, None),
            probe(4, 725.0, 200.0, Verdict::Pass, None),
        ];
        let figs = capacity_figures(&search(probes, Some(725.0)));
        assert_eq!(names(&figs), ["capacity-probes"]);
        let f = &figs[0];
        assert_eq!(f.x.label, "clients.web.rate (/s)");
        let p = points(f);
        assert_eq!(p.series.len(), 1);
        assert_eq!(p.series[0].label, "p99 < 300ms");
        // In x order, tagged with the order they were probed in, marked by verdict.
        let tags: Vec<&str> = p.series[0].points.iter().filter_map(|p| p.tag.as_deref()).collect();
        assert_eq!(tags, ["1", "4", "3", "2"]);
        let shapes: Vec<Shape> = p.series[0].points.iter().map(|p| p.shape).collect();
        assert_eq!(shapes, [Shape::Filled, Shape::Filled, Shape::Hollow, Shape::Cross]);
        assert_eq!(p.interval, IntervalStyle::Whiskers);
        let threshold = p.guides.iter().find(|g| !g.vertical).unwrap();
        assert_eq!((threshold.at, threshold.label.as_str()), (300.0, "SLO p99 < 300ms"));
        let answer = p.guides.iter().find(|g| g.vertical).unwrap();
        assert_eq!((answer.at, answer.label.as_str()), (725.0, "answer 725/s"));
        let keys = legend(f);
        let list = keys.iter().position(|k| *k == "probes, in order:").unwrap();
        assert_eq!(
            keys[list + 1..],
            ["1 · 300/s · 120.0 ms", "2 · 2000/s · 900.0 ms", "3 · 1150/s · 310.0 ms", "4 · 725/s · 200.0 ms"]
        );
        assert!(f.title.contains("largest clients.web.rate"), "{}", f.title);
    }

    #[test]
    fn slos_in_different_units_get_a_chart_each() {
        let probes =
            vec![probe(1, 300.0, 120.0, Verdict::Pass, Some(0.001)), probe(2, 900.0, 400.0, Verdict::Fail, Some(0.02))];
        let figs = capacity_figures(&search(probes, Some(300.0)));
        assert_eq!(names(&figs), ["capacity-probes-0", "capacity-probes-1"]);
        let errors = points(&figs[1]);
        assert_eq!(errors.series[0].label, "error_rate < 1%");
        // A fraction is drawn in percent, its threshold too.
        assert!((errors.series[0].points[1].y - 2.0).abs() < 1e-9);
        assert!(errors.guides.iter().any(|g| !g.vertical && (g.at - 1.0).abs() < 1e-9));
        assert_eq!(figs[1].y.label, "error rate (%)");
    }

    #[test]
    fn a_search_without_probes_or_answer_still_has_its_chart() {
        let figs = capacity_figures(&search(Vec::new(), None));
        assert_eq!(names(&figs), ["capacity-probes"]);
        assert!(!figs[0].has_data());
        let none = capacity_figures(&search(vec![probe(1, 300.0, 900.0, Verdict::Fail, None)], None));
        assert!(none[0].notes.iter().any(|n| n.contains("no value in 300/s..2000/s")), "{:?}", none[0].notes);
        let mut odd = search(vec![probe(1, f64::NAN, f64::NAN, Verdict::Fail, None)], Some(f64::INFINITY));
        odd.probes[0].replications.slos.clear();
        let _ = capacity_figures(&odd);
    }

    #[test]
    fn probes_charts_render_the_same_bytes_twice() {
        let probes = || {
            vec![probe(1, 300.0, 120.0, Verdict::Pass, Some(0.001)), probe(2, 900.0, 400.0, Verdict::Fail, Some(0.02))]
        };
        let (a, b) = (
            super::super::render_capacity(&search(probes(), Some(300.0))),
            super::super::render_capacity(&search(probes(), Some(300.0))),
        );
        assert_eq!(a.len(), 2);
        for (a, b) in a.iter().zip(&b) {
            assert!(
                a.svg.starts_with("<svg") && a.svg.contains("answer 300/s") && a.svg.contains(">\n1\n<"),
                "{}",
                a.name
            );
            assert!(a.svg == b.svg && a.png == b.png, "{}", a.name);
        }
    }
}
