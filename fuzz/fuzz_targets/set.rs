//! Fuzz target: see `lbsim::fuzzing::set`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lbsim::fuzzing::set(data));
