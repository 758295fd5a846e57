//! Compress's stored form: arbitrary and damaged input decodes to corrupt data.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kv_store_adapter::fuzzing::compress(data));
