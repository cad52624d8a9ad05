//! Stage: model. The scenario's limits ([`crate::limits`]) read from its
//! `limits:` section and checked where the compiler first knows each value:
//! the entities a scenario declares (counted from its patterns before any
//! server exists) and the size of the time series a run would write.

use super::RunSettings;
use crate::clock::WallClock;
use crate::error::Error;
use crate::limits::{ALLOW_LARGE_RUN, Limit, Limits, human_bytes};
use crate::metrics::series::format_value;
use crate::metrics::snapshot::{BalancerMetric, ClientMetric, GlobalMetric, ServerMetric, SubnetMetric};
use crate::model::alerts::EntityIndex;
use crate::model::{ArrivalKind, BalancerDef, ClientDef, Ctx, Load, SeriesGuard, ServerDef};
use crate::scenario::names::{Pattern, closest};
use crate::scenario::{LimitValue, Scenario, ScenarioSource, server_pattern};
use crate::time::{NANOS_PER_SEC, SimTime};
use crate::units::thousands;

/// The limits in force: the defaults, with what `limits:` raises or lowers.
pub(super) fn compile_limits(src: &ScenarioSource, s: &Scenario) -> Result<Limits, Error> {
    let mut limits = Limits::default();
    for (key, v) in s.limits.iter() {
        let name = key.value.as_str();
        match (name, v.value) {
            (ALLOW_LARGE_RUN, LimitValue::Flag(b)) => limits.allow_large_run = b,
            (ALLOW_LARGE_RUN, LimitValue::Number(_)) => {
                return Err(src.error_at_location(&v.referenced, "`allow_large_run` is `true` or `false`", None));
            }
            (_, value) => {
                let Some(limit) = Limit::parse(name) else {
                    let all = Limit::names();
                    let help = match closest(name, all.split(", ")) {
                        Some(n) => format!("did you mean `{n}`? limits: {all}"),
                        None => format!("limits: {all}"),
                    };
                    return Err(src.error_at_location(&key.referenced, format!("unknown limit `{name}`"), Some(help)));
                };
                let LimitValue::Number(n) = value else {
                    return Err(src.error_at_location(
                        &v.referenced,
                        format!("the `{name}` limit is a whole number of {}", limit.unit()),
                        None,
                    ));
                };
                limits.set(limit, n);
            }
        }
    }
    Ok(limits)
}

/// Counts every entity the scenario declares, servers by their patterns
/// (arithmetic: nothing is expanded), and checks the total against the
/// `entities` limit; the refusal is located at the server entry that takes
/// the total over it. Returns each server entry's pattern.
pub(super) fn check_entities(cx: &Ctx<'_>, s: &Scenario) -> Result<Vec<Pattern>, Error> {
    let subnets: usize = s.clients.iter().map(|(_, c)| c.subnets.len()).sum();
    let network = s.network.as_ref().map_or(0, |n| n.routers.len() + n.switches.len());
    let others = (s.balancers.len() + s.clients.len() + subnets + network) as u64;
    let patterns = s
        .servers
        .iter()
        .map(|(key, spec)| server_pattern(key, spec).map_err(|e| cx.src.error_at_location(&e.at, e.message, e.help)))
        .collect::<Result<Vec<Pattern>, Error>>()?;
    let total = patterns.iter().fold(others, |n, p| n.saturating_add(p.count()));
    let Err(over) = cx.limits.check(Limit::Entities, total) else {
        return Ok(patterns);
    };
    let in_all = format!(
        "the scenario declares {} entities in all (servers, balancers, client groups, subnets, routers and switches), {}",
        thousands(total),
        over.over()
    );
    let mut running = others;
    for ((key, spec), p) in s.servers.iter().zip(&patterns) {
        running = running.saturating_add(p.count());
        if running > over.max {
            let message = format!("`{}` declares {} servers; {in_all}", key.value, thousands(p.count()));
            // At the pattern, or at the count of a counted group.
            let at = spec.count.as_ref().map_or(key.referenced, |c| c.referenced);
            return Err(cx.src.error_at_location(&at, message, Some(over.help())));
        }
    }
    Err(cx.src.error_at(0, 1, in_all, Some(over.help())))
}

/// The time series a run would write, estimated before it starts: rows
/// (intervals x entities x metrics) and bytes of `timeseries.csv`, checked
/// against the `series_bytes` limit. The run's length is its `duration`, or
/// the time the open-loop groups take to send `requests` (the first to get
/// there alone: a lower bound); a run bounded only by the requests of
/// closed-loop groups has no length to estimate and is not checked.
///
/// Returns the series guard's measure: the bytes an interval at the start
/// of the run writes, a lower bound for every later one (whose time is
/// longer to write), and how many such intervals the limit has room for.
/// The guard stops a run past them, which a run checked here never gets.
pub(super) fn check_series(
    cx: &Ctx<'_>,
    s: &Scenario,
    run: &RunSettings,
    clients: &[ClientDef],
    names: &EntityIndex<'_>,
    clock: Option<&WallClock>,
) -> Result<SeriesGuard, Error> {
    let interval_bytes = SeriesEstimate::of(names, clock, 0).bytes;
    let guard = SeriesGuard { interval_bytes, intervals: cx.limits.get(Limit::SeriesBytes) / interval_bytes.max(1) };
    let Some(length) = run_length(run, clients) else {
        return Ok(guard);
    };
    let intervals = length.div_ceil(run.interval).max(1);
    let estimate = SeriesEstimate::of(names, clock, (intervals - 1).saturating_mul(run.interval));
    let rows = intervals.saturating_mul(estimate.rows);
    let bytes = intervals.saturating_mul(estimate.bytes);
    let Err(over) = cx.limits.check(Limit::SeriesBytes, bytes) else {
        return Ok(guard);
    };
    let message = format!(
        "the time series would have {} intervals of {} rows: {} rows, about {} bytes ({}) of timeseries.csv, {}",
        thousands(intervals),
        thousands(estimate.rows),
        thousands(rows),
        thousands(bytes),
        human_bytes(bytes),
        over.over()
    );
    let help = format!("use a longer `interval` or a shorter run; or {}", over.help());
    let at = s.interval.as_ref().map(|i| i.referenced).or(s.duration.as_ref().map(|d| d.referenced));
    let at = at.or(s.requests.as_ref().map(|r| r.referenced));
    Err(match at {
        Some(at) => cx.src.error_at_location(&at, message, Some(help)),
        None => cx.src.error_at(0, 1, message, Some(help)),
    })
}

/// The simulated length of the run, ns, when it can be known beforehand.
fn run_length(run: &RunSettings, clients: &[ClientDef]) -> Option<u64> {
    let by_duration = (run.end != SimTime::MAX).then_some(run.end.0);
    let by_requests = (run.max_requests != u64::MAX)
        .then(|| {
            clients
                .iter()
                .filter_map(|c| match &c.load {
                    Load::Open { profile, .. } => profile.advance(0.0, run.max_requests as f64),
                    Load::Closed { .. } | Load::Replay(_) => None,
                })
                .map(|secs| (secs * NANOS_PER_SEC as f64).min(u64::MAX as f64) as u64)
                .min()
        })
        .flatten();
    match (by_duration, by_requests) {
        (Some(d), Some(r)) => Some(d.min(r)),
        (d, r) => d.or(r),
    }
}

/// One interval's rows of `timeseries.csv`, and their bytes.
struct SeriesEstimate {
    rows: u64,
    bytes: u64,
}

/// What a value takes in the CSV, on average: a count, a share such as
/// `0.062512` or an empty cell.
const VALUE_BYTES: u64 = 6;

impl SeriesEstimate {
    /// `last_start_ns`: the start of the last interval, whose time is the
    /// longest to write.
    fn of(names: &EntityIndex<'_>, clock: Option<&WallClock>, last_start_ns: u64) -> SeriesEstimate {
        let time = format_value(last_start_ns as f64 / 1e9).len() as u64;
        let clock = clock.map_or(0, |c| c.format(last_start_ns).len() as u64);
        // time,clock,kind,entity,metric,value and the newline.
        let fixed = time + clock + VALUE_BYTES + 6;
        let mut est = SeriesEstimate { rows: 0, bytes: 0 };
        let mut add = |kind: &str, entity_bytes: u64, entities: u64, metrics: &[&str]| {
            let m = metrics.len() as u64;
            let metric_bytes: u64 = metrics.iter().map(|n| n.len() as u64).sum();
            est.rows += entities * m;
            est.bytes += entities * m * (fixed + kind.len() as u64) + entity_bytes * m + entities * metric_bytes;
        };
        let total = |n: &[&str]| n.iter().map(|s| s.len() as u64).sum::<u64>();
        add("global", 3, 1, &GlobalMetric::names());
        add("server", total(names.servers.names()), names.servers.len() as u64, &ServerMetric::names());
        add("balancer", total(names.balancers.names()), names.balancers.len() as u64, &BalancerMetric::names());
        add("client", total(names.clients.names()), names.clients.len() as u64, &ClientMetric::names());
        add("subnet", total(names.subnets.names()), names.subnets.len() as u64, &SubnetMetric::names());
        est
    }
}

/// Checks the work a run asks for before it starts: the requests it is
/// expected to generate (each open-loop group's rate over the run, or the
/// `requests:` budget if smaller), against the `requests` limit. A run
/// bounded only by closed-loop groups' requests is bounded by `requests:`.
pub(super) fn check_requests(
    cx: &Ctx<'_>,
    s: &Scenario,
    run: &RunSettings,
    clients: &[ClientDef],
) -> Result<(), Error> {
    let secs = (run.end != SimTime::MAX).then(|| run.end.0 as f64 / NANOS_PER_SEC as f64);
    let open: f64 = clients
        .iter()
        .map(|c| match (&c.load, secs) {
            (Load::Open { profile, .. }, Some(t)) => profile.mass_until(t),
            (Load::Open { .. }, None) => f64::INFINITY,
            (Load::Closed { .. }, _) => 0.0,
            // A trace is replayed once: its requests, scaled.
            (Load::Replay(r), _) => r.info.requests as f64 * r.scale,
        })
        .sum();
    let expected = if run.max_requests != u64::MAX { open.min(run.max_requests as f64) } else { open };
    let expected = expected.min(u64::MAX as f64) as u64;
    let Err(over) = cx.limits.check(Limit::Requests, expected) else {
        return Ok(());
    };
    let message = format!(
        "the run would generate about {} requests (each client group's rate over the run, summed), {}",
        thousands(expected),
        over.over()
    );
    let help = format!("shorten `duration`, set `requests:`, or lower the rates; or {}", over.help());
    let at = s.duration.as_ref().map(|d| d.referenced).or(s.requests.as_ref().map(|r| r.referenced));
    Err(match at {
        Some(at) => cx.src.error_at_location(&at, message, Some(help)),
        None => cx.src.error_at(0, 1, message, Some(help)),
    })
}

/// Rejects what would stop simulated time: constant arrivals less than a
/// nanosecond apart, and a closed loop in which a request and the think
/// time after it take no time at all (every server it reaches answers in
/// constant 0 s, with no network in between).
pub(super) fn check_zero_time(
    cx: &Ctx<'_>,
    s: &Scenario,
    clients: &[ClientDef],
    balancers: &[BalancerDef],
    servers: &[ServerDef],
    has_network: bool,
) -> Result<(), Error> {
    for ((key, _), c) in s.clients.iter().zip(clients) {
        match &c.load {
            Load::Open { arrival: ArrivalKind::Constant, profile } if profile.peak() > 1e9 => {
                return Err(cx.src.error_at_location(
                    &key.referenced,
                    format!(
                        "client group `{}` sends evenly spaced requests at up to {}/s: less than a nanosecond \
                         apart, so simulated time (kept in whole nanoseconds) would stop advancing",
                        c.name,
                        thousands(profile.peak().min(u64::MAX as f64) as u64)
                    ),
                    Some(
                        "lbsim simulates at most 1,000,000,000 evenly spaced requests per second per group; \
                          use `arrival: poisson` or split the load over groups"
                            .into(),
                    ),
                ));
            }
            Load::Closed { think } if think.is_constant() == Some(0) && !has_network => {
                let instant = |b: &u32| {
                    balancers[*b as usize]
                        .backends
                        .iter()
                        .all(|d| servers[d.server.index()].service.is_constant() == Some(0))
                };
                if !c.targets.is_empty() && c.targets.iter().all(|(b, _)| instant(b)) {
                    return Err(cx.src.error_at_location(
                        &key.referenced,
                        format!(
                            "client group `{}` is a closed loop that takes no time: think time 0 s, and every \
                             server it reaches answers in 0 s, so its users would send requests forever at \
                             one instant and simulated time would stop",
                            c.name
                        ),
                        Some("give `closed_loop.think_time` or the servers' `service` a time above zero".into()),
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The timeline's length, against the `timeline_entries` limit, before
/// any entry is compiled.
pub(super) fn check_timeline(cx: &Ctx<'_>, s: &Scenario) -> Result<(), Error> {
    let n = s.timeline.len() as u64;
    let Err(over) = cx.limits.check(Limit::TimelineEntries, n) else {
        return Ok(());
    };
    let first_over = &s.timeline[over.max as usize];
    Err(cx.src.error_at_location(
        &first_over.at.referenced,
        format!("the timeline has {} entries, {}", thousands(n), over.over()),
        Some(over.help()),
    ))
}
