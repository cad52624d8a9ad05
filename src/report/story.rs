//! What `report.html` and `report.md` both tell, derived once: the run's
//! timeline merged from the event log (with repeated crashes, flaps and
//! alerts folded into one row each, so a two-hour crash loop is one line,
//! not a hundred and fifty), the change the scenario injected, users by
//! category, and times, durations and shares written for people.

use std::collections::{HashMap, HashSet};

use super::Summary;
use super::summary::{self as summary_mod, UsersSummary};
use super::words::EventWords;
use crate::clock::WallClock;
use crate::metrics::{EventKind, EventTag, LoggedEvent, Subject};
use crate::model::timeline;
use crate::sim::RunResult;
use crate::time::{NANOS_PER_SEC, secs_to_nanos, spoken};

/// More events than this of one family on one entity are folded into a row.
const FOLD_ABOVE: usize = 3;

/// Timeline rows a report shows before the rest (`report.html` tucks them
/// into a `<details>`, `report.md` leaves them to `events.csv`).
pub const ROWS_SHOWN: usize = 150;

/// A share (0 to 1) as a percentage with one decimal: `75.8%`.
pub fn pct(fraction: f64) -> String {
    pct100(fraction * 100.0)
}

/// A value already in percent (the users' `*_pct` fields): `57.7%`. Shares
/// that one decimal would round to 0% or 100% say they are not quite.
pub fn pct100(value: f64) -> String {
    if value > 0.0 && value < 0.05 {
        "<0.1%".to_string()
    } else if (99.95..100.0).contains(&value) {
        ">99.9%".to_string()
    } else {
        format!("{value:.1}%")
    }
}

/// How often: `once`, `twice`, `5 times`.
pub fn times_word(n: usize) -> String {
    match n {
        1 => "once".to_string(),
        2 => "twice".to_string(),
        _ => format!("{n} times"),
    }
}

/// `10 s after the fix`, or `as the fix took effect` when recovery was immediate.
pub fn after_fix(recover_s: f64) -> String {
    if recover_s > 0.0 { format!("{} after the fix", spoken(recover_s)) } else { "as the fix took effect".to_string() }
}

/// Times of a run as people read them: the wall-clock time of day where the
/// scenario has a `start`, else the time elapsed since the start.
#[derive(Clone, Copy, Debug)]
pub struct Times<'a> {
    pub clock: Option<&'a WallClock>,
}

impl Times<'_> {
    /// `14:05:43` with a clock, `+0:35:43` without.
    pub fn at(&self, ns: u64) -> String {
        self.clock.map_or_else(|| elapsed(ns), |c| c.format_short(ns))
    }

    /// `2024-06-01 14:05 UTC` with a clock (the date, for durations that may
    /// cross midnight), `+0:35:43` without.
    pub fn at_dated(&self, ns: u64) -> String {
        match self.clock {
            Some(c) => {
                let full = c.format(ns);
                format!("{} {} {}", &full[..10], &c.format_short(ns)[..5], c.zone_name())
            }
            None => elapsed(ns),
        }
    }

    /// ` (UTC)` after headings of wall-clock times; empty without a clock.
    pub fn zone_note(&self) -> String {
        self.clock.map(|c| format!(" ({})", c.zone_name())).unwrap_or_default()
    }

    /// `at` for a time in seconds, as the summary holds them.
    pub fn at_s(&self, secs: f64) -> String {
        self.at(secs_to_nanos(secs))
    }
}

/// Time since the start as `+H:MM:SS`.
pub fn elapsed(ns: u64) -> String {
    let s = ns / NANOS_PER_SEC;
    format!("+{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// One category of users, for bars and sentences.
#[derive(Clone, Copy, Debug)]
pub struct Category {
    /// Short name, also the CSS class suffix.
    pub key: &'static str,
    pub label: &'static str,
    pub count: u64,
    pub pct: f64,
}

/// The four categories every active user falls in (pending users aside).
pub fn categories(u: &UsersSummary) -> [Category; 4] {
    let c = |key, label, count, pct| Category { key, label, count, pct };
    [
        c("unable", "could not use the service", u.unable, u.unable_pct),
        c("failed", "failed at times", u.failed_some, u.failed_some_pct),
        c("slowed", "slowed", u.slowed, u.slowed_pct),
        c("normal", "served normally", u.served_normally, u.served_normally_pct),
    ]
}

/// What a timeline row is about, for its styling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowKind {
    Change,
    Blocked,
    Note,
    /// Crashes, restarts, balancers down: the system failing.
    Failure,
    /// Health checks, ejections, panic mode: the system defending itself.
    Defence,
    Alert,
    /// The impact window's edges.
    Impact,
}

/// What a row stands for in the incident's story.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Plain,
    /// The change behind the incident (see `root_cause`).
    RootCause,
    /// The first alert after the change.
    Detection,
    Fix,
    ImpactStart,
    Recovered,
}

/// One row of the merged timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct StoryRow {
    pub time_ns: u64,
    /// `change applied`, `crashed 49 times`, `alert fired`, ...
    pub label: String,
    /// `balancer lb`, `server web-01`, ... (empty for notes and the impact).
    pub entity: String,
    pub detail: String,
    pub kind: RowKind,
    pub role: Role,
}

/// A change from the timeline (not a note, not a revert), as run.
#[derive(Clone, Debug)]
pub struct Injected {
    /// Its index in the timeline.
    pub index: usize,
    pub at_ns: u64,
    /// Its name, else what it changes.
    pub label: String,
    pub target: String,
    pub what: String,
    pub note: Option<String>,
}

/// What both reports tell of one run, derived once: `report.html` and
/// `report.md` are rendered from the same value.
pub struct Story<'a> {
    /// The run told: its world (the mitigations in place) and its event log.
    pub run: &'a RunResult,
    pub times: Times<'a>,
    /// The merged timeline: changes, notes, crashes, health and alerts,
    /// folded, with the root cause, detection and fix marked and the
    /// impact's edges added.
    pub rows: Vec<StoryRow>,
    /// The change behind the incident (see `root_cause`).
    pub root: Option<Injected>,
    /// The first change applied; with no root cause, the incident was averted.
    pub first_applied: Option<Injected>,
    /// The first change validation blocked.
    pub first_blocked: Option<Injected>,
}

impl<'a> Story<'a> {
    pub fn build(summary: &Summary, result: &'a RunResult) -> Story<'a> {
        let first_applied = first_injected(summary, result, true);
        let first_blocked = first_injected(summary, result, false);
        let root = root_cause(summary, first_applied.as_ref(), first_blocked.as_ref());
        let times = Times { clock: result.world.clock.as_ref() };
        let rows = timeline(summary, result, root.as_ref(), &times, &EventWords::of(result));
        Story { run: result, times, rows, root, first_applied, first_blocked }
    }
}

/// The first change that was applied (`applied`) or blocked by validation.
fn first_injected(summary: &Summary, result: &RunResult, applied: bool) -> Option<Injected> {
    let tl = &result.world.timeline;
    let index = timeline::first_change(tl, |i| summary.timeline[i].applied == applied)?;
    let item = &summary.timeline[index];
    Some(Injected {
        index,
        at_ns: tl[index].at,
        label: item.name.clone().unwrap_or_else(|| item.change.clone()),
        target: item.target.clone(),
        what: item.change.clone(),
        note: item.note.clone(),
    })
}

/// The change behind the incident: the first one applied, unless
/// validation blocked an earlier one and the service then stayed within its
/// objectives (the incident was averted: what came later did no harm).
fn root_cause(summary: &Summary, applied: Option<&Injected>, blocked: Option<&Injected>) -> Option<Injected> {
    let applied = applied?;
    let averted = summary.impact.window.is_none() && !summary.slos.is_empty();
    match blocked {
        Some(b) if b.at_ns <= applied.at_ns && averted => None,
        _ => Some(applied.clone()),
    }
}

/// The run's timeline (see [`Story::rows`]).
fn timeline(
    summary: &Summary,
    result: &RunResult,
    root: Option<&Injected>,
    times: &Times,
    words: &EventWords,
) -> Vec<StoryRow> {
    let events: Vec<&LoggedEvent> = result
        .recorder
        .events
        .events
        .iter()
        .filter(|e| !matches!(e.tag(), EventTag::SloBreachStart | EventTag::SloBreachEnd))
        .collect();
    let roles = roles(result, root, &events);
    let mut rows = fold(&events, &roles, times, words);
    rows.extend(impact_rows(summary));
    // Stable: at equal times the impact's edges follow the events that caused them.
    rows.sort_by_key(|r| r.time_ns);
    rows
}

/// The role of each event (by position in `events`).
fn roles(result: &RunResult, root: Option<&Injected>, events: &[&LoggedEvent]) -> Vec<Role> {
    let mut roles = vec![Role::Plain; events.len()];
    let mut mark = |role: Role, found: Option<usize>| {
        if let Some(i) = found {
            roles[i] = role;
        }
    };
    let find = |ns: u64, is: &dyn Fn(&EventKind) -> bool| events.iter().position(|e| e.time_ns == ns && is(&e.kind));
    if let Some(root) = root {
        let applied = |k: &EventKind| matches!(k, EventKind::ChangeApplied { change } if *change == root.index);
        mark(Role::RootCause, find(root.at_ns, &applied));
    }
    let moments = summary_mod::moments(result);
    if let Some(alert) = moments.detection {
        let fired = |k: &EventKind| matches!(k, EventKind::AlertFiring(a) if a.rule == alert.rule);
        mark(Role::Detection, find(alert.fired_ns, &fired));
    }
    // A fix of nothing (the change was blocked) is no part of the story.
    if let (Some(at), true) = (moments.fix_ns, root.is_some()) {
        let change = |k: &EventKind| matches!(k.tag(), EventTag::ChangeReverted | EventTag::ChangeApplied);
        mark(Role::Fix, find(at, &change));
    }
    roles
}

/// Events that come and go in pairs; more than [`FOLD_ABOVE`] of one family
/// on one entity become a single row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Family {
    Crash,
    Health,
    Ejection,
    Panic,
    BalancerOutage,
    Alert,
}

impl Family {
    fn of(kind: EventTag) -> Option<Family> {
        use EventTag as K;
        Some(match kind {
            K::ServerCrashed | K::ServerRestarting | K::ServerUp => Family::Crash,
            K::BackendUnhealthy | K::BackendHealthy => Family::Health,
            K::BackendEjected | K::BackendReturned => Family::Ejection,
            K::PanicModeOn | K::PanicModeOff => Family::Panic,
            K::BalancerDown | K::BalancerUp => Family::BalancerOutage,
            K::AlertFiring | K::AlertResolved => Family::Alert,
            _ => return None,
        })
    }

    /// The event that starts an episode, and the one that ends it.
    fn edges(self) -> (EventTag, EventTag) {
        use EventTag as K;
        match self {
            Family::Crash => (K::ServerCrashed, K::ServerUp),
            Family::Health => (K::BackendUnhealthy, K::BackendHealthy),
            Family::Ejection => (K::BackendEjected, K::BackendReturned),
            Family::Panic => (K::PanicModeOn, K::PanicModeOff),
            Family::BalancerOutage => (K::BalancerDown, K::BalancerUp),
            Family::Alert => (K::AlertFiring, K::AlertResolved),
        }
    }

    /// `crashed`, in "crashed 49 times"; and what the last end means.
    fn words(self) -> (&'static str, &'static str) {
        match self {
            Family::Crash => ("crashed", "last back up"),
            Family::Health => ("marked unhealthy", "last healthy again"),
            Family::Ejection => ("ejected", "last returned"),
            Family::Panic => ("in panic mode", "last out of it"),
            Family::BalancerOutage => ("down", "last back"),
            Family::Alert => ("fired", "last resolved"),
        }
    }
}

/// The rows of the events, folding long runs of one family on one entity.
///
/// A day-long crash loop over hundreds of servers logs hundreds of thousands
/// of events, so the groups are found in one pass, not by a scan per event.
fn fold(events: &[&LoggedEvent], roles: &[Role], times: &Times, words: &EventWords) -> Vec<StoryRow> {
    type Key = (Family, Subject);
    let key = |i: usize| Family::of(events[i].tag()).map(|f| (f, events[i].subject()));
    // The foldable events of each family on each entity, in log order; and
    // which of those also have an event marked for the story (shown apart).
    let mut groups: HashMap<Key, Vec<usize>> = HashMap::new();
    let mut shown_apart: HashSet<Key> = HashSet::new();
    for (i, &role) in roles.iter().enumerate() {
        match (key(i), role) {
            (Some(k), Role::Plain) => groups.entry(k).or_default().push(i),
            (Some(k), _) => {
                shown_apart.insert(k);
            }
            (None, _) => {}
        }
    }
    // Only groups with more than FOLD_ABOVE episodes fold: keep those, with their count.
    let folding: HashMap<Key, (Vec<usize>, usize)> = groups
        .into_iter()
        .map(|(k, group)| {
            let starts = group.iter().filter(|&&j| events[j].tag() == k.0.edges().0).count();
            (k, (group, starts))
        })
        .filter(|(_, (_, starts))| *starts > FOLD_ABOVE)
        .collect();
    let mut rows = Vec::new();
    for (i, &e) in events.iter().enumerate() {
        if let (Some(k), Role::Plain) = (key(i), roles[i])
            && let Some((group, starts)) = folding.get(&k)
        {
            // The whole group is one row, where its first event stands.
            if group[0] == i {
                rows.push(folded(k.0, group, events, *starts, shown_apart.contains(&k), times, words));
            }
            continue;
        }
        if !echoes_a_crash(events, i) {
            rows.push(single(e, roles[i], words));
        }
    }
    rows
}

/// A crash logs "restarting" at the same instant: one row says both.
fn echoes_a_crash(events: &[&LoggedEvent], i: usize) -> bool {
    let e = events[i];
    i > 0
        && e.tag() == EventTag::ServerRestarting
        && events[i - 1].tag() == EventTag::ServerCrashed
        && (events[i - 1].time_ns, events[i - 1].subject()) == (e.time_ns, e.subject())
}

fn folded(
    family: Family,
    group: &[usize],
    events: &[&LoggedEvent],
    starts: usize,
    more: bool,
    times: &Times,
    words: &EventWords,
) -> StoryRow {
    let (start_kind, end_kind) = family.edges();
    let first = group.iter().map(|&j| events[j]).find(|e| e.tag() == start_kind).expect("counted");
    let last = group.iter().map(|&j| events[j]).rfind(|e| e.tag() == start_kind).expect("counted");
    let (verb, end_words) = family.words();
    let mut detail =
        format!("between {} and {}; first: {}", times.at(first.time_ns), times.at(last.time_ns), words.detail(first));
    match group.iter().map(|&j| events[j]).rfind(|e| e.tag() == end_kind) {
        Some(end) if end.time_ns >= last.time_ns => detail += &format!("; {end_words} at {}", times.at(end.time_ns)),
        _ => detail += "; not over at the end of the run",
    }
    let more = if more { " more" } else { "" };
    StoryRow {
        time_ns: first.time_ns,
        label: format!("{verb} {starts}{more} times"),
        entity: words.subject(first.subject()),
        detail,
        kind: kind_of(first.tag()),
        role: Role::Plain,
    }
}

fn single(e: &LoggedEvent, role: Role, words: &EventWords) -> StoryRow {
    let note = e.tag() == EventTag::Note;
    StoryRow {
        time_ns: e.time_ns,
        label: label_of(e.tag()).to_string(),
        entity: if note { String::new() } else { words.subject(e.subject()) },
        detail: words.detail_noted(e),
        kind: kind_of(e.tag()),
        role,
    }
}

fn label_of(kind: EventTag) -> &'static str {
    use EventTag as K;
    match kind {
        K::Note => "note",
        K::ChangeApplied => "change applied",
        K::ChangeReverted => "change reverted",
        K::ChangeBlocked => "change blocked",
        K::ServerCrashed => "crashed",
        K::ServerRestarting => "restarting",
        K::ServerUp => "back up",
        K::BalancerDown => "balancer down",
        K::BalancerUp => "balancer up",
        K::BackendUnhealthy => "marked unhealthy",
        K::BackendHealthy => "healthy again",
        K::BackendEjected => "ejected",
        K::BackendReturned => "returned from ejection",
        K::PanicModeOn => "panic mode on",
        K::PanicModeOff => "panic mode off",
        K::AlertFiring => "alert fired",
        K::AlertResolved => "alert resolved",
        K::SloBreachStart => "outside the SLOs",
        K::SloBreachEnd => "within the SLOs",
    }
}

fn kind_of(kind: EventTag) -> RowKind {
    use EventTag as K;
    match kind {
        K::Note => RowKind::Note,
        K::ChangeApplied | K::ChangeReverted => RowKind::Change,
        K::ChangeBlocked => RowKind::Blocked,
        K::ServerCrashed | K::ServerRestarting | K::ServerUp | K::BalancerDown | K::BalancerUp => RowKind::Failure,
        K::BackendUnhealthy | K::BackendHealthy | K::BackendEjected | K::BackendReturned => RowKind::Defence,
        K::PanicModeOn | K::PanicModeOff => RowKind::Defence,
        K::AlertFiring | K::AlertResolved => RowKind::Alert,
        K::SloBreachStart | K::SloBreachEnd => RowKind::Impact,
    }
}

/// The impact window's start and end as rows.
fn impact_rows(summary: &Summary) -> Vec<StoryRow> {
    let Some(w) = &summary.impact.window else { return Vec::new() };
    let row = |secs: f64, label: &str, detail: String, role| StoryRow {
        time_ns: secs_to_nanos(secs),
        label: label.to_string(),
        entity: String::new(),
        detail,
        kind: RowKind::Impact,
        role,
    };
    let after_fix = match summary.impact.time_to_recover_s {
        Some(t) => format!(", {}", after_fix(t)),
        None => String::new(),
    };
    vec![
        row(w.from_s, "impact begins", "the first interval outside the SLOs".to_string(), Role::ImpactStart),
        row(
            w.until_s,
            "recovered",
            format!("every interval-judged SLO met again{after_fix}; impact {}", spoken(w.duration_s)),
            Role::Recovered,
        ),
    ]
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Small runs for the report tests: an incident with a crash loop, a
    //! blocked change, health checks, retries and alerts; and a steady state.

    use crate::report::{RunContext, Summary};
    use crate::sim::RunResult;

    /// `validation` blocks `pin-web-01`; `skew` then sends most traffic to
    /// web-01, which crash-loops until the fix.
    pub(crate) const INCIDENT: &str = r#"
name: fixture-incident
description: "A <b>test</b> & 'quotes' for the report"
seed: 5
start: 2024-06-01T13:30:00Z
duration: 40m
interval: 10s
slow_threshold: 500ms
clients:
  visitors: {target: lb, rate: 400/s, users: 20000, timeout: 5s, retry: {attempts: 2}}
balancers:
  lb:
    backends: ["web-*"]
    health_check: {interval: 5s}
    validation: {min_backends: 2}
servers:
  web-{01..04}:
    workers: 4
    queue_limit: 50
    service: {exponential: 20ms}
    crash: {queue_full: true, for: 10s}
    restart_time: 30s
timeline:
  - {name: pin-web-01, at: "13:38", balancer: lb, backends: [web-01], note: "pin <everything> on web-01"}
  - {name: skew, at: "13:40", balancer: lb, weights: {web-01: 60}, note: weights changed by hand}
  - {at: "13:45", note: "on-call paged & investigating"}
  - {at: "14:00", revert: skew, fix: true, note: weights restored}
alerts:
  - {name: errors, metric: error_rate, above: 5%, for: 30s}
  - {name: never, metric: latency_p99_ms, above: 60s}
slos:
  - {name: availability, objective: "availability >= 99.9%"}
  - {name: users, objective: "users_affected < 1%", window: incident}
"#;

    /// No timeline: the steady state of a small healthy tier.
    pub(crate) const STEADY: &str = r#"
name: fixture-steady
seed: 9
duration: 5m
warmup: 30s
clients:
  web: {target: edge, rate: 200/s, users: 5000, timeout: 2s}
balancers:
  edge: {algorithm: least_connections, backends: ["app-*"]}
servers:
  app-{1..3}: {workers: 4, queue_limit: 100, service: {exponential: 20ms}}
slos:
  - {name: latency, objective: "p99 < 1s"}
"#;

    pub(crate) fn run(text: &str) -> (Summary, RunResult) {
        let world = crate::model::load_str("fixture.yaml", text).unwrap_or_else(|e| panic!("{e}"));
        let result = crate::sim::run_quiet(world);
        let ctx = RunContext { file: "fixture.yaml".into(), overrides: vec!["seed=5".into()], reproducible: true };
        (Summary::build(&result, &ctx), result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_shares_read_like_a_person_wrote_them() {
        assert_eq!(spoken(9000.0), "2 h 30 min");
        assert_eq!(spoken(7330.0), "2 h 2 min");
        assert_eq!(spoken(7200.0), "2 h");
        assert_eq!(spoken(70.0), "1 min 10 s");
        assert_eq!(spoken(60.0), "1 min");
        assert_eq!(spoken(59.7), "1 min");
        assert_eq!(spoken(45.0), "45 s");
        assert_eq!(spoken(2.5), "2.5 s");
        assert_eq!(spoken(0.25), "250 ms");
        assert_eq!(spoken(0.0), "0 s");
        assert_eq!(pct(0.758), "75.8%");
        assert_eq!(pct100(57.72), "57.7%");
        assert_eq!([pct(0.0), pct(0.0002), pct(0.9997), pct(1.0)], ["0.0%", "<0.1%", ">99.9%", "100.0%"]);
        assert_eq!(elapsed(3_723 * NANOS_PER_SEC), "+1:02:03");
        assert_eq!([after_fix(10.0), after_fix(0.0)], ["10 s after the fix", "as the fix took effect"]);
        assert_eq!([times_word(1), times_word(2), times_word(7)], ["once", "twice", "7 times"]);
    }

    #[test]
    fn times_are_wall_clock_with_a_start_and_elapsed_without() {
        let utc = WallClock::parse_start("2024-06-12T23:30:00Z").unwrap();
        let pst = WallClock::parse_start("2023-03-01T09:30:00-08:00").unwrap();
        let hour = 3600 * NANOS_PER_SEC;
        assert_eq!(Times { clock: Some(&utc) }.at(hour), "00:30:00");
        assert_eq!(Times { clock: Some(&utc) }.at_dated(hour), "2024-06-13 00:30 UTC");
        assert_eq!(Times { clock: Some(&pst) }.at_dated(0), "2023-03-01 09:30 UTC-08:00");
        assert_eq!(Times { clock: None }.at(hour), "+1:00:00");
        assert_eq!(Times { clock: None }.zone_note(), "");
    }

    /// `fold` as it was before it grouped in one pass (a scan per event):
    /// the reference the single pass must agree with.
    fn fold_by_scanning(events: &[&LoggedEvent], roles: &[Role], times: &Times, words: &EventWords) -> Vec<StoryRow> {
        let foldable = |i: usize| roles[i] == Role::Plain && Family::of(events[i].tag()).is_some();
        let key = |i: usize| (Family::of(events[i].tag()), events[i].subject());
        let mut rows = Vec::new();
        let mut done = vec![false; events.len()];
        for i in 0..events.len() {
            if done[i] {
                continue;
            }
            let e = events[i];
            if foldable(i) {
                let family = Family::of(e.tag()).expect("foldable");
                let group: Vec<usize> = (i..events.len()).filter(|&j| foldable(j) && key(j) == key(i)).collect();
                let starts = group.iter().filter(|&&j| events[j].tag() == family.edges().0).count();
                if starts > FOLD_ABOVE {
                    let shown_apart = (0..events.len()).any(|j| !foldable(j) && key(j) == key(i));
                    rows.push(folded(family, &group, events, starts, shown_apart, times, words));
                    group.iter().for_each(|&j| done[j] = true);
                    continue;
                }
            }
            if !echoes_a_crash(events, i) {
                rows.push(single(e, roles[i], words));
            }
        }
        rows
    }

    fn event(time_s: u64, kind: EventKind) -> LoggedEvent {
        LoggedEvent { time_ns: time_s * NANOS_PER_SEC, kind }
    }

    /// An event of kind `tag` about server `n` (or the fixture's balancer,
    /// alert rule `n % 2`, timeline entry `n % 2`, its note).
    fn typed(tag: EventTag, n: u32) -> EventKind {
        use crate::metrics::{AlertChange, CrashCause};
        use EventKind as E;
        use EventTag as K;
        let (server, balancer) = (crate::model::ServerId::from_index(n as usize), 0);
        let alert =
            AlertChange { rule: n as usize % 2, on: None, value: 1.0, threshold: 0.5, since_ns: 0, fired_ns: 0 };
        match tag {
            K::ServerCrashed => E::ServerCrashed { server, cause: CrashCause::Overwhelmed, lost: 3 },
            K::ServerRestarting => E::ServerRestarting { server, cause: CrashCause::Overwhelmed, up_at_ns: 0 },
            K::ServerUp => E::ServerUp { server },
            K::BackendUnhealthy => E::BackendUnhealthy { server, balancer },
            K::BackendHealthy => E::BackendHealthy { server, balancer },
            K::BackendEjected => E::BackendEjected { server, balancer, for_ns: 30 * NANOS_PER_SEC },
            K::BackendReturned => E::BackendReturned { server, balancer },
            K::PanicModeOn => E::PanicModeOn { balancer },
            K::PanicModeOff => E::PanicModeOff { balancer },
            K::BalancerDown => E::BalancerDown { balancer, cut: 2 },
            K::BalancerUp => E::BalancerUp { balancer },
            K::AlertFiring => E::AlertFiring(alert),
            K::AlertResolved => E::AlertResolved(alert),
            K::ChangeApplied => E::ChangeApplied { change: n as usize % 2 },
            K::Note => E::Note { change: 2 },
            other => unreachable!("not drawn: {other:?}"),
        }
    }

    #[test]
    fn folding_in_one_pass_agrees_with_the_scan_it_replaced() {
        use EventTag as K;
        let (_, run) = fixtures::run(fixtures::INCIDENT);
        let words = EventWords::of(&run);
        let kinds = [
            K::ServerCrashed,
            K::ServerRestarting,
            K::ServerUp,
            K::BackendUnhealthy,
            K::BackendHealthy,
            K::BackendEjected,
            K::BackendReturned,
            K::PanicModeOn,
            K::PanicModeOff,
            K::BalancerDown,
            K::BalancerUp,
            K::AlertFiring,
            K::AlertResolved,
            K::ChangeApplied,
            K::Note,
        ];
        let roles_drawn = [Role::Plain, Role::Plain, Role::Plain, Role::Plain, Role::Detection, Role::Fix];
        // A small linear congruential generator: the same mixed logs every run.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut draw = |n: usize| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize % n
        };
        let times = Times { clock: None };
        let (mut folded_rows, mut shown_apart) = (0, 0);
        for _ in 0..20 {
            let mut log = Vec::new();
            for t in 0..600 {
                // Crashes often echo a restart at the same instant, as the simulation logs them.
                let (kind, n) = (kinds[draw(kinds.len())], draw(4) as u32);
                log.push(event(t / 2, typed(kind, n)));
                if kind == K::ServerCrashed && draw(2) == 0 {
                    log.push(event(t / 2, typed(K::ServerRestarting, n)));
                }
            }
            let events: Vec<&LoggedEvent> = log.iter().collect();
            let roles: Vec<Role> =
                (0..events.len()).map(|_| if draw(8) == 0 { roles_drawn[draw(6)] } else { Role::Plain }).collect();
            let rows = fold(&events, &roles, &times, &words);
            assert_eq!(rows, fold_by_scanning(&events, &roles, &times, &words));
            folded_rows += rows.iter().filter(|r| r.label.ends_with(" times")).count();
            shown_apart += rows.iter().filter(|r| r.label.ends_with(" more times")).count();
        }
        // The logs must exercise folding, and events of a folded run marked for the story.
        assert!(folded_rows > 20 && shown_apart > 5, "{folded_rows} folded rows, {shown_apart} with more shown apart");
    }

    #[test]
    fn a_day_long_crash_loop_on_500_servers_folds_to_a_row_each() {
        // 500 servers crash every 10 minutes for a day (144 crashes, each with
        // its restart and its recovery), and each is marked unhealthy once:
        // 216,500 events, which a scan per event would take hours over.
        const SERVERS: u64 = 500;
        const CRASHES: u64 = 144;
        let tier = "name: tier\nduration: 10s\nclients:\n  c: {target: lb, rate: 10/s, users: 10}\n\
                    balancers:\n  lb: {backends: [\"web-*\"]}\n\
                    servers:\n  web-{000..499}: {workers: 1, service: {exponential: 1ms}}\n";
        let (_, run) = fixtures::run(tier);
        let words = EventWords::of(&run);
        let names: Vec<String> = (0..SERVERS).map(|s| format!("server web-{s:03}")).collect();
        let mut log = Vec::with_capacity((SERVERS * (3 * CRASHES + 1)) as usize);
        for c in 0..CRASHES {
            for s in 0..SERVERS as u32 {
                let t = c * 600 + u64::from(s);
                log.push(event(t, typed(EventTag::ServerCrashed, s)));
                log.push(event(t, typed(EventTag::ServerRestarting, s)));
                log.push(event(t + 30, typed(EventTag::ServerUp, s)));
            }
        }
        for s in 0..SERVERS as u32 {
            log.push(event(CRASHES * 600 + u64::from(s), typed(EventTag::BackendUnhealthy, s)));
        }
        assert!(log.len() > 200_000);
        let events: Vec<&LoggedEvent> = log.iter().collect();
        let roles = vec![Role::Plain; events.len()];
        let rows = fold(&events, &roles, &Times { clock: None }, &words);
        assert_eq!(rows.len(), 2 * SERVERS as usize);
        let (loops, health) = rows.split_at(SERVERS as usize);
        for (row, name) in loops.iter().zip(&names) {
            assert_eq!((row.label.as_str(), &row.entity, row.kind), ("crashed 144 times", name, RowKind::Failure));
        }
        assert!(health.iter().zip(&names).all(|(r, n)| r.label == "marked unhealthy" && &r.entity == n));
        let last = &loops[SERVERS as usize - 1];
        assert_eq!(last.time_ns, 499 * NANOS_PER_SEC);
        assert_eq!(
            last.detail,
            "between +0:08:19 and +23:58:19; first: overwhelmed; 3 requests lost; last back up at +23:58:49"
        );
    }

    #[test]
    fn each_blocked_row_carries_its_own_entrys_note() {
        // Two changes blocked at the same instant on the same balancer: the
        // rows cannot be told apart by time and target, only by the run's record.
        let pin = r#"  - {name: pin-web-02, at: "13:38", balancer: lb, backends: [web-02], note: "second pin"}"#;
        let text = fixtures::INCIDENT.replace("timeline:\n", &format!("timeline:\n{pin}\n"));
        let (summary, result) = fixtures::run(&text);
        assert_eq!(result.blocked_changes(), [0, 1]);
        let story = Story::build(&summary, &result);
        let blocked: Vec<&StoryRow> = story.rows.iter().filter(|r| r.kind == RowKind::Blocked).collect();
        assert_eq!(blocked.len(), 2);
        assert!(blocked.iter().all(|r| (r.time_ns, r.entity.as_str()) == (blocked[0].time_ns, "balancer lb")));
        assert!(blocked[0].detail.starts_with("backends = web-02 blocked: "), "{}", blocked[0].detail);
        assert!(blocked[0].detail.ends_with(" (second pin)"), "{}", blocked[0].detail);
        assert!(blocked[1].detail.ends_with(" (pin <everything> on web-01)"), "{}", blocked[1].detail);
    }

    #[test]
    fn the_timeline_folds_the_crash_loop_and_marks_the_story() {
        let (summary, result) = fixtures::run(fixtures::INCIDENT);
        let log = &result.recorder.events;
        let crashes = log.count(EventTag::ServerCrashed);
        assert!(crashes > FOLD_ABOVE, "the fixture must crash-loop: {crashes}");
        let story = Story::build(&summary, &result);
        let rows = &story.rows;
        let loop_row = rows.iter().find(|r| r.label.starts_with("crashed ")).expect("a folded crash row");
        assert_eq!(loop_row.label, format!("crashed {crashes} times"));
        assert_eq!(loop_row.entity, "server web-01");
        assert_eq!(loop_row.time_ns, log.first(EventTag::ServerCrashed).unwrap().time_ns);
        assert!(!rows.iter().any(|r| r.label == "crashed" || r.label == "restarting"));
        // Validation blocked the first change; the second, applied, is the root cause.
        let blocked = rows.iter().find(|r| r.kind == RowKind::Blocked).unwrap();
        assert!(blocked.detail.contains("blocked"), "{}", blocked.detail);
        assert_eq!(story.first_blocked.as_ref().unwrap().label, "pin-web-01");
        let root = rows.iter().find(|r| r.role == Role::RootCause).unwrap();
        assert_eq!((root.kind, root.label.as_str()), (RowKind::Change, "change applied"));
        assert_eq!(story.root.as_ref().unwrap().label, "skew");
        assert_eq!(Some(root.time_ns as f64 / 1e9), summary.impact.first_change_s);
        let det = rows.iter().find(|r| r.role == Role::Detection).unwrap();
        assert_eq!(det.time_ns, secs_to_nanos(summary.impact.detected_at_s.unwrap()));
        let fix = rows.iter().find(|r| r.role == Role::Fix).unwrap();
        assert_eq!(fix.label, "change reverted");
        let rec = rows.iter().find(|r| r.role == Role::Recovered).unwrap();
        assert_eq!(rec.time_ns, secs_to_nanos(summary.impact.window.as_ref().unwrap().until_s));
        assert!(rows.windows(2).all(|w| w[0].time_ns <= w[1].time_ns));
    }
}
