//! The commands layer: one file per `lbsim` subcommand, each with its
//! options (parsed by clap in `main.rs`) and an `execute` that runs the
//! command, prints what it prints and returns the exit status. The commands
//! only wire the stages together (scenario -> model -> sim -> metrics ->
//! report, or the experiment engine over many runs); shared options and
//! argument checks are in `crate::cli`. A new subcommand is a new file here
//! and a variant in `main.rs`.

pub mod capacity;
pub mod check;
pub mod compare;
pub mod completions;
pub mod graph;
pub mod import;
pub mod list;
pub mod merge;
pub mod run;
pub mod schema;
pub mod sweep;
pub mod verify;
