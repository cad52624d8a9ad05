//! Stage: model. Compiles the `servers:` section: each entry (a name, a
//! `{..}` range or a counted group) into its [`ServerDef`]s and a
//! [`ServerGroup`] that remembers the entry.

use std::path::Path;
use std::sync::Arc;

use crate::error::Error;
use crate::model::{Ctx, ServerDef, ServerGroup, resilience};
use crate::scenario::Scenario;
use crate::scenario::names::{NameIndex, Pattern};
use crate::time::NANOS_PER_SEC;

/// The servers in file order, and the entries they were declared in;
/// `patterns` holds each entry's names, counted and checked against the
/// limits.
pub(super) fn compile_servers(
    cx: &Ctx<'_>,
    s: &Scenario,
    base_dir: &Path,
    patterns: Vec<Pattern>,
) -> Result<(Vec<ServerDef>, Vec<ServerGroup>), Error> {
    let src = cx.src;
    let total = patterns.iter().map(Pattern::count).sum::<u64>();
    let mut servers: Vec<ServerDef> = Vec::new();
    if servers.try_reserve_exact(usize::try_from(total).unwrap_or(usize::MAX)).is_err() {
        return Err(src.error_at(
            0,
            1,
            format!("there is not enough memory for {} servers", crate::units::thousands(total)),
            None,
        ));
    }
    let mut server_groups: Vec<ServerGroup> = Vec::new();
    for ((key, spec), pattern) in s.servers.iter().zip(patterns) {
        let workers = match &spec.workers {
            Some(w) if w.value == 0 => {
                return Err(cx.err(w, "a server needs at least 1 worker", None));
            }
            Some(w) => w.value,
            None => 1,
        };
        let queue_limit = spec.queue_limit.as_ref().map_or(u64::MAX, |q| q.value);
        let service = cx.dist(&spec.service.value, base_dir).map_err(|m| cx.err(&spec.service, m, None))?;
        let restart_time = match &spec.restart_time {
            Some(r) => r.value.nanos(),
            None => 30 * NANOS_PER_SEC,
        };
        let cold_start = spec.cold_start.as_ref().map(|c| resilience::cold_start(cx, c)).transpose()?.map(Arc::new);
        let degrade = spec.degrade.as_ref().map(|d| resilience::degrade(cx, d)).transpose()?.map(Arc::new);
        let crash =
            spec.crash.as_ref().map(|c| resilience::crash(cx, c, key, workers, queue_limit)).transpose()?.map(Arc::new);
        let error_rate = spec.error_rate.as_ref().map_or(0.0, |e| e.value.fraction());
        let first = servers.len() as u32;
        for n in pattern.names() {
            servers.push(ServerDef {
                name: n,
                workers,
                queue_limit,
                service: service.clone(),
                error_rate,
                restart_time,
                cold_start: cold_start.clone(),
                degrade: degrade.clone(),
                crash: crash.clone(),
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

/// The servers' names indexed for lookup; a name declared twice is an
/// error at the entry that declares it the second time.
pub(super) fn index<'a>(
    cx: &Ctx<'_>,
    s: &Scenario,
    servers: &'a [ServerDef],
    groups: &[ServerGroup],
) -> Result<NameIndex<'a>, Error> {
    let index = NameIndex::new(servers.iter().map(|d| d.name.as_str()));
    if let Some(i) = index.first_repeat() {
        let entry = groups.partition_point(|g| g.servers.end as usize <= i);
        let (key, _) = &s.servers.0[entry];
        return Err(cx.err(key, format!("server `{}` is defined twice", servers[i].name), None));
    }
    Ok(index)
}
