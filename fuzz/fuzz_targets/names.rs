//! Name mappings of every store and renaming wrapper: encodings of arbitrary pairs
//! decode back to the pair; arbitrary bytes decode only if an encoder wrote them.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (collection, key) = kv_store_adapter::fuzzing::pair(data);
    kv_store_adapter::fuzzing::names(&collection, &key);
    kv_store_adapter::fuzzing::name_decoders(data);
    kv_store_adapter::fuzzing::redaction(&collection, &key);
});
