//! What the commands share at the command-line edge: the options several
//! subcommands flatten ([`ExperimentArgs`]), the argument checks every
//! command applies (replications, confidence, jobs: here and nowhere else),
//! reading `--set` overrides and loading a scenario with them, and the
//! progress bar. Below the commands layer (`crate::commands`) and the
//! experiment engine (`crate::experiment`), which both use it; it uses
//! neither.

mod progress;

pub(crate) use progress::Progress;

use std::path::Path;

use crate::error::Error;
use crate::model::{self, World};
use crate::scenario::{Override, ScenarioSource};

/// The options `sweep` and `capacity` share, parsed from their command lines.
#[derive(Clone, Debug, clap::Args)]
pub struct ExperimentArgs {
    /// Override a value in the scenario at every point or probe (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    /// Replications of each point or probe (replication i uses seed + i).
    #[arg(long, default_value_t = 10)]
    pub replications: usize,
    /// First seed [default: the scenario's seed].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Confidence level of the intervals and SLO verdicts.
    #[arg(long, default_value_t = 0.95)]
    pub confidence: f64,
    /// Take the K largest servers of each server group out of rotation
    /// everywhere (N+K planning).
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub down: u32,
    /// Worker threads [default: one per core].
    #[arg(long, value_name = "J")]
    pub jobs: Option<usize>,
}

impl ExperimentArgs {
    /// Checks the replications and confidence.
    pub fn check(&self) -> Result<(), Error> {
        check_replications(self.replications, self.confidence, false)
    }
}

/// The check of `--replications N` and `--confidence C`, for every command
/// that has them. N must give an interval: at least 2 (with `one_is_plain`,
/// as `run` allows, 1 means a plain run and only C is checked) and at most
/// 100000. C is a level strictly between 0 and 1.
pub(crate) fn check_replications(n: usize, confidence: f64, one_is_plain: bool) -> Result<(), Error> {
    if !(one_is_plain && n == 1) {
        if n < 2 {
            return Err(Error::Usage("--replications must be at least 2 to build a confidence interval".into()));
        }
        if n > 100_000 {
            return Err(Error::Usage(format!("--replications {n} is more than 100000 replications; run fewer")));
        }
    }
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(Error::Usage(format!("--confidence {confidence}: the level must be between 0 and 1, like 0.95")));
    }
    Ok(())
}

/// A thread pool of `jobs` threads (`--jobs`; default: one per core).
pub(crate) fn thread_pool(jobs: Option<usize>) -> Result<rayon::ThreadPool, Error> {
    if jobs == Some(0) {
        return Err(Error::Usage("--jobs must be at least 1".into()));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.unwrap_or(0))
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the worker threads: {e}")))
}

/// Parses every `--set` argument.
pub(crate) fn parse_overrides(sets: &[String]) -> Result<Vec<Override>, Error> {
    sets.iter().map(|s| Override::parse(s)).collect()
}

/// Loads and checks a scenario with its `--set` overrides.
pub(crate) fn load(path: &Path, sets: &[String], seed: Option<u64>) -> Result<(World, ScenarioSource), Error> {
    let overrides = parse_overrides(sets)?;
    model::load(path, &overrides, seed)
}

/// The name of a scenario's default output folder: its name, and the
/// overrides it runs with, so that `run FILE --set a=1` and `run FILE --set
/// a=2` (or two comparisons) do not overwrite each other:
/// `quickstart--clients.browsers.load=2x`. Characters a file name should
/// not hold become `-`; past 100 characters the rest is a hash.
pub(crate) fn variant_name(name: &str, sets: &[String]) -> String {
    let clean = |s: &str| -> String {
        s.chars().map(|c| if c.is_ascii_alphanumeric() || "._=-".contains(c) { c } else { '-' }).collect()
    };
    let mut out = clean(name);
    for s in sets {
        out.push_str("--");
        out.push_str(&clean(s));
    }
    if out.len() > 100 {
        let hash = crate::rng::stable_hash(out.as_bytes());
        out.truncate(80);
        out.push_str(&format!("--{hash:08x}"));
        out.truncate(90);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_names_say_what_was_set() {
        assert_eq!(variant_name("quickstart", &[]), "quickstart");
        assert_eq!(
            variant_name("quickstart", &["clients.browsers.rate=900/s".into(), "seed=7".into()]),
            "quickstart--clients.browsers.rate=900-s--seed=7"
        );
        let long = variant_name("q", &["x".repeat(200)]);
        assert!(long.len() <= 90 && long.starts_with("q--xxx"), "{long}");
        assert_ne!(long, variant_name("q", &["x".repeat(201)]));
    }
}
