//! Every timeline change checked against the state it applies to. The
//! changes are replayed in time order on the configuration (no traffic):
//! before each one, the scenario's validation (a balancer's `validation:`,
//! `network.validation`) is asked whether it would block it, exactly as the
//! run asks; then the state rules run on the state after it, and what they
//! find that was not there before is the change's doing: "at 13:58,
//! `bad-config` leaves balancer `lb` with one backend in rotation".
//!
//! A configuration change (a rotation, weights, routes, a VLAN, a deploy)
//! is held to a higher bar than the standing configuration: a warning it
//! introduces is reported as an error, since `check` gates changes and a
//! change that takes redundancy away is how most of the postmortems began.
//! Events (a crash, a load spike, a link failing) keep their rule's
//! severity. A change validation would block gives notes instead: the
//! validation does its job.

use std::collections::HashSet;

use super::locate::Locator;
use super::network::validation_pairs;
use super::state::Snapshot;
use super::{ChangeRef, Finding, Issue, Place, Severity, rules, state_issues};
use crate::metrics::BlockReason;
use crate::model::{Change, NetOp, World};
use crate::scenario::ScenarioSource;
use crate::sim::balancer::rotation_violation;
use crate::sim::network::violation;

/// Whether a change is to the configuration (held to a higher bar), not
/// an event the scenario plays out.
fn is_config_change(c: &Change) -> bool {
    match c {
        Change::Balancer { members, weights, algorithm, .. } => {
            members.is_some() || !weights.is_empty() || algorithm.is_some()
        }
        Change::Server { workers, service, .. } => workers.is_some() || service.is_some(),
        Change::Network { ops } => ops.iter().any(|op| {
            matches!(
                op,
                NetOp::AddRoute { .. }
                    | NetOp::RemoveRoute { .. }
                    | NetOp::ReplaceRoute { .. }
                    | NetOp::SetRoutes { .. }
                    | NetOp::PortVlan { .. }
            )
        }),
        Change::Client { .. } | Change::Revert { .. } | Change::Note => false,
    }
}

#[derive(Copy, Clone, Debug)]
enum Step {
    Apply(usize),
    /// Undo entry `.0`, by revert entry `.1` (or its own duration).
    Undo(usize, Option<usize>),
}

/// The findings of every change in the timeline, in time order.
/// `base_keys` are the keys of the standing configuration's issues.
pub(crate) fn check(
    world: &World,
    base: &Snapshot,
    base_keys: HashSet<String>,
    loc: &Locator<'_>,
    source: &ScenarioSource,
) -> Vec<Finding> {
    let mut steps: Vec<(u64, usize, u8, Step)> = Vec::new();
    for (i, t) in world.timeline.iter().enumerate() {
        match t.change {
            Change::Note => {}
            Change::Revert { entry } => steps.push((t.at, i, 1, Step::Undo(entry, Some(i)))),
            _ => {
                steps.push((t.at, i, 0, Step::Apply(i)));
                if let Some(r) = t.revert_at {
                    steps.push((r, i, 1, Step::Undo(i, None)));
                }
            }
        }
    }
    steps.sort_by_key(|s| (s.0, s.2, s.1));
    let mut layers: Vec<usize> = Vec::new();
    let mut current = base.clone();
    let mut seen = base_keys;
    let mut out = Vec::new();
    for &(at, _, _, step) in &steps {
        if world.end.0 != u64::MAX && at >= world.end.0 {
            continue; // After the run: the compiler warns.
        }
        match step {
            Step::Apply(i) => {
                let mut candidate = layers.clone();
                candidate.push(i);
                let after = Snapshot::with(world, &candidate);
                let issues = state_issues(world, &after, loc);
                let new: Vec<&Issue> = issues.iter().filter(|x| !seen.contains(&x.key)).collect();
                let change = change_ref(world, loc, i);
                let place = Place::of(source, loc.entry(i));
                if let Some(reason) = blocked(world, &current, &after, i) {
                    let reason = crate::report::words::block_reason(world, &reason);
                    if new.is_empty() {
                        out.push(Finding {
                            rule: rules::CHANGE_BLOCKED,
                            severity: Severity::Note,
                            message: format!(
                                "at {}, `{}` would be blocked by validation: {reason}",
                                change.time, change.label
                            ),
                            help: rules::CHANGE_BLOCKED.help.to_string(),
                            place: place.clone(),
                            change: Some(change.clone()),
                            key: format!("blocked {}", change.label),
                        });
                    }
                    for issue in new {
                        out.push(Finding {
                            rule: issue.rule,
                            severity: Severity::Note,
                            message: format!(
                                "at {}, `{}` would be blocked by validation ({reason}); unblocked, it {}",
                                change.time, change.label, issue.after
                            ),
                            help: format!(
                                "the change never takes effect: the scenario's validation blocks it ({})",
                                issue.rule.name
                            ),
                            place: place.clone(),
                            change: Some(change.clone()),
                            key: issue.key.clone(),
                        });
                    }
                    continue;
                }
                let config = is_config_change(&world.timeline[i].change);
                let until = undone(world, i).map_or(String::new(), |u| format!(", until {u}"));
                for issue in new {
                    let severity = if config && issue.rule.severity == Severity::Warning {
                        Severity::Error
                    } else {
                        issue.rule.severity
                    };
                    out.push(Finding {
                        rule: issue.rule,
                        severity,
                        message: format!("at {}, `{}` {}{until}", change.time, change.label, issue.after),
                        help: issue.help.clone().unwrap_or_else(|| issue.rule.help.to_string()),
                        place: place.clone(),
                        change: Some(change.clone()),
                        key: issue.key.clone(),
                    });
                }
                layers = candidate;
                seen = issues.into_iter().map(|i| i.key).collect();
                current = after;
            }
            Step::Undo(i, by) => {
                if !layers.contains(&i) {
                    continue;
                }
                layers.retain(|&l| l != i);
                let after = Snapshot::with(world, &layers);
                let issues = state_issues(world, &after, loc);
                let who = by.unwrap_or(i);
                let change = change_ref(world, loc, who);
                let label = change_ref(world, loc, i).label;
                let place = Place::of(source, loc.entry(who));
                for issue in issues.iter().filter(|x| !seen.contains(&x.key)) {
                    out.push(Finding {
                        rule: issue.rule,
                        severity: issue.rule.severity,
                        message: format!("when `{label}` is undone, at {}, it {}", change.time, issue.after),
                        help: issue.help.clone().unwrap_or_else(|| issue.rule.help.to_string()),
                        place: place.clone(),
                        change: Some(change.clone()),
                        key: issue.key.clone(),
                    });
                }
                seen = issues.into_iter().map(|i| i.key).collect();
                current = after;
            }
        }
    }
    out
}

/// The entry's time as written and a label: its name, or its target.
fn change_ref(world: &World, loc: &Locator<'_>, i: usize) -> ChangeRef {
    let t = &world.timeline[i];
    let time =
        loc.scenario().timeline.get(i).map_or_else(|| clock_time(world, t.at), |e| e.at.value.text().to_string());
    let label = match &t.name {
        Some(n) => n.clone(),
        None if t.what.is_empty() => t.target.clone(),
        None => format!("{}: {}", t.target, t.what),
    };
    ChangeRef { index: i, time, label }
}

/// When entry `i` is undone, as a time of day or an offset.
fn undone(world: &World, i: usize) -> Option<String> {
    let ns = crate::model::timeline::undone_at(&world.timeline, i)?;
    Some(clock_time(world, ns))
}

/// `14:10` (a time of day, seconds left out when zero) with a wall clock,
/// `10m` without.
fn clock_time(world: &World, ns: u64) -> String {
    match &world.clock {
        Some(c) => {
            let t = c.format_short(ns);
            t.strip_suffix(":00").map_or(t.clone(), str::to_string)
        }
        None => crate::time::format_duration(ns),
    }
}

/// Why the scenario's validation would block entry `i` on state `current`
/// (`after` being the state with it applied), as the run decides it.
fn blocked(world: &World, current: &Snapshot, after: &Snapshot, i: usize) -> Option<BlockReason> {
    match &world.timeline[i].change {
        Change::Network { .. } => {
            let (now, next) = (current.net.as_ref()?, after.net.as_ref()?);
            let v = now.validation?;
            violation(v, now, next, &validation_pairs(world, now))
        }
        Change::Balancer { balancer, members, .. } => {
            let b = *balancer as usize;
            let v = world.balancers[b].validation?;
            let st = &after.balancers[b];
            if let Some(r) = rotation_violation(v, *balancer, &st.members, &st.weights) {
                return Some(r);
            }
            // The pre-flight check: every backend the change puts into rotation must be up.
            let members = members.as_ref().filter(|_| v.require_healthy)?;
            let failing: Vec<_> = members
                .iter()
                .enumerate()
                .filter(|(k, m)| **m && !current.servers[world.balancers[b].backends[*k].server.index()].up)
                .map(|(k, _)| world.balancers[b].backends[k].server)
                .collect();
            (!failing.is_empty()).then_some(BlockReason::PreflightFails { balancer: *balancer, servers: failing })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Severity, check_world};
    use crate::model::compile;
    use crate::scenario::{ScenarioSource, parse};
    use std::path::Path;

    /// (rule, severity, message) of each timeline finding of `text`.
    fn timeline_findings(text: &str) -> Vec<(&'static str, Severity, String)> {
        let src = ScenarioSource::from_text(Path::new("t.yaml"), text.to_string());
        let scenario = parse(&src).unwrap();
        let world = compile(&scenario, &src).unwrap();
        check_world(&world, &scenario, &src)
            .into_iter()
            .filter(|f| f.change.is_some())
            .map(|f| (f.rule.id, f.severity, f.message))
            .collect()
    }

    const TIER: &str = "name: t\nduration: 10m\nclients:\n  web: {target: lb, rate: 100/s, timeout: 2s}\nbalancers:\n  lb: {backends: [\"s{1..3}\"]}\nservers:\n  s{1..3}: {workers: 4, service: {constant: 10ms}}\n";

    #[test]
    fn a_configuration_change_raises_a_warning_to_an_error_and_an_event_does_not() {
        // Weights that give s1 5 of 7: a warning as configured, an error as a change.
        let f = timeline_findings(&format!(
            "{TIER}timeline:\n  - {{name: skew, at: 1m, balancer: lb, weights: {{s1: 5}}}}\n"
        ));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].0, f[0].1), ("BAL002", Severity::Error));
        assert_eq!(f[0].2, "at 1m, `skew` gives s1 71% of balancer `lb`'s traffic (5 of 7)");
        // A crash is an event: the down backend keeps its warning.
        let f =
            timeline_findings(&format!("{TIER}timeline:\n  - {{at: 1m, server: s2, action: crash, duration: 2m}}\n"));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].0, f[0].1), ("BAL005", Severity::Warning));
        assert!(f[0].2.starts_with("at 1m, `server s2: crash` puts server `s2`, which is down,"), "{}", f[0].2);
        assert!(f[0].2.ends_with(", until 3m"), "{}", f[0].2);
    }

    #[test]
    fn each_change_is_judged_on_the_state_it_applies_to() {
        // The second change leaves one backend only because the first left two.
        let text = format!(
            "{TIER}timeline:\n  - {{name: drain-3, at: 1m, balancer: lb, backends: [s1, s2]}}\n  - {{name: crash-2, at: 2m, server: s2, action: crash}}\n  - {{at: 3m, revert: drain-3}}\n"
        );
        let f = timeline_findings(&text);
        let rules: Vec<(&str, Severity)> = f.iter().map(|x| (x.0, x.1)).collect();
        // crash-2 (an event) leaves s2 down in a rotation of two: BAL005;
        // the revert brings s3 back, and nothing new is wrong.
        assert_eq!(rules, [("BAL005", Severity::Warning)], "{f:?}");
        // With validation requiring three, the drain is blocked: a note,
        // and the crash is then judged on a rotation of three.
        let blocked =
            text.replace("backends: [\"s{1..3}\"]}", "backends: [\"s{1..3}\"], validation: {min_backends: 3}}");
        let f = timeline_findings(&blocked);
        assert_eq!(f[0].0, "TLN001", "{f:?}");
        assert_eq!(f[0].1, Severity::Note);
        assert!(
            f[0].2.starts_with("at 1m, `drain-3` would be blocked by validation: would leave 2 backend(s)"),
            "{}",
            f[0].2
        );
    }
}
