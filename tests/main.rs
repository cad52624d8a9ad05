//! The integration tests, built as one test binary (`autotests = false` in
//! Cargo.toml). Each suite was its own binary, and linking thirteen copies of
//! the library and its dependencies was most of a first `cargo test`; as
//! modules of one crate they compile and link once.
//!
//! Run one suite with `cargo test --test integration <suite>::`, for example
//! `cargo test --test integration golden::`.
//!
//! A new suite is a file beside this one plus a `mod` line here.

mod common;

mod authoring;
mod browser;
mod check;
mod cli;
mod compare;
mod count_groups;
mod experiment;
mod fuzz_corpus;
mod golden;
mod import;
mod incident_features;
mod landing;
mod limits;
mod network;
mod properties;
mod replay;
mod scenarios;
mod sim;
mod slurm;
mod structure;
mod verify;
