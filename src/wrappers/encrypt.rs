//! `Encrypt`: authenticated encryption of every value.

use std::fmt;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::offload;
use crate::{
    Condition, ConditionalWrites, DeleteOptions, Entry, Error, GetOptions, Key, PutOptions, Result,
    Store, Version, Written,
};

/// Format byte of an encrypted value: `[FORMAT, key id: u32 LE, nonce: 24, ciphertext+tag]`.
const FORMAT: u8 = 0xE1;
const NONCE: usize = 24;
const HEADER: usize = 1 + 4 + NONCE;

/// A 256-bit key with the id stored beside each value it encrypts. Its bytes never
/// appear in `Debug` output.
///
/// ```
/// use kv_store_adapter::wrappers::EncryptionKey;
/// let key = EncryptionKey::new(1, [7u8; 32]);
/// assert_eq!(format!("{key:?}"), "EncryptionKey { id: 1, key: <redacted> }");
/// ```
#[derive(Clone)]
pub struct EncryptionKey {
    id: u32,
    cipher: XChaCha20Poly1305,
}

impl EncryptionKey {
    /// A key from 32 bytes of key material.
    pub fn new(id: u32, key: [u8; 32]) -> Self {
        Self {
            id,
            cipher: XChaCha20Poly1305::new(&key.into()),
        }
    }

    /// The key's id.
    pub fn id(&self) -> u32 {
        self.id
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncryptionKey {{ id: {}, key: <redacted> }}", self.id)
    }
}

/// Encrypts every value with XChaCha20-Poly1305 (RustCrypto): a random 192-bit nonce
/// per value, so random nonces never repeat in practice. The collection and key are
/// bound as associated data, so a ciphertext copied under another name fails to
/// decrypt. Each value carries its key's id: several keys can read while one writes,
/// which is how keys are rotated. Tampering is a [`Decryption`](crate::ErrorDetail::Decryption)
/// error; bytes not in this format are [`Corrupt`](crate::ErrorDetail::Corrupt).
/// Values of 256 KiB or more in one call (a batch counts together) are sealed and
/// opened on tokio's blocking threads, so they do not hold up the executor; smaller
/// ones in place.
///
/// ```
/// use bytes::Bytes;
/// use kv_store_adapter::{KvStore, KvStoreExt, stores::SimpleStore, wrappers::EncryptionKey};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let inner = SimpleStore::new();
/// let store = inner.clone().encrypt(EncryptionKey::new(1, [42; 32]), []);
/// store.put("secrets", "token", Bytes::from_static(b"hunter2"), None).await?;
/// assert!(!inner.entries()[0].value.windows(7).any(|w| w == b"hunter2"));
/// assert_eq!(store.get("secrets", "token").await?.as_deref(), Some(&b"hunter2"[..]));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Encrypt<S> {
    inner: S,
    keys: Arc<Keys>,
}

#[derive(Debug)]
struct Keys {
    write: EncryptionKey,
    read: Vec<EncryptionKey>,
}

impl<S> Encrypt<S> {
    /// Encrypts with `write`; decrypts values made with `write` or any of `read`.
    pub fn new(
        inner: S,
        write: EncryptionKey,
        read: impl IntoIterator<Item = EncryptionKey>,
    ) -> Self {
        let read = read.into_iter().collect();
        Self {
            inner,
            keys: Arc::new(Keys { write, read }),
        }
    }

    /// The stored form of `value` under `collection`/`key`.
    pub fn seal(&self, collection: &str, key: &str, value: &[u8]) -> Result<Bytes> {
        self.keys.seal(collection, key, value)
    }

    /// The value of a stored form read under `collection`/`key`.
    pub fn open(&self, collection: &str, key: &str, stored: &[u8]) -> Result<Bytes> {
        self.keys.open(collection, key, stored)
    }

    /// The stored form of `value` under `key`, sealed off the executor when it is large.
    async fn seal_value(&self, key: Key<'_>, value: Bytes) -> Result<Bytes> {
        let k = key.joined();
        if !offload::is_large(value.len()) {
            return self.seal(key.collection(), &k, &value);
        }
        let sealed = self.seal_entries(key.collection(), &[(&k, value)]).await?;
        sealed
            .into_iter()
            .next()
            .ok_or_else(|| Error::backend_msg("a sealed batch of one came back empty"))
    }

    /// The stored forms of `entries` of `c`, sealed off the executor when they are
    /// large together.
    async fn seal_entries(&self, c: &str, entries: &[(&str, Bytes)]) -> Result<Vec<Bytes>> {
        let keys = self.keys.clone();
        offload::map_values(c, entries, move |c, k, v| keys.seal(c, k, v)).await
    }

    /// The values of `stored` (read for `keys` of `c`), opened off the executor when
    /// they are large together.
    async fn open_entries(
        &self,
        c: &str,
        keys: &[&str],
        stored: Vec<Option<Entry>>,
    ) -> Result<Vec<Option<Entry>>> {
        let work = stored.iter().flatten().map(|e| e.value.len()).sum();
        let own = self.keys.clone();
        offload::map_entries(c, keys, stored, work, move |c, k, v| own.open(c, k, &v)).await
    }
}

impl Keys {
    fn key(&self, id: u32) -> Option<&EncryptionKey> {
        std::iter::once(&self.write)
            .chain(&self.read)
            .find(|k| k.id == id)
    }

    fn seal(&self, collection: &str, key: &str, value: &[u8]) -> Result<Bytes> {
        let mut nonce = [0u8; NONCE];
        getrandom::fill(&mut nonce).map_err(|e| Error::backend("no randomness for a nonce", e))?;
        let aad = associated_data(collection, key);
        let write = &self.write;
        let sealed = write
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: value,
                    aad: &aad,
                },
            )
            .map_err(|_| Error::backend("encryption failed", "aead error"))?;
        let mut out = BytesMut::with_capacity(HEADER + sealed.len());
        out.put_u8(FORMAT);
        out.put_u32_le(write.id);
        out.put_slice(&nonce);
        out.put_slice(&sealed);
        Ok(out.freeze())
    }

    fn open(&self, collection: &str, key: &str, stored: &[u8]) -> Result<Bytes> {
        if stored.len() < HEADER + 16 || stored[0] != FORMAT {
            return Err(Error::corrupt(collection, key, "not an encrypted value"));
        }
        let id = u32::from_le_bytes([stored[1], stored[2], stored[3], stored[4]]);
        let nonce = XNonce::from_slice(&stored[5..HEADER]);
        let failed = || Error::decryption(collection, key);
        let cipher = &self.key(id).ok_or_else(failed)?.cipher;
        let aad = associated_data(collection, key);
        let msg = &stored[HEADER..];
        cipher
            .decrypt(nonce, Payload { msg, aad: &aad })
            .map(Bytes::from)
            .map_err(|_| failed())
    }
}

/// `(collection, key)`, length-prefixed so the binding is injective.
fn associated_data(collection: &str, key: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(8 + collection.len() + key.len());
    aad.extend_from_slice(&(collection.len() as u64).to_le_bytes());
    aad.extend_from_slice(collection.as_bytes());
    aad.extend_from_slice(key.as_bytes());
    aad
}

impl<S: Store> Store for Encrypt<S> {
    crate::forward_methods!(inner; delete_opts, delete_many_opts);

    async fn get_opts(&self, key: Key<'_>, opts: GetOptions) -> Result<Option<Entry>> {
        let stored = self.inner.get_opts(key, opts).await?;
        let (c, k) = (key.collection(), key.joined());
        match stored {
            Some(e) if offload::is_large(e.value.len()) => {
                let opened = self.open_entries(c, &[&k], vec![Some(e)]).await?;
                Ok(opened.into_iter().next().flatten())
            }
            stored => stored
                .map(|e| e.try_map(|v| self.open(c, &k, &v)))
                .transpose(),
        }
    }

    async fn put_opts(&self, key: Key<'_>, v: Bytes, opts: PutOptions) -> Result<()> {
        let sealed = self.seal_value(key, v).await?;
        self.inner.put_opts(key, sealed, opts).await
    }

    async fn get_many_opts(
        &self,
        c: &str,
        keys: &[&str],
        opts: GetOptions,
    ) -> Result<Vec<Option<Entry>>> {
        let stored = self.inner.get_many_opts(c, keys, opts).await?;
        self.open_entries(c, keys, stored).await
    }

    async fn put_many_opts(
        &self,
        c: &str,
        entries: &[(&str, Bytes)],
        opts: PutOptions,
    ) -> Result<()> {
        let sealed = self.seal_entries(c, entries).await?;
        let sealed: Vec<(&str, Bytes)> = entries.iter().map(|(k, _)| *k).zip(sealed).collect();
        self.inner.put_many_opts(c, &sealed, opts).await
    }
}

crate::forward_capabilities!(Encrypt, inner; enumerate_keys, enumerate_collections, destroy_collection, destroy, cull);

/// Versions pass through; the entry a rejected write reports is decrypted.
impl<S: ConditionalWrites> ConditionalWrites for Encrypt<S> {
    async fn put_if_opts(
        &self,
        key: Key<'_>,
        v: Bytes,
        condition: Condition,
        opts: PutOptions,
    ) -> Result<Written> {
        let sealed = self.seal_value(key, v).await?;
        let written = self.inner.put_if_opts(key, sealed, condition, opts).await?;
        written.try_map(|v| self.open(key.collection(), &key.joined(), &v))
    }

    fn delete_if_opts<'a>(
        &'a self,
        key: Key<'a>,
        version: Version,
        opts: DeleteOptions,
    ) -> impl Future<Output = Result<bool>> + Send {
        self.inner.delete_if_opts(key, version, opts)
    }
}
