//! `lbsim verify`: built-in scenarios whose answers queueing theory knows,
//! simulated over independent replications and compared with the closed
//! form. A check passes when the theoretical value lies inside the
//! simulation's confidence interval.
//!
//! The confidence level is family-wise: with K comparisons in the suite,
//! each interval is built at 1 - alpha/K (Bonferroni), so the whole suite
//! passes with probability at least 1 - alpha when the simulator is right.
//! Seeds are fixed, so a run is reproducible; nothing here is tuned to
//! pass. The same checks run under `cargo test` (tests/verify.rs).

use rayon::prelude::*;
use serde::Serialize;

use crate::error::Error;
use crate::model::{self, World};
use crate::sim::{RunResult, run_quiet};
use crate::validation::stats::{Estimate, mean_ci};
use crate::validation::theory;

/// How much simulation each check does.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Independent replications per check (different seeds).
    pub replications: usize,
    /// Requests per replication after the warm-up (about).
    pub requests: u64,
    /// Family-wise confidence of the whole suite.
    pub confidence: f64,
    /// First seed; replication i uses seed + i.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config { replications: 20, requests: 200_000, confidence: 0.99, seed: 1 }
    }
}

/// One metric compared with theory.
#[derive(Clone, Debug, Serialize)]
pub struct TheoryCheck {
    pub metric: String,
    pub theory: f64,
    /// Mean over replications with its confidence interval.
    pub simulated: f64,
    pub half_width: f64,
    pub lo: f64,
    pub hi: f64,
    pub pass: bool,
    /// Extra context (e.g. the asymptotic value of a finite-size model).
    pub note: Option<String>,
}

/// One built-in scenario and its comparisons.
#[derive(Clone, Debug, Serialize)]
pub struct CheckResult {
    pub name: String,
    pub model: String,
    pub comparisons: Vec<TheoryCheck>,
    /// Invariants every run must satisfy (accounting, Little's law).
    pub invariants: Vec<Invariant>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Invariant {
    pub name: String,
    pub pass: bool,
    pub detail: String,
}

impl CheckResult {
    pub fn pass(&self) -> bool {
        self.comparisons.iter().all(|c| c.pass) && self.invariants.iter().all(|i| i.pass)
    }
}

/// What a check measures in one replication and what theory says.
struct Metric {
    name: &'static str,
    theory: f64,
    note: Option<String>,
    measure: fn(&RunResult) -> f64,
}

type ScenarioFn = Box<dyn Fn(&Config) -> String + Send + Sync>;
type MetricsFn = Box<dyn Fn(&World) -> Vec<Metric> + Send + Sync>;

/// A built-in validation scenario.
pub struct Check {
    pub name: &'static str,
    pub model: &'static str,
    scenario: ScenarioFn,
    metrics: MetricsFn,
}

const MU: f64 = 100.0; // service rate per worker: mean 10 ms everywhere

fn mean_ms(r: &RunResult) -> f64 {
    r.recorder.measured().latency_mean_ms()
}

fn p99_ms(r: &RunResult) -> f64 {
    r.recorder.measured().latency_quantile_ms(0.99)
}

fn rejected_fraction(r: &RunResult) -> f64 {
    let t = r.recorder.measured();
    t.failed[crate::metrics::Failure::Rejected as usize] as f64 / t.generated.max(1) as f64
}

fn mean_utilisation(r: &RunResult) -> f64 {
    let measured = (r.end.0 - r.world.warmup.0.min(r.end.0)) as f64;
    let busy: f64 = r.time_weighted.server_busy_ns.iter().sum();
    let capacity: f64 = r.world.servers.iter().map(|s| f64::from(s.workers)).sum::<f64>() * measured;
    busy / capacity
}

/// Scenario text: `servers` identical servers with `workers` workers each,
/// one client group at `rate`/s, the given algorithm and service.
fn scenario_text(
    cfg: &Config,
    rate: f64,
    servers: u32,
    workers: u32,
    algorithm: &str,
    service: &str,
    extra_server: &str,
) -> String {
    let measured = cfg.requests as f64 / rate;
    let warmup = (measured * 0.1).max(5.0);
    format!(
        "name: verify\nduration: {d:.3}s\nwarmup: {w:.3}s\ninterval: 10s\n\
         clients:\n  load: {{target: lb, rate: {rate}/s, users: 1000}}\n\
         balancers:\n  lb: {{algorithm: {algorithm}, backends: [\"s-*\"]}}\n\
         servers:\n  \"s-{{1..{servers}}}\": {{workers: {workers}, service: {service}{extra_server}}}\n",
        d = measured + warmup,
        w = warmup,
    )
}

/// The validation suite.
pub fn checks() -> Vec<Check> {
    vec![
        Check {
            name: "random-mm1",
            model: "random over 8 identical exponential servers: each an M/M/1 at rho = 0.8",
            scenario: Box::new(|c| scenario_text(c, 0.8 * 8.0 * MU, 8, 1, "random", "{exponential: 10ms}", "")),
            metrics: Box::new(|_| {
                let lambda = 0.8 * MU;
                vec![
                    Metric {
                        name: "mean response time (ms)",
                        theory: theory::mm1_mean_sojourn(lambda, MU) * 1e3,
                        note: None,
                        measure: mean_ms,
                    },
                    Metric {
                        name: "p99 response time (ms)",
                        theory: theory::mm1_sojourn_quantile(lambda, MU, 0.99) * 1e3,
                        note: None,
                        measure: p99_ms,
                    },
                    Metric { name: "server utilisation", theory: 0.8, note: None, measure: mean_utilisation },
                ]
            }),
        },
        Check {
            name: "round-robin-en-m1",
            model: "round robin over 4 exponential servers: each an E4/M/1 queue at rho = 0.8 (GI/M/1 root)",
            scenario: Box::new(|c| scenario_text(c, 0.8 * 4.0 * MU, 4, 1, "round_robin", "{exponential: 10ms}", "")),
            metrics: Box::new(|_| {
                let total = 0.8 * 4.0 * MU;
                vec![
                    Metric {
                        name: "mean response time (ms)",
                        theory: theory::en_m1_mean_sojourn(4, total, MU) * 1e3,
                        note: None,
                        measure: mean_ms,
                    },
                    Metric {
                        name: "p99 response time (ms)",
                        theory: theory::en_m1_sojourn_quantile(4, total, MU, 0.99) * 1e3,
                        note: None,
                        measure: p99_ms,
                    },
                ]
            }),
        },
        Check {
            name: "mmc-erlang-c",
            model: "one server with 4 workers and an unbounded queue: M/M/4 at rho = 0.8 (Erlang C)",
            scenario: Box::new(|c| scenario_text(c, 0.8 * 4.0 * MU, 1, 4, "round_robin", "{exponential: 10ms}", "")),
            metrics: Box::new(|_| {
                let lambda = 0.8 * 4.0 * MU;
                vec![
                    Metric {
                        name: "mean response time (ms)",
                        theory: theory::mmc_mean_sojourn(lambda, MU, 4) * 1e3,
                        note: None,
                        measure: mean_ms,
                    },
                    Metric {
                        name: "p99 response time (ms)",
                        theory: theory::mmc_sojourn_quantile(lambda, MU, 4, 0.99) * 1e3,
                        note: None,
                        measure: p99_ms,
                    },
                ]
            }),
        },
        Check {
            name: "erlang-b",
            model: "one server with 10 workers and no queue at offered load 8 erlangs: M/M/10/10 (Erlang B)",
            scenario: Box::new(|c| {
                scenario_text(c, 8.0 * MU, 1, 10, "round_robin", "{exponential: 10ms}", ", queue_limit: 0")
            }),
            metrics: Box::new(|_| {
                vec![Metric {
                    name: "blocking probability",
                    theory: theory::erlang_b(10, 8.0),
                    note: None,
                    measure: rejected_fraction,
                }]
            }),
        },
        Check {
            name: "md1-pollaczek-khinchine",
            model: "one worker with constant 10 ms service at rho = 0.8: M/D/1 (Pollaczek-Khinchine)",
            scenario: Box::new(|c| scenario_text(c, 0.8 * MU, 1, 1, "round_robin", "{constant: 10ms}", "")),
            metrics: Box::new(|_| {
                vec![Metric {
                    name: "mean response time (ms)",
                    theory: theory::md1_mean_sojourn(0.8 * MU, MU) * 1e3,
                    note: None,
                    measure: mean_ms,
                }]
            }),
        },
        Check {
            name: "mg1-pollaczek-khinchine",
            model: "one worker with hyperexponential service (mean 10 ms, squared CV 4) at rho = 0.8: M/G/1",
            scenario: Box::new(|c| {
                scenario_text(
                    c,
                    0.8 * MU,
                    1,
                    1,
                    "round_robin",
                    "{mixture: [{weight: 88.729833%, dist: {exponential: 5.635083ms}}, {weight: 11.270167%, dist: {exponential: 44.364917ms}}]}",
                    "",
                )
            }),
            metrics: Box::new(|w| {
                let s = &w.servers[0].service;
                vec![Metric {
                    name: "mean response time (ms)",
                    theory: theory::mg1_mean_sojourn(0.8 * MU, s.mean_secs(), s.second_moment_secs2()) * 1e3,
                    note: None,
                    measure: mean_ms,
                }]
            }),
        },
        Check {
            name: "p2c-supermarket",
            model: "power of two choices over 100 exponential servers at rho = 0.9 (Mitzenmacher's supermarket model)",
            scenario: Box::new(|c| {
                scenario_text(c, 0.9 * 100.0 * MU, 100, 1, "power_of_two_choices", "{exponential: 10ms}", "")
            }),
            metrics: Box::new(|_| {
                let asymptotic = theory::supermarket_mean_sojourn(0.9, 2) * 10.0;
                let refined = crate::validation::meanfield::supermarket_mean_sojourn(0.9, 2, 100);
                vec![Metric {
                    name: "mean response time (ms)",
                    theory: refined.refined * 10.0,
                    note: Some(format!(
                        "refined mean field for n = 100 (Gast & Van Houdt 2017); the n -> infinity value is {asymptotic:.3} ms ({:.3} service times)",
                        asymptotic / 10.0
                    )),
                    measure: mean_ms,
                }]
            }),
        },
    ]
}

/// Runs one scenario text over `cfg.replications` seeds in parallel,
/// calling `on_replication` as each finishes.
fn replicate(text: &str, cfg: &Config, on_replication: &(dyn Fn() + Sync)) -> Result<Vec<RunResult>, Error> {
    let world = model::load_str("verify.yaml", text)?;
    Ok((0..cfg.replications)
        .into_par_iter()
        .map(|i| {
            let mut w = world.clone();
            w.seed = cfg.seed + i as u64;
            let r = run_quiet(w);
            on_replication();
            r
        })
        .collect())
}

/// Per-comparison confidence for a family-wise level over `k` comparisons.
pub fn per_comparison_confidence(family: f64, k: usize) -> f64 {
    1.0 - (1.0 - family) / k.max(1) as f64
}

fn invariants(runs: &[RunResult]) -> Vec<Invariant> {
    let mut accounted = true;
    let mut worst_little = 0.0f64;
    let mut little_ok = true;
    for r in runs {
        let t = r.recorder.measured();
        let failed: u64 = t.failed.iter().sum();
        accounted &= t.completed + failed + r.in_flight_counted_at_end == t.generated;
        // Sample-path Little's law, exactly: the integral of requests in the
        // system over the measured period equals the time requests spent in
        // it (whole sojourns inside, plus the parts of those straddling the
        // edges). L = λW then holds up to the edge terms, of order W / T.
        let tw = &r.time_weighted;
        little_ok &= tw.in_system_ns == tw.sojourn_sum_ns + tw.edge_ns;
        let measured = (r.end.0 - r.world.warmup.0) as f64;
        let l = tw.in_system_ns as f64 / measured;
        let lambda = t.generated as f64 / measured;
        let w = tw.sojourn_sum_ns as f64 / tw.sojourn_count.max(1) as f64;
        worst_little = worst_little.max((l - lambda * w).abs() / l);
    }
    vec![
        Invariant {
            name: "every request accounted for".into(),
            pass: accounted,
            detail: "completed + failed + in flight = generated in every replication".into(),
        },
        Invariant {
            name: "Little's law".into(),
            pass: little_ok,
            detail: format!(
                "integral of N(t) = sum of times in system, exactly; worst |L - λW| / L = {worst_little:.1e}"
            ),
        },
    ]
}

/// Runs one check; `on_replication` is called as each replication finishes.
pub fn run_check(
    check: &Check,
    cfg: &Config,
    per_comparison: f64,
    on_replication: &(dyn Fn() + Sync),
) -> Result<CheckResult, Error> {
    let text = (check.scenario)(cfg);
    let runs = replicate(&text, cfg, on_replication)?;
    let metrics = (check.metrics)(&runs[0].world);
    let comparisons = metrics
        .iter()
        .map(|m| {
            let samples: Vec<f64> = runs.iter().map(m.measure).collect();
            let e: Estimate = mean_ci(&samples, per_comparison);
            TheoryCheck {
                metric: m.name.to_string(),
                theory: m.theory,
                simulated: e.mean,
                half_width: e.half_width,
                lo: e.lo(),
                hi: e.hi(),
                pass: e.is_informative() && e.contains(m.theory),
                note: m.note.clone(),
            }
        })
        .collect();
    Ok(CheckResult {
        name: check.name.to_string(),
        model: check.model.to_string(),
        comparisons,
        invariants: invariants(&runs),
    })
}

/// Number of theory comparisons in the suite (for the Bonferroni split).
pub fn comparison_count(all: &[Check]) -> usize {
    // Metric lists do not depend on the world except for parameters, so a
    // throwaway world is enough to count them.
    all.iter()
        .map(|c| {
            let text = (c.scenario)(&Config { requests: 1000, ..Config::default() });
            model::load_str("verify.yaml", &text).map(|w| (c.metrics)(&w).len()).unwrap_or(1)
        })
        .sum()
}

/// The whole suite's result.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub family_confidence: f64,
    pub per_comparison_confidence: f64,
    pub replications: usize,
    pub requests_per_replication: u64,
    pub checks: Vec<CheckResult>,
}

impl Report {
    pub fn pass(&self) -> bool {
        self.checks.iter().all(CheckResult::pass)
    }
}

/// The checks whose names contain `only` (all when `None`).
pub fn selected(only: Option<&str>) -> Vec<Check> {
    checks().into_iter().filter(|c| only.is_none_or(|o| c.name.contains(o))).collect()
}

/// Runs the checks whose names contain `only` (all when `None`), calling
/// `on_replication` as each replication finishes and `on_done` as each
/// check does.
pub fn run(
    cfg: &Config,
    only: Option<&str>,
    on_replication: &(dyn Fn() + Sync),
    mut on_done: impl FnMut(&CheckResult),
) -> Result<Report, Error> {
    let all = checks();
    let k = comparison_count(&all);
    let per = per_comparison_confidence(cfg.confidence, k);
    let mut results = Vec::new();
    for check in selected(only) {
        let r = run_check(&check, cfg, per, on_replication)?;
        on_done(&r);
        results.push(r);
    }
    if results.is_empty() {
        return Err(Error::Usage(format!(
            "no check matches `{}`; checks: {}",
            only.unwrap_or(""),
            all.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(Report {
        family_confidence: cfg.confidence,
        per_comparison_confidence: per,
        replications: cfg.replications,
        requests_per_replication: cfg.requests,
        checks: results,
    })
}

/// Terminal rendering of one check.
pub fn render_check(r: &CheckResult, per: f64) -> String {
    let mut o = format!("{} — {}\n", r.name, r.model);
    for c in &r.comparisons {
        o.push_str(&format!(
            "  {:<28} theory {:>10.4}   simulated {:>10.4} ± {:<9.4} ({:.2}% CI)   {}\n",
            c.metric,
            c.theory,
            c.simulated,
            c.half_width,
            per * 100.0,
            if c.pass { "pass" } else { "FAIL: theory outside the interval" }
        ));
        if let Some(n) = &c.note {
            o.push_str(&format!("      note: {n}\n"));
        }
    }
    for i in &r.invariants {
        o.push_str(&format!("  {:<28} {}   {}\n", i.name, i.detail, if i.pass { "pass" } else { "FAIL" }));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bonferroni_splits_the_error_rate() {
        assert!((per_comparison_confidence(0.99, 10) - 0.999).abs() < 1e-12);
        assert_eq!(per_comparison_confidence(0.95, 1), 0.95);
    }

    #[test]
    fn every_check_scenario_compiles() {
        let cfg = Config { requests: 1000, ..Config::default() };
        for c in checks() {
            let text = (c.scenario)(&cfg);
            let w = model::load_str("verify.yaml", &text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", c.name));
            assert!(!(c.metrics)(&w).is_empty());
        }
    }
}
