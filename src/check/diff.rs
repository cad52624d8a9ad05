//! `lbsim check CHANGED --against BASELINE`: the differential form, as
//! Batfish's differential reachability. Both standing configurations are
//! compiled; the result is what the change introduces: each (client subnet
//! -> balancer) pair whose outcome differs (`DIF001`: an error when a subnet
//! loses its service, a warning when it loses one path but keeps another, a
//! note when it gains), each balancer whose rotation can serve less
//! (`DIF002`), and every finding of CHANGED that BASELINE does not have.
//! Entities are matched by name.

use std::collections::{BTreeMap, HashSet};

use super::capacity::balancer_load;
use super::locate::Locator;
use super::network::{client_pairs, how_it_fails};
use super::state::Snapshot;
use super::{Checked, Finding, Issue, Place, Severity, rate, rules};
use crate::model::World;
use crate::model::network::NodeKind;
use crate::sim::network::{Outcome, resolve};

/// The outcome of each (subnet, balancer) pair: `None` when served,
/// otherwise why not. Groups outside a network count as one subnet named
/// after the group.
fn outcomes(world: &World) -> BTreeMap<(String, String), Option<String>> {
    let snap = Snapshot::base(world);
    let mut out = BTreeMap::new();
    let usable = |b: usize| {
        let def = &world.balancers[b];
        snap.balancers[b].in_rotation().filter(|&k| snap.servers[def.backends[k].server.index()].up).collect::<Vec<_>>()
    };
    let net = snap.net.as_ref();
    for (c, def) in world.clients.iter().enumerate() {
        let in_net = net.is_some_and(|n| n.subnets[c].iter().any(|&s| n.attached(s)));
        if in_net {
            continue;
        }
        for &(b, w) in &def.targets {
            if w == 0 {
                continue;
            }
            let name = world.balancers[b as usize].name.clone();
            let outcome =
                usable(b as usize).is_empty().then(|| format!("balancer `{name}` has no backend that can serve"));
            out.insert((def.name.clone(), name), outcome);
        }
    }
    let Some(net) = net else { return out };
    for pair in client_pairs(world, net) {
        let NodeKind::Balancer(b) = net.nodes[pair.to as usize].kind else { continue };
        let key = (net.nodes[pair.from as usize].name.clone(), net.nodes[pair.to as usize].name.clone());
        let there = resolve(net, pair.from, pair.to);
        let outcome = if there.outcome != Outcome::Delivered {
            Some(format!("requests never reach it: the path {}", how_it_fails(net, &there, pair.to)))
        } else {
            let back = resolve(net, pair.to, pair.from);
            if back.outcome != Outcome::Delivered {
                Some(format!("answers never get back: the path {}", how_it_fails(net, &back, pair.from)))
            } else {
                let def = &world.balancers[b as usize];
                let served = usable(b as usize).into_iter().any(|k| {
                    let sn = net.server_node[def.backends[k].server.index()];
                    resolve(net, pair.to, sn).outcome == Outcome::Delivered
                        && resolve(net, sn, pair.to).outcome == Outcome::Delivered
                });
                (!served).then(|| format!("balancer `{}` reaches no backend that can serve", def.name))
            }
        };
        out.insert(key, outcome);
    }
    out
}

/// The capacity of each balancer's rotation (servers in it that are up).
fn capacities(world: &World) -> BTreeMap<String, (f64, f64)> {
    let snap = Snapshot::base(world);
    let load = balancer_load(world, &snap);
    world
        .balancers
        .iter()
        .enumerate()
        .map(|(b, def)| {
            let cap: f64 =
                snap.balancers[b].in_rotation().map(|k| snap.servers[def.backends[k].server.index()].capacity()).sum();
            (def.name.clone(), (cap, load[b]))
        })
        .collect()
}

/// What `changed` introduces relative to `baseline`. Both must have compiled.
pub fn against(baseline: &Checked, changed: &Checked) -> Vec<Finding> {
    let (Some((_, base_world)), Some((scenario, world))) = (&baseline.compiled, &changed.compiled) else {
        return changed.findings.clone();
    };
    let loc = Locator::new(world, scenario);
    let place_of_subnet = |subnet: &str| {
        let at = world
            .network
            .as_ref()
            .and_then(|n| n.node_index(subnet))
            .and_then(|n| loc.node(n))
            .or_else(|| world.clients.iter().position(|c| c.name == subnet).and_then(|c| loc.client(c)));
        Place::of(&changed.source, at)
    };
    let mut out = Vec::new();
    let before = outcomes(base_world);
    let after = outcomes(world);
    let served =
        |m: &BTreeMap<(String, String), Option<String>>, s: &str| m.iter().any(|((x, _), o)| x == s && o.is_none());
    for ((subnet, bal), now) in &after {
        let Some(was) = before.get(&(subnet.clone(), bal.clone())) else { continue };
        if was == now {
            continue;
        }
        let (severity, message) = match (was, now) {
            (None, Some(why)) => {
                let sev = if served(&after, subnet) { Severity::Warning } else { Severity::Error };
                let still =
                    if sev == Severity::Warning { " (it is still served through another balancer)" } else { "" };
                (sev, format!("`{subnet}` -> `{bal}` was served in the baseline and is not now: {why}{still}"))
            }
            (Some(why), None) => {
                (Severity::Note, format!("`{subnet}` -> `{bal}` is served now; in the baseline {why}"))
            }
            (Some(w), Some(n)) => {
                (Severity::Note, format!("`{subnet}` -> `{bal}` still fails, differently: {n} (in the baseline {w})"))
            }
            (None, None) => continue,
        };
        out.push(Finding {
            rule: rules::OUTCOME_CHANGED,
            severity,
            message,
            help: rules::OUTCOME_CHANGED.help.to_string(),
            place: place_of_subnet(subnet),
            change: None,
            key: format!("outcome {subnet} -> {bal}"),
        });
    }
    let caps_before = capacities(base_world);
    for (b, (cap, load)) in capacities(world) {
        let Some(&(was, _)) = caps_before.get(&b) else { continue };
        if cap < was * (1.0 - 1e-9) {
            let bi = world.balancer_index(&b).map(|i| i as usize);
            let issue = Issue::new(
                rules::CAPACITY_DROPPED,
                format!("capacity {b}"),
                format!(
                    "balancer `{b}`'s rotation can serve {} where the baseline's served {} ({:+.0}%); it is offered {} at the peak",
                    rate(cap),
                    rate(was),
                    100.0 * (cap - was) / was,
                    rate(load)
                ),
            );
            out.push(Finding {
                rule: issue.rule,
                severity: issue.rule.severity,
                message: issue.standing,
                help: issue.rule.help.to_string(),
                place: Place::of(&changed.source, bi.and_then(|i| loc.balancer(i))),
                change: None,
                key: issue.key,
            });
        }
    }
    let old: HashSet<(&str, &str)> = baseline.findings.iter().map(|f| (f.rule.id, f.key.as_str())).collect();
    out.extend(changed.findings.iter().filter(|f| !old.contains(&(f.rule.id, f.key.as_str()))).cloned());
    out
}
