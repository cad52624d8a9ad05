//! Closed-form queueing results, used to validate the simulator.
//!
//! Every function here is an exact (or, where stated, approximate) result
//! from queueing theory. Simulation tests run a scenario whose model matches
//! one of these formulas and check that the theoretical value lies inside the
//! confidence interval of the simulated estimate (see [`crate::validation::stats`]).
//!
//! Conventions:
//! * rates (`lambda`, `mu`) are per second, times are in seconds, all `f64`;
//! * `lambda` is the arrival rate, `mu = 1/E[S]` the service rate of one
//!   server, `a = lambda/mu` the offered load in Erlangs and
//!   `rho = lambda/(c mu)` the utilisation;
//! * a quantile level `q` lies in `[0, 1]`; `q = 1` gives `+inf`;
//! * invalid parameters (negative or NaN rates, `mu <= 0`, `q` outside
//!   `[0, 1]`) give `NaN`; an unstable system (`rho >= 1`) gives `+inf` for
//!   means and quantiles. No function here panics.
//!
//! Sources: Kleinrock, *Queueing Systems Vol. 1* (1975) for M/M/1, M/M/c,
//! Erlang B/C, M/G/1 (Pollaczek–Khinchine) and GI/M/1; Mitzenmacher, "The
//! power of two choices in randomized load balancing", IEEE TPDS 12(10), 2001,
//! and Vvedenskaya, Dobrushin and Karpelevich (1996) for the supermarket
//! model. Reference values are in `balancers-and-queueing.md`, section 3.

/// True when `x` is a finite, non-negative number.
fn non_negative(x: f64) -> bool {
    x.is_finite() && x >= 0.0
}

/// True when `x` is a finite, strictly positive number.
fn positive(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

/// The `q`-quantile of an exponential distribution with rate `rate`:
/// `-ln(1 - q) / rate`. `rate` must be positive (callers check); `q` outside
/// `[0, 1]` gives `NaN`, `q = 1` gives `+inf`.
fn exp_quantile(rate: f64, q: f64) -> f64 {
    if !(0.0..=1.0).contains(&q) {
        return f64::NAN;
    }
    if q == 1.0 {
        return f64::INFINITY;
    }
    -(-q).ln_1p() / rate
}

/// Finds `t >= 0` with `tail(t) = p` for a continuous, strictly decreasing
/// tail function with `tail(0) >= p`.
///
/// `scale` is a positive time of the right order of magnitude (typically the
/// mean), used to start the search for an upper bracket. The root is then
/// found by bisection, which is slow-ish (about 60 evaluations) but cannot
/// fail. Returns `+inf` if no upper bracket is found below `f64::MAX`.
fn invert_tail(tail: impl Fn(f64) -> f64, p: f64, scale: f64) -> f64 {
    if p >= 1.0 {
        return 0.0;
    }
    if p <= 0.0 {
        return f64::INFINITY;
    }
    let mut lo = 0.0_f64;
    let mut hi = if positive(scale) { scale } else { 1.0 };
    // Grow the upper end until the tail has dropped below the target.
    while tail(hi) > p {
        lo = hi;
        hi *= 2.0;
        if !hi.is_finite() {
            return f64::INFINITY;
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if tail(mid) > p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 4.0 * f64::EPSILON * hi {
            break;
        }
    }
    0.5 * (lo + hi)
}

// ---------------------------------------------------------------------------
// M/M/1
// ---------------------------------------------------------------------------

/// Validates an M/M/1 (or M/M/c) parameter pair: `lambda >= 0`, `mu > 0`.
fn valid_rates(lambda: f64, mu: f64) -> bool {
    non_negative(lambda) && positive(mu)
}

/// Mean sojourn time (waiting + service) of an M/M/1 FCFS queue:
/// `W = 1 / (mu - lambda)`.
///
/// Source: Kleinrock (1975), §3.2. `+inf` when `lambda >= mu`.
pub fn mm1_mean_sojourn(lambda: f64, mu: f64) -> f64 {
    if !valid_rates(lambda, mu) {
        return f64::NAN;
    }
    if lambda >= mu {
        return f64::INFINITY;
    }
    1.0 / (mu - lambda)
}

/// Mean waiting time in the queue (before service starts) of an M/M/1 FCFS
/// queue: `W_q = rho / (mu - lambda)` with `rho = lambda / mu`.
///
/// Source: Kleinrock (1975), §3.2. `+inf` when `lambda >= mu`.
pub fn mm1_mean_wait(lambda: f64, mu: f64) -> f64 {
    if !valid_rates(lambda, mu) {
        return f64::NAN;
    }
    if lambda >= mu {
        return f64::INFINITY;
    }
    (lambda / mu) / (mu - lambda)
}

/// Mean number in system of an M/M/1 queue: `L = rho / (1 - rho)`
/// (equivalently `lambda * W` by Little's law).
///
/// Source: Kleinrock (1975), §3.2. `+inf` when `lambda >= mu`.
pub fn mm1_mean_in_system(lambda: f64, mu: f64) -> f64 {
    if !valid_rates(lambda, mu) {
        return f64::NAN;
    }
    if lambda >= mu {
        return f64::INFINITY;
    }
    let rho = lambda / mu;
    rho / (1.0 - rho)
}

/// Tail of the M/M/1 FCFS sojourn time: `P(T > t) = exp(-(mu - lambda) t)`,
/// since `T ~ Exp(mu - lambda)`.
///
/// Source: Kleinrock (1975), §3.2. Returns 1 for `t <= 0`, and 1 for every
/// `t` when the queue is unstable.
pub fn mm1_sojourn_tail(lambda: f64, mu: f64, t: f64) -> f64 {
    if !valid_rates(lambda, mu) || t.is_nan() {
        return f64::NAN;
    }
    if t <= 0.0 || lambda >= mu {
        return 1.0;
    }
    (-(mu - lambda) * t).exp()
}

/// `q`-quantile of the M/M/1 FCFS sojourn time:
/// `-ln(1 - q) / (mu - lambda)` (the sojourn is `Exp(mu - lambda)`).
///
/// Example: `lambda = 0.8, mu = 1, q = 0.99` gives `ln(100) / 0.2 = 23.03`.
/// `+inf` when `lambda >= mu` or `q = 1`.
pub fn mm1_sojourn_quantile(lambda: f64, mu: f64, q: f64) -> f64 {
    if !valid_rates(lambda, mu) || !(0.0..=1.0).contains(&q) {
        return f64::NAN;
    }
    if lambda >= mu {
        return f64::INFINITY;
    }
    exp_quantile(mu - lambda, q)
}

/// Mean sojourn time of an M/G/1 processor-sharing queue:
/// `E[T] = E[S] / (1 - rho)` with `rho = lambda E[S]`; insensitive to the
/// shape of the service distribution (and `E[T | S = x] = x / (1 - rho)`).
///
/// Source: Kleinrock, *Queueing Systems Vol. 2* (1976), §4.4.
/// `+inf` when `rho >= 1`.
pub fn mg1_ps_mean_sojourn(lambda: f64, mean_s: f64) -> f64 {
    if !non_negative(lambda) || !positive(mean_s) {
        return f64::NAN;
    }
    let rho = lambda * mean_s;
    if rho >= 1.0 {
        return f64::INFINITY;
    }
    mean_s / (1.0 - rho)
}

// ---------------------------------------------------------------------------
// Erlang B and C, M/M/c
// ---------------------------------------------------------------------------

/// Erlang B blocking probability of an M/M/c/c loss system with `c` servers
/// and offered load `a = lambda / mu` Erlangs:
/// `B(c, a) = (a^c / c!) / sum_{k=0..c} a^k / k!`.
///
/// Computed by the stable recursion `B_0 = 1`,
/// `B_k = a B_{k-1} / (k + a B_{k-1})`, which never overflows (fine for `c`
/// in the thousands). Example: `B(10, 8) = 0.1217`.
///
/// Source: Kleinrock (1975), §3.6. `NaN` for negative or non-finite `a`.
pub fn erlang_b(c: u32, a: f64) -> f64 {
    if !non_negative(a) {
        return f64::NAN;
    }
    let mut b = 1.0_f64;
    for k in 1..=c {
        let ab = a * b;
        b = ab / (f64::from(k) + ab);
    }
    b
}

/// Erlang C probability that an arrival to an M/M/c queue has to wait
/// (all `c` servers busy), with offered load `a = lambda / mu` Erlangs:
/// `C(c, a) = [a^c/c! * c/(c-a)] / [sum_{k<c} a^k/k! + a^c/c! * c/(c-a)]`.
///
/// Computed from Erlang B as `C = B / (1 - rho (1 - B))` with `rho = a / c`,
/// which is numerically stable for `c` up to thousands. Returns 1 when
/// `a >= c` (the queue is unstable and every arrival waits, which is also the
/// limit as `a -> c`). Example: `C(2, 1.6) = 0.7111`.
///
/// Source: Kleinrock (1975), §3.5.
pub fn erlang_c(c: u32, a: f64) -> f64 {
    if !non_negative(a) {
        return f64::NAN;
    }
    if a >= f64::from(c) {
        return 1.0;
    }
    let b = erlang_b(c, a);
    let rho = a / f64::from(c);
    b / (1.0 - rho * (1.0 - b))
}

/// Validates M/M/c parameters.
fn valid_mmc(lambda: f64, mu: f64, c: u32) -> bool {
    valid_rates(lambda, mu) && c >= 1
}

/// Mean waiting time in the queue of an M/M/c FCFS queue:
/// `W_q = C(c, a) / (c mu - lambda)`.
///
/// Source: Kleinrock (1975), §3.5. `+inf` when `lambda >= c mu`; `NaN` when
/// `c = 0`.
pub fn mmc_mean_wait(lambda: f64, mu: f64, c: u32) -> f64 {
    if !valid_mmc(lambda, mu, c) {
        return f64::NAN;
    }
    let cmu = f64::from(c) * mu;
    if lambda >= cmu {
        return f64::INFINITY;
    }
    erlang_c(c, lambda / mu) / (cmu - lambda)
}

/// Mean sojourn time of an M/M/c FCFS queue: `W = W_q + 1/mu`.
///
/// Source: Kleinrock (1975), §3.5. `+inf` when `lambda >= c mu`.
pub fn mmc_mean_sojourn(lambda: f64, mu: f64, c: u32) -> f64 {
    mmc_mean_wait(lambda, mu, c) + 1.0 / mu
}

/// Tail of the M/M/c FCFS waiting time: `P(W_q > t) = C e^{-(c mu - lambda) t}`
/// for `t >= 0` (and 1 for `t < 0`).
///
/// Source: Kleinrock (1975), §3.5. Returns 1 everywhere when unstable.
pub fn mmc_wait_tail(lambda: f64, mu: f64, c: u32, t: f64) -> f64 {
    if !valid_mmc(lambda, mu, c) || t.is_nan() {
        return f64::NAN;
    }
    let cmu = f64::from(c) * mu;
    if t < 0.0 || lambda >= cmu {
        return 1.0;
    }
    erlang_c(c, lambda / mu) * (-(cmu - lambda) * t).exp()
}

/// `q`-quantile of the M/M/c FCFS waiting time: 0 when `1 - q >= C`
/// (the arrival is served at once with probability `1 - C`), otherwise
/// `ln(C / (1 - q)) / (c mu - lambda)`.
///
/// `+inf` when unstable or `q = 1`.
pub fn mmc_wait_quantile(lambda: f64, mu: f64, c: u32, q: f64) -> f64 {
    if !valid_mmc(lambda, mu, c) || !(0.0..=1.0).contains(&q) {
        return f64::NAN;
    }
    let cmu = f64::from(c) * mu;
    if lambda >= cmu || q == 1.0 {
        return f64::INFINITY;
    }
    let erl = erlang_c(c, lambda / mu);
    let p = 1.0 - q;
    if p >= erl { 0.0 } else { (erl / p).ln() / (cmu - lambda) }
}

/// `P(X + Y > t)` for independent `X ~ Exp(r1)`, `Y ~ Exp(r2)` (a
/// hypoexponential tail), `t >= 0`:
/// `(r1 e^{-r2 t} - r2 e^{-r1 t}) / (r1 - r2)`, and `(1 + r t) e^{-r t}` when
/// `r1 = r2 = r`.
///
/// Written as `e^{-lo t} (1 + lo (1 - e^{-(hi - lo) t}) / (hi - lo))` with
/// `lo = min(r1, r2)`, `hi = max(r1, r2)`, using `expm1`: no cancellation as
/// `r1 -> r2`, no overflow for large `t`, and the equal-rate case is the
/// continuous limit.
fn hypoexp2_tail(r1: f64, r2: f64, t: f64) -> f64 {
    let (lo, hi) = if r1 <= r2 { (r1, r2) } else { (r2, r1) };
    let delta = hi - lo;
    let g = if delta > 0.0 { -(-delta * t).exp_m1() / delta } else { t };
    (-lo * t).exp() * (1.0 + lo * g)
}

/// Tail of the M/M/c FCFS sojourn time `T = W_q + S`, with `S ~ Exp(mu)`
/// independent of the wait, `P(W_q = 0) = 1 - C` and
/// `P(W_q > t) = C e^{-gamma t}`, `gamma = c mu - lambda`:
///
/// `P(T > t) = (1 - C) e^{-mu t} + C (gamma e^{-mu t} - mu e^{-gamma t}) / (gamma - mu)`
///
/// and, in the special case `gamma = mu`,
/// `P(T > t) = (1 - C) e^{-mu t} + C (1 + mu t) e^{-mu t}`.
/// (The second term is the tail of the sum of two independent exponentials;
/// it is evaluated in a form that is accurate near `gamma = mu`.)
///
/// Source: derived from the M/M/c waiting-time distribution,
/// Kleinrock (1975), §3.5. Returns 1 for `t <= 0`, and 1 everywhere when
/// unstable.
pub fn mmc_sojourn_tail(lambda: f64, mu: f64, c: u32, t: f64) -> f64 {
    if !valid_mmc(lambda, mu, c) || t.is_nan() {
        return f64::NAN;
    }
    let cmu = f64::from(c) * mu;
    if t <= 0.0 || lambda >= cmu {
        return 1.0;
    }
    let erl = erlang_c(c, lambda / mu);
    let gamma = cmu - lambda;
    (1.0 - erl) * (-mu * t).exp() + erl * hypoexp2_tail(gamma, mu, t)
}

/// `q`-quantile of the M/M/c FCFS sojourn time: the `t` with
/// `P(T > t) = 1 - q`, using [`mmc_sojourn_tail`] and bisection (the tail is
/// continuous and strictly decreasing, so this always converges; the result
/// is accurate to a few ulps).
///
/// With `c = 1` this equals [`mm1_sojourn_quantile`]. `+inf` when unstable or
/// `q = 1`; 0 for `q = 0`.
pub fn mmc_sojourn_quantile(lambda: f64, mu: f64, c: u32, q: f64) -> f64 {
    if !valid_mmc(lambda, mu, c) || !(0.0..=1.0).contains(&q) {
        return f64::NAN;
    }
    if lambda >= f64::from(c) * mu || q == 1.0 {
        return f64::INFINITY;
    }
    if q == 0.0 {
        return 0.0;
    }
    let scale = mmc_mean_sojourn(lambda, mu, c);
    invert_tail(|t| mmc_sojourn_tail(lambda, mu, c, t), 1.0 - q, scale)
}

// ---------------------------------------------------------------------------
// M/G/1 (Pollaczek–Khinchine), M/D/1, Kingman
// ---------------------------------------------------------------------------

/// Mean waiting time in the queue of an M/G/1 FCFS queue
/// (Pollaczek–Khinchine): `W_q = lambda E[S^2] / (2 (1 - rho))`,
/// `rho = lambda E[S]`. Equivalently `rho E[S] (1 + C_s^2) / (2 (1 - rho))`.
///
/// `mean_s = E[S]`, `second_moment_s = E[S^2]` (must be `>= E[S]^2`).
/// Source: Kleinrock (1975), §5.6. `+inf` when `rho >= 1`.
pub fn mg1_mean_wait(lambda: f64, mean_s: f64, second_moment_s: f64) -> f64 {
    if !non_negative(lambda) || !positive(mean_s) || !non_negative(second_moment_s) {
        return f64::NAN;
    }
    let rho = lambda * mean_s;
    if rho >= 1.0 {
        return f64::INFINITY;
    }
    lambda * second_moment_s / (2.0 * (1.0 - rho))
}

/// Mean sojourn time of an M/G/1 FCFS queue: `W = W_q + E[S]` with `W_q`
/// from [`mg1_mean_wait`] (Pollaczek–Khinchine).
///
/// Example: `rho = 0.8, E[S] = 1`: deterministic service (`E[S^2] = 1`)
/// gives 3.0, exponential (`E[S^2] = 2`) 5.0, `C_s^2 = 4` (`E[S^2] = 5`) 11.0.
pub fn mg1_mean_sojourn(lambda: f64, mean_s: f64, second_moment_s: f64) -> f64 {
    mg1_mean_wait(lambda, mean_s, second_moment_s) + mean_s
}

/// The second moment of a service time with mean `mean_s` and squared
/// coefficient of variation `scv = Var[S] / E[S]^2`:
/// `E[S^2] = E[S]^2 (1 + scv)`. Handy for [`mg1_mean_wait`].
pub fn second_moment_from_scv(mean_s: f64, scv: f64) -> f64 {
    mean_s * mean_s * (1.0 + scv)
}

/// Mean waiting time in the queue of an M/D/1 queue (constant service time
/// `1/mu`): `W_q = rho / (2 mu (1 - rho))`, half the M/M/1 value.
///
/// Source: Pollaczek–Khinchine with `E[S^2] = 1/mu^2`. `+inf` when
/// `lambda >= mu`.
pub fn md1_mean_wait(lambda: f64, mu: f64) -> f64 {
    if !valid_rates(lambda, mu) {
        return f64::NAN;
    }
    let s = 1.0 / mu;
    mg1_mean_wait(lambda, s, s * s)
}

/// Mean sojourn time of an M/D/1 queue: `W = W_q + 1/mu` with `W_q` from
/// [`md1_mean_wait`].
pub fn md1_mean_sojourn(lambda: f64, mu: f64) -> f64 {
    md1_mean_wait(lambda, mu) + 1.0 / mu
}

/// Kingman's heavy-traffic approximation for the mean wait of a G/G/1 queue:
/// `W_q ~ (rho / (1 - rho)) ((c_a^2 + c_s^2) / 2) E[S]`, where `c_a^2` and
/// `c_s^2` are the squared coefficients of variation of interarrival and
/// service times. Exact for M/M/1; an approximation otherwise (good as
/// `rho -> 1`). Use it as a sanity check only.
///
/// Source: Kingman (1961). `+inf` when `rho >= 1`.
pub fn gg1_kingman_wait(lambda: f64, mean_s: f64, ca2: f64, cs2: f64) -> f64 {
    if !non_negative(lambda) || !positive(mean_s) || !non_negative(ca2) || !non_negative(cs2) {
        return f64::NAN;
    }
    let rho = lambda * mean_s;
    if rho >= 1.0 {
        return f64::INFINITY;
    }
    rho / (1.0 - rho) * 0.5 * (ca2 + cs2) * mean_s
}

// ---------------------------------------------------------------------------
// GI/M/1 and the E_N/M/1 queue seen by one round-robin server
// ---------------------------------------------------------------------------

/// The GI/M/1 root `sigma`: the unique solution in `(0, 1)` of
/// `sigma = A*(mu (1 - sigma))`, where `A*(s) = E[e^{-s A}]` is the
/// Laplace–Stieltjes transform of the interarrival time `A` and `mu` the
/// exponential service rate.
///
/// In a stable GI/M/1 FCFS queue an arrival finds `n` customers with
/// probability `(1 - sigma) sigma^n`, the sojourn time is
/// `Exp(mu (1 - sigma))`, and the wait is 0 with probability `1 - sigma`,
/// otherwise `Exp(mu (1 - sigma))`. Source: Kleinrock (1975), §6.4.
///
/// The root exists iff `rho = 1 / (mu E[A]) < 1`. Because
/// `h(sigma) = A*(mu (1 - sigma)) - sigma` is convex with `h(0) > 0` and
/// `h(1) = 0`, it is negative exactly on `(sigma, 1)`; this function scans
/// `1 - 2^-k` for such a point and then bisects. Returns 1.0 when no root
/// below 1 is found (unstable, or so close to 1 that it cannot be told apart),
/// which makes the derived mean sojourn `+inf`; `NaN` if `mu` is not positive.
pub fn gim1_sigma(laplace: impl Fn(f64) -> f64, mu: f64) -> f64 {
    if !positive(mu) {
        return f64::NAN;
    }
    let h = |sigma: f64| laplace(mu * (1.0 - sigma)) - sigma;
    let mut lo = 0.0_f64;
    if h(lo) <= 0.0 {
        // A*(mu) = 0: arrivals never find anyone (degenerate, e.g. no arrivals).
        return 0.0;
    }
    let mut hi = None;
    let mut step = 0.5_f64;
    for _ in 0..60 {
        let s = 1.0 - step;
        let v = h(s);
        if v < 0.0 {
            hi = Some(s);
            break;
        }
        if v == 0.0 {
            return s;
        }
        lo = s;
        step *= 0.5;
    }
    let Some(mut hi) = hi else {
        return 1.0;
    };
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        let v = h(mid);
        if v > 0.0 {
            lo = mid;
        } else if v < 0.0 {
            hi = mid;
        } else {
            return mid;
        }
    }
    0.5 * (lo + hi)
}

/// Validates the parameters of the E_N/M/1 helpers.
fn valid_en(n: u32, total_lambda: f64, mu: f64) -> bool {
    n >= 1 && valid_rates(total_lambda, mu)
}

/// The GI/M/1 root `sigma` for one server behind a round-robin splitter.
///
/// Poisson arrivals at total rate `Lambda = total_lambda` dealt round-robin to
/// `n` identical exponential servers give each server Erlang(`n`, `Lambda`)
/// interarrival times (the sum of `n` exponential gaps), with transform
/// `A*(s) = (Lambda / (Lambda + s))^n`: an E_n/M/1 queue with utilisation
/// `rho = Lambda / (n mu)`. Solves `sigma = A*(mu (1 - sigma))` via
/// [`gim1_sigma`]. With `n = 1` this is M/M/1 and `sigma = rho`.
///
/// Returns 1.0 when `rho >= 1`; 0 when `Lambda = 0`.
pub fn en_m1_sigma(n: u32, total_lambda: f64, mu: f64) -> f64 {
    if !valid_en(n, total_lambda, mu) {
        return f64::NAN;
    }
    if total_lambda == 0.0 {
        return 0.0;
    }
    if total_lambda >= f64::from(n) * mu {
        return 1.0;
    }
    let nf = f64::from(n);
    // (L / (L + s))^n = exp(-n ln(1 + s/L)), accurate for small s.
    gim1_sigma(|s| (-nf * (s / total_lambda).ln_1p()).exp(), mu)
}

/// Mean sojourn time of one server of a round-robin pool (E_n/M/1 queue,
/// see [`en_m1_sigma`]): `W = 1 / (mu (1 - sigma))`.
///
/// `n = 1` gives the M/M/1 value `1 / (mu - Lambda)`; for fixed `Lambda`
/// it decreases to `1/mu` as `n` grows. `+inf` when `Lambda >= n mu`.
pub fn en_m1_mean_sojourn(n: u32, total_lambda: f64, mu: f64) -> f64 {
    if !valid_en(n, total_lambda, mu) {
        return f64::NAN;
    }
    let sigma = en_m1_sigma(n, total_lambda, mu);
    if sigma >= 1.0 {
        return f64::INFINITY;
    }
    1.0 / (mu * (1.0 - sigma))
}

/// Mean waiting time in the queue of one server of a round-robin pool
/// (E_n/M/1): `W_q = sigma / (mu (1 - sigma))`.
pub fn en_m1_mean_wait(n: u32, total_lambda: f64, mu: f64) -> f64 {
    if !valid_en(n, total_lambda, mu) {
        return f64::NAN;
    }
    let sigma = en_m1_sigma(n, total_lambda, mu);
    if sigma >= 1.0 {
        return f64::INFINITY;
    }
    sigma / (mu * (1.0 - sigma))
}

/// `q`-quantile of the sojourn time of one server of a round-robin pool
/// (E_n/M/1): the sojourn is `Exp(mu (1 - sigma))`, so the quantile is
/// `-ln(1 - q) / (mu (1 - sigma))`.
///
/// `+inf` when `Lambda >= n mu` or `q = 1`.
pub fn en_m1_sojourn_quantile(n: u32, total_lambda: f64, mu: f64, q: f64) -> f64 {
    if !valid_en(n, total_lambda, mu) || !(0.0..=1.0).contains(&q) {
        return f64::NAN;
    }
    let sigma = en_m1_sigma(n, total_lambda, mu);
    if sigma >= 1.0 {
        return f64::INFINITY;
    }
    exp_quantile(mu * (1.0 - sigma), q)
}

// ---------------------------------------------------------------------------
// Supermarket model (power of d choices)
// ---------------------------------------------------------------------------

/// `1 + d + d^2 + ... + d^(k-1)` (= `(d^k - 1)/(d - 1)` for `d > 1`, `k` for
/// `d = 1`), as `f64` (it may round, or become `+inf` for huge `k`; both are
/// harmless as exponents of `lambda < 1`).
fn geometric_exponent(d: u32, k: u32) -> f64 {
    let df = f64::from(d);
    let mut sum = 0.0_f64;
    let mut term = 1.0_f64;
    for _ in 0..k {
        sum += term;
        term *= df;
        if !sum.is_finite() {
            break;
        }
    }
    sum
}

/// Supermarket model (power of `d` choices): the equilibrium fraction of
/// queues with at least `i` jobs,
/// `s_i = lambda^((d^i - 1)/(d - 1))` (`d = 1`: `lambda^i`, i.e. M/M/1).
///
/// Model: `n -> infinity` servers with Exp(1) service, Poisson arrivals at
/// rate `lambda n` (`0 <= lambda < 1`), each arrival samples `d` servers
/// independently and uniformly (with replacement) and joins the shortest.
/// `s_0 = 1`. Example: `d = 2, lambda = 0.9`: `s_1..s_5 = 0.9, 0.729,
/// 0.4783, 0.2059, 0.0382`.
///
/// Source: Mitzenmacher, IEEE TPDS 2001; Vvedenskaya, Dobrushin and
/// Karpelevich, 1996. `NaN` for `d = 0`, `lambda` outside `[0, 1)`.
pub fn supermarket_tail(lambda: f64, d: u32, i: u32) -> f64 {
    if d == 0 || !non_negative(lambda) || lambda >= 1.0 {
        return f64::NAN;
    }
    lambda.powf(geometric_exponent(d, i))
}

/// Supermarket model (power of `d` choices): the equilibrium mean sojourn
/// time, in units of the mean service time,
/// `T_d(lambda) = sum_{i >= 1} lambda^((d^i - d)/(d - 1))`
/// (`d = 1`: `1/(1 - lambda)`, the M/M/1 value).
///
/// The series is summed until its terms are negligible (they fall doubly
/// exponentially for `d >= 2`). Example: `lambda = 0.9`: `T_1 = 10`,
/// `T_2 = 2.614`, `T_3 = 2.028`. Model and sources as in
/// [`supermarket_tail`]. `+inf` for `lambda >= 1`; `NaN` for `d = 0` or
/// negative `lambda`.
pub fn supermarket_mean_sojourn(lambda: f64, d: u32) -> f64 {
    if d == 0 || !non_negative(lambda) {
        return f64::NAN;
    }
    if lambda >= 1.0 {
        return f64::INFINITY;
    }
    if d == 1 {
        return 1.0 / (1.0 - lambda);
    }
    // Term i is lambda^(d + d^2 + ... + d^(i-1)) = lambda^(d * (1 + ... + d^(i-2))).
    let df = f64::from(d);
    let mut sum = 0.0_f64;
    for i in 1..=200u32 {
        let exponent = df * geometric_exponent(d, i - 1);
        let term = lambda.powf(exponent);
        sum += term;
        if term <= f64::EPSILON * 1e-3 * sum {
            break;
        }
    }
    sum
}

#[cfg(test)]
mod tests;
