//! Wall-clock times for incident timelines.
//!
//! A scenario may pin its simulated time zero to a real instant with
//! `start: 2024-06-01T14:00:00Z` (RFC 3339: `YYYY-MM-DDTHH:MM[:SS[.fff]]`
//! followed by `Z` or a `±HH:MM` offset). Times elsewhere in the scenario
//! ([`TimeSpec`]) may then be written in three forms:
//!
//! - an offset from the start, `10m` or `1h30m` (always allowed, with or
//!   without `start:`);
//! - a time of day, `"14:10"` or `"14:10:30"`, read in the start's UTC offset
//!   and meaning its *first occurrence at or after the start*: an incident
//!   that starts at 20:00 can say `"00:30"` for half past midnight the next
//!   day, and `"20:00"` is the start itself;
//! - a full RFC 3339 date-time, in any offset, which must not be before the
//!   start.
//!
//! Offsets are fixed: a timeline that crosses a daylight-saving change keeps
//! the start's offset (write full date-times with their own offsets there).
//! The start itself is a whole second. Leap seconds (`:60`) are not accepted.
//!
//! Civil dates are converted with the days-from-civil algorithm (proleptic
//! Gregorian calendar, years 0000 to 9999), so no date library is needed.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::time::NANOS_PER_SEC;
use crate::units::parse_duration;

pub(crate) const SECS_PER_DAY: i64 = 86_400;
const NANOS_PER_DAY: u64 = 86_400 * NANOS_PER_SEC;

const DATETIME_HELP: &str = "an RFC 3339 date-time like 2024-06-01T14:00:00Z or 2024-06-01T07:00:00-07:00";
const TIME_HELP: &str = "a duration from the start like 10m, a time of day like 14:10 or 14:10:30, \
     or a date-time like 2024-06-01T14:10:00Z";

/// The real instant at simulated time zero, and the UTC offset times are
/// shown and read in.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct WallClock {
    /// The start as Unix seconds.
    epoch_s: i64,
    /// The start's UTC offset, minutes east of UTC.
    offset_min: i32,
}

impl WallClock {
    /// Parses the scenario's `start:`, an RFC 3339 date-time with an offset.
    pub fn parse_start(text: &str) -> Result<WallClock, String> {
        let s = text.trim();
        if !looks_like_date(s) {
            return Err(format!("`{text}` is not a start time: expected {DATETIME_HELP}"));
        }
        let dt = parse_datetime(s)?;
        if dt.nanos != 0 {
            return Err(format!("`{text}`: the start must be a whole second; drop the fraction"));
        }
        Ok(WallClock { epoch_s: dt.unix_s, offset_min: dt.offset_min })
    }

    /// A clock from Unix seconds and an offset in minutes east of UTC.
    pub fn from_parts(epoch_s: i64, offset_min: i32) -> WallClock {
        WallClock { epoch_s, offset_min }
    }

    /// The start as Unix seconds.
    pub fn epoch_s(&self) -> i64 {
        self.epoch_s
    }

    /// The start's UTC offset in minutes east of UTC.
    pub fn offset_min(&self) -> i32 {
        self.offset_min
    }

    /// Nanoseconds since the start of a time written in any of the three
    /// forms (a duration, a time of day, a date-time).
    pub fn resolve(&self, text: &str) -> Result<u64, String> {
        TimeSpec::parse(text)?.resolve(Some(self))
    }

    /// The time `ns_since_start` after the start as RFC 3339 in the start's
    /// offset, whole seconds (truncated): `2024-06-01T14:10:00Z`.
    pub fn format(&self, ns_since_start: u64) -> String {
        let local = self.local_secs(ns_since_start);
        let days = local.div_euclid(SECS_PER_DAY);
        let sod = local.rem_euclid(SECS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        let mut out = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", sod / 3600, (sod / 60) % 60, sod % 60);
        if self.offset_min == 0 {
            out.push('Z');
        } else {
            out.push_str(&self.offset_text());
        }
        out
    }

    /// The start's offset as `+02:00` or `-05:30` (`+00:00` for UTC).
    fn offset_text(&self) -> String {
        let sign = if self.offset_min < 0 { '-' } else { '+' };
        let abs = self.offset_min.unsigned_abs();
        format!("{sign}{:02}:{:02}", abs / 60, abs % 60)
    }

    /// The zone the times are shown in, for headings and axis titles: `UTC`,
    /// `UTC+02:00`, `UTC-05:30`.
    pub fn zone_name(&self) -> String {
        if self.offset_min == 0 { "UTC".to_string() } else { format!("UTC{}", self.offset_text()) }
    }

    /// The time of day `ns_since_start` after the start, `HH:MM:SS` in the
    /// start's offset (for tables).
    pub fn format_short(&self, ns_since_start: u64) -> String {
        let sod = self.local_secs(ns_since_start).rem_euclid(SECS_PER_DAY);
        format!("{:02}:{:02}:{:02}", sod / 3600, (sod / 60) % 60, sod % 60)
    }

    /// Local (offset-applied) seconds since the Unix epoch.
    fn local_secs(&self, ns_since_start: u64) -> i64 {
        let elapsed = (ns_since_start / NANOS_PER_SEC) as i64;
        self.epoch_s + elapsed + i64::from(self.offset_min) * 60
    }
}

impl fmt::Display for WallClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format(0))
    }
}

impl<'de> Deserialize<'de> for WallClock {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = WallClock;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(DATETIME_HELP)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<WallClock, E> {
                WallClock::parse_start(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// A time in a scenario, as written: an offset from the start, a time of day
/// or a full date-time. Syntax is checked when it is read; [`TimeSpec::resolve`]
/// turns it into nanoseconds since the start once the clock is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimeSpec {
    /// `10m`: nanoseconds after the start.
    Offset { ns: u64, text: String },
    /// `14:10` or `14:10:30`: nanoseconds after local midnight.
    TimeOfDay { ns_of_day: u64, text: String },
    /// `2024-06-01T14:10:00Z`: the instant as Unix seconds plus nanoseconds.
    DateTime { unix_s: i64, nanos: u32, text: String },
}

impl TimeSpec {
    /// Reads any of the three forms, checking its syntax.
    pub fn parse(text: &str) -> Result<TimeSpec, String> {
        let s = text.trim();
        let raw = text.to_string();
        if s.is_empty() {
            return Err(format!("empty time: expected {TIME_HELP}"));
        }
        if looks_like_date(s) {
            let dt = parse_datetime(s)?;
            return Ok(TimeSpec::DateTime { unix_s: dt.unix_s, nanos: dt.nanos, text: raw });
        }
        if s.contains(':') {
            let ns_of_day = parse_time_of_day(s)?;
            return Ok(TimeSpec::TimeOfDay { ns_of_day, text: raw });
        }
        match parse_duration(s) {
            Ok(d) => Ok(TimeSpec::Offset { ns: d.nanos(), text: raw }),
            Err(e) => Err(format!("{e}; times are written as {TIME_HELP}")),
        }
    }

    /// The text as written.
    pub fn text(&self) -> &str {
        match self {
            TimeSpec::Offset { text, .. } | TimeSpec::TimeOfDay { text, .. } | TimeSpec::DateTime { text, .. } => text,
        }
    }

    /// Whether this is a plain offset (usable without `start:`).
    pub fn is_offset(&self) -> bool {
        matches!(self, TimeSpec::Offset { .. })
    }

    /// Nanoseconds since the start. Without a clock only offsets resolve.
    pub fn resolve(&self, clock: Option<&WallClock>) -> Result<u64, String> {
        match (self, clock) {
            (TimeSpec::Offset { ns, .. }, _) => Ok(*ns),
            (_, Some(clock)) => self.resolve_wall(clock),
            (_, None) => Err(format!(
                "`{}` is a wall-clock time: set `start:` to use wall-clock times, or write an offset from the start like 10m",
                self.text()
            )),
        }
    }

    fn resolve_wall(&self, clock: &WallClock) -> Result<u64, String> {
        match self {
            TimeSpec::Offset { ns, .. } => Ok(*ns),
            TimeSpec::TimeOfDay { ns_of_day, .. } => {
                let start_sod = (clock.epoch_s + i64::from(clock.offset_min) * 60).rem_euclid(SECS_PER_DAY) as u64;
                let start_ns = start_sod * NANOS_PER_SEC;
                Ok((ns_of_day + NANOS_PER_DAY - start_ns) % NANOS_PER_DAY)
            }
            TimeSpec::DateTime { unix_s, nanos, text } => {
                let diff =
                    (i128::from(*unix_s) - i128::from(clock.epoch_s)) * i128::from(NANOS_PER_SEC) + i128::from(*nanos);
                if diff < 0 {
                    return Err(format!("`{text}` is before the start ({})", clock.format(0)));
                }
                u64::try_from(diff).map_err(|_| format!("`{text}` is too far after the start ({})", clock.format(0)))
            }
        }
    }
}

impl fmt::Display for TimeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

impl schemars::JsonSchema for TimeSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Time".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "An offset from the start (10m), a time of day (\"14:10\", with `start:`) or an RFC 3339 date-time.",
            "anyOf": [{"type": "string"}, {"const": 0}],
            "examples": ["10m", "14:10", "2024-06-01T14:10:00Z"]
        })
    }
}

impl<'de> Deserialize<'de> for TimeSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = TimeSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(TIME_HELP)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TimeSpec, E> {
                TimeSpec::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<TimeSpec, E> {
                if v == 0 {
                    Ok(TimeSpec::Offset { ns: 0, text: "0".into() })
                } else {
                    Err(E::custom(format!("`{v}` has no unit: expected {TIME_HELP}")))
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<TimeSpec, E> {
                if v >= 0 {
                    self.visit_u64(v as u64)
                } else {
                    Err(E::custom(format!("`{v}` is negative: expected {TIME_HELP}")))
                }
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<TimeSpec, E> {
                Err(E::custom(format!("`{v}` has no unit: expected {TIME_HELP}")))
            }
        }
        d.deserialize_any(V)
    }
}

// ---------------------------------------------------------------------------
// Civil dates.

/// Whether a year is a leap year in the proleptic Gregorian calendar.
pub(crate) fn is_leap_year(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Days in month `m` (1..=12) of year `y`.
pub(crate) fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a civil date (month 1..=12, day 1..=31).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // 0..=399
    let mp = i64::from((m + 9) % 12); // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1; // 0..=365
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // 0..=146096
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a count of days since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // 0..=365
    let mp = (5 * doy + 2) / 153; // 0..=11
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

// ---------------------------------------------------------------------------
// Parsing.

struct DateTime {
    unix_s: i64,
    nanos: u32,
    offset_min: i32,
}

/// `YYYY-...`: four digits and a dash.
fn looks_like_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 5 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Reads exactly `n` ASCII digits at the front of `s`.
fn digits(s: &str, n: usize) -> Option<(u32, &str)> {
    let b = s.as_bytes();
    if b.len() < n || !b[..n].iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some((s[..n].parse().ok()?, &s[n..]))
}

fn parse_datetime(s: &str) -> Result<DateTime, String> {
    let bad = || format!("`{s}` is not {DATETIME_HELP}");
    let (y, rest) = digits(s, 4).ok_or_else(bad)?;
    let rest = rest.strip_prefix('-').ok_or_else(bad)?;
    let (m, rest) = digits(rest, 2).ok_or_else(bad)?;
    let rest = rest.strip_prefix('-').ok_or_else(bad)?;
    let (d, rest) = digits(rest, 2).ok_or_else(bad)?;
    if !(1..=12).contains(&m) {
        return Err(format!("`{s}`: the month must be 01 to 12"));
    }
    let (y, month_name) = (i64::from(y), MONTHS[m as usize - 1]);
    let max_day = days_in_month(y, m);
    if d == 0 || d > max_day {
        return Err(format!("`{s}`: {month_name} {y} has {max_day} days"));
    }
    if rest.is_empty() {
        return Err(format!("`{s}` has a date but no time: write e.g. {s}T00:00:00Z"));
    }
    let rest = rest.strip_prefix(['T', 't', ' ']).ok_or_else(bad)?;
    // The time runs up to the offset: `Z`, `+` or `-`.
    let split = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (time, zone) = rest.split_at(split);
    let tod_ns = parse_clock_time(time, s)?;
    let offset_min: i32 = if zone.eq_ignore_ascii_case("z") {
        0
    } else if zone.is_empty() {
        return Err(format!("`{s}` has no UTC offset: end it with Z (UTC) or an offset like +02:00"));
    } else {
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let body = &zone[1..];
        let parsed = digits(body, 2).and_then(|(h, r)| {
            let r = r.strip_prefix(':')?;
            let (mm, r) = digits(r, 2)?;
            r.is_empty().then_some((h, mm))
        });
        let (h, mm) = parsed
            .ok_or_else(|| format!("`{s}`: the UTC offset `{zone}` should be Z or ±HH:MM, like +02:00 or -07:00"))?;
        if h > 23 || mm > 59 {
            return Err(format!("`{s}`: the UTC offset `{zone}` is out of range"));
        }
        sign * (h * 60 + mm) as i32
    };
    let local = days_from_civil(y, m, d) * SECS_PER_DAY + (tod_ns / NANOS_PER_SEC) as i64;
    Ok(DateTime { unix_s: local - i64::from(offset_min) * 60, nanos: (tod_ns % NANOS_PER_SEC) as u32, offset_min })
}

/// A time of day on its own: `14:10`, `14:10:30`, `9:05:00.250`.
fn parse_time_of_day(s: &str) -> Result<u64, String> {
    if s.ends_with(['Z', 'z']) || s.contains('+') || s.char_indices().any(|(i, c)| i > 0 && c == '-') {
        return Err(format!(
            "`{s}`: a time of day is read in the start's offset; write it without a zone, or give a full date-time like 2024-06-01T{}",
            s.trim_end_matches(['Z', 'z'])
        ));
    }
    parse_clock_time(s, s)
}

/// `HH:MM[:SS[.fff]]` (the hour may have one digit) as nanoseconds after midnight.
fn parse_clock_time(time: &str, whole: &str) -> Result<u64, String> {
    let bad = || format!("`{whole}`: expected a time of day like 14:10 or 14:10:30");
    let (h_text, rest) = time.split_once(':').ok_or_else(bad)?;
    if h_text.is_empty() || h_text.len() > 2 || !h_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let h: u64 = h_text.parse().map_err(|_| bad())?;
    let (mm, rest) = digits(rest, 2).ok_or_else(bad)?;
    let (sec, nanos) = if rest.is_empty() {
        (0, 0)
    } else {
        let rest = rest.strip_prefix(':').ok_or_else(bad)?;
        let (sec, rest) = digits(rest, 2).ok_or_else(bad)?;
        let nanos = if rest.is_empty() {
            0
        } else {
            let frac = rest.strip_prefix('.').ok_or_else(bad)?;
            if frac.is_empty() || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("`{whole}`: the fraction of a second should have 1 to 9 digits"));
            }
            let padded = format!("{frac:0<9}");
            padded.parse::<u64>().map_err(|_| bad())?
        };
        (sec, nanos)
    };
    if h > 23 {
        return Err(format!("`{whole}`: the hour must be 00 to 23"));
    }
    if mm > 59 {
        return Err(format!("`{whole}`: the minutes must be 00 to 59"));
    }
    if sec > 59 {
        return Err(format!("`{whole}`: the seconds must be 00 to 59 (leap seconds are not supported)"));
    }
    Ok(((h * 60 + u64::from(mm)) * 60 + u64::from(sec)) * NANOS_PER_SEC + nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = NANOS_PER_SEC;

    fn clock(text: &str) -> WallClock {
        WallClock::parse_start(text).unwrap()
    }

    #[test]
    fn civil_days_match_known_dates_and_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2024, 6, 1) * SECS_PER_DAY, 1_717_200_000);
        for days in (-800_000..3_000_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m), "{days}: {y}-{m}-{d}");
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn leap_years_follow_the_gregorian_rules() {
        assert!(is_leap_year(2024) && is_leap_year(2000) && is_leap_year(1600));
        assert!(!is_leap_year(1900) && !is_leap_year(2023) && !is_leap_year(2100));
        assert!(WallClock::parse_start("2024-02-29T00:00:00Z").is_ok());
        assert!(WallClock::parse_start("2000-02-29T00:00:00Z").is_ok());
        let err = WallClock::parse_start("2023-02-29T00:00:00Z").unwrap_err();
        assert!(err.contains("February 2023 has 28 days"), "{err}");
        let err = WallClock::parse_start("1900-02-29T00:00:00Z").unwrap_err();
        assert!(err.contains("28 days"), "{err}");
        // The day after 28 February in a leap year is the 29th.
        let c = clock("2024-02-28T12:00:00Z");
        assert_eq!(c.format(24 * 3600 * S), "2024-02-29T12:00:00Z");
        assert_eq!(c.format(48 * 3600 * S), "2024-03-01T12:00:00Z");
    }

    #[test]
    fn start_parses_and_formats_back() {
        let c = clock("2024-06-01T14:00:00Z");
        assert_eq!(c.epoch_s(), 1_717_250_400);
        assert_eq!(c.offset_min(), 0);
        assert_eq!(c.format(0), "2024-06-01T14:00:00Z");
        assert_eq!(c.format(10 * 60 * S), "2024-06-01T14:10:00Z");
        assert_eq!(c.format(10 * 60 * S + 999_999_999), "2024-06-01T14:10:00Z");
        assert_eq!(c.format_short(10 * 60 * S + 30 * S), "14:10:30");
        for text in ["2023-03-01T10:00:00-08:00", "2024-12-31T23:59:59+05:30", "1999-01-01T00:00:00Z"] {
            assert_eq!(clock(text).format(0), text);
            assert_eq!(clock(text).to_string(), text);
        }
        assert_eq!(c.zone_name(), "UTC");
        assert_eq!(clock("2023-03-01T10:00:00-08:00").zone_name(), "UTC-08:00");
        assert_eq!(clock("2024-12-31T23:59:59+05:30").zone_name(), "UTC+05:30");
        assert_eq!(WallClock::from_parts(0, -330).zone_name(), "UTC-05:30");
        // Seconds are optional; `t`, `z` and a space separator are accepted.
        assert_eq!(clock("2024-06-01T14:00Z"), c);
        assert_eq!(clock("2024-06-01t14:00:00z"), c);
        assert_eq!(clock("2024-06-01 14:00:00Z"), c);
        // The same instant in another offset.
        let pdt = clock("2024-06-01T07:00:00-07:00");
        assert_eq!(pdt.epoch_s(), c.epoch_s());
        assert_eq!(pdt.format(0), "2024-06-01T07:00:00-07:00");
        assert_eq!(pdt.format_short(0), "07:00:00");
        assert_eq!(WallClock::from_parts(c.epoch_s(), 0), c);
    }

    #[test]
    fn offsets_carry_across_midnight_and_year_ends() {
        let c = clock("2023-03-01T10:00:00-08:00");
        assert_eq!(c.epoch_s(), days_from_civil(2023, 3, 1) * SECS_PER_DAY + 18 * 3600);
        assert_eq!(c.format(14 * 3600 * S), "2023-03-02T00:00:00-08:00");
        let c = clock("2024-12-31T23:30:00+05:30");
        assert_eq!(c.format(30 * 60 * S), "2025-01-01T00:00:00+05:30");
        assert_eq!(c.format_short(45 * 60 * S), "00:15:00");
    }

    #[test]
    fn bad_start_times_say_what_is_expected() {
        let cases = [
            ("2024-02-30T10:00:00Z", "February 2024 has 29 days"),
            ("2024-04-31T10:00:00Z", "April 2024 has 30 days"),
            ("2024-13-01T10:00:00Z", "month must be 01 to 12"),
            ("2024-06-01T25:00:00Z", "hour must be 00 to 23"),
            ("2024-06-01T14:60:00Z", "minutes must be 00 to 59"),
            ("2024-06-01T23:59:60Z", "leap seconds"),
            ("2024-06-01T14:00:00", "no UTC offset"),
            ("2024-06-01T14:00:00+2", "±HH:MM"),
            ("2024-06-01T14:00:00+24:00", "out of range"),
            ("2024-06-01", "no time"),
            ("2024-06-01T14:00:00.5Z", "whole second"),
            ("14:00", "not a start time"),
            ("10m", "not a start time"),
            ("2024-6-1T14:00:00Z", "RFC 3339"),
        ];
        for (text, want) in cases {
            let err = WallClock::parse_start(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn durations_times_of_day_and_datetimes_resolve() {
        let c = clock("2024-06-01T14:00:00Z");
        assert_eq!(c.resolve("10m").unwrap(), 600 * S);
        assert_eq!(c.resolve("0").unwrap(), 0);
        assert_eq!(c.resolve("14:10").unwrap(), 600 * S);
        assert_eq!(c.resolve("14:10:30").unwrap(), 630 * S);
        assert_eq!(c.resolve("14:10:30.25").unwrap(), 630 * S + 250_000_000);
        assert_eq!(c.resolve("14:00").unwrap(), 0);
        assert_eq!(c.resolve("2024-06-01T14:10:00Z").unwrap(), 600 * S);
        assert_eq!(c.resolve("2024-06-01T16:10:00+02:00").unwrap(), 600 * S);
        assert_eq!(c.resolve("2024-06-02T14:00:00.5Z").unwrap(), 86_400 * S + 500_000_000);
        for text in ["10m", "14:10:30", "2024-06-01T15:00:00Z"] {
            let ns = c.resolve(text).unwrap();
            assert_eq!(c.resolve(&c.format(ns)).unwrap(), ns, "{text}");
        }
    }

    #[test]
    fn times_of_day_wrap_to_the_next_day() {
        let c = clock("2024-06-01T20:00:00Z");
        assert_eq!(c.resolve("00:30").unwrap(), 4 * 3600 * S + 30 * 60 * S);
        assert_eq!(c.format(c.resolve("00:30").unwrap()), "2024-06-02T00:30:00Z");
        assert_eq!(c.resolve("19:59:59").unwrap(), (24 * 3600 - 1) * S);
        assert_eq!(c.resolve("20:00").unwrap(), 0);
        // Read in the start's offset, not UTC.
        let c = clock("2023-03-01T22:00:00-08:00");
        assert_eq!(c.resolve("23:15").unwrap(), 75 * 60 * S);
        assert_eq!(c.resolve("06:00").unwrap(), 8 * 3600 * S);
        assert_eq!(c.format(c.resolve("06:00").unwrap()), "2023-03-02T06:00:00-08:00");
    }

    #[test]
    fn bad_times_are_rejected_with_reasons() {
        let c = clock("2024-06-01T14:00:00Z");
        let err = c.resolve("2024-06-01T13:59:59Z").unwrap_err();
        assert!(err.contains("before the start") && err.contains("2024-06-01T14:00:00Z"), "{err}");
        let err = c.resolve("2024-06-01T15:00:00+02:00").unwrap_err();
        assert!(err.contains("before the start"), "{err}");
        assert!(c.resolve("25:00").unwrap_err().contains("hour must be 00 to 23"));
        assert!(c.resolve("14:7").unwrap_err().contains("time of day like 14:10"));
        assert!(c.resolve("14:10Z").unwrap_err().contains("without a zone"));
        assert!(c.resolve("2024-02-30T10:00:00Z").unwrap_err().contains("29 days"));
        assert!(c.resolve("9999-12-31T23:59:59Z").unwrap_err().contains("too far"));
        let err = c.resolve("ten minutes").unwrap_err();
        assert!(err.contains("time of day like 14:10"), "{err}");
        assert!(c.resolve("").is_err());
        for odd in ["é:00", "14:é0", "2024-06-01Té", "2024-06-01T14:00:00+é", "1é:00:00"] {
            assert!(c.resolve(odd).is_err(), "{odd}");
        }
    }

    #[test]
    fn without_a_clock_only_offsets_resolve() {
        let t = TimeSpec::parse("90s").unwrap();
        assert!(t.is_offset());
        assert_eq!(t.resolve(None).unwrap(), 90 * S);
        for text in ["14:10", "2024-06-01T14:10:00Z"] {
            let t = TimeSpec::parse(text).unwrap();
            assert_eq!(t.text(), text);
            let err = t.resolve(None).unwrap_err();
            assert!(err.contains("set `start:` to use wall-clock times"), "{err}");
        }
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        start: Option<serde_saphyr::Spanned<WallClock>>,
        at: Vec<serde_saphyr::Spanned<TimeSpec>>,
    }

    #[test]
    fn deserialises_from_plain_and_quoted_yaml() {
        let yaml = "start: 2024-06-01T20:00:00Z\nat: [10m, 0, \"00:30\", 21:15, 2024-06-01T21:00:00Z, '20:00:05']\n";
        let doc: Doc = serde_saphyr::from_str(yaml).unwrap();
        let c = doc.start.unwrap().value;
        assert_eq!(c.format(0), "2024-06-01T20:00:00Z");
        let got: Vec<u64> = doc.at.iter().map(|t| t.value.resolve(Some(&c)).unwrap() / S).collect();
        assert_eq!(got, [600, 0, 16_200, 4_500, 3_600, 5]);
        assert_eq!(doc.at[3].value.text(), "21:15");
        assert_eq!(doc.at[1].referenced.line(), 2);

        let err = serde_saphyr::from_str::<Doc>("at: [\"25:00\"]\n").unwrap_err().to_string();
        assert!(err.contains("hour must be 00 to 23"), "{err}");
        let err = serde_saphyr::from_str::<Doc>("start: 2024-02-30T10:00:00Z\nat: []\n").unwrap_err().to_string();
        assert!(err.contains("29 days"), "{err}");
        let err = serde_saphyr::from_str::<Doc>("at: [15]\n").unwrap_err().to_string();
        assert!(err.contains("no unit"), "{err}");
    }
}
