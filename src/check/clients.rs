//! Client rules: retries that can multiply the load without a budget
//! (`CLI001`), and timeouts shorter than the service's p99 (`CLI002`).

use super::locate::Locator;
use super::state::Snapshot;
use super::{Issue, rules};
use crate::model::World;
use crate::time::format_duration;

/// Attempts per request above which retries need a budget.
const MAX_UNBUDGETED_FACTOR: u32 = 2;

pub(crate) fn check(world: &World, loc: &Locator<'_>) -> Vec<Issue> {
    let mut out = Vec::new();
    let snap = Snapshot::base(world);
    for (c, def) in world.clients.iter().enumerate() {
        let spec = loc.scenario().clients.0.get(c).map(|(_, s)| s);
        if let Some(r) = &def.retry
            && r.attempts > MAX_UNBUDGETED_FACTOR
            && r.budget.is_none()
        {
            let at = spec.and_then(|s| s.retry.as_ref()).map(|r| r.attempts.referenced).or(loc.client(c));
            out.push(
                Issue::new(
                    rules::RETRY_AMPLIFICATION,
                    format!("retries {}", def.name),
                    format!(
                        "client group `{}` makes up to {} attempts per request with no retry budget: up to {}x the load when its servers fail",
                        def.name, r.attempts, r.attempts
                    ),
                )
                .at(at),
            );
        }
        // The slowest p99 among the servers the group's balancers send to.
        let mut worst: Option<(f64, &str)> = None;
        for &(b, _) in &def.targets {
            let bal = &world.balancers[b as usize];
            for k in snap.balancers[b as usize].in_rotation() {
                let s = bal.backends[k].server.index();
                if let Some(p99) = snap.servers[s].p99_s
                    && worst.is_none_or(|(w, _)| p99 > w)
                {
                    worst = Some((p99, world.servers[s].name.as_str()));
                }
            }
        }
        let Some((p99, server)) = worst else { continue };
        let p99_ns = (p99 * 1e9) as u64;
        let per_try = def.retry.as_ref().and_then(|r| r.per_try_timeout);
        for (what, timeout, at) in [
            ("times out", def.timeout, spec.and_then(|s| s.timeout.as_ref()).map(|t| t.referenced)),
            (
                "gives up on a try",
                per_try,
                spec.and_then(|s| s.retry.as_ref()).and_then(|r| r.per_try_timeout.as_ref()).map(|t| t.referenced),
            ),
        ] {
            if let Some(t) = timeout
                && t < p99_ns
            {
                out.push(
                    Issue::new(
                        rules::TIMEOUT_BELOW_P99,
                        format!("timeout {} {what}", def.name),
                        format!(
                            "client group `{}` {what} after {}, but `{server}`'s service time has a p99 of {}",
                            def.name,
                            format_duration(t),
                            format_duration(p99_ns)
                        ),
                    )
                    .at(at.or(loc.client(c))),
                );
            }
        }
    }
    out
}
