//! Stage: model. Compiles the `servers:` section: each entry (a name, a
//! `{..}` range or a counted group) into its [`ServerDef`]s and a
//! [`ServerGroup`] that remembers the entry.

use std::path::Path;

use crate::error::Error;
use crate::model::{Ctx, ServerDef, ServerGroup, resilience};
use crate::scenario::Scenario;
use crate::time::NANOS_PER_SEC;

/// The servers in file order, and the entries they were declared in.
pub(super) fn compile_servers(
    cx: &Ctx<'_>,
    s: &Scenario,
    base_dir: &Path,
) -> Result<(Vec<ServerDef>, Vec<ServerGroup>), Error> {
    let src = cx.src;
    let mut servers: Vec<ServerDef> = Vec::new();
    let mut server_names: Vec<String> = Vec::new();
    let mut server_groups: Vec<ServerGroup> = Vec::new();
    for (key, spec) in s.servers.iter() {
        let expanded =
            crate::scenario::server_names(key, spec).map_err(|e| src.error_at_location(&e.at, e.message, e.help))?;
        let workers = match &spec.workers {
            Some(w) if w.value == 0 => {
                return Err(cx.err(w, "a server needs at least 1 worker", None));
            }
            Some(w) => w.value,
            None => 1,
        };
        let queue_limit = spec.queue_limit.as_ref().map_or(u64::MAX, |q| q.value);
        let service = spec.service.value.compile(base_dir).map_err(|m| cx.err(&spec.service, m, None))?;
        let restart_time = match &spec.restart_time {
            Some(r) => r.value.nanos(),
            None => 30 * NANOS_PER_SEC,
        };
        let cold_start = spec.cold_start.as_ref().map(|c| resilience::cold_start(cx, c)).transpose()?;
        let degrade = spec.degrade.as_ref().map(|d| resilience::degrade(cx, d)).transpose()?;
        let crash = spec.crash.as_ref().map(|c| resilience::crash(cx, c, key, workers, queue_limit)).transpose()?;
        let error_rate = spec.error_rate.as_ref().map_or(0.0, |e| e.value.fraction());
        let first = servers.len() as u32;
        for n in expanded {
            if server_names.contains(&n) {
                return Err(cx.err(key, format!("server `{n}` is defined twice"), None));
            }
            server_names.push(n.clone());
            servers.push(ServerDef {
                name: n,
                workers,
                queue_limit,
                service: service.clone(),
                error_rate,
                restart_time,
                cold_start,
                degrade,
                crash,
                initially_down: spec.down,
            });
        }
        server_groups.push(ServerGroup {
            name: key.value.clone(),
            servers: first..servers.len() as u32,
            counted: spec.count.is_some(),
        });
    }
    if servers.is_empty() {
        return Err(src.error_at(0, 1, "the scenario defines no servers", Some("add a `servers:` section".into())));
    }

    Ok((servers, server_groups))
}
