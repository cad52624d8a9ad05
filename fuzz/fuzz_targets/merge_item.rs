//! Fuzz target: see `lbsim::fuzzing::merge_item`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lbsim::fuzzing::merge_item(data));
