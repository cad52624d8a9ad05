//! The compiled world: integer ids, flat vectors and the topology graph,
//! built from a [`crate::scenario::Scenario`] after checking every name and
//! value by [`compile()`] (one function per section, in `model/compile/`).
//!
//! Every semantic mistake (an unknown server, a client that reaches no
//! balancer, a zero worker count) is reported at the place the user wrote
//! it, through the scenario source's location mapping.

pub mod alerts;
pub mod arrivals;
mod compile;
pub mod network;
pub mod profile;
pub mod resilience;
pub mod slos;
#[cfg(test)]
pub(crate) mod test_monitoring;
pub mod timeline;

use std::path::Path;
use std::sync::Arc;

use crate::scenario::Spanned;

use crate::balancer::{AlgorithmKind, AlgorithmParams};
use crate::dist::Dist;
use crate::error::Error;
use crate::limits::Limits;
use crate::scenario::ScenarioSource;
use crate::scenario::names::{self, NameIndex, ResolveError};
use crate::time::SimTime;

pub use crate::ids::ServerId;
pub use arrivals::{ArrivalKind, Popularity};
pub use compile::compile;
pub use profile::{RateProfile, Segment};
pub use resilience::{
    AllUnhealthy, Budget, ColdStart, CrashRule, Degrade, HealthCheck, Jitter, Outlier, RetryOn, RetryPolicy,
    TargetPolicy,
};
pub use timeline::{Change, NetOp, ServerAction, TimelineChange};

use crate::clock::WallClock;

pub type ClientId = u32;
pub type BalancerId = u32;

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
    /// Shared by the servers of one entry (each `Option` then costs a
    /// pointer, which counts at a million servers).
    pub cold_start: Option<Arc<ColdStart>>,
    pub degrade: Option<Arc<Degrade>>,
    pub crash: Option<Arc<CrashRule>>,
    /// Not running at the start.
    pub initially_down: bool,
}

/// One entry under `servers:` as declared: a single name, a range pattern
/// (`web-{01..05}`) or a counted group (`app: {count: 24}`).
#[derive(Clone, Debug)]
pub struct ServerGroup {
    /// The key as written (`app`, `web-{01..05}`, `web-06`).
    pub name: String,
    /// Indices of the group's servers, contiguous in declaration order
    /// (as ids: [`ServerGroup::ids`]).
    pub servers: std::ops::Range<u32>,
    /// Declared with `count:` (so `servers.<name>.count` is settable).
    pub counted: bool,
}

impl ServerGroup {
    /// The group's server ids, in declaration order.
    pub fn ids(&self) -> impl Iterator<Item = ServerId> + use<> {
        self.servers.clone().map(|i| ServerId::from_index(i as usize))
    }

    /// Whether server `id` is one of the group's.
    pub fn contains(&self, id: ServerId) -> bool {
        self.servers.contains(&(id.index() as u32))
    }
}

/// Resolves a reference to servers (a balancer's backends or weights, a
/// timeline target): the name of a counted group means all of its servers,
/// unless a server is itself named that; anything else is a name, pattern or
/// glob as [`NameIndex::resolve`] reads it.
pub(crate) fn resolve_servers(
    reference: &str,
    servers: &NameIndex<'_>,
    groups: &[ServerGroup],
    limits: &Limits,
) -> Result<Vec<usize>, ResolveError> {
    if servers.get(reference).is_none()
        && let Some(g) = groups.iter().find(|g| g.counted && g.name == reference)
    {
        return Ok(g.servers.clone().map(|i| i as usize).collect());
    }
    servers.resolve(reference, limits)
}

/// One backend of a balancer.
#[derive(Clone, Debug)]
pub struct BackendDef {
    pub server: ServerId,
    pub weight: u32,
    pub max_conn: u32,
    /// In rotation at the start (false for servers only the timeline adds).
    pub member: bool,
    /// Takes traffic only while no other backend is usable.
    pub backup: bool,
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
    /// A recorded trace's arrivals and users, rerun.
    Replay(std::sync::Arc<Replay>),
}

/// A trace to replay, checked when the scenario was compiled.
#[derive(Clone, Debug, PartialEq)]
pub struct Replay {
    pub path: std::path::PathBuf,
    /// Time runs this many times faster than recorded.
    pub speed: f64,
    /// Each recorded request is sent this many times on average.
    pub scale: f64,
    pub info: crate::trace::TraceInfo,
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
    /// Things that are allowed but probably not intended.
    pub warnings: Vec<String>,
    /// The limits in force; the run reads the memory guard and the
    /// zero-time detector's (`in_flight`, `instant_events`) from here.
    pub limits: Limits,
    /// The series guard's measure of the run's time series.
    pub series_guard: SeriesGuard,
}

/// What the series guard stops a run at: a run bounded by requests (which
/// the compiler could not check) whose intervals would write more than
/// `series_bytes` of `timeseries.csv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeriesGuard {
    /// Bytes an interval writes, at least (the first one's: later times
    /// take longer to write).
    pub interval_bytes: u64,
    /// Intervals the series has room for under the limit.
    pub intervals: u64,
}

impl World {
    pub fn server_index(&self, name: &str) -> Option<ServerId> {
        self.servers.iter().position(|s| s.name == name).map(ServerId::from_index)
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
    /// The limits in force (defaults, raised by the scenario's `limits:`).
    limits: Limits,
}

impl Ctx<'_> {
    /// Compiles a distribution the scenario gives, its samples files (paths
    /// relative to `base_dir`) held to the `file_bytes` limit.
    fn dist(&self, spec: &crate::dist::DistSpec, base_dir: &Path) -> Result<Dist, String> {
        spec.compile_within(base_dir, self.limits.get(crate::limits::Limit::FileBytes))
    }

    fn err<T>(&self, at: &Spanned<T>, message: impl Into<String>, help: Option<String>) -> Error {
        self.src.error_at_location(&at.referenced, message, help)
    }
}

/// The compiled servers, the groups they were declared in, and their names indexed.
#[derive(Clone, Copy)]
struct Servers<'a> {
    defs: &'a [ServerDef],
    groups: &'a [ServerGroup],
    index: &'a NameIndex<'a>,
}

fn did_you_mean<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let all: Vec<&str> = candidates.into_iter().collect();
    // `[s1 s2]`: two names with the comma between them missing.
    let parts: Vec<&str> = wanted.split_whitespace().collect();
    if parts.len() > 1 && parts.iter().all(|p| all.contains(p)) {
        return Some(format!("a `,` seems to be missing: write `{}`", parts.join(", ")));
    }
    match names::closest(wanted, all.iter().copied()) {
        Some(n) => Some(format!("did you mean `{n}`?")),
        None if all.len() <= 12 => Some(format!("defined: {}", all.join(", "))),
        None => None,
    }
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
        let backends: Vec<usize> = w.balancers[0].backends.iter().map(|b| b.server.index()).collect();
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
        assert_eq!(servers, &[2, 3, 4].map(ServerId::from_index));
        let Change::Balancer { members: Some(members), .. } = &w.timeline[1].change else { panic!() };
        assert_eq!(members, &[true, true, true, false, false, false]);
        // A server literally named `app` wins over the group of that name.
        let literal = GROUPS.replace("  db: {", "  \"{app,db}\": {").replace("[app, \"web-*\", db]", "[app]");
        let w = load_str("t.yaml", &literal).unwrap();
        assert_eq!(w.balancers[0].backends.len(), 1);
        assert_eq!(w.servers[w.balancers[0].backends[0].server.index()].name, "app");
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
