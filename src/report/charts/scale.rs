//! The charts' axes: a plotters coordinate whose ticks and tick labels are
//! chosen here rather than by plotters, so that every axis reads in clean
//! steps with units: elapsed time in s, min or h, wall-clock `HH:MM`,
//! response times on a linear or logarithmic scale, percentile "nines",
//! an experiment's values (a range, a geometric range, or named choices).

use std::ops::Range;

use plotters::coord::ranged1d::{KeyPointHint, KeyPointWeight, NoDefaultFormatting, Ranged, ValueFormatter};

use crate::clock::{SECS_PER_DAY, WallClock, civil_from_days};
use crate::report::text::group_digits;

/// Most ticks an axis gets; more crowd the labels.
const MAX_TICKS: usize = 8;

/// A labelled position on an axis.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Tick {
    pub at: f64,
    pub text: String,
}

/// One axis: its range, whether it is logarithmic, its ticks and its title.
#[derive(Clone, Debug)]
pub(super) struct Scale {
    pub lo: f64,
    pub hi: f64,
    pub log: bool,
    pub ticks: Vec<Tick>,
    pub label: String,
}

impl Scale {
    /// Where `v` falls between the ends, 0..1 (clamped, so that nothing is
    /// drawn outside the plot even if a value escapes the range).
    pub(super) fn fraction(&self, v: f64) -> f64 {
        let t = if self.log {
            let (lo, hi) = (self.lo.ln(), self.hi.ln());
            (v.max(self.lo).ln() - lo) / (hi - lo)
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 }
    }

    /// The label of the tick nearest `v` (plotters asks by value).
    fn tick_text(&self, v: f64) -> String {
        let distance = |t: &Tick| (self.fraction(t.at) - self.fraction(v)).abs();
        self.ticks.iter().min_by(|a, b| distance(a).total_cmp(&distance(b))).map(|t| t.text.clone()).unwrap_or_default()
    }
}

impl Ranged for Scale {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = f64::from(limit.1) - f64::from(limit.0);
        (f64::from(limit.0) + self.fraction(*value) * span).round() as i32
    }

    /// The ticks for labels and grid lines; no light grid lines between them.
    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        match hint.weight() {
            KeyPointWeight::Bold => self.ticks.iter().map(|t| t.at).collect(),
            KeyPointWeight::Any => Vec::new(),
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

impl ValueFormatter<f64> for Scale {
    fn format_ext(&self, value: &f64) -> String {
        self.tick_text(*value)
    }
}

/// The smallest of 1, 2, 2.5, 5 x 10^k that cuts `span` into at most
/// `count` steps.
pub(super) fn nice_step(span: f64, count: usize) -> f64 {
    let raw = span / count.max(1) as f64;
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * magnitude).find(|&s| s >= raw * (1.0 - 1e-9)).unwrap_or(raw)
}

/// A linear axis from 0 to a clean value at least `max` (and at least
/// `floor`), with plain-number ticks.
pub(super) fn from_zero(max: f64, floor: f64, label: &str) -> Scale {
    let top = if max.is_finite() { max.max(floor) } else { floor };
    let step = nice_step(top * 1.05, MAX_TICKS - 2);
    let hi = (top * 1.05 / step).ceil().max(1.0) * step;
    let count = (hi / step).round() as usize;
    let ticks = (0..=count).map(|i| i as f64 * step).map(|at| Tick { at, text: number(at, step) }).collect();
    Scale { lo: 0.0, hi, log: false, ticks, label: label.to_string() }
}

/// A percentage axis: 0 to 100 in steps of 20, or further when values go
/// beyond 100.
pub(super) fn percent(max: f64, label: &str) -> Scale {
    if max > 100.0 {
        return from_zero(max, 100.0, label);
    }
    let ticks = (0..=5).map(|i| f64::from(i) * 20.0).map(|at| Tick { at, text: number(at, 20.0) }).collect();
    Scale { lo: 0.0, hi: 100.0, log: false, ticks, label: label.to_string() }
}

/// A rate in percent from 0 to a clean value above `max` (at least 1%),
/// but not past 100% for rates that reach it.
pub(super) fn rate_percent(max: f64, label: &str) -> Scale {
    let scale = from_zero(max, 1.0, label);
    if scale.hi > 100.0 && max <= 100.0 { percent(max, label) } else { scale }
}

/// A plain number with as many decimals as `step` has (so that an axis's
/// ticks all have the same), thousands grouped.
pub(super) fn number(v: f64, step: f64) -> String {
    let decimals = (0..6).find(|d| {
        let scaled = step * 10f64.powi(*d);
        (scaled - scaled.round()).abs() < 1e-6 * scaled.abs().max(1.0)
    });
    let decimals = decimals.unwrap_or(6) as usize;
    group_thousands(&format!("{v:.decimals$}"))
}

/// A formatted number with its integer part grouped as in the reports'
/// tables, but only from five digits: a four-digit tick (`1500`) reads as
/// easily and keeps the axis narrow.
fn group_thousands(text: &str) -> String {
    let (sign, rest) = text.strip_prefix('-').map_or(("", text), |r| ("-", r));
    let (int, frac) = rest.split_once('.').map_or((rest, None), |(i, f)| (i, Some(f)));
    if int.len() <= 4 {
        return text.to_string();
    }
    let grouped = group_digits(int);
    frac.map_or(format!("{sign}{grouped}"), |f| format!("{sign}{grouped}.{f}"))
}

/// A response time in milliseconds with its unit, to three significant
/// digits: `500 µs`, `20 ms`, `25.1 ms`, `1.5 s`.
pub(super) fn duration_ms(ms: f64) -> String {
    if ms == 0.0 {
        "0".to_string()
    } else if ms < 1.0 {
        format!("{} µs", significant(ms * 1000.0))
    } else if ms < 1000.0 {
        format!("{} ms", significant(ms))
    } else {
        format!("{} s", group_thousands(&significant(ms / 1000.0)))
    }
}

/// Three significant digits, no trailing zeros: `25.1`, `158`, `1.5`, `12346`.
fn significant(v: f64) -> String {
    let decimals = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    let text = format!("{v:.decimals$}");
    if decimals == 0 { text } else { text.trim_end_matches('0').trim_end_matches('.').to_string() }
}

/// A response-time axis: logarithmic when the values span more than 1.5
/// decades (a p99 spike next to a steady p50), else linear from 0.
pub(super) fn response_time(values: impl Iterator<Item = f64>) -> Scale {
    let (min, max) = finite_positive_range(values);
    let label = "response time";
    if min > 0.0 && (max / min).log10() > 1.5 {
        log_scale(min, max, &format!("{label} (log scale)"), duration_ms)
    } else {
        let linear = from_zero(max, 1.0, label);
        Scale { ticks: linear.ticks.iter().map(|t| Tick { at: t.at, text: duration_ms(t.at) }).collect(), ..linear }
    }
}

fn finite_positive_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((0.0, 0.0), |(lo, hi), v| if lo == 0.0 { (v, v) } else { (f64::min(lo, v), f64::max(hi, v)) })
}

/// A logarithmic axis around `min..max` with ticks at 1, 2, 5 x 10^k, or
/// at whole decades when those are too many, written by `text`.
fn log_scale(min: f64, max: f64, label: &str, text: fn(f64) -> String) -> Scale {
    let (lo, hi) = (min / 1.25, max * 1.25);
    let decades = (lo.log10().floor() as i32)..=(hi.log10().ceil() as i32);
    let candidates = |mantissas: &[f64]| -> Vec<f64> {
        decades
            .clone()
            .flat_map(|k| mantissas.iter().map(move |m| m * 10f64.powi(k)))
            .filter(|v| *v >= lo && *v <= hi)
            .collect()
    };
    let mut ticks = candidates(&[1.0, 2.0, 5.0]);
    if ticks.len() > MAX_TICKS {
        ticks = candidates(&[1.0]);
    }
    while ticks.len() > MAX_TICKS {
        ticks = ticks.into_iter().step_by(2).collect();
    }
    let ticks = ticks.into_iter().map(|at| Tick { at, text: text(at) }).collect();
    Scale { lo, hi, log: true, ticks, label: label.to_string() }
}

/// A linear axis around `min..max`, a little wider so that points at the
/// ends sit inside the plot, with clean ticks (whole numbers for `whole`,
/// none below zero when no value is).
pub(super) fn linear(min: f64, max: f64, label: &str, whole: bool) -> Scale {
    let (min, max) = if min.is_finite() && max.is_finite() && min <= max { (min, max) } else { (0.0, 1.0) };
    let span = max - min;
    let pad = if span > 0.0 {
        span * 0.05
    } else if whole {
        1.0
    } else if max != 0.0 {
        max.abs() * 0.1
    } else {
        1.0
    };
    let (lo, hi) = (min - pad, max + pad);
    if !(hi - lo).is_finite() || hi <= lo {
        return linear(0.0, 1.0, label, whole);
    }
    let mut step = nice_step(hi - lo, MAX_TICKS - 2);
    if whole {
        step = step.floor().max(1.0);
    }
    let (first, last) = ((lo / step).ceil(), (hi / step).floor());
    let ticks = if last - first <= 4.0 * MAX_TICKS as f64 {
        (first as i64..=last as i64)
            .map(|k| k as f64 * step + 0.0)
            .filter(|at| min < 0.0 || *at >= 0.0)
            .map(|at| Tick { at, text: number(at, step) })
            .collect()
    } else {
        Vec::new()
    };
    Scale { lo, hi, log: false, ticks, label: label.to_string() }
}

/// A logarithmic axis of plain numbers around `min..max` (both above zero),
/// for a geometric range of values.
pub(super) fn log_numbers(min: f64, max: f64, label: &str) -> Scale {
    if !(min.is_finite() && max.is_finite() && min > 0.0 && max >= min) {
        return linear(min, max, label, false);
    }
    log_scale(min, max, label, plain)
}

/// A tick's number to three significant digits, thousands grouped from
/// five digits: `0.05`, `2.5`, `200`, `12,800`.
fn plain(v: f64) -> String {
    if v >= 1.0 {
        group_thousands(&significant(v))
    } else {
        let text = format!("{v:.6}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// An axis of named choices, one position each (0, 1, ...), labelled in
/// order; long names are cut and, past a dozen, only every few is named.
pub(super) fn categories(labels: &[String], title: &str) -> Scale {
    const MAX_LABELS: usize = 12;
    let n = labels.len();
    let every = n.div_ceil(MAX_LABELS).max(1);
    // About 90 characters fit along the plot.
    let chars = (90 / n.clamp(1, MAX_LABELS)).clamp(6, 28);
    let ticks = labels
        .iter()
        .enumerate()
        .step_by(every)
        .map(|(i, t)| Tick { at: i as f64, text: abbreviate(t, chars) })
        .collect();
    Scale { lo: -0.5, hi: n.max(1) as f64 - 0.5, log: false, ticks, label: title.to_string() }
}

/// The time axis of a run `duration_s` long: wall-clock ticks in the
/// scenario's offset when it has a start, else elapsed time in a unit that
/// suits the length.
pub(super) fn time(duration_s: f64, clock: Option<WallClock>) -> Scale {
    let end = if duration_s.is_finite() && duration_s > 0.0 { duration_s } else { 60.0 };
    match clock {
        Some(c) => wall_clock(end, c),
        None => elapsed(end),
    }
}

fn elapsed(end: f64) -> Scale {
    let (unit, name, steps): (f64, &str, &[f64]) = if end <= 300.0 {
        (1.0, "s", &[])
    } else if end <= 5.0 * 3600.0 {
        (60.0, "min", &[1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 60.0, 120.0])
    } else {
        (3600.0, "h", &[1.0, 2.0, 3.0, 4.0, 6.0, 12.0, 24.0, 48.0, 96.0, 168.0])
    };
    let span = end / unit;
    let step =
        steps.iter().copied().find(|s| span / s <= MAX_TICKS as f64).unwrap_or_else(|| nice_step(span, MAX_TICKS));
    let count = (span / step + 1e-9).floor() as usize;
    let ticks = (0..=count).map(|i| i as f64 * step).map(|v| Tick { at: v * unit, text: number(v, step) }).collect();
    Scale { lo: 0.0, hi: end, log: false, ticks, label: format!("time since start ({name})") }
}

/// Tick steps for wall-clock axes, seconds: each divides the next's period
/// so that ticks fall on round times of day.
const CLOCK_STEPS: [i64; 18] =
    [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, SECS_PER_DAY];

fn wall_clock(end: f64, c: WallClock) -> Scale {
    // Local seconds since the epoch, so that ticks fall on round local times.
    let start = c.epoch_s() + i64::from(c.offset_min()) * 60;
    let step = CLOCK_STEPS.iter().copied().find(|s| end / *s as f64 <= MAX_TICKS as f64).unwrap_or_else(|| {
        let days = (end / SECS_PER_DAY as f64 / MAX_TICKS as f64).ceil() as i64;
        days.max(1) * SECS_PER_DAY
    });
    let first = start.div_euclid(step) * step + if start.rem_euclid(step) == 0 { 0 } else { step };
    let last = start + end.floor() as i64;
    let ticks = (0..)
        .map(|i| first + i * step)
        .take_while(|t| *t <= last)
        .map(|t| Tick { at: (t - start) as f64, text: time_of_day(t, step) })
        .collect();
    let begins = c.format(0);
    let begins = begins.get(..16).unwrap_or(&begins).replace('T', " ");
    let label = format!("time ({}), starting {begins}", c.zone_name());
    Scale { lo: 0.0, hi: end, log: false, ticks, label }
}

/// `HH:MM` (with seconds when ticks are closer than a minute); the date
/// `MM-DD` at midnight, so that runs over several days stay readable.
fn time_of_day(local_s: i64, step: i64) -> String {
    let sod = local_s.rem_euclid(SECS_PER_DAY);
    if sod == 0 && step >= 3600 {
        let (_, m, d) = civil_from_days(local_s.div_euclid(SECS_PER_DAY));
        return format!("{m:02}-{d:02}");
    }
    let (h, m, s) = (sod / 3600, sod / 60 % 60, sod % 60);
    if step < 60 { format!("{h:02}:{m:02}:{s:02}") } else { format!("{h:02}:{m:02}") }
}

/// The percentile axis of a spectrum, in "nines" (-log10(1 - q)): 0%, 90%,
/// 99%, 99.9%... up to `top_nines` (at least one nine).
pub(super) fn nines(top_nines: f64) -> Scale {
    let hi = if top_nines.is_finite() { top_nines.max(1.0) } else { 1.0 };
    let ticks = (0..=(hi + 1e-9).floor() as usize).map(|k| Tick { at: k as f64, text: percentile_name(k) }).collect();
    Scale { lo: 0.0, hi, log: false, ticks, label: "percentile (%, log scale of nines)".to_string() }
}

/// The quantile with `k` nines as a percentage: 0%, 90%, 99%, 99.9%.
fn percentile_name(k: usize) -> String {
    match k {
        0 => "0%".to_string(),
        1 => "90%".to_string(),
        k => format!("99.{}%", "9".repeat(k - 2)).replace(".%", "%"),
    }
}

/// Nines of a quantile: how many leading nines `q` has, fractionally.
pub(super) fn nines_of(q: f64) -> f64 {
    -(1.0 - q).log10()
}

/// An axis of `labels.len()` rows, the first at the top, each labelled at
/// its middle (at most `MAX_ROW_LABELS` labels, evenly thinned).
pub(super) fn rows(labels: &[String], title: &str) -> Scale {
    const MAX_ROW_LABELS: usize = 24;
    let n = labels.len();
    let every = n.div_ceil(MAX_ROW_LABELS).max(1);
    let ticks = labels
        .iter()
        .enumerate()
        .step_by(every)
        .map(|(i, text)| Tick { at: (n - i) as f64 - 0.5, text: abbreviate(text, 28) })
        .collect();
    Scale { lo: 0.0, hi: n.max(1) as f64, log: false, ticks, label: title.to_string() }
}

/// `text` cut to `max` characters, an ellipsis marking the cut.
pub(super) fn abbreviate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &Scale) -> Vec<&str> {
        s.ticks.iter().map(|t| t.text.as_str()).collect()
    }

    #[test]
    fn steps_are_clean_and_cover_the_range() {
        assert_eq!(nice_step(10.0, 5), 2.0);
        assert_eq!(nice_step(12.0, 5), 2.5);
        assert_eq!(nice_step(0.03, 6), 0.005);
        assert_eq!(nice_step(0.0, 6), 1.0);
        let s = from_zero(37.0, 1.0, "queue");
        assert_eq!((s.lo, s.hi), (0.0, 40.0));
        assert_eq!(texts(&s), ["0", "10", "20", "30", "40"]);
        let tiny = from_zero(0.0, 1.0, "errors (%)");
        assert_eq!(texts(&tiny), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0", "1.2"]);
        assert!((from_zero(f64::NAN, 1.0, "x").hi - 1.2).abs() < 1e-9);
    }

    #[test]
    fn numbers_and_durations_read_with_units() {
        assert_eq!(number(2.5, 0.5), "2.5");
        assert_eq!(number(3.0, 0.5), "3.0");
        assert_eq!(number(7.5, 2.5), "7.5");
        assert_eq!(number(4.0, 2.0), "4");
        assert_eq!(number(12_500.0, 2500.0), "12,500");
        assert_eq!(number(1500.0, 500.0), "1500");
        assert_eq!(number(-1_234_567.5, 0.5), "-1,234,567.5");
        assert_eq!(duration_ms(0.5), "500 µs");
        assert_eq!(duration_ms(20.0), "20 ms");
        assert_eq!(duration_ms(1500.0), "1.5 s");
        assert_eq!(duration_ms(0.0), "0");
        assert_eq!(duration_ms(25.123), "25.1 ms");
        assert_eq!(duration_ms(158.49), "158 ms");
        assert_eq!(duration_ms(0.25), "250 µs");
        assert_eq!(crate::time::in_one_unit(30.0), "30 s");
        assert_eq!(crate::time::in_one_unit(90.0), "1.5 min");
        assert_eq!(crate::time::in_one_unit(7200.0), "2 h");
        assert_eq!(texts(&percent(40.0, "x")), ["0", "20", "40", "60", "80", "100"]);
        assert_eq!(percent(130.0, "x").hi, 150.0);
        assert_eq!(rate_percent(100.0, "x").hi, 100.0);
        assert_eq!(rate_percent(40.0, "x").hi, 50.0);
        assert!((rate_percent(0.0, "x").hi - 1.2).abs() < 1e-9);
    }

    #[test]
    fn response_times_go_logarithmic_past_one_and_a_half_decades() {
        let steady = response_time([10.0, 20.0, 80.0, f64::NAN].into_iter());
        assert!(!steady.log);
        assert_eq!(texts(&steady), ["0", "20 ms", "40 ms", "60 ms", "80 ms", "100 ms"]);
        let spiky = response_time([2.0, 30.0, 4000.0].into_iter());
        assert!(spiky.log);
        assert!(spiky.lo < 2.0 && spiky.hi > 4000.0);
        assert!(texts(&spiky).contains(&"10 ms") && texts(&spiky).contains(&"1 s"));
        assert!(spiky.ticks.len() <= MAX_TICKS);
        // A log axis maps decades to equal distances.
        let (a, b, c) = (spiky.fraction(10.0), spiky.fraction(100.0), spiky.fraction(1000.0));
        assert!(((b - a) - (c - b)).abs() < 1e-9);
        assert!(response_time(std::iter::empty()).ticks.len() >= 2);
    }

    #[test]
    fn elapsed_time_picks_its_unit_by_length() {
        let short = time(120.0, None);
        assert_eq!(short.label, "time since start (s)");
        assert_eq!(texts(&short), ["0", "20", "40", "60", "80", "100", "120"]);
        let medium = time(600.0, None);
        assert_eq!(medium.label, "time since start (min)");
        assert_eq!(texts(&medium), ["0", "2", "4", "6", "8", "10"]);
        assert_eq!(medium.ticks[1].at, 120.0);
        let long = time(86_400.0, None);
        assert_eq!(long.label, "time since start (h)");
        assert_eq!(long.ticks[1].at, 3.0 * 3600.0);
        assert_eq!(time(0.0, None).hi, 60.0);
    }

    #[test]
    fn wall_clock_ticks_fall_on_round_times_in_the_offset() {
        // 2024-06-01T13:57:00+02:00 for 20 minutes.
        let c = WallClock::from_parts(1_717_243_020, 120);
        let s = time(1200.0, Some(c));
        assert_eq!(texts(&s), ["14:00", "14:05", "14:10", "14:15"]);
        assert_eq!(s.ticks[0].at, 180.0);
        assert_eq!(s.label, "time (UTC+02:00), starting 2024-06-01 13:57");
        // Two days from midnight UTC: dates at midnight.
        let days = time(2.0 * 86_400.0, Some(WallClock::from_parts(1_717_200_000, 0)));
        assert!(texts(&days).contains(&"06-02"), "{:?}", texts(&days));
        assert!(days.label.starts_with("time (UTC)"));
    }

    #[test]
    fn nines_are_labelled_as_percentiles() {
        let s = nines(4.3);
        assert_eq!(texts(&s), ["0%", "90%", "99%", "99.9%", "99.99%"]);
        assert_eq!(s.hi, 4.3);
        assert!((nines_of(0.999) - 3.0).abs() < 1e-9);
        assert_eq!(nines(0.2).hi, 1.0);
    }

    #[test]
    fn rows_run_top_down_with_thinned_labels() {
        let names: Vec<String> = (0..60).map(|i| format!("s{i}")).collect();
        let s = rows(&names, "server");
        assert_eq!(s.hi, 60.0);
        assert_eq!(s.ticks[0], Tick { at: 59.5, text: "s0".into() });
        assert!(s.ticks.len() <= 24);
        let long = rows(&["a-very-long-server-name-from-a-generator-001".to_string()], "server");
        assert_eq!(long.ticks[0].text, "a-very-long-server-name-fro…");
        assert_eq!(abbreviate("short", 24), "short");
    }

    #[test]
    fn value_axes_pad_their_range_and_keep_clean_ticks() {
        let s = linear(300.0, 600.0, "rate (/s)", false);
        assert!(s.lo < 300.0 && s.hi > 600.0);
        assert_eq!(texts(&s), ["300", "400", "500", "600"]);
        // Counts step by whole numbers; nothing is ticked below zero when no value is.
        let counts = linear(0.0, 3.0, "servers", true);
        assert_eq!(texts(&counts), ["0", "1", "2", "3"]);
        let one = linear(5.0, 5.0, "x", false);
        assert!(one.lo < 5.0 && one.hi > 5.0 && !one.ticks.is_empty());
        let bad = linear(f64::NAN, f64::INFINITY, "x", false);
        assert_eq!((bad.lo < 0.0, bad.hi > 1.0), (true, true));
        assert!(linear(-1e308, 1e308, "x", false).hi.is_finite());
        let geo = log_numbers(100.0, 6400.0, "rate (/s, log scale)");
        assert!(geo.log);
        assert_eq!(texts(&geo), ["100", "200", "500", "1000", "2000", "5000"]);
        assert!(!log_numbers(0.0, 10.0, "x").log);
        assert_eq!(plain(0.05), "0.05");
        assert_eq!(plain(12_800.0), "12,800");
    }

    #[test]
    fn categories_sit_at_whole_positions_with_short_names() {
        let names: Vec<String> =
            ["round_robin", "least_connections", "power_of_two_choices"].map(String::from).to_vec();
        let s = categories(&names, "balancers.edge.algorithm");
        assert_eq!((s.lo, s.hi), (-0.5, 2.5));
        assert_eq!(texts(&s), ["round_robin", "least_connections", "power_of_two_choices"]);
        assert_eq!(s.ticks[2].at, 2.0);
        let many: Vec<String> = (0..40).map(|i| format!("a-rather-long-choice-{i}")).collect();
        let s = categories(&many, "x");
        assert!(s.ticks.len() <= 12);
        assert!(s.ticks.iter().all(|t| t.text.chars().count() <= 7));
        assert_eq!(categories(&[], "x").ticks.len(), 0);
    }

    #[test]
    fn mapping_clamps_into_the_plot() {
        let s = from_zero(10.0, 1.0, "x");
        assert_eq!(s.map(&-5.0, (0, 100)), 0);
        assert_eq!(s.map(&1e9, (0, 100)), 100);
        assert_eq!(s.map(&f64::NAN, (0, 100)), 0);
        assert_eq!(s.tick_text(4.1), "4");
    }
}
