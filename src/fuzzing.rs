//! Oracles shared by the fuzz targets in `fuzz/` and the property tests in `suite/tests/`.
//!
//! Each function takes arbitrary input, runs it through one family of name mappings or
//! stored-entry decoders, and panics only when an invariant breaks: a decoder panics,
//! accepts what it should reject, or a round trip does not come back. Not public API
//! (feature `fuzzing`); the functions it calls are the stores' own.
//!
//! Each oracle covers the stores compiled in: with some store features off, helpers
//! only those stores use go unused.
#![cfg_attr(
    not(all(
        feature = "memory",
        feature = "disk",
        feature = "redis",
        feature = "memcached",
        feature = "mongodb",
        feature = "elasticsearch"
    )),
    allow(unused_imports, unused_variables, dead_code)
)]

use std::path::{Component, Path};
use std::time::Duration;

use crate::{ErrorKind, Result, names};

/// Splits fuzz input into a `(collection, key)` pair at the first `0xFF` byte (which
/// UTF-8 never contains), each side decoded lossily.
pub fn pair(data: &[u8]) -> (String, String) {
    let cut = data
        .iter()
        .position(|&b| b == 0xFF)
        .unwrap_or(data.len() / 2);
    let (c, k) = data.split_at(cut);
    let k = k.strip_prefix(&[0xFF]).unwrap_or(k);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (text(c), text(k))
}

/// A failed result must be corrupt data (or, for encrypted values, a decryption error).
fn typed<T>(result: &Result<T>, allowed: &[ErrorKind]) {
    if let Err(e) = result {
        assert!(allowed.contains(&e.kind()), "unexpected error {e:?}");
    }
}

/// Every name mapping, for one `(collection, key)` pair: each encoding decodes back to
/// the pair (so distinct pairs never share storage), and names meant for a file system
/// or a server obey its rules.
pub fn names(collection: &str, key: &str) {
    #[cfg(feature = "memory")]
    memory_key(collection, key);
    #[cfg(feature = "disk")]
    multi_disk_file(collection);
    #[cfg(feature = "redis")]
    {
        use crate::stores::redis::{key_head, split_key};
        for ns in ["kv", "kv:{1:a}"] {
            let mut raw = key_head(ns, collection);
            raw.extend_from_slice(key.as_bytes());
            assert_eq!(split_key(ns, &raw), Some((collection, key)));
        }
    }
    #[cfg(feature = "memcached")]
    memcached_key(collection, key);
    // Document ids: at most 512 bytes, the collection and key read back from them (so
    // no two entries share one), or the hash of both.
    #[cfg(feature = "mongodb")]
    match crate::stores::MongoStore::document_id(collection, key) {
        mongodb::bson::Bson::String(id) => {
            assert!(id.len() <= 512);
            length_prefixed(&id, collection, key);
        }
        mongodb::bson::Bson::Binary(hash) => {
            assert_eq!(hash.bytes, names::digest(&[collection, key]).into_bytes());
        }
        other => panic!("an _id of another type: {other:?}"),
    }
    #[cfg(feature = "elasticsearch")]
    {
        let id = crate::stores::ElasticsearchStore::document_id(collection, key);
        assert!(id.len() < 512);
        match id.strip_prefix('#') {
            Some(hash) => assert_eq!(hash, names::digest(&[collection, key])),
            None => length_prefixed(&id, collection, key),
        }
    }
    wrapper_names(collection, key);
}

/// `id` is `{bytes of collection}.{collection}={key}`.
#[cfg(any(feature = "mongodb", feature = "elasticsearch"))]
fn length_prefixed(id: &str, collection: &str, key: &str) {
    let (len, rest) = id.split_once('.').expect("a length first");
    let len: usize = len.parse().expect("a decimal length");
    assert_eq!(rest.get(..len), Some(collection));
    assert_eq!(rest.get(len..), Some(&*format!("={key}")));
}

#[cfg(feature = "disk")]
fn multi_disk_file(collection: &str) {
    let file = crate::stores::MultiDiskStore::file_name(collection);
    let mut parts = Path::new(&file).components();
    assert!(matches!(parts.next(), Some(Component::Normal(_))) && parts.next().is_none());
    assert!(
        !file.contains(['/', '\\', '\0']) && file.len() <= 255,
        "{file:?}"
    );
    assert!(file.ends_with(&format!("_-{}.redb", names::digest(&[collection]))));
}

#[cfg(feature = "memcached")]
fn memcached_key(collection: &str, key: &str) {
    let mc = crate::stores::memcached::memcached_key("kv", 7, collection, key);
    assert!(mc.len() <= 250, "{mc:?}");
    assert!(mc.bytes().all(|b| (0x21..=0x7e).contains(&b)), "{mc:?}");
    let rest = mc.strip_prefix("kv:7:").expect("namespace and generation");
    if let Some(hash) = rest.strip_prefix('#') {
        assert_eq!(hash, names::digest(&[collection, key]));
    } else {
        let (len, rest) = rest.split_once(':').expect("length");
        let (c, k) = rest.split_at(len.parse().expect("decimal length"));
        assert_eq!((c, k), (collection, key));
    }
}

/// The renaming wrappers: SingleCollection's folded key and the prefixes.
fn wrapper_names(collection: &str, key: &str) {
    use crate::wrappers::SingleCollection;
    use crate::wrappers::prefix::Prefix;
    if !collection.is_empty() && !key.is_empty() {
        let folded = SingleCollection::<()>::encode(collection, key);
        assert_eq!(
            SingleCollection::<()>::decode(folded.as_str()),
            Some((collection, key))
        );
    }
    let (a, b) = (Prefix::new("t").unwrap(), Prefix::new("t\u{1E}").unwrap());
    let (in_a, in_b) = (a.apply(collection), b.apply(collection));
    assert_eq!(a.strip(in_a.as_str()), Some(collection));
    assert_ne!(in_a.as_str(), in_b.as_str());
    assert_eq!(a.strip(in_b.as_str()), None);
}

/// MemoryStore's key decodes back to the pair, and the key lookups build on the stack,
/// whole or as `prefix ‖ rest` split anywhere, has the same bytes and hash.
#[cfg(feature = "memory")]
fn memory_key(collection: &str, key: &str) {
    use crate::stores::memory_key::{decode, encode, with_key};
    use std::hash::BuildHasher;
    let stored = encode(collection, key);
    assert_eq!(decode(stored.bytes()), Some((collection, key)));
    let hasher = foldhash::fast::FixedState::with_seed(7);
    let splits = key.char_indices().map(|(i, _)| i).chain([key.len()]);
    for split in splits.take(64) {
        let (prefix, rest) = key.split_at(split);
        with_key(collection, prefix, rest, |found| {
            assert_eq!(found.bytes(), stored.bytes());
            assert_eq!(hasher.hash_one(found), hasher.hash_one(&stored));
        });
    }
}

/// Arbitrary bytes given to each name decoder: none panics, and what one accepts
/// encodes back to the same bytes (decoding is the exact inverse of encoding).
pub fn name_decoders(data: &[u8]) {
    #[cfg(feature = "memory")]
    if let Some((c, k)) = crate::stores::memory_key::decode(data) {
        assert_eq!(crate::stores::memory_key::encode(c, k).bytes(), data);
    }
    #[cfg(feature = "redis")]
    if let Some((c, k)) = crate::stores::redis::split_key("kv", data) {
        let mut raw = crate::stores::redis::key_head("kv", c);
        raw.extend_from_slice(k.as_bytes());
        assert_eq!(raw, data);
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Some((c, k)) = crate::wrappers::SingleCollection::<()>::decode(text)
    {
        let folded = crate::wrappers::SingleCollection::<()>::encode(c, k);
        assert_eq!(folded.as_str(), text);
    }
}

/// Arbitrary bytes as every store's stored-entry format: a value or a typed
/// corrupt-data error, never a panic; and what a store writes reads back exactly.
pub fn entries(data: &[u8]) {
    let corrupt = [ErrorKind::Corrupt];
    #[cfg(feature = "disk")]
    {
        use crate::stores::disk_format as format;
        let read = format::decode("c", "k", data);
        typed(&read, &corrupt);
        if let Ok(Some((value, _, _))) = read {
            let header = if data[0] == format::VERSIONED {
                format::VERSIONED_HEADER
            } else {
                format::HEADER
            };
            assert_eq!(value, &data[header..]);
        }
        let hour = Some(Duration::from_secs(3600));
        for ttl in [None, hour] {
            let stored = format::encode(data, ttl);
            let (value, left, _) = format::decode("c", "k", &stored).unwrap().unwrap();
            assert!(value == data && left <= ttl && left.is_some() == ttl.is_some());
        }
    }
    #[cfg(feature = "redis")]
    {
        use crate::stores::redis::{Framed, decode_value};
        use redis::ToRedisArgs;
        let read = decode_value("c", "k", Some(data.to_vec()));
        typed(&read, &corrupt);
        if let Ok(entry) = read {
            // Either format: the value follows the format byte (and the version).
            let header = if data.first() == Some(&0x02) { 17 } else { 1 };
            let value = entry.map(|e| e.value);
            assert_eq!(value.as_deref(), data.get(header..));
        }
        // The value exactly as a SET or MSET of the store writes it.
        let stored = Framed::new(data).to_redis_args().concat();
        assert_eq!(
            decode_value("c", "k", Some(stored)).unwrap().unwrap().value,
            data
        );
    }
    #[cfg(feature = "memcached")]
    {
        use crate::stores::memcached::{decode, framed};
        let flags = data.first_chunk::<4>().map(|f| u32::from_le_bytes(*f));
        for flags in [flags, Some(0x4B56_0001)] {
            typed(&decode("c", "k", flags, data.to_vec()), &corrupt);
        }
        let stored = framed(data, Some(Duration::from_secs(60)));
        let crate::Entry {
            value,
            expires_in: left,
            ..
        } = decode("c", "k", Some(0x4B56_0001), stored)
            .unwrap()
            .unwrap();
        assert!(value == data && left.is_some_and(|l| l <= Duration::from_secs(60)));
        // The same bytes as a server's answers: parsed, or refused, never a panic.
        let mut answers = bytes::BytesMut::from(data);
        while let Ok(Some(answer)) = crate::stores::memcached_wire::parse(&mut answers) {
            if let Some(value) = &answer.data {
                assert!(value.len() <= data.len());
            }
        }
    }
    #[cfg(feature = "mongodb")]
    {
        use crate::stores::mongodb::{decode, document};
        use mongodb::bson::Document;
        if let Ok(doc) = Document::from_reader(data) {
            typed(&decode("c", "k", &doc), &corrupt);
        }
        let stored = document("c", "k", data, None);
        assert_eq!(decode("c", "k", &stored).unwrap().unwrap().value, data);
    }
    #[cfg(feature = "elasticsearch")]
    {
        use crate::stores::ElasticsearchStore as Es;
        if let Ok(source) = serde_json::from_slice(data) {
            typed(&Es::decode("c", "k", &source), &corrupt);
        }
        let stored = Es::source("c", "k", data, None);
        assert_eq!(Es::decode("c", "k", &stored).unwrap().unwrap().value, data);
    }
}

/// Compress's stored form: arbitrary bytes decode to a value or corrupt data; every
/// value round-trips; a damaged compressed form is never a wrong value.
#[cfg(feature = "compress")]
pub fn compress(data: &[u8]) {
    use crate::wrappers::Compress;
    let decode = |b: &[u8]| Compress::<()>::decode("c", "k", bytes::Bytes::copy_from_slice(b));
    typed(&decode(data), &[ErrorKind::Corrupt]);
    for threshold in [0, 64] {
        let stored = Compress::new((), threshold).encode(data);
        assert_eq!(decode(&stored).unwrap(), data);
        if stored.len() > 1 && stored[0] != 0 {
            let mut damaged = stored.to_vec();
            let at = 1 + data.len() % (damaged.len() - 1);
            damaged[at] ^= 1 << (data.len() % 8);
            if let Ok(value) = decode(&damaged) {
                assert_eq!(value, data, "a damaged value decoded to other bytes");
            }
        }
    }
}

/// Encrypt's stored form: arbitrary bytes never decrypt; every value round-trips; any
/// flipped bit, or the value moved under another key, fails to decrypt.
#[cfg(feature = "encrypt")]
pub fn encrypt(data: &[u8]) {
    use crate::wrappers::{Encrypt, EncryptionKey};
    let store = Encrypt::new(
        (),
        EncryptionKey::new(2, [7; 32]),
        [EncryptionKey::new(1, [9; 32])],
    );
    let refused = [ErrorKind::Corrupt, ErrorKind::Decryption];
    let forged = store.open("c", "k", data);
    assert!(forged.is_err(), "arbitrary bytes decrypted");
    typed(&forged, &refused);
    let sealed = store.seal("c", "k", data).unwrap();
    assert_eq!(store.open("c", "k", &sealed).unwrap(), data);
    typed(&store.open("c", "other", &sealed), &[ErrorKind::Decryption]);
    assert!(store.open("c", "other", &sealed).is_err());
    let mut damaged = sealed.to_vec();
    let at = data.len() % damaged.len();
    damaged[at] ^= 1 << (data.len() % 8);
    let opened = store.open("c", "k", &damaged);
    assert!(opened.is_err(), "a flipped bit went unnoticed");
    typed(&opened, &refused);
}

/// The one redaction function, on connection strings built around arbitrary text: a
/// password in the user info and a secret in a secret-named query parameter (plain,
/// upper-case or percent-encoded name) never survive, wherever the text puts them.
pub fn redaction(text: &str, other: &str) {
    const SECRET: &str = "Zq9xSecretZq9x";
    let names = [
        "password",
        "PASS",
        "pass%77ord",
        "api_key",
        "Token",
        "secret",
        "key",
    ];
    let name = names[text.len() % names.len()];
    for url in [
        format!("redis://user:{SECRET}@{text}/?{name}={SECRET}&{other}"),
        format!("redis://{text}/?{other}&{name}={SECRET}"),
        format!("mongodb://u:{SECRET}@{text},{other}/?{name}={SECRET}"),
        format!("{text}://:{SECRET}@h/{other}?{name}={SECRET}#{other}"),
        format!("{text}:{SECRET}@{other}?{name}={SECRET}"),
    ] {
        let shown = crate::redact(&url);
        assert!(!shown.contains(SECRET), "{url:?} shown as {shown:?}");
    }
}

/// The memcached answer parser, on a stream built from `data` — well-formed answers
/// (values with sizes, flags and payloads from `data`, `HD`, `EN`, server errors)
/// mixed with `data`'s raw bytes, which may be garbage or half an answer: it never
/// panics, and fed in pieces, as reads deliver a stream, it gives exactly the answers
/// it gives fed at once, and fails where that does.
#[cfg(feature = "memcached")]
pub fn memcached_answers(data: &[u8]) {
    use crate::stores::memcached_wire::parse;
    use bytes::BytesMut;

    let mut stream = Vec::new();
    for (i, chunk) in data.chunks(7).enumerate() {
        match chunk[0] % 6 {
            0 | 1 => {
                let header = format!("VA {} f{} c{i}\r\n", chunk.len(), chunk[0]);
                stream.extend_from_slice(header.as_bytes());
                stream.extend_from_slice(chunk);
                stream.extend_from_slice(b"\r\n");
            }
            2 => stream.extend_from_slice(b"HD\r\n"),
            3 => stream.extend_from_slice(b"EN c7\r\n"),
            4 => stream.extend_from_slice(b"SERVER_ERROR out of memory\r\n"),
            _ => stream.extend_from_slice(chunk),
        }
    }
    type Seen = (
        crate::stores::memcached_wire::Code,
        String,
        Option<bytes::Bytes>,
    );
    // The answers of `buf` so far, and whether the stream failed.
    let drain = |buf: &mut BytesMut, out: &mut Vec<Seen>| -> bool {
        loop {
            match parse(buf) {
                Ok(Some(a)) => out.push((a.code, a.message().to_owned(), a.data)),
                Ok(None) => return false,
                Err(_) => return true,
            }
        }
    };
    let mut whole = Vec::new();
    let whole_failed = drain(&mut BytesMut::from(&stream[..]), &mut whole);

    let step = 1 + data.first().map_or(0, |b| usize::from(*b) % 13);
    let (mut buf, mut pieces, mut failed) = (BytesMut::new(), Vec::new(), false);
    for piece in stream.chunks(step) {
        buf.extend_from_slice(piece);
        if drain(&mut buf, &mut pieces) {
            failed = true;
            break;
        }
    }
    assert_eq!(pieces, whole, "answers differ fed in pieces of {step}");
    assert_eq!(
        failed, whole_failed,
        "failure differs fed in pieces of {step}"
    );
}
