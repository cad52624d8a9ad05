//! Properties every run has, over generated scenarios (proptest): servers,
//! balancers with every algorithm, open and closed loops, retries and
//! timeouts, health checks, crashes, timelines, and networks with latency,
//! loss and links that go down.
//!
//! - **Nothing is lost**: every request generated is completed, failed (for
//!   a named reason) or in flight at the end, and the counts in
//!   `summary.json`, `servers.csv` and `timeseries.csv` agree.
//! - **Little's law** holds as a sample-path identity on every run.
//! - **Determinism**: the same scenario and seed give the same bytes.
//! - **Shards**: a sweep over the generated scenario, run as 2 or 3 shards
//!   and merged, writes the same bytes as the sweep run whole.
//! - **Budgets drain**: the same scenario with a request budget instead of
//!   a duration ends by itself, every request answered or failed, nothing
//!   left in flight (whatever the network lost or the clients gave up on).
//!
//! The generator's seed is fixed so that CI is repeatable; set
//! `LBSIM_PROPTEST_SEED=<n>` (and `PROPTEST_CASES`) to explore further.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};

use crate::common::{json, lbsim, scratch, stderr, write};

const ALGORITHMS: &[&str] =
    &["round_robin", "random", "least_connections", "power_of_two_choices", "consistent_hash", "first"];

#[derive(Clone, Debug)]
struct Server {
    workers: u32,
    queue_limit: Option<u32>,
    service: String,
    error_pct: u32,
    crash_above: Option<u32>,
}

#[derive(Clone, Debug)]
struct Client {
    closed_users: Option<u32>,
    rate: u32,
    constant: bool,
    timeout_ms: Option<u32>,
    retry_attempts: Option<u32>,
    per_try_ms: Option<u32>,
}

/// A routed network: the clients' link latency and loss, and maybe the
/// balancer's link to its switch down at a time for a while.
#[derive(Clone, Copy, Debug)]
struct Network {
    latency_ms: u32,
    loss_pct: u32,
    link_down: Option<(u32, u32)>,
}

#[derive(Clone, Debug)]
struct Gen {
    duration_s: u32,
    servers: Vec<Server>,
    algorithm: &'static str,
    health_check: bool,
    clients: Vec<Client>,
    timeline: Vec<(u32, u32, usize)>,
    network: Option<Network>,
}

fn dist() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u32..40).prop_map(|m| format!("{{exponential: {m}ms}}")),
        (1u32..40).prop_map(|m| format!("{{constant: {m}ms}}")),
        (1u32..20, 1u32..20).prop_map(|(a, b)| format!("{{uniform: {{min: {a}ms, max: {}ms}}}}", a + b)),
        (5u32..40).prop_map(|m| format!("{{lognormal: {{mean: {m}ms, p99: {}ms}}}}", m * 4)),
    ]
}

fn server() -> impl Strategy<Value = Server> {
    (1u32..4, proptest::option::of(0u32..20), dist(), prop_oneof![Just(0u32), 1u32..10], proptest::option::of(5u32..30))
        .prop_map(|(workers, queue_limit, service, error_pct, crash_above)| Server {
            workers,
            queue_limit,
            service,
            error_pct,
            crash_above,
        })
}

fn client() -> impl Strategy<Value = Client> {
    (
        proptest::option::of(1u32..30),
        20u32..600,
        any::<bool>(),
        proptest::option::of(50u32..2000),
        proptest::option::of(2u32..4),
        proptest::option::of(20u32..300),
    )
        .prop_map(|(closed_users, rate, constant, timeout_ms, retry_attempts, per_try_ms)| Client {
            closed_users,
            rate,
            constant,
            timeout_ms,
            retry_attempts,
            per_try_ms,
        })
}

fn scenario() -> impl Strategy<Value = Gen> {
    (
        3u32..20,
        proptest::collection::vec(server(), 1..6),
        proptest::sample::select(ALGORITHMS),
        any::<bool>(),
        proptest::collection::vec(client(), 1..3),
        proptest::collection::vec((0u32..20, 1u32..10, 0usize..4), 0..4),
        proptest::option::of(
            (0u32..20, 0u32..5, proptest::option::of((0u32..15, 1u32..5)))
                .prop_map(|(latency_ms, loss_pct, link_down)| Network { latency_ms, loss_pct, link_down }),
        ),
    )
        .prop_map(|(duration_s, servers, algorithm, health_check, clients, timeline, network)| Gen {
            duration_s,
            servers,
            algorithm,
            health_check,
            clients,
            timeline,
            network,
        })
}

/// The scenario as YAML.
fn yaml(g: &Gen) -> String {
    let mut y = format!("name: prop\nduration: {}s\ninterval: 1s\nseed: 7\nclients:\n", g.duration_s);
    for (i, c) in g.clients.iter().enumerate() {
        let _ = write!(y, "  c{i}:\n    target: lb\n");
        match c.closed_users {
            Some(u) => {
                let _ = write!(y, "    closed_loop: {{think_time: {{exponential: 50ms}}}}\n    users: {u}\n");
            }
            None => {
                let _ = write!(y, "    rate: {}/s\n    users: 500\n", c.rate);
                if c.constant {
                    y.push_str("    arrival: constant\n");
                }
            }
        }
        // A network needs a timeout; otherwise it is optional.
        let timeout = c.timeout_ms.or(g.network.map(|_| 3000));
        if let Some(t) = timeout {
            let _ = writeln!(y, "    timeout: {t}ms");
        }
        if let Some(a) = c.retry_attempts {
            let _ = write!(y, "    retry: {{attempts: {a}");
            if let Some(p) = c.per_try_ms {
                let _ = write!(y, ", per_try_timeout: {p}ms");
            }
            y.push_str("}\n");
        }
        if g.network.is_some() {
            let _ = writeln!(y, "    subnets: [{{name: a, prefix: 10.{}.0.0/16}}]", i + 1);
        }
    }
    let _ = write!(y, "balancers:\n  lb:\n    algorithm: {}\n    backends: [\"s*\"]\n", g.algorithm);
    if g.health_check {
        y.push_str("    health_check: {interval: 1s, timeout: 500ms}\n");
    }
    if g.network.is_some() {
        y.push_str(
            "    address: 10.0.1.10\n    routes: [{prefix: 10.0.2.0/24, via: dcsw}, {prefix: 0.0.0.0/0, via: core}]\n",
        );
    }
    y.push_str("servers:\n");
    for (i, s) in g.servers.iter().enumerate() {
        let _ = write!(y, "  s{i}:\n    workers: {}\n    service: {}\n    restart_time: 2s\n", s.workers, s.service);
        if let Some(q) = s.queue_limit {
            let _ = writeln!(y, "    queue_limit: {q}");
        }
        if s.error_pct > 0 {
            let _ = writeln!(y, "    error_rate: {}%", s.error_pct);
        }
        if let Some(k) = s.crash_above {
            let _ = writeln!(y, "    crash: {{in_flight_above: {k}, for: 1s}}");
        }
        if g.network.is_some() {
            let _ = writeln!(y, "    address: 10.0.2.{}", 10 + i);
        }
    }
    if let Some(Network { latency_ms, loss_pct, .. }) = g.network {
        y.push_str("network:\n  routers:\n    core:\n      routes:\n        - {prefix: 10.0.1.0/24, via: lb}\n");
        for i in 0..g.clients.len() {
            let _ = writeln!(y, "        - {{prefix: 10.{}.0.0/16, via: c{i}.a}}", i + 1);
        }
        y.push_str("  switches:\n    dcsw: {}\n  links:\n");
        for i in 0..g.clients.len() {
            let _ = writeln!(
                y,
                "    - {{between: [c{i}, core], latency: {{constant: {latency_ms}ms}}, loss: {loss_pct}%}}"
            );
        }
        y.push_str("    - {between: [core, lb], latency: {exponential: 1ms}}\n");
        y.push_str("    - {between: [lb, dcsw]}\n    - {between: [dcsw, \"s*\"], latency: {constant: 1ms}}\n");
    }
    let mut timeline = Vec::new();
    for &(at, d, what) in &g.timeline {
        let at = at.min(g.duration_s.saturating_sub(1));
        let s = what % g.servers.len();
        let open_loop = g.clients.iter().position(|c| c.closed_users.is_none());
        timeline.push(match (what, open_loop) {
            (0, _) => format!("  - {{at: {at}s, server: s{s}, action: crash, duration: {d}s}}"),
            (2, Some(c)) => format!("  - {{at: {at}s, client: c{c}, rate_factor: 2, duration: {d}s}}"),
            (1 | 2, _) => format!("  - {{at: {at}s, server: s{s}, slow_down: 3, duration: {d}s}}"),
            _ => format!("  - {{at: {at}s, balancer: lb, backends: [s0], duration: {d}s}}"),
        });
    }
    if let Some(Network { link_down: Some((at, d)), .. }) = g.network {
        timeline
            .push(format!("  - {{at: {}s, link: [lb, dcsw], action: down, duration: {d}s}}", at.min(g.duration_s - 1)));
    }
    if !timeline.is_empty() {
        y.push_str("timeline:\n");
        y.push_str(&(timeline.join("\n") + "\n"));
    }
    y
}

/// Every file a run wrote (name -> bytes).
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())
        })
        .collect()
}

/// `timeseries.csv` summed over intervals: (kind, entity, metric) -> total.
fn series_totals(text: &str) -> BTreeMap<(String, String, String), f64> {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let mut totals = BTreeMap::new();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let key = (rec[2].to_string(), rec[3].to_string(), rec[4].to_string());
        *totals.entry(key).or_insert(0.0) += rec[5].parse::<f64>().unwrap_or(0.0);
    }
    totals
}

macro_rules! check {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err(TestCaseError::fail(format!($($arg)+)));
        }
    };
}

fn check_run(dir: &Path, g: &Gen) -> Result<(), TestCaseError> {
    let text = yaml(g);
    let scenario = write(dir, "prop.yaml", &text);
    let run =
        |out: &str| lbsim(&["run", scenario.to_str().unwrap(), "--reproducible", "--quiet", "--no-fail", "--out", out]);
    let (a, b) = (dir.join("a"), dir.join("b"));
    let o = run(a.to_str().unwrap());
    check!(o.status.code() == Some(0), "lbsim run failed ({:?}):\n{}\n{text}", o.status, stderr(&o));

    // Nothing lost.
    let s = json(&a.join("summary.json"));
    let r = &s["requests"];
    let n = |v: &serde_json::Value| v.as_u64().unwrap();
    let failed = &r["failed"];
    let by_reason: u64 =
        failed.as_object().unwrap().iter().filter(|(k, _)| k.as_str() != "total").map(|(_, v)| n(v)).sum();
    check!(n(&failed["total"]) == by_reason, "failures by reason {by_reason} != total {}\n{text}", failed["total"]);
    check!(
        n(&r["generated"]) == n(&r["completed"]) + n(&failed["total"]) + n(&r["in_flight_at_end"]),
        "generated {} != completed {} + failed {} + in flight {}\n{text}",
        r["generated"],
        r["completed"],
        failed["total"],
        r["in_flight_at_end"]
    );
    check!(r["all_accounted_for"] == true, "all_accounted_for is false\n{text}");
    check!(
        s["littles_law"]["sample_path_identity_holds"] == true,
        "Little's sample-path identity fails: {}\n{text}",
        s["littles_law"]
    );

    // The three files agree (no warm-up: every file covers the whole run).
    let series = series_totals(&std::fs::read_to_string(a.join("timeseries.csv")).unwrap());
    let total = |kind: &str, entity: &str, metric: &str| {
        series.get(&(kind.into(), entity.into(), metric.into())).copied().unwrap_or(0.0) as u64
    };
    check!(total("global", "all", "requests") == n(&r["generated"]), "timeseries requests != generated\n{text}");
    check!(total("global", "all", "completed") == n(&r["completed"]), "timeseries completed != completed\n{text}");
    check!(total("global", "all", "failed") == n(&failed["total"]), "timeseries failed != failed\n{text}");
    for (reason, v) in failed.as_object().unwrap() {
        if reason != "total" {
            check!(total("global", "all", reason) == n(v), "timeseries {reason} != summary's {v}\n{text}");
        }
    }
    let mut servers = csv::Reader::from_path(a.join("servers.csv")).unwrap();
    let headers = servers.headers().unwrap().clone();
    for rec in servers.records() {
        let rec = rec.unwrap();
        let name = &rec[0];
        for metric in ["requests", "completed", "rejected", "errors"] {
            let col = headers.iter().position(|h| h == metric).unwrap();
            let in_csv: u64 = rec[col].parse().unwrap();
            check!(
                total("server", name, metric) == in_csv,
                "server {name}: timeseries {metric} {} != servers.csv {in_csv}\n{text}",
                total("server", name, metric)
            );
        }
    }

    // Determinism: the same scenario and seed, the same bytes.
    let o = run(b.to_str().unwrap());
    check!(o.status.code() == Some(0), "second run failed: {}", stderr(&o));
    let (fa, fb) = (files(&a), files(&b));
    check!(fa.keys().eq(fb.keys()), "the two runs wrote different files\n{text}");
    for (name, bytes) in &fa {
        check!(fb[name] == *bytes, "{name} differs between two runs of the same scenario and seed\n{text}");
    }
    Ok(())
}

/// The scenario with a budget of `requests` instead of its duration: the
/// run must end by itself (within a minute of wall time), drained.
fn check_budget(dir: &Path, g: &Gen) -> Result<(), TestCaseError> {
    let requests = 40 * g.duration_s;
    let text = yaml(g).replacen(&format!("duration: {}s\n", g.duration_s), &format!("requests: {requests}\n"), 1);
    let scenario = write(dir, "budget.yaml", &text);
    let out = dir.join("budget");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .args(["run", scenario.to_str().unwrap(), "--reproducible", "--quiet", "--no-fail", "--no-check"])
        .args(["--out", out.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run lbsim");
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(TestCaseError::fail(format!("a run with a budget of {requests} requests did not end\n{text}")));
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    check!(status.code() == Some(0), "lbsim run failed ({status:?})\n{text}");
    let s = json(&out.join("summary.json"));
    let r = &s["requests"];
    check!(s["simulated"]["end_reason"] == "drained", "the run ended by {}\n{text}", s["simulated"]["end_reason"]);
    check!(r["generated"] == requests, "generated {} of a budget of {requests}\n{text}", r["generated"]);
    check!(r["in_flight_at_end"] == 0, "{} in flight at the end of a drained run\n{text}", r["in_flight_at_end"]);
    check!(r["all_accounted_for"] == true, "all_accounted_for is false\n{text}");
    Ok(())
}

fn config() -> Config {
    let seed = std::env::var("LBSIM_PROPTEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20261205);
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(24);
    Config { cases, rng_seed: RngSeed::Fixed(seed), failure_persistence: None, ..Config::default() }
}

fn runner() -> TestRunner {
    TestRunner::new(config())
}

#[test]
fn generated_runs_lose_nothing_agree_across_files_and_repeat_exactly() {
    let dir = scratch("properties", "runs");
    let mut runner = runner();
    let result = runner.run(&scenario(), |g| check_run(&dir, &g));
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn generated_runs_with_a_request_budget_drain_and_end() {
    let dir = scratch("properties", "budget");
    // A run that does not end costs a minute per try: report the first
    // failing scenario as it is, unshrunk.
    let mut runner = TestRunner::new(Config { max_shrink_iters: 0, ..config() });
    let result = runner.run(&scenario(), |g| check_budget(&dir, &g));
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn the_generator_covers_networks_timelines_and_every_algorithm() {
    // The property above only means something if the generated scenarios
    // reach the features it claims to cover.
    let mut runner = runner();
    let (mut networks, mut timelines, mut link_downs, mut algorithms) = (0, 0, 0, std::collections::BTreeSet::new());
    for _ in 0..200 {
        let g = scenario().new_tree(&mut runner).unwrap().current();
        networks += usize::from(g.network.is_some());
        link_downs += usize::from(g.network.is_some_and(|n| n.link_down.is_some()));
        timelines += usize::from(!g.timeline.is_empty());
        algorithms.insert(g.algorithm);
    }
    assert!(networks > 50 && link_downs > 20 && timelines > 100, "{networks} {link_downs} {timelines}");
    assert_eq!(algorithms.len(), ALGORITHMS.len());
}

/// A sweep of the generated scenario (two algorithms, two replications) run
/// whole and run as `shards` shards then merged: the same bytes.
fn check_shards(dir: &Path, g: &Gen, shards: u32) -> Result<(), TestCaseError> {
    let case = CASE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = dir.join(format!("case-{case}"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = write(&dir, "prop.yaml", &yaml(g));
    let file = file.to_str().unwrap();
    let other = if g.algorithm == "random" { "round_robin" } else { "random" };
    let vary = format!("balancers.lb.algorithm={},{other}", g.algorithm);
    let sweep = |out: &Path, extra: &[&str]| {
        let mut args = vec!["sweep", file, "--vary", &vary, "--replications", "2", "--seed", "3", "--quiet"];
        args.extend(["--out", out.to_str().unwrap()]);
        args.extend_from_slice(extra);
        lbsim(&args)
    };
    let whole = dir.join("whole");
    let o = sweep(&whole, &[]);
    prop_assert!(o.status.success(), "sweep failed: {}\n{}", stderr(&o), yaml(g));
    let parts = dir.join("parts");
    let mut merge = vec!["merge".to_string()];
    for i in 0..shards {
        let o = sweep(&parts, &["--shard", &format!("{i}/{shards}")]);
        prop_assert!(o.status.success(), "shard {i}/{shards} failed: {}", stderr(&o));
        merge.push(parts.join(format!("shard-{i}-of-{shards}")).to_str().unwrap().to_string());
    }
    let merged = dir.join("merged");
    merge.extend(["--out".to_string(), merged.to_str().unwrap().to_string()]);
    let o = lbsim(&merge.iter().map(String::as_str).collect::<Vec<_>>());
    prop_assert!(o.status.success(), "merge failed: {}", stderr(&o));
    let (a, b) = (files(&whole), files(&merged));
    prop_assert!(a.keys().eq(b.keys()), "the merged sweep wrote other files: {:?} vs {:?}", a.keys(), b.keys());
    prop_assert!(a.contains_key("sweep.json"), "no sweep.json: {:?}", a.keys());
    for (name, bytes) in &a {
        prop_assert!(b[name] == *bytes, "{name} differs between the sweep and its {shards} merged shards\n{}", yaml(g));
    }
    Ok(())
}

static CASE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[test]
fn sharded_and_merged_sweeps_equal_the_whole_sweep() {
    let dir = scratch("properties", "shards");
    let mut runner =
        TestRunner::new(Config { cases: runner().config().cases.div_ceil(4), ..runner().config().clone() });
    let result = runner.run(&(scenario(), 2u32..=3), |(g, shards)| check_shards(&dir, &g, shards));
    if let Err(e) = result {
        panic!("{e}");
    }
}
