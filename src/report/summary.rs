//! `summary.json`: the machine-readable result of a run. Every field is
//! documented in docs/outputs.md.

use serde::Serialize;

use crate::balancer::AlgorithmKind;
use crate::metrics::{Failure, LatencySummary, UserCounts, WindowStats};
use crate::model::World;
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
    /// The same figures for requests sent within the incident window.
    pub incident: Option<WindowSummary>,
    pub servers: Vec<ServerSummary>,
    pub balancers: Vec<BalancerSummary>,
    pub clients: Vec<ClientSummary>,
    pub timeline: Vec<TimelineItem>,
    /// Impact, detection, recovery and verdicts (filled by the monitor).
    pub impact: Option<serde_json::Value>,
    pub alerts: Vec<serde_json::Value>,
    pub slos: Vec<serde_json::Value>,
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
    /// Wall-clock start (RFC 3339) when the scenario sets one.
    pub start: Option<String>,
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
    pub server_error: u64,
    pub refused: u64,
    pub reset: u64,
}

impl FailedCounts {
    fn from(failed: &[u64]) -> FailedCounts {
        FailedCounts {
            total: failed.iter().sum(),
            rejected: failed[Failure::Rejected as usize],
            timed_out: failed[Failure::TimedOut as usize],
            no_backend: failed[Failure::NoBackend as usize],
            server_error: failed[Failure::ServerError as usize],
            refused: failed[Failure::Refused as usize],
            reset: failed[Failure::Reset as usize],
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct RequestCounts {
    /// Requests users sent (calls); retries are not counted again.
    pub generated: u64,
    pub completed: u64,
    pub failed: FailedCounts,
    pub in_flight_at_end: u64,
    /// completed + failed + in_flight_at_end == generated.
    pub all_accounted_for: bool,
    /// Attempts sent (first tries and retries) and retries alone.
    pub attempts: u64,
    pub retries: u64,
    /// attempts / generated: how much retries multiplied the load.
    pub load_multiplier: f64,
}

/// Users by what they experienced. The five categories add up to `active`.
#[derive(Clone, Debug, Serialize)]
pub struct UsersSummary {
    /// Users in the populations of all client groups.
    pub total: u64,
    /// Users who sent at least one request.
    pub active: u64,
    /// Saw at least one failure or timeout (unable + failed_some).
    pub affected: u64,
    pub affected_pct: f64,
    /// Every request they got an answer to failed: could not use the service.
    pub unable: u64,
    pub unable_pct: f64,
    /// Failed at least once, served at other times.
    pub failed_some: u64,
    pub failed_some_pct: f64,
    /// Never failed, but at least one response slower than the slow threshold.
    pub slowed: u64,
    pub slowed_pct: f64,
    /// Only fast successes.
    pub served_normally: u64,
    pub served_normally_pct: f64,
    /// Sent requests but had no answer yet when the run ended.
    pub pending: u64,
    pub slow_threshold_ms: f64,
}

impl UsersSummary {
    fn from(u: UserCounts, slow_threshold_ns: u64) -> UsersSummary {
        UsersSummary {
            total: u.total,
            active: u.active,
            affected: u.affected(),
            affected_pct: u.pct(u.affected()),
            unable: u.unable,
            unable_pct: u.pct(u.unable),
            failed_some: u.failed_some,
            failed_some_pct: u.pct(u.failed_some),
            slowed: u.slowed,
            slowed_pct: u.pct(u.slowed),
            served_normally: u.normal,
            served_normally_pct: u.pct(u.normal),
            pending: u.pending,
            slow_threshold_ms: slow_threshold_ns as f64 / 1e6,
        }
    }
}

/// Figures for the requests sent within a window.
#[derive(Clone, Debug, Serialize)]
pub struct WindowSummary {
    pub from_s: f64,
    pub until_s: f64,
    pub from_clock: Option<String>,
    pub until_clock: Option<String>,
    pub requests: u64,
    pub completed: u64,
    pub failed: FailedCounts,
    pub error_rate: f64,
    pub latency_ms: LatencySummary,
    pub users: UsersSummary,
}

impl WindowSummary {
    pub fn from(w: &WindowStats, world: &World) -> WindowSummary {
        let clock = |ns: u64| world.clock.as_ref().map(|c| c.format(ns));
        WindowSummary {
            from_s: w.from as f64 / 1e9,
            until_s: w.until as f64 / 1e9,
            from_clock: clock(w.from),
            until_clock: clock(w.until),
            requests: w.generated,
            completed: w.completed,
            failed: FailedCounts::from(&w.failed),
            error_rate: w.error_rate(),
            latency_ms: w.latency_summary(),
            users: UsersSummary::from(w.users.counts(), world.slow_threshold),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct ServerSummary {
    pub name: String,
    pub requests: u64,
    /// Share of all requests that reached a server.
    pub share: f64,
    pub completed: u64,
    pub rejected: u64,
    /// Rejected, 5xx, refused and reset.
    pub errors: u64,
    /// Busy worker time / (workers x measured time).
    pub utilisation: f64,
    pub max_queue: u64,
    pub workers: u32,
    pub crashes: usize,
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

/// One timeline entry as it played out.
#[derive(Clone, Debug, Serialize)]
pub struct TimelineItem {
    pub name: Option<String>,
    pub at_s: f64,
    pub at_clock: Option<String>,
    pub target: String,
    pub change: String,
    pub note: Option<String>,
    pub fix: bool,
    /// False when validation blocked it.
    pub applied: bool,
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
        let m = rec.measured();
        let warmup_s = w.warmup.as_secs_f64().min(r.end.as_secs_f64());
        let duration_s = r.end.as_secs_f64();
        let measured_s = duration_s - warmup_s;
        let measured_ns = measured_s * 1e9;
        let failed = FailedCounts::from(&m.failed);

        let crashes = |name: &str| {
            let entity = format!("server {name}");
            rec.events
                .events
                .iter()
                .filter(|e| e.kind == crate::metrics::EventKind::ServerCrashed && e.entity == entity)
                .count()
        };
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
                errors: tot.errors,
                utilisation: ratio(*busy, f64::from(def.workers) * measured_ns),
                max_queue: tot.max_queue,
                workers: def.workers,
                crashes: crashes(&def.name),
            })
            .collect();
        let balancers = w
            .balancers
            .iter()
            .zip(&rec.balancers)
            .map(|(def, tot)| BalancerSummary { name: def.name.clone(), algorithm: def.algorithm, requests: tot.requests })
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
        let clock = |ns: u64| w.clock.as_ref().map(|c| c.format(ns));
        let timeline = w
            .timeline
            .iter()
            .enumerate()
            .map(|(i, t)| TimelineItem {
                name: t.name.clone(),
                at_s: t.at as f64 / 1e9,
                at_clock: clock(t.at),
                target: t.target.clone(),
                change: t.what.clone(),
                note: t.note.clone(),
                fix: t.fix,
                applied: !r.blocked_changes.contains(&i),
            })
            .collect();
        let incident = w.incident_window.map(|_| WindowSummary::from(&rec.windows[1], w));
        let tw = &r.time_weighted;
        let mean_in_system = ratio(tw.in_system_ns as f64, measured_ns);
        let arrival_rate = ratio(m.generated as f64, measured_s);
        let mean_time = ratio(tw.sojourn_sum_ns as f64, tw.sojourn_count as f64) / 1e9;
        let littles = LittlesLaw {
            mean_in_system,
            arrival_rate,
            mean_time_in_system_s: mean_time,
            relative_error: ratio((mean_in_system - arrival_rate * mean_time).abs(), mean_in_system),
            sample_path_identity_holds: tw.in_system_ns == tw.sojourn_sum_ns + tw.edge_ns,
        };
        Summary {
            lbsim_version: env!("CARGO_PKG_VERSION"),
            scenario: ScenarioInfo {
                name: w.name.clone(),
                description: w.description.clone(),
                file: ctx.file.clone(),
                seed: w.seed,
                overrides: ctx.overrides.clone(),
                start: clock(0),
            },
            simulated: SimulatedInfo {
                duration_s,
                warmup_s,
                measured_s,
                interval_s: w.interval as f64 / 1e9,
                end_reason: r.end_reason,
            },
            requests: RequestCounts {
                generated: m.generated,
                completed: m.completed,
                all_accounted_for: m.completed + failed.total + r.in_flight_counted_at_end == m.generated,
                failed,
                in_flight_at_end: r.in_flight_counted_at_end,
                attempts: rec.attempts,
                retries: rec.retries,
                load_multiplier: ratio(rec.attempts as f64, m.generated as f64),
            },
            throughput_rps: ratio(m.completed as f64, measured_s),
            error_rate: m.error_rate(),
            latency_ms: m.latency_summary(),
            users: UsersSummary::from(m.users.counts(), w.slow_threshold),
            incident,
            servers,
            balancers,
            clients,
            timeline,
            impact: None,
            alerts: Vec::new(),
            slos: Vec::new(),
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
