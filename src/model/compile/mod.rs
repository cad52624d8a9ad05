//! Stage: model. The compiler from a parsed [`Scenario`] to the [`World`]:
//! [`compile`] runs one function per section, in the order the sections
//! depend on each other (run settings, servers, balancers, clients,
//! network, timeline, incident window, monitoring, topology). Every mistake
//! is reported at the place the user wrote it.

mod balancers;
mod clients;
mod limits;
mod replay;
mod servers;
mod topology;

use super::{Ctx, Servers, World, alerts, network, slos, timeline};
use crate::clock::WallClock;
use crate::error::Error;
use crate::model::{Change, ClientDef, TimelineChange};
use crate::scenario::names::NameIndex;
use crate::scenario::{Scenario, ScenarioSource};
use crate::time::{NANOS_PER_SEC, SimTime};

/// Checks a scenario and builds the world from it.
pub fn compile(s: &Scenario, src: &ScenarioSource) -> Result<World, Error> {
    let cx = Ctx { src, limits: limits::compile_limits(src, s)? };
    let base_dir = src.base_dir();
    let mut warnings = Vec::new();
    let run = compile_run(&cx, s)?;
    // Counted, not expanded: nothing of the scenario's size exists yet.
    let patterns = limits::check_entities(&cx, s)?;
    let (servers, server_groups) = servers::compile_servers(&cx, s, &base_dir, patterns)?;
    let server_index = servers::index(&cx, s, &servers, &server_groups)?;
    let all_servers = Servers { defs: &servers, groups: &server_groups, index: &server_index };
    let mut balancers = balancers::compile_balancers(&cx, s, all_servers, &mut warnings)?;
    let clients = clients::compile_clients(&cx, s, &base_dir, &balancers)?;

    let clock = match &s.start {
        Some(st) => Some(WallClock::parse_start(&st.value).map_err(|m| cx.err(st, m, None))?),
        None => None,
    };
    let addrs = network::endpoint_addresses(&cx, s, &servers, &server_groups)?;
    let network = network::compile(&cx, s, s.network.as_ref(), &balancers, &servers, &server_groups, &addrs)?;
    if let Some(net) = &network {
        check_network_timeouts(&cx, s, &clients, net)?;
    }
    limits::check_requests(&cx, s, &run, &clients)?;
    limits::check_zero_time(&cx, s, &clients, &balancers, &servers, network.is_some())?;
    limits::check_timeline(&cx, s)?;
    let timeline =
        timeline::compile(&cx, &s.timeline, clock.as_ref(), all_servers, &mut balancers, &clients, network.as_ref())?;
    warn_after_the_end(&timeline, run.end, &mut warnings);
    let incident_window = compile_incident_window(&cx, s, clock.as_ref(), &timeline, run.end)?;

    let subnet_names = network::subnet_names(&clients, network.as_ref());
    let names = alerts::EntityIndex {
        servers: server_index,
        balancers: NameIndex::new(balancers.iter().map(|b| b.name.as_str())),
        clients: NameIndex::new(clients.iter().map(|c| c.name.as_str())),
        subnets: NameIndex::new(subnet_names.iter().map(String::as_str)),
    };
    let alerts = alerts::compile_alerts(&s.alerts, &names, run.interval, src, &cx.limits)?;
    let slos = slos::compile_slos(&s.slos, clock.as_ref(), src)?;
    check_incident_slos(s, &slos, incident_window, src)?;

    let series_guard = limits::check_series(&cx, s, &run, &clients, &names, clock.as_ref())?;
    drop(names);

    // The graph of who sends to whom, for the servers no client reaches (it
    // is not kept: nothing reads it after this, and at a million servers it
    // is tens of megabytes). A server on the network may be meant only as a
    // wrong destination.
    let topology = topology::build_topology(&clients, &balancers, &servers);
    let linked = |i: usize| network.as_ref().is_some_and(|n| n.attached(n.server_node[i]));
    let unreachable = topology::unreachable_servers(&topology, &servers);
    drop(topology);
    warnings.extend(unreachable.into_iter().filter(|(i, _)| !linked(*i)).map(|(_, w)| w));

    Ok(World {
        name: run.name,
        description: s.description.trim().to_string(),
        seed: s.seed,
        end: run.end,
        max_requests: run.max_requests,
        warmup: run.warmup,
        interval: run.interval,
        slow_threshold: run.slow_threshold,
        clients,
        balancers,
        servers,
        server_groups,
        clock,
        timeline,
        incident_window,
        alerts,
        slos,
        network,
        warnings,
        limits: cx.limits,
        series_guard,
    })
}

/// The run's top-level settings.
struct RunSettings {
    name: String,
    end: SimTime,
    max_requests: u64,
    warmup: SimTime,
    interval: u64,
    slow_threshold: u64,
}

/// The name (it names the output directory), the run's length, the series
/// interval, the warm-up and the slow threshold.
fn compile_run(cx: &Ctx<'_>, s: &Scenario) -> Result<RunSettings, Error> {
    let src = cx.src;
    let name = match &s.name {
        Some(n) => {
            let v = n.value.trim();
            if v.is_empty() || v.contains(['/', '\\']) || v == "." || v == ".." {
                return Err(cx.err(
                    n,
                    format!("`{v}` cannot name an output directory"),
                    Some("use letters, digits, `-` and `_`".into()),
                ));
            }
            v.to_string()
        }
        None => {
            src.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "scenario".to_string())
        }
    };

    let end = match &s.duration {
        Some(d) if d.value.nanos() == 0 => {
            return Err(cx.err(d, "the duration must be longer than zero", None));
        }
        Some(d) => SimTime(d.value.nanos()),
        None => SimTime::MAX,
    };
    let max_requests = match &s.requests {
        Some(r) if r.value == 0 => return Err(cx.err(r, "`requests` must be at least 1", None)),
        Some(r) => r.value,
        None => u64::MAX,
    };
    if s.duration.is_none() && s.requests.is_none() {
        return Err(src.error_at(
            0,
            1,
            "the scenario sets neither `duration` nor `requests`, so it would never end",
            Some("add `duration: 10m` or `requests: 1000000`".into()),
        ));
    }
    let interval = match &s.interval {
        Some(i) if i.value.nanos() < 1_000_000 => {
            return Err(cx.err(i, "the interval must be at least 1ms", None));
        }
        Some(i) => i.value.nanos(),
        None => NANOS_PER_SEC,
    };
    let warmup = match &s.warmup {
        Some(w) if end != SimTime::MAX && w.value.nanos() >= end.0 => {
            return Err(cx.err(w, format!("the warm-up ({}) is not shorter than the duration", w.value), None));
        }
        Some(w) => SimTime(w.value.nanos()),
        None => SimTime::ZERO,
    };
    let slow_threshold = match &s.slow_threshold {
        Some(t) if t.value.nanos() == 0 => {
            return Err(cx.err(t, "the slow threshold must be longer than zero", None));
        }
        Some(t) => t.value.nanos(),
        None => NANOS_PER_SEC,
    };
    Ok(RunSettings { name, end, max_requests, warmup, interval, slow_threshold })
}

/// A group that sends through the network needs a timeout: a request the
/// network drops would otherwise wait forever.
fn check_network_timeouts(
    cx: &Ctx<'_>,
    s: &Scenario,
    clients: &[ClientDef],
    net: &network::Network,
) -> Result<(), Error> {
    for (ci, c) in clients.iter().enumerate() {
        let attached = net.subnets[ci].iter().any(|&n| net.attached(n));
        if attached && c.timeout.is_none() {
            let (key, _) = &s.clients.0[ci];
            return Err(cx.err(
                key,
                format!("client group `{}` sends through the network but has no `timeout`: a request the network drops would wait forever", c.name),
                Some("add a timeout, e.g. `timeout: 30s` (browsers give up after about that)".into()),
            ));
        }
    }
    Ok(())
}

/// Warns about timeline changes the run ends before.
fn warn_after_the_end(timeline: &[TimelineChange], end: SimTime, warnings: &mut Vec<String>) {
    for t in timeline {
        if end != SimTime::MAX && t.at >= end.0 {
            warnings.push(format!(
                "timeline change to {} at {} is after the end of the run",
                t.target,
                crate::time::format_duration(t.at)
            ));
        }
    }
}

/// The `incident_window`, or the default one from the timeline.
fn compile_incident_window(
    cx: &Ctx<'_>,
    s: &Scenario,
    clock: Option<&WallClock>,
    timeline: &[TimelineChange],
    end: SimTime,
) -> Result<Option<(u64, u64)>, Error> {
    Ok(match &s.incident_window {
        Some(w) => {
            let from = w.from.value.resolve(clock).map_err(|m| cx.err(&w.from, m, None))?;
            let until = w.until.value.resolve(clock).map_err(|m| cx.err(&w.until, m, None))?;
            if until <= from {
                return Err(cx.err(&w.until, "the incident window ends before it starts", None));
            }
            Some((from, until))
        }
        None => default_incident_window(timeline, end.0),
    })
}

/// `window: incident` needs an incident.
fn check_incident_slos(
    s: &Scenario,
    compiled: &[slos::Slo],
    incident_window: Option<(u64, u64)>,
    src: &ScenarioSource,
) -> Result<(), Error> {
    for (spec, slo) in s.slos.iter().zip(compiled) {
        if slo.window == slos::SloWindow::Incident && incident_window.is_none() {
            let at = spec.window.as_ref().map_or(spec.objective.referenced, |w| w.referenced);
            return Err(src.error_at_location(
                &at,
                "`window: incident` needs an incident: a `timeline` or an `incident_window`",
                None,
            ));
        }
    }
    Ok(())
}

/// From the first change to the end of the last change's effect (its
/// revert, or the end of the run when something is never reverted).
fn default_incident_window(timeline: &[TimelineChange], end: u64) -> Option<(u64, u64)> {
    let first = timeline.iter().filter(|t| !matches!(t.change, Change::Note)).map(|t| t.at).min()?;
    let mut reverted = vec![false; timeline.len()];
    for t in timeline {
        if let Change::Revert { entry } = t.change {
            reverted[entry] = true;
        }
    }
    let mut last = first;
    for (i, t) in timeline.iter().enumerate() {
        let effect_end = match (&t.change, t.revert_at) {
            (Change::Note, _) => first,
            // Neither can have a `duration` or `until`.
            (c, _) if c.is_instant() => t.at,
            (_, Some(r)) => r,
            _ if reverted[i] => t.at,
            _ => end,
        };
        last = last.max(effect_end);
    }
    (last > first).then_some((first, last.min(end)))
}

#[cfg(test)]
mod tests;
