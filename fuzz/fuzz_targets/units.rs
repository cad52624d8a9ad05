//! Fuzz target: see `lbsim::fuzzing::units`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lbsim::fuzzing::units(data));
