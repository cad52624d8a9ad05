//! `lbsim verify`: the validation suite (`crate::validation::verify`) run
//! from the command line, each check printed as it finishes. Part of the
//! commands layer.

use crate::cli::{self, Progress};
use crate::error::Error;
use crate::validation::verify::{self as suite, Config};

/// Options of `lbsim verify`, parsed straight from its command line.
#[derive(Clone, Debug, clap::Args)]
pub struct VerifyOptions {
    /// Run only the checks whose name contains this text.
    #[arg(long)]
    pub only: Option<String>,
    /// Independent replications per check.
    #[arg(long, default_value_t = 20)]
    pub replications: usize,
    /// Requests per replication after the warm-up.
    #[arg(long, default_value_t = 200_000)]
    pub requests: u64,
    /// Family-wise confidence level of the whole suite.
    #[arg(long, default_value_t = 0.99)]
    pub confidence: f64,
    /// First seed (replication i uses seed + i).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `lbsim verify` from the command line: returns the exit status.
pub fn execute(opts: &VerifyOptions) -> Result<i32, Error> {
    let VerifyOptions { ref only, replications, requests, confidence, seed, json } = *opts;
    verify(&Config { replications, requests, confidence, seed }, only.as_deref(), json)
}

/// `lbsim verify`: runs the validation suite, printing each check as it
/// finishes; exit status 1 when any fails.
pub fn verify(cfg: &Config, only: Option<&str>, json: bool) -> Result<i32, Error> {
    cli::check_replications(cfg.replications, cfg.confidence, false)?;
    let per = suite::per_comparison_confidence(cfg.confidence, suite::comparison_count(&suite::checks()));
    let total = suite::selected(only).len() * cfg.replications;
    let progress = Progress::new(!json, "verify", total as u64);
    let report = suite::run(cfg, only, &|| progress.inc(1), |r| {
        if !json {
            progress.suspend(|| print!("{}", suite::render_check(r, per)));
        }
    });
    progress.finish();
    let report = report?;
    if json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| Error::Internal(e.to_string()))?;
        println!("{text}");
    } else {
        let failed = report.checks.iter().filter(|c| !c.pass()).count();
        println!(
            "\n{} of {} checks passed ({} replications x {} requests; family-wise confidence {:.0}%)",
            report.checks.len() - failed,
            report.checks.len(),
            report.replications,
            report.requests_per_replication,
            report.family_confidence * 100.0
        );
    }
    Ok(if report.pass() { 0 } else { 1 })
}
