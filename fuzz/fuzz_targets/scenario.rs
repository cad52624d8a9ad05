//! Fuzz target: see `lbsim::fuzzing::scenario`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lbsim::fuzzing::scenario(data));
