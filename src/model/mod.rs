//! The compiled world: integer ids, flat vectors and the topology graph,
//! built from a [`Scenario`] after checking every name and value.
//!
//! Every semantic mistake (an unknown server, a client that reaches no
//! balancer, a zero worker count) is reported at the place the user wrote
//! it, through the scenario source's location mapping.

pub mod alerts;
pub mod arrivals;
pub mod network;
pub mod profile;
pub mod resilience;
pub mod slos;
#[cfg(test)]
pub(crate) mod test_monitoring;
pub mod timeline;

use std::path::Path;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::Dfs;
use serde_saphyr::Spanned;

use crate::balancer::{AlgorithmKind, AlgorithmParams};
use crate::dist::Dist;
use crate::error::Error;
use crate::scenario::names::{self, ResolveError};
use crate::scenario::{Scenario, ScenarioSource};
use crate::time::{NANOS_PER_SEC, SimTime};

pub use arrivals::{ArrivalKind, Popularity};
pub use profile::{RateProfile, Segment};
pub use resilience::{
    AllUnhealthy, Budget, ColdStart, CrashRule, Degrade, HealthCheck, Jitter, Outlier, RetryOn, RetryPolicy,
    TargetPolicy,
};
use timeline::undone_at;
pub use timeline::{Change, NetOp, ServerAction, TimelineChange};

use crate::clock::WallClock;

pub type ClientId = u32;
pub type BalancerId = u32;
pub type ServerId = u32;

/// A server as compiled.
#[derive(Clone, Debug)]
pub struct ServerDef {
    pub name: String,
    pub workers: u32,
    /// Requests that may wait for a worker (u64::MAX: unlimited).
    pub queue_limit: u64,
    pub service: Dist,
    /// Share of requests answered at once with a 5xx.
    pub error_rate: f64,
    /// Time from a crash or restart to being back up, ns.
    pub restart_time: u64,
    pub cold_start: Option<ColdStart>,
    pub degrade: Option<Degrade>,
    pub crash: Option<CrashRule>,
    /// Not running at the start.
    pub initially_down: bool,
}

/// One entry under `servers:` as declared: a single name, a range pattern
/// (`web-{01..05}`) or a counted group (`app: {count: 24}`).
#[derive(Clone, Debug)]
pub struct ServerGroup {
    /// The key as written (`app`, `web-{01..05}`, `web-06`).
    pub name: String,
    /// The group's server ids, contiguous in declaration order.
    pub servers: std::ops::Range<u32>,
    /// Declared with `count:` (so `servers.<name>.count` is settable).
    pub counted: bool,
}

/// Resolves a reference to servers (a balancer's backends or weights, a
/// timeline target): the name of a counted group means all of its servers,
/// unless a server is itself named that; anything else is a name, pattern or
/// glob as [`names::resolve`] reads it.
pub fn resolve_servers(
    reference: &str,
    server_names: &[String],
    groups: &[ServerGroup],
) -> Result<Vec<usize>, ResolveError> {
    if !server_names.iter().any(|n| n == reference)
        && let Some(g) = groups.iter().find(|g| g.counted && g.name == reference)
    {
        return Ok(g.servers.clone().map(|i| i as usize).collect());
    }
    names::resolve(reference, server_names)
}

/// One backend of a balancer.
#[derive(Clone, Debug)]
pub struct BackendDef {
    pub server: ServerId,
    pub weight: u32,
    pub max_conn: u32,
    /// In rotation at the start (false for servers only the timeline adds).
    pub member: bool,
}

/// Checks that block timeline changes.
#[derive(Clone, Copy, Debug)]
pub struct Validation {
    pub min_backends: u32,
    pub max_weight_share: f64,
    pub require_healthy: bool,
}

#[derive(Clone, Debug)]
pub struct BalancerDef {
    pub name: String,
    pub algorithm: AlgorithmKind,
    pub params: AlgorithmParams,
    pub backends: Vec<BackendDef>,
    pub health_check: Option<HealthCheck>,
    pub outlier: Option<Outlier>,
    pub on_all_unhealthy: AllUnhealthy,
    /// Panic when fewer than this share of backends are usable.
    pub panic_threshold: f64,
    pub validation: Option<Validation>,
}

/// How a client group generates requests.
#[derive(Clone, Debug)]
pub enum Load {
    /// Open loop: arrivals follow the rate profile regardless of responses.
    Open { arrival: ArrivalKind, profile: RateProfile },
    /// Closed loop: each user waits for a response, thinks, and sends again.
    Closed { think: Dist },
}

#[derive(Clone, Debug)]
pub struct ClientDef {
    pub name: String,
    /// Balancers and their weights, in order.
    pub targets: Vec<(BalancerId, u32)>,
    pub target_policy: TargetPolicy,
    /// Failover: time clients keep using a balancer after it went down, ns.
    pub failover_after: u64,
    pub retry: Option<RetryPolicy>,
    pub load: Load,
    pub users: u64,
    pub popularity: Popularity,
    /// Client timeout in nanoseconds.
    pub timeout: Option<u64>,
}

/// A node of the topology graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeRef {
    Client(ClientId),
    Balancer(BalancerId),
    Server(ServerId),
}

/// Everything the simulator needs, checked and indexed.
#[derive(Clone, Debug)]
pub struct World {
    pub name: String,
    pub description: String,
    pub seed: u64,
    /// End of the run (SimTime::MAX when only `requests` bounds it).
    pub end: SimTime,
    /// Stop generating after this many requests (u64::MAX: no limit).
    pub max_requests: u64,
    pub warmup: SimTime,
    /// Length of one time-series interval, ns.
    pub interval: u64,
    /// Responses slower than this count as slow for their user, ns.
    pub slow_threshold: u64,
    pub clients: Vec<ClientDef>,
    pub balancers: Vec<BalancerDef>,
    pub servers: Vec<ServerDef>,
    /// The entries under `servers:`, in file order, each with its servers.
    pub server_groups: Vec<ServerGroup>,
    /// Wall-clock time of the start, when the scenario sets `start`.
    pub clock: Option<WallClock>,
    pub timeline: Vec<TimelineChange>,
    /// (from, until) ns: the period "within the incident" figures cover.
    pub incident_window: Option<(u64, u64)>,
    pub alerts: Vec<alerts::AlertRule>,
    pub slos: Vec<slos::Slo>,
    /// Routers, switches, links and addresses (None: every hop is instant).
    pub network: Option<network::Network>,
    /// Clients -> balancers -> servers.
    pub topology: DiGraph<NodeRef, ()>,
    /// Things that are allowed but probably not intended.
    pub warnings: Vec<String>,
}

impl World {
    pub fn server_index(&self, name: &str) -> Option<ServerId> {
        self.servers.iter().position(|s| s.name == name).map(|i| i as ServerId)
    }
    /// The declared names of the entities with per-entity metrics.
    pub fn entity_names(&self) -> alerts::EntityNames {
        entity_names(&self.servers, &self.balancers, &self.clients, self.network.as_ref())
    }
    pub fn balancer_index(&self, name: &str) -> Option<BalancerId> {
        self.balancers.iter().position(|s| s.name == name).map(|i| i as BalancerId)
    }
}

fn entity_names(
    servers: &[ServerDef],
    balancers: &[BalancerDef],
    clients: &[ClientDef],
    network: Option<&network::Network>,
) -> alerts::EntityNames {
    alerts::EntityNames {
        servers: servers.iter().map(|s| s.name.clone()).collect(),
        balancers: balancers.iter().map(|b| b.name.clone()).collect(),
        clients: clients.iter().map(|c| c.name.clone()).collect(),
        subnets: network::subnet_names(clients, network),
    }
}

/// Reads, overrides, parses and compiles a scenario file.
pub fn load(
    path: &Path,
    overrides: &[crate::scenario::Override],
    seed: Option<u64>,
) -> Result<(World, ScenarioSource), Error> {
    load_source(ScenarioSource::read(path)?, overrides, seed)
}

/// Applies overrides to a scenario already read, then parses and compiles
/// it (a sweep reads its file once and loads each point from it).
pub fn load_source(
    mut source: ScenarioSource,
    overrides: &[crate::scenario::Override],
    seed: Option<u64>,
) -> Result<(World, ScenarioSource), Error> {
    source.apply_overrides(overrides)?;
    let mut scenario = crate::scenario::parse(&source)?;
    if let Some(seed) = seed {
        scenario.seed = seed;
    }
    let world = compile(&scenario, &source)?;
    Ok((world, source))
}

/// Compiles a scenario text (for tests and built-in scenarios).
pub fn load_str(name: &str, text: &str) -> Result<World, Error> {
    let source = ScenarioSource::from_text(Path::new(name), text.to_string());
    let scenario = crate::scenario::parse(&source)?;
    compile(&scenario, &source)
}

struct Ctx<'a> {
    src: &'a ScenarioSource,
}

impl Ctx<'_> {
    fn err<T>(&self, at: &Spanned<T>, message: impl Into<String>, help: Option<String>) -> Error {
        self.src.error_at_location(&at.referenced, message, help)
    }
}

/// The compiled servers and the groups they were declared in.
#[derive(Clone, Copy)]
struct Servers<'a> {
    defs: &'a [ServerDef],
    groups: &'a [ServerGroup],
}

fn did_you_mean<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let all: Vec<&str> = candidates.into_iter().collect();
    match names::closest(wanted, all.iter().copied()) {
        Some(n) => Some(format!("did you mean `{n}`?")),
        None if all.len() <= 12 => Some(format!("defined: {}", all.join(", "))),
        None => None,
    }
}

/// Checks a scenario and builds the world from it.
pub fn compile(s: &Scenario, src: &ScenarioSource) -> Result<World, Error> {
    let cx = Ctx { src };
    let base_dir = src.base_dir();
    let mut warnings = Vec::new();

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

    // Run length.
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

    // Servers first: balancers refer to them.
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
        let service = spec.service.value.compile(&base_dir).map_err(|m| cx.err(&spec.service, m, None))?;
        let restart_time = match &spec.restart_time {
            Some(r) => r.value.nanos(),
            None => 30 * NANOS_PER_SEC,
        };
        let cold_start = spec.cold_start.as_ref().map(|c| resilience::cold_start(&cx, c)).transpose()?;
        let degrade = spec.degrade.as_ref().map(|d| resilience::degrade(&cx, d)).transpose()?;
        let crash = spec.crash.as_ref().map(|c| resilience::crash(&cx, c, key, workers, queue_limit)).transpose()?;
        let error_rate = spec.error_rate.as_ref().map_or(0.0, |e| e.value.fraction());
        let first = servers.len() as ServerId;
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
            servers: first..servers.len() as ServerId,
            counted: spec.count.is_some(),
        });
    }
    if servers.is_empty() {
        return Err(src.error_at(0, 1, "the scenario defines no servers", Some("add a `servers:` section".into())));
    }

    // Balancers.
    let mut balancers: Vec<BalancerDef> = Vec::new();
    for (key, spec) in s.balancers.iter() {
        if key.value.contains(['{', '*']) {
            return Err(cx.err(key, "balancer names cannot be patterns", None));
        }
        let mut params = AlgorithmParams::default();
        if let Some(c) = &spec.choices {
            if c.value == 0 {
                return Err(cx.err(c, "`choices` must be at least 1", None));
            }
            if spec.algorithm != AlgorithmKind::PowerOfTwoChoices {
                return Err(cx.err(c, "`choices` only applies to power_of_two_choices", None));
            }
            params.choices = c.value;
        }
        if let Some(v) = &spec.vnodes {
            if v.value == 0 || v.value > 10_000 {
                return Err(cx.err(v, "`vnodes` must be between 1 and 10000", None));
            }
            if spec.algorithm != AlgorithmKind::ConsistentHash {
                return Err(cx.err(v, "`vnodes` only applies to consistent_hash", None));
            }
            params.vnodes = v.value;
        }
        if let Some(m) = &spec.max_conn
            && m.value == 0
        {
            return Err(cx.err(m, "`max_conn` must be at least 1", None));
        }
        let mut backends: Vec<BackendDef> = Vec::new();
        if spec.backends.is_empty() {
            return Err(cx.err(
                key,
                format!("balancer `{}` has no backends", key.value),
                Some("list servers under `backends:`".into()),
            ));
        }
        for reference in &spec.backends {
            let found = resolve_servers(&reference.value, &server_names, &server_groups).map_err(|e| match e {
                ResolveError::Pattern(m) => cx.err(reference, m, None),
                ResolveError::Unknown(n) => cx.err(
                    reference,
                    format!("unknown server `{n}` in the backends of balancer `{}`", key.value),
                    did_you_mean(&n, server_names.iter().map(String::as_str)),
                ),
                ResolveError::NoMatch(p) => cx.err(reference, format!("no server matches `{p}`"), None),
            })?;
            for id in found {
                if backends.iter().any(|b| b.server == id as ServerId) {
                    return Err(cx.err(
                        reference,
                        format!("server `{}` is listed twice in balancer `{}`", server_names[id], key.value),
                        None,
                    ));
                }
                let max_conn = spec.max_conn.as_ref().map_or(servers[id].workers, |m| m.value);
                backends.push(BackendDef { server: id as ServerId, weight: 1, max_conn, member: true });
            }
        }
        for (wkey, &weight) in spec.weights.iter() {
            let found = resolve_servers(&wkey.value, &server_names, &server_groups).map_err(|_| {
                cx.err(
                    wkey,
                    format!("`{}` is not a server", wkey.value),
                    did_you_mean(&wkey.value, server_names.iter().map(String::as_str)),
                )
            })?;
            for id in found {
                let b = backends.iter_mut().find(|b| b.server == id as ServerId).ok_or_else(|| {
                    cx.err(
                        wkey,
                        format!(
                            "server `{}` has a weight but is not a backend of balancer `{}`",
                            server_names[id], key.value
                        ),
                        None,
                    )
                })?;
                if weight > 1_000_000 {
                    return Err(cx.err(wkey, "weights above 1000000 are not supported", None));
                }
                b.weight = weight;
            }
        }
        if backends.iter().all(|b| b.weight == 0) {
            warnings
                .push(format!("balancer `{}` has every backend at weight 0: it will fail every request", key.value));
        }
        let validation = spec.validation.as_ref().map(|v| Validation {
            min_backends: v.min_backends.as_ref().map_or(0, |m| m.value),
            max_weight_share: v.max_weight_share.as_ref().map_or(1.0, |m| m.value.fraction()),
            require_healthy: v.require_healthy,
        });
        balancers.push(BalancerDef {
            name: key.value.clone(),
            algorithm: spec.algorithm,
            params,
            backends,
            health_check: spec.health_check.as_ref().map(|h| resilience::health_check(&cx, h)).transpose()?,
            outlier: spec.outlier_detection.as_ref().map(|o| resilience::outlier(&cx, o)).transpose()?,
            on_all_unhealthy: spec.on_all_unhealthy.into(),
            panic_threshold: spec.panic_threshold.as_ref().map_or(0.0, |p| p.value.fraction()),
            validation,
        });
    }
    let balancer_names: Vec<String> = balancers.iter().map(|b| b.name.clone()).collect();

    // Clients.
    let mut clients: Vec<ClientDef> = Vec::new();
    for (key, spec) in s.clients.iter() {
        let targets = compile_targets(&cx, key, spec, &balancer_names)?;
        let failover_after = spec.failover_after.as_ref().map_or(0, |f| f.value.nanos());
        let retry = spec.retry.as_ref().map(|r| resilience::retry(&cx, r)).transpose()?;
        let users = match &spec.users {
            Some(u) if u.value == 0 => {
                return Err(cx.err(u, "a client group needs at least 1 user", None));
            }
            Some(u) if u.value > u64::from(u32::MAX) => {
                return Err(cx.err(u, "at most 4294967295 users per group", None));
            }
            Some(u) => u.value,
            None => 10_000,
        };
        if let crate::scenario::Popularity::Zipf(exp) = spec.user_popularity
            && !(exp.is_finite() && exp > 0.0)
        {
            return Err(cx.err(
                key,
                format!("client group `{}`: the Zipf exponent must be a positive number", key.value),
                None,
            ));
        }
        let load = match (&spec.closed_loop, &spec.rate, spec.profile.is_empty()) {
            (Some(cl), None, true) => {
                if spec.users.is_none() {
                    return Err(cx.err(
                        key,
                        format!(
                            "closed-loop group `{}` needs `users:` (how many users, each with one request at a time)",
                            key.value
                        ),
                        None,
                    ));
                }
                let think = cl.think_time.value.compile(&base_dir).map_err(|m| cx.err(&cl.think_time, m, None))?;
                Load::Closed { think }
            }
            (Some(_), _, _) => {
                return Err(cx.err(
                    key,
                    format!("client group `{}` has both `closed_loop` and a rate or profile", key.value),
                    Some("a group is either open loop (rate, profile) or closed loop (closed_loop, users)".into()),
                ));
            }
            (None, rate, _) => {
                let profile = build_profile(&cx, key, rate.as_ref().map(|r| r.value.per_sec()), spec)?;
                Load::Open { arrival: spec.arrival.into(), profile }
            }
        };
        let timeout = match &spec.timeout {
            Some(t) if t.value.nanos() == 0 => {
                return Err(cx.err(t, "the timeout must be longer than zero", None));
            }
            Some(t) => Some(t.value.nanos()),
            None => None,
        };
        clients.push(ClientDef {
            name: key.value.clone(),
            targets,
            target_policy: spec.target_policy.into(),
            failover_after,
            retry,
            load,
            users,
            popularity: spec.user_popularity.into(),
            timeout,
        });
    }
    if clients.is_empty() {
        return Err(src.error_at(
            0,
            1,
            "the scenario defines no client groups",
            Some("add a `clients:` section".into()),
        ));
    }

    let clock = match &s.start {
        Some(st) => Some(WallClock::parse_start(&st.value).map_err(|m| cx.err(st, m, None))?),
        None => None,
    };
    let addrs = network::endpoint_addresses(&cx, s, &servers, &server_groups)?;
    let mut network = network::compile(&cx, s, s.network.as_ref(), &balancers, &servers, &server_groups, &addrs)?;
    if let Some(net) = &network {
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
    }
    let all_servers = Servers { defs: &servers, groups: &server_groups };
    let timeline =
        timeline::compile(&cx, &s.timeline, clock.as_ref(), all_servers, &mut balancers, &clients, network.as_mut())?;
    for t in &timeline {
        if end != SimTime::MAX && t.at >= end.0 {
            warnings.push(format!(
                "timeline change to {} at {} is after the end of the run",
                t.target,
                crate::time::format_duration(t.at)
            ));
        }
    }
    let incident_window = match &s.incident_window {
        Some(w) => {
            let from = w.from.value.resolve(clock.as_ref()).map_err(|m| cx.err(&w.from, m, None))?;
            let until = w.until.value.resolve(clock.as_ref()).map_err(|m| cx.err(&w.until, m, None))?;
            if until <= from {
                return Err(cx.err(&w.until, "the incident window ends before it starts", None));
            }
            Some((from, until))
        }
        None => default_incident_window(&timeline, end.0),
    };

    let names = entity_names(&servers, &balancers, &clients, network.as_ref());
    let alerts = alerts::compile_alerts(&s.alerts, &names, interval, src)?;
    let slos = slos::compile_slos(&s.slos, clock.as_ref(), src)?;
    for (spec, slo) in s.slos.iter().zip(&slos) {
        if slo.window == slos::SloWindow::Incident && incident_window.is_none() {
            let at = spec.window.as_ref().map_or(spec.objective.referenced, |w| w.referenced);
            return Err(src.error_at_location(
                &at,
                "`window: incident` needs an incident: a `timeline` or an `incident_window`",
                None,
            ));
        }
    }

    let topology = build_topology(&clients, &balancers, &servers);
    // A server on the network may be meant only as a wrong destination.
    let linked = |i: usize| network.as_ref().is_some_and(|n| n.attached(n.server_node[i]));
    warnings.extend(unreachable_servers(&topology, &servers).into_iter().filter(|(i, _)| !linked(*i)).map(|(_, w)| w));

    Ok(World {
        name,
        description: s.description.trim().to_string(),
        seed: s.seed,
        end,
        max_requests,
        warmup,
        interval,
        slow_threshold,
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
        topology,
        warnings,
    })
}

/// From the first change to the end of the last change's effect (its
/// revert, or the end of the run when something is never reverted).
fn default_incident_window(timeline: &[TimelineChange], end: u64) -> Option<(u64, u64)> {
    let first = timeline.iter().filter(|t| !matches!(t.change, Change::Note)).map(|t| t.at).min()?;
    let reverted: Vec<bool> = (0..timeline.len()).map(|i| undone_at(timeline, i).is_some()).collect();
    let mut last = first;
    for (i, t) in timeline.iter().enumerate() {
        let effect_end = match (&t.change, t.revert_at) {
            (Change::Note, _) => first,
            (Change::Revert { .. }, _) => t.at,
            (_, Some(r)) => r,
            (Change::Server { action: Some(ServerAction::Restart), .. }, _) => t.at,
            _ if reverted[i] => t.at,
            _ => end,
        };
        last = last.max(effect_end);
    }
    (last > first).then_some((first, last.min(end)))
}

fn compile_targets(
    cx: &Ctx<'_>,
    key: &Spanned<String>,
    spec: &crate::scenario::ClientSpec,
    balancer_names: &[String],
) -> Result<Vec<(BalancerId, u32)>, Error> {
    let mut targets: Vec<(BalancerId, u32)> = Vec::new();
    for (name, loc) in &spec.target.value.names {
        let loc = loc.unwrap_or(spec.target.referenced);
        let id = balancer_names.iter().position(|b| b == name).ok_or_else(|| {
            src_err(
                cx,
                &loc,
                format!("client group `{}` targets `{name}`, which is not a balancer", key.value),
                did_you_mean(name, balancer_names.iter().map(String::as_str)),
            )
        })?;
        if targets.iter().any(|(b, _)| *b == id as BalancerId) {
            return Err(src_err(cx, &loc, format!("balancer `{name}` is listed twice"), None));
        }
        targets.push((id as BalancerId, 1));
    }
    if targets.is_empty() {
        return Err(cx.err(&spec.target, "name at least one balancer", None));
    }
    for (wkey, &w) in spec.target_weights.iter() {
        let pos = targets
            .iter()
            .position(|(b, _)| balancer_names[*b as usize] == wkey.value)
            .ok_or_else(|| cx.err(wkey, format!("`{}` is not one of this group's targets", wkey.value), None))?;
        targets[pos].1 = w;
    }
    if targets.iter().all(|(_, w)| *w == 0) {
        return Err(cx.err(&spec.target, "every target has weight 0", None));
    }
    Ok(targets)
}

fn src_err(cx: &Ctx<'_>, loc: &serde_saphyr::Location, message: String, help: Option<String>) -> Error {
    cx.src.error_at_location(loc, message, help)
}

fn build_profile(
    cx: &Ctx<'_>,
    key: &Spanned<String>,
    rate: Option<f64>,
    spec: &crate::scenario::ClientSpec,
) -> Result<RateProfile, Error> {
    if spec.profile.is_empty() {
        let Some(rate) = rate else {
            return Err(cx.err(
                key,
                format!("client group `{}` has no `rate`, `profile` or `closed_loop`", key.value),
                Some("add e.g. `rate: 100/s`".into()),
            ));
        };
        if let Some(r) = &spec.profile_repeat {
            return Err(cx.err(r, "`profile_repeat` needs a `profile`", None));
        }
        return Ok(RateProfile::constant(rate));
    }
    let mut segments = vec![Segment { start: 0.0, rate: rate.unwrap_or(0.0), slope: 0.0 }];
    let mut last_at = -1.0f64;
    let mut busy_until = 0.0f64;
    for p in &spec.profile {
        let at = p.at.value.secs();
        if at <= last_at && !(at == 0.0 && last_at < 0.0) {
            return Err(cx.err(&p.at, "profile points must be in increasing time order", None));
        }
        if at < busy_until {
            return Err(cx.err(&p.at, "this point starts before the previous ramp has finished", None));
        }
        last_at = at;
        let current = {
            let s = segments.last().copied().unwrap_or(Segment { start: 0.0, rate: 0.0, slope: 0.0 });
            s.rate + s.slope * (at - s.start)
        };
        let new: Vec<Segment> = match (p.rate, p.ramp_to, p.over) {
            (Some(r), None, None) => vec![Segment { start: at, rate: r.per_sec(), slope: 0.0 }],
            (None, Some(to), Some(over)) if over.nanos() > 0 => {
                let d = over.secs();
                busy_until = at + d;
                vec![
                    Segment { start: at, rate: current, slope: (to.per_sec() - current) / d },
                    Segment { start: at + d, rate: to.per_sec(), slope: 0.0 },
                ]
            }
            _ => {
                return Err(cx.err(
                    &p.at,
                    "a profile point is either a step `{at, rate}` or a ramp `{at, ramp_to, over}` with `over` > 0",
                    None,
                ));
            }
        };
        // Replace a segment that starts at the same time (a point at 0 replaces the base rate).
        if segments.last().is_some_and(|s| s.start == at) {
            segments.pop();
        }
        segments.extend(new);
    }
    let repeat = match &spec.profile_repeat {
        Some(r) => {
            let period = r.value.secs();
            if period <= 0.0 || segments.last().is_some_and(|s| s.start >= period) || busy_until > period {
                return Err(cx.err(r, "`profile_repeat` must be longer than the last profile point", None));
            }
            Some(period)
        }
        None => None,
    };
    Ok(RateProfile { segments, repeat })
}

fn build_topology(clients: &[ClientDef], balancers: &[BalancerDef], servers: &[ServerDef]) -> DiGraph<NodeRef, ()> {
    let mut g = DiGraph::new();
    let server_nodes: Vec<NodeIndex> = (0..servers.len()).map(|i| g.add_node(NodeRef::Server(i as ServerId))).collect();
    let balancer_nodes: Vec<NodeIndex> =
        (0..balancers.len()).map(|i| g.add_node(NodeRef::Balancer(i as BalancerId))).collect();
    for (i, b) in balancers.iter().enumerate() {
        for be in b.backends.iter().filter(|be| be.member) {
            g.add_edge(balancer_nodes[i], server_nodes[be.server as usize], ());
        }
    }
    for (i, c) in clients.iter().enumerate() {
        let n = g.add_node(NodeRef::Client(i as ClientId));
        for (b, _) in &c.targets {
            g.add_edge(n, balancer_nodes[*b as usize], ());
        }
    }
    g
}

/// Servers no client can reach: defined, but they will see no traffic.
fn unreachable_servers(g: &DiGraph<NodeRef, ()>, servers: &[ServerDef]) -> Vec<(usize, String)> {
    let mut reached = vec![false; servers.len()];
    for start in g.node_indices().filter(|&n| matches!(g[n], NodeRef::Client(_))) {
        let mut dfs = Dfs::new(g, start);
        while let Some(n) = dfs.next(g) {
            if let NodeRef::Server(s) = g[n] {
                reached[s as usize] = true;
            }
        }
    }
    reached
        .iter()
        .enumerate()
        .filter(|(_, r)| !**r)
        .map(|(i, _)| {
            let text = format!(
                "server `{}` is not a backend of any balancer a client sends to: it will see no traffic",
                servers[i].name
            );
            (i, text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "name: t\nduration: 1m\nclients:\n  web: {target: edge, rate: 100/s}\nbalancers:\n  edge: {backends: [\"web-{01..03}\"]}\nservers:\n  web-{01..03}: {workers: 2, service: {constant: 5ms}}\n";

    fn compile_err(text: &str) -> String {
        load_str("t.yaml", text).unwrap_err().to_string()
    }

    #[test]
    fn compiles_ranges_and_ids() {
        let w = load_str("t.yaml", BASE).unwrap();
        assert_eq!(w.servers.len(), 3);
        assert_eq!(w.servers[2].name, "web-03");
        assert_eq!(w.balancers[0].backends.len(), 3);
        assert_eq!(w.balancers[0].backends[1].max_conn, 2);
        assert_eq!(w.clients[0].targets, [(0, 1)]);
        assert!(w.warnings.is_empty());
        assert_eq!(w.topology.node_count(), 5);
    }

    #[test]
    fn unknown_names_are_located_with_a_hint() {
        let e = compile_err(&BASE.replace("[\"web-{01..03}\"]", "[web-01, web-4]"));
        assert!(e.starts_with("t.yaml:6:29: unknown server `web-4`"), "{e}");
        let e = compile_err(&BASE.replace("target: edge", "target: edg"));
        assert!(e.contains("t.yaml:4:17") && e.contains("not a balancer"), "{e}");
    }

    #[test]
    fn impossible_values_are_rejected() {
        assert!(compile_err(&BASE.replace("workers: 2", "workers: 0")).contains("at least 1 worker"));
        assert!(compile_err(&BASE.replace("duration: 1m", "requests: 0")).contains("at least 1"));
        assert!(compile_err(&BASE.replace("duration: 1m\n", "")).contains("never end"));
        assert!(
            compile_err(&BASE.replace("rate: 100/s", "rate: 100/s, closed_loop: {think_time: {constant: 1s}}"))
                .contains("both")
        );
        assert!(compile_err(&BASE.replace("{backends", "{choices: 3, backends")).contains("power_of_two_choices"));
    }

    #[test]
    fn weights_apply_and_warn_when_all_zero() {
        let w = load_str(
            "t.yaml",
            &BASE.replace(
                "{backends: [\"web-{01..03}\"]}",
                "{backends: [\"web-{01..03}\"], weights: {web-01: 5, web-0*: 0}}",
            ),
        )
        .unwrap();
        assert!(w.balancers[0].backends.iter().all(|b| b.weight == 0));
        assert_eq!(w.warnings.len(), 1);
        let e =
            compile_err(&BASE.replace("{backends: [\"web-{01..03}\"]}", "{backends: [web-01], weights: {web-02: 5}}"));
        assert!(e.contains("not a backend"), "{e}");
    }

    #[test]
    fn profiles_compile_steps_and_ramps() {
        let text = BASE.replace(
            "{target: edge, rate: 100/s}",
            "{target: edge, rate: 100/s, profile: [{at: 10s, rate: 200/s}, {at: 20s, ramp_to: 400/s, over: 10s}]}",
        );
        let w = load_str("t.yaml", &text).unwrap();
        let Load::Open { profile, .. } = &w.clients[0].load else { panic!() };
        assert_eq!(profile.rate_at(5.0), 100.0);
        assert_eq!(profile.rate_at(15.0), 200.0);
        assert_eq!(profile.rate_at(25.0), 300.0);
        assert_eq!(profile.rate_at(35.0), 400.0);
        let bad = BASE.replace(
            "{target: edge, rate: 100/s}",
            "{target: edge, rate: 1/s, profile: [{at: 20s, rate: 2/s}, {at: 10s, rate: 3/s}]}",
        );
        assert!(compile_err(&bad).contains("increasing"));
    }

    /// A counted group `app` beside a range and a single server.
    const GROUPS: &str = "name: t\nduration: 1m\nclients:\n  web: {target: edge, rate: 100/s}\nbalancers:\n  edge: {backends: [app, \"web-*\", db]}\nservers:\n  web-{01..02}: {service: {constant: 5ms}}\n  app: {count: 3, workers: 4, service: {constant: 5ms}}\n  db: {service: {constant: 5ms}}\n";

    #[test]
    fn counted_groups_compile_and_are_described() {
        let w = load_str("t.yaml", GROUPS).unwrap();
        let names: Vec<&str> = w.servers.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["web-01", "web-02", "app-01", "app-02", "app-03", "db"]);
        assert_eq!(w.servers[4].workers, 4);
        let groups: Vec<(&str, std::ops::Range<u32>, bool)> =
            w.server_groups.iter().map(|g| (g.name.as_str(), g.servers.clone(), g.counted)).collect();
        assert_eq!(groups, [("web-{01..02}", 0..2, false), ("app", 2..5, true), ("db", 5..6, false)]);
        // `app` in the backends means its three servers, in order.
        let backends: Vec<u32> = w.balancers[0].backends.iter().map(|b| b.server).collect();
        assert_eq!(backends, [2, 3, 4, 0, 1, 5]);
    }

    #[test]
    fn a_group_name_refers_to_its_servers_unless_a_server_has_it() {
        // As a weights key and a timeline target.
        let text = GROUPS.replace("db]}", "db], weights: {app: 3}}")
            + "timeline:\n  - {at: 10s, server: app, slow_down: 2}\n  - {at: 20s, balancer: edge, backends: [app]}\n";
        let w = load_str("t.yaml", &text).unwrap();
        let weights: Vec<u32> = w.balancers[0].backends.iter().map(|b| b.weight).collect();
        assert_eq!(weights, [3, 3, 3, 1, 1, 1]);
        let Change::Server { servers, .. } = &w.timeline[0].change else { panic!("{:?}", w.timeline[0]) };
        assert_eq!(servers, &[2, 3, 4]);
        let Change::Balancer { members: Some(members), .. } = &w.timeline[1].change else { panic!() };
        assert_eq!(members, &[true, true, true, false, false, false]);
        // A server literally named `app` wins over the group of that name.
        let literal = GROUPS.replace("  db: {", "  \"{app,db}\": {").replace("[app, \"web-*\", db]", "[app]");
        let w = load_str("t.yaml", &literal).unwrap();
        assert_eq!(w.balancers[0].backends.len(), 1);
        assert_eq!(w.servers[w.balancers[0].backends[0].server as usize].name, "app");
        // Only counted groups are referred to by their key.
        let e = compile_err(&GROUPS.replace("[app, \"web-*\", db]", "[web]"));
        assert!(e.starts_with("t.yaml:6:21: unknown server `web`"), "{e}");
    }

    #[test]
    fn counted_group_mistakes_are_located_in_the_file() {
        let e = compile_err(&GROUPS.replace("count: 3", "count: 0"));
        assert!(e.starts_with("t.yaml:9:16: `count` of `app` must be at least 1"), "{e}");
        let e = compile_err(&GROUPS.replace("app: {count: 3,", "\"app-{1..3}\": {count: 3,"));
        assert!(e.starts_with("t.yaml:9:3: a key with `count` must be a plain name"), "{e}");
        let e = compile_err(&GROUPS.replace("  db: {", "  app-02: {"));
        assert!(e.starts_with("t.yaml:10:3: server `app-02` is defined twice"), "{e}");
    }

    #[test]
    fn a_counted_group_counts_its_addresses_up() {
        let text = "name: t\nduration: 1m\nclients:\n  web: {target: edge, rate: 100/s, timeout: 2s}\nbalancers:\n  edge: {address: 10.0.1.10, backends: [app]}\nservers:\n  app: {count: 3, address: 10.0.2.11, service: {constant: 5ms}}\nnetwork:\n  switches:\n    sw: {}\n  links:\n    - {between: [sw, edge]}\n    - {between: [sw, \"app-*\"]}\n";
        let w = load_str("t.yaml", text).unwrap();
        let net = w.network.as_ref().unwrap();
        let addrs: Vec<String> =
            net.server_node.iter().map(|&n| net.nodes[n as usize].address.unwrap().to_string()).collect();
        assert_eq!(addrs, ["10.0.2.11/32", "10.0.2.12/32", "10.0.2.13/32"]);
        // A server of the group without an address is reported at the group's key.
        let e = compile_err(&text.replace("address: 10.0.2.11, ", ""));
        assert!(e.starts_with("t.yaml:8:3: `app-01` has a link but no `address`"), "{e}");
    }

    #[test]
    fn unreferenced_servers_warn() {
        let w = load_str("t.yaml", &BASE.replace("[\"web-{01..03}\"]", "[web-01]")).unwrap();
        assert_eq!(w.warnings.len(), 2);
    }
}
