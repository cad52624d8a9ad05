//! Fuzz target: see `lbsim::fuzzing::import`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lbsim::fuzzing::import(data));
