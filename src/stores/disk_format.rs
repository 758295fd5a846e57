//! `DiskStore`'s stored form of an entry: `[VERSIONED, expires_at_ms: u64 LE (0 =
//! never), version: 16 bytes] ++ value`. Entries 0.1 wrote (`[FORMAT, expires_at_ms] ++
//! value`) read as version 0 until rewritten. Shared by the store's reads and the group
//! commit's writes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{Error, Result, Version};

/// 0.1's format byte: no version.
pub const FORMAT: u8 = 0xD1;
/// 0.1's header length.
pub const HEADER: usize = 9;
/// The format byte of every entry written now.
pub const VERSIONED: u8 = 0xD2;
/// The header length of an entry written now.
pub const VERSIONED_HEADER: usize = 25;
/// The version of an entry in 0.1's format: never one [`Version::unique`] gives.
pub const LEGACY: Version = Version::new(0);

fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
}

#[cfg_attr(not(feature = "fuzzing"), allow(dead_code))]
pub fn encode(value: &[u8], ttl: Option<Duration>) -> Vec<u8> {
    let mut out = Vec::with_capacity(VERSIONED_HEADER + value.len());
    encode_into(&mut out, value, deadline_ms(ttl), Version::unique());
    out
}

/// The stored deadline of an entry written now with `ttl` (0: never expires).
pub fn deadline_ms(ttl: Option<Duration>) -> u64 {
    ttl.map_or(0, |ttl| {
        let at = (now() + crate::names::bounded(ttl)).as_millis();
        u64::try_from(at).unwrap_or(u64::MAX).max(1)
    })
}

/// Writes the stored form of `value` with deadline `expires_ms` and `version` into
/// `out` (cleared first), reusing its allocation.
pub fn encode_into(out: &mut Vec<u8>, value: &[u8], expires_ms: u64, version: Version) {
    out.clear();
    out.reserve(VERSIONED_HEADER + value.len());
    out.push(VERSIONED);
    out.extend_from_slice(&expires_ms.to_le_bytes());
    out.extend_from_slice(&version.to_bytes());
    out.extend_from_slice(value);
}

/// A live entry as stored: the value, its remaining time, its version.
pub type Live<'a> = (&'a [u8], Option<Duration>, Version);

/// `Ok(None)` if expired, else the value, its remaining time and its version.
#[inline(always)]
pub fn decode<'a>(collection: &str, key: &str, raw: &'a [u8]) -> Result<Option<Live<'a>>> {
    let corrupt = |reason| Err(Error::corrupt(collection, key, reason));
    let (expires, version, value) = match raw.first() {
        Some(&VERSIONED) => match raw.split_first_chunk::<VERSIONED_HEADER>() {
            Some((header, value)) => {
                let (ms, version) = header[1..].split_at(8);
                (
                    ms,
                    Version::from_bytes(version.try_into().unwrap_or_default()),
                    value,
                )
            }
            None => return corrupt("entry shorter than its header"),
        },
        Some(&FORMAT) => match raw.split_first_chunk::<HEADER>() {
            Some((header, value)) => (&header[1..], LEGACY, value),
            None => return corrupt("entry shorter than its header"),
        },
        Some(_) => return corrupt("unknown format byte"),
        None => return corrupt("entry shorter than its header"),
    };
    let mut ms = [0u8; 8];
    ms.copy_from_slice(expires);
    match u64::from_le_bytes(ms) {
        0 => Ok(Some((value, None, version))),
        ms => {
            let left = Duration::from_millis(ms).saturating_sub(now());
            Ok((!left.is_zero()).then_some((value, Some(left), version)))
        }
    }
}

pub fn is_live(raw: &[u8]) -> Option<bool> {
    decode("", "", raw).ok().map(|entry| entry.is_some())
}
