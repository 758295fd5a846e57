//! Stored-entry decoding of every store format (redb, Redis, Memcached, Mongo, ES).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kv_store_adapter::fuzzing::entries(data));
