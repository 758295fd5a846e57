//! `Compress`: lz4-compress values above a threshold.

use bytes::{BufMut, Bytes, BytesMut};

use crate::offload;
use crate::{
    Condition, ConditionalWrites, DeleteOptions, Entry, Error, GetOptions, Key, PutOptions, Result,
    Store, Version, Written,
};

/// The value follows as is.
const PLAIN: u8 = 0x00;
/// `u32 LE` uncompressed length, `u32 LE` CRC-32 of the uncompressed value, then an
/// lz4 block (lz4 blocks carry no checksum: without ours, a flipped bit in a literal
/// would decompress to a wrong value).
const LZ4: u8 = 0x01;
/// The largest value `Compress` will inflate (a guard against hostile length fields).
const MAX_INFLATED: usize = 256 << 20;

/// Compresses values of at least `threshold` bytes with lz4 (pure Rust `lz4_flex`).
/// lz4 was chosen over zstd by measurement (`benches/wrappers.rs`, JSON-like records):
/// with its CRC-32, lz4 here compresses at 1.3-2.0 GB/s and decompresses at 3-5 GB/s,
/// zstd level 1 (reused contexts) at 0.3-1.1 GB/s and 0.6-2.8 GB/s — 2-5x slower, for
/// output 1.4-4.6x smaller. On a cache's hot path the speed matters more. Every stored value starts with a format byte — plain or lz4 — so
/// compressed and plain values coexist and the threshold can change at any time; a
/// value that does not shrink is stored plain. Bytes that are not in this format, or
/// do not decompress to a value matching its CRC-32, are a [`Corrupt`](crate::ErrorDetail::Corrupt)
/// error. Values of 256 KiB or more in one call (a batch counts together; a compressed
/// value by its inflated length) are compressed and decompressed on tokio's blocking
/// threads, so they do not hold up the executor; smaller ones in place.
///
/// ```
/// use bytes::Bytes;
/// use kv_store_adapter::{KvStore, KvStoreExt, stores::SimpleStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let inner = SimpleStore::new();
/// let store = inner.clone().compress(256);
/// let page = Bytes::from("<p>hello</p>".repeat(100));
/// store.put("pages", "home", page.clone(), None).await?;
/// assert!(inner.entries()[0].value.len() < page.len() / 4);
/// assert_eq!(store.get("pages", "home").await?, Some(page));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Compress<S> {
    inner: S,
    threshold: usize,
}

impl<S> Compress<S> {
    /// Compresses values of `threshold` bytes or more.
    pub fn new(inner: S, threshold: usize) -> Self {
        Self { inner, threshold }
    }

    /// The stored form of `value`.
    pub fn encode(&self, value: &[u8]) -> Bytes {
        pack(self.threshold, value)
    }

    /// The stored form of `value`, made off the executor when it is large.
    async fn encode_value(&self, value: Bytes) -> Result<Bytes> {
        if !offload::is_large(value.len()) {
            return Ok(self.encode(&value));
        }
        let threshold = self.threshold;
        offload::off(move || Ok(pack(threshold, &value))).await
    }

    /// The values of `stored` (read for `keys` of `c`), decoded off the executor when
    /// they are large together (by their inflated length).
    async fn decode_entries(
        c: &str,
        keys: &[&str],
        stored: Vec<Option<Entry>>,
    ) -> Result<Vec<Option<Entry>>> {
        let work = stored
            .iter()
            .flatten()
            .map(|e| inflated_len(&e.value))
            .sum();
        offload::map_entries(c, keys, stored, work, Compress::<()>::decode).await
    }

    /// The value of a stored form.
    pub fn decode(collection: &str, key: &str, stored: Bytes) -> Result<Bytes> {
        let corrupt =
            |why: &str| Error::corrupt(collection, key, format!("compressed value: {why}"));
        match stored.first() {
            Some(&PLAIN) => Ok(stored.slice(1..)),
            Some(&LZ4) => {
                let (header, block) = stored[1..]
                    .split_first_chunk::<8>()
                    .ok_or_else(|| corrupt("truncated header"))?;
                let [l0, l1, l2, l3, c0, c1, c2, c3] = *header;
                let len = u32::from_le_bytes([l0, l1, l2, l3]) as usize;
                let crc = u32::from_le_bytes([c0, c1, c2, c3]);
                // lz4 inflates at most ~255x: a larger claim is damage, refused before
                // anything is allocated for it.
                if len > MAX_INFLATED || len > block.len().saturating_mul(256) + 16 {
                    return Err(corrupt("declared length too large"));
                }
                match lz4_flex::block::decompress(block, len) {
                    Ok(out) if out.len() == len && crc32fast::hash(&out) == crc => Ok(out.into()),
                    Ok(out) if out.len() == len => Err(corrupt("checksum mismatch")),
                    Ok(_) => Err(corrupt("length mismatch")),
                    Err(e) => Err(corrupt(&e.to_string())),
                }
            }
            Some(_) => Err(corrupt("unknown format byte")),
            None => Err(corrupt("empty")),
        }
    }
}

/// How long the value of a stored form is, as its header says (the work of decoding
/// it: a small lz4 block may inflate to megabytes).
fn inflated_len(stored: &[u8]) -> usize {
    match stored {
        [LZ4, l0, l1, l2, l3, ..] => u32::from_le_bytes([*l0, *l1, *l2, *l3]) as usize,
        _ => stored.len(),
    }
}

/// The stored form of `value`: lz4 behind its header when at least `threshold` bytes
/// and it shrinks, else plain.
fn pack(threshold: usize, value: &[u8]) -> Bytes {
    if value.len() >= threshold {
        // Compress straight behind the header: no second copy of the output.
        let mut out = vec![0; 9 + lz4_flex::block::get_maximum_output_size(value.len())];
        if let Ok(packed) = lz4_flex::block::compress_into(value, &mut out[9..])
            && packed + 8 < value.len()
        {
            out[0] = LZ4;
            out[1..5].copy_from_slice(&(value.len() as u32).to_le_bytes());
            out[5..9].copy_from_slice(&crc32fast::hash(value).to_le_bytes());
            out.truncate(9 + packed);
            return out.into();
        }
    }
    let mut out = BytesMut::with_capacity(1 + value.len());
    out.put_u8(PLAIN);
    out.put_slice(value);
    out.freeze()
}

impl<S: Store> Store for Compress<S> {
    crate::forward_methods!(inner; delete_opts, delete_many_opts);

    async fn get_opts(&self, key: Key<'_>, opts: GetOptions) -> Result<Option<Entry>> {
        let stored = self.inner.get_opts(key, opts).await?;
        let k = key.joined();
        match stored {
            Some(e) if offload::is_large(inflated_len(&e.value)) => {
                let decoded = Self::decode_entries(key.collection(), &[&k], vec![Some(e)]).await?;
                Ok(decoded.into_iter().next().flatten())
            }
            stored => stored
                .map(|e| e.try_map(|v| Self::decode(key.collection(), &k, v)))
                .transpose(),
        }
    }

    async fn put_opts(&self, key: Key<'_>, v: Bytes, opts: PutOptions) -> Result<()> {
        let stored = self.encode_value(v).await?;
        self.inner.put_opts(key, stored, opts).await
    }

    async fn get_many_opts(
        &self,
        c: &str,
        keys: &[&str],
        opts: GetOptions,
    ) -> Result<Vec<Option<Entry>>> {
        let stored = self.inner.get_many_opts(c, keys, opts).await?;
        Self::decode_entries(c, keys, stored).await
    }

    async fn put_many_opts(
        &self,
        c: &str,
        entries: &[(&str, Bytes)],
        opts: PutOptions,
    ) -> Result<()> {
        let threshold = self.threshold;
        let packed = offload::map_values(c, entries, move |_, _, v| Ok(pack(threshold, v)));
        let encoded: Vec<(&str, Bytes)> =
            entries.iter().map(|(k, _)| *k).zip(packed.await?).collect();
        self.inner.put_many_opts(c, &encoded, opts).await
    }
}

crate::forward_capabilities!(Compress, inner; enumerate_keys, enumerate_collections, destroy_collection, destroy, cull);

/// Versions pass through; the entry a rejected write reports is decompressed.
impl<S: ConditionalWrites> ConditionalWrites for Compress<S> {
    async fn put_if_opts(
        &self,
        key: Key<'_>,
        v: Bytes,
        condition: Condition,
        opts: PutOptions,
    ) -> Result<Written> {
        let stored = self.encode_value(v).await?;
        let written = self.inner.put_if_opts(key, stored, condition, opts).await?;
        written.try_map(|v| Self::decode(key.collection(), &key.joined(), v))
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
