//! Capacity rules, from mean service times and workers (a server serves at
//! most workers / mean service time per second): offered load at its peak
//! above what a balancer's rotation serves (`CAP001`), above what is left
//! with the largest server out (`CAP002`), or above what a fixed split sends
//! one server (`CAP003`). Balancers that share servers are judged together.

use super::locate::Locator;
use super::state::Snapshot;
use super::{Issue, list, rate, rules};
use crate::balancer::AlgorithmKind;
use crate::model::{TargetPolicy, World};

/// Requests per second each balancer is offered at the peak.
pub(crate) fn balancer_load(world: &World, snap: &Snapshot) -> Vec<f64> {
    let mut load = vec![0.0; world.balancers.len()];
    for (c, def) in world.clients.iter().enumerate() {
        let offered = snap.offered[c];
        match def.target_policy {
            TargetPolicy::Failover => {
                let first = def.targets.iter().find(|(b, _)| !snap.balancers[*b as usize].down).or(def.targets.first());
                if let Some(&(b, _)) = first {
                    load[b as usize] += offered;
                }
            }
            TargetPolicy::Spread => {
                let total: f64 = def.targets.iter().map(|&(_, w)| f64::from(w)).sum();
                for &(b, w) in &def.targets {
                    if total > 0.0 {
                        load[b as usize] += offered * f64::from(w) / total;
                    }
                }
            }
        }
    }
    load
}

/// Whether a balancer splits its traffic by weight whatever the load.
fn fixed_split(a: AlgorithmKind) -> bool {
    matches!(a, AlgorithmKind::RoundRobin | AlgorithmKind::Random | AlgorithmKind::ConsistentHash)
}

/// The capacity rules on one state.
pub(crate) fn state(world: &World, snap: &Snapshot, loc: &Locator<'_>) -> Vec<Issue> {
    let load = balancer_load(world, snap);
    let nb = world.balancers.len();
    // Servers that serve per balancer (in rotation, up, backups only when
    // nothing else is), and its backups waiting, as server indices.
    let servers_of = |b: usize, ks: Vec<usize>| -> Vec<usize> {
        if snap.balancers[b].down {
            return Vec::new();
        }
        ks.into_iter().map(|k| world.balancers[b].backends[k].server.index()).collect()
    };
    let rotation: Vec<Vec<usize>> = (0..nb).map(|b| servers_of(b, snap.serving(world, b))).collect();
    let standby: Vec<Vec<usize>> = (0..nb).map(|b| servers_of(b, snap.standby(world, b))).collect();
    // Balancers that share a server are one tier: union-find over balancers.
    let mut tier: Vec<usize> = (0..nb).collect();
    fn root(t: &mut [usize], mut i: usize) -> usize {
        while t[i] != i {
            t[i] = t[t[i]];
            i = t[i];
        }
        i
    }
    let mut owner: Vec<Option<usize>> = vec![None; world.servers.len()];
    for (b, servers) in rotation.iter().enumerate() {
        for &s in servers {
            match owner[s] {
                Some(o) => {
                    let (x, y) = (root(&mut tier, o), root(&mut tier, b));
                    tier[x] = y;
                }
                None => owner[s] = Some(b),
            }
        }
    }
    let mut out = Vec::new();
    // Each tier's balancers in index order, gathered in one pass (not a scan
    // of every balancer per tier), and one per-server split buffer whose
    // touched entries are reset after each tier (not a fresh one per tier).
    let mut tiers: Vec<Vec<usize>> = vec![Vec::new(); nb];
    for x in 0..nb {
        let r = root(&mut tier, x);
        tiers[r].push(x);
    }
    let mut fixed = vec![0.0f64; world.servers.len()];
    for b in 0..nb {
        let r = root(&mut tier, b);
        let members = std::mem::take(&mut tiers[r]);
        if members.is_empty() {
            continue;
        }
        let offered: f64 = members.iter().map(|&x| load[x]).sum();
        if offered <= 0.0 {
            continue;
        }
        let mut servers: Vec<usize> = members.iter().flat_map(|&x| rotation[x].iter().copied()).collect();
        servers.sort_unstable();
        servers.dedup();
        let caps: Vec<f64> = servers.iter().map(|&s| snap.servers[s].capacity()).collect();
        let capacity: f64 = caps.iter().sum();
        let names: Vec<String> = members.iter().map(|&x| format!("`{}`", world.balancers[x].name)).collect();
        let who = if names.len() == 1 {
            format!("balancer {}", names[0])
        } else {
            format!("balancers {} (sharing servers)", names.join(", "))
        };
        let key = format!(
            "capacity {}",
            members.iter().map(|&x| world.balancers[x].name.as_str()).collect::<Vec<_>>().join(",")
        );
        let at = loc.balancer(members[0]);
        let n = servers.len();
        let fleet = format!("{n} server{}", if n == 1 { "" } else { "s" });
        if servers.is_empty() {
            continue; // BAL003 says why.
        }
        if offered >= capacity {
            out.push(
                Issue::new(
                    rules::OVER_CAPACITY,
                    key,
                    format!(
                        "{who} is offered {} at the peak, but its rotation ({fleet}) can serve {}: {:.0}% busy",
                        rate(offered),
                        rate(capacity),
                        100.0 * offered / capacity
                    ),
                )
                .after(format!(
                    "leaves {who} able to serve {} ({fleet}) while it is offered {} at the peak",
                    rate(capacity),
                    rate(offered)
                ))
                .at(at),
            );
            continue;
        }
        // With its largest server out, the others serve; with its only
        // server out, its backups do.
        let mut spare: Vec<usize> =
            members.iter().flat_map(|&x| standby[x].iter().copied()).filter(|s| !servers.contains(s)).collect();
        spare.sort_unstable();
        spare.dedup();
        let spare_capacity: f64 = spare.iter().map(|&s| snap.servers[s].capacity()).sum();
        if n >= 2 || !spare.is_empty() {
            let largest = caps.iter().copied().fold(0.0, f64::max);
            let (left, others) = if n >= 2 {
                (
                    capacity - largest,
                    if n == 2 { "the other serves".to_string() } else { format!("the other {} serve", n - 1) },
                )
            } else if spare.len() == 1 {
                (spare_capacity, "its backup serves".to_string())
            } else {
                (spare_capacity, format!("its {} backups serve", spare.len()))
            };
            if offered >= left {
                out.push(
                    Issue::new(
                        rules::NO_N_PLUS_ONE,
                        format!("n+1 {key}"),
                        format!(
                            "{who} is offered {} at the peak; with its largest server out, {others} {} ({:.0}% busy)",
                            rate(offered),
                            rate(left),
                            100.0 * offered / left
                        ),
                    )
                    .after(format!(
                        "leaves {who} without N+1: offered {} at the peak, {} with its largest server out",
                        rate(offered),
                        rate(left)
                    ))
                    .at(at),
                );
            }
        }
        // A fixed split (or a rotation of one) sends each server its share.
        let mut touched: Vec<usize> = Vec::new();
        for &x in &members {
            let st = &snap.balancers[x];
            if !(fixed_split(st.algorithm) || rotation[x].len() == 1) {
                continue;
            }
            let def = &world.balancers[x];
            let ks = snap.serving(world, x);
            let total: f64 = ks.iter().map(|&k| f64::from(st.weights[k])).sum();
            for k in ks {
                let s = def.backends[k].server.index();
                fixed[s] += load[x] * f64::from(st.weights[k]) / total;
                touched.push(s);
            }
        }
        let over: Vec<usize> = servers.iter().copied().filter(|&s| fixed[s] > snap.servers[s].capacity()).collect();
        if !over.is_empty() {
            let detail: Vec<String> = over
                .iter()
                .map(|&s| {
                    format!(
                        "`{}` gets {} and serves {}",
                        world.servers[s].name,
                        rate(fixed[s]),
                        rate(snap.servers[s].capacity())
                    )
                })
                .collect();
            let names: Vec<String> = over.iter().map(|&s| world.servers[s].name.clone()).collect();
            out.push(
                Issue::new(
                    rules::FIXED_SPLIT_OVERLOAD,
                    format!("split {key} {}", names.join(",")),
                    format!("{who} splits its traffic without looking at load, and {}", list(&detail, 3)),
                )
                .after(format!("makes {who} overload a server: {}", list(&detail, 3)))
                .at(at),
            );
        }
        for s in touched {
            fixed[s] = 0.0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::check_world;
    use crate::model::compile;
    use crate::scenario::{ScenarioSource, parse};
    use std::path::Path;

    /// (rule, message) of each capacity or balancer finding of `text`.
    fn found(text: &str) -> Vec<(&'static str, String)> {
        let src = ScenarioSource::from_text(Path::new("t.yaml"), text.to_string());
        let scenario = parse(&src).unwrap();
        let world = compile(&scenario, &src).unwrap();
        check_world(&world, &scenario, &src)
            .into_iter()
            .filter(|f| f.rule.id.starts_with("CAP") || f.rule.id.starts_with("BAL"))
            .map(|f| (f.rule.id, f.message))
            .collect()
    }

    /// Three servers of 100/s and a backup of 50/s.
    fn tier(rate: &str, backends: &str) -> String {
        format!(
            "name: t\nduration: 10m\nclients:\n  web: {{target: lb, rate: {rate}}}\nbalancers:\n  lb: {{algorithm: least_connections, backends: {backends}, backup: [spare]}}\nservers:\n  s{{1..3}}: {{workers: 1, service: {{constant: 10ms}}}}\n  spare: {{workers: 1, service: {{constant: 20ms}}}}\n"
        )
    }

    #[test]
    fn a_backup_waits_while_other_servers_serve() {
        // 350/s on three of 100/s: over capacity, though the backup would make 350.
        let f = found(&tier("350/s", "[s1, s2, s3, spare]"));
        assert_eq!(
            f,
            [(
                "CAP001",
                "balancer `lb` is offered 350/s at the peak, but its rotation (3 servers) can serve 300/s: 117% busy"
                    .to_string()
            )]
        );
        // 250/s: with one of three out the other two serve 200/s; the backup does not step in.
        let f = found(&tier("250/s", "[s1, s2, s3, spare]"));
        assert_eq!(f, [("CAP002", "balancer `lb` is offered 250/s at the peak; with its largest server out, the other 2 serve 200/s (125% busy)".to_string())]);
    }

    #[test]
    fn a_backup_is_the_n_plus_one_of_a_single_server() {
        assert_eq!(found(&tier("40/s", "[s1, spare]")), []);
        let f = found(&tier("60/s", "[s1, spare]"));
        assert_eq!(f, [("CAP002", "balancer `lb` is offered 60/s at the peak; with its largest server out, its backup serves 50/s (120% busy)".to_string())]);
    }

    #[test]
    fn weights_are_shared_among_the_servers_that_are_not_backups() {
        let text =
            tier("50/s", "[s1, s2, spare]").replace("backup: [spare]", "backup: [spare], weights: {s1: 2, spare: 5}");
        // s1 has 2 of 3, not 2 of 8 (nor does the backup dominate).
        let f = found(&text);
        assert_eq!(f, [("BAL002", "balancer `lb`'s weights give s1 67% of its traffic (2 of 3)".to_string())]);
    }
}
