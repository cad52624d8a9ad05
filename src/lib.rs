//! lbsim: a discrete-event simulator of load-balancer traffic distribution.
//!
//! Data flows one way: `scenario` (what the user wrote) -> `model` (the
//! compiled world) -> `engine` (the generic kernel) -> `sim` (the traffic model)
//! -> `metrics` (streaming collectors) -> `report` (files and terminal output).

pub mod balancer;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod dist;
pub mod engine;
pub mod error;
pub mod experiment;
pub mod metrics;
pub mod model;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod sim;
pub mod time;
pub mod units;
pub mod validation;
