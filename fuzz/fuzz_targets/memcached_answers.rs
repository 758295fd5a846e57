//! The memcached answer parser: garbage never panics it, and a stream parses the same
//! whichever pieces reads deliver it in.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kv_store_adapter::fuzzing::memcached_answers(data));
