//! Versions and conditional writes: what [`ConditionalWrites`](crate::ConditionalWrites)
//! takes and answers.

use std::cell::Cell;
use std::fmt;
use std::hash::BuildHasher;

use crate::Entry;

/// An entry's version: opaque, and new on every write of the entry.
///
/// A store that supports [`ConditionalWrites`](crate::ConditionalWrites) reports it in
/// [`Entry::version`] on every read, and a conditional write applies only while the
/// entry still has the version the caller read. Two writes of one entry never get the
/// same version, whatever their values — a delete and re-create included — so a
/// version read before a change never matches after it.
///
/// Where the backend keeps versions itself (memcached's CAS token, Elasticsearch's
/// sequence number and primary term) the version is the backend's; elsewhere the
/// store writes one beside the value, drawn from [`Version::unique`].
///
/// ```
/// use kv_store_adapter::Version;
/// let a = Version::unique();
/// assert_ne!(a, Version::unique());
/// assert_eq!(Version::new(a.get()), a);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version(u128);

impl Version {
    /// A version from its raw form (as a store keeps it).
    #[inline]
    pub const fn new(raw: u128) -> Self {
        Self(raw)
    }

    /// The raw form, for a store to keep.
    #[inline]
    pub const fn get(self) -> u128 {
        self.0
    }

    /// A version no other call of this function returns, in this process or any
    /// other (in practice: the high 64 bits are random per thread, the low 64 count
    /// that thread's calls), without a shared counter between threads.
    #[inline]
    pub fn unique() -> Self {
        thread_local! {
            static NEXT: Cell<(u64, u64)> = Cell::new((thread_seed(), 0));
        }
        NEXT.with(|next| {
            let (seed, count) = next.get();
            // 2^64 versions per thread: the count cannot wrap in practice; should it,
            // the thread draws a fresh seed.
            let (seed, count) = match count.checked_add(1) {
                Some(count) => (seed, count),
                None => (thread_seed(), 1),
            };
            next.set((seed, count));
            Self((u128::from(seed) << 64) | u128::from(count))
        })
    }

    /// The big-endian bytes of the raw form, as the byte stores keep it.
    #[inline]
    pub const fn to_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }

    /// The version kept as [`to_bytes`](Self::to_bytes) wrote it.
    #[inline]
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(u128::from_be_bytes(bytes))
    }
}

/// 64 random bits: the standard library's hasher keys come from the operating system's
/// random source, and a fresh hasher per thread gives each thread its own.
fn thread_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::collections::hash_map::RandomState::new().hash_one((
        std::thread::current().id(),
        std::process::id(),
        nanos,
    ))
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Version({:032x})", self.0)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// What a conditional write requires of the entry it replaces.
///
/// ```
/// use kv_store_adapter::{Condition, Version};
/// let v = Version::new(7);
/// assert_eq!(Condition::Version(v), Condition::Version(Version::new(7)));
/// assert_ne!(Condition::Absent, Condition::Version(v));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Condition {
    /// No live entry: create only (an expired entry counts as absent).
    Absent,
    /// A live entry whose version is exactly this one: update only if nobody else
    /// wrote since it was read.
    Version(Version),
}

impl Condition {
    /// Whether the condition holds where `live` is what the key holds now: `None` when
    /// no live entry, else the live entry's version (`Some(None)`: an entry without
    /// one, which only a create can be refused by). The one check every store uses.
    pub(crate) fn holds(self, live: Option<Option<Version>>) -> bool {
        match self {
            Self::Absent => live.is_none(),
            Self::Version(v) => live == Some(Some(v)),
        }
    }
}

/// The outcome of a conditional write. A condition that does not hold is an
/// outcome, not an error: nothing was written, and there is nothing to retry.
///
/// ```
/// use kv_store_adapter::{Bytes, Entry, Version, Written};
/// let applied = Written::Applied(Some(Version::new(1)));
/// assert!(applied.is_applied());
/// assert_eq!(applied.version(), Some(Version::new(1)));
/// let rejected = Written::Rejected(Some(Entry::value(Bytes::from_static(b"theirs"))));
/// assert!(!rejected.is_applied());
/// assert_eq!(rejected.current().unwrap().value, "theirs");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a conditional write may not have been applied"]
#[non_exhaustive]
pub enum Written {
    /// The condition held and the value was written; its new version, where the
    /// store reports it (every store of this crate does).
    Applied(Option<Version>),
    /// The condition did not hold and nothing was written. Carries the entry that
    /// stopped it (value and version) when the store read it in the same step; `None`
    /// when there was no live entry (an update of a missing entry) or the store did
    /// not read it.
    Rejected(Option<Entry>),
}

impl Written {
    /// Whether the write was applied.
    #[inline]
    pub fn is_applied(&self) -> bool {
        matches!(self, Self::Applied(_))
    }

    /// The new version of an applied write.
    #[inline]
    pub fn version(&self) -> Option<Version> {
        match self {
            Self::Applied(version) => *version,
            Self::Rejected(_) => None,
        }
    }

    /// The entry that stopped a rejected write, where known.
    #[inline]
    pub fn current(&self) -> Option<&Entry> {
        match self {
            Self::Applied(_) => None,
            Self::Rejected(current) => current.as_ref(),
        }
    }

    /// This outcome with the rejecting entry's value changed by `f` (a codec's
    /// decoding, say).
    pub fn try_map<E>(
        self,
        f: impl FnOnce(bytes::Bytes) -> std::result::Result<bytes::Bytes, E>,
    ) -> std::result::Result<Self, E> {
        Ok(match self {
            Self::Rejected(Some(entry)) => Self::Rejected(Some(entry.try_map(f)?)),
            other => other,
        })
    }
}

impl crate::observe::Outcome for Written {
    fn outcome(&self) -> &'static str {
        if self.is_applied() {
            "applied"
        } else {
            "rejected"
        }
    }
}

/// How long to wait before attempt `attempt + 1` of an optimistic loop that lost
/// `attempt` times: a random while below 2^min(attempt, 6) ms, so racing writers spread
/// out instead of colliding again.
pub(crate) fn contention_backoff(attempt: u32) -> std::time::Duration {
    let ceiling_us = 1_000u64 << attempt.min(6);
    let random = std::collections::hash_map::RandomState::new().hash_one(attempt);
    std::time::Duration::from_micros(random % ceiling_us)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_versions_differ_across_threads_and_calls() {
        let mut seen = std::collections::HashSet::new();
        let handles: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| (0..1000).map(|_| Version::unique()).collect::<Vec<_>>())
            })
            .collect();
        for handle in handles {
            for v in handle.join().unwrap() {
                assert!(seen.insert(v), "{v:?} twice");
            }
        }
        assert_eq!(seen.len(), 4000);
    }

    #[test]
    fn bytes_round_trip() {
        let v = Version::unique();
        assert_eq!(Version::from_bytes(v.to_bytes()), v);
        assert_eq!(format!("{v}").len(), 32);
    }
}
