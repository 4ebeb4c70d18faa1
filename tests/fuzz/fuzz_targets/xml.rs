#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| conform_fuzz::xml(data));
