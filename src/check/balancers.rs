//! Balancer rules: one backend in rotation (`BAL001`), a dominant weight
//! (`BAL002`), no backend that can serve (`BAL003`), no health checks where
//! servers can fail (`BAL004`), a down server kept in rotation (`BAL005`).

use super::locate::Locator;
use super::rules;
use super::state::Snapshot;
use super::{Issue, list};
use crate::balancer::AlgorithmKind;
use crate::model::{Change, ServerAction, World};

/// The balancers some client group sends to.
pub(crate) fn targeted(world: &World) -> Vec<bool> {
    let mut used = vec![false; world.balancers.len()];
    for c in &world.clients {
        for &(b, _) in &c.targets {
            used[b as usize] = true;
        }
    }
    used
}

/// The rules on one state of the balancers.
pub(crate) fn state(world: &World, snap: &Snapshot, loc: &Locator<'_>) -> Vec<Issue> {
    let mut out = Vec::new();
    let used = targeted(world);
    for (bi, (def, st)) in world.balancers.iter().zip(&snap.balancers).enumerate() {
        if !used[bi] || st.down {
            continue;
        }
        let at = loc.balancer(bi);
        let name = &def.name;
        let server = |k: usize| world.servers[def.backends[k].server.index()].name.clone();
        let rotation: Vec<usize> = st.in_rotation().collect();
        let up: Vec<usize> =
            rotation.iter().copied().filter(|&k| snap.servers[def.backends[k].server.index()].up).collect();
        if up.is_empty() {
            let why = if rotation.is_empty() {
                "no server is in rotation with a weight above 0".to_string()
            } else {
                let names: Vec<String> = rotation.iter().map(|&k| server(k)).collect();
                format!("{} {} down", list(&names, 4), if names.len() == 1 { "is" } else { "are" })
            };
            out.push(
                Issue::new(
                    rules::NO_USABLE_BACKEND,
                    format!("balancer {name}"),
                    format!("balancer `{name}` has no backend that can serve: {why}"),
                )
                .after(format!("leaves balancer `{name}` with no backend that can serve: {why}"))
                .at(at),
            );
            continue;
        }
        if rotation.len() == 1 {
            let only = server(rotation[0]);
            out.push(
                Issue::new(
                    rules::SINGLE_BACKEND,
                    format!("balancer {name}"),
                    format!("balancer `{name}` has one backend in rotation ({only})"),
                )
                .after(format!("leaves balancer `{name}` with one backend in rotation ({only})"))
                .at(at),
            );
        } else if st.algorithm != AlgorithmKind::First {
            // Weights share out the traffic among the backends that are not
            // backups (a backup waits until none of them is usable).
            let backup = |k: &usize| def.backends[*k].backup;
            let serving: Vec<usize> = if rotation.iter().all(backup) {
                rotation.clone()
            } else {
                rotation.iter().copied().filter(|k| !backup(k)).collect()
            };
            let total: u64 = serving.iter().map(|&k| u64::from(st.weights[k])).sum();
            if let Some(&top) = serving.iter().max_by_key(|&&k| st.weights[k])
                && serving.len() > 1
            {
                let share = f64::from(st.weights[top]) / total as f64;
                if share > 0.5 {
                    let pct = format!("{:.0}%", 100.0 * share);
                    out.push(
                        Issue::new(
                            rules::DOMINANT_WEIGHT,
                            format!("balancer {name} weights"),
                            format!(
                                "balancer `{name}`'s weights give {} {pct} of its traffic ({} of {total})",
                                server(top),
                                st.weights[top]
                            ),
                        )
                        .after(format!(
                            "gives {} {pct} of balancer `{name}`'s traffic ({} of {total})",
                            server(top),
                            st.weights[top]
                        ))
                        .at(at),
                    );
                }
            }
        }
        if def.health_check.is_none() && def.outlier.is_none() {
            // `up` is `rotation` less the servers down: test each one's state, not
            // membership of `up` (quadratic: minutes at a million backends).
            for &k in rotation.iter().filter(|&&k| !snap.servers[def.backends[k].server.index()].up) {
                let s = server(k);
                out.push(
                    Issue::new(
                        rules::DOWN_BACKEND,
                        format!("balancer {name} down {s}"),
                        format!(
                            "server `{s}` is down but in the rotation of balancer `{name}`, which has no health checks"
                        ),
                    )
                    .after(format!("puts server `{s}`, which is down, in the rotation of balancer `{name}`"))
                    .at(at),
                );
            }
        }
    }
    out
}

/// `BAL004`: balancers without health checks or outlier detection whose
/// servers can fail in this scenario (a crash rule, an error rate, down at
/// the start, or a timeline crash, restart or error rate).
pub(crate) fn standing(world: &World, loc: &Locator<'_>) -> Vec<Issue> {
    let mut why_fails: Vec<Option<&'static str>> = world
        .servers
        .iter()
        .map(|s| {
            if s.crash.is_some() {
                Some("crash when overloaded")
            } else if s.initially_down {
                Some("start down")
            } else if s.error_rate > 0.0 {
                Some("answer with errors")
            } else {
                None
            }
        })
        .collect();
    for t in &world.timeline {
        if let Change::Server { servers, action, error_rate, .. } = &t.change {
            let what = match action {
                Some(ServerAction::Crash) => Some("crash in the timeline"),
                Some(ServerAction::Restart) => Some("restart in the timeline"),
                None if error_rate.is_some_and(|r| r > 0.0) => Some("answer with errors in the timeline"),
                None => None,
            };
            if let Some(w) = what {
                for s in servers {
                    why_fails[s.index()].get_or_insert(w);
                }
            }
        }
    }
    let used = targeted(world);
    let mut out = Vec::new();
    for (bi, def) in world.balancers.iter().enumerate() {
        if !used[bi] || def.health_check.is_some() || def.outlier.is_some() {
            continue;
        }
        let failing: Vec<(String, &str)> = def
            .backends
            .iter()
            .filter_map(|be| why_fails[be.server.index()].map(|w| (world.servers[be.server.index()].name.clone(), w)))
            .collect();
        let Some((_, reason)) = failing.first() else { continue };
        let names: Vec<String> = failing.iter().map(|(n, _)| n.clone()).collect();
        out.push(
            Issue::new(
                rules::HEALTH_BLIND,
                format!("balancer {}", def.name),
                format!(
                    "balancer `{}` has no health checks or outlier detection, and its servers can fail: {} ({reason})",
                    def.name,
                    list(&names, 4)
                ),
            )
            .at(loc.balancer(bi)),
        );
    }
    out
}
