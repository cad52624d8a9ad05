//! Durations in words, in one place for every stage: the units a
//! scenario file is written in (`2h30m`, `250ms`), the way the reports say
//! a span of time (`2 h 30 min`), and one unit with a decimal for chart
//! notes (`1.5 min`). Measured latencies are numbers with a unit and keep
//! the charts' and tables' number rules (`report::charts::scale::duration_ms`,
//! `report::text::ms`).

use super::NANOS_PER_SEC;

/// Formats nanoseconds in the units a person would write in a scenario file.
pub(crate) fn format_duration(ns: u64) -> String {
    const MS: u64 = 1_000_000;
    const S: u64 = NANOS_PER_SEC;
    if ns == 0 {
        return "0s".to_string();
    }
    if ns >= 60 * S && ns.is_multiple_of(S) {
        let total = ns / S;
        let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
        let mut out = String::new();
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if m > 0 {
            out.push_str(&format!("{m}m"));
        }
        if s > 0 {
            out.push_str(&format!("{s}s"));
        }
        return out;
    }
    let (value, unit) = if ns >= S {
        (ns as f64 / S as f64, "s")
    } else if ns >= MS {
        (ns as f64 / MS as f64, "ms")
    } else if ns >= 1_000 {
        (ns as f64 / 1e3, "us")
    } else {
        (ns as f64, "ns")
    };
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{unit}")
}

/// Seconds as a person says them: `2 h 2 min`, `1 min 10 s`, `45 s`, `2.5 s`, `250 ms`.
/// The one way the reports write a span of time (windows, delays, settings);
/// measured latencies keep `report::text::ms`, the same style with the
/// precision percentiles need (`2.76 s`).
pub(crate) fn spoken(secs: f64) -> String {
    let whole = secs.round();
    if whole >= 3600.0 {
        let minutes = (secs / 60.0).round() as u64;
        let (h, m) = (minutes / 60, minutes % 60);
        return if m == 0 { format!("{h} h") } else { format!("{h} h {m} min") };
    }
    if whole >= 60.0 {
        let (m, s) = (whole as u64 / 60, whole as u64 % 60);
        return if s == 0 { format!("{m} min") } else { format!("{m} min {s} s") };
    }
    if secs >= 10.0 {
        format!("{whole:.0} s")
    } else if secs >= 1.0 {
        format!("{} s", trim_zero(format!("{secs:.1}")))
    } else if secs > 0.0 {
        format!("{} ms", trim_zero(format!("{:.1}", secs * 1e3)))
    } else {
        "0 s".to_string()
    }
}

fn trim_zero(s: String) -> String {
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// A length of time in seconds, in the unit that suits it: `30 s`, `5 min`, `2 h`.
pub(crate) fn in_one_unit(secs: f64) -> String {
    let (value, unit) = match secs {
        s if s < 60.0 => (s, "s"),
        s if s < 3600.0 => (s / 60.0, "min"),
        s => (s / 3600.0, "h"),
    };
    let text = format!("{value:.1}");
    format!("{} {unit}", text.trim_end_matches('0').trim_end_matches('.'))
}
