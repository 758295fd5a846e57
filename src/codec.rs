//! Codecs turning typed values into bytes for [`TypedStore`](crate::TypedStore).

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::BoxError;

/// Encodes and decodes values of any serde type.
///
/// ```
/// use kv_store_adapter::codec::{Codec, PostcardCodec};
/// let bytes = PostcardCodec::encode(&(1u8, "x")).unwrap();
/// let back: (u8, String) = PostcardCodec::decode(&bytes).unwrap();
/// assert_eq!(back, (1, "x".to_string()));
/// ```
pub trait Codec: Send + Sync + 'static {
    /// Encodes `value`.
    fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, BoxError>;
    /// Decodes a `T` from `bytes`; the whole input must be used.
    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BoxError>;
}

/// The compact binary [postcard](https://docs.rs/postcard) format (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct PostcardCodec;

impl Codec for PostcardCodec {
    fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, BoxError> {
        Ok(postcard::to_allocvec(value)?)
    }

    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BoxError> {
        let (value, rest) = postcard::take_from_bytes(bytes)?;
        if rest.is_empty() {
            Ok(value)
        } else {
            Err(format!("{} trailing bytes after the value", rest.len()).into())
        }
    }
}

/// JSON, readable by other programs sharing the store.
#[cfg(feature = "json")]
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonCodec;

#[cfg(feature = "json")]
impl Codec for JsonCodec {
    fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, BoxError> {
        Ok(serde_json::to_vec(value)?)
    }

    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BoxError> {
        Ok(serde_json::from_slice(bytes)?)
    }
}
