//! Scenario types for how the system copes with failure: health checks,
//! outlier detection, client retries, redundant balancers, and servers that
//! degrade, crash and restart.

use super::Spanned;
use serde::{Deserialize, Serialize};

use crate::units::{Duration, Percent};

/// Active health checking of a balancer's backends.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckSpec {
    /// Time between probes of one backend.
    pub interval: Spanned<Duration>,
    /// A probe not answered within this time fails (default 1s).
    #[schemars(extend("default" = "1s"))]
    pub timeout: Option<Spanned<Duration>>,
    /// Consecutive failed probes that mark a backend unhealthy (default 3).
    #[schemars(extend("default" = 3))]
    pub unhealthy_threshold: Option<Spanned<u32>>,
    /// Consecutive successful probes that mark it healthy again (default 2).
    #[schemars(extend("default" = 2))]
    pub healthy_threshold: Option<Spanned<u32>>,
    /// Random extra delay added to each interval, as a share of it (default 0).
    #[schemars(extend("default" = "0%"))]
    pub jitter: Option<Spanned<Percent>>,
}

/// Passive outlier detection: eject a backend after consecutive failures.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutlierSpec {
    /// Consecutive failures (errors, resets, refusals) that eject (default 5).
    #[schemars(extend("default" = 5))]
    pub consecutive_failures: Option<Spanned<u32>>,
    /// Ejection time, multiplied by the number of times ejected (default 30s).
    #[schemars(extend("default" = "30s"))]
    pub base_ejection_time: Option<Spanned<Duration>>,
    /// Cap on one ejection (default 300s).
    #[schemars(extend("default" = "300s"))]
    pub max_ejection_time: Option<Spanned<Duration>>,
    /// At most this share of the pool ejected at once; one backend can
    /// always be ejected (default 10%).
    #[schemars(extend("default" = "10%"))]
    pub max_ejection_percent: Option<Spanned<Percent>>,
    /// Each interval without an ejection lowers the multiplier by one (default 10s).
    #[schemars(extend("default" = "10s"))]
    pub interval: Option<Spanned<Duration>>,
}

/// What a balancer does when no backend is usable.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AllUnhealthy {
    /// Ignore health and balance over every backend (Envoy's panic mode).
    #[default]
    Panic,
    /// Fail requests at the balancer.
    FailClosed,
}

/// Checks a balancer applies to configuration changes from the timeline: a
/// change that breaks them is blocked and logged instead of applied.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidationSpec {
    /// At least this many backends must stay in rotation.
    pub min_backends: Option<Spanned<u32>>,
    /// No backend may get more than this share of the total weight.
    pub max_weight_share: Option<Spanned<Percent>>,
    /// Every backend a change puts into rotation must answer a pre-flight
    /// check (be up) at the time of the change.
    #[serde(default)]
    pub require_healthy: bool,
}

/// How a group with several target balancers uses them.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetPolicy {
    /// Each user sticks to one balancer, chosen by weight (like DNS with
    /// several addresses); a retry may go to another.
    #[default]
    Spread,
    /// All traffic to the first balancer that is up, in order.
    Failover,
}

/// Which failures a client retries.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RetryOn {
    /// A try not answered within `per_try_timeout`.
    Timeout,
    Rejected,
    ServerError,
    Refused,
    Reset,
    NoBackend,
}

/// Exponential backoff between attempts.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackoffSpec {
    /// Delay before the first retry (default 25ms, as Envoy).
    #[schemars(extend("default" = "25ms"))]
    pub base: Option<Spanned<Duration>>,
    /// Cap on the delay (default 10 x base).
    pub max: Option<Spanned<Duration>>,
    /// `full` (default): uniform in [0, delay); `equal`: delay/2 + uniform
    /// [0, delay/2); `none`: exactly the delay.
    #[serde(default)]
    pub jitter: Jitter,
}

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Jitter {
    #[default]
    Full,
    Equal,
    None,
}

/// Limits on retries so that a failing backend does not multiply the load.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetSpec {
    /// Envoy-style: retries in flight at most this share of active requests...
    pub ratio: Option<Spanned<Percent>>,
    /// ...but always allow this many (default 3).
    #[schemars(extend("default" = 3))]
    pub min_concurrency: Option<Spanned<u32>>,
    /// gRPC-style token bucket: tokens start full at this many; a failure
    /// costs one, a success earns `token_ratio`; retry only above half full.
    pub max_tokens: Option<Spanned<f64>>,
    /// With `max_tokens`: the tokens a success earns back.
    pub token_ratio: Option<Spanned<f64>>,
}

/// Client retries.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Attempts in all, the first included (1 = no retries).
    pub attempts: Spanned<u32>,
    /// Give up on one try after this long and retry (default: no per-try limit).
    pub per_try_timeout: Option<Spanned<Duration>>,
    /// Delays between attempts.
    pub backoff: Option<BackoffSpec>,
    /// A limit on retries, so that they do not multiply the load.
    pub budget: Option<BudgetSpec>,
    /// Failures to retry (default: all).
    pub on: Option<Vec<RetryOn>>,
}

/// Service slows as concurrency grows.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DegradeSpec {
    /// Requests in the server (serving and waiting) above which it slows.
    pub above: Spanned<u32>,
    /// Service-time increase per request beyond `above` (e.g. 5%).
    pub per_request: Spanned<Percent>,
}

/// A server that falls over when overwhelmed.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CrashSpec {
    /// Overloaded while requests in the server exceed this.
    pub in_flight_above: Option<Spanned<u64>>,
    /// Overloaded while the queue is full.
    pub queue_full: Option<bool>,
    /// Crash after this much overload. The overload clock runs while the
    /// condition holds and runs back ten times slower while it does not, so
    /// brief relief delays a crash but does not prevent it.
    #[serde(rename = "for")]
    pub for_: Spanned<Duration>,
}

/// A restarted server starts cold: slower, recovering linearly.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColdStartSpec {
    /// Service-time multiplier right after the restart (e.g. 3).
    pub factor: Spanned<f64>,
    /// Time to get back to normal speed.
    pub duration: Spanned<Duration>,
}
