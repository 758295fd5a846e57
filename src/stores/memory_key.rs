//! `MemoryStore`'s keys: one byte string per `(collection, key)`, and how lookups build
//! and hash it without allocating or waiting on their own stores.

use std::hash::{Hash, Hasher};

/// A stored key: `(collection, key)` encoded injectively as
/// `len(collection) as u32 LE ‖ collection ‖ key`.
///
/// Plain bytes keep the cache's hashing and probing as cheap as for a single string key;
/// lookups of short keys encode on the stack, so reads do not allocate.
///
/// Cloned only where the cache lists its keys (enumeration), never on reads or writes.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct MemKey(Box<Key>);

impl Clone for MemKey {
    fn clone(&self) -> Self {
        self.0.to_owned()
    }
}

/// Lookups hash and compare the borrowed form: the derived `Hash` above is the
/// `Key`'s own, as `Borrow` requires.
impl std::borrow::Borrow<Key> for MemKey {
    fn borrow(&self) -> &Key {
        &self.0
    }
}

impl std::ops::Deref for MemKey {
    type Target = Key;

    fn deref(&self) -> &Key {
        &self.0
    }
}

/// An encoded key, borrowed: what lookups hash and compare.
///
/// Its hash covers the collection and the key as separate pieces, each 16 bytes at a
/// time (see [`with_key`] for why).
#[derive(Debug, PartialEq, Eq)]
#[repr(transparent)]
pub(crate) struct Key([u8]);

impl Key {
    #[inline(always)]
    fn new(bytes: &[u8]) -> &Key {
        // SAFETY: `Key` is a `repr(transparent)` wrapper of `[u8]`: same layout and
        // pointer metadata, and the lifetime is carried over.
        unsafe { &*(bytes as *const [u8] as *const Key) }
    }

    fn boxed(bytes: Box<[u8]>) -> MemKey {
        // SAFETY: as in `new`; the allocation's layout is unchanged, so the box frees it
        // correctly.
        MemKey(unsafe { Box::from_raw(Box::into_raw(bytes) as *mut Key) })
    }

    /// The encoded bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// An owned copy: what the cache stores when a conditional write finds no entry.
impl ToOwned for Key {
    type Owned = MemKey;

    fn to_owned(&self) -> MemKey {
        Key::boxed(self.0.into())
    }
}

impl Hash for Key {
    #[inline(always)]
    fn hash<H: Hasher>(&self, state: &mut H) {
        match split(&self.0) {
            Some((collection, key)) => {
                hash_piece(collection, state);
                hash_piece(key, state);
            }
            None => state.write(&self.0),
        }
    }
}

/// Hashes `piece` 16 bytes at a time: each write reads (at most two overlapping words)
/// inside one chunk, the chunk [`put`] stores with one instruction. Pieces of up to 16
/// bytes, the usual names, are one write of the hasher's short, inlined path.
#[inline(always)]
fn hash_piece<H: Hasher>(piece: &[u8], state: &mut H) {
    let (chunks, rest) = piece.as_chunks::<16>();
    for chunk in chunks {
        state.write(chunk);
    }
    if !rest.is_empty() {
        state.write(rest);
    }
}

/// The collection and key bytes of an encoded key.
#[inline(always)]
fn split(encoded: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = encoded.split_first_chunk::<4>()?;
    rest.split_at_checked(u32::from_le_bytes(*len) as usize)
}

/// Writes the encoding of `(collection, key)` into `buf`, replacing its contents.
fn encode_into(buf: &mut Vec<u8>, collection: &str, key: &str) {
    buf.clear();
    // Collections are at most a few KiB (names are checked), so the length fits.
    buf.extend_from_slice(&(collection.len() as u32).to_le_bytes());
    buf.extend_from_slice(collection.as_bytes());
    buf.extend_from_slice(key.as_bytes());
}

/// The stored key of `(collection, key)`.
pub(crate) fn encode(collection: &str, key: &str) -> MemKey {
    encode_prefixed(collection, "", key)
}

/// The stored key of `(collection, prefix ‖ key)`.
pub(crate) fn encode_prefixed(collection: &str, prefix: &str, key: &str) -> MemKey {
    let mut buf = Vec::with_capacity(4 + collection.len() + prefix.len() + key.len());
    encode_into(&mut buf, collection, prefix);
    buf.extend_from_slice(key.as_bytes());
    Key::boxed(buf.into_boxed_slice())
}

/// The `(collection, key)` of an encoded key.
pub(crate) fn decode(key: &[u8]) -> Option<(&str, &str)> {
    let (c, k) = split(key)?;
    Some((std::str::from_utf8(c).ok()?, std::str::from_utf8(k).ok()?))
}

/// Encoded keys up to this size are built on the stack for lookups.
const STACK_KEY: usize = 128;

/// Room past a stack key's end: pieces are written in whole 16-byte chunks.
const SLACK: usize = 16;

/// Runs `f` with the encoded `(collection, prefix ‖ key)`; short keys (the usual
/// case) are built on the stack. Plain keys pass an empty `prefix`, whose branch the
/// inlined code drops.
///
/// The hash reads the key back right after it is written. A load that needs bytes from
/// two stores cannot take them from the store buffer and waits until both reach the
/// cache (one such wait cost ~4% of a miss), so each 16-byte chunk the hash reads is
/// written by one store of a chunk assembled in registers from the names.
#[inline(always)]
pub(crate) fn with_key<R>(
    collection: &str,
    prefix: &str,
    key: &str,
    f: impl FnOnce(&Key) -> R,
) -> R {
    let len = 4 + collection.len() + prefix.len() + key.len();
    if len > STACK_KEY {
        return f(&encode_prefixed(collection, prefix, key));
    }
    let mut buf = std::mem::MaybeUninit::<[u8; STACK_KEY + SLACK]>::uninit();
    let dst = buf.as_mut_ptr().cast::<u8>();
    let c = collection.as_bytes();
    // SAFETY: every write ends less than `SLACK` bytes past `len <= STACK_KEY` (see
    // `put`), inside the buffer, and no source overlaps it; pieces are written in
    // order, so a later write only replaces an earlier one's slack; exactly the `len`
    // bytes written are read.
    let encoded = unsafe {
        dst.cast::<[u8; 4]>()
            .write_unaligned((c.len() as u32).to_le_bytes());
        put(c, &[], dst.add(4));
        put(prefix.as_bytes(), key.as_bytes(), dst.add(4 + c.len()));
        std::slice::from_raw_parts(dst, len)
    };
    f(Key::new(encoded))
}

/// Writes `a ‖ b` at `dst` as the chunks `hash_piece` reads: whole 16-byte chunks,
/// then the last partial one padded with zeros, each with one store.
///
/// # Safety
/// `dst` must be valid for `a.len() + b.len() + SLACK` bytes of writes and overlap
/// neither source.
#[inline(always)]
unsafe fn put(a: &[u8], mut b: &[u8], dst: *mut u8) {
    // SAFETY: whole chunks end where their bytes end; a partial chunk ends less than
    // 16 bytes past `a.len() + b.len()`.
    unsafe {
        let (mut at, rest) = put_chunks(a, dst);
        if !rest.is_empty() {
            // One chunk holds the end of `a` and as much of `b` as fits.
            let (head, tail) = b.split_at(b.len().min(16 - rest.len()));
            store(at, chunk(rest) | chunk(head) << (8 * rest.len()));
            at = at.add(16);
            b = tail;
        }
        let (at, last) = put_chunks(b, at);
        if !last.is_empty() {
            store(at, chunk(last));
        }
    }
}

/// Writes `src`'s whole 16-byte chunks at `dst`; answers where they end and the rest.
///
/// # Safety
/// `dst` must be valid for `src.len()` bytes of writes and not overlap `src`.
#[inline(always)]
unsafe fn put_chunks(src: &[u8], dst: *mut u8) -> (*mut u8, &[u8]) {
    let (chunks, rest) = src.as_chunks::<16>();
    // SAFETY: the chunks are `src`'s own bytes, `chunks.len() * 16 <= src.len()`.
    unsafe {
        for (i, chunk) in chunks.iter().enumerate() {
            dst.add(16 * i).cast::<[u8; 16]>().write_unaligned(*chunk);
        }
        (dst.add(16 * chunks.len()), rest)
    }
}

/// One 16-byte store (a register pair would be written as two 8-byte stores, and a
/// read across them waits).
///
/// # Safety
/// `dst` must be valid for 16 bytes of writes.
#[inline(always)]
unsafe fn store(dst: *mut u8, chunk: u128) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is part of x86-64; the caller's contract covers the write.
    unsafe {
        use std::arch::x86_64::{__m128i, _mm_set_epi64x, _mm_storeu_si128};
        let v = _mm_set_epi64x((chunk >> 64) as i64, chunk as i64);
        _mm_storeu_si128(dst.cast::<__m128i>(), v);
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: the caller's contract.
    unsafe {
        dst.cast::<[u8; 16]>().write_unaligned(chunk.to_le_bytes());
    }
}

/// `src` (at most 16 bytes) in the low bytes of a little-endian chunk, zeros above,
/// read with two overlapping loads inside `src` (three single bytes below 4).
#[inline(always)]
fn chunk(src: &[u8]) -> u128 {
    let n = src.len();
    debug_assert!(n <= 16);
    if let (Some(head), Some(tail)) = (src.first_chunk::<8>(), src.last_chunk::<8>()) {
        // The high half is the tail less the bytes it shares with the head.
        let high = u64::from_le_bytes(*tail).checked_shr(8 * (16 - n) as u32);
        u128::from(u64::from_le_bytes(*head)) | u128::from(high.unwrap_or(0)) << 64
    } else if let (Some(head), Some(tail)) = (src.first_chunk::<4>(), src.last_chunk::<4>()) {
        let tail = u64::from(u32::from_le_bytes(*tail)) << (8 * (n - 4));
        u128::from(u64::from(u32::from_le_bytes(*head)) | tail)
    } else if let (Some(&first), Some(&last)) = (src.first(), src.last()) {
        let middle = src.get(n / 2).copied().unwrap_or(first);
        let bytes = u64::from(middle) << (8 * (n / 2)) | u64::from(last) << (8 * (n - 1));
        u128::from(u64::from(first) | bytes)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn chunk_holds_every_length_exactly() {
        let src: Vec<u8> = (1..=16u8).collect();
        for n in 0..=16 {
            let word = chunk(&src[..n]).to_le_bytes();
            assert_eq!(&word[..n], &src[..n], "length {n}");
            assert!(word[n..].iter().all(|&b| b == 0), "length {n}");
        }
    }

    #[test]
    fn stack_keys_equal_and_hash_as_stored_keys() {
        let hasher = foldhash::fast::RandomState::default();
        let long = "k".repeat(150);
        let names = [
            "",
            "a",
            "ab",
            "abc",
            "abcd",
            "tenant:",
            "tenant:x",
            "tenant:xy",
            "0123456789abcdef",
            "0123456789abcdefg",
        ];
        let collections = [
            "c",
            "users",
            "0123456789abcdef0123",
            "collection-of-33-bytes-long-name!",
        ];
        for collection in collections {
            for prefix in names {
                for key in names.iter().copied().chain([long.as_str()]) {
                    if key.is_empty() {
                        continue;
                    }
                    let stored = encode(collection, &format!("{prefix}{key}"));
                    assert_eq!(stored, encode_prefixed(collection, prefix, key));
                    with_key(collection, prefix, key, |found| {
                        assert!(*found == *stored, "{collection} {prefix} {key}");
                        assert_eq!(hasher.hash_one(found), hasher.hash_one(&stored));
                    });
                    let decoded = decode(stored.bytes());
                    assert_eq!(decoded, Some((collection, &*format!("{prefix}{key}"))));
                }
            }
        }
    }
}
