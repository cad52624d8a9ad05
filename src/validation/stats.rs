//! Confidence intervals for simulation output.
//!
//! A simulation run produces one estimate per replication (for example the
//! mean latency of replication `i`). Independent replications give
//! independent, roughly normal estimates, so the classical Student-t interval
//! applies: `mean +- t_{(1+confidence)/2, n-1} * s / sqrt(n)`.
//! [`mean_ci`] builds that interval; [`diff_ci`] does the same for paired
//! differences between two scenarios run with common random numbers.
//!
//! The Student-t quantiles and CDFs needed for that are implemented here
//! (the normal ones, which the scenario's distributions need too, are in
//! `crate::dist`): the Student-t CDF via
//! the regularized incomplete beta function (continued fraction, DLMF
//! 8.17.22), and its inverse by a safeguarded Newton iteration.

use std::f64::consts::PI;

use crate::dist::normal::{normal_cdf, normal_quantile};

/// A point estimate with a symmetric confidence interval
/// `[mean - half_width, mean + half_width]`.
///
/// Degenerate inputs are represented, not rejected: with no samples `mean`
/// and `half_width` are `NaN`; with one sample `half_width` is `+inf` (there
/// is no information about the spread); an invalid `confidence` gives a `NaN`
/// half-width. Use [`Estimate::is_informative`] before relying on
/// [`Estimate::contains`], which is vacuously true for an infinite interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The sample mean.
    pub mean: f64,
    /// Half the width of the confidence interval.
    pub half_width: f64,
    /// The number of samples the estimate is based on.
    pub n: usize,
    /// The confidence level, e.g. 0.95.
    pub confidence: f64,
}

impl Estimate {
    /// The lower end of the interval, `mean - half_width`.
    pub fn lo(&self) -> f64 {
        self.mean - self.half_width
    }

    /// The upper end of the interval, `mean + half_width`.
    pub fn hi(&self) -> f64 {
        self.mean + self.half_width
    }

    /// True when `lo() <= x <= hi()`. False whenever anything involved is
    /// `NaN` (for example with no samples); true for every non-NaN `x` when
    /// the half-width is infinite (a single sample).
    pub fn contains(&self, x: f64) -> bool {
        self.lo() <= x && x <= self.hi()
    }

    /// True when the interval carries information: at least two samples and a
    /// finite mean and half-width.
    pub fn is_informative(&self) -> bool {
        self.n >= 2 && self.mean.is_finite() && self.half_width.is_finite()
    }

    /// The half-width relative to the magnitude of the mean,
    /// `half_width / |mean|` (the "precision" target of sequential
    /// procedures, e.g. stop when below 0.03). `+inf` for a zero mean.
    pub fn relative_half_width(&self) -> f64 {
        self.half_width / self.mean.abs()
    }

    /// True when the interval excludes zero, i.e. (for a difference of
    /// means from [`diff_ci`]) the difference is significant at this
    /// confidence level. False for uninformative estimates.
    pub fn excludes_zero(&self) -> bool {
        self.is_informative() && !self.contains(0.0)
    }
}

impl std::fmt::Display for Estimate {
    /// Formats as `mean ± half_width (95 %, n = 10)`; the float precision, if
    /// given (`{:.3}`), applies to both numbers.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Rounded so that e.g. 0.07 * 100 prints as 7, not 7.000000000000001.
        let pct = (100.0 * self.confidence * 1e9).round() / 1e9;
        match f.precision() {
            Some(prec) => write!(f, "{:.prec$} ± {:.prec$} ({pct} %, n = {})", self.mean, self.half_width, self.n),
            None => write!(f, "{} ± {} ({pct} %, n = {})", self.mean, self.half_width, self.n),
        }
    }
}

/// Student-t confidence interval for the mean of independent samples (such as
/// one result per independent replication):
/// `mean +- t_{(1+confidence)/2, n-1} * s / sqrt(n)`, with `s` the sample
/// standard deviation (divisor `n - 1`).
///
/// Degenerate cases, which do not panic: no samples gives `NaN` mean and
/// half-width; a single sample gives that sample as the mean and an infinite
/// half-width; `confidence` outside `(0, 1)` gives a `NaN` half-width.
/// Non-finite samples propagate into the result.
pub fn mean_ci(samples: &[f64], confidence: f64) -> Estimate {
    let n = samples.len();
    let mut est = Estimate { mean: f64::NAN, half_width: f64::NAN, n, confidence };
    if n == 0 {
        return est;
    }
    let nf = n as f64;
    // Two passes: the mean, then the centred sum of squares (stable).
    let mean = samples.iter().sum::<f64>() / nf;
    est.mean = mean;
    if !(confidence > 0.0 && confidence < 1.0) {
        return est;
    }
    if n == 1 {
        est.half_width = f64::INFINITY;
        return est;
    }
    let ss: f64 = samples.iter().map(|x| (x - mean) * (x - mean)).sum();
    let sd = (ss / (nf - 1.0)).sqrt();
    // Upper-tail probability taken directly from the confidence level, so
    // levels like 0.999 lose no precision to 0.5 + 0.5 * confidence.
    let t = student_t_upper_quantile(0.5 * (1.0 - confidence), nf - 1.0);
    est.half_width = t * sd / nf.sqrt();
    est
}

/// Paired confidence interval for the difference between two scenarios run
/// with common random numbers: the [`mean_ci`] of the per-replication
/// differences `b[i] - a[i]`. A positive mean means `b` is larger.
///
/// Pairing removes the variance the two runs share, so this interval is
/// usually much narrower than one built from independent runs. Degenerate
/// cases behave as in [`mean_ci`].
///
/// # Panics
///
/// If `a` and `b` have different lengths (the samples would not be paired).
pub fn diff_ci(a: &[f64], b: &[f64], confidence: f64) -> Estimate {
    assert_eq!(a.len(), b.len(), "diff_ci needs paired samples of equal length");
    let diffs: Vec<f64> = a.iter().zip(b).map(|(x, y)| y - x).collect();
    mean_ci(&diffs, confidence)
}

// ---------------------------------------------------------------------------
// Student's t distribution
// ---------------------------------------------------------------------------

/// The regularized incomplete beta function `I_x(a, b)` for `a, b > 0` and
/// `x` in `[0, 1]`.
///
/// Uses the continued fraction of DLMF 8.17.22, evaluated with the modified
/// Lentz method, on whichever of `I_x(a, b)` and `1 - I_{1-x}(b, a)`
/// converges fast (`x < (a + 1) / (a + b + 2)` for the former). `one_minus_x`
/// is passed separately so callers can supply `1 - x` without cancellation.
fn reg_inc_beta(a: f64, b: f64, x: f64, one_minus_x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if one_minus_x <= 0.0 {
        return 1.0;
    }
    if x < (a + 1.0) / (a + b + 2.0) {
        inc_beta_cf(a, b, x, one_minus_x)
    } else {
        1.0 - inc_beta_cf(b, a, one_minus_x, x)
    }
}

/// `ln Gamma(x + b) - ln Gamma(x)` for `x >= 20`, `b > 0`, without the
/// cancellation of subtracting two huge `lgamma` values.
///
/// From Stirling's series `ln Gamma(x) = (x - 1/2) ln x - x + ln(2 pi)/2 +
/// sum_k B_2k / (2k (2k-1) x^(2k-1))`: the leading terms of the difference are
/// `(x - 1/2) ln(1 + b/x) + b ln(x + b) - b`, plus the difference of the
/// correction series (truncated after the `x^-7` term, error below 2e-15).
fn ln_gamma_ratio_large(x: f64, b: f64) -> f64 {
    fn series(y: f64) -> f64 {
        let r = 1.0 / y;
        let r2 = r * r;
        r * (1.0 / 12.0 - r2 * (1.0 / 360.0 - r2 * (1.0 / 1260.0 - r2 / 1680.0)))
    }
    (x - 0.5) * (b / x).ln_1p() + b * (x + b).ln() - b + (series(x + b) - series(x))
}

/// `ln B(a, b) = ln Gamma(a) + ln Gamma(b) - ln Gamma(a + b)`, accurate also
/// when one argument is huge (large degrees of freedom).
fn ln_beta(a: f64, b: f64) -> f64 {
    let (small, large) = if a <= b { (a, b) } else { (b, a) };
    if large >= 20.0 {
        libm::lgamma(small) - ln_gamma_ratio_large(large, small)
    } else {
        libm::lgamma(a) + libm::lgamma(b) - libm::lgamma(a + b)
    }
}

/// `I_x(a, b)` by its continued fraction; converges quickly for
/// `x < (a + 1) / (a + b + 2)`.
fn inc_beta_cf(a: f64, b: f64, x: f64, one_minus_x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    // Prefactor x^a (1-x)^b / (a B(a, b)), in logs. Logs of numbers near 1
    // go through ln_1p of the complement, so huge exponents stay accurate.
    let ln_x = if x > 0.5 { (-one_minus_x).ln_1p() } else { x.ln() };
    let ln_1mx = if one_minus_x > 0.5 { (-x).ln_1p() } else { one_minus_x.ln() };
    let ln_front = a * ln_x + b * ln_1mx - ln_beta(a, b) - a.ln();
    // Continued fraction 1 / (1 + d1 / (1 + d2 / (1 + ...))), modified Lentz.
    let mut f = 1.0_f64;
    let mut c = 1.0_f64;
    let mut d = 0.0_f64;
    for step in 1..=20_000u32 {
        let m = f64::from(step / 2);
        let coeff = if step % 2 == 1 {
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0))
        } else {
            m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m))
        };
        d = 1.0 + coeff * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = if step == 1 {
            // 1 + d1 = 1 - (a+b) x / (a+1), written without cancellation.
            ((1.0 - b) + (a + b) * one_minus_x) / (a + 1.0)
        } else {
            1.0 + coeff / c
        };
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    // The fraction above is 1 + d1/(1 + ...) after the leading "1 /" is taken
    // out; I_x = front / that.
    ln_front.exp() / f
}

/// Upper tail `P(T > t)` of Student's t with `df` degrees of freedom, for
/// `t >= 0`: `I_{df/(df+t^2)}(df/2, 1/2) / 2`.
///
/// For `df > LARGE_DF` the continued fraction loses digits to cancellation
/// (about `1e-10` relative at `df = 1e7`), so there the tail is computed with
/// Hill's asymptotic normalising transformation instead (Hill 1970, CACM
/// algorithm 395): `y = sqrt(a ln(1 + t^2/df))` with `a = df - 1/2`,
/// corrected by a series in `1/(48 a^2)`, and `P(T > t) = Phi(-y)`. Checked
/// against 40-digit arithmetic: relative error below `1e-13` for `df >= 1e4`
/// and `|t| <= 38` (below `2e-14` for `|t| <= 10`).
fn student_t_upper(t: f64, df: f64) -> f64 {
    if df > LARGE_DF {
        let a = df - 0.5;
        let b = 48.0 * a * a;
        let y = a * (t * t / df).ln_1p();
        let corr = ((((-0.4 * y - 3.3) * y - 24.0) * y - 85.5) / (0.8 * y * y + 100.0 + b) + y + 3.0) / b + 1.0;
        let z = corr * y.sqrt();
        return normal_cdf(-z);
    }
    let t2 = t * t;
    let x = df / (df + t2);
    let one_minus_x = t2 / (df + t2);
    0.5 * reg_inc_beta(0.5 * df, 0.5, x, one_minus_x)
}

/// The CDF of Student's t distribution with `df > 0` degrees of freedom
/// (non-integer `df` allowed), via the regularized incomplete beta function:
/// `P(T <= t) = 1 - I_{df/(df+t^2)}(df/2, 1/2) / 2` for `t >= 0`, mirrored
/// for `t < 0`. `NaN` for `df <= 0` or `NaN` arguments.
pub fn student_t_cdf(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return if t > 0.0 { 1.0 } else { 0.0 };
    }
    if t >= 0.0 { 1.0 - student_t_upper(t, df) } else { student_t_upper(-t, df) }
}

/// The density of Student's t with `df` degrees of freedom.
fn student_t_pdf(t: f64, df: f64) -> f64 {
    // Gamma((df+1)/2) / (Gamma(df/2) Gamma(1/2)) = 1 / B(df/2, 1/2).
    let ln_norm = -ln_beta(0.5 * df, 0.5) - 0.5 * df.ln();
    (ln_norm - 0.5 * (df + 1.0) * (t * t / df).ln_1p()).exp()
}

/// The quantile (inverse CDF) of Student's t distribution with `df > 0`
/// degrees of freedom (non-integer `df` allowed): the `t` with
/// `P(T <= t) = p`.
///
/// Closed forms for `df = 1` (Cauchy) and `df = 2`; otherwise a Newton
/// iteration on the upper tail, started from a Cornish–Fisher expansion around
/// the normal quantile and safeguarded by bisection inside a bracket, so it
/// always converges (to about 1e-13 relative; a few 1e-13 for df near 1e4,
/// where the incomplete beta loses some digits). Examples:
/// `t_{0.975, 10} = 2.2281`, `t_{0.995, 19} = 2.8609`.
///
/// `-inf` / `+inf` at `p = 0` / `1`; `NaN` for `p` outside `[0, 1]` or
/// `df <= 0`.
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    if p.is_nan() || df.is_nan() || !(0.0..=1.0).contains(&p) || df <= 0.0 {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    if p == 0.5 {
        return 0.0;
    }
    if p < 0.5 {
        return -student_t_upper_quantile(p, df);
    }
    // 1 - p is exact for p in (0.5, 1).
    student_t_upper_quantile(1.0 - p, df)
}

/// Above this many degrees of freedom the t tail comes from Hill's
/// asymptotic transformation and the t quantile from the Cornish-Fisher
/// expansion alone (both accurate to about 1e-14 there).
const LARGE_DF: f64 = 1e4;

/// The `t > 0` with `P(T > t) = alpha`, for `0 < alpha < 0.5`.
fn student_t_upper_quantile(alpha: f64, df: f64) -> f64 {
    if df == 1.0 {
        // Cauchy: P(T > t) = 1/2 - atan(t)/pi, so t = tan(pi (1/2 - alpha))
        // = 1 / tan(pi alpha), which keeps full precision for tiny alpha.
        return 1.0 / (PI * alpha).tan();
    }
    if df == 2.0 {
        // P(T > t) = (1 - t / sqrt(2 + t^2)) / 2, so
        // t = (1 - 2 alpha) / sqrt(2 alpha (1 - alpha)).
        return (1.0 - 2.0 * alpha) / (2.0 * alpha * (1.0 - alpha)).sqrt();
    }
    // Cornish-Fisher expansion in 1/df around the normal quantile z
    // (Abramowitz and Stegun 26.7.5): the start for Newton, and the answer
    // itself for large df, where the omitted terms are below 1e-14.
    let z = -normal_quantile(alpha);
    if df.is_infinite() {
        return z;
    }
    let z2 = z * z;
    let g1 = z * (z2 + 1.0) / 4.0;
    let g2 = z * ((5.0 * z2 + 16.0) * z2 + 3.0) / 96.0;
    let g3 = z * (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) / 384.0;
    let g4 = z * ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) / 92160.0;
    let mut t = z + (g1 + (g2 + (g3 + g4 / df) / df) / df) / df;
    if df > LARGE_DF && z < 10.0 {
        return t;
    }

    // Bracket [lo, hi] with tail(lo) > alpha > tail(hi).
    let f = |t: f64| student_t_upper(t, df) - alpha;
    let mut lo = 0.0_f64;
    let mut hi = t.max(1.0);
    while f(hi) > 0.0 {
        lo = hi;
        hi *= 2.0;
        if !hi.is_finite() {
            return f64::INFINITY;
        }
    }
    if !(t > lo && t < hi) {
        t = 0.5 * (lo + hi);
    }
    for _ in 0..200 {
        let v = f(t);
        if v == 0.0 {
            return t;
        }
        if v > 0.0 {
            lo = t;
        } else {
            hi = t;
        }
        // d/dt tail(t) = -pdf(t).
        let step = v / student_t_pdf(t, df);
        let mut next = t + step;
        if !(next > lo && next < hi) {
            next = 0.5 * (lo + hi);
        }
        if (next - t).abs() <= 1e-15 * t.abs() || hi - lo <= 4.0 * f64::EPSILON * hi {
            return next;
        }
        t = next;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_rel(actual: f64, expected: f64, rel: f64, what: &str) {
        assert!(
            (actual - expected).abs() <= rel * expected.abs(),
            "{what}: got {actual}, expected {expected} (rel {rel})"
        );
    }

    #[test]
    fn normal_quantile_reference_values() {
        assert_rel(normal_quantile(0.975), 1.959_963_984_540_054, 1e-14, "0.975");
        assert_rel(normal_quantile(0.995), 2.575_829_303_548_901, 1e-14, "0.995");
        assert_rel(normal_quantile(0.9995), 3.290_526_731_491_926, 1e-13, "0.9995");
        assert_rel(normal_quantile(0.025), -1.959_963_984_540_054, 1e-14, "0.025");
        assert_rel(normal_quantile(0.841_344_746_068_543), 1.0, 1e-12, "1 sigma");
        assert_eq!(normal_quantile(0.5), 0.0);
        assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(normal_quantile(1.0), f64::INFINITY);
        assert!(normal_quantile(1.5).is_nan());
        assert!(normal_quantile(f64::NAN).is_nan());
        // Far tail: Phi(-10) = 7.619853024160527e-24.
        assert_rel(normal_quantile(7.619_853_024_160_527e-24), -10.0, 1e-12, "-10");
    }

    #[test]
    fn normal_quantile_round_trips() {
        for k in 1..2000 {
            let p = f64::from(k) / 2000.0;
            let x = normal_quantile(p);
            assert!((normal_cdf(x) - p).abs() <= 1e-15 * p.max(1e-300) + 2e-16, "p={p}");
        }
        for e in 3..300 {
            let p = 10f64.powi(-e);
            let x = normal_quantile(p);
            assert_rel(normal_cdf(x), p, 1e-12, "tail round trip");
        }
    }

    #[test]
    fn student_t_quantile_table_values() {
        let table = [
            (0.975, 1.0, 12.7062),
            (0.975, 10.0, 2.2281),
            (0.995, 19.0, 2.8609),
            (0.995, 29.0, 2.7564),
            (0.9995, 9.0, 4.7809),
            (0.975, 2.0, 4.3027),
            (0.975, 3.0, 3.1824),
            (0.975, 5.0, 2.5706),
            (0.975, 30.0, 2.0423),
            (0.95, 4.0, 2.1318),
            (0.9995, 1.0, 636.6192),
            (0.9995, 3.0, 12.9240),
        ];
        for (p, df, expected) in table {
            let t = student_t_quantile(p, df);
            // The table has 4 decimals: within half a unit of the last digit.
            assert!((t - expected).abs() <= 5e-5 + 1e-12, "t({p}, {df}) = {t}, expected {expected}");
            assert_rel(t, expected, 1e-3, "relative");
        }
        // Large df approaches the normal quantile.
        assert_rel(student_t_quantile(0.995, 1e7), 2.5758, 1e-4, "df=1e7");
        assert_rel(student_t_quantile(0.995, 1e9), normal_quantile(0.995), 1e-8, "df=1e9");
        assert_rel(student_t_quantile(0.995, f64::INFINITY), normal_quantile(0.995), 1e-15, "df=inf");
    }

    #[test]
    fn student_t_quantile_high_precision() {
        // 17-digit references computed with mpmath (40-digit arithmetic).
        let cases = [
            (0.975, 10.0, 2.228_138_851_986_275),
            (0.9995, 9.0, 4.780_912_585_931_139),
            (0.995, 29.0, 2.756_385_903_670_605_5),
            (0.9, 1.5, 2.196_398_417_565_537_4),
            // Lower tail: the f64 nearest 0.999999 is off by ~1e-10 in 1 - p.
            (1e-6, 4.0, -41.577_854_150_450_975),
            (0.975, 1000.0, 1.962_339_080_826_408_5),
            (0.95, 200.0, 1.652_508_100_910_877_5),
        ];
        for (p, df, expected) in cases {
            assert_rel(student_t_quantile(p, df), expected, 1e-13, "mpmath");
        }
    }

    #[test]
    fn student_t_quantile_round_trips_and_is_monotone() {
        let dfs = [1.0, 1.5, 2.0, 3.0, 4.0, 7.0, 10.0, 29.0, 100.0, 1000.0, 1e4, 9e4, 2e5, 1e7];
        let ps = [
            0.0005, 0.001, 0.01, 0.025, 0.05, 0.1, 0.3, 0.5, 0.6, 0.9, 0.95, 0.975, 0.99, 0.995, 0.999, 0.9995,
            0.999_999,
        ];
        for &df in &dfs {
            let mut prev = f64::NEG_INFINITY;
            for &p in &ps {
                let t = student_t_quantile(p, df);
                assert!(t > prev, "monotone df={df} p={p}");
                prev = t;
                let back = student_t_cdf(t, df);
                let tail = p.min(1.0 - p);
                assert!((back - p).abs() <= 1e-10 * tail, "df={df} p={p}: cdf({t}) = {back}");
                // Symmetry.
                assert_rel(student_t_quantile(1.0 - p, df), -t, 1e-9, "symmetry");
            }
        }
        // The t quantile is always wider than the normal one, decreasing in df.
        let mut prev = f64::INFINITY;
        for df in 1..=200 {
            let t = student_t_quantile(0.975, f64::from(df));
            assert!(t < prev && t > normal_quantile(0.975));
            prev = t;
        }
    }

    #[test]
    fn student_t_large_df_branches_agree() {
        // Newton on the incomplete beta (df <= 1e4) and the Cornish-Fisher
        // expansion (df > 1e4) agree across the switch; so do the two tails.
        for &p in &[0.9, 0.975, 0.995, 0.9995, 0.999_999] {
            let below = student_t_quantile(p, LARGE_DF);
            let above = student_t_quantile(p, LARGE_DF * (1.0 + 1e-12));
            assert_rel(above, below, 1e-12, "switch");
        }
        for &t in &[-8.0, -3.0, -1.0, 0.3, 2.0, 4.0] {
            let below = student_t_cdf(t, LARGE_DF);
            let above = student_t_cdf(t, LARGE_DF * (1.0 + 1e-12));
            assert_rel(above, below, 1e-11, "cdf switch");
        }
        // 40-digit reference values (mpmath): P(T <= -3.090233121180912) at
        // df = 1e7 and the 0.999 quantile at df = 1e5.
        assert_rel(student_t_cdf(-3.090_233_121_180_912, 1e7), 0.000_999_999_999_999_999_4, 1e-13, "cdf 1e7");
        assert_rel(student_t_quantile(0.999, 1e5), 3.090_313_809_427_237, 1e-13, "q 1e5");
        // The CDF tends to the normal CDF.
        for &x in &[-4.0, -1.0, 0.5, 2.5758, 6.0] {
            assert_rel(student_t_cdf(x, 1e12), normal_cdf(x), 1e-9, "cdf df=1e12");
        }
    }

    #[test]
    fn student_t_cdf_closed_forms() {
        for &t in &[-30.0, -2.0, -0.3, 0.0, 0.7, 1.0, 5.0, 100.0] {
            let cauchy = 0.5 + f64::atan(t) / PI;
            assert_rel(student_t_cdf(t, 1.0), cauchy, 1e-13, "df=1");
            let df2 = 0.5 + 0.5 * t / (2.0 + t * t).sqrt();
            assert_rel(student_t_cdf(t, 2.0), df2, 1e-13, "df=2");
        }
        // Closed-form quantiles stay accurate deep in the tail.
        assert_rel(student_t_quantile(1e-12, 1.0), -1.0 / (PI * 1e-12), 1e-12, "cauchy");
        let a: f64 = 1e-12;
        let t2 = (1.0 - 2.0 * a) / (2.0 * a * (1.0 - a)).sqrt();
        assert_rel(student_t_quantile(1.0 - 0.25, 2.0), 0.816_496_580_927_726, 1e-14, "df2");
        assert_rel(student_t_cdf(-t2, 2.0), a, 1e-9, "df2 tail");
        assert_eq!(student_t_cdf(f64::INFINITY, 3.0), 1.0);
        assert!(student_t_cdf(1.0, 0.0).is_nan());
        assert!(student_t_quantile(0.9, -1.0).is_nan());
    }

    #[test]
    fn mean_ci_basic() {
        let xs = [1.0, 2.0, 3.0, 4.0, 5.0];
        let e = mean_ci(&xs, 0.95);
        assert_eq!(e.n, 5);
        assert_eq!(e.confidence, 0.95);
        assert_rel(e.mean, 3.0, 1e-15, "mean");
        // s = sqrt(2.5), t_{0.975,4} = 2.776445105.
        let expected = 2.776_445_105_197_793 * 2.5f64.sqrt() / 5f64.sqrt();
        assert_rel(e.half_width, expected, 1e-10, "half width");
        assert_rel(e.lo(), 3.0 - expected, 1e-12, "lo");
        assert_rel(e.hi(), 3.0 + expected, 1e-12, "hi");
        assert!(e.contains(3.0) && e.contains(1.5) && !e.contains(5.0));
        assert!(e.is_informative());
        assert_eq!(format!("{e:.3}"), "3.000 ± 1.963 (95 %, n = 5)");
        let e999 = mean_ci(&xs, 0.999);
        let t = student_t_quantile(0.9995, 4.0);
        assert_rel(e999.half_width, t * 2.5f64.sqrt() / 5f64.sqrt(), 1e-12, "0.999");
        // Higher confidence -> wider interval.
        assert!(mean_ci(&xs, 0.99).half_width > e.half_width);
        // Constant samples: zero width.
        let c = mean_ci(&[7.0; 10], 0.95);
        assert_eq!(c.half_width, 0.0);
        assert!(c.contains(7.0));
    }

    #[test]
    fn mean_ci_is_shift_stable() {
        // Large offsets must not destroy the variance (two-pass algorithm).
        let xs: Vec<f64> = (0..10).map(|i| 1e9 + f64::from(i)).collect();
        let ys: Vec<f64> = (0..10).map(f64::from).collect();
        let a = mean_ci(&xs, 0.95);
        let b = mean_ci(&ys, 0.95);
        assert_rel(a.half_width, b.half_width, 1e-9, "shift");
    }

    #[test]
    fn degenerate_samples_do_not_panic() {
        let e = mean_ci(&[], 0.95);
        assert!(e.mean.is_nan() && e.half_width.is_nan());
        assert_eq!(e.n, 0);
        assert!(!e.contains(0.0));
        assert!(!e.is_informative());

        let e = mean_ci(&[4.2], 0.95);
        assert_eq!(e.mean, 4.2);
        assert_eq!(e.half_width, f64::INFINITY);
        assert!(e.contains(1e300));
        assert!(!e.is_informative());
        assert!(!e.excludes_zero());

        let e = mean_ci(&[1.0, 2.0], 1.5);
        assert!(e.half_width.is_nan());
        assert_eq!(e.mean, 1.5);

        let d = diff_ci(&[], &[], 0.95);
        assert!(d.mean.is_nan());
        let d = diff_ci(&[1.0], &[3.0], 0.95);
        assert_eq!(d.mean, 2.0);
        assert_eq!(d.half_width, f64::INFINITY);
    }

    #[test]
    #[should_panic(expected = "paired")]
    fn diff_ci_rejects_unpaired() {
        let _ = diff_ci(&[1.0, 2.0], &[1.0], 0.95);
    }

    #[test]
    fn diff_ci_uses_paired_differences() {
        // b = a + 1 + small noise: large shared variance cancels out.
        let a = [10.0, 50.0, 20.0, 80.0, 35.0, 60.0];
        let noise = [0.01, -0.02, 0.0, 0.02, -0.01, 0.0];
        let b: Vec<f64> = a.iter().zip(noise).map(|(x, e)| x + 1.0 + e).collect();
        let d = diff_ci(&a, &b, 0.95);
        assert_rel(d.mean, 1.0, 1e-12, "mean diff");
        assert!(d.half_width < 0.05, "{d:?}");
        assert!(d.excludes_zero());
        // Reversed order flips the sign.
        let r = diff_ci(&b, &a, 0.95);
        assert_rel(r.mean, -1.0, 1e-12, "reversed");
        assert_rel(r.half_width, d.half_width, 1e-12, "reversed hw");
        // Unpaired intervals would overlap massively.
        let (ea, eb) = (mean_ci(&a, 0.95), mean_ci(&b, 0.95));
        assert!(ea.hi() > eb.lo());
    }

    #[test]
    fn mean_ci_covers_at_nominal_rate() {
        // Deterministic coverage check with a simple LCG-driven normal sample
        // (Box-Muller); 2000 intervals of 5 samples each at 95 %.
        let mut state: u64 = 0x1234_5678_9abc_def0;
        let mut uniform = move || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let mut covered = 0;
        let trials = 2000;
        for _ in 0..trials {
            let xs: Vec<f64> = (0..5)
                .map(|_| {
                    let (u1, u2) = (uniform(), uniform());
                    (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
                })
                .collect();
            if mean_ci(&xs, 0.95).contains(0.0) {
                covered += 1;
            }
        }
        let rate = f64::from(covered) / f64::from(trials);
        // Binomial sd at 0.95 with 2000 trials is about 0.005.
        assert!((rate - 0.95).abs() < 0.02, "coverage {rate}");
    }
}
