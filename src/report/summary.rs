//! `summary.json`: the machine-readable result of a run. Every field is
//! documented in docs/outputs.md.

use serde::Serialize;

use super::replications::Verdict;
use crate::balancer::AlgorithmKind;
use crate::metrics::{Failure, LatencySummary, UserCounts, WindowStats};
use crate::model::{World, timeline};
use crate::sim::{EndReason, FiredAlert, RunResult};

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
    /// With a network: users by category in each client subnet.
    pub subnets: Vec<SubnetSummary>,
    pub timeline: Vec<TimelineItem>,
    /// When the service was outside its objectives, how fast it was
    /// detected and how fast it recovered.
    pub impact: Impact,
    /// Every alert that fired.
    pub alerts: Vec<AlertSummary>,
    /// Every SLO with its verdict.
    pub slos: Vec<SloVerdict>,
    /// `pass` when every SLO is met (or none is declared), else `fail`.
    pub verdict: Verdict,
    pub littles_law: LittlesLaw,
    pub run: RunInfo,
    /// With `run --replications N` (N >= 2): every headline metric and SLO
    /// over all N replications; the rest of the summary is the first's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replications: Option<super::replications::Replications>,
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
    /// Why a guard stopped the run early: the figures are incomplete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
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
    pub unreachable: u64,
    pub dropped: u64,
    #[serde(rename = "loop")]
    pub routing_loop: u64,
    pub misrouted: u64,
    pub response_lost: u64,
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
            unreachable: failed[Failure::Unreachable as usize],
            dropped: failed[Failure::Dropped as usize],
            routing_loop: failed[Failure::Loop as usize],
            misrouted: failed[Failure::Misrouted as usize],
            response_lost: failed[Failure::ResponseLost as usize],
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

/// Users behind one client subnet.
#[derive(Clone, Debug, Serialize)]
pub struct SubnetSummary {
    pub client: String,
    /// The subnet's node name (`group.name`).
    pub name: String,
    pub prefix: String,
    pub users: UsersSummary,
    /// Within the incident window, when there is one.
    pub incident_users: Option<UsersSummary>,
}

fn subnet_summaries(r: &RunResult) -> Vec<SubnetSummary> {
    let w = &r.world;
    let Some(net) = &w.network else { return Vec::new() };
    let rec = &r.recorder;
    let mut out = Vec::new();
    for (c, def) in w.clients.iter().enumerate() {
        let offset = rec.user_index().group_offset[c] as usize;
        let ids = offset..offset + def.users as usize;
        for (si, &node) in net.subnets[c].iter().enumerate() {
            let keep = |id: usize| net.user_subnet(c as u32, (id - offset) as u32) == si;
            let counts =
                |win: &WindowStats| UsersSummary::from(win.users.counts_of(ids.clone(), keep), w.slow_threshold);
            out.push(SubnetSummary {
                client: def.name.clone(),
                name: net.nodes[node as usize].name.clone(),
                prefix: net.nodes[node as usize].address.map(|a| a.to_string()).unwrap_or_default(),
                users: counts(rec.measured()),
                incident_users: w.incident_window.map(|_| counts(&rec.windows()[1])),
            });
        }
    }
    out
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

/// The impact window and the incident's detection and recovery times.
#[derive(Clone, Debug, Serialize)]
pub struct Impact {
    /// From the start of the first interval outside any interval-judged SLO
    /// to the end of the last one (null when there is none, or no SLO).
    pub window: Option<Span>,
    pub bad_intervals: u32,
    /// Highest error rate of any interval, and when.
    pub peak_error_rate: f64,
    pub peak_error_rate_at_s: f64,
    pub peak_error_rate_at_clock: Option<String>,
    /// The first timeline change applied (the incident's start).
    pub first_change_s: Option<f64>,
    /// First alert firing at or after the first change (or the impact start).
    pub detected_at_s: Option<f64>,
    pub detected_at_clock: Option<String>,
    pub detected_by: Option<String>,
    /// detected_at - first change (or impact start).
    pub time_to_detect_s: Option<f64>,
    /// The fix: the first entry marked `fix: true`, else the first revert of the first change.
    pub fix_at_s: Option<f64>,
    pub fix_at_clock: Option<String>,
    /// End of the impact window - fix (0 when the impact ended before the fix).
    pub time_to_recover_s: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Span {
    pub from_s: f64,
    pub until_s: f64,
    pub duration_s: f64,
    pub from_clock: Option<String>,
    pub until_clock: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct AlertSummary {
    pub name: String,
    /// `server web-01`, ... (null for global rules).
    pub entity: Option<String>,
    pub metric: String,
    pub condition: String,
    /// When the condition started to hold, when it fired and when it resolved (null: still firing).
    pub pending_since_s: f64,
    pub fired_at_s: f64,
    pub fired_at_clock: Option<String>,
    pub resolved_at_s: Option<f64>,
    pub resolved_at_clock: Option<String>,
    pub value_when_fired: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct SloVerdict {
    pub name: String,
    pub objective: String,
    pub window: String,
    /// The observed value in the objective's unit (null when the window saw no data).
    pub observed: Option<f64>,
    pub observed_text: String,
    pub met: bool,
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

/// Each SLO judged on its window.
fn slo_verdicts(r: &RunResult) -> Vec<SloVerdict> {
    let w = &r.world;
    w.slos
        .iter()
        .zip(&r.slo_windows)
        .map(|(slo, win)| {
            let (value, met) = r.slo_outcome(slo, *win);
            SloVerdict {
                name: slo.name.clone(),
                objective: slo.objective.text.clone(),
                window: slo.window.describe(w.clock.as_ref()),
                observed: value.is_finite().then_some(value),
                observed_text: slo.objective.format_value(value),
                met,
            }
        })
        .collect()
}

fn alerts(r: &RunResult, clock: &dyn Fn(u64) -> Option<String>) -> Vec<AlertSummary> {
    let rules = r.watch.engine.rules();
    let words = super::words::EventWords::of(r);
    r.watch
        .fired
        .iter()
        .map(|f| {
            let rule = &rules[f.rule];
            AlertSummary {
                name: rule.name.clone(),
                entity: f.entity.map(|e| words.subject(e)),
                metric: rule.metric_name().to_string(),
                condition: format!("{} {}", rule.condition.symbol(), rule.threshold_text),
                pending_since_s: f.since_ns as f64 / 1e9,
                fired_at_s: f.fired_ns as f64 / 1e9,
                fired_at_clock: clock(f.fired_ns),
                resolved_at_s: f.resolved_ns.map(|t| t as f64 / 1e9),
                resolved_at_clock: f.resolved_ns.and_then(clock),
                value_when_fired: f.value,
            }
        })
        .collect()
}

/// The moments an incident is told by, in simulated nanoseconds.
pub(crate) struct Moments<'r> {
    /// When the first change was applied.
    pub first_change: Option<u64>,
    /// The first change, else the impact's start.
    pub onset: Option<u64>,
    /// The first alert to fire at or after the onset.
    pub detection: Option<&'r FiredAlert>,
    pub fix_ns: Option<u64>,
}

pub(crate) fn moments(r: &RunResult) -> Moments<'_> {
    let w = &r.world;
    let blocked = r.blocked_changes();
    let first = timeline::first_change(&w.timeline, |i| !blocked.contains(&i));
    let first_change = first.map(|i| w.timeline[i].at);
    let onset = first_change.or(r.watch.impact.window().map(|w| w.first_start_ns));
    let detection = onset.and_then(|t0| r.watch.fired.iter().filter(|f| f.fired_ns >= t0).min_by_key(|f| f.fired_ns));
    // Without an entry marked `fix`: the first change undone, by a revert
    // entry or its own duration.
    let fix_ns =
        w.timeline.iter().filter(|t| t.fix).map(|t| t.at).min().or_else(|| timeline::undone_at(&w.timeline, first?));
    Moments { first_change, onset, detection, fix_ns }
}

fn impact(r: &RunResult, clock: &dyn Fn(u64) -> Option<String>) -> Impact {
    let window = r.watch.impact.window();
    let Moments { first_change, onset, detection, fix_ns: fix } = moments(r);
    Impact {
        window: window.map(|iw| Span {
            from_s: iw.first_start_ns as f64 / 1e9,
            until_s: iw.last_end_ns as f64 / 1e9,
            duration_s: (iw.last_end_ns - iw.first_start_ns) as f64 / 1e9,
            from_clock: clock(iw.first_start_ns),
            until_clock: clock(iw.last_end_ns),
        }),
        bad_intervals: window.map_or(0, |w| w.bad_intervals),
        peak_error_rate: r.watch.peak_error_rate,
        peak_error_rate_at_s: r.watch.peak_error_rate_at as f64 / 1e9,
        peak_error_rate_at_clock: clock(r.watch.peak_error_rate_at),
        first_change_s: first_change.map(|t| t as f64 / 1e9),
        detected_at_s: detection.map(|f| f.fired_ns as f64 / 1e9),
        detected_at_clock: detection.and_then(|f| clock(f.fired_ns)),
        detected_by: detection.map(|f| r.watch.engine.rules()[f.rule].name.clone()),
        time_to_detect_s: detection.zip(onset).map(|(f, t0)| (f.fired_ns - t0) as f64 / 1e9),
        fix_at_s: fix.map(|t| t as f64 / 1e9),
        fix_at_clock: fix.and_then(clock),
        time_to_recover_s: fix.zip(window).map(|(f, iw)| iw.last_end_ns.saturating_sub(f) as f64 / 1e9),
    }
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

        // One pass over the log, not one per server.
        let mut crashes = vec![0usize; w.servers.len()];
        for e in rec.events.of(crate::metrics::EventTag::ServerCrashed) {
            if let crate::metrics::Subject::Server(s) = e.subject()
                && let Some(n) = crashes.get_mut(s.index())
            {
                *n += 1;
            }
        }
        let server_requests_total: u64 = rec.servers.iter().map(|s| s.requests).sum();
        let servers = w
            .servers
            .iter()
            .zip(&rec.servers)
            .zip(&r.time_weighted.server_busy_ns)
            .enumerate()
            .map(|(i, ((def, tot), busy))| ServerSummary {
                name: def.name.clone(),
                requests: tot.requests,
                share: ratio(tot.requests as f64, server_requests_total as f64),
                completed: tot.completed,
                rejected: tot.rejected,
                errors: tot.errors,
                utilisation: ratio(*busy, f64::from(def.workers) * measured_ns),
                max_queue: tot.max_queue,
                workers: def.workers,
                crashes: crashes[i],
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
        let clock = |ns: u64| w.clock.as_ref().map(|c| c.format(ns));
        let clock: &dyn Fn(u64) -> Option<String> = &clock;
        let blocked = r.blocked_changes();
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
                applied: !blocked.contains(&i),
            })
            .collect();
        let incident = w.incident_window.map(|_| WindowSummary::from(&rec.windows()[1], w));
        let slos = slo_verdicts(r);
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
                stopped: r.stopped.clone(),
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
            subnets: subnet_summaries(r),
            timeline,
            impact: impact(r, clock),
            alerts: alerts(r, clock),
            verdict: if slos.iter().all(|s| s.met) { Verdict::Pass } else { Verdict::Fail },
            slos,
            littles_law: littles,
            run: RunInfo {
                wall_seconds: (!ctx.reproducible).then_some(r.wall_seconds),
                simulated_requests_per_wall_second: (!ctx.reproducible)
                    .then(|| ratio(r.generated as f64, r.wall_seconds)),
                events_processed: r.events,
            },
            replications: None,
        }
    }
}
