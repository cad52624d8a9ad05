//! Behaviour of the simulator core through the library: arrival processes,
//! closed loops, timeouts, rejections, balancer semantics in a running
//! system, warm-up, and memory that does not grow with requests.

use lbsim::model::load_str;
use lbsim::report::{RunContext, Summary};
use lbsim::sim::run_quiet;

fn summary(text: &str) -> Summary {
    let world = load_str("test.yaml", text).unwrap_or_else(|e| panic!("{e}"));
    let result = run_quiet(world);
    Summary::build(&result, &RunContext { reproducible: true, ..RunContext::default() })
}

fn scenario(clients: &str, balancer: &str, servers: &str) -> String {
    format!("name: t\nduration: 60s\nclients:\n{clients}\nbalancers:\n  lb: {balancer}\nservers:\n{servers}\n")
}

#[test]
fn constant_arrivals_are_exact_and_poisson_counts_are_plausible() {
    let s = summary(&scenario(
        "  c: {target: lb, rate: 100/s, arrival: constant}",
        "{backends: [a]}",
        "  a: {workers: 4, service: {constant: 1ms}}",
    ));
    assert_eq!(s.requests.generated, 6000);
    assert_eq!(s.latency_ms.p50, 1.0);
    let s = summary(&scenario(
        "  c: {target: lb, rate: 100/s}",
        "{backends: [a]}",
        "  a: {workers: 4, service: {constant: 1ms}}",
    ));
    // Poisson(6000): sd 77; 5 sd either way.
    assert!((5613..=6387).contains(&s.requests.generated), "{}", s.requests.generated);
}

#[test]
fn a_rate_profile_shapes_the_arrivals() {
    let text = scenario(
        "  c: {target: lb, rate: 100/s, arrival: constant, profile: [{at: 20s, rate: 300/s}, {at: 40s, ramp_to: 100/s, over: 20s}]}",
        "{backends: [a]}",
        "  a: {workers: 8, service: {constant: 1ms}}",
    );
    let s = summary(&text);
    // 20 s x 100 + 20 s x 300 + a ramp 300 -> 100 over 20 s (mean 200).
    let expected = 2000 + 6000 + 4000;
    assert!((s.requests.generated as i64 - expected).abs() <= 2, "{}", s.requests.generated);
}

#[test]
fn closed_loop_throughput_obeys_the_interactive_response_time_law() {
    // N users, think time Z, response time R: X = N / (Z + R).
    let text = scenario(
        "  c: {target: lb, closed_loop: {think_time: {exponential: 1s}}, users: 200}",
        "{backends: [a, b]}",
        "  a: {workers: 1, service: {exponential: 4ms}}\n  b: {workers: 1, service: {exponential: 4ms}}",
    );
    let s = summary(&text);
    let r = s.latency_ms.mean / 1e3;
    let x = 200.0 / (1.0 + r);
    let rel = (s.throughput_rps - x).abs() / x;
    assert!(rel < 0.02, "throughput {} vs N/(Z+R) {x}", s.throughput_rps);
    assert!(s.users.active <= 200);
}

#[test]
fn slow_servers_time_requests_out_and_every_user_is_affected() {
    let text = scenario(
        "  c: {target: lb, rate: 20/s, users: 50, timeout: 50ms}",
        "{backends: [a]}",
        "  a: {workers: 100, service: {constant: 100ms}}",
    );
    let s = summary(&text);
    assert_eq!(s.requests.completed, 0);
    assert_eq!(s.requests.failed.timed_out + s.requests.in_flight_at_end, s.requests.generated);
    assert_eq!(s.users.affected, s.users.active);
    assert!(s.requests.all_accounted_for);
    // The server still did the work nobody waited for.
    assert!(s.servers[0].completed > 0);
}

#[test]
fn full_queues_reject_and_everything_is_accounted_for() {
    let text = scenario(
        "  c: {target: lb, rate: 300/s, users: 100}",
        "{backends: [a]}",
        "  a: {workers: 1, queue_limit: 5, service: {exponential: 10ms}}",
    );
    let s = summary(&text);
    assert!(s.requests.failed.rejected > 0);
    assert_eq!(s.servers[0].rejected, s.requests.failed.rejected);
    assert!(s.servers[0].max_queue <= 5);
    assert!(s.requests.all_accounted_for);
    // Offered 3 erlangs to one worker: it is busy nearly all the time.
    assert!(s.servers[0].utilisation > 0.95, "{}", s.servers[0].utilisation);
}

#[test]
fn weight_zero_takes_a_server_out_and_weights_split_traffic() {
    for algorithm in ["round_robin", "random", "least_connections", "power_of_two_choices", "consistent_hash", "first"]
    {
        let text = scenario(
            "  c: {target: lb, rate: 200/s, users: 5000}",
            &format!("{{algorithm: {algorithm}, backends: [a, b, c], weights: {{b: 0}}}}"),
            "  a: {workers: 4, service: {exponential: 5ms}}\n  b: {workers: 4, service: {exponential: 5ms}}\n  c: {workers: 4, service: {exponential: 5ms}}",
        );
        let s = summary(&text);
        assert_eq!(s.servers[1].requests, 0, "{algorithm}");
        assert!(s.servers[0].requests > 0, "{algorithm}");
    }
    let text = scenario(
        "  c: {target: lb, rate: 400/s}",
        "{algorithm: round_robin, backends: [a, b], weights: {a: 3}}",
        "  a: {workers: 4, service: {exponential: 5ms}}\n  b: {workers: 4, service: {exponential: 5ms}}",
    );
    let s = summary(&text);
    assert!((s.servers[0].share - 0.75).abs() < 0.001, "{}", s.servers[0].share);
}

#[test]
fn every_backend_at_weight_zero_fails_requests_at_the_balancer() {
    let text = scenario(
        "  c: {target: lb, rate: 10/s}",
        "{backends: [a], weights: {a: 0}}",
        "  a: {service: {constant: 1ms}}",
    );
    let s = summary(&text);
    assert_eq!(s.requests.failed.no_backend, s.requests.generated);
    assert_eq!(s.error_rate, 1.0);
}

#[test]
fn consistent_hashing_keeps_a_user_on_one_server() {
    // One user: every request lands on the same server.
    let text = scenario(
        "  c: {target: lb, rate: 100/s, users: 1}",
        "{algorithm: consistent_hash, backends: [a, b, c, d]}",
        "  \"{a,b,c,d}\": {workers: 4, service: {exponential: 5ms}}",
    );
    let s = summary(&text);
    assert_eq!(s.servers.iter().filter(|v| v.requests > 0).count(), 1);
}

#[test]
fn first_fills_the_first_server_before_the_next() {
    let text = scenario(
        "  c: {target: lb, rate: 50/s}",
        "{algorithm: first, backends: [a, b]}",
        "  a: {workers: 10, service: {constant: 10ms}}\n  b: {workers: 10, service: {constant: 10ms}}",
    );
    let s = summary(&text);
    // 0.5 busy workers on average: a never has 10 in flight.
    assert_eq!(s.servers[1].requests, 0);
}

#[test]
fn least_connections_avoids_the_slow_server() {
    let text = scenario(
        "  c: {target: lb, rate: 300/s}",
        "{algorithm: least_connections, backends: [fast, slow]}",
        "  fast: {workers: 4, service: {exponential: 5ms}}\n  slow: {workers: 4, service: {exponential: 20ms}}",
    );
    let s = summary(&text);
    assert!(s.servers[0].share > 0.6, "{}", s.servers[0].share);
}

#[test]
fn warm_up_is_left_out_of_the_statistics() {
    let text = "name: t\nduration: 20s\nwarmup: 10s\nclients:\n  c: {target: lb, rate: 100/s, arrival: constant}\nbalancers:\n  lb: {backends: [a]}\nservers:\n  a: {workers: 2, service: {constant: 1ms}}\n";
    let s = summary(text);
    assert_eq!(s.requests.generated, 1000);
    assert_eq!(s.simulated.measured_s, 10.0);
    assert!((s.servers[0].utilisation - 0.05).abs() < 0.001, "{}", s.servers[0].utilisation);
}

#[test]
fn a_request_budget_ends_the_run_once_answered() {
    let text = "name: t\nrequests: 5000\nclients:\n  c: {target: lb, rate: 1000/s}\nbalancers:\n  lb: {backends: [a]}\nservers:\n  a: {workers: 4, service: {exponential: 1ms}}\n";
    let s = summary(text);
    assert_eq!(s.requests.generated, 5000);
    assert_eq!(s.requests.completed, 5000);
    assert_eq!(s.requests.in_flight_at_end, 0);
}

#[test]
fn zipf_users_concentrate_on_few_people() {
    let base = "name: t\nduration: 10s\nclients:\n  c: {target: lb, rate: 1000/s, users: 100000, user_popularity: POP}\nbalancers:\n  lb: {backends: [a]}\nservers:\n  a: {workers: 16, service: {constant: 1ms}}\n";
    let uniform = summary(&base.replace("POP", "uniform"));
    let zipf = summary(&base.replace("POP", "{zipf: 1.2}"));
    // 10k requests over 100k uniform users touch ~9.5k of them; Zipf far fewer.
    assert!(uniform.users.active > 9000, "{}", uniform.users.active);
    assert!(zipf.users.active < uniform.users.active / 2, "{}", zipf.users.active);
}

#[test]
fn memory_does_not_grow_with_the_number_of_requests() {
    let text = |n: u64| {
        format!(
            "name: t\nrequests: {n}\ninterval: 10s\nclients:\n  c: {{target: lb, rate: 1440/s}}\nbalancers:\n  lb: {{algorithm: random, backends: [\"s-*\"]}}\nservers:\n  s-{{1..16}}: {{service: {{exponential: 10ms}}}}\n"
        )
    };
    let small = run_quiet(load_str("t.yaml", &text(200_000)).unwrap());
    let large = run_quiet(load_str("t.yaml", &text(2_000_000)).unwrap());
    // The slab's high-water mark is set by the requests in flight (about
    // 16 x 9 at 90% load), not by how many were simulated.
    assert!(small.peak_requests_in_memory < 2_000, "{}", small.peak_requests_in_memory);
    assert!(
        large.peak_requests_in_memory < 2 * small.peak_requests_in_memory.max(500),
        "{}",
        large.peak_requests_in_memory
    );
}

#[test]
fn a_call_without_retries_runs_as_one_with_a_single_attempt() {
    // A group without a retry policy keeps no record per call (its one
    // attempt stands for it); `retry: {attempts: 1}` sends the same single
    // attempt through the general path, with a call record. The incidents
    // exercise timeouts, packets lost by the network, misrouting, crashes
    // and restarts: both paths must give the same run, number for number.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/incidents");
    let mut compared = 0;
    for name in
        ["001-network-switch", "002-balancer-routes", "003-all-traffic-to-one-server", "004-wrong-route-on-web-01"]
    {
        let text = std::fs::read_to_string(root.join(format!("{name}.yaml"))).unwrap();
        assert!(!text.contains("retry"), "{name} already retries");
        let lines: Vec<&str> = text.lines().collect();
        let with_policy: Vec<String> = lines
            .iter()
            .flat_map(|l| {
                let mut out = vec![l.to_string()];
                if l.starts_with("    timeout: ") {
                    out.push("    retry: {attempts: 1}".into());
                }
                out
            })
            .collect();
        assert!(with_policy.len() > lines.len(), "{name}: no client timeout to put a policy beside");
        let json = |text: &str| serde_json::to_string_pretty(&summary(text)).unwrap();
        let (without, with) = (json(&text), json(&with_policy.join("\n")));
        assert!(without.contains("\"failed\""), "{name}: {without}");
        assert_eq!(without, with, "{name}");
        compared += 1;
    }
    assert_eq!(compared, 4);
}
