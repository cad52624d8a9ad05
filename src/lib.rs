//! lbsim: a discrete-event simulator of load-balancer traffic distribution.
//!
//! Data flows one way: `scenario` (what the user wrote) -> `model` (the
//! compiled world) -> `engine` (the generic kernel) -> `sim` (the traffic model)
//! -> `metrics` (streaming collectors) -> `report` (files and terminal output).

#![warn(unreachable_pub)]

pub(crate) mod balancer;
pub mod check;
pub(crate) mod cli;
pub(crate) mod clock;
pub mod commands;
pub(crate) mod dist;
pub(crate) mod engine;
pub mod error;
pub(crate) mod experiment;
#[doc(hidden)]
pub mod fuzzing;
pub mod ids;
pub(crate) mod import;
pub mod limits;
pub mod metrics;
pub mod model;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod sim;
pub(crate) mod time;
pub mod trace;
pub(crate) mod units;
pub mod validation;
