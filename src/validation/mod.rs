//! Validation: checking the simulator against what is known in closed form.
//! `theory` holds the exact queueing results, `meanfield` the supermarket
//! model's mean-field refinement, `stats` the Student-t confidence intervals
//! every multi-run estimate uses, and `verify` the suite behind `lbsim
//! verify` (built-in scenarios whose theory is known, each checked over
//! replications). It sits beside the pipeline and uses it (model, sim); only
//! the experiment engine and the commands use it back.

pub mod meanfield;
pub mod stats;
pub mod theory;
pub mod verify;
