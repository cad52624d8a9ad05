//! Compiled forms of health checks, outlier detection, retries and server
//! overload behaviour, with the defaults of the real systems they imitate,
//! and the model's own forms of the choices the scenario spells out
//! ([`AllUnhealthy`], [`TargetPolicy`], [`RetryOn`], [`Jitter`]), converted
//! from the scenario's serde enums so that the simulator and the reports need
//! no scenario type.

use crate::scenario::Spanned;

use super::Ctx;
use crate::error::Error;
use crate::scenario::{
    self as spec, BackoffSpec, BudgetSpec, ColdStartSpec, CrashSpec, DegradeSpec, HealthCheckSpec, OutlierSpec,
    RetrySpec,
};
use crate::time::NANOS_PER_SEC;

const MS: u64 = 1_000_000;

/// What a balancer does when no backend is usable.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum AllUnhealthy {
    /// Ignore health and balance over every backend (Envoy's panic mode).
    #[default]
    Panic,
    /// Fail requests at the balancer.
    FailClosed,
}

impl From<spec::AllUnhealthy> for AllUnhealthy {
    fn from(a: spec::AllUnhealthy) -> AllUnhealthy {
        match a {
            spec::AllUnhealthy::Panic => AllUnhealthy::Panic,
            spec::AllUnhealthy::FailClosed => AllUnhealthy::FailClosed,
        }
    }
}

/// How a group with several target balancers uses them.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum TargetPolicy {
    /// Each user sticks to one balancer, chosen by weight; a retry may go to another.
    #[default]
    Spread,
    /// All traffic to the first balancer that is up, in order.
    Failover,
}

impl From<spec::TargetPolicy> for TargetPolicy {
    fn from(p: spec::TargetPolicy) -> TargetPolicy {
        match p {
            spec::TargetPolicy::Spread => TargetPolicy::Spread,
            spec::TargetPolicy::Failover => TargetPolicy::Failover,
        }
    }
}

/// Which failures a client retries; the discriminant indexes [`RetryPolicy::on`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RetryOn {
    /// A try not answered within `per_try_timeout`.
    Timeout,
    Rejected,
    ServerError,
    Refused,
    Reset,
    NoBackend,
}

impl From<spec::RetryOn> for RetryOn {
    fn from(r: spec::RetryOn) -> RetryOn {
        match r {
            spec::RetryOn::Timeout => RetryOn::Timeout,
            spec::RetryOn::Rejected => RetryOn::Rejected,
            spec::RetryOn::ServerError => RetryOn::ServerError,
            spec::RetryOn::Refused => RetryOn::Refused,
            spec::RetryOn::Reset => RetryOn::Reset,
            spec::RetryOn::NoBackend => RetryOn::NoBackend,
        }
    }
}

/// How a backoff delay is randomised: `Full`: uniform in [0, delay);
/// `Equal`: delay/2 + uniform [0, delay/2); `None`: exactly the delay.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Jitter {
    #[default]
    Full,
    Equal,
    None,
}

impl From<spec::Jitter> for Jitter {
    fn from(j: spec::Jitter) -> Jitter {
        match j {
            spec::Jitter::Full => Jitter::Full,
            spec::Jitter::Equal => Jitter::Equal,
            spec::Jitter::None => Jitter::None,
        }
    }
}

/// Active health checking (Envoy/HAProxy semantics: consecutive thresholds).
#[derive(Clone, Copy, Debug)]
pub struct HealthCheck {
    pub interval: u64,
    pub timeout: u64,
    pub unhealthy_threshold: u32,
    pub healthy_threshold: u32,
    /// Extra random delay per interval, as a fraction of it.
    pub jitter: f64,
}

/// Passive outlier detection (Envoy `outlier_detection`, consecutive_5xx).
#[derive(Clone, Copy, Debug)]
pub struct Outlier {
    pub consecutive_failures: u32,
    pub base_ejection: u64,
    pub max_ejection: u64,
    pub max_ejection_fraction: f64,
    pub interval: u64,
}

/// How a retry budget limits retries.
#[derive(Clone, Copy, Debug)]
pub enum Budget {
    /// Retries in flight at most max(min, ratio x active attempts) (Envoy).
    Ratio { ratio: f64, min_concurrency: u32 },
    /// gRPC retry throttling: retry only while tokens > max/2.
    TokenBucket { max_tokens: f64, token_ratio: f64 },
}

#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub per_try_timeout: Option<u64>,
    pub backoff_base: u64,
    pub backoff_max: u64,
    pub jitter: Jitter,
    pub budget: Option<Budget>,
    /// Indexed by `RetryOn as usize`.
    pub on: [bool; 6],
}

impl RetryPolicy {
    pub fn retries(&self, on: RetryOn) -> bool {
        self.on[on as usize]
    }
}

#[derive(Clone, Copy, Debug)]
pub struct ColdStart {
    pub factor: f64,
    pub duration: u64,
}

#[derive(Clone, Copy, Debug)]
pub struct Degrade {
    pub above: u32,
    pub per_request: f64,
}

/// Crash when the requests in the server stay above `threshold` for long
/// enough (the overload clock runs up while above, down while not).
#[derive(Clone, Copy, Debug)]
pub struct CrashRule {
    pub threshold: u64,
    pub after: u64,
}

fn positive<T: PartialOrd + Default + Copy>(
    cx: &Ctx<'_>,
    v: &Option<Spanned<T>>,
    default: T,
    what: &str,
) -> Result<T, Error> {
    match v {
        Some(s) if s.value <= T::default() => Err(cx.err(s, format!("{what} must be more than zero"), None)),
        Some(s) => Ok(s.value),
        None => Ok(default),
    }
}

fn nanos(cx: &Ctx<'_>, v: &Option<Spanned<crate::units::Duration>>, default: u64, what: &str) -> Result<u64, Error> {
    match v {
        Some(s) if s.value.nanos() == 0 => Err(cx.err(s, format!("{what} must be longer than zero"), None)),
        Some(s) => Ok(s.value.nanos()),
        None => Ok(default),
    }
}

pub(super) fn health_check(cx: &Ctx<'_>, h: &HealthCheckSpec) -> Result<HealthCheck, Error> {
    let interval = h.interval.value.nanos();
    if interval == 0 {
        return Err(cx.err(&h.interval, "the health-check interval must be longer than zero", None));
    }
    let jitter = h.jitter.as_ref().map_or(0.0, |j| j.value.fraction());
    if jitter >= 1.0 {
        return Err(cx.err(h.jitter.as_ref().expect("checked"), "jitter must be less than 100% of the interval", None));
    }
    Ok(HealthCheck {
        interval,
        timeout: nanos(cx, &h.timeout, NANOS_PER_SEC, "the health-check timeout")?,
        unhealthy_threshold: positive(cx, &h.unhealthy_threshold, 3, "unhealthy_threshold")?,
        healthy_threshold: positive(cx, &h.healthy_threshold, 2, "healthy_threshold")?,
        jitter,
    })
}

pub(super) fn outlier(cx: &Ctx<'_>, o: &OutlierSpec) -> Result<Outlier, Error> {
    let base = nanos(cx, &o.base_ejection_time, 30 * NANOS_PER_SEC, "base_ejection_time")?;
    let max = nanos(cx, &o.max_ejection_time, 300 * NANOS_PER_SEC, "max_ejection_time")?;
    if max < base {
        let at = o.max_ejection_time.as_ref().expect("max < base needs a value");
        return Err(cx.err(at, "max_ejection_time is shorter than base_ejection_time", None));
    }
    Ok(Outlier {
        consecutive_failures: positive(cx, &o.consecutive_failures, 5, "consecutive_failures")?,
        base_ejection: base,
        max_ejection: max,
        max_ejection_fraction: o.max_ejection_percent.as_ref().map_or(0.1, |p| p.value.fraction()),
        interval: nanos(cx, &o.interval, 10 * NANOS_PER_SEC, "the outlier-detection interval")?,
    })
}

fn budget(cx: &Ctx<'_>, b: &BudgetSpec, at: &Spanned<u32>) -> Result<Budget, Error> {
    match (&b.ratio, &b.max_tokens) {
        (Some(r), None) => {
            if b.token_ratio.is_some() {
                return Err(cx.err(
                    r,
                    "`token_ratio` belongs to a token-bucket budget (`max_tokens`), not a `ratio` one",
                    None,
                ));
            }
            Ok(Budget::Ratio {
                ratio: r.value.fraction(),
                min_concurrency: b.min_concurrency.as_ref().map_or(3, |m| m.value),
            })
        }
        (None, Some(m)) => {
            if m.value <= 0.0 || !m.value.is_finite() {
                return Err(cx.err(m, "`max_tokens` must be a positive number", None));
            }
            if let Some(mc) = &b.min_concurrency {
                return Err(cx.err(mc, "`min_concurrency` belongs to a `ratio` budget", None));
            }
            let token_ratio = match &b.token_ratio {
                Some(t) if !(t.value > 0.0 && t.value.is_finite()) => {
                    return Err(cx.err(t, "`token_ratio` must be a positive number", None));
                }
                Some(t) => t.value,
                None => 0.1,
            };
            Ok(Budget::TokenBucket { max_tokens: m.value, token_ratio })
        }
        _ => Err(cx.err(
            at,
            "a retry budget is either `{ratio: 20%, min_concurrency: 3}` or `{max_tokens: 10, token_ratio: 0.1}`",
            None,
        )),
    }
}

fn backoff(cx: &Ctx<'_>, b: Option<&BackoffSpec>) -> Result<(u64, u64, Jitter), Error> {
    let Some(b) = b else {
        return Ok((25 * MS, 250 * MS, Jitter::Full));
    };
    let base = nanos(cx, &b.base, 25 * MS, "the backoff base")?;
    let max = match &b.max {
        Some(m) if m.value.nanos() < base => {
            return Err(cx.err(m, "the backoff max is shorter than its base", None));
        }
        Some(m) => m.value.nanos(),
        None => base.saturating_mul(10),
    };
    Ok((base, max, b.jitter.into()))
}

pub(super) fn retry(cx: &Ctx<'_>, r: &RetrySpec) -> Result<RetryPolicy, Error> {
    if r.attempts.value == 0 || r.attempts.value > 100 {
        return Err(cx.err(&r.attempts, "`attempts` counts the first try too: between 1 and 100", None));
    }
    let per_try_timeout = match &r.per_try_timeout {
        Some(t) if t.value.nanos() == 0 => return Err(cx.err(t, "per_try_timeout must be longer than zero", None)),
        Some(t) => Some(t.value.nanos()),
        None => None,
    };
    let (backoff_base, backoff_max, jitter) = backoff(cx, r.backoff.as_ref())?;
    let budget = r.budget.as_ref().map(|b| budget(cx, b, &r.attempts)).transpose()?;
    let mut on = [true; 6];
    if let Some(list) = &r.on {
        on = [false; 6];
        for o in list {
            on[RetryOn::from(*o) as usize] = true;
        }
    }
    Ok(RetryPolicy { attempts: r.attempts.value, per_try_timeout, backoff_base, backoff_max, jitter, budget, on })
}

pub(super) fn cold_start(cx: &Ctx<'_>, c: &ColdStartSpec) -> Result<ColdStart, Error> {
    if !(c.factor.value >= 1.0 && c.factor.value.is_finite()) {
        return Err(cx.err(&c.factor, "the cold-start factor multiplies service times: 1 or more", None));
    }
    Ok(ColdStart {
        factor: c.factor.value,
        duration: nanos(cx, &Some(c.duration.clone()), 0, "the cold-start duration")?,
    })
}

pub(super) fn degrade(cx: &Ctx<'_>, d: &DegradeSpec) -> Result<Degrade, Error> {
    let _ = cx;
    Ok(Degrade { above: d.above.value, per_request: d.per_request.value.fraction() })
}

pub(super) fn crash(
    cx: &Ctx<'_>,
    c: &CrashSpec,
    key: &Spanned<String>,
    workers: u32,
    queue_limit: u64,
) -> Result<CrashRule, Error> {
    let threshold = match (&c.in_flight_above, c.queue_full) {
        (Some(n), None | Some(false)) => n.value,
        (None, Some(true)) => {
            if queue_limit == u64::MAX {
                return Err(cx.err(key, "`crash: {queue_full: true}` needs a `queue_limit` on the server", None));
            }
            // Full: every worker busy and the queue at its limit.
            (u64::from(workers) + queue_limit).saturating_sub(1)
        }
        _ => {
            return Err(cx.err(
                &c.for_,
                "say when the server is overwhelmed: `in_flight_above: N` or `queue_full: true`",
                None,
            ));
        }
    };
    if c.for_.value.nanos() == 0 {
        return Err(cx.err(&c.for_, "`for` must be longer than zero", None));
    }
    Ok(CrashRule { threshold, after: c.for_.value.nanos() })
}
