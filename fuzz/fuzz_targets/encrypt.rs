//! Encrypt's stored form: nothing forged or damaged decrypts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kv_store_adapter::fuzzing::encrypt(data));
