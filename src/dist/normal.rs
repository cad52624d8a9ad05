//! The standard normal distribution's CDF and quantile, which the
//! scenario's normal and lognormal forms need (model stage) and the
//! Student-t intervals of `validation::stats` build on.

use std::f64::consts::{PI, SQRT_2};

/// The standard normal CDF, `Phi(x) = erfc(-x / sqrt(2)) / 2`, accurate in
/// both tails (uses `libm::erfc`).
pub(crate) fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / SQRT_2)
}

/// The standard normal quantile (inverse CDF) `Phi^{-1}(p)` for `p` in
/// `[0, 1]`: `-inf` at 0, `+inf` at 1, `NaN` outside.
///
/// Acklam's rational approximation (relative error below 1.2e-9), refined by
/// one Halley step on `Phi(x) - p`, which brings it to about full double
/// precision. Evaluated on the lower half and mirrored, so upper-tail
/// quantiles are as accurate as `p` itself. Example: `p = 0.975` gives
/// 1.959964.
pub(crate) fn normal_quantile(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    if p > 0.5 {
        // 1 - p is exact for p in (0.5, 1).
        return -normal_quantile_lower(1.0 - p);
    }
    normal_quantile_lower(p)
}

/// Evaluates a polynomial with coefficients from the highest degree down.
fn horner(coeffs: &[f64], x: f64) -> f64 {
    coeffs.iter().fold(0.0, |acc, &c| acc * x + c)
}

/// The normal quantile for `0 < p <= 0.5`.
fn normal_quantile_lower(p: f64) -> f64 {
    // Coefficients of Acklam's approximation (central and tail regions).
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 6] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
        1.0,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 5] =
        [7.784_695_709_041_462e-3, 3.224_671_290_700_398e-1, 2.445_134_137_142_996, 3.754_408_661_907_416, 1.0];
    const P_LOW: f64 = 0.02425;

    let x = if p < P_LOW {
        let q = (-2.0 * p.ln()).sqrt();
        horner(&C, q) / horner(&D, q)
    } else {
        let q = p - 0.5;
        let r = q * q;
        q * horner(&A, r) / horner(&B, r)
    };
    // One Halley step on f(x) = Phi(x) - p, f' = phi(x), f'' = -x phi(x).
    let e = normal_cdf(x) - p;
    let u = e * (2.0 * PI).sqrt() * (0.5 * x * x).exp();
    x - u / (1.0 + 0.5 * x * u)
}
