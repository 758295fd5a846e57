//! Name and TTL rules shared by every store, and the stable digest stores use to map
//! names onto what a backend accepts.

use std::mem::MaybeUninit;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// The longest collection or key name, in bytes, a caller may pass.
pub const MAX_NAME_LEN: usize = 4096;

/// The longest TTL accepted: 50 years. Longer TTLs are an [`ErrorDetail::InvalidTtl`](crate::ErrorDetail::InvalidTtl)
/// (they cannot be represented by every backend's clock).
pub const MAX_TTL: Duration = Duration::from_secs(50 * 365 * 24 * 3600);

/// Checks one name: non-empty and at most [`MAX_NAME_LEN`] bytes.
///
/// ```
/// use kv_store_adapter::names::check_name;
/// assert!(check_name("users").is_ok());
/// assert!(check_name("").is_err());
/// ```
#[inline]
pub fn check_name(name: &str) -> Result<()> {
    if (1..=MAX_NAME_LEN).contains(&name.len()) {
        return Ok(());
    }
    name_error(name)
}

/// Every call checks its names, so the check is inlined and the error built out of line.
#[cold]
fn name_error(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid_key("names must not be empty"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(Error::invalid_key(format!(
            "name of {} bytes is over the limit of {MAX_NAME_LEN} bytes",
            name.len()
        )));
    }
    Ok(())
}

/// Checks a collection and a key.
#[inline]
pub fn check(collection: &str, key: &str) -> Result<()> {
    check_name(collection)?;
    check_name(key)
}

/// Checks a collection and every key of a batch.
pub fn check_all<'a>(collection: &str, keys: impl IntoIterator<Item = &'a str>) -> Result<()> {
    check_name(collection)?;
    keys.into_iter().try_for_each(check_name)
}

/// Checks a TTL: `None` or a non-zero duration up to [`MAX_TTL`].
///
/// ```
/// use std::time::Duration;
/// use kv_store_adapter::names::check_ttl;
/// assert!(check_ttl(Some(Duration::from_millis(300))).is_ok());
/// assert!(check_ttl(Some(Duration::ZERO)).is_err());
/// ```
#[inline]
pub fn check_ttl(ttl: Option<Duration>) -> Result<()> {
    match ttl {
        Some(ttl) if ttl.is_zero() || ttl > MAX_TTL => ttl_error(ttl),
        _ => Ok(()),
    }
}

/// A TTL as a store converts it: at most [`MAX_TTL`].
///
/// The crate's one TTL rule: callers' TTLs over [`MAX_TTL`] are refused with
/// [`InvalidTtl`](crate::ErrorDetail::InvalidTtl) by [`check_ttl`] before anything is
/// written, and wrappers that choose a TTL themselves (a cache fill) stay within it.
/// Every store converts a TTL through this function too, so a TTL that reaches a
/// store's raw methods unchecked (`Duration::MAX` from a third-party wrapper) is held to
/// the same bound: no conversion can overflow, and no store panics.
///
/// ```
/// use std::time::Duration;
/// use kv_store_adapter::names::{MAX_TTL, bounded};
/// assert_eq!(bounded(Duration::MAX), MAX_TTL);
/// assert_eq!(bounded(Duration::from_secs(1)), Duration::from_secs(1));
/// ```
#[inline]
pub fn bounded(ttl: Duration) -> Duration {
    ttl.min(MAX_TTL)
}

#[cold]
fn ttl_error(ttl: Duration) -> Result<()> {
    let reason = if ttl.is_zero() {
        "a TTL must be longer than zero"
    } else {
        "a TTL must be at most 50 years"
    };
    Err(Error::invalid_ttl(ttl, reason))
}

/// A stable, collision-resistant digest of a sequence of names, as 32 lower-case hex
/// characters (the first 128 bits of SHA-256 over the length-prefixed parts).
///
/// Stores fold it into names they must shorten or escape, so that the mapped form keeps a
/// hash of the *whole* original name.
///
/// ```
/// use kv_store_adapter::names::digest;
/// assert_ne!(digest(&["a::b", "c"]), digest(&["a", "b::c"]));
/// assert_eq!(digest(&["x"]).len(), 32);
/// ```
pub fn digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    let hash = hasher.finalize();
    let mut out = String::with_capacity(32);
    for byte in &hash[..16] {
        out.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
    }
    out
}

/// One readable id for a collection and a key: `{bytes of collection}.{collection}={key}`.
/// The length in front makes it injective (`("a", "b=c")` and `("a=b", "c")` differ);
/// the document stores use it as `_id` while it is short enough, a [`digest`] of both
/// beyond.
#[cfg(any(feature = "mongodb", feature = "elasticsearch"))]
pub(crate) fn pair_id(collection: &str, key: &str) -> String {
    format!("{}.{collection}={key}", collection.len())
}

/// Checks a store's namespace or prefix: 1 to `max` bytes, each allowed by `allowed`
/// (described to the user as `charset`).
#[cfg_attr(
    not(any(
        feature = "redis",
        feature = "memcached",
        feature = "mongodb",
        feature = "elasticsearch"
    )),
    allow(dead_code)
)]
pub(crate) fn check_identifier(
    what: &str,
    value: &str,
    max: usize,
    charset: &str,
    allowed: impl Fn(u8) -> bool,
) -> Result<()> {
    if value.is_empty() || value.len() > max || !value.bytes().all(allowed) {
        return Err(Error::setup_msg(format!(
            "invalid {what} {value:?}: use 1-{max} of {charset}"
        )));
    }
    Ok(())
}

/// A length written in canonical decimal (digits only, no leading zero), as the name
/// encodings write it; anything else is `None`, so decoding is the exact inverse.
pub(crate) fn canonical_len(digits: &[u8]) -> Option<usize> {
    let canonical = match digits {
        [] => false,
        [b'0'] => true,
        [first, ..] => *first != b'0' && digits.iter().all(u8::is_ascii_digit),
    };
    canonical.then(|| std::str::from_utf8(digits).ok()?.parse().ok())?
}

/// The distinct keys of a batch (sorted), for counting what a delete removed.
#[cfg_attr(
    not(any(feature = "memcached", feature = "mongodb", feature = "elasticsearch")),
    allow(dead_code)
)]
pub(crate) fn distinct<'a>(keys: &[&'a str]) -> Vec<&'a str> {
    let mut distinct = keys.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    distinct
}

/// Copies `src` to `dst` with a few register moves when it is at most 32 bytes long
/// (names and prefixes usually are), where `copy_nonoverlapping` of a run-time length
/// calls `memcpy`: ~12 instructions a part, two parts a call (callgrind).
///
/// # Safety
/// `dst` must be valid for `src.len()` bytes of writes and not overlap `src`.
#[inline(always)]
pub(crate) unsafe fn copy_short(src: &[u8], dst: *mut u8) {
    let (n, src) = (src.len(), src.as_ptr());
    // SAFETY: the caller's contract, and each branch's word fits in `n` bytes.
    unsafe {
        match n {
            17..=32 => copy_two_words::<u128>(src, dst, n),
            8..=16 => copy_two_words::<u64>(src, dst, n),
            4..8 => copy_two_words::<u32>(src, dst, n),
            _ => std::ptr::copy_nonoverlapping(src, dst, n),
        }
    }
}

/// Copies `n` bytes as two possibly overlapping words `W`: the first and the last.
///
/// # Safety
/// `size_of::<W>() <= n <= 2 * size_of::<W>()`; `src` valid for `n` reads, `dst` for
/// `n` writes, not overlapping.
#[inline(always)]
unsafe fn copy_two_words<W: Copy>(src: *const u8, dst: *mut u8, n: usize) {
    let tail = n - std::mem::size_of::<W>();
    // SAFETY: both words lie inside `src[..n]` and `dst[..n]` because
    // `size_of::<W>() <= n`.
    unsafe {
        let (a, b) = (
            src.cast::<W>().read_unaligned(),
            src.add(tail).cast::<W>().read_unaligned(),
        );
        dst.cast::<W>().write_unaligned(a);
        dst.add(tail).cast::<W>().write_unaligned(b);
    }
}

/// A name joined from parts: on the stack when short (no allocation on the usual
/// path), on the heap otherwise. Renaming wrappers build their inner names with it.
///
/// It lives in the renaming wrapper's future across the inner call, so it is kept to
/// 64 bytes: every byte of a future is copied when the future is moved (pinned,
/// spawned), and a 3-wrapper stack's future past ~128 bytes is copied by a `memcpy`
/// call instead of a few register moves.
pub(crate) enum Joined {
    /// The first `len` bytes of `buf` are initialised.
    Stack {
        len: u8,
        buf: MaybeUninit<[u8; Joined::STACK]>,
    },
    Heap(Box<str>),
}

impl Joined {
    const STACK: usize = 62;

    // Always inline, with the number of parts a constant: the join happens in the
    // caller's future, unrolled. Out of line (as `#[inline]` left it in the stack's
    // put and get), the call and its loop over a slice of parts cost ~60
    // instructions per call (callgrind).
    #[inline(always)]
    pub(crate) fn new<const N: usize>(parts: [&str; N]) -> Self {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if len > Self::STACK {
            return Self::heap(&parts);
        }
        // Built in place: a buffer filled first and then moved into the enum cost
        // a 64-byte copy per call.
        let mut joined = Self::Stack {
            len: len as u8,
            buf: MaybeUninit::uninit(),
        };
        if let Self::Stack { buf, .. } = &mut joined {
            let dst = buf.as_mut_ptr().cast::<u8>();
            let mut at = 0;
            for part in parts {
                // SAFETY: the parts' lengths sum to `len <= STACK`, so every part fits
                // in `buf` after the ones before it; source and buffer do not overlap.
                unsafe { copy_short(part.as_bytes(), dst.add(at)) };
                at += part.len();
            }
        }
        joined
    }

    #[cold]
    fn heap(parts: &[&str]) -> Self {
        Self::Heap(parts.concat().into_boxed_str())
    }

    #[inline]
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Heap(name) => name,
            // SAFETY: `buf[..len]` was initialised by `new` with the concatenation of
            // the `&str` parts, and a concatenation of complete UTF-8 strings is UTF-8.
            // (Checking it again cost 70 instructions per call, a quarter of a
            // 3-wrapper stack's overhead, measured with callgrind.)
            Self::Stack { len, buf } => unsafe {
                let bytes = std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), *len as usize);
                std::str::from_utf8_unchecked(bytes)
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn copy_short_copies_every_length_exactly() {
        let src: Vec<u8> = (0..=96u8).collect();
        for n in 0..=src.len() {
            let mut dst = [0xFFu8; 100];
            // SAFETY: `dst` holds 100 bytes, more than `n`, and does not overlap `src`.
            unsafe { super::copy_short(&src[..n], dst.as_mut_ptr()) };
            assert_eq!(&dst[..n], &src[..n], "length {n}");
            assert!(dst[n..].iter().all(|&b| b == 0xFF), "wrote past {n}");
        }
    }

    #[test]
    fn joined_is_the_concatenation_for_every_length_and_split() {
        let text: String = ('a'..='z').cycle().take(80).collect();
        for len in 0..=text.len() {
            for cut in 0..=len {
                let (a, b) = (&text[..cut], &text[cut..len]);
                assert_eq!(super::Joined::new([a, b]).as_str(), &text[..len]);
                assert_eq!(super::Joined::new([b, "é", a]).as_str(), format!("{b}é{a}"));
            }
        }
    }
}
