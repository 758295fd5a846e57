//! The crate's one error type.

use std::time::Duration;

/// A boxed error from a backend, kept as the [`std::error::Error::source`] of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result type of every fallible call in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a store or wrapper.
///
/// Match on the variant (or on [`Error::kind`]) to decide what to do; the
/// backend's own error, where there is one, is the [`source`](std::error::Error::source).
///
/// ```
/// use kv_store_adapter::{Error, ErrorKind};
///
/// let err = Error::invalid_key("empty key");
/// assert_eq!(err.kind(), ErrorKind::InvalidKey);
/// assert!(!err.is_transient());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A collection or key name is empty or too long.
    #[error("invalid key: {reason}")]
    InvalidKey {
        /// What is wrong with the name.
        reason: String,
    },
    /// A TTL of zero, or one too long to represent.
    #[error("invalid TTL {ttl:?}: {reason}")]
    InvalidTtl {
        /// The TTL that was given.
        ttl: Duration,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A value over the store's (or a configured) size limit; nothing was written.
    #[error("value of {size} bytes is over the limit of {limit} bytes")]
    TooLarge {
        /// The value's size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// A value under the configured minimum size; nothing was written.
    #[error("value of {size} bytes is under the minimum of {limit} bytes")]
    TooSmall {
        /// The value's size in bytes.
        size: usize,
        /// The minimum in bytes.
        limit: usize,
    },
    /// What the store read back is not in its own format.
    #[error("corrupt data under {collection:?}/{key:?}: {reason}")]
    Corrupt {
        /// The collection read.
        collection: String,
        /// The key read.
        key: String,
        /// What was wrong with it.
        reason: String,
    },
    /// A typed value failed to encode or decode.
    #[error("cannot (de)serialize the value under {collection:?}/{key:?}")]
    Serialization {
        /// The collection.
        collection: String,
        /// The key.
        key: String,
        /// The codec's error.
        #[source]
        source: BoxError,
    },
    /// The backend could not be reached; transient.
    #[error("connection error: {message}")]
    Connection {
        /// What failed (secrets redacted).
        message: String,
        /// The backend's error.
        #[source]
        source: Option<BoxError>,
    },
    /// The call did not finish in time; transient.
    #[error("operation timed out after {0:?}")]
    Timeout(Duration),
    /// A write to a read-only store.
    #[error("the store is read-only")]
    ReadOnly,
    /// Strict access found no entry.
    #[error("no entry under {collection:?}/{key:?}")]
    Missing {
        /// The collection.
        collection: String,
        /// The key.
        key: String,
    },
    /// An encrypted value failed to authenticate or decrypt.
    #[error("cannot decrypt the value under {collection:?}/{key:?}")]
    Decryption {
        /// The collection.
        collection: String,
        /// The key.
        key: String,
    },
    /// A store could not be set up (bad configuration, URL or file).
    #[error("setup error: {message}")]
    Setup {
        /// What is wrong (secrets redacted).
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
    /// The operation needs a capability this (run-time chosen) store lacks.
    #[error("the store does not support {0}")]
    Unsupported(&'static str),
    /// Any other error the backend reported.
    #[error("backend error: {message}")]
    Backend {
        /// What failed.
        message: String,
        /// The backend's error.
        #[source]
        source: Option<BoxError>,
    },
}

/// The kind of an [`Error`], for matching without destructuring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// See [`Error::InvalidKey`].
    InvalidKey,
    /// See [`Error::InvalidTtl`].
    InvalidTtl,
    /// See [`Error::TooLarge`] and [`Error::TooSmall`].
    TooLarge,
    /// See [`Error::Corrupt`].
    Corrupt,
    /// See [`Error::Serialization`].
    Serialization,
    /// See [`Error::Connection`].
    Connection,
    /// See [`Error::Timeout`].
    Timeout,
    /// See [`Error::ReadOnly`].
    ReadOnly,
    /// See [`Error::Missing`].
    Missing,
    /// See [`Error::Decryption`].
    Decryption,
    /// See [`Error::Setup`].
    Setup,
    /// See [`Error::Unsupported`].
    Unsupported,
    /// See [`Error::Backend`].
    Backend,
}

impl Error {
    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidKey { .. } => ErrorKind::InvalidKey,
            Error::InvalidTtl { .. } => ErrorKind::InvalidTtl,
            Error::TooLarge { .. } | Error::TooSmall { .. } => ErrorKind::TooLarge,
            Error::Corrupt { .. } => ErrorKind::Corrupt,
            Error::Serialization { .. } => ErrorKind::Serialization,
            Error::Connection { .. } => ErrorKind::Connection,
            Error::Timeout(_) => ErrorKind::Timeout,
            Error::ReadOnly => ErrorKind::ReadOnly,
            Error::Missing { .. } => ErrorKind::Missing,
            Error::Decryption { .. } => ErrorKind::Decryption,
            Error::Setup { .. } => ErrorKind::Setup,
            Error::Unsupported(_) => ErrorKind::Unsupported,
            Error::Backend { .. } => ErrorKind::Backend,
        }
    }

    /// Whether retrying the same call may succeed (connection errors and timeouts).
    pub fn is_transient(&self) -> bool {
        matches!(self.kind(), ErrorKind::Connection | ErrorKind::Timeout)
    }

    /// An [`Error::InvalidKey`] with the given reason.
    pub fn invalid_key(reason: impl Into<String>) -> Self {
        Error::InvalidKey {
            reason: reason.into(),
        }
    }

    /// An [`Error::Corrupt`] for the entry under `collection`/`key`.
    pub fn corrupt(collection: &str, key: &str, reason: impl Into<String>) -> Self {
        Error::Corrupt {
            collection: collection.to_owned(),
            key: key.to_owned(),
            reason: reason.into(),
        }
    }

    /// An [`Error::Backend`] keeping `source`.
    pub fn backend(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Backend {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// An [`Error::Setup`] keeping `source`.
    pub fn setup(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Setup {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// An [`Error::Connection`] keeping `source`.
    pub fn connection(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Connection {
            message: message.into(),
            source: Some(source.into()),
        }
    }
}
