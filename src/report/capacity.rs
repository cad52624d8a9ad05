//! A capacity search's outputs: `capacity.json` (the answer in words and
//! numbers, every probe with its replications), `capacity.csv` (one row per
//! probe and SLO) and the data of the probes chart.

use serde::Serialize;

use super::design::Kind;
use super::replications::{Replications, Verdict};
use crate::error::Error;
use crate::metrics::series::format_value;

/// One value the search tried.
#[derive(Clone, Debug, Serialize)]
pub struct Probe {
    /// 1 for the first probe made.
    pub order: usize,
    /// The value as set (`22`, `4250/s`) and its number in the unit's base.
    pub value: String,
    pub number: f64,
    /// The verdict the search acted on: `pass` only when every SLO holds
    /// with the stated confidence after the replications spent here.
    pub verdict: Verdict,
    pub replications: Replications,
}

/// The search's result, as `capacity.json` holds it.
#[derive(Clone, Debug, Serialize)]
pub struct CapacityReport {
    pub lbsim_version: String,
    pub scenario: String,
    pub file: String,
    pub sets: Vec<String>,
    /// The searched path and the direction: `max` (largest value meeting
    /// every SLO) or `min` (smallest).
    pub path: String,
    pub find: &'static str,
    pub kind: Kind,
    /// The interval searched: `--between`, or found by doubling and halving
    /// from the scenario's value (`bracketed`).
    pub low: String,
    pub high: String,
    pub bracketed: bool,
    /// Probes stop narrowing the interval below this (in the path's units).
    pub resolution: String,
    /// Replications at each probe, and the most a probe may grow to while
    /// its verdict is inconclusive.
    pub replications: usize,
    pub max_replications: usize,
    pub first_seed: u64,
    pub confidence: f64,
    /// `--down K`: the K largest servers of each group were out at every probe.
    pub down: u32,
    /// The answer (null when no value in the interval meets the SLOs).
    pub answer: Option<String>,
    pub answer_number: Option<f64>,
    /// The answer in one sentence, with the neighbouring probe that fails.
    pub statement: String,
    /// Things to know about the answer (it sits at an end of the interval,
    /// the response was not monotone, ...).
    pub notes: Vec<String>,
    pub probes: Vec<Probe>,
}

/// `capacity.json`.
pub fn json(r: &CapacityReport) -> Result<Vec<u8>, Error> {
    let mut bytes =
        serde_json::to_vec_pretty(r).map_err(|e| Error::Internal(format!("serialising the capacity search: {e}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// `capacity.csv`: one row per probe and SLO.
pub fn csv(r: &CapacityReport) -> Result<Vec<u8>, Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let internal = |e: csv::Error| Error::Internal(format!("building capacity.csv: {e}"));
    w.write_record([
        "order",
        r.path.as_str(),
        "probe_verdict",
        "replications",
        "slo",
        "objective",
        "met",
        "observed_mean",
        "ci_low",
        "ci_high",
        "slo_verdict",
    ])
    .map_err(internal)?;
    let f = |v: Option<f64>| v.map(format_value).unwrap_or_default();
    for p in &r.probes {
        for s in &p.replications.slos {
            w.write_record([
                p.order.to_string(),
                p.value.clone(),
                p.verdict.as_str().to_string(),
                p.replications.replications.to_string(),
                s.name.clone(),
                s.objective.clone(),
                s.met.to_string(),
                f(s.observed_mean),
                f(s.ci_low),
                f(s.ci_high),
                s.verdict.as_str().to_string(),
            ])
            .map_err(internal)?;
        }
    }
    w.into_inner().map_err(|e| Error::Internal(format!("building capacity.csv: {e}")))
}
