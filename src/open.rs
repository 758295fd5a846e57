//! `open(url)`: a store chosen at run time, from configuration.
// The URL helpers serve the schemes compiled in: with some store features off, some go
// unused.
#![cfg_attr(
    not(all(
        feature = "memory",
        feature = "disk",
        feature = "redis",
        feature = "memcached",
        feature = "mongodb",
        feature = "elasticsearch"
    )),
    allow(dead_code, unused_mut)
)]

#[cfg(any(
    feature = "redis",
    feature = "memcached",
    feature = "mongodb",
    feature = "elasticsearch"
))]
use crate::stores::Timeouts;
use crate::{BoxStore, Error, Result};

/// Opens the store a URL names, boxed with the capabilities it has.
///
/// | URL | store | query parameters |
/// |---|---|---|
/// | `memory://` | [`MemoryStore`](crate::stores::MemoryStore) | `max_entries` (10,000) |
/// | `redb:///abs/file.redb`, `redb://rel/file.redb` | [`DiskStore`](crate::stores::DiskStore) (feature `disk`) | `durable` (true), `inline_reads` (unset: adaptive), `cache_size` (bytes) |
/// | `multidisk:///abs/dir` | [`MultiDiskStore`](crate::stores::MultiDiskStore) (feature `disk`) | `durable` (true), `max_open_files` (64), `writer_threads` (4) |
/// | `null://` | [`NullStore`](crate::stores::NullStore) | |
/// | `redis://`, `rediss://`, `valkey://`, `valkeys://` | [`RedisStore`](crate::stores::RedisStore) (feature `redis`; TLS: `redis-tls`) | `namespace`, `index` (false: [`with_index`](crate::stores::RedisStore::with_index)), `tls_ca_file`, timeouts; the rest go to redis-rs |
/// | `redis-cluster://h1:p1,h2:p2/`, `rediss-cluster://…` | `RedisClusterStore` (feature `redis-cluster`; TLS: `redis-tls`) | `namespace`, `index` (false), `tls_ca_file`, timeouts |
/// | `memcached://host:port` | [`MemcachedStore`](crate::stores::MemcachedStore) (feature `memcached`) | `namespace`, `pool_size` (4), `generation_refresh` (1s), timeouts |
/// | `mongodb://…/database`, `mongodb+srv://…` | [`MongoStore`](crate::stores::MongoStore) (feature `mongodb`) | `prefix`, timeouts; the rest go to the driver; database `kv` when the path has none |
/// | `elasticsearch://host:port`, `elasticsearchs://…` (HTTPS) | [`ElasticsearchStore`](crate::stores::ElasticsearchStore) (feature `elasticsearch`) | `prefix`, `api_key_id` + `api_key`, timeouts; user and password as basic auth |
///
/// Timeouts, for every server store: `connect_timeout` and `timeout` (per round trip),
/// each a number with a unit: `250ms`, `5s`, `2m`. Values are percent-decoded; IPv6
/// hosts go in brackets (`redis://[::1]:6379/`).
///
/// An unknown scheme, a scheme whose feature is off, an unknown parameter (for stores
/// that take no others) or a malformed value is an
/// [`ErrorDetail::Setup`](crate::ErrorDetail::Setup) naming the problem; passwords,
/// tokens and keys never appear in errors (see [`redact`](crate::redact)).
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
/// assert!(open("memory://?max_entires=10").await.is_err()); // a typo is an error
/// # Ok(()) }
/// ```
pub async fn open(url: &str) -> Result<BoxStore> {
    let mut target = Target::parse(url)?;
    match target.scheme.as_str() {
        #[cfg(feature = "memory")]
        "memory" => {
            let max = target
                .number("max_entries")?
                .unwrap_or(crate::stores::DEFAULT_MAX_ENTRIES);
            target.no_others()?;
            let store = crate::stores::MemoryStore::with_max_entries(max);
            Ok(BoxStore::builder(store).all().build())
        }
        "null" => {
            target.no_others()?;
            Ok(BoxStore::builder(crate::stores::NullStore).all().build())
        }
        #[cfg(feature = "disk")]
        "redb" => {
            let path = target.path("redb:///var/lib/app/kv.redb")?;
            let mut builder = crate::stores::DiskStore::builder(path);
            if let Some(durable) = target.flag("durable")? {
                builder = builder.durable(durable);
            }
            if let Some(inline) = target.flag("inline_reads")? {
                builder = builder.inline_reads(inline);
            }
            if let Some(bytes) = target.number("cache_size")? {
                builder = builder.cache_size(bytes);
            }
            target.no_others()?;
            let store = tokio::task::spawn_blocking(move || builder.open())
                .await
                .map_err(|e| Error::setup("opening the redb file failed", e))??;
            Ok(BoxStore::builder(store).all().build())
        }
        #[cfg(feature = "disk")]
        "multidisk" => {
            let path = target.path("multidisk:///var/lib/app/kv")?;
            let durable = target.flag("durable")?.unwrap_or(true);
            let max = target
                .number("max_open_files")?
                .unwrap_or(crate::stores::DEFAULT_OPEN_FILES);
            let writers = target
                .number("writer_threads")?
                .unwrap_or(crate::stores::DEFAULT_WRITER_THREADS);
            target.no_others()?;
            let store = tokio::task::spawn_blocking(move || {
                crate::stores::MultiDiskStore::with_options(path, durable, max)
                    .map(|store| store.with_writer_threads(writers))
            })
            .await
            .map_err(|e| Error::setup("opening the directory failed", e))??;
            Ok(BoxStore::builder(store).all().build())
        }
        #[cfg(feature = "redis")]
        "redis" | "rediss" | "valkey" | "valkeys" => {
            use crate::stores::RedisStore;
            let namespace = target.take("namespace");
            let index = target.flag("index")?.unwrap_or(false);
            let ca_file = target.take("tls_ca_file");
            let timeouts = target.timeouts(Timeouts::default())?;
            let rest = target.rest_url();
            let store = match ca_file {
                #[cfg(feature = "redis-tls")]
                Some(path) => RedisStore::connect_tls(&rest, path, timeouts).await?,
                #[cfg(not(feature = "redis-tls"))]
                Some(_) => return Err(setup("tls_ca_file needs the `redis-tls` Cargo feature")),
                None => RedisStore::connect_with_timeouts(&rest, timeouts).await?,
            };
            redis_boxed(store, namespace, index)
        }
        #[cfg(feature = "redis-cluster")]
        "redis-cluster" | "rediss-cluster" => {
            use crate::stores::RedisClusterStore;
            let namespace = target.take("namespace");
            let index = target.flag("index")?.unwrap_or(false);
            let ca_file = target.take("tls_ca_file");
            let timeouts = target.timeouts(Timeouts::default())?;
            target.no_others()?;
            let nodes = target.cluster_nodes()?;
            let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
            let store = match ca_file {
                #[cfg(feature = "redis-tls")]
                Some(path) => {
                    RedisClusterStore::connect_cluster_tls(&nodes, path, timeouts).await?
                }
                #[cfg(not(feature = "redis-tls"))]
                Some(_) => return Err(setup("tls_ca_file needs the `redis-tls` Cargo feature")),
                None => RedisClusterStore::connect_cluster_with_timeouts(&nodes, timeouts).await?,
            };
            redis_boxed(store, namespace, index)
        }
        #[cfg(feature = "memcached")]
        "memcached" => {
            let namespace = target.take("namespace");
            let pool = target
                .number("pool_size")?
                .unwrap_or(crate::stores::MemcachedOptions::DEFAULT_POOL_SIZE);
            let refresh = target.duration("generation_refresh")?;
            let timeouts = target.timeouts(Timeouts::default())?;
            target.no_others()?;
            let address = target.host_port()?;
            let mut store =
                crate::stores::MemcachedStore::connect_with_pool(&address, pool, timeouts).await?;
            if let Some(ns) = namespace {
                store = store.with_namespace(&ns)?;
            }
            if let Some(refresh) = refresh {
                store = store.with_generation_refresh(refresh);
            }
            Ok(BoxStore::builder(store).destroy().build())
        }
        #[cfg(feature = "mongodb")]
        "mongodb" | "mongodb+srv" => {
            let prefix = target.take("prefix");
            let timeouts = target.timeouts(Timeouts::documents())?;
            let database = target.database().unwrap_or_else(|| "kv".into());
            let store = crate::stores::MongoStore::connect_with_timeouts(
                &target.rest_url(),
                &database,
                timeouts,
            )
            .await?;
            let store = match prefix {
                Some(prefix) => store.with_namespace(&prefix)?,
                None => store,
            };
            Ok(BoxStore::builder(store)
                .keys()
                .collections()
                .destroy_collection()
                .destroy()
                .build())
        }
        #[cfg(feature = "elasticsearch")]
        "elasticsearch" | "elasticsearchs" => {
            let prefix = target.take("prefix");
            let api_key = match (target.take("api_key_id"), target.take("api_key")) {
                (Some(id), Some(secret)) => Some((id, secret)),
                (None, None) => None,
                _ => return Err(setup("api_key_id and api_key go together")),
            };
            let timeouts = target.timeouts(Timeouts::documents())?;
            target.no_others()?;
            let mut options = crate::stores::ElasticsearchOptions::new(target.http_url()?)
                .with_timeouts(timeouts);
            options.api_key = api_key;
            options.basic = target.credentials();
            let store = crate::stores::ElasticsearchStore::connect_with(&options).await?;
            let store = match prefix {
                Some(prefix) => store.with_namespace(&prefix)?,
                None => store,
            };
            Ok(BoxStore::builder(store).all().build())
        }
        other => Err(setup(match SCHEMES.iter().find(|(s, _)| *s == other) {
            Some((_, feature)) => {
                format!("the {other}:// scheme needs the `{feature}` Cargo feature, which is off")
            }
            None => format!(
                "unknown store scheme {other:?} in {} (known: {})",
                target.shown,
                SCHEMES
                    .iter()
                    .map(|(s, _)| *s)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })),
    }
}

/// A Redis store (standalone or cluster) in `namespace`, boxed with its capabilities.
#[cfg(feature = "redis")]
fn redis_boxed<C: crate::stores::RedisConnection>(
    store: crate::stores::RedisStore<C>,
    namespace: Option<String>,
    index: bool,
) -> Result<BoxStore> {
    let mut store = match namespace {
        Some(ns) => store.with_namespace(&ns)?,
        None => store,
    };
    if index {
        store = store.with_index();
    }
    Ok(BoxStore::builder(store)
        .keys()
        .collections()
        .destroy_collection()
        .destroy()
        .build())
}

/// Every scheme `open` knows, and the Cargo feature it needs.
const SCHEMES: &[(&str, &str)] = &[
    ("memory", "memory"),
    ("null", ""),
    ("redb", "disk"),
    ("multidisk", "disk"),
    ("redis", "redis"),
    ("rediss", "redis-tls"),
    ("valkey", "valkey"),
    ("valkeys", "redis-tls"),
    ("redis-cluster", "redis-cluster"),
    ("rediss-cluster", "redis-cluster"),
    ("memcached", "memcached"),
    ("mongodb", "mongodb"),
    ("mongodb+srv", "mongodb"),
    ("elasticsearch", "elasticsearch"),
    ("elasticsearchs", "elasticsearch"),
];

fn setup(message: impl Into<String>) -> Error {
    Error::setup_msg(message.into())
}

use crate::redact::redact;

/// One query parameter: as written (kept byte for byte when passed on) and decoded.
#[derive(Debug)]
struct Param {
    raw: String,
    name: String,
    value: String,
}

/// A store URL taken apart: scheme, what follows `://` up to the query, and the query
/// parameters not yet used.
#[derive(Debug)]
struct Target {
    scheme: String,
    /// `user:pass@host:port/path`, as written.
    rest: String,
    params: Vec<Param>,
    /// The URL as errors may show it.
    shown: String,
}

impl Target {
    fn parse(url: &str) -> Result<Self> {
        let shown = redact(url);
        let (scheme, after) = url
            .split_once("://")
            .ok_or_else(|| setup(format!("{shown:?} is not a URL (scheme://…)")))?;
        if url.contains(['\r', '\n', '\0']) {
            return Err(setup(format!("{shown:?} holds a control character")));
        }
        let after = after.split('#').next().unwrap_or_default();
        let (rest, query) = after.split_once('?').unwrap_or((after, ""));
        let params = query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = form_urlencoded::parse(pair.as_bytes())
                    .next()
                    .map(|(n, v)| (n.into_owned(), v.into_owned()))
                    .unwrap_or_default();
                Param {
                    raw: pair.to_owned(),
                    name,
                    value,
                }
            })
            .collect();
        Ok(Self {
            scheme: scheme.to_ascii_lowercase(),
            rest: rest.to_owned(),
            params,
            shown,
        })
    }

    /// Removes the parameter `name` and gives its (last) value.
    fn take(&mut self, name: &str) -> Option<String> {
        let mut found = None;
        self.params.retain(|p| {
            let hit = p.name == name;
            if hit {
                found = Some(p.value.clone());
            }
            !hit
        });
        found
    }

    /// Names a parameter's bad value without showing it when it could be a secret.
    fn bad(&self, name: &str, value: &str, expected: &str) -> Error {
        let shown = if crate::redact::is_secret(name) {
            "***"
        } else {
            value
        };
        setup(format!(
            "{name}={shown:?} in {}: expected {expected}",
            self.shown
        ))
    }

    fn number<T: std::str::FromStr>(&mut self, name: &str) -> Result<Option<T>> {
        match self.take(name) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| self.bad(name, &v, "a whole number")),
        }
    }

    fn flag(&mut self, name: &str) -> Result<Option<bool>> {
        match self.take(name).as_deref() {
            None => Ok(None),
            Some("true" | "1" | "yes" | "on") => Ok(Some(true)),
            Some("false" | "0" | "no" | "off") => Ok(Some(false)),
            Some(v) => Err(self.bad(name, v, "true or false")),
        }
    }

    /// A duration written as a number and a unit: `250ms`, `5s`, `2m`, `1h`.
    fn duration(&mut self, name: &str) -> Result<Option<std::time::Duration>> {
        let Some(v) = self.take(name) else {
            return Ok(None);
        };
        crate::duration::parse(&v)
            .map(Some)
            .ok_or_else(|| self.bad(name, &v, "a number with a unit: 250ms, 5s, 2m or 1h"))
    }

    /// `connect_timeout` and `timeout` over `defaults`.
    #[cfg(any(
        feature = "redis",
        feature = "memcached",
        feature = "mongodb",
        feature = "elasticsearch"
    ))]
    fn timeouts(&mut self, defaults: Timeouts) -> Result<Timeouts> {
        let mut timeouts = defaults;
        if let Some(connect) = self.duration("connect_timeout")? {
            timeouts = timeouts.connect(connect);
        }
        if let Some(operation) = self.duration("timeout")? {
            timeouts = timeouts.operation(operation);
        }
        Ok(timeouts)
    }

    /// Fails on any parameter left: the store takes no others (a typo must not pass).
    fn no_others(&self) -> Result<()> {
        match self.params.first() {
            None => Ok(()),
            Some(p) => Err(setup(format!(
                "unknown parameter {:?} for {}:// in {}",
                p.name, self.scheme, self.shown
            ))),
        }
    }

    /// The URL without the parameters taken, for a client that parses its own.
    fn rest_url(&self) -> String {
        let mut url = format!("{}://{}", self.scheme, self.rest);
        if !self.params.is_empty() {
            let raw: Vec<&str> = self.params.iter().map(|p| p.raw.as_str()).collect();
            url.push('?');
            url.push_str(&raw.join("&"));
        }
        url
    }

    /// The percent-decoded file path of `redb:///abs` or `redb://relative`.
    fn path(&self, example: &str) -> Result<std::path::PathBuf> {
        if self.rest.is_empty() || self.rest == "/" {
            return Err(setup(format!(
                "{}:// needs a path, e.g. {example}",
                self.scheme
            )));
        }
        let decoded = percent_encoding::percent_decode_str(&self.rest)
            .decode_utf8()
            .map_err(|_| setup(format!("the path in {} is not UTF-8", self.shown)))?;
        Ok(std::path::PathBuf::from(decoded.into_owned()))
    }

    /// The authority parsed by the `url` crate (IPv6 in brackets, percent-decoding).
    #[cfg(any(feature = "memcached", feature = "elasticsearch"))]
    fn authority(&self) -> Result<url::Url> {
        let parsed = url::Url::parse(&format!("http://{}", self.rest))
            .map_err(|e| Error::setup(format!("invalid URL {}", self.shown), e))?;
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(setup(format!("{} names no host", self.shown)));
        }
        Ok(parsed)
    }

    /// `host:port` (IPv6 hosts in brackets), refusing a user, password or path.
    #[cfg(feature = "memcached")]
    fn host_port(&self) -> Result<String> {
        let parsed = self.authority()?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(setup(format!(
                "{} has a user or password, which memcached's text protocol cannot use",
                self.shown
            )));
        }
        if parsed.path() != "/" {
            return Err(setup(format!(
                "{} has a path memcached cannot use",
                self.shown
            )));
        }
        let host = parsed.host_str().unwrap_or_default();
        Ok(format!("{host}:{}", parsed.port().unwrap_or(11211)))
    }

    /// `http(s)://host:port/path` for Elasticsearch, credentials left out.
    #[cfg(feature = "elasticsearch")]
    fn http_url(&self) -> Result<String> {
        let mut parsed = self.authority()?;
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        if self.scheme == "elasticsearchs" {
            let _ = parsed.set_scheme("https");
        }
        if parsed.port().is_none() {
            let _ = parsed.set_port(Some(9200));
        }
        Ok(parsed.into())
    }

    /// The percent-decoded user and password, if any.
    #[cfg(feature = "elasticsearch")]
    fn credentials(&self) -> Option<(String, String)> {
        let parsed = self.authority().ok()?;
        if parsed.username().is_empty() {
            return None;
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        Some((
            decode(parsed.username()),
            decode(parsed.password().unwrap_or_default()),
        ))
    }

    /// The database named by a MongoDB URL's path, if any.
    #[cfg(feature = "mongodb")]
    fn database(&self) -> Option<String> {
        let (_, path) = self.rest.split_once('/')?;
        let decoded = percent_encoding::percent_decode_str(path)
            .decode_utf8()
            .ok()?;
        (!decoded.is_empty()).then(|| decoded.into_owned())
    }

    /// `redis://` (or `rediss://`) node URLs from `redis-cluster://[user:pass@]h1:p1,h2:p2/`.
    #[cfg(feature = "redis-cluster")]
    fn cluster_nodes(&self) -> Result<Vec<String>> {
        let tls = self.scheme == "rediss-cluster";
        let authority = self.rest.split('/').next().unwrap_or_default();
        let (userinfo, hosts) = match authority.rsplit_once('@') {
            Some((user, hosts)) => (format!("{user}@"), hosts),
            None => (String::new(), authority),
        };
        let nodes: Vec<String> = hosts
            .split(',')
            .filter(|h| !h.is_empty())
            .map(|h| format!("{}://{userinfo}{h}/", if tls { "rediss" } else { "redis" }))
            .collect();
        if nodes.is_empty() {
            return Err(setup(format!(
                "{} names no node: redis-cluster://host:port,host:port/",
                self.shown
            )));
        }
        Ok(nodes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_decoded_and_passed_on_byte_for_byte() {
        let mut t = Target::parse("redis://h:1/0?namespace=a%2Db&protocol=resp3").unwrap();
        assert_eq!(t.take("namespace").as_deref(), Some("a-b"));
        assert_eq!(t.rest_url(), "redis://h:1/0?protocol=resp3");
        let mut t = Target::parse("redis://h/0?namespace=a").unwrap();
        t.take("namespace");
        assert_eq!(t.rest_url(), "redis://h/0");
    }

    #[test]
    fn a_bad_secret_value_is_not_shown() {
        let mut t = Target::parse("redis://h/?token=hunter2").unwrap();
        let err = t.number::<u32>("token").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
