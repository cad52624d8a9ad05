//! The limits (`src/limits.rs`) from the command line: a scenario over one
//! is refused up front, fast, with exit status 2, at the place that takes
//! it over, saying how much, the limit and how to raise it; raising it (or
//! `--allow-large-run` for the size of a run) lets the same scenario run.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common;
use crate::common::{assert_bad_scenarios, lbsim, stderr, write};

/// Runs `text` (written to `dir/name`) with `lbsim run --out dir/out` and
/// `extra`, which must fail with exit status 2; its error and how long it took.
fn refused(dir: &Path, name: &str, text: &str, extra: &[&str]) -> (String, Duration) {
    let file = write(dir, name, text);
    let out = dir.join("out");
    let mut args = vec!["run", file.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let start = Instant::now();
    let o = lbsim(&args);
    let took = start.elapsed();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    (err, took)
}

/// A scenario with the given `servers:` entries (and `extra` top-level text).
fn scenario(servers: &str, extra: &str) -> String {
    format!(
        "name: limits\nduration: 1m\n{extra}clients:\n  web: {{target: lb, rate: 10/s}}\nbalancers:\n  lb: {{backends: [\"s*\"]}}\nservers:\n{servers}"
    )
}

#[test]
fn a_pattern_of_ten_billion_servers_is_refused_at_once_at_the_pattern() {
    let dir = common::scratch("limits", "huge");
    let text = scenario("  s-{1..100000}-{1..100000}: {service: {constant: 1ms}}\n", "");
    let (err, took) = refused(&dir, "huge.yaml", &text, &[]);
    let out = dir.join("out");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(err.contains("huge.yaml:8:3"), "{err}");
    assert!(err.contains("declares 10,000,000,000 servers"), "{err}");
    assert!(err.contains("10,000,000,002 entities in all"), "{err}");
    assert!(err.contains("`entities` limit of 2,000,000 entities"), "{err}");
    assert!(err.contains("limits: {entities: 10000000002}"), "{err}");
    assert!(err.contains("--set limits.entities=10000000002"), "{err}");
    assert!(!err.contains("panicked") && !out.exists(), "{err}");
}

#[test]
fn the_entity_limit_counts_every_pattern_together() {
    let dir = common::scratch("limits", "total");
    let ten =
        |n: usize| (0..10).map(|i| format!("  s{i}-{{1..{n}}}: {{service: {{constant: 1ms}}}}\n")).collect::<String>();
    // Under a limit of 500,000, ten ranges of 99,999: the sixth goes over
    // (2 + 6 x 99,999), and is where the refusal points.
    let lowered = scenario(&ten(99_999), "limits: {entities: 500000}\n");
    assert_bad_scenarios(
        &dir,
        &[
            (lowered.clone(), ":14:3:", "`s5-{1..99999}` declares 99,999 servers"),
            (lowered, ":14:3:", "999,992 entities in all"),
            (scenario("  s: {count: 3000000, service: {constant: 1ms}}\n", ""), ":8:14:", "declares 3,000,000 servers"),
        ],
    );
    // Ten smaller ranges run.
    let file = write(&dir, "ten.yaml", &scenario(&ten(999), ""));
    let o = lbsim(&["run", file.to_str().unwrap(), "--out", dir.join("ten").to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn raising_a_limit_lets_the_scenario_run() {
    let dir = common::scratch("limits", "raise");
    let text = scenario("  s-{1..50}: {service: {constant: 1ms}}\n", "limits: {entities: 40}\n");
    assert_bad_scenarios(&dir, &[(text.clone(), ":9:3:", "`entities` limit of 40 entities")]);
    let file = write(&dir, "raised.yaml", &text);
    let out = dir.join("out");
    let o =
        lbsim(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--set", "limits.entities=52", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_reference_pattern_is_checked_before_it_is_expanded() {
    let dir = common::scratch("limits", "reference");
    let text =
        scenario("  s-1-1: {service: {constant: 1ms}}\n", "").replace("[\"s*\"]", "[\"s-{1..100000}-{1..100000}\"]");
    assert_bad_scenarios(&dir, &[(text, ":6:", "stands for 10,000,000,000 names")]);
}

#[test]
fn limits_are_named_and_typed() {
    let dir = common::scratch("limits", "names");
    let servers = "  s1: {service: {constant: 1ms}}\n";
    assert_bad_scenarios(
        &dir,
        &[
            (scenario(servers, "limits: {entitys: 5}\n"), ":3:", "unknown limit `entitys`"),
            (scenario(servers, "limits: {entitys: 5}\n"), ":3:", "did you mean `entities`?"),
            (scenario(servers, "limits: {entities: true}\n"), ":3:", "a whole number of entities"),
            (scenario(servers, "limits: {allow_large_run: 3}\n"), ":3:", "`true` or `false`"),
        ],
    );
}

/// `interval: 1ms` over 1000 hours.
const LONG: &str = "name: long\nduration: 1000h\ninterval: 1ms\nclients:\n  web: {target: lb, rate: 10/s}\nbalancers:\n  lb: {backends: [s1]}\nservers:\n  s1: {service: {constant: 1ms}}\n";

#[test]
fn a_run_whose_series_would_fill_the_disk_is_refused_up_front() {
    let dir = common::scratch("limits", "series");
    let (err, took) = refused(&dir, "long.yaml", LONG, &[]);
    assert!(took < Duration::from_secs(1));
    assert!(err.contains("long.yaml:3:11"), "{err}");
    // 3.6e9 intervals of 24 global, 11 server, 5 balancer and 5 client rows.
    assert!(err.contains("3,600,000,000 intervals of 45 rows"), "{err}");
    assert!(err.contains("162,000,000,000 rows"), "{err}");
    assert!(err.contains("TiB"), "{err}");
    assert!(err.contains("--allow-large-run"), "{err}");
    assert!(!dir.join("out").exists());
}

#[test]
fn allow_large_run_lifts_the_series_limit_and_the_estimate_is_close() {
    let dir = common::scratch("limits", "allow");
    // 200 intervals of 10 ms over two seconds, under a 10,000-byte budget.
    let text = LONG.replace("1000h", "2s").replace("interval: 1ms", "interval: 10ms");
    let file = write(&dir, "short.yaml", &format!("{text}limits: {{series_bytes: 10000}}\n"));
    let o = lbsim(&["run", file.to_str().unwrap(), "--out", dir.join("refused").to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let estimate: u64 = {
        let at = err.find("about ").expect("an estimate") + "about ".len();
        err[at..].split(' ').next().unwrap().replace(',', "").parse().unwrap()
    };
    let out = dir.join("out");
    let o = lbsim(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--allow-large-run", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let written = std::fs::metadata(out.join("timeseries.csv")).unwrap().len();
    let ratio = estimate as f64 / written as f64;
    assert!((0.7..1.4).contains(&ratio), "estimated {estimate} bytes, wrote {written}");
    // Raising the limit does the same.
    let raised = format!("--set=limits.series_bytes={}", written * 2);
    let o = lbsim(&["run", file.to_str().unwrap(), "--out", dir.join("raised").to_str().unwrap(), &raised, "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Two single-worker servers; `web`'s load and the run's length are the
/// caller's.
fn flood(duration: &str, client: &str) -> String {
    format!(
        "name: flood\nduration: {duration}\nclients:\n  web: {client}\nbalancers:\n  lb: {{backends: [s1, s2]}}\nservers:\n  s1: {{service: {{constant: 1ms}}}}\n  s2: {{service: {{constant: 1ms}}}}\n"
    )
}

#[test]
fn a_run_of_too_many_requests_is_refused_up_front() {
    let dir = common::scratch("limits", "requests");
    let (err, took) = refused(&dir, "flood.yaml", &flood("1000h", "{target: lb, rate: 1000000000/s}"), &[]);
    assert!(took < Duration::from_secs(1));
    assert!(err.contains("flood.yaml:2:11"), "{err}");
    assert!(err.contains("about 3,600,000,000,000,000 requests"), "{err}");
    assert!(err.contains("`requests` limit of 10,000,000,000 requests"), "{err}");
    assert!(err.contains("--allow-large-run"), "{err}");
    assert!(!dir.join("out").exists());
}

#[test]
fn the_memory_guard_stops_a_runaway_run_and_marks_its_reports_incomplete() {
    let dir = common::scratch("limits", "guard");
    let text = flood("10m", "{target: lb, rate: 1000000000/s}");
    let extra = ["--allow-large-run", "--set", "limits.in_flight=300000", "--no-charts"];
    let (err, _) = refused(&dir, "flood.yaml", &text, &extra);
    let out = dir.join("out");
    assert!(err.contains("the memory guard stopped the run at"), "{err}");
    assert!(err.contains("more than the `in_flight` limit of 300,000 requests"), "{err}");
    // A group without retries keeps no record per call (the attempt stands
    // for it), yet the guard counts each call as well as its one attempt.
    let counts = err.split_once(" calls, ").map(|(a, b)| {
        let calls = a.rsplit('(').next().unwrap().replace(',', "");
        let attempts = b.split_once(" attempts").unwrap().0.replace(',', "");
        (calls.parse::<u64>().unwrap(), attempts.parse::<u64>().unwrap())
    });
    let (calls, attempts) = counts.unwrap_or_else(|| panic!("no call and attempt counts: {err}"));
    assert!(calls > 100_000 && calls == attempts, "{calls} calls, {attempts} attempts: {err}");
    assert!(err.contains("marked incomplete"), "{err}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["simulated"]["end_reason"], "stopped");
    assert!(summary["simulated"]["stopped"].as_str().unwrap().contains("memory guard"));
    // Under a millisecond of simulated time, not ten minutes.
    assert!(summary["simulated"]["duration_s"].as_f64().unwrap() < 0.01, "{}", summary["simulated"]);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("> **Incomplete run.** the memory guard"), "{md}");
    assert!(out.join("timeseries.csv").exists() && out.join("servers.csv").exists());
}

#[test]
fn the_series_guard_stops_a_budgeted_run_that_would_fill_the_disk() {
    // One closed-loop user, 10 ms between requests: a budget of 100
    // million requests takes some 12 days, which the compiler cannot see
    // (it estimates the length of open-loop runs only). At one-second
    // intervals that is a million intervals of series; the guard stops the
    // run at the `series_bytes` limit (set low here) instead.
    let dir = common::scratch("limits", "series-guard");
    let text = "name: slow\nrequests: 100000000\ninterval: 1s\nclients:\n  web: {target: lb, closed_loop: {think_time: {constant: 10ms}}, users: 1}\nbalancers:\n  lb: {backends: [s1]}\nservers:\n  s1: {service: {constant: 1ms}}\n";
    let (err, _) = refused(&dir, "slow.yaml", text, &["--set", "limits.series_bytes=200000", "--no-charts"]);
    assert!(err.contains("the series guard stopped the run at"), "{err}");
    assert!(err.contains("more than the `series_bytes` limit of 200,000 bytes"), "{err}");
    assert!(err.contains("--allow-large-run"), "{err}");
    let out = dir.join("out");
    let summary = common::json(&out.join("summary.json"));
    assert_eq!(summary["simulated"]["end_reason"], "stopped");
    assert!(summary["simulated"]["stopped"].as_str().unwrap().contains("series guard"));
    // The series stops near its budget (the guard counts each interval at
    // the size of the first, a lower bound), two or three minutes in.
    let written = std::fs::metadata(out.join("timeseries.csv")).unwrap().len();
    assert!((150_000..=240_000).contains(&written), "{written} bytes of series");
    // The guard stops the run at the event loop's next look (2^20 events
    // on), not days of simulated time later.
    let simulated = summary["simulated"]["duration_s"].as_f64().unwrap();
    assert!((60.0..86_400.0).contains(&simulated), "{simulated} s");
    let generated = summary["requests"]["generated"].as_u64().unwrap();
    assert!(generated <= 1 << 20, "{generated} requests");
    // A budget of 20,000 takes some 220 s, past the limit too: a sweep's
    // replications write no series, and the guard leaves them alone.
    let few = text.replace("requests: 100000000", "requests: 20000");
    let file = common::write(&dir, "few.yaml", &few);
    let sweep = dir.join("sweep");
    let o = lbsim(&[
        "sweep",
        file.to_str().unwrap(),
        "--vary",
        "balancers.lb.algorithm=random,round_robin",
        "--set",
        "limits.series_bytes=200000",
        "-q",
        "--out",
        sweep.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("series guard"), "{}", stderr(&o));
    // And under --allow-large-run a run is not stopped by it.
    let o = lbsim(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        dir.join("few").to_str().unwrap(),
        "--allow-large-run",
        "--set",
        "limits.series_bytes=200000",
        "--no-charts",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

const ZERO_LOOP: &str = "name: zero\nduration: 1m\nclients:\n  web: {target: lb, closed_loop: {think_time: {constant: 0s}}, users: 10}\nbalancers:\n  lb: {backends: [s1]}\nservers:\n  s1: {service: {constant: 0s}}\n";

#[test]
fn a_closed_loop_that_takes_no_time_is_refused_by_the_compiler() {
    let dir = common::scratch("limits", "zero");
    let (err, _) = refused(&dir, "zero.yaml", ZERO_LOOP, &[]);
    assert!(err.contains("zero.yaml:4:3"), "{err}");
    assert!(err.contains("client group `web` is a closed loop that takes no time"), "{err}");
    assert!(!dir.join("out").exists());
    // Evenly spaced arrivals less than a nanosecond apart, too.
    let even = flood("1s", "{target: lb, rate: 2000000000/s, arrival: constant}");
    let (err, _) = refused(&dir, "even.yaml", &even, &[]);
    assert!(err.contains("even.yaml:4:3") && err.contains("less than a nanosecond apart"), "{err}");
}

#[test]
fn the_zero_time_detector_stops_a_loop_the_compiler_cannot_see() {
    // A mixture of one constant 0 s: the compiler does not look inside.
    let dir = common::scratch("limits", "stall");
    let text = ZERO_LOOP.replace("{constant: 0s}}\n", "{mixture: [{weight: 100%, dist: {constant: 0s}}]}}\n");
    let (err, took) = refused(&dir, "stall.yaml", &text, &["--set", "limits.instant_events=1000000", "--no-charts"]);
    let out = dir.join("out");
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert!(err.contains("simulated time stopped advancing at 0 s"), "{err}");
    assert!(err.contains("client group `web`'s (closed-loop users"), "{err}");
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(summary.contains("\"end_reason\": \"stopped\""), "{summary}");
}

#[test]
fn the_timeline_and_samples_files_have_limits_too() {
    let dir = common::scratch("limits", "timeline");
    let timeline = "timeline:\n  - {at: 10s, note: one}\n  - {at: 20s, note: two}\n";
    let text = format!("{}{timeline}", flood("1m", "{target: lb, rate: 10/s}"));
    let (err, _) = refused(&dir, "t.yaml", &text, &["--set", "limits.timeline_entries=1"]);
    assert!(err.contains("t.yaml:12:10") && err.contains("the timeline has 2 entries"), "{err}");
    assert!(err.contains("`timeline_entries` limit of 1 entries"), "{err}");
    // A samples file over `file_bytes` is refused before it is read.
    let samples: String = std::iter::once("ms\n".to_string()).chain((0..200).map(|i| format!("{i}\n"))).collect();
    write(&dir, "samples.csv", &samples);
    let text = flood("1m", "{target: lb, rate: 10/s}")
        .replace("s1: {service: {constant: 1ms}}", "s1: {service: {empirical: {file: samples.csv, unit: ms}}}");
    let (err, _) = refused(&dir, "e.yaml", &text, &["--set", "limits.file_bytes=100"]);
    let file = dir.join("e.yaml");
    assert!(err.contains("samples.csv is 693 bytes, more than the `file_bytes` limit of 100 bytes"), "{err}");
    let o = lbsim(&["check", file.to_str().unwrap()]);
    assert_ne!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn an_unknown_limit_in_set_is_named() {
    let dir = common::scratch("limits", "unknown");
    let file = write(&dir, "f.yaml", &flood("1m", "{target: lb, rate: 10/s}"));
    let o = lbsim(&["check", file.to_str().unwrap(), "--set", "limits.entitys=5"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("there is no limit `entitys`") && err.contains("did you mean `limits.entities`"), "{err}");
}

/// `depth` distributions, each a mixture of ten of the one before: ten to
/// the `depth` leaves, in a few kilobytes of YAML aliases.
fn alias_bomb(depth: usize) -> String {
    let mut servers = String::from("  s0: {service: &a0 {constant: 1ms}}\n");
    for i in 1..depth {
        let parts = vec![format!("{{weight: 10%, dist: *a{}}}", i - 1); 10].join(", ");
        servers.push_str(&format!("  s{i}: {{service: &a{i} {{mixture: [{parts}]}}}}\n"));
    }
    format!(
        "name: bomb\nduration: 1m\nclients:\n  web: {{target: lb, rate: 10/s}}\nbalancers:\n  lb: {{backends: [s0]}}\nservers:\n{servers}"
    )
}

#[test]
fn a_yaml_alias_bomb_and_deep_nesting_are_refused_fast() {
    let dir = common::scratch("limits", "yaml");
    let (err, took) = refused(&dir, "bomb.yaml", &alias_bomb(10), &[]);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(err.contains("bomb.yaml:") && err.contains("YAML document too large or too complex"), "{err}");
    // Two hundred mixtures inside each other.
    let mut dist = "{constant: 1ms}".to_string();
    for _ in 0..200 {
        dist = format!("{{mixture: [{{weight: 100%, dist: {dist}}}]}}");
    }
    let text = alias_bomb(1).replace("&a0 {constant: 1ms}", &dist);
    let (err, _) = refused(&dir, "deep.yaml", &text, &[]);
    assert!(err.contains("deep.yaml:8:") && err.contains("too complex") && !err.contains("panicked"), "{err}");
    assert!(!dir.join("out").exists());
}
