//! How the compiler's work grows with the size of the scenario: no faster
//! than n log n in servers, balancers and routes. Counted, not timed: the
//! name operations (`scenario::names` counts lookups, names scanned by a
//! glob, names made by a pattern and names indexed, in test builds), with
//! a generous timing check beside it for the work that is not naming.

use std::time::{Duration, Instant};

use crate::model::{World, load_str};
use crate::scenario::names::probes;

/// A scenario with `4 * q` servers that takes every path through the
/// compiler that grows with them: ranges and a counted group, backends by
/// glob, pattern, group and name, weights, a network whose switch faces
/// every server, per-server routing tables, timeline changes and alerts on
/// patterns.
fn scenario(q: usize) -> String {
    format!(
        r#"name: growth
duration: 10s
clients:
  users: {{target: [edge, spare], rate: 100/s, timeout: 2s, subnets: [{{name: a, prefix: 10.200.0.0/16}}]}}
balancers:
  edge:
    algorithm: random
    address: 10.0.0.1
    backends: ["web-*", app, "db-{{1..{q}}}"]
    weights: {{"web-*": 2, app: 3}}
    routes: [{{prefix: 10.200.0.0/16, via: core}}, {{prefix: 0.0.0.0/0, via: sw}}]
  spare: {{address: 10.0.0.2, backends: ["misc-*", web-1, web-2]}}
servers:
  web-{{1..{q}}}: {{address: 10.1.0.1, service: {{exponential: 10ms}}}}
  app: {{count: {q}, address: 10.2.0.1, service: {{exponential: 10ms}}}}
  db-{{1..{q}}}: {{address: 10.3.0.1, service: {{exponential: 10ms}}, routes: [{{prefix: 0.0.0.0/0, via: sw}}]}}
  misc-{{1..{q}}}: {{address: 10.4.0.1, service: {{exponential: 10ms}}}}
network:
  routers:
    core: {{routes: [{{prefix: 10.200.0.0/16, via: users.a}}, {{prefix: 0.0.0.0/0, via: edge}}]}}
  switches:
    sw: {{vlans: {{"web-*": 1, "db-{{1..{q}}}": 1}}}}
  links:
    - {{between: [users, core]}}
    - {{between: [core, edge]}}
    - {{between: [core, spare]}}
    - {{between: [edge, sw]}}
    - {{between: [sw, "web-*"]}}
    - {{between: [sw, "app-*"]}}
    - {{between: [sw, "db-{{1..{q}}}"]}}
    - {{between: [sw, "misc-*"]}}
timeline:
  - {{at: 1s, server: "web-*", slow_down: 2, duration: 1s}}
  - {{at: 2s, balancer: edge, backends: ["db-*", app], duration: 1s}}
  - {{at: 3s, server: "db-{{1..{q}}}", action: crash, duration: 1s}}
  - {{at: 4s, balancer: spare, weights: {{"misc-*": 5}}}}
alerts:
  - {{name: slow, scope: server, entity: "web-*", metric: latency_ms, above: 500ms}}
  - {{name: db, scope: server, entity: "db-{{1..{q}}}", metric: error_rate, above: 5%}}
"#
    )
}

/// Compiles the scenario of `4 * q` servers: the name operations it took,
/// and the time.
fn compile(q: usize) -> (u64, Duration, World) {
    let text = scenario(q);
    let before = probes();
    let start = Instant::now();
    let world = load_str("growth.yaml", &text).unwrap_or_else(|e| panic!("{e}"));
    (probes() - before, start.elapsed(), world)
}

#[test]
fn the_growth_scenario_compiles_as_meant() {
    let (_, _, w) = compile(5);
    assert_eq!(w.servers.len(), 20);
    assert_eq!(w.balancers[0].backends.len(), 15);
    assert_eq!(w.balancers[0].backends.iter().map(|b| b.weight).collect::<Vec<_>>()[..6], [2, 2, 2, 2, 2, 3]);
    let net = w.network.as_ref().unwrap();
    assert_eq!(net.links.len(), 4 + 20);
    assert_eq!(w.timeline.len(), 4);
    assert_eq!(w.alerts.len(), 2);
}

#[test]
fn compile_work_grows_no_faster_than_n_log_n() {
    // 1,000 and 64,000 servers: 64 times the servers may cost at most
    // 64 x log(64000)/log(1000) = 102 times the name operations (a
    // quadratic compiler would take 4,096 times).
    let (small, _, _) = compile(250);
    let (large, _, _) = compile(16_000);
    let n_log_n = 64.0 * (64_000f64).ln() / (1_000f64).ln();
    let ratio = large as f64 / small as f64;
    eprintln!("name operations: {small} for 1,000 servers, {large} for 64,000 ({ratio:.1}x)");
    assert!(ratio <= n_log_n, "name operations: {small} for 1,000 servers, {large} for 64,000 ({ratio:.1}x)");
    // And the rest of the work, timed (best of three): 16 times the servers
    // in under 64 times the time, where n log n takes about 20 and a
    // quadratic path 256.
    let best = |q: usize| (0..3).map(|_| compile(q).1).min().unwrap();
    let (t_small, t_large) = (best(1_000), best(16_000));
    let ratio = t_large.as_secs_f64() / t_small.as_secs_f64();
    eprintln!("compile time: {t_small:?} for 4,000 servers, {t_large:?} for 64,000 ({ratio:.1}x)");
    assert!(ratio < 64.0, "compile time: {t_small:?} for 4,000 servers, {t_large:?} for 64,000 ({ratio:.1}x)");
}
