//! lbsim: a discrete-event simulator of load-balancer traffic distribution.
//!
//! Data flows one way: `scenario` (what the user wrote) -> `model` (the
//! compiled world) -> `engine` (the generic kernel) -> `sim` (the traffic model)
//! -> `metrics` (streaming collectors) -> `report` (files and terminal output).

pub mod balancer;
pub mod dist;
pub mod rng;
pub mod stats;
pub mod theory;
pub mod meanfield;
pub mod time;
pub mod units;
pub mod error;
pub mod scenario;
pub mod engine;
pub mod model;
pub mod metrics;
pub mod sim;
pub mod app;
pub mod report;
