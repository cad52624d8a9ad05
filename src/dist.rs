//! Temporary stand-in for the distributions module (replaced by the full one).
use std::path::Path;

use rand_distr::{Distribution, Exp1};
use serde::{Deserialize, Serialize};

use crate::rng::SimRng;
use crate::units::Duration;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum DistSpec {
    Constant(Duration),
    Exponential(Duration),
}

#[derive(Clone, Debug)]
pub enum Dist {
    Constant(u64),
    Exponential(f64),
}

impl DistSpec {
    pub fn compile(&self, _base_dir: &Path) -> Result<Dist, String> {
        Ok(match self {
            DistSpec::Constant(d) => Dist::Constant(d.nanos()),
            DistSpec::Exponential(d) => Dist::Exponential(d.nanos() as f64),
        })
    }
}

impl Dist {
    pub fn sample(&self, rng: &mut SimRng) -> u64 {
        match self {
            Dist::Constant(ns) => *ns,
            Dist::Exponential(mean) => {
                let e: f64 = Exp1.sample(rng);
                (mean * e).round() as u64
            }
        }
    }
    pub fn mean_secs(&self) -> f64 {
        match self {
            Dist::Constant(ns) => *ns as f64 / 1e9,
            Dist::Exponential(m) => m / 1e9,
        }
    }
}
