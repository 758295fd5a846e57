//! `open(url)`: a store chosen at run time, from configuration.

use crate::{BoxStore, Error, Result};

/// Opens the store a URL names, boxed with the capabilities it has:
///
/// | URL | store |
/// |---|---|
/// | `memory://` or `memory://?max_entries=N` | [`MemoryStore`](crate::stores::MemoryStore) (10,000 entries by default) |
/// | `redb:///path/to/file.redb` | [`DiskStore`](crate::stores::DiskStore) |
/// | `redis://…`, `rediss://…` | [`RedisStore`](crate::stores::RedisStore) (feature `redis`) |
/// | `valkey://…`, `valkeys://…` | [`ValkeyStore`](crate::stores::ValkeyStore) (feature `valkey`) |
/// | `memcached://host:port` | [`MemcachedStore`](crate::stores::MemcachedStore) (feature `memcached`) |
///
/// Server URLs take an optional `namespace` query parameter; `rediss://` and
/// `valkeys://` (feature `redis-tls`) also `tls_ca_file=/path/ca.pem`, a PEM file of CA
/// certificates to trust instead of the web PKI roots. An unknown scheme, a
/// scheme whose feature is off, or a malformed URL is an [`ErrorDetail::Setup`](crate::ErrorDetail::Setup); passwords
/// never appear in errors.
///
/// ```
/// use bytes::Bytes;
/// use kv_store_adapter::{KvStore, open};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = open("memory://?max_entries=1000").await?;
/// store.put("c", "k", Bytes::from_static(b"v"), None).await?;
/// assert!(store.has_keys());
/// assert!(open("nosuch://x").await.is_err());
/// # Ok(()) }
/// ```
// With every store feature off, the parsed parts go unused.
#[cfg_attr(
    not(all(feature = "redis", feature = "memcached", feature = "disk")),
    allow(unused_variables)
)]
pub async fn open(url: &str) -> Result<BoxStore> {
    let shown = redact(url);
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| setup(format!("{shown:?} is not a URL (scheme://…)")))?;
    let (target, query) = rest.split_once('?').unwrap_or((rest, ""));
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    };
    match scheme {
        #[cfg(feature = "memory")]
        "memory" => {
            let max = match param("max_entries") {
                Some(n) => n
                    .parse()
                    .map_err(|_| setup(format!("max_entries={n:?} is not a number")))?,
                None => 10_000,
            };
            Ok(BoxStore::builder(crate::stores::MemoryStore::new(max))
                .all()
                .build())
        }
        #[cfg(feature = "disk")]
        "redb" => {
            if target.is_empty() {
                return Err(setup(
                    "redb:// needs a file path, e.g. redb:///var/lib/app/kv.redb",
                ));
            }
            let path = target.to_owned();
            let store = tokio::task::spawn_blocking(move || crate::stores::DiskStore::open(path))
                .await
                .map_err(|e| Error::setup("opening the redb file failed", e))??;
            Ok(BoxStore::builder(store).all().build())
        }
        #[cfg(feature = "redis")]
        "redis" | "rediss" | "valkey" | "valkeys" => {
            let base = without_param(&without_param(url, "namespace"), "tls_ca_file");
            let mut store = match param("tls_ca_file") {
                #[cfg(feature = "redis-tls")]
                Some(path) => {
                    let path = form_urlencoded::parse(format!("p={path}").as_bytes())
                        .next()
                        .map(|(_, p)| p.into_owned())
                        .unwrap_or_default();
                    crate::stores::RedisStore::open_tls(&base, path, Default::default()).await?
                }
                #[cfg(not(feature = "redis-tls"))]
                Some(_) => {
                    return Err(setup(
                        "tls_ca_file needs the `redis-tls` Cargo feature".to_string(),
                    ));
                }
                None => crate::stores::RedisStore::open(&base).await?,
            };
            if let Some(ns) = param("namespace") {
                store = store.with_namespace(ns)?;
            }
            Ok(BoxStore::builder(store)
                .keys()
                .collections()
                .destroy_collection()
                .destroy()
                .build())
        }
        #[cfg(feature = "memcached")]
        "memcached" => {
            let mut store = crate::stores::MemcachedStore::open(target).await?;
            if let Some(ns) = param("namespace") {
                store = store.with_namespace(ns)?;
            }
            Ok(BoxStore::builder(store).destroy().build())
        }
        other => Err(setup(format!(
            "unknown or disabled store scheme {other:?} in {shown:?} \
             (memory, redb, redis, rediss, valkey, valkeys, memcached; server schemes need their Cargo feature)"
        ))),
    }
}

fn setup(message: impl Into<String>) -> Error {
    Error::setup_msg(message.into())
}

pub(crate) use crate::redact::redact;

/// `url` without the query parameter `name`.
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
fn without_param(url: &str, name: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| pair.split('=').next() != Some(name))
        .collect();
    if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_removed_cleanly() {
        assert_eq!(
            without_param("redis://h/0?namespace=a", "namespace"),
            "redis://h/0"
        );
        assert_eq!(
            without_param("redis://h/0?namespace=a&protocol=resp3", "namespace"),
            "redis://h/0?protocol=resp3"
        );
    }
}
