//! Stage: sim (monitoring during the run). Alert evaluation: [`AlertEngine`] runs the compiled
//! [`AlertRule`]s (`model::alerts`) on each closed interval's snapshot.
//!
//! A rule with a non-global scope is evaluated separately for each entity it
//! covers; each (rule, entity) pair goes through the same states as a
//! Prometheus alert with `for:`, evaluated at each interval close on that
//! interval's value:
//!
//! - the condition is `value > threshold` (`above`) or `value < threshold`
//!   (`below`), strict (a value equal to the threshold, within a relative
//!   1e-9, is not beyond it); a NaN value (an error rate with no traffic)
//!   counts as false;
//! - the alert becomes *pending* at the start of the first interval in which
//!   the condition is true;
//! - it *fires* at the end of the interval at which the condition has been
//!   true for `max(for, one interval)` without a break, counting whole
//!   intervals: `for: 0` fires at the end of the first true interval, `for: 2m`
//!   with 1s intervals at the end of the 120th consecutive true one, and a
//!   `for` that is not a multiple of the interval is rounded up;
//! - one false interval resets a pending alert; a firing alert *resolves* at
//!   the end of the first false interval;
//! - alerts still firing when the run ends stay firing; [`AlertEngine::finish`]
//!   lists them ([`AlertEngine::firing_at_end`]).

use crate::clock::WallClock;
use crate::metrics::snapshot::{MetricKind, Snapshot};
use crate::model::alerts::{AlertRule, EntityKind, EntityNames};
use crate::model::slos::time_text;
use crate::time::format_duration;

/// The value of metric `m` for `entity` (ignored for global metrics); NaN
/// when the snapshot has no such entity.
#[inline]
pub fn metric_value(snap: &Snapshot, m: MetricKind, entity: usize) -> f64 {
    let row = match m {
        MetricKind::Global(g) => return snap.global.get(g.idx()).copied().unwrap_or(f64::NAN),
        MetricKind::Server(s) => snap.servers.get(entity).map(|r| (r, s.idx())),
        MetricKind::Balancer(b) => snap.balancers.get(entity).map(|r| (r, b.idx())),
        MetricKind::Client(c) => snap.clients.get(entity).map(|r| (r, c.idx())),
        MetricKind::Subnet(n) => snap.subnets.get(entity).map(|r| (r, n.idx())),
    };
    row.and_then(|(r, i)| r.get(i).copied()).unwrap_or(f64::NAN)
}

/// A number for messages: up to four significant digits, no trailing zeros.
pub fn format_number(v: f64) -> String {
    if v.is_nan() {
        return "no data".to_string();
    }
    if v.is_infinite() || (v == v.trunc() && v.abs() < 1e15) {
        return format!("{v}");
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (3 - magnitude).clamp(0, 9) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_string() } else { text }
}

/// Where one (rule, entity) pair stands.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum AlertState {
    #[default]
    Inactive,
    /// The condition has held since `since_ns`, not yet for long enough.
    Pending { since_ns: u64 },
    /// Fired at `fired_ns`; the condition has held since `since_ns`.
    Firing { since_ns: u64, fired_ns: u64 },
}

/// An alert firing or resolving.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct AlertEvent {
    /// The end of the interval at which it happened.
    pub time_ns: u64,
    /// Index of the rule.
    pub rule: usize,
    /// The entity, `None` for global rules.
    pub entity: Option<(EntityKind, usize)>,
    /// True when it fires, false when it resolves.
    pub firing: bool,
    /// The metric's value in that interval.
    pub value: f64,
    pub threshold: f64,
    /// When the condition started holding (the start of the pending period).
    pub since_ns: u64,
    /// When it fired (equal to `time_ns` for a firing event).
    pub fired_ns: u64,
}

/// An alert still firing when the run ended.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct ActiveAlert {
    pub rule: usize,
    pub entity: Option<(EntityKind, usize)>,
    pub since_ns: u64,
    pub fired_ns: u64,
    /// The value in the last interval observed.
    pub value: f64,
}

/// Per-rule totals over all of the rule's entities.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleStats {
    /// Times it fired.
    pub fired: u32,
    /// Times it resolved.
    pub resolved: u32,
    /// Time spent firing (summed over entities); after [`AlertEngine::finish`]
    /// it includes alerts still firing at the end.
    pub firing_ns: u64,
}

#[derive(Clone, Debug)]
struct Slot {
    rule: usize,
    entity: Option<(EntityKind, usize)>,
    /// Consecutive true intervals so far.
    streak: u32,
    since_ns: u64,
    fired_ns: Option<u64>,
    last_value: f64,
}

/// Evaluates compiled rules on each closed interval.
#[derive(Clone, Debug)]
pub struct AlertEngine {
    rules: Vec<AlertRule>,
    slots: Vec<Slot>,
    /// Each rule's slots: `slots[rule_start[r]..rule_start[r + 1]]`.
    rule_start: Vec<usize>,
    fired: Vec<u32>,
    resolved: Vec<u32>,
    closed_firing_ns: Vec<u64>,
    end_ns: Option<u64>,
    at_end: Vec<ActiveAlert>,
}

impl AlertEngine {
    /// An engine for `rules` over a world with these entity counts. Entity
    /// ids beyond the counts are ignored.
    pub fn new(rules: Vec<AlertRule>, servers: usize, balancers: usize, clients: usize, subnets: usize) -> AlertEngine {
        let mut slots = Vec::new();
        let mut rule_start = Vec::with_capacity(rules.len() + 1);
        for (r, rule) in rules.iter().enumerate() {
            rule_start.push(slots.len());
            let slot = |entity| Slot { rule: r, entity, streak: 0, since_ns: 0, fired_ns: None, last_value: f64::NAN };
            let Some(kind) = rule.entity_kind() else {
                slots.push(slot(None));
                continue;
            };
            let count = match kind {
                EntityKind::Server => servers,
                EntityKind::Balancer => balancers,
                EntityKind::Client => clients,
                EntityKind::Subnet => subnets,
            };
            match &rule.entities {
                Some(ids) => slots.extend(ids.iter().filter(|&&e| e < count).map(|&e| slot(Some((kind, e))))),
                None => slots.extend((0..count).map(|e| slot(Some((kind, e))))),
            }
        }
        rule_start.push(slots.len());
        let n = rules.len();
        AlertEngine {
            rules,
            slots,
            rule_start,
            fired: vec![0; n],
            resolved: vec![0; n],
            closed_firing_ns: vec![0; n],
            end_ns: None,
            at_end: Vec::new(),
        }
    }

    /// An engine sized from the entity names.
    pub fn with_names(rules: Vec<AlertRule>, names: &EntityNames) -> AlertEngine {
        AlertEngine::new(rules, names.servers.len(), names.balancers.len(), names.clients.len(), names.subnets.len())
    }

    pub fn rules(&self) -> &[AlertRule] {
        &self.rules
    }

    /// Evaluates one closed interval, appending the alerts that fire or
    /// resolve at its end to `out` (rule order, then entity order).
    pub fn observe(&mut self, snap: &Snapshot, out: &mut Vec<AlertEvent>) {
        for slot in &mut self.slots {
            let rule = &self.rules[slot.rule];
            let value = metric_value(snap, rule.metric, slot.entity.map_or(0, |(_, e)| e));
            slot.last_value = value;
            if rule.holds(value) {
                if slot.streak == 0 {
                    slot.since_ns = snap.start;
                }
                slot.streak = slot.streak.saturating_add(1);
                if slot.fired_ns.is_none() && slot.streak >= rule.intervals_needed {
                    slot.fired_ns = Some(snap.end);
                    self.fired[slot.rule] += 1;
                    out.push(AlertEvent {
                        time_ns: snap.end,
                        rule: slot.rule,
                        entity: slot.entity,
                        firing: true,
                        value,
                        threshold: rule.threshold,
                        since_ns: slot.since_ns,
                        fired_ns: snap.end,
                    });
                }
            } else {
                if let Some(fired_ns) = slot.fired_ns.take() {
                    self.resolved[slot.rule] += 1;
                    self.closed_firing_ns[slot.rule] += snap.end.saturating_sub(fired_ns);
                    out.push(AlertEvent {
                        time_ns: snap.end,
                        rule: slot.rule,
                        entity: slot.entity,
                        firing: false,
                        value,
                        threshold: rule.threshold,
                        since_ns: slot.since_ns,
                        fired_ns,
                    });
                }
                slot.streak = 0;
            }
        }
    }

    /// Ends the run at `end_ns`: alerts still firing stay firing and are
    /// listed by [`AlertEngine::firing_at_end`]. Calling it again recomputes
    /// the list for the new end.
    pub fn finish(&mut self, end_ns: u64) {
        self.end_ns = Some(end_ns);
        self.at_end.clear();
        for slot in &self.slots {
            if let Some(fired_ns) = slot.fired_ns {
                self.at_end.push(ActiveAlert {
                    rule: slot.rule,
                    entity: slot.entity,
                    since_ns: slot.since_ns,
                    fired_ns,
                    value: slot.last_value,
                });
            }
        }
    }

    /// Alerts firing when [`AlertEngine::finish`] was called.
    pub fn firing_at_end(&self) -> &[ActiveAlert] {
        &self.at_end
    }

    /// The state of `rule` for `entity` (`None` for a global rule), or
    /// `None` when the rule does not cover that entity.
    pub fn state(&self, rule: usize, entity: Option<usize>) -> Option<AlertState> {
        let range = self.rule_start[rule]..self.rule_start[rule + 1];
        let slot = self.slots[range].iter().find(|s| s.entity.map(|(_, e)| e) == entity)?;
        Some(match (slot.streak, slot.fired_ns) {
            (_, Some(fired_ns)) => AlertState::Firing { since_ns: slot.since_ns, fired_ns },
            (0, None) => AlertState::Inactive,
            (_, None) => AlertState::Pending { since_ns: slot.since_ns },
        })
    }

    /// Totals of one rule.
    pub fn rule_stats(&self, rule: usize) -> RuleStats {
        let open: u64 = match self.end_ns {
            Some(end) => self.at_end.iter().filter(|a| a.rule == rule).map(|a| end.saturating_sub(a.fired_ns)).sum(),
            None => 0,
        };
        RuleStats {
            fired: self.fired[rule],
            resolved: self.resolved[rule],
            firing_ns: self.closed_firing_ns[rule] + open,
        }
    }

    fn entity_text(entity: Option<(EntityKind, usize)>, names: &EntityNames) -> String {
        match entity {
            None => String::new(),
            Some((kind, i)) => match names.of(kind).get(i) {
                Some(n) => format!(" on {} {n}", kind.name()),
                None => format!(" on {} #{i}", kind.name()),
            },
        }
    }

    /// One line about an event: `error-spike firing on server web-01:
    /// error_rate 0.12 > 0.05 for 2m`, or `error-spike resolved on server
    /// web-01 after 3m: error_rate 0.01 (alert when > 0.05)`.
    pub fn describe(&self, ev: &AlertEvent, names: &EntityNames) -> String {
        let rule = &self.rules[ev.rule];
        let on = Self::entity_text(ev.entity, names);
        let (metric, sym) = (rule.metric_name(), rule.condition.symbol());
        let (value, threshold) = (format_number(ev.value), format_number(ev.threshold));
        if ev.firing {
            let hold = if rule.for_ns > 0 { format!(" for {}", format_duration(rule.for_ns)) } else { String::new() };
            format!("{} firing{on}: {metric} {value} {sym} {threshold}{hold}", rule.name)
        } else {
            let after = format_duration(ev.time_ns.saturating_sub(ev.fired_ns));
            format!("{} resolved{on} after {after}: {metric} {value} (alert when {sym} {threshold})", rule.name)
        }
    }

    /// [`AlertEngine::describe`] prefixed with the time: `[14:12:00] ...`
    /// with a clock, `[+2m] ...` without.
    pub fn describe_at(&self, ev: &AlertEvent, names: &EntityNames, clock: Option<&WallClock>) -> String {
        format!("[{}] {}", time_text(ev.time_ns, clock), self.describe(ev, names))
    }

    /// One line about an alert still firing at the end.
    pub fn describe_active(&self, a: &ActiveAlert, names: &EntityNames, clock: Option<&WallClock>) -> String {
        let rule = &self.rules[a.rule];
        format!(
            "{} still firing{} at the end (since {}): {} {} {} {}",
            rule.name,
            Self::entity_text(a.entity, names),
            time_text(a.fired_ns, clock),
            rule.metric_name(),
            format_number(a.value),
            rule.condition.symbol(),
            format_number(rule.threshold)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::snapshot::{BalancerMetric, ClientMetric, GlobalMetric, ServerMetric};
    use crate::model::alerts::Condition;
    use crate::model::test_monitoring::{ERR5, S, alerts, names, series};

    fn global_error_rates(values: &[f64]) -> Vec<Snapshot> {
        series(values.len(), |i, s| s.global[GlobalMetric::ErrorRate.idx()] = values[i])
    }

    fn run(engine: &mut AlertEngine, snaps: &[Snapshot]) -> Vec<AlertEvent> {
        let mut out = Vec::new();
        for s in snaps {
            engine.observe(s, &mut out);
        }
        out
    }

    /// (time in seconds, firing) of each event.
    fn times(events: &[AlertEvent]) -> Vec<(u64, bool)> {
        events.iter().map(|e| (e.time_ns / S, e.firing)).collect()
    }

    fn engine(text: &str) -> AlertEngine {
        AlertEngine::with_names(alerts(text).unwrap(), &names())
    }

    #[test]
    fn for_zero_fires_at_the_end_of_the_first_true_interval() {
        let mut e = engine(ERR5);
        let rule = &e.rules()[0];
        assert_eq!((rule.threshold, rule.intervals_needed, rule.condition), (0.05, 1, Condition::Above));
        let ev = run(&mut e, &global_error_rates(&[0.0, 0.1, 0.2, 0.01, 0.0, 0.3]));
        assert_eq!(times(&ev), [(2, true), (4, false), (6, true)]);
        assert_eq!((ev[0].since_ns, ev[0].value, ev[0].threshold, ev[0].entity), (S, 0.1, 0.05, None));
        assert_eq!((ev[1].since_ns, ev[1].fired_ns, ev[1].value), (S, 2 * S, 0.01));
        e.finish(6 * S);
        assert_eq!(
            e.firing_at_end(),
            [ActiveAlert { rule: 0, entity: None, since_ns: 5 * S, fired_ns: 6 * S, value: 0.3 }]
        );
        assert_eq!(e.rule_stats(0), RuleStats { fired: 2, resolved: 1, firing_ns: 2 * S });
    }

    #[test]
    fn for_needs_consecutive_true_intervals_and_a_dip_resets_pending() {
        let mut e = engine(&format!("{ERR5}    for: 3s\n"));
        assert_eq!(e.rules()[0].intervals_needed, 3);
        //                               0    1    2(dip) 3    4    5    6    7
        let snaps = global_error_rates(&[0.1, 0.1, 0.0, 0.1, 0.1, 0.1, 0.1, 0.0]);
        let mut out = Vec::new();
        e.observe(&snaps[0], &mut out);
        assert_eq!(e.state(0, None), Some(AlertState::Pending { since_ns: 0 }));
        e.observe(&snaps[1], &mut out);
        e.observe(&snaps[2], &mut out);
        assert_eq!(e.state(0, None), Some(AlertState::Inactive));
        assert!(out.is_empty());
        for s in &snaps[3..7] {
            e.observe(s, &mut out);
        }
        assert_eq!(e.state(0, None), Some(AlertState::Firing { since_ns: 3 * S, fired_ns: 6 * S }));
        e.observe(&snaps[7], &mut out);
        assert_eq!(times(&out), [(6, true), (8, false)]);
        assert_eq!(out[0].since_ns, 3 * S);
        e.finish(8 * S);
        assert!(e.firing_at_end().is_empty());
        assert_eq!(e.rule_stats(0).firing_ns, 2 * S);
    }

    #[test]
    fn long_for_counts_whole_intervals_rounding_up() {
        let mut e = engine(&format!("{ERR5}    for: 2m\n"));
        assert_eq!(e.rules()[0].intervals_needed, 120);
        let ev = run(&mut e, &global_error_rates(&[0.5; 130]));
        assert_eq!(times(&ev), [(120, true)]);
        let e = engine(&format!("{ERR5}    for: 2.5s\n"));
        assert_eq!(e.rules()[0].intervals_needed, 3);
        let e = engine(&format!("{ERR5}    for: 500ms\n"));
        assert_eq!(e.rules()[0].intervals_needed, 1);
    }

    #[test]
    fn nan_and_values_at_the_threshold_count_as_false() {
        let mut e = engine(ERR5);
        let ev = run(&mut e, &global_error_rates(&[0.1, f64::NAN, 0.1, 0.05, f64::NAN]));
        assert_eq!(times(&ev), [(1, true), (2, false), (3, true), (4, false)]);
        assert!(ev[1].value.is_nan());
        // 0.1 + 0.2 is 0.30000000000000004: at the threshold, not above it.
        let mut e = engine(&ERR5.replace("5%", "30%"));
        assert!(run(&mut e, &global_error_rates(&[0.1 + 0.2, 0.3])).is_empty());
        // A `below` rule does not fire on missing data either.
        let text = "alerts:\n  - {name: starved, metric: throughput_rps, below: 10/s}\n";
        let mut e = engine(text);
        let snaps = series(3, |i, s| s.global[GlobalMetric::ThroughputRps.idx()] = [f64::NAN, 20.0, 5.0][i]);
        assert_eq!(times(&run(&mut e, &snaps)), [(3, true)]);
        // Snapshots missing an entity read as NaN rather than panicking.
        let mut e = engine("alerts:\n  - {name: q, metric: queue, scope: server, above: 1}\n");
        let mut out = Vec::new();
        e.observe(&Snapshot::default(), &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn per_server_rules_fire_independently() {
        let text = "alerts:\n  - name: hot\n    metric: error_rate\n    scope: server\n    above: 0.2\n    for: 2s\n";
        let mut e = engine(text);
        let er = ServerMetric::ErrorRate.idx();
        let snaps = series(6, |i, s| {
            s.servers[0][er] = [0.0, 0.5, 0.5, 0.5, 0.0, 0.0][i];
            s.servers[1][er] = [0.0, 0.0, 0.5, 0.5, 0.5, 0.5][i];
            s.servers[2][er] = [0.5, 0.0, 0.5, 0.0, 0.5, 0.0][i];
        });
        let ev = run(&mut e, &snaps);
        let srv = |i| Some((EntityKind::Server, i));
        let got: Vec<_> = ev.iter().map(|e| (e.time_ns / S, e.firing, e.entity)).collect();
        assert_eq!(got, [(3, true, srv(0)), (4, true, srv(1)), (5, false, srv(0))]);
        e.finish(6 * S);
        assert_eq!(e.firing_at_end().len(), 1);
        assert_eq!(e.firing_at_end()[0].entity, srv(1));
        assert_eq!(e.state(0, Some(2)), Some(AlertState::Inactive));
        assert_eq!(e.rule_stats(0), RuleStats { fired: 2, resolved: 1, firing_ns: 2 * S + 2 * S });
        let names = names();
        assert_eq!(e.describe(&ev[0], &names), "hot firing on server web-01: error_rate 0.5 > 0.2 for 2s");
        assert_eq!(
            e.describe_at(&ev[2], &names, None),
            "[+5s] hot resolved on server web-01 after 2s: error_rate 0 (alert when > 0.2)"
        );
        let clock = WallClock::parse_start("2024-06-01T14:00:00Z").unwrap();
        assert_eq!(
            e.describe_active(&e.firing_at_end()[0], &names, Some(&clock)),
            "hot still firing on server web-02 at the end (since 14:00:04): error_rate 0.5 > 0.2"
        );
    }

    #[test]
    fn entity_filters_select_servers_by_name_pattern_or_glob() {
        let base = "alerts:\n  - {name: q, metric: queue, scope: server, above: 10, entity: ";
        for (entity, want) in [("web-02", vec![1]), ("\"web-{01..02}\"", vec![0, 1]), ("\"web-*\"", vec![0, 1])] {
            let rules = alerts(&format!("{base}{entity}}}\n")).unwrap();
            assert_eq!(rules[0].entities, Some(want), "{entity}");
        }
        let mut e = engine(&format!("{base}db-01}}\n"));
        let snaps = series(1, |_, s| {
            for row in s.servers.iter_mut() {
                row[ServerMetric::Queue.idx()] = 50.0;
            }
        });
        let ev = run(&mut e, &snaps);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].entity, Some((EntityKind::Server, 2)));
        assert_eq!(e.state(0, Some(0)), None);
        // Balancer and client scopes.
        let text = "alerts:\n  - {name: nb, metric: healthy_backends, scope: balancer, below: 2}\n  - {name: cf, metric: failed, scope: client, entity: batch, above: 0}\n";
        let mut e = engine(text);
        let snaps = series(1, |_, s| {
            s.balancers[0][BalancerMetric::HealthyBackends.idx()] = 1.0;
            s.clients[0][ClientMetric::Failed.idx()] = 3.0;
            s.clients[1][ClientMetric::Failed.idx()] = 4.0;
        });
        let ev = run(&mut e, &snaps);
        let got: Vec<_> = ev.iter().map(|e| (e.rule, e.entity)).collect();
        assert_eq!(got, [(0, Some((EntityKind::Balancer, 0))), (1, Some((EntityKind::Client, 1)))]);
        assert_eq!(e.describe(&ev[0], &names()), "nb firing on balancer edge: healthy_backends 1 < 2");
    }

    #[test]
    fn describe_matches_the_documented_form() {
        let text = "alerts:\n  - {name: error-spike, metric: error_rate, scope: server, above: 5%, for: 2m}\n";
        let e = engine(text);
        let ev = AlertEvent {
            time_ns: 180 * S,
            rule: 0,
            entity: Some((EntityKind::Server, 0)),
            firing: true,
            value: 0.12,
            threshold: 0.05,
            since_ns: 60 * S,
            fired_ns: 180 * S,
        };
        assert_eq!(e.describe(&ev, &names()), "error-spike firing on server web-01: error_rate 0.12 > 0.05 for 2m");
        let clock = WallClock::parse_start("2024-06-01T14:00:00Z").unwrap();
        assert!(e.describe_at(&ev, &names(), Some(&clock)).starts_with("[14:03:00] error-spike firing"));
        assert_eq!(format_number(812.345), "812.3");
        assert_eq!(format_number(0.123456), "0.1235");
        assert_eq!(format_number(3.0), "3");
        assert_eq!(format_number(f64::NAN), "no data");
    }
}
