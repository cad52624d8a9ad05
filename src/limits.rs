//! Limits: every bound lbsim puts on the size of what a scenario asks for,
//! in one place. Each [`Limit`] has a name, a documented default, and a way
//! to raise it: the scenario field `limits: {<name>: N}` (so also
//! `--set limits.<name>=N` on any command); the limits that bound how big a
//! run is (rather than what may be declared) are also lifted whole by
//! `--allow-large-run`. The compiler checks each one from the scenario's
//! text, arithmetically, before anything of that size is allocated, and a
//! refusal ([`Exceeded`]) says which limit, the value, and how to raise it.
//!
//! To add a limit: a variant of [`Limit`] with its name, default, unit and
//! description here, the check where its value is known, and its row in the
//! README's "Limits" table.

use crate::units::thousands;

/// One limit.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Limit {
    /// Servers, balancers, client groups, client subnets, routers and
    /// switches, summed over the whole scenario after every pattern is
    /// expanded (counted, not expanded).
    Entities,
    /// Names one `{..}` pattern may stand for, anywhere: a key under
    /// `servers:` or a reference (`backends`, timeline targets, links).
    PatternNames,
    /// Bytes of `timeseries.csv` a run may write (intervals x entities x
    /// metrics, each row at its estimated length).
    SeriesBytes,
    /// Requests a run is expected to generate: each open-loop group's rate
    /// profile over the run (or the `requests:` budget, if smaller), summed.
    Requests,
    /// Entries in the timeline.
    TimelineEntries,
    /// Bytes of a file a scenario names and lbsim reads whole (`empirical`
    /// samples).
    FileBytes,
    /// Requests in memory at once (calls and their attempts in flight): the
    /// memory guard. A run that gets there stops, its reports marked
    /// incomplete, exit status 2.
    InFlight,
    /// Events handled at one instant of simulated time: the zero-time
    /// detector. A run whose clock stops advancing stops there.
    InstantEvents,
}

impl Limit {
    pub const ALL: [Limit; 8] = [
        Limit::Entities,
        Limit::PatternNames,
        Limit::SeriesBytes,
        Limit::Requests,
        Limit::TimelineEntries,
        Limit::FileBytes,
        Limit::InFlight,
        Limit::InstantEvents,
    ];

    /// The name in `limits:` and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Limit::Entities => "entities",
            Limit::PatternNames => "pattern_names",
            Limit::SeriesBytes => "series_bytes",
            Limit::Requests => "requests",
            Limit::TimelineEntries => "timeline_entries",
            Limit::FileBytes => "file_bytes",
            Limit::InFlight => "in_flight",
            Limit::InstantEvents => "instant_events",
        }
    }

    /// The value when the scenario does not set it.
    pub fn default_value(self) -> u64 {
        match self {
            Limit::Entities => 2_000_000,
            Limit::PatternNames => 2_000_000,
            Limit::SeriesBytes => 1 << 30,
            // About half an hour of simulation at this machine's speed.
            Limit::Requests => 10_000_000_000,
            Limit::TimelineEntries => 100_000,
            Limit::FileBytes => 256 << 20,
            // Calls and attempts: measured at about 55 bytes each all told
            // (slab slots, timers, queue entries), so about 550 MB.
            Limit::InFlight => 10_000_000,
            Limit::InstantEvents => 10_000_000,
        }
    }

    /// What the value counts.
    pub fn unit(self) -> &'static str {
        match self {
            Limit::Entities => "entities",
            Limit::PatternNames => "names",
            Limit::SeriesBytes | Limit::FileBytes => "bytes",
            Limit::Requests | Limit::InFlight => "requests",
            Limit::TimelineEntries => "entries",
            Limit::InstantEvents => "events",
        }
    }

    /// Whether `--allow-large-run` lifts it: it bounds how much a run does
    /// or writes, not what a scenario may declare.
    pub fn large_run(self) -> bool {
        matches!(self, Limit::SeriesBytes | Limit::Requests)
    }

    pub fn parse(name: &str) -> Option<Limit> {
        Limit::ALL.into_iter().find(|l| l.name() == name)
    }

    /// The names, for "expected one of" messages.
    pub fn names() -> String {
        let mut v: Vec<&str> = Limit::ALL.iter().map(|l| l.name()).collect();
        v.push(ALLOW_LARGE_RUN);
        v.join(", ")
    }
}

/// The `limits:` key that `--allow-large-run` sets.
pub const ALLOW_LARGE_RUN: &str = "allow_large_run";

/// The limits in force for one scenario.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    values: [u64; Limit::ALL.len()],
    /// `--allow-large-run` (or `limits: {allow_large_run: true}`).
    pub allow_large_run: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { values: Limit::ALL.map(Limit::default_value), allow_large_run: false }
    }
}

impl Limits {
    /// The value in force: unbounded for a large-run limit under `--allow-large-run`.
    pub fn get(&self, limit: Limit) -> u64 {
        if self.allow_large_run && limit.large_run() { u64::MAX } else { self.values[limit as usize] }
    }

    pub fn set(&mut self, limit: Limit, value: u64) {
        self.values[limit as usize] = value;
    }

    /// `Ok` when `value` is within `limit`.
    pub fn check(&self, limit: Limit, value: u64) -> Result<(), Exceeded> {
        let max = self.get(limit);
        if value <= max { Ok(()) } else { Err(Exceeded { limit, value, max }) }
    }
}

/// A value over its limit.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Exceeded {
    pub limit: Limit,
    pub value: u64,
    pub max: u64,
}

impl Exceeded {
    /// "more than the limit `entities` of 2,000,000": to follow a sentence
    /// that states the value.
    pub fn over(&self) -> String {
        format!("more than the `{}` limit of {} {}", self.limit.name(), thousands(self.max), self.limit.unit())
    }

    /// How to raise it, to the value asked for.
    pub fn help(&self) -> String {
        let name = self.limit.name();
        let v = self.value;
        let mut text = format!("raise it with `limits: {{{name}: {v}}}` in the scenario, or `--set limits.{name}={v}`");
        if self.limit.large_run() {
            text.push_str(", or run with --allow-large-run");
        }
        text
    }
}

/// A size in bytes with a binary unit: `1.5 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    let digits = if v < 10.0 { 1 } else { 0 };
    format!("{v:.digits$} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_have_names_defaults_and_say_how_to_raise_them() {
        let mut l = Limits::default();
        assert_eq!(l.get(Limit::Entities), 2_000_000);
        assert!(l.check(Limit::Entities, 2_000_000).is_ok());
        let e = l.check(Limit::Entities, 2_000_001).unwrap_err();
        assert_eq!(e.over(), "more than the `entities` limit of 2,000,000 entities");
        assert_eq!(
            e.help(),
            "raise it with `limits: {entities: 2000001}` in the scenario, or `--set limits.entities=2000001`"
        );
        l.set(Limit::Entities, 3_000_000);
        assert!(l.check(Limit::Entities, 2_000_001).is_ok());
        for limit in Limit::ALL {
            assert_eq!(Limit::parse(limit.name()), Some(limit));
        }
        assert_eq!(Limit::parse("servers"), None);
    }

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(human_bytes(512), "512 bytes");
        assert_eq!(human_bytes(1 << 30), "1.0 GiB");
        assert_eq!(human_bytes(3 * (1 << 40) + (1 << 39)), "3.5 TiB");
        assert_eq!(human_bytes(700 << 20), "700 MiB");
    }

    #[test]
    fn allow_large_run_lifts_only_the_run_size_limits() {
        let mut l = Limits::default();
        let e = l.check(Limit::SeriesBytes, 2 << 30).unwrap_err();
        assert!(e.help().ends_with("or run with --allow-large-run"), "{}", e.help());
        l.allow_large_run = true;
        assert!(l.check(Limit::SeriesBytes, u64::MAX).is_ok());
        assert!(l.check(Limit::Entities, 2_000_001).is_err());
    }
}
