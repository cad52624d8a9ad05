//! Time distributions: server service times, client think times and network
//! link latencies.
//!
//! There are two layers. [`DistSpec`] is what a user writes in a scenario file
//! (`{exponential: 10ms}`, `{lognormal: {mean: 40ms, p99: 250ms}}`, ...): plain
//! data that deserialises with source locations intact and serialises back to
//! the same form. [`DistSpec::compile`] checks it and turns it into a [`Dist`],
//! the sampler the simulator calls tens of millions of times per second: every
//! parameter is precomputed, sampling never allocates, and the analytic
//! moments the theory checks need (mean, E[S²], quantiles) come with it.
//!
//! All samples are whole nanoseconds, rounded to nearest, matching the
//! simulator's integer virtual time.

pub(crate) mod normal;

use std::f64::consts::PI;
use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand_distr::{Distribution, Exp1, Gamma, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::rng::{SimRng, below, unit_f64};
use crate::time::round_ns;
use crate::units::{Duration, Percent};
use normal::{normal_cdf, normal_quantile};

const NS_PER_SEC: f64 = 1e9;
const NS_PER_MS: f64 = 1e6;

/// The 99% quantile of the standard normal distribution.
const Z99: f64 = 2.326_347_874_040_841;

/// How far mixture weights may stray from adding up to 100% (0.01%).
const MIXTURE_TOLERANCE: f64 = 1e-4;

// ---------------------------------------------------------------------------
// What the user writes
// ---------------------------------------------------------------------------

/// A time distribution as written in a scenario file.
///
/// Each form is a single-key map naming the distribution:
///
/// ```yaml
/// {constant: 10ms}
/// {exponential: 10ms}                      # the mean
/// {uniform: {min: 5ms, max: 15ms}}
/// {normal: {mean: 2ms, stddev: 0.5ms}}     # truncated at zero
/// {lognormal: {mean: 40ms, p99: 250ms}}    # or {median, p99} or {mu, sigma}
/// {erlang: {k: 4, mean: 10ms}}
/// {gamma: {shape: 2.5, mean: 10ms}}
/// {mixture: [{weight: 95%, dist: {exponential: 5ms}},
///            {weight: 5%, dist: {constant: 200ms}}]}
/// {empirical: {file: samples.csv, column: latency_ms, unit: ms}}
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum DistSpec {
    /// Always the same time. Zero is allowed (e.g. a link with no latency).
    Constant(Duration),
    /// Exponential with the given mean.
    Exponential(Duration),
    /// Uniform between `min` and `max`.
    Uniform(UniformSpec),
    /// Normal, truncated at zero by resampling (meant for network latency).
    Normal(NormalSpec),
    /// Lognormal, given by mean and p99, median and p99, or mu and sigma.
    Lognormal(LognormalSpec),
    /// Erlang: the sum of `k` exponential phases, with the given total mean.
    Erlang(ErlangSpec),
    /// Gamma with the given shape and mean.
    Gamma(GammaSpec),
    /// A weighted choice between distributions; weights add up to 100%.
    Mixture(Vec<MixtureComponent>),
    /// Observed times read from a CSV file, resampled uniformly (bootstrap).
    Empirical(EmpiricalSpec),
}

/// `{uniform: {min: 5ms, max: 15ms}}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UniformSpec {
    /// The shortest time.
    pub min: Duration,
    /// The longest time (at least `min`).
    pub max: Duration,
}

/// `{normal: {mean: 2ms, stddev: 0.5ms}}`: the mean and standard deviation of
/// the normal before truncation at zero.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NormalSpec {
    /// Mean before truncation; more than zero.
    pub mean: Duration,
    /// Standard deviation before truncation; more than zero.
    pub stddev: Duration,
}

/// `{lognormal: ...}`: exactly one of the pairs `mean` + `p99`,
/// `median` + `p99`, or `mu` + `sigma`, where `mu` and `sigma` are the mean and
/// standard deviation of ln(time in milliseconds).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LognormalSpec {
    /// Mean time (with `p99`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<Duration>,
    /// Median time (with `p99`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median: Option<Duration>,
    /// 99th percentile (with `mean` or `median`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99: Option<Duration>,
    /// Mean of ln(time in ms) (with `sigma`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mu: Option<f64>,
    /// Standard deviation of ln(time in ms) (with `mu`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigma: Option<f64>,
}

/// `{erlang: {k: 4, mean: 10ms}}`: `k` phases, total mean `mean`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErlangSpec {
    /// Number of exponential phases, 1 or more.
    pub k: u32,
    /// Mean of the whole (sum of the phases).
    pub mean: Duration,
}

/// `{gamma: {shape: 2.5, mean: 10ms}}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GammaSpec {
    /// Shape parameter, more than zero (1 is exponential).
    pub shape: f64,
    /// Mean, more than zero.
    pub mean: Duration,
}

/// One branch of a mixture: `{weight: 5%, dist: {constant: 200ms}}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MixtureComponent {
    /// Probability of drawing from this branch.
    pub weight: Percent,
    /// The branch's distribution (mixtures may nest).
    pub dist: DistSpec,
}

/// `{empirical: {file: samples.csv, column: latency_ms, unit: ms}}`.
///
/// The file is a CSV with a header row; `file` is relative to the scenario
/// file's directory. `column` defaults to the first column and `unit` to `ms`.
/// Blank cells are skipped, so columns of different lengths can share a file.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmpiricalSpec {
    /// CSV path, relative to the scenario file's directory.
    pub file: PathBuf,
    /// Header name of the column to read; the first column if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// Unit of the numbers in the column.
    #[serde(default)]
    pub unit: TimeUnit,
}

/// The unit of the numbers in an empirical CSV column.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TimeUnit {
    /// Nanoseconds.
    Ns,
    /// Microseconds.
    Us,
    /// Milliseconds (the default).
    #[default]
    Ms,
    /// Seconds.
    S,
}

impl TimeUnit {
    /// Nanoseconds in one of this unit.
    pub fn nanos(self) -> f64 {
        match self {
            TimeUnit::Ns => 1.0,
            TimeUnit::Us => 1e3,
            TimeUnit::Ms => 1e6,
            TimeUnit::S => 1e9,
        }
    }
}

impl fmt::Display for TimeUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeUnit::Ns => "ns",
            TimeUnit::Us => "us",
            TimeUnit::Ms => "ms",
            TimeUnit::S => "s",
        })
    }
}

// ---------------------------------------------------------------------------
// The compiled sampler
// ---------------------------------------------------------------------------

/// A compiled time distribution: samples whole nanoseconds and knows its own
/// moments. Cheap to clone (mixtures and empirical data are shared).
#[derive(Clone, Debug)]
pub struct Dist {
    kind: Kind,
}

/// Internal representation; every length is in nanoseconds.
#[derive(Clone, Debug)]
enum Kind {
    Constant(u64),
    Exponential {
        mean_ns: f64,
    },
    Uniform {
        min_ns: f64,
        width_ns: f64,
    },
    /// Normal(mean, sd) conditioned on being >= 0.
    TruncatedNormal {
        mean_ns: f64,
        sd_ns: f64,
    },
    /// exp(mu + sigma Z) nanoseconds.
    Lognormal {
        mu: f64,
        sigma: f64,
    },
    /// Behind a pointer, which keeps every `Dist` at 24 bytes: a server
    /// holds two, and a run may have a million servers.
    Gamma(Arc<GammaKind>),
    Mixture(Arc<[Component]>),
    Empirical(Arc<Empirical>),
}

/// `scale_ns` times a unit-scale gamma (Erlang is the integer-shape case).
#[derive(Debug)]
struct GammaKind {
    unit: Gamma<f64>,
    shape: f64,
    scale_ns: f64,
}

#[derive(Clone, Debug)]
struct Component {
    /// Cumulative probability up to and including this component; the last
    /// is exactly 1.
    cum: f64,
    weight: f64,
    dist: Dist,
}

#[derive(Debug)]
struct Empirical {
    /// Observed values, sorted ascending.
    sorted_ns: Box<[u64]>,
    mean_ns: f64,
    m2_ns2: f64,
}

impl Empirical {
    fn new(mut values: Vec<u64>) -> Empirical {
        values.sort_unstable();
        let n = values.len() as f64;
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for &v in &values {
            let x = v as f64;
            s1 += x;
            s2 += x * x;
        }
        Empirical { sorted_ns: values.into_boxed_slice(), mean_ns: s1 / n, m2_ns2: s2 / n }
    }
}

impl Dist {
    /// A distribution that always gives `ns` nanoseconds.
    pub fn constant(ns: u64) -> Dist {
        Dist { kind: Kind::Constant(ns) }
    }

    /// Draws one time, in whole nanoseconds. The two commonest forms are
    /// inlined into the hot path; the others are a call away.
    #[inline(always)]
    pub fn sample(&self, rng: &mut SimRng) -> u64 {
        match &self.kind {
            Kind::Constant(ns) => *ns,
            Kind::Exponential { mean_ns } => {
                let e: f64 = Exp1.sample(rng);
                round_ns(mean_ns * e)
            }
            _ => self.sample_other(rng),
        }
    }

    #[inline(never)]
    fn sample_other(&self, rng: &mut SimRng) -> u64 {
        match &self.kind {
            Kind::Constant(ns) => *ns,
            Kind::Exponential { mean_ns } => {
                let e: f64 = Exp1.sample(rng);
                round_ns(mean_ns * e)
            }
            Kind::Uniform { min_ns, width_ns } => round_ns(min_ns + width_ns * unit_f64(rng)),
            Kind::TruncatedNormal { mean_ns, sd_ns } => loop {
                let z: f64 = StandardNormal.sample(rng);
                let x = mean_ns + sd_ns * z;
                if x >= 0.0 {
                    break round_ns(x);
                }
            },
            Kind::Lognormal { mu, sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                round_ns((mu + sigma * z).exp())
            }
            Kind::Gamma(g) => round_ns(g.scale_ns * g.unit.sample(rng)),
            Kind::Mixture(components) => {
                let u = unit_f64(rng);
                for c in components.iter() {
                    if u < c.cum {
                        return c.dist.sample(rng);
                    }
                }
                // Unreachable: the last cumulative weight is exactly 1 > u.
                components[components.len() - 1].dist.sample(rng)
            }
            Kind::Empirical(e) => {
                let i = below(rng, e.sorted_ns.len() as u32);
                e.sorted_ns[i as usize]
            }
        }
    }

    /// The mean, in seconds.
    pub fn mean_secs(&self) -> f64 {
        self.mean_ns() / NS_PER_SEC
    }

    /// The second moment E[S²], in seconds squared (what the
    /// Pollaczek-Khinchine formula needs).
    pub fn second_moment_secs2(&self) -> f64 {
        self.second_moment_ns2() / (NS_PER_SEC * NS_PER_SEC)
    }

    fn mean_ns(&self) -> f64 {
        match &self.kind {
            Kind::Constant(ns) => *ns as f64,
            Kind::Exponential { mean_ns } => *mean_ns,
            Kind::Uniform { min_ns, width_ns } => min_ns + width_ns / 2.0,
            Kind::TruncatedNormal { mean_ns, sd_ns } => mean_ns + sd_ns * inverse_mills(mean_ns / sd_ns),
            Kind::Lognormal { mu, sigma } => (mu + sigma * sigma / 2.0).exp(),
            Kind::Gamma(g) => g.shape * g.scale_ns,
            Kind::Mixture(cs) => cs.iter().map(|c| c.weight * c.dist.mean_ns()).sum(),
            Kind::Empirical(e) => e.mean_ns,
        }
    }

    fn second_moment_ns2(&self) -> f64 {
        match &self.kind {
            Kind::Constant(ns) => (*ns as f64).powi(2),
            Kind::Exponential { mean_ns } => 2.0 * mean_ns * mean_ns,
            Kind::Uniform { min_ns, width_ns } => {
                let (a, b) = (*min_ns, min_ns + width_ns);
                (a * a + a * b + b * b) / 3.0
            }
            Kind::TruncatedNormal { mean_ns, sd_ns } => {
                // E[X²] = mu² + sd² + mu sd lambda for truncation at zero.
                let lambda = inverse_mills(mean_ns / sd_ns);
                mean_ns * mean_ns + sd_ns * sd_ns + mean_ns * sd_ns * lambda
            }
            Kind::Lognormal { mu, sigma } => (2.0 * mu + 2.0 * sigma * sigma).exp(),
            Kind::Gamma(g) => g.shape * (g.shape + 1.0) * g.scale_ns * g.scale_ns,
            Kind::Mixture(cs) => cs.iter().map(|c| c.weight * c.dist.second_moment_ns2()).sum(),
            Kind::Empirical(e) => e.m2_ns2,
        }
    }

    /// The `q`-quantile in seconds, where a closed form exists (constant,
    /// exponential, uniform, truncated normal, lognormal, empirical); `None`
    /// for gamma, Erlang and mixtures, or when `q` is outside [0, 1].
    ///
    /// The empirical quantile is the smallest observed value with at least a
    /// fraction `q` of the observations at or below it (the inverse of the
    /// distribution that bootstrap sampling draws from).
    pub fn quantile_secs(&self, q: f64) -> Option<f64> {
        if !(0.0..=1.0).contains(&q) {
            return None;
        }
        let ns = match &self.kind {
            Kind::Constant(ns) => *ns as f64,
            Kind::Exponential { mean_ns } => -mean_ns * (-q).ln_1p(),
            Kind::Uniform { min_ns, width_ns } => min_ns + width_ns * q,
            Kind::TruncatedNormal { mean_ns, sd_ns } => {
                let below_zero = normal_cdf(-mean_ns / sd_ns);
                let p = below_zero + q * (1.0 - below_zero);
                (mean_ns + sd_ns * normal_quantile(p)).max(0.0)
            }
            Kind::Lognormal { mu, sigma } => (mu + sigma * normal_quantile(q)).exp(),
            Kind::Gamma(_) | Kind::Mixture(_) => return None,
            Kind::Empirical(e) => {
                let n = e.sorted_ns.len();
                let rank = (q * n as f64).ceil() as usize;
                e.sorted_ns[rank.clamp(1, n) - 1] as f64
            }
        };
        Some(ns / NS_PER_SEC)
    }

    /// This distribution with every time multiplied by `factor` (3.0 for
    /// "service is three times slower").
    ///
    /// # Panics
    /// If `factor` is negative, infinite or NaN.
    pub fn scaled(&self, factor: f64) -> Dist {
        assert!(factor.is_finite() && factor >= 0.0, "scale factor {factor} must be finite and not negative");
        if factor == 0.0 {
            return Dist::constant(0);
        }
        let kind = match &self.kind {
            Kind::Constant(ns) => Kind::Constant(round_ns(*ns as f64 * factor)),
            Kind::Exponential { mean_ns } => Kind::Exponential { mean_ns: mean_ns * factor },
            Kind::Uniform { min_ns, width_ns } => {
                Kind::Uniform { min_ns: min_ns * factor, width_ns: width_ns * factor }
            }
            Kind::TruncatedNormal { mean_ns, sd_ns } => {
                Kind::TruncatedNormal { mean_ns: mean_ns * factor, sd_ns: sd_ns * factor }
            }
            Kind::Lognormal { mu, sigma } => Kind::Lognormal { mu: mu + factor.ln(), sigma: *sigma },
            Kind::Gamma(g) => Kind::Gamma(Arc::new(GammaKind { scale_ns: g.scale_ns * factor, ..**g })),
            Kind::Mixture(cs) => Kind::Mixture(
                cs.iter().map(|c| Component { cum: c.cum, weight: c.weight, dist: c.dist.scaled(factor) }).collect(),
            ),
            Kind::Empirical(e) => Kind::Empirical(Arc::new(Empirical::new(
                e.sorted_ns.iter().map(|&v| round_ns(v as f64 * factor)).collect(),
            ))),
        };
        Dist { kind }
    }

    /// `Some(ns)` if every sample is the same `ns` nanoseconds.
    pub fn is_constant(&self) -> Option<u64> {
        match self.kind {
            Kind::Constant(ns) => Some(ns),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// Compilation: checking what the user wrote
// ---------------------------------------------------------------------------

impl DistSpec {
    /// Checks the parameters and builds the sampler. `base_dir` is the
    /// directory of the scenario file, which empirical CSV paths are relative
    /// to. The error says what is wrong and what was expected; CSV problems
    /// are reported as `file:line:column: ...`.
    pub fn compile(&self, base_dir: &Path) -> Result<Dist, String> {
        self.compile_within(base_dir, crate::limits::Limit::FileBytes.default_value())
    }

    /// [`DistSpec::compile`], refusing a samples file over `max_file_bytes`
    /// (the `file_bytes` limit) before reading it.
    pub fn compile_within(&self, base_dir: &Path, max_file_bytes: u64) -> Result<Dist, String> {
        let kind = match self {
            DistSpec::Constant(d) => Kind::Constant(d.nanos()),
            DistSpec::Exponential(mean) => {
                positive("exponential", "mean", *mean, "{exponential: 10ms}")?;
                Kind::Exponential { mean_ns: mean.nanos() as f64 }
            }
            DistSpec::Uniform(UniformSpec { min, max }) => {
                if min > max {
                    return Err(format!(
                        "uniform min {min} is more than max {max}: expected min <= max, \
                         like {{uniform: {{min: 5ms, max: 15ms}}}}"
                    ));
                }
                if min == max {
                    Kind::Constant(min.nanos())
                } else {
                    Kind::Uniform { min_ns: min.nanos() as f64, width_ns: (max.nanos() - min.nanos()) as f64 }
                }
            }
            DistSpec::Normal(NormalSpec { mean, stddev }) => {
                let example = "{normal: {mean: 2ms, stddev: 0.5ms}}";
                positive("normal", "mean", *mean, example)?;
                if stddev.nanos() == 0 {
                    return Err(format!(
                        "normal stddev is 0: expected a standard deviation greater than zero, \
                         like {example} (for a fixed time use {{constant: {mean}}})"
                    ));
                }
                Kind::TruncatedNormal { mean_ns: mean.nanos() as f64, sd_ns: stddev.nanos() as f64 }
            }
            DistSpec::Lognormal(spec) => compile_lognormal(spec)?,
            DistSpec::Erlang(ErlangSpec { k, mean }) => {
                if *k == 0 {
                    return Err("erlang k is 0: expected the number of phases, a whole number 1 or more, \
                         like {erlang: {k: 4, mean: 10ms}}"
                        .to_string());
                }
                positive("erlang", "mean", *mean, "{erlang: {k: 4, mean: 10ms}}")?;
                gamma_kind(f64::from(*k), *mean)?
            }
            DistSpec::Gamma(GammaSpec { shape, mean }) => {
                if !(shape.is_finite() && *shape > 0.0) {
                    return Err(format!(
                        "gamma shape is {shape}: expected a number greater than zero, \
                         like {{gamma: {{shape: 2.5, mean: 10ms}}}}"
                    ));
                }
                positive("gamma", "mean", *mean, "{gamma: {shape: 2.5, mean: 10ms}}")?;
                gamma_kind(*shape, *mean)?
            }
            DistSpec::Mixture(components) => compile_mixture(components, base_dir, max_file_bytes)?,
            DistSpec::Empirical(spec) => {
                Kind::Empirical(Arc::new(Empirical::new(load_empirical(spec, base_dir, max_file_bytes)?)))
            }
        };
        Ok(Dist { kind })
    }
}

fn positive(dist: &str, field: &str, value: Duration, example: &str) -> Result<(), String> {
    if value.nanos() == 0 {
        return Err(format!("{dist} {field} is 0: expected a {field} greater than zero, like {example}"));
    }
    Ok(())
}

fn gamma_kind(shape: f64, mean: Duration) -> Result<Kind, String> {
    let unit = Gamma::new(shape, 1.0).map_err(|e| format!("gamma shape {shape}: {e}"))?;
    Ok(Kind::Gamma(Arc::new(GammaKind { unit, shape, scale_ns: mean.nanos() as f64 / shape })))
}

fn compile_lognormal(spec: &LognormalSpec) -> Result<Kind, String> {
    const FORMS: &str = "exactly one of these pairs: `mean` and `p99` \
        ({lognormal: {mean: 40ms, p99: 250ms}}), `median` and `p99` \
        ({lognormal: {median: 30ms, p99: 250ms}}), or `mu` and `sigma` of \
        ln(time in milliseconds) ({lognormal: {mu: 3.2, sigma: 0.6}})";
    let LognormalSpec { mean, median, p99, mu, sigma } = *spec;
    let (mu_ms, sigma) = match (mean, median, p99, mu, sigma) {
        (Some(mean), None, Some(p99), None, None) => {
            positive("lognormal", "mean", mean, "{lognormal: {mean: 40ms, p99: 250ms}}")?;
            if p99 <= mean {
                return Err(format!(
                    "lognormal p99 {p99} is not more than the mean {mean}: \
                     expected a p99 greater than the mean"
                ));
            }
            let ratio = p99.nanos() as f64 / mean.nanos() as f64;
            let max_ratio = (Z99 * Z99 / 2.0).exp();
            if ratio > max_ratio {
                return Err(format!(
                    "lognormal p99 {p99} is {ratio:.2} times the mean {mean}, but a lognormal's \
                     p99 can be at most {max_ratio:.2} times its mean: give the median instead \
                     ({{lognormal: {{median: ..., p99: {p99}}}}}), or use a mixture for a \
                     heavier tail"
                ));
            }
            let sigma = Z99 - (Z99 * Z99 - 2.0 * ratio.ln()).max(0.0).sqrt();
            let mean_ms = mean.nanos() as f64 / NS_PER_MS;
            (mean_ms.ln() - sigma * sigma / 2.0, sigma)
        }
        (None, Some(median), Some(p99), None, None) => {
            positive("lognormal", "median", median, "{lognormal: {median: 30ms, p99: 250ms}}")?;
            if p99 <= median {
                return Err(format!(
                    "lognormal p99 {p99} is not more than the median {median}: \
                     expected a p99 greater than the median"
                ));
            }
            let sigma = (p99.nanos() as f64 / median.nanos() as f64).ln() / Z99;
            ((median.nanos() as f64 / NS_PER_MS).ln(), sigma)
        }
        (None, None, None, Some(mu), Some(sigma)) => {
            if !mu.is_finite() {
                return Err(format!("lognormal mu is {mu}: expected a finite number (the mean of ln(time in ms))"));
            }
            if !(sigma.is_finite() && sigma > 0.0) {
                return Err(format!(
                    "lognormal sigma is {sigma}: expected a number greater than zero \
                     (the standard deviation of ln(time in ms))"
                ));
            }
            (mu, sigma)
        }
        _ => {
            let given: Vec<&str> = [
                ("mean", mean.is_some()),
                ("median", median.is_some()),
                ("p99", p99.is_some()),
                ("mu", mu.is_some()),
                ("sigma", sigma.is_some()),
            ]
            .iter()
            .filter(|(_, present)| *present)
            .map(|(name, _)| *name)
            .collect();
            let given =
                if given.is_empty() { "no parameters".to_string() } else { format!("`{}`", given.join("`, `")) };
            return Err(format!("lognormal has {given}: expected {FORMS}"));
        }
    };
    Ok(Kind::Lognormal { mu: mu_ms + NS_PER_MS.ln(), sigma })
}

fn compile_mixture(components: &[MixtureComponent], base_dir: &Path, max_file_bytes: u64) -> Result<Kind, String> {
    const EXAMPLE: &str = "{mixture: [{weight: 95%, dist: {exponential: 5ms}}, \
        {weight: 5%, dist: {constant: 200ms}}]}";
    if components.is_empty() {
        return Err(format!("mixture has no components: expected a list of weighted distributions, like {EXAMPLE}"));
    }
    let total: f64 = components.iter().map(|c| c.weight.fraction()).sum();
    if (total - 1.0).abs() > MIXTURE_TOLERANCE {
        let parts: Vec<String> = components.iter().map(|c| c.weight.to_string()).collect();
        return Err(format!(
            "mixture weights add up to {} ({}): expected them to add up to 100%",
            Percent(total),
            parts.join(" + ")
        ));
    }
    let n = components.len();
    let mut compiled = Vec::with_capacity(n);
    let mut cum = 0.0;
    for (i, c) in components.iter().enumerate() {
        let dist = c
            .dist
            .compile_within(base_dir, max_file_bytes)
            .map_err(|e| format!("mixture component {} of {n}: {e}", i + 1))?;
        let weight = c.weight.fraction() / total;
        if weight == 0.0 {
            continue;
        }
        cum += weight;
        compiled.push(Component { cum, weight, dist });
    }
    if let Some(last) = compiled.last_mut() {
        last.cum = 1.0;
    }
    Ok(Kind::Mixture(compiled.into()))
}

/// Reads the chosen column of an empirical CSV file into nanoseconds.
fn load_empirical(spec: &EmpiricalSpec, base_dir: &Path, max_file_bytes: u64) -> Result<Vec<u64>, String> {
    let path = base_dir.join(&spec.file);
    let shown = path.display();
    let file = File::open(&path).map_err(|e| format!("{shown}: cannot read the samples file: {e}"))?;
    let size = file.metadata().map_or(0, |m| m.len());
    if size > max_file_bytes {
        let limit = crate::limits::Limit::FileBytes;
        let over = crate::limits::Exceeded { limit, value: size, max: max_file_bytes };
        return Err(format!("{shown} is {} bytes, {}; {}", crate::units::thousands(size), over.over(), over.help()));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(BufReader::new(file));
    let csv_error = |e: csv::Error| match e.position() {
        Some(p) => format!("{shown}:{}: {e}", p.line()),
        None => format!("{shown}: {e}"),
    };
    let headers = reader.headers().map_err(csv_error)?.clone();
    if headers.iter().all(str::is_empty) {
        return Err(format!(
            "{shown}: the file is empty: expected a header row naming the columns, \
             then one observed time per row"
        ));
    }
    let col = match &spec.column {
        None => 0,
        Some(name) => headers.iter().position(|h| h == name).ok_or_else(|| {
            let names: Vec<String> = headers.iter().map(|h| format!("\"{h}\"")).collect();
            format!("{shown}:1: there is no column named \"{name}\": expected one of {}", names.join(", "))
        })?,
    };
    let column = col + 1;
    let header = headers.get(col).unwrap_or("");
    if header.parse::<f64>().is_ok() {
        return Err(format!(
            "{shown}:1:{column}: the first row must be a header naming the columns, \
             but \"{header}\" is a number"
        ));
    }
    let unit = spec.unit;
    let scale = unit.nanos();
    let mut values = Vec::new();
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(csv_error)? {
        let line = record.position().map_or(0, |p| p.line());
        let cell = record.get(col).unwrap_or("");
        if cell.is_empty() {
            continue;
        }
        let at = format!("{shown}:{line}:{column}");
        let value: f64 = cell
            .parse()
            .map_err(|_| format!("{at}: \"{cell}\" is not a number: expected a time in {unit}, like 12.5"))?;
        if !value.is_finite() {
            return Err(format!("{at}: \"{cell}\" is not a finite number: expected a time in {unit}"));
        }
        if value < 0.0 {
            return Err(format!("{at}: \"{cell}\" is negative: expected a time of zero or more"));
        }
        let ns = value * scale;
        if ns >= u64::MAX as f64 {
            return Err(format!("{at}: \"{cell}\" {unit} is too long a time"));
        }
        values.push(round_ns(ns));
    }
    if values.is_empty() {
        return Err(format!(
            "{shown}: column \"{header}\" has no samples: expected at least one observed \
             time under the header"
        ));
    }
    if values.len() > u32::MAX as usize {
        return Err(format!("{shown}: {} samples is too many: expected at most {}", values.len(), u32::MAX));
    }
    Ok(values)
}

// ---------------------------------------------------------------------------
// Normal-distribution helpers
// ---------------------------------------------------------------------------

/// phi(a) / Phi(a) for a standard normal: the mean excess of a normal
/// truncated at zero, in standard deviations, where `a` = mean / sd.
fn inverse_mills(a: f64) -> f64 {
    let pdf = (-a * a / 2.0).exp() / (2.0 * PI).sqrt();
    pdf / normal_cdf(a)
}

#[cfg(test)]
mod tests;
