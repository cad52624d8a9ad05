//! Trace replay: a client group reruns a recorded trace's arrivals and
//! users, sped up or scaled, and a bad trace is a located error.

use std::path::Path;

use lbsim::model::load;
use lbsim::report::{RunContext, Summary};
use lbsim::sim::run_quiet;
use lbsim::trace::Writer;

use crate::common::{lbsim, scratch, stderr, write};

/// A trace of `n` arrivals, 10 ms apart, from `users` users in turn.
fn trace(dir: &Path, n: u64, users: u64) {
    let mut w = Writer::create(&dir.join("peak.csv.gz")).unwrap();
    for i in 0..n {
        w.push(i as f64 * 0.01, 1000 + i % users).unwrap();
    }
    w.finish().unwrap();
}

fn scenario(replay: &str) -> String {
    format!(
        "name: replayed\nduration: 30s\nclients:\n  web: {{target: lb, replay: {replay}, timeout: 2s}}\nbalancers:\n  lb: {{backends: [\"app-*\"]}}\nservers:\n  app-{{1..2}}: {{workers: 4, service: {{constant: 5ms}}}}\n"
    )
}

fn run(dir: &Path, replay: &str) -> Summary {
    let path = write(dir, "s.yaml", &scenario(replay));
    let (world, _) = load(&path, &[], None).unwrap_or_else(|e| panic!("{e}"));
    Summary::build(&run_quiet(world), &RunContext { reproducible: true, ..RunContext::default() })
}

#[test]
fn a_replay_sends_the_traces_requests_from_its_users() {
    let dir = scratch("replay", "plain");
    trace(&dir, 1000, 40);
    let s = run(&dir, "peak.csv.gz");
    assert_eq!(s.requests.generated, 1000);
    assert_eq!(s.users.total, 40);
    assert_eq!(s.users.active, 40);
    // 1000 arrivals 10 ms apart: 100 requests per second over 10 s.
    assert!((s.throughput_rps * 30.0 - 1000.0).abs() < 1.0, "{}", s.throughput_rps);
    assert_eq!(s.latency_ms.p99, 5.0);
}

#[test]
fn speed_and_scale_change_the_time_and_the_count() {
    let dir = scratch("replay", "scaled");
    trace(&dir, 1000, 40);
    let scaled = run(&dir, "{file: peak.csv.gz, scale: 1.5}");
    assert_eq!(scaled.requests.generated, 1500);
    assert_eq!(scaled.users.active, 40, "the same users, more of their requests");
    // One worker taking 8 ms: requests 10 ms apart never wait; at 2x they
    // come every 5 ms and the queue grows for the whole trace.
    let one = |replay: &str| {
        let text = scenario(replay)
            .replace("app-{1..2}: {workers: 4, service: {constant: 5ms}}", "app-1: {service: {constant: 8ms}}");
        let path = write(&dir, "one.yaml", &text);
        let (world, _) = load(&path, &[], None).unwrap_or_else(|e| panic!("{e}"));
        Summary::build(&run_quiet(world), &RunContext { reproducible: true, ..RunContext::default() })
    };
    let recorded = one("peak.csv.gz");
    assert_eq!((recorded.requests.generated, recorded.latency_ms.max), (1000, 8.0));
    let fast = one("{file: peak.csv.gz, speed: 2x}");
    assert_eq!(fast.requests.generated, 1000);
    // The backlog grows by 3 ms a request: past the 2 s timeout by the end.
    assert_eq!(recorded.error_rate, 0.0);
    assert!(fast.latency_ms.max >= 1000.0 && fast.error_rate > 0.1, "{} {}", fast.latency_ms.max, fast.error_rate);
}

#[test]
fn a_bad_trace_is_a_located_error() {
    let dir = scratch("replay", "bad");
    write(&dir, "peak.csv", "time_s,user\n0.5,a\n0.25,b\n");
    let s = write(&dir, "s.yaml", &scenario("peak.csv"));
    let o = lbsim(&["run", s.to_str().unwrap(), "--out", dir.join("out").to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("peak.csv:3:1: time 0.25 is before the line above's (0.5)"), "{err}");
    assert!(!dir.join("out").exists());
    let s = write(&dir, "s2.yaml", &scenario("peak.csv").replace("timeout: 2s", "rate: 10/s"));
    let o = lbsim(&["run", s.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("s2.yaml:4:") && stderr(&o).contains("replays a trace and also sets `rate`"),
        "{}",
        stderr(&o)
    );
    let s = write(&dir, "s3.yaml", &scenario("missing.csv"));
    let o = lbsim(&["run", s.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("s3.yaml:4:") && stderr(&o).contains("missing.csv"), "{}", stderr(&o));
}
