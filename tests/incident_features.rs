//! The incident toolkit, feature by feature: timeline changes and reverts,
//! health checks, outlier detection, retries and budgets, redundant
//! balancers, overload crashes, users by category, alerts and SLOs.

use lbsim::metrics::{EventTag, LoggedEvent, Subject};
use lbsim::model::{ServerId, load_str};
use lbsim::report::{RunContext, Summary};
use lbsim::sim::{RunResult, run_quiet};

fn run(text: &str) -> (RunResult, Summary) {
    let world = load_str("test.yaml", text).unwrap_or_else(|e| panic!("{e}"));
    let result = run_quiet(world);
    let summary = Summary::build(&result, &RunContext { reproducible: true, ..RunContext::default() });
    (result, summary)
}

fn events(r: &RunResult, tag: EventTag) -> Vec<&LoggedEvent> {
    r.recorder.events.of(tag).collect()
}

const S: u64 = 1_000_000_000;

const BASE: &str = "name: t
duration: 5m
clients:
  web: {target: lb, rate: 200/s, users: 2000, timeout: 2s}
balancers:
  lb: {algorithm: round_robin, backends: [\"app-*\"]}
servers:
  app-{1..4}: {workers: 4, queue_limit: 50, service: {exponential: 10ms}}
";

#[test]
fn a_health_check_removes_a_crashed_server_within_interval_times_threshold_plus_one_interval() {
    for (interval, threshold, jitter) in [(2u64, 3u64, "0%"), (5, 2, "20%"), (1, 5, "50%")] {
        let text = BASE.replace(
            "lb: {algorithm: round_robin, backends: [\"app-*\"]}",
            &format!(
                "lb: {{algorithm: round_robin, backends: [\"app-*\"], health_check: {{interval: {interval}s, unhealthy_threshold: {threshold}, healthy_threshold: 2, jitter: {jitter}}}}}"
            ),
        ) + "timeline:\n  - {at: 100s, server: app-2, action: crash, duration: 60s}\n";
        let (r, s) = run(&text);
        let crash = events(&r, EventTag::ServerCrashed)[0].time_ns;
        assert_eq!(crash, 100 * S);
        let down = events(&r, EventTag::BackendUnhealthy);
        assert_eq!(down.len(), 1, "{:?}", r.recorder.events.events);
        let detect = down[0].time_ns - crash;
        // Jitter (Envoy's, added to each interval) stretches every interval
        // by up to that share; without it the bound is the exactly.
        let j: f64 = jitter.trim_end_matches('%').parse::<f64>().unwrap() / 100.0;
        let bound = ((interval * threshold) as f64 * (1.0 + j) * S as f64) as u64 + interval * S;
        assert!(
            detect <= bound,
            "interval {interval}s x {threshold} (+1), jitter {jitter}: detected after {detect} ns"
        );
        assert!(detect >= (threshold - 1) * interval * S, "too early: {detect}");
        // Back up at 160s + restart (30s); healthy again after 2 good probes.
        let up = events(&r, EventTag::BackendHealthy);
        assert_eq!(up.len(), 1);
        let back = events(&r, EventTag::ServerUp)[0].time_ns;
        assert_eq!(back, 190 * S);
        assert!(up[0].time_ns >= back && up[0].time_ns <= back + 3 * interval * S * 3 / 2, "{}", up[0].time_ns);
        // While out of rotation the crashed server received nothing.
        let refused = s.requests.failed.refused;
        let rate_per_s = 200.0 / 4.0;
        assert!((refused as f64) < rate_per_s * (bound / S) as f64 * 1.5, "refused {refused}");
    }
}

#[test]
fn without_health_checks_a_crashed_server_keeps_getting_traffic() {
    let text = BASE.to_string() + "timeline:\n  - {at: 100s, server: app-2, action: crash, duration: 60s}\n";
    let (_, s) = run(&text);
    // A quarter of 200/s for 60s + the 30s restart: ~4500 refused.
    assert!((4000..5000).contains(&s.requests.failed.refused), "{}", s.requests.failed.refused);
    assert_eq!(s.servers[1].crashes, 1);
}

#[test]
fn changes_apply_and_revert_by_duration_and_by_name() {
    let text = BASE.to_string()
        + "timeline:
  - {name: pin, at: 60s, balancer: lb, backends: [app-1]}
  - {at: 120s, revert: pin}
  - {at: 180s, balancer: lb, weights: {app-1: 0}, duration: 30s}
";
    let (r, s) = run(&text);
    let share = |i: usize| s.servers[i].requests as f64;
    // app-1 takes everything for 60s, nothing for 30s, a quarter otherwise.
    let total: f64 = (0..4).map(share).sum();
    let expected_app1 = (60.0 + 60.0 * 4.0 + 0.0 + 150.0) / 300.0 * 0.25;
    assert!((share(0) / total - expected_app1).abs() < 0.02, "{}", share(0) / total);
    assert_eq!(events(&r, EventTag::ChangeApplied).len(), 2);
    let reverted = events(&r, EventTag::ChangeReverted);
    assert_eq!(reverted.iter().map(|e| e.time_ns).collect::<Vec<_>>(), [120 * S, 210 * S]);
}

#[test]
fn validation_blocks_a_change_that_would_leave_one_backend() {
    let text = BASE.replace("backends: [\"app-*\"]}", "backends: [\"app-*\"], validation: {min_backends: 2}}")
        + "timeline:\n  - {name: pin, at: 60s, balancer: lb, backends: [app-1]}\n";
    let (r, s) = run(&text);
    assert_eq!(events(&r, EventTag::ChangeBlocked).len(), 1);
    assert!(!s.timeline[0].applied);
    assert!((s.servers[0].share - 0.25).abs() < 0.01);
}

#[test]
fn a_rate_change_is_a_spike_and_reverts() {
    let text = BASE.replace("duration: 5m", "duration: 300s")
        + "timeline:\n  - {at: 100s, client: web, rate: 600/s, duration: 100s}\n";
    let (_, s) = run(&text);
    // 200 s at 200/s + 100 s at 600/s = 100,000 (Poisson sd ~ 316).
    assert!((s.requests.generated as i64 - 100_000).abs() < 1_600, "{}", s.requests.generated);
}

#[test]
fn a_bad_deploy_raises_errors_and_its_rollback_ends_them() {
    let text = BASE.to_string()
        + "timeline:
  - {name: v2, at: 60s, server: \"app-*\", error_rate: 10%, service: {exponential: 20ms}}
  - {at: 180s, revert: v2}
";
    let (_, s) = run(&text);
    let errors = s.requests.failed.server_error as f64;
    // 10% of 120 s x 200/s.
    assert!((errors - 2400.0).abs() < 250.0, "{errors}");
}

#[test]
fn a_server_pinned_with_all_traffic_falls_over_and_crash_loops() {
    let text = "name: t
duration: 20m
clients:
  web: {target: lb, rate: 300/s, users: 100000, timeout: 10s}
balancers:
  lb: {algorithm: round_robin, backends: [\"web-*\"]}
servers:
  web-{1..5}:
    workers: 16
    queue_limit: 100
    service: {exponential: 100ms}
    crash: {queue_full: true, for: 30s}
    restart_time: 1m
timeline:
  - {at: 2m, balancer: lb, backends: [web-1], duration: 10m}
";
    let (r, s) = run(text);
    let crashes = events(&r, EventTag::ServerCrashed);
    assert!(crashes.len() >= 3, "{}", crashes.len());
    let web1 = ServerId::from_index(r.world.servers.iter().position(|s| s.name == "web-1").unwrap());
    assert!(crashes.iter().all(|e| e.subject() == Subject::Server(web1)));
    assert!(crashes[0].time_ns > 120 * S + 30 * S, "crashes only after 30s of overload");
    assert!(s.requests.failed.refused > 0 && s.requests.failed.reset > 0);
    assert!(s.incident.as_ref().unwrap().users.unable > 0);
}

#[test]
fn retries_multiply_load_and_a_budget_caps_the_multiplier() {
    // Every attempt hangs past its per-try timeout: without a budget each
    // call makes all its attempts.
    let base = "name: t
duration: 120s
warmup: 20s
clients:
  web: {target: lb, rate: 100/s, users: 1000, RETRY}
balancers:
  lb: {backends: [a]}
servers:
  a: {workers: 10000, service: {constant: 10s}}
";
    let no_budget = base.replace("RETRY", "retry: {attempts: 4, per_try_timeout: 200ms, backoff: {base: 10ms}}");
    let (_, s) = run(&no_budget);
    assert!((s.requests.load_multiplier - 4.0).abs() < 0.02, "{}", s.requests.load_multiplier);
    let ratio = base.replace(
        "RETRY",
        "retry: {attempts: 4, per_try_timeout: 200ms, backoff: {base: 10ms}, budget: {ratio: 20%, min_concurrency: 1}}",
    );
    let (_, s) = run(&ratio);
    // Retries in flight at most 20% of active attempts: the multiplier stays near 1.2.
    assert!(s.requests.load_multiplier < 1.3, "{}", s.requests.load_multiplier);
    assert!(s.requests.load_multiplier > 1.05, "{}", s.requests.load_multiplier);
    let tokens = base.replace(
        "RETRY",
        "retry: {attempts: 4, per_try_timeout: 200ms, backoff: {base: 10ms}, budget: {max_tokens: 10, token_ratio: 0.1}}",
    );
    let (_, s) = run(&tokens);
    // Nothing succeeds, so the bucket empties and retries stop almost at once.
    assert!(s.requests.load_multiplier < 1.01, "{}", s.requests.load_multiplier);
}

#[test]
fn retries_rescue_calls_from_a_flaky_server() {
    let base = "name: t
duration: 60s
clients:
  web: {target: lb, rate: 200/s, users: 1000, RETRY}
balancers:
  lb: {algorithm: random, backends: [a, b]}
servers:
  a: {workers: 8, service: {exponential: 5ms}, error_rate: 50%}
  b: {workers: 8, service: {exponential: 5ms}}
";
    let (_, without) = run(&base.replace("RETRY", "timeout: 1s"));
    let (_, with) = run(&base.replace("RETRY", "timeout: 1s, retry: {attempts: 3}"));
    // Half the attempts hit `a`, half of those fail: 25% without retries,
    // and 25%^3 = 1.56% when all three attempts must fail.
    let sd = |p: f64, n: u64| (p * (1.0 - p) / n as f64).sqrt();
    let n = without.requests.generated;
    assert!((without.error_rate - 0.25).abs() < 4.0 * sd(0.25, n), "{}", without.error_rate);
    let p3 = 0.25f64.powi(3);
    assert!((with.error_rate - p3).abs() < 4.0 * sd(p3, with.requests.generated), "{}", with.error_rate);
    // Retries: 1 per failed first attempt, again per failed second: 0.25 + 0.0625 per call.
    let per_call = with.requests.retries as f64 / with.requests.generated as f64;
    assert!((per_call - 0.3125).abs() < 0.02, "{per_call}");
}

#[test]
fn outlier_detection_ejects_a_failing_server() {
    let text = BASE.replace(
        "lb: {algorithm: round_robin, backends: [\"app-*\"]}",
        "lb: {algorithm: round_robin, backends: [\"app-*\"], outlier_detection: {consecutive_failures: 5, base_ejection_time: 30s, max_ejection_percent: 50%}}",
    ) + "timeline:\n  - {at: 60s, server: app-3, error_rate: 100%, duration: 120s}\n";
    let (r, s) = run(&text);
    let ejected = events(&r, EventTag::BackendEjected);
    assert!(!ejected.is_empty());
    assert!(ejected[0].time_ns < 61 * S, "5 failures at 50/s take ~0.1s: {}", ejected[0].time_ns);
    // Ejections repeat with growing times while the fault lasts; few requests fail.
    assert!(s.requests.failed.server_error < 200, "{}", s.requests.failed.server_error);
}

#[test]
fn when_every_backend_is_unhealthy_panic_sends_anyway_and_fail_closed_refuses() {
    let text = |mode: &str| {
        BASE.replace(
            "lb: {algorithm: round_robin, backends: [\"app-*\"]}",
            &format!("lb: {{backends: [\"app-*\"], on_all_unhealthy: {mode}, health_check: {{interval: 1s, unhealthy_threshold: 1}}}}"),
        ) + "timeline:\n  - {at: 60s, server: \"app-*\", action: crash, duration: 60s}\n"
    };
    let (r, s) = run(&text("panic"));
    assert!(!events(&r, EventTag::PanicModeOn).is_empty());
    assert!(s.requests.failed.refused > 0);
    assert_eq!(s.requests.failed.no_backend, 0);
    let (_, s) = run(&text("fail_closed"));
    assert!(s.requests.failed.no_backend > 0);
}

#[test]
fn failover_moves_traffic_to_the_backup_balancer_after_the_failover_delay() {
    let text = "name: t
duration: 5m
clients:
  web: {target: [primary, backup], target_policy: failover, failover_after: 20s, rate: 100/s, users: 5000, timeout: 2s}
balancers:
  primary: {backends: [a, b]}
  backup: {backends: [a, b]}
servers:
  a: {workers: 8, service: {exponential: 5ms}}
  b: {workers: 8, service: {exponential: 5ms}}
timeline:
  - {at: 100s, balancer: primary, action: down, duration: 100s}
";
    let (r, s) = run(text);
    // Refused for the first 20 s of the outage only: ~2000.
    assert!((s.requests.failed.refused as i64 - 2000).abs() < 200, "{}", s.requests.failed.refused);
    assert!(s.balancers[1].requests > 7000);
    assert_eq!(events(&r, EventTag::BalancerDown).len(), 1);
    assert_eq!(events(&r, EventTag::BalancerUp).len(), 1);
}

#[test]
fn spreading_over_two_balancers_halves_the_users_a_crash_affects() {
    let text = |targets: &str| {
        format!(
            "name: t
duration: 10m
clients:
  web: {{target: {targets}, rate: 100/s, users: 5000}}
balancers:
  lb1: {{backends: [a]}}
  lb2: {{backends: [a]}}
servers:
  a: {{workers: 8, service: {{exponential: 5ms}}}}
timeline:
  - {{at: 100s, balancer: lb1, action: down}}
"
        )
    };
    let (_, single) = run(&text("lb1"));
    let (_, spread) = run(&text("[lb1, lb2]"));
    let frac = |s: &Summary| s.incident.as_ref().unwrap().users.affected_pct;
    assert!(frac(&single) > 99.0, "{}", frac(&single));
    assert!((frac(&spread) - 50.0).abs() < 3.0, "{}", frac(&spread));
}

#[test]
fn user_categories_add_up_overall_and_within_the_incident() {
    let text = BASE
        .replace("duration: 5m", "duration: 10m\nslow_threshold: 30ms")
        .replace("users: 2000", "users: 200000")
        + "timeline:\n  - {at: 100s, server: \"app-{1..2}\", action: crash, duration: 200s}\n  - {at: 400s, server: app-3, slow_down: 5, duration: 100s}\n";
    let (_, s) = run(&text);
    for u in [&s.users, &s.incident.as_ref().unwrap().users] {
        assert_eq!(u.unable + u.failed_some + u.slowed + u.served_normally + u.pending, u.active);
        assert_eq!(u.affected, u.unable + u.failed_some);
        assert!(u.failed_some > 0 && u.slowed > 0 && u.served_normally > 0);
        let pct = u.unable_pct + u.failed_some_pct + u.slowed_pct + u.served_normally_pct;
        assert!((pct - 100.0 * (u.active - u.pending) as f64 / u.active as f64).abs() < 1e-9);
    }
}

#[test]
fn slos_give_a_verdict_and_the_impact_window_brackets_the_fault() {
    let text = BASE.replace("duration: 5m", "duration: 10m\ninterval: 5s")
        + "timeline:
  - {name: fault, at: 200s, server: \"app-*\", error_rate: 50%}
  - {at: 300s, revert: fault, fix: true}
alerts:
  - {name: errors, metric: error_rate, above: 10%, for: 15s}
slos:
  - objective: error_rate < 1%
  - objective: p99 < 5s
";
    let (r, s) = run(&text);
    assert_eq!(s.verdict, lbsim::report::replications::Verdict::Fail);
    assert!(!s.slos[0].met && s.slos[1].met);
    let w = s.impact.window.as_ref().unwrap();
    assert_eq!((w.from_s, w.until_s), (200.0, 300.0));
    assert_eq!(s.impact.first_change_s, Some(200.0));
    // Fires at the end of the third bad 5s interval.
    assert_eq!(s.impact.time_to_detect_s, Some(15.0));
    assert_eq!(s.impact.detected_by.as_deref(), Some("errors"));
    assert_eq!(s.impact.time_to_recover_s, Some(0.0));
    assert_eq!(events(&r, EventTag::AlertFiring).len(), 1);
    assert_eq!(events(&r, EventTag::AlertResolved)[0].time_ns, 305 * S);
    assert!((s.impact.peak_error_rate - 0.5).abs() < 0.1);
}

#[test]
fn wall_clock_times_resolve_against_the_start() {
    let text = BASE.replace("name: t\n", "name: t\nstart: 2024-06-01T13:58:00-07:00\n")
        + "timeline:\n  - {at: \"14:00\", server: app-1, action: crash}\n";
    let (r, s) = run(&text);
    assert_eq!(events(&r, EventTag::ServerCrashed)[0].time_ns, 120 * S);
    assert_eq!(s.timeline[0].at_clock.as_deref(), Some("2024-06-01T14:00:00-07:00"));
    assert_eq!(s.scenario.start.as_deref(), Some("2024-06-01T13:58:00-07:00"));
}

#[test]
fn timeline_mistakes_are_located() {
    let bad = [
        ("timeline:\n  - {at: 60s, server: app-9, action: crash}\n", "test.yaml:10:", "unknown server `app-9`"),
        ("timeline:\n  - {at: 60s, balancer: lb, slow_down: 2}\n", "test.yaml:10:", "does not apply to a balancer"),
        ("timeline:\n  - {at: 60s, revert: nothing}\n", "test.yaml:10:", "not the name of an earlier"),
        ("timeline:\n  - {at: \"14:00\", server: app-1, action: crash}\n", "test.yaml:10:", "start"),
        (
            "timeline:\n  - {at: 60s, server: app-1, action: restart, duration: 10s}\n",
            "test.yaml:10:",
            "cannot be reverted",
        ),
        ("alerts:\n  - {name: x, metric: error_rat, above: 5%}\n", "test.yaml:10:", "error_rat"),
        ("slos:\n  - objective: p42 < 1s\n", "test.yaml:10:", "p42"),
    ];
    for (extra, place, what) in bad {
        let err = load_str("test.yaml", &(BASE.to_string() + extra)).unwrap_err().to_string();
        assert!(err.starts_with(place) && err.contains(what), "{extra}: {err}");
    }
}

#[test]
fn a_backup_takes_traffic_only_while_no_primary_is_usable() {
    let with_backup = BASE.replace(
        "lb: {algorithm: round_robin, backends: [\"app-*\"]}",
        "lb: {algorithm: round_robin, backends: [\"app-*\"], backup: [app-4], health_check: {interval: 1s, unhealthy_threshold: 2, healthy_threshold: 1}}",
    );
    // Nothing fails: the backup gets nothing.
    let (_, s) = run(&with_backup);
    assert_eq!(s.servers[3].requests, 0);
    assert!(s.servers[..3].iter().all(|x| x.requests > 10_000));
    // One primary down: the others carry it, the backup still idles.
    let (_, s) =
        run(&(with_backup.clone() + "timeline:\n  - {at: 100s, server: app-1, action: crash, duration: 60s}\n"));
    assert_eq!(s.servers[3].requests, 0);
    // Every primary down for 60s (plus detection and restart): the backup
    // takes the traffic, and gives it back once a primary is healthy again.
    let (r, s) =
        run(&(with_backup + "timeline:\n  - {at: 100s, server: \"app-{1..3}\", action: crash, duration: 60s}\n"));
    let backup = s.servers[3].requests as f64;
    let outage =
        events(&r, EventTag::BackendHealthy).iter().map(|e| e.time_ns).min().unwrap() as f64 / S as f64 - 100.0;
    // About 200/s during the outage (detection takes up to 2 intervals).
    assert!((backup - 200.0 * outage).abs() < 0.1 * 200.0 * outage + 600.0, "{backup} requests in {outage}s");
    assert!(outage > 60.0 && outage < 120.0, "{outage}");
}
