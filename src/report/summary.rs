//! `summary.json`: the machine-readable result of a run. Every field is
//! documented in docs/outputs.md.

use serde::Serialize;

use crate::balancer::AlgorithmKind;
use crate::metrics::{Failure, LatencySummary};
use crate::sim::{EndReason, RunResult};

#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub lbsim_version: &'static str,
    pub scenario: ScenarioInfo,
    pub simulated: SimulatedInfo,
    pub requests: RequestCounts,
    /// Completed requests per simulated second over the measured period.
    pub throughput_rps: f64,
    /// Failed / (completed + failed).
    pub error_rate: f64,
    pub latency_ms: LatencySummary,
    pub users: UsersSummary,
    pub servers: Vec<ServerSummary>,
    pub balancers: Vec<BalancerSummary>,
    pub clients: Vec<ClientSummary>,
    pub littles_law: LittlesLaw,
    pub run: RunInfo,
}

#[derive(Clone, Debug, Serialize)]
pub struct ScenarioInfo {
    pub name: String,
    pub description: String,
    pub file: String,
    pub seed: u64,
    pub overrides: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SimulatedInfo {
    /// Simulated time covered by the run, seconds.
    pub duration_s: f64,
    pub warmup_s: f64,
    /// duration_s - warmup_s: the period the statistics cover.
    pub measured_s: f64,
    pub interval_s: f64,
    pub end_reason: EndReason,
}

#[derive(Clone, Debug, Serialize)]
pub struct FailedCounts {
    pub total: u64,
    pub rejected: u64,
    pub timed_out: u64,
    pub no_backend: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct RequestCounts {
    pub generated: u64,
    pub completed: u64,
    pub failed: FailedCounts,
    pub in_flight_at_end: u64,
    /// completed + failed + in_flight_at_end == generated.
    pub all_accounted_for: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct UsersSummary {
    /// Users in the populations of all client groups.
    pub total: u64,
    /// Users who sent at least one request in the measured period.
    pub active: u64,
    /// Active users who saw at least one failure or timeout.
    pub affected: u64,
    pub affected_pct: f64,
    /// Active users never failed but got at least one response slower than the slow threshold.
    pub slowed: u64,
    pub slowed_pct: f64,
    /// Active users with only fast successes.
    pub served_normally: u64,
    pub served_normally_pct: f64,
    pub slow_threshold_ms: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ServerSummary {
    pub name: String,
    pub requests: u64,
    /// Share of all requests that reached a server.
    pub share: f64,
    pub completed: u64,
    pub rejected: u64,
    /// Busy worker time / (workers x measured time).
    pub utilisation: f64,
    pub max_queue: u64,
    pub workers: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct BalancerSummary {
    pub name: String,
    pub algorithm: AlgorithmKind,
    pub requests: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ClientSummary {
    pub name: String,
    pub requests: u64,
    pub completed: u64,
    pub failed: u64,
}

/// L = λW, checked on every run: L from the time integral of requests in
/// the system, λ from the count of arrivals, W from per-request times.
#[derive(Clone, Debug, Serialize)]
pub struct LittlesLaw {
    /// Time-average number of requests in the system (client view).
    pub mean_in_system: f64,
    /// Requests generated per second.
    pub arrival_rate: f64,
    /// Mean time from send to outcome (success, failure or timeout), seconds.
    pub mean_time_in_system_s: f64,
    /// |L - λW| / L; non-zero only through requests straddling the edges
    /// of the measured period (an effect of order W / T).
    pub relative_error: f64,
    /// The sample-path identity behind the law, checked exactly: the time
    /// integral of requests in the system equals the sum of their times in
    /// the system inside the measured period. True on every correct run.
    pub sample_path_identity_holds: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct RunInfo {
    /// Wall-clock seconds the simulation took (null with --reproducible).
    pub wall_seconds: Option<f64>,
    /// Simulated requests per wall-clock second (null with --reproducible).
    pub simulated_requests_per_wall_second: Option<f64>,
    pub events_processed: u64,
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { 100.0 * part as f64 / whole as f64 }
}

fn ratio(part: f64, whole: f64) -> f64 {
    if whole > 0.0 { part / whole } else { 0.0 }
}

/// Settings of the run that are not in the world itself.
#[derive(Clone, Debug, Default)]
pub struct RunContext {
    pub file: String,
    pub overrides: Vec<String>,
    /// Leave wall-clock figures out so the file is byte-identical across runs.
    pub reproducible: bool,
}

impl Summary {
    pub fn build(r: &RunResult, ctx: &RunContext) -> Summary {
        let w = &r.world;
        let rec = &r.recorder;
        let t = &rec.totals;
        let failed_total: u64 = t.failed.iter().sum();
        let warmup_s = w.warmup.as_secs_f64().min(r.end.as_secs_f64());
        let duration_s = r.end.as_secs_f64();
        let measured_s = duration_s - warmup_s;
        let measured_ns = measured_s * 1e9;

        let server_requests_total: u64 = rec.servers.iter().map(|s| s.requests).sum();
        let servers = w
            .servers
            .iter()
            .zip(&rec.servers)
            .zip(&r.time_weighted.server_busy_ns)
            .map(|((def, tot), busy)| ServerSummary {
                name: def.name.clone(),
                requests: tot.requests,
                share: ratio(tot.requests as f64, server_requests_total as f64),
                completed: tot.completed,
                rejected: tot.rejected,
                utilisation: ratio(*busy, f64::from(def.workers) * measured_ns),
                max_queue: tot.max_queue,
                workers: def.workers,
            })
            .collect();
        let balancers = w
            .balancers
            .iter()
            .zip(&rec.balancers)
            .map(|(def, tot)| BalancerSummary {
                name: def.name.clone(),
                algorithm: def.algorithm,
                requests: tot.requests,
            })
            .collect();
        let clients = w
            .clients
            .iter()
            .zip(&rec.clients)
            .map(|(def, tot)| ClientSummary {
                name: def.name.clone(),
                requests: tot.requests,
                completed: tot.completed,
                failed: tot.failed,
            })
            .collect();
        let u = rec.users.counts();
        let tw = &r.time_weighted;
        let mean_in_system = ratio(tw.in_system_ns as f64, measured_ns);
        let arrival_rate = ratio(t.generated as f64, measured_s);
        let mean_time = ratio(tw.sojourn_sum_ns as f64, tw.sojourn_count as f64) / 1e9;
        let littles = LittlesLaw {
            mean_in_system,
            arrival_rate,
            mean_time_in_system_s: mean_time,
            relative_error: ratio((mean_in_system - arrival_rate * mean_time).abs(), mean_in_system),
            sample_path_identity_holds: tw.in_system_ns == tw.sojourn_sum_ns + tw.edge_ns,
        };
        let answered = t.completed + failed_total;
        Summary {
            lbsim_version: env!("CARGO_PKG_VERSION"),
            scenario: ScenarioInfo {
                name: w.name.clone(),
                description: w.description.clone(),
                file: ctx.file.clone(),
                seed: w.seed,
                overrides: ctx.overrides.clone(),
            },
            simulated: SimulatedInfo {
                duration_s,
                warmup_s,
                measured_s,
                interval_s: w.interval as f64 / 1e9,
                end_reason: r.end_reason,
            },
            requests: RequestCounts {
                generated: t.generated,
                completed: t.completed,
                failed: FailedCounts {
                    total: failed_total,
                    rejected: t.failed[Failure::Rejected as usize],
                    timed_out: t.failed[Failure::TimedOut as usize],
                    no_backend: t.failed[Failure::NoBackend as usize],
                },
                in_flight_at_end: r.in_flight_counted_at_end,
                all_accounted_for: t.completed + failed_total + r.in_flight_counted_at_end == t.generated,
            },
            throughput_rps: ratio(t.completed as f64, measured_s),
            error_rate: ratio(failed_total as f64, answered as f64),
            latency_ms: LatencySummary::from_recorder(rec),
            users: UsersSummary {
                total: u.total,
                active: u.active,
                affected: u.failed,
                affected_pct: pct(u.failed, u.active),
                slowed: u.slowed_only,
                slowed_pct: pct(u.slowed_only, u.active),
                served_normally: u.served_normally,
                served_normally_pct: pct(u.served_normally, u.active),
                slow_threshold_ms: w.slow_threshold as f64 / 1e6,
            },
            servers,
            balancers,
            clients,
            littles_law: littles,
            run: RunInfo {
                wall_seconds: (!ctx.reproducible).then_some(r.wall_seconds),
                simulated_requests_per_wall_second: (!ctx.reproducible)
                    .then(|| ratio(r.generated as f64, r.wall_seconds)),
                events_processed: r.events,
            },
        }
    }
}
