//! Which series go on which chart: the figures of one run and of a
//! comparison, built from `ChartData`. Decides how servers are shown when
//! there are many (the largest few and an "others" band; a heat map instead
//! of a line each), the axes, and the marks of the timeline.

use plotters::style::RGBColor;

use super::figure::{Band, ChangeSet, Figure, Line, Marks, Plot, colours};
use super::heatmap::HeatSource;
use super::scale::{self, Scale};
use crate::report::chartdata::{ChangeMark, ChartData};

/// Most bands on the traffic-share chart; with more servers the largest
/// `MAX_SHARE_BANDS - 1` are shown and the rest folded into one.
const MAX_SHARE_BANDS: usize = 8;
/// Most servers drawn as one line each; more get a heat map.
const MAX_SERVER_LINES: usize = 12;

/// The figures of one run, in the order of the report.
pub(super) fn run_figures(d: &ChartData) -> Vec<Figure> {
    let t = Timeline::of(d);
    vec![
        traffic_share(&t),
        latency(&t),
        errors(&t),
        users(&t),
        per_server(&t, &UTILISATION, &d.utilisation),
        per_server(&t, &QUEUE, &d.queue),
        spectrum(d),
    ]
}

/// Where a run's buckets sit on the time axis.
struct Timeline<'a> {
    data: &'a ChartData,
    /// The middle of each bucket.
    mid: Vec<f64>,
    /// A bucket's length.
    step: f64,
}

impl<'a> Timeline<'a> {
    fn of(data: &'a ChartData) -> Timeline<'a> {
        let n = data.t_s.len().max(1) as f64;
        let step = [data.bucket_s, data.duration_s / n].into_iter().find(|s| s.is_finite() && *s > 0.0).unwrap_or(1.0);
        Timeline { data, mid: data.t_s.iter().map(|t| t + step / 2.0).collect(), step }
    }

    /// The end of the run: its duration, or the end of its last bucket.
    fn end_s(&self) -> f64 {
        let last = self.data.t_s.last().map_or(0.0, |t| t + self.step);
        [self.data.duration_s, last].into_iter().filter(|v| v.is_finite()).fold(0.0, f64::max)
    }

    fn axis(&self) -> Scale {
        scale::time(self.end_s(), self.data.clock)
    }

    /// A per-bucket series as points at the buckets' middles, scaled by `factor`.
    fn series(&self, values: &[f64], factor: f64) -> Vec<(f64, f64)> {
        self.mid.iter().zip(values).map(|(x, v)| (*x, v * factor)).collect()
    }

    fn line(&self, label: &str, colour: RGBColor, values: &[f64], factor: f64) -> Line {
        Line {
            label: label.to_string(),
            colour,
            dashed: false,
            width: 2,
            points: self.series(values, factor),
            step: self.step,
        }
    }

    fn marks(&self) -> Marks {
        let d = self.data;
        Marks {
            end_s: self.end_s(),
            warmup_s: finite_or_zero(d.warmup_s),
            changes: vec![ChangeSet { colour: colours::CHANGE, owner: None, marks: placed(&d.changes) }],
            alerts: d.alerts.iter().filter(|a| a.at_s.is_finite()).cloned().collect(),
        }
    }

    /// A chart over time with this run's marks.
    fn figure(&self, name: &'static str, title: &str, y: Scale, plot: Plot) -> Figure {
        let heading = heading(&self.data.scenario, title);
        Figure {
            name: name.to_string(),
            title: title.to_string(),
            heading,
            x: self.axis(),
            y,
            plot,
            marks: self.marks(),
            notes: Vec::new(),
        }
    }
}

fn finite_or_zero(v: f64) -> f64 {
    if v.is_finite() { v.max(0.0) } else { 0.0 }
}

/// The title drawn on a chart: `scenario · what`.
fn heading(prefix: &str, title: &str) -> String {
    if prefix.is_empty() { title.to_string() } else { format!("{prefix} · {title}") }
}

/// The largest of the finite values (0 when there are none).
fn top(values: impl IntoIterator<Item = f64>) -> f64 {
    values.into_iter().filter(|v| v.is_finite()).fold(0.0, f64::max)
}

/// The highest point of some lines.
fn top_of(lines: &[Line]) -> f64 {
    top(lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)))
}

fn traffic_share(t: &Timeline) -> Figure {
    let groups = share_groups(&t.data.share, &t.data.servers);
    let bands = stack(&groups, &t.data.share, t);
    let y = scale::percent(100.0, "share of requests (%)");
    t.figure("traffic-share", "Traffic share per server", y, Plot::Stack(bands))
}

/// Servers drawn as one band: one server, or the rest of many.
struct Group {
    label: String,
    colour: RGBColor,
    members: Vec<usize>,
}

/// Every server alone when they are few; else the ones with the most
/// traffic over the run (in their own order) and the rest as "others".
fn share_groups(share: &[Vec<f32>], names: &[String]) -> Vec<Group> {
    let n = share.len().min(names.len());
    // The colours of the per-server lines, while those are drawn; by rank past that.
    let colour = |rank: usize, s: usize| colours::server(if n <= MAX_SERVER_LINES { s } else { rank });
    let alone = |rank: usize, s: usize| Group { label: names[s].clone(), colour: colour(rank, s), members: vec![s] };
    if n <= MAX_SHARE_BANDS {
        return (0..n).map(|s| alone(s, s)).collect();
    }
    let totals: Vec<f64> = share[..n].iter().map(|s| top_sum(s)).collect();
    let mut ranked: Vec<usize> = (0..n).collect();
    ranked.sort_by(|a, b| totals[*b].total_cmp(&totals[*a]).then(a.cmp(b)));
    let (largest, rest) = ranked.split_at(MAX_SHARE_BANDS - 1);
    let mut largest = largest.to_vec();
    largest.sort_unstable();
    let mut groups: Vec<Group> = largest.iter().enumerate().map(|(rank, &s)| alone(rank, s)).collect();
    let mut rest = rest.to_vec();
    rest.sort_unstable();
    groups.push(Group { label: format!("others ({} servers)", rest.len()), colour: colours::OTHERS, members: rest });
    groups
}

/// The sum of a series' finite values.
fn top_sum(series: &[f32]) -> f64 {
    series.iter().map(|v| f64::from(*v)).filter(|v| v.is_finite()).sum()
}

/// The groups' shares (%) stacked in order; a bucket where no server has
/// data is a gap in every band.
fn stack(groups: &[Group], share: &[Vec<f32>], t: &Timeline) -> Vec<Band> {
    let value = |s: usize, k: usize| share[s].get(k).map(|v| f64::from(*v)).filter(|v| v.is_finite());
    let has_data: Vec<bool> =
        (0..t.mid.len()).map(|k| groups.iter().flat_map(|g| &g.members).any(|&s| value(s, k).is_some())).collect();
    let mut base = vec![0.0; t.mid.len()];
    let band = |g: &Group, base: &mut [f64]| {
        let mut point = |k: usize, x: f64| {
            if !has_data[k] {
                return (x, f64::NAN, f64::NAN);
            }
            let lo = base[k];
            base[k] += 100.0 * g.members.iter().filter_map(|&s| value(s, k)).sum::<f64>();
            (x, lo, base[k])
        };
        let points = t.mid.iter().enumerate().map(|(k, &x)| point(k, x)).collect();
        Band { label: g.label.clone(), colour: g.colour, points, step: t.step }
    };
    groups.iter().map(|g| band(g, &mut base)).collect()
}

fn latency(t: &Timeline) -> Figure {
    let d = t.data;
    let lines = vec![
        t.line("p99", colours::P99, &d.p99_ms, 1.0),
        t.line("p90", colours::P90, &d.p90_ms, 1.0),
        t.line("p50", colours::P50, &d.p50_ms, 1.0),
    ];
    let y = scale::response_time(d.p50_ms.iter().chain(&d.p90_ms).chain(&d.p99_ms).copied());
    let mut fig = t.figure("latency", "Response time percentiles", y, Plot::Lines(lines));
    fig.notes.push("successful requests".to_string());
    fig
}

fn errors(t: &Timeline) -> Figure {
    let d = t.data;
    let lines = vec![
        t.line("errors (all failures)", colours::ERRORS, &d.error_rate, 100.0),
        t.line("timeouts (client waited)", colours::TIMEOUTS, &d.timeout_rate, 100.0),
    ];
    let y = scale::rate_percent(top_of(&lines), "failed (% of answered requests)");
    t.figure("errors", "Error and timeout rates", y, Plot::Lines(lines))
}

fn users(t: &Timeline) -> Figure {
    let d = t.data;
    let lines = vec![
        t.line("failed or slowed", colours::SLOWED, &d.users_affected_or_slowed_pct, 1.0),
        t.line("failed at least once", colours::AFFECTED, &d.users_affected_pct, 1.0),
    ];
    let y = scale::rate_percent(top_of(&lines), "users affected (% of active users)");
    let mut fig = t.figure("users", "Users affected so far", y, Plot::Lines(lines));
    fig.notes.push("cumulative since the warm-up".to_string());
    fig
}

/// How a per-server measure is charted.
struct PerServer {
    name: &'static str,
    title: &'static str,
    /// Axis title (lines) or colour-scale title (heat map), with the unit.
    measure: &'static str,
    /// Multiplies the values (100 for fractions shown as %).
    factor: f64,
    /// Whether the scale is a percentage (0..100 at least).
    percent: bool,
}

const UTILISATION: PerServer = PerServer {
    name: "utilisation",
    title: "Utilisation per server",
    measure: "utilisation (%)",
    factor: 100.0,
    percent: true,
};

const QUEUE: PerServer = PerServer {
    name: "queue",
    title: "Queue depth per server",
    measure: "queue (requests waiting)",
    factor: 1.0,
    percent: false,
};

/// One line a server when they are few, else a heat map.
fn per_server(t: &Timeline, what: &PerServer, values: &[Vec<f32>]) -> Figure {
    let names = &t.data.servers;
    let n = values.len().min(names.len());
    if n > MAX_SERVER_LINES {
        return server_heat_map(t, what, values);
    }
    let width = if n <= 4 { 2 } else { 1 };
    let lines: Vec<Line> = (0..n)
        .map(|s| {
            let series: Vec<f64> = values[s].iter().map(|v| f64::from(*v)).collect();
            Line { width, ..t.line(&names[s], colours::server(s), &series, what.factor) }
        })
        .collect();
    let max = top_of(&lines);
    let y = if what.percent { scale::percent(max, what.measure) } else { scale::from_zero(max, 1.0, what.measure) };
    t.figure(what.name, what.title, y, Plot::Lines(lines))
}

fn server_heat_map(t: &Timeline, what: &PerServer, values: &[Vec<f32>]) -> Figure {
    let source = HeatSource {
        values,
        names: &t.data.servers,
        t_s: &t.data.t_s,
        end_s: t.end_s(),
        factor: what.factor,
        top: what.percent.then_some(100.0),
        measure: what.measure,
    };
    let h = source.build();
    let rows_title =
        if h.servers_per_row > 1 { format!("servers ({} a row)", h.servers_per_row) } else { "server".to_string() };
    let y = scale::rows(&h.rows, &rows_title);
    let mut notes = Vec::new();
    if h.servers_per_row > 1 {
        notes.push(format!("row: busiest of its {} servers", h.servers_per_row));
    }
    if h.buckets_per_column > 1 {
        notes.push(format!("column: mean over {}", crate::time::in_one_unit(t.step * h.buckets_per_column as f64)));
    }
    let mut fig = t.figure(what.name, what.title, y, Plot::Heat(h));
    fig.notes = notes;
    fig
}

/// The spectrum's points on the nines axis (the last quantile is below 1).
fn spectrum_points(d: &ChartData) -> Vec<(f64, f64)> {
    d.spectrum.iter().filter(|(q, _)| *q < 1.0).map(|&(q, ms)| (scale::nines_of(q), ms)).collect()
}

fn spectrum_line(label: &str, colour: RGBColor, d: &ChartData) -> Line {
    Line { label: label.to_string(), colour, dashed: false, width: 2, points: spectrum_points(d), step: 0.0 }
}

/// A spectrum figure of some lines: the nines axis up to the deepest.
fn spectrum_figure(name: &'static str, heading: String, lines: Vec<Line>) -> Figure {
    let points = || lines.iter().flat_map(|l| l.points.iter().copied());
    let x = scale::nines(top(points().map(|p| p.0)));
    let y = scale::response_time(points().map(|p| p.1));
    let title = "Response time percentile spectrum".to_string();
    let notes = vec!["successful requests, measured period".to_string()];
    Figure { name: name.to_string(), title, heading, x, y, plot: Plot::Lines(lines), marks: Marks::default(), notes }
}

fn spectrum(d: &ChartData) -> Figure {
    let mut fig = spectrum_figure(
        "latency-spectrum",
        heading(&d.scenario, "Response time percentile spectrum"),
        vec![spectrum_line("response time", colours::SPECTRUM, d)],
    );
    fig.notes.extend(landmarks(d));
    fig
}

/// The usual percentiles read off the spectrum: `p99  120 ms`.
fn landmarks(d: &ChartData) -> Vec<String> {
    let at = |q: f64| d.spectrum.iter().find(|(p, _)| *p >= q - 1e-9).map(|(_, ms)| *ms);
    [(0.5, "p50"), (0.9, "p90"), (0.99, "p99"), (0.999, "p99.9"), (0.9999, "p99.99")]
        .into_iter()
        .filter_map(|(q, name)| {
            at(q).filter(|ms| ms.is_finite()).map(|ms| format!("{name}  {}", scale::duration_ms(ms)))
        })
        .collect()
}

/// The figures of a comparison: both runs on the same axes.
pub(super) fn overlay_figures(a: &ChartData, a_label: &str, b: &ChartData, b_label: &str) -> Vec<Figure> {
    let sides = [Side::of(a, a_label, colours::BASELINE), Side::of(b, b_label, colours::CHANGED)];
    let both = Overlay { sides, heading: format!("{} vs {}", short(a_label), short(b_label)) };
    vec![both.latency(), both.errors(), both.users(), both.spectrum()]
}

/// One run of a comparison.
struct Side<'a> {
    t: Timeline<'a>,
    label: &'a str,
    colour: RGBColor,
}

impl<'a> Side<'a> {
    fn of(data: &'a ChartData, label: &'a str, colour: RGBColor) -> Side<'a> {
        Side { t: Timeline::of(data), label, colour }
    }

    /// This run's series, labelled `label what`.
    fn line(&self, what: &str, values: &[f64], factor: f64, dashed: bool) -> Line {
        let label = format!("{} {what}", short(self.label));
        Line { dashed, ..self.t.line(&label, self.colour, values, factor) }
    }
}

/// A run's name cut to fit a legend. A change (`balancers.edge.algorithm=
/// round_robin`, compare's default label) keeps its end, where the value
/// is: `…edge.algorithm=round_robin`.
fn short(label: &str) -> String {
    const MAX: usize = 24;
    if label.chars().count() > MAX && label.contains('=') {
        let tail = label
            .match_indices('.')
            .map(|(i, _)| &label[i + 1..])
            .find(|t| t.chars().count() < MAX)
            .unwrap_or_else(|| label.rsplit('.').next().unwrap_or(label));
        return scale::abbreviate(&format!("…{tail}"), MAX);
    }
    scale::abbreviate(label, MAX)
}

struct Overlay<'a> {
    sides: [Side<'a>; 2],
    heading: String,
}

impl Overlay<'_> {
    fn data(&self) -> [&ChartData; 2] {
        [self.sides[0].t.data, self.sides[1].t.data]
    }

    /// The time axis both runs share: wall clock when they start at the same instant.
    fn axis(&self) -> Scale {
        let [a, b] = self.data();
        let end = self.sides[0].t.end_s().max(self.sides[1].t.end_s());
        scale::time(end, if a.clock == b.clock { a.clock } else { None })
    }

    /// Both runs' changes: once when they are the same, else each in its run's colour.
    fn marks(&self) -> Marks {
        let [a, b] = self.data();
        let changes = if same_changes(&a.changes, &b.changes) {
            vec![ChangeSet { colour: colours::CHANGE, owner: None, marks: placed(&b.changes) }]
        } else {
            let set = |s: &Side| ChangeSet {
                colour: s.colour,
                owner: Some(short(s.label)),
                marks: placed(&s.t.data.changes),
            };
            self.sides.iter().map(set).filter(|c| !c.marks.is_empty()).collect()
        };
        let warmup_s = finite_or_zero(a.warmup_s).max(finite_or_zero(b.warmup_s));
        Marks { end_s: self.axis().hi, warmup_s, changes, alerts: Vec::new() }
    }

    fn figure(&self, name: &'static str, title: &str, y: Scale, lines: Vec<Line>) -> Figure {
        let heading = heading(&self.heading, title);
        let (x, marks) = (self.axis(), self.marks());
        let name = name.to_string();
        Figure { name, title: title.to_string(), heading, x, y, plot: Plot::Lines(lines), marks, notes: Vec::new() }
    }

    fn latency(&self) -> Figure {
        let lines: Vec<Line> = self
            .sides
            .iter()
            .flat_map(|s| [s.line("p99", &s.t.data.p99_ms, 1.0, false), s.line("p50", &s.t.data.p50_ms, 1.0, true)])
            .collect();
        let y = scale::response_time(lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)));
        self.figure("compare-latency", "p50 and p99 response time", y, lines)
    }

    fn errors(&self) -> Figure {
        let lines: Vec<Line> =
            self.sides.iter().map(|s| s.line("errors", &s.t.data.error_rate, 100.0, false)).collect();
        let y = scale::rate_percent(top_of(&lines), "failed (% of answered requests)");
        self.figure("compare-errors", "Error rate", y, lines)
    }

    fn users(&self) -> Figure {
        let lines: Vec<Line> = self
            .sides
            .iter()
            .flat_map(|s| {
                let d = s.t.data;
                [
                    s.line("failed", &d.users_affected_pct, 1.0, false),
                    s.line("failed or slowed", &d.users_affected_or_slowed_pct, 1.0, true),
                ]
            })
            .collect();
        let y = scale::rate_percent(top_of(&lines), "users affected (% of active users)");
        let mut fig = self.figure("compare-users", "Users affected so far", y, lines);
        fig.notes.push("cumulative since the warm-up".to_string());
        fig
    }

    fn spectrum(&self) -> Figure {
        let lines = self.sides.iter().map(|s| spectrum_line(&short(s.label), s.colour, s.t.data)).collect();
        spectrum_figure("compare-spectrum", heading(&self.heading, "Response time percentile spectrum"), lines)
    }
}

/// The changes that have a place on the time axis.
fn placed(changes: &[ChangeMark]) -> Vec<ChangeMark> {
    changes.iter().filter(|c| c.from_s.is_finite()).cloned().collect()
}

/// Whether two runs' changes are the same (then they are drawn once).
fn same_changes(a: &[ChangeMark], b: &[ChangeMark]) -> bool {
    let key = |c: &ChangeMark| (c.from_s.to_bits(), c.until_s.map(f64::to_bits), c.instant, c.label.clone());
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| key(x) == key(y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::WallClock;
    use crate::report::chartdata::AlertMark;

    fn data(servers: usize, buckets: usize) -> ChartData {
        let share = 1.0 / servers as f32;
        ChartData {
            scenario: "t".into(),
            duration_s: buckets as f64 * 10.0,
            bucket_s: 10.0,
            t_s: (0..buckets).map(|k| k as f64 * 10.0).collect(),
            servers: (0..servers).map(|s| format!("s{s}")).collect(),
            share: (0..servers).map(|s| vec![share * if s == 3 { 2.0 } else { 1.0 }; buckets]).collect(),
            ..ChartData::default()
        }
    }

    #[test]
    fn many_servers_fold_into_the_largest_and_others() {
        let d = data(500, 10);
        let groups = share_groups(&d.share, &d.servers);
        assert_eq!(groups.len(), MAX_SHARE_BANDS);
        // s3 has twice the share; ties go to the first servers.
        let names: Vec<&str> = groups.iter().map(|g| g.label.as_str()).collect();
        assert_eq!(names, ["s0", "s1", "s2", "s3", "s4", "s5", "s6", "others (493 servers)"]);
        assert_eq!(groups[7].members.len(), 493);
        let few = data(2, 10);
        assert_eq!(share_groups(&few.share, &few.servers).len(), 2);
    }

    #[test]
    fn a_server_keeps_its_colour_while_lines_are_drawn_per_server() {
        let mut d = data(10, 4);
        d.share[9] = vec![0.5; 4];
        let groups = share_groups(&d.share, &d.servers);
        let s9 = groups.iter().find(|g| g.label == "s9").unwrap();
        assert_eq!(s9.colour, colours::server(9));
        let mut many = data(40, 4);
        many.share[39] = vec![0.5; 4];
        let groups = share_groups(&many.share, &many.servers);
        assert_eq!(groups[6].label, "s39");
        assert_eq!(groups[6].colour, colours::server(6));
    }

    #[test]
    fn marks_without_a_time_are_left_out() {
        let mut d = data(2, 10);
        let alert = |at_s: f64| AlertMark { at_s, resolved_s: None, label: "a".into() };
        d.alerts = vec![alert(f64::NAN), alert(30.0)];
        d.changes = vec![ChangeMark { from_s: f64::NAN, until_s: None, instant: true, label: "c".into() }];
        let marks = Timeline::of(&d).marks();
        assert_eq!(marks.alerts.len(), 1);
        assert!(marks.changes[0].marks.is_empty());
    }

    #[test]
    fn stacked_bands_sit_on_each_other_and_gap_together() {
        let mut d = data(2, 4);
        d.share = vec![vec![0.25, f32::NAN, 0.5, 1.0], vec![0.75, f32::NAN, 0.5, f32::NAN]];
        let t = Timeline::of(&d);
        let bands = stack(&share_groups(&d.share, &d.servers), &d.share, &t);
        assert_eq!(bands[0].points[0], (5.0, 0.0, 25.0));
        assert_eq!(bands[1].points[0], (5.0, 25.0, 100.0));
        assert!(bands[0].points[1].2.is_nan() && bands[1].points[1].2.is_nan());
        // A server without data in a bucket others have counts as nothing.
        assert_eq!(bands[1].points[3], (35.0, 100.0, 100.0));
    }

    #[test]
    fn per_server_charts_switch_to_a_heat_map_past_twelve() {
        let few = data(12, 5);
        let many = data(13, 5);
        let util = |d: &ChartData| {
            let t = Timeline::of(d);
            per_server(&t, &UTILISATION, &d.share)
        };
        assert!(matches!(util(&few).plot, Plot::Lines(ref l) if l.len() == 12));
        assert!(matches!(util(&many).plot, Plot::Heat(ref h) if h.rows.len() == 13));
    }

    #[test]
    fn the_spectrum_notes_its_landmarks() {
        let d =
            ChartData { spectrum: vec![(0.0, 1.0), (0.5, 10.0), (0.9, 20.0), (0.99, 90.0)], ..ChartData::default() };
        assert_eq!(landmarks(&d), ["p50  10 ms", "p90  20 ms", "p99  90 ms"]);
        let fig = spectrum(&d);
        assert!((fig.x.hi - 2.0).abs() < 1e-9);
        assert_eq!(fig.heading, "Response time percentile spectrum");
    }

    #[test]
    fn overlays_share_the_clock_only_when_both_start_together() {
        let mut a = data(2, 10);
        let mut b = data(2, 20);
        a.clock = Some(WallClock::from_parts(1_700_000_000, 0));
        b.clock = a.clock;
        let figs = overlay_figures(&a, "base", &b, "new");
        assert!(figs[0].x.label.starts_with("time (UTC)"));
        assert_eq!(figs[0].x.hi, 200.0);
        b.clock = Some(WallClock::from_parts(1_700_000_600, 0));
        assert!(overlay_figures(&a, "base", &b, "new")[0].x.label.starts_with("time since start"));
    }

    #[test]
    fn overlays_draw_differing_changes_once_per_run() {
        let mut a = data(2, 10);
        let mut b = data(2, 10);
        let change = ChangeMark { from_s: 20.0, until_s: Some(40.0), instant: false, label: "slow".into() };
        a.changes = vec![change.clone()];
        b.changes = vec![change.clone()];
        let marks = |a: &ChartData, b: &ChartData| overlay_figures(a, "base", b, "new")[0].marks.clone();
        assert_eq!(marks(&a, &b).changes.len(), 1);
        b.changes[0].until_s = None;
        let m = marks(&a, &b);
        assert_eq!(m.changes.len(), 2);
        assert_eq!(m.changes[1].owner.as_deref(), Some("new"));
        a.changes.clear();
        assert_eq!(marks(&a, &b).changes.len(), 1);
    }
}
