//! The crate's one error type.

use std::time::Duration;

/// A boxed error from a backend, kept as the [`std::error::Error::source`] of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result type of every fallible call in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a store or wrapper: one pointer wide.
///
/// Decide what to do from [`Error::kind`] (or [`Error::is_transient`]); the details
/// are in [`Error::detail`], and the backend's own error, where there is one, is the
/// [`source`](std::error::Error::source).
///
/// The details are boxed so that every `Result` a store or wrapper hands up stays
/// small: `Result<(), Error>` is one word and `Result<Option<Bytes>, Error>` five.
/// Every layer of a stack moves them on every call; with the details inline the
/// error was 72 bytes.
///
/// ```
/// use kv_store_adapter::{Error, ErrorDetail, ErrorKind};
///
/// let err = Error::invalid_key("empty key");
/// assert_eq!(err.kind(), ErrorKind::InvalidKey);
/// assert!(!err.is_transient());
/// assert!(matches!(err.detail(), ErrorDetail::InvalidKey { .. }));
/// assert_eq!(std::mem::size_of::<kv_store_adapter::Result<()>>(), 8);
/// ```
///
/// An error from a store's call (`get`, `put`, … through any stack) also says where
/// it happened: the operation, the store's type and the collection
/// ([`operation`](Error::operation), [`store_type`](Error::store_type),
/// [`collection`](Error::collection)), and its `Display` ends with them — never with
/// the key.
///
/// ```
/// use kv_store_adapter::{KvStore, stores::MemoryStore};
/// # #[tokio::main] async fn main() {
/// let err = MemoryStore::with_max_entries(10).get("users", "").await.unwrap_err();
/// assert_eq!(err.operation(), Some("get"));
/// assert_eq!(err.collection(), Some("users"));
/// assert!(err.to_string().ends_with("(get on MemoryStore, collection \"users\")"), "{err}");
/// # }
/// ```
pub struct Error(Box<Repr>);

struct Repr {
    detail: ErrorDetail,
    call: Option<Call>,
}

/// The call an error came from.
struct Call {
    store: &'static str,
    operation: &'static str,
    collection: Box<str>,
}

/// What went wrong, in detail: see [`Error::detail`].
///
/// **Keys stay out of messages.** An error about one entry keeps its key in a field
/// ([`Error::key`]), never in its `Display` or in a reason text, so logging an error
/// (as [`Logged`](crate::wrappers::Logged) does) shows no key unless the caller opts in:
/// keys may carry personal data or secrets. The collection is shown.
///
/// ```
/// use kv_store_adapter::{Error, ErrorDetail};
///
/// let err = Error::from(ErrorDetail::TooLarge { size: 9, limit: 8 });
/// match err.detail() {
///     ErrorDetail::TooLarge { size, limit } => assert!(size > limit),
///     other => panic!("{other}"),
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorDetail {
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
    #[error("corrupt data in collection {collection:?}: {reason}")]
    Corrupt {
        /// The collection read.
        collection: String,
        /// The key read.
        key: String,
        /// What was wrong with it.
        reason: String,
    },
    /// A typed value failed to encode or decode.
    #[error("cannot (de)serialize a value of collection {collection:?}")]
    Serialization {
        /// The collection.
        collection: String,
        /// The key.
        key: String,
        /// The codec's error.
        #[source]
        source: BoxError,
    },
    /// The backend could not be reached, or answered that it cannot serve now (a
    /// server loading its data after a restart, a failover under way); transient.
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
    #[error("no entry for the key in collection {collection:?}")]
    Missing {
        /// The collection.
        collection: String,
        /// The key.
        key: String,
    },
    /// An encrypted value failed to authenticate or decrypt.
    #[error("cannot decrypt a value of collection {collection:?}")]
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
    /// A file-backed store's file is open already: by another process, or by another
    /// store in this one. Nothing was opened; close the other, or share one store.
    #[error("{resource} is locked: another process (or another store in this one) has it open")]
    Locked {
        /// What is locked (a file path).
        resource: String,
    },
    /// The operation needs a capability this (run-time chosen) store lacks.
    #[error("the store does not support {0}")]
    Unsupported(&'static str),
    /// An optimistic update lost to other writers on every one of its attempts;
    /// nothing was written. The same update may succeed later.
    #[error("an update lost to concurrent writers {attempts} times running")]
    Conflict {
        /// How many attempts were made.
        attempts: u32,
    },
    /// A conditional write may or may not have applied: an earlier attempt failed after
    /// it may have reached the backend, and a later one was rejected (perhaps by the
    /// earlier one's own write). Read the entry to find out; not transient, so no
    /// layer repeats it blindly.
    #[error(
        "a conditional write's outcome is unknown: an attempt failed after it may have applied"
    )]
    OutcomeUnknown {
        /// The failure of the attempt whose outcome is unknown.
        #[source]
        source: Option<BoxError>,
    },
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
    /// See [`ErrorDetail::InvalidKey`].
    InvalidKey,
    /// See [`ErrorDetail::InvalidTtl`].
    InvalidTtl,
    /// See [`ErrorDetail::TooLarge`].
    TooLarge,
    /// See [`ErrorDetail::TooSmall`].
    TooSmall,
    /// See [`ErrorDetail::Corrupt`].
    Corrupt,
    /// See [`ErrorDetail::Serialization`].
    Serialization,
    /// See [`ErrorDetail::Connection`].
    Connection,
    /// See [`ErrorDetail::Timeout`].
    Timeout,
    /// See [`ErrorDetail::ReadOnly`].
    ReadOnly,
    /// See [`ErrorDetail::Missing`].
    Missing,
    /// See [`ErrorDetail::Decryption`].
    Decryption,
    /// See [`ErrorDetail::Setup`].
    Setup,
    /// See [`ErrorDetail::Locked`].
    Locked,
    /// See [`ErrorDetail::Unsupported`].
    Unsupported,
    /// See [`ErrorDetail::OutcomeUnknown`].
    OutcomeUnknown,
    /// See [`ErrorDetail::Conflict`].
    Conflict,
    /// See [`ErrorDetail::Backend`].
    Backend,
}

impl ErrorDetail {
    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidKey { .. } => ErrorKind::InvalidKey,
            Self::InvalidTtl { .. } => ErrorKind::InvalidTtl,
            Self::TooLarge { .. } => ErrorKind::TooLarge,
            Self::TooSmall { .. } => ErrorKind::TooSmall,
            Self::Corrupt { .. } => ErrorKind::Corrupt,
            Self::Serialization { .. } => ErrorKind::Serialization,
            Self::Connection { .. } => ErrorKind::Connection,
            Self::Timeout(_) => ErrorKind::Timeout,
            Self::ReadOnly => ErrorKind::ReadOnly,
            Self::Missing { .. } => ErrorKind::Missing,
            Self::Decryption { .. } => ErrorKind::Decryption,
            Self::Setup { .. } => ErrorKind::Setup,
            Self::Locked { .. } => ErrorKind::Locked,
            Self::Unsupported(_) => ErrorKind::Unsupported,
            Self::OutcomeUnknown { .. } => ErrorKind::OutcomeUnknown,
            Self::Conflict { .. } => ErrorKind::Conflict,
            Self::Backend { .. } => ErrorKind::Backend,
        }
    }
}

impl From<ErrorDetail> for Error {
    #[cold]
    fn from(detail: ErrorDetail) -> Self {
        Self(Box::new(Repr { detail, call: None }))
    }
}

impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = f.debug_struct("Error");
        out.field("detail", &self.0.detail);
        if let Some(call) = &self.0.call {
            out.field("operation", &call.operation)
                .field("store", &call.store)
                .field("collection", &call.collection);
        }
        out.finish()
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0.detail, f)?;
        if let Some(call) = &self.0.call {
            let store = crate::observe::short_name(call.store);
            write!(f, " ({} on {store}", call.operation)?;
            if !call.collection.is_empty() {
                write!(f, ", collection {:?}", call.collection)?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0.detail)
    }
}

impl Error {
    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        self.0.detail.kind()
    }

    /// What went wrong, in detail.
    pub fn detail(&self) -> &ErrorDetail {
        &self.0.detail
    }

    /// The details, owned.
    pub fn into_detail(self) -> ErrorDetail {
        self.0.detail
    }

    /// The collection of the entry this error is about, else of the call it came from.
    pub fn collection(&self) -> Option<&str> {
        self.entry()
            .map(|(collection, _)| collection)
            .or_else(|| self.0.call.as_ref().map(|call| &*call.collection))
            .filter(|collection| !collection.is_empty())
    }

    /// The operation the error came from (`"get"`, `"put_many"`, …), when it came from
    /// a store's call.
    pub fn operation(&self) -> Option<&'static str> {
        self.0.call.as_ref().map(|call| call.operation)
    }

    /// The type of the store whose call failed (the whole stack, as
    /// [`std::any::type_name`] gives it), when it came from a store's call.
    pub fn store_type(&self) -> Option<&'static str> {
        self.0.call.as_ref().map(|call| call.store)
    }

    #[cold]
    pub(crate) fn set_call(
        &mut self,
        store: &'static str,
        operation: &'static str,
        collection: &str,
    ) {
        if self.0.call.is_none() {
            self.0.call = Some(Call {
                store,
                operation,
                collection: collection.into(),
            });
        }
    }

    /// The key of the entry this error is about (corrupt data, (de)serialization,
    /// missing entry, decryption). It is kept here and never shown by `Display`.
    ///
    /// ```
    /// use kv_store_adapter::Error;
    /// let err = Error::corrupt("users", "ada@example.com", "bad header");
    /// assert_eq!(err.key(), Some("ada@example.com"));
    /// assert!(!err.to_string().contains("ada@example.com"));
    /// ```
    pub fn key(&self) -> Option<&str> {
        self.entry().map(|(_, key)| key)
    }

    fn entry(&self) -> Option<(&str, &str)> {
        match &self.0.detail {
            ErrorDetail::Corrupt {
                collection, key, ..
            }
            | ErrorDetail::Serialization {
                collection, key, ..
            }
            | ErrorDetail::Missing { collection, key }
            | ErrorDetail::Decryption { collection, key } => Some((collection, key)),
            _ => None,
        }
    }

    /// Whether retrying the same call may succeed (connection errors and timeouts).
    pub fn is_transient(&self) -> bool {
        matches!(self.kind(), ErrorKind::Connection | ErrorKind::Timeout)
    }

    /// An [`ErrorDetail::InvalidKey`] with the given reason.
    pub fn invalid_key(reason: impl Into<String>) -> Self {
        ErrorDetail::InvalidKey {
            reason: reason.into(),
        }
        .into()
    }

    /// An [`ErrorDetail::InvalidTtl`].
    pub fn invalid_ttl(ttl: Duration, reason: &'static str) -> Self {
        ErrorDetail::InvalidTtl { ttl, reason }.into()
    }

    /// An [`ErrorDetail::TooLarge`].
    pub fn too_large(size: usize, limit: usize) -> Self {
        ErrorDetail::TooLarge { size, limit }.into()
    }

    /// An [`ErrorDetail::TooSmall`].
    pub fn too_small(size: usize, limit: usize) -> Self {
        ErrorDetail::TooSmall { size, limit }.into()
    }

    /// An [`ErrorDetail::Corrupt`] for the entry under `collection`/`key`.
    pub fn corrupt(collection: &str, key: &str, reason: impl Into<String>) -> Self {
        ErrorDetail::Corrupt {
            collection: collection.to_owned(),
            key: key.to_owned(),
            reason: reason.into(),
        }
        .into()
    }

    /// An [`ErrorDetail::Serialization`] for the value under `collection`/`key`.
    pub fn serialization(collection: &str, key: &str, source: impl Into<BoxError>) -> Self {
        ErrorDetail::Serialization {
            collection: collection.to_owned(),
            key: key.to_owned(),
            source: source.into(),
        }
        .into()
    }

    /// An [`ErrorDetail::Connection`] keeping `source`.
    pub fn connection(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        ErrorDetail::Connection {
            message: message.into(),
            source: Some(source.into()),
        }
        .into()
    }

    /// An [`ErrorDetail::Connection`] without a source.
    pub fn connection_msg(message: impl Into<String>) -> Self {
        ErrorDetail::Connection {
            message: message.into(),
            source: None,
        }
        .into()
    }

    /// An [`ErrorDetail::Timeout`] after `limit`.
    pub fn timeout(limit: Duration) -> Self {
        ErrorDetail::Timeout(limit).into()
    }

    /// An [`ErrorDetail::ReadOnly`].
    pub fn read_only() -> Self {
        ErrorDetail::ReadOnly.into()
    }

    /// An [`ErrorDetail::Missing`] for `collection`/`key`.
    pub fn missing(collection: &str, key: &str) -> Self {
        ErrorDetail::Missing {
            collection: collection.to_owned(),
            key: key.to_owned(),
        }
        .into()
    }

    /// An [`ErrorDetail::Decryption`] for the value under `collection`/`key`.
    pub fn decryption(collection: &str, key: &str) -> Self {
        ErrorDetail::Decryption {
            collection: collection.to_owned(),
            key: key.to_owned(),
        }
        .into()
    }

    /// An [`ErrorDetail::Setup`] keeping `source`.
    pub fn setup(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        ErrorDetail::Setup {
            message: message.into(),
            source: Some(source.into()),
        }
        .into()
    }

    /// An [`ErrorDetail::Setup`] without a source.
    pub fn setup_msg(message: impl Into<String>) -> Self {
        ErrorDetail::Setup {
            message: message.into(),
            source: None,
        }
        .into()
    }

    /// An [`ErrorDetail::Unsupported`]: the store lacks `what`.
    pub fn unsupported(what: &'static str) -> Self {
        ErrorDetail::Unsupported(what).into()
    }

    /// An [`ErrorDetail::OutcomeUnknown`] after the failure `source`.
    pub fn outcome_unknown(source: Option<Error>) -> Self {
        ErrorDetail::OutcomeUnknown {
            source: source.map(|e| Box::new(e) as BoxError),
        }
        .into()
    }

    /// An [`ErrorDetail::Backend`] keeping `source`.
    pub fn backend(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        ErrorDetail::Backend {
            message: message.into(),
            source: Some(source.into()),
        }
        .into()
    }

    /// An [`ErrorDetail::Backend`] without a source.
    pub fn backend_msg(message: impl Into<String>) -> Self {
        ErrorDetail::Backend {
            message: message.into(),
            source: None,
        }
        .into()
    }
}
