//! Human units in scenario files: durations (`250ms`, `1.5s`, `2h30m`), rates
//! (`1200/s`, `2k/min`) and percentages (`46%`).
//!
//! Each type parses from a string with an error that says what was expected,
//! and serialises back to the same human form, so a resolved scenario written
//! to `summary.json` reads like the file the user wrote.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::time::{NANOS_PER_SEC, SimDuration, format_duration};

/// A duration written with units: `250ms`, `1.5s`, `2h30m`, `100us`, `0`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Duration(pub SimDuration);

/// A rate of events per second, written `1200/s`, `2k/min`, `30/h`.
#[derive(Copy, Clone, Debug, PartialEq, PartialOrd, Default)]
pub struct Rate(pub f64);

/// A fraction in [0, 1], written as a percentage `46%` or a fraction `0.46`.
#[derive(Copy, Clone, Debug, PartialEq, PartialOrd, Default)]
pub struct Percent(pub f64);

impl Duration {
    pub fn nanos(self) -> u64 {
        (self.0).0
    }
    pub fn secs(self) -> f64 {
        self.0.as_secs_f64()
    }
    pub fn from_nanos(ns: u64) -> Self {
        Duration(SimDuration(ns))
    }
}

impl Rate {
    pub fn per_sec(self) -> f64 {
        self.0
    }
}

impl Percent {
    pub fn fraction(self) -> f64 {
        self.0
    }
}

const DURATION_HELP: &str = "a duration with units, like 250ms, 1.5s, 2h30m (units: ns, us, ms, s, m, h, d)";
const RATE_HELP: &str = "a rate like 1200/s, 2k/min or 30/h";
const PERCENT_HELP: &str = "a percentage like 46% (or a fraction between 0 and 1)";

fn unit_nanos(unit: &str) -> Option<f64> {
    Some(match unit {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" | "sec" => 1e9,
        "m" | "min" => 60e9,
        "h" => 3600e9,
        "d" => 86_400e9,
        _ => return None,
    })
}

/// Splits a leading decimal number (no sign) from the rest.
fn split_number(s: &str) -> Option<(f64, &str)> {
    let end =
        s.char_indices().find(|&(_, c)| !(c.is_ascii_digit() || c == '.' || c == '_')).map_or(s.len(), |(i, _)| i);
    if end == 0 {
        return None;
    }
    let digits: String = s[..end].chars().filter(|&c| c != '_').collect();
    let value: f64 = digits.parse().ok()?;
    Some((value, &s[end..]))
}

/// Parses `2h30m`, `1.5s`, `250ms`. Components must come in decreasing unit order.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s == "0" {
        return Ok(Duration::default());
    }
    if s.starts_with('-') {
        return Err(format!("`{text}` is negative: expected {DURATION_HELP}"));
    }
    let mut rest = s;
    let mut total = 0.0f64;
    let mut last_unit = f64::INFINITY;
    if rest.is_empty() {
        return Err(format!("empty duration: expected {DURATION_HELP}"));
    }
    while !rest.is_empty() {
        let (value, after) = split_number(rest).ok_or_else(|| format!("`{text}` is not {DURATION_HELP}"))?;
        let unit_len =
            after.char_indices().find(|&(_, c)| c.is_ascii_digit() || c == '.').map_or(after.len(), |(i, _)| i);
        let unit = after[..unit_len].trim();
        if unit.is_empty() {
            return Err(format!("`{text}` has no unit: expected {DURATION_HELP}"));
        }
        let scale = unit_nanos(unit)
            .ok_or_else(|| format!("`{unit}` in `{text}` is not a time unit: expected {DURATION_HELP}"))?;
        if scale >= last_unit {
            return Err(format!("`{text}`: write larger units first, like 2h30m"));
        }
        last_unit = scale;
        total += value * scale;
        rest = &after[unit_len..];
    }
    if !total.is_finite() || total > u64::MAX as f64 {
        return Err(format!("`{text}` is too long a duration"));
    }
    Ok(Duration(SimDuration(total.round() as u64)))
}

/// Parses `1200/s`, `2k/min`, `1.5M/h`, `0/s`.
pub(crate) fn parse_rate(text: &str) -> Result<Rate, String> {
    let s = text.trim();
    if s.starts_with('-') {
        return Err(format!("`{text}` is negative: a rate must be zero or more, {RATE_HELP}"));
    }
    let (count, per) = s.split_once('/').ok_or_else(|| format!("`{text}` is not {RATE_HELP}"))?;
    let count = count.trim();
    let (value, suffix) = split_number(count).ok_or_else(|| format!("`{text}` is not {RATE_HELP}"))?;
    let multiplier = match suffix.trim() {
        "" => 1.0,
        "k" | "K" => 1e3,
        "M" => 1e6,
        other => {
            return Err(format!("`{other}` in `{text}` is not a multiplier (k or M): expected {RATE_HELP}"));
        }
    };
    let per = per.trim();
    // `/s` means per one second; `/10s` is also accepted.
    let (per_value, per_unit) = match split_number(per) {
        Some((v, u)) => (v, u.trim()),
        None => (1.0, per),
    };
    let unit = unit_nanos(per_unit)
        .ok_or_else(|| format!("`{per_unit}` in `{text}` is not a time unit: expected {RATE_HELP}"))?;
    if per_value <= 0.0 {
        return Err(format!("`{text}` divides by zero time: expected {RATE_HELP}"));
    }
    let per_sec = value * multiplier / (per_value * unit / NANOS_PER_SEC as f64);
    if !per_sec.is_finite() {
        return Err(format!("`{text}` is not a finite rate"));
    }
    Ok(Rate(per_sec))
}

/// Parses `46%` or a plain fraction `0.46`.
pub(crate) fn parse_percent(text: &str) -> Result<Percent, String> {
    let s = text.trim();
    let fraction = if let Some(p) = s.strip_suffix('%') {
        let v: f64 = p.trim().parse().map_err(|_| format!("`{text}` is not {PERCENT_HELP}"))?;
        v / 100.0
    } else {
        let v: f64 = s.parse().map_err(|_| format!("`{text}` is not {PERCENT_HELP}"))?;
        if v > 1.0 {
            return Err(format!("`{text}` is more than 1: write {v}% for a percentage"));
        }
        v
    };
    check_fraction(text, fraction)
}

fn check_fraction(text: &str, fraction: f64) -> Result<Percent, String> {
    if !(0.0..=1.0).contains(&fraction) {
        return Err(format!("`{text}` is outside 0%..100%"));
    }
    Ok(Percent(fraction))
}

/// Formats a rate the way it would be written: `1200/s`, `2.5/s`.
pub(crate) fn format_rate(per_sec: f64) -> String {
    let text = format!("{per_sec:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}/s")
}

pub(crate) fn format_percent(fraction: f64) -> String {
    let text = format!("{:.4}", fraction * 100.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}%")
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.nanos()))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_rate(self.0))
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_percent(self.0))
    }
}

/// One visitor for the three unit types: strings parse; numbers are accepted
/// only where they are unambiguous (a fraction for a percentage, zero for a
/// duration or rate).
struct UnitVisitor<T> {
    expecting: &'static str,
    parse: fn(&str) -> Result<T, String>,
    from_number: fn(f64) -> Result<T, String>,
}

impl<T> Visitor<'_> for UnitVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.parse)(v).map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        (self.from_number)(v).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        (self.from_number)(v as f64).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        (self.from_number)(v as f64).map_err(E::custom)
    }
}

impl schemars::JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A duration: a number with a unit (ns, us, ms, s, m, h, d), several components largest first; 0 alone is allowed.",
            "anyOf": [{"type": "string"}, {"const": 0}],
            "examples": ["250ms", "1.5s", "2h30m"]
        })
    }
}

impl schemars::JsonSchema for Rate {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Rate".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A rate: a count (with k or M) per period (a unit, optionally with a number); 0 alone is allowed.",
            "anyOf": [{"type": "string", "pattern": "/"}, {"const": 0}],
            "examples": ["1200/s", "2k/min", "5/10s"]
        })
    }
}

impl schemars::JsonSchema for Percent {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Percent".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A percentage (46%) or a fraction from 0 to 1.",
            "anyOf": [{"type": "string", "pattern": "%\\s*$"}, {"type": "number", "minimum": 0, "maximum": 1}],
            "examples": ["46%", 0.46]
        })
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnitVisitor {
            expecting: DURATION_HELP,
            parse: parse_duration,
            from_number: |v| {
                if v == 0.0 {
                    Ok(Duration::default())
                } else {
                    Err(format!("`{v}` has no unit: expected {DURATION_HELP}"))
                }
            },
        })
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnitVisitor {
            expecting: RATE_HELP,
            parse: parse_rate,
            from_number: |v| {
                if v == 0.0 {
                    Ok(Rate(0.0))
                } else {
                    Err(format!("`{v}` has no time unit: expected {RATE_HELP}, e.g. {v}/s"))
                }
            },
        })
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnitVisitor {
            expecting: PERCENT_HELP,
            parse: parse_percent,
            from_number: |v| {
                if v > 1.0 {
                    Err(format!("`{v}` is more than 1: write {v}% for a percentage"))
                } else {
                    check_fraction(&v.to_string(), v)
                }
            },
        })
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(text: &str) -> u64 {
        parse_duration(text).unwrap().nanos()
    }

    #[test]
    fn durations_parse_in_every_unit() {
        assert_eq!(ns("250ms"), 250_000_000);
        assert_eq!(ns("1.5s"), 1_500_000_000);
        assert_eq!(ns("2h30m"), 9_000 * NANOS_PER_SEC);
        assert_eq!(ns("1m30s"), 90 * NANOS_PER_SEC);
        assert_eq!(ns("100us"), 100_000);
        assert_eq!(ns("12ns"), 12);
        assert_eq!(ns("1d"), 86_400 * NANOS_PER_SEC);
        assert_eq!(ns("0"), 0);
        assert_eq!(ns(" 10 ms "), 10_000_000);
    }

    #[test]
    fn bad_durations_say_what_is_expected() {
        for bad in ["", "ms", "10", "10 parsecs", "-5s", "30m2h", "1.2.3s"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(!err.is_empty(), "{bad}");
        }
        assert!(parse_duration("10").unwrap_err().contains("no unit"));
        assert!(parse_duration("30m2h").unwrap_err().contains("larger units first"));
    }

    #[test]
    fn rates_parse_with_multipliers_and_periods() {
        assert_eq!(parse_rate("1200/s").unwrap().0, 1200.0);
        assert!((parse_rate("2k/min").unwrap().0 - 2000.0 / 60.0).abs() < 1e-9);
        assert_eq!(parse_rate("36/h").unwrap().0, 0.01);
        assert_eq!(parse_rate("5/10s").unwrap().0, 0.5);
        assert_eq!(parse_rate("1.5M/s").unwrap().0, 1.5e6);
        assert!(parse_rate("-3/s").unwrap_err().contains("negative"));
        assert!(parse_rate("1200").is_err());
        assert!(parse_rate("12/parsec").is_err());
        assert!(parse_rate("3x/s").is_err());
    }

    #[test]
    fn percents_parse_as_fractions() {
        assert_eq!(parse_percent("46%").unwrap().0, 0.46);
        assert_eq!(parse_percent("0.25").unwrap().0, 0.25);
        assert!(parse_percent("46").unwrap_err().contains("46%"));
        assert!(parse_percent("120%").is_err());
        assert!(parse_percent("-1%").is_err());
    }

    #[test]
    fn formatting_round_trips() {
        for text in ["250ms", "1.5s", "2h30m", "40us"] {
            assert_eq!(parse_duration(text).unwrap().to_string(), text);
        }
        assert_eq!(Rate(1200.0).to_string(), "1200/s");
        assert_eq!(Percent(0.46).to_string(), "46%");
    }
}
