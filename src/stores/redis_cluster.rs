//! `RedisClusterStore`: `RedisStore` over a Redis Cluster.

use redis::RedisResult;
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};

use super::RedisStore;
use super::redis::{RedisConnection, setup_error, tls_ready};
use crate::Result;
use crate::redact::redact;

/// A [`RedisStore`] on a Redis Cluster (`cluster-async`): every collection's keys share
/// one hash slot (its name is the key's hash tag), so batches are single-slot commands;
/// `destroy()` scans every primary, and so does `collections()` unless the store keeps
/// the index ([`with_index`](RedisStore::with_index)).
///
/// ```no_run
/// use kv_store_adapter::stores::RedisClusterStore;
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = RedisClusterStore::connect_cluster(&["redis://127.0.0.1:7000/", "redis://127.0.0.1:7001/"])
///     .await?
///     .with_namespace("app")?;
/// # Ok(()) }
/// ```
pub type RedisClusterStore = RedisStore<ClusterConnection>;

impl RedisStore<ClusterConnection> {
    /// Connects to the cluster through any of `nodes` (`redis://` URLs, or `rediss://` with the `redis-tls` feature),
    /// with the default [`Timeouts`](super::Timeouts): 5 s to connect, 5 s per command.
    pub async fn connect_cluster(nodes: &[&str]) -> Result<Self> {
        Self::connect_cluster_with_timeouts(nodes, super::Timeouts::default()).await
    }

    /// [`connect_cluster`](Self::connect_cluster) with other timeouts.
    pub async fn connect_cluster_with_timeouts(
        nodes: &[&str],
        timeouts: super::Timeouts,
    ) -> Result<Self> {
        Self::connect_inner(nodes, None, timeouts).await
    }

    /// Connects through `rediss://` `nodes`, trusting the CA certificates in the PEM
    /// file `ca_file` instead of the web PKI roots (features `redis-cluster` and
    /// `redis-tls`).
    #[cfg(feature = "redis-tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis-tls")))]
    pub async fn connect_cluster_tls(
        nodes: &[&str],
        ca_file: impl AsRef<std::path::Path>,
        timeouts: super::Timeouts,
    ) -> Result<Self> {
        let pem = super::redis::read_ca_file(ca_file.as_ref())?;
        Self::connect_inner(nodes, Some(pem), timeouts).await
    }

    async fn connect_inner(
        nodes: &[&str],
        ca_pem: Option<Vec<u8>>,
        timeouts: super::Timeouts,
    ) -> Result<Self> {
        for node in nodes {
            tls_ready(node, ca_pem.is_some())?;
        }
        let shown = nodes
            .iter()
            .map(|n| redact(n))
            .collect::<Vec<_>>()
            .join(",");
        let builder = ClusterClient::builder(nodes.iter().copied());
        #[cfg(feature = "redis-tls")]
        let builder = match ca_pem {
            Some(pem) => builder.certs(redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem),
            }),
            None => builder,
        };
        #[cfg(not(feature = "redis-tls"))]
        let _ = ca_pem;
        let client = builder
            .retries(3)
            .connection_timeout(timeouts.connect)
            .response_timeout(timeouts.operation)
            .build()
            .map_err(|e| setup_error(&shown, e))?;
        let connect = async {
            client
                .get_async_connection()
                .await
                .map_err(|e| setup_error(&shown, e))
        };
        let conn = super::bounded(timeouts.connect, connect).await?;
        Ok(Self::from_connection(conn, &shown).with_timeout(timeouts.operation))
    }
}

/// The `host:port` of every primary, from `CLUSTER NODES`.
async fn primaries(conn: &ClusterConnection) -> RedisResult<Vec<(String, u16)>> {
    let nodes: String = conn
        .clone()
        .route_command(
            redis::cmd("CLUSTER").arg("NODES").clone(),
            RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random),
        )
        .await
        .and_then(|v| redis::from_redis_value(v).map_err(Into::into))?;
    Ok(nodes
        .lines()
        .filter(|line| {
            let flags = line.split(' ').nth(2).unwrap_or_default();
            flags.split(',').any(|f| f == "master") && !flags.contains("fail")
        })
        .filter_map(|line| {
            let addr = line.split(' ').nth(1)?.split('@').next()?;
            let (host, port) = addr.rsplit_once(':')?;
            Some((host.to_owned(), port.parse().ok()?))
        })
        .collect())
}

impl RedisConnection for ClusterConnection {
    const ONE_NODE: bool = false;

    async fn scan_nodes(&self) -> RedisResult<Vec<(String, u16)>> {
        primaries(self).await
    }

    async fn scan_node_page(
        &self,
        node: &(String, u16),
        pattern: &[u8],
        cursor: u64,
        count: usize,
    ) -> RedisResult<(u64, Vec<Vec<u8>>)> {
        let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
            host: node.0.clone(),
            port: node.1,
        });
        let answer = self
            .clone()
            .route_command(super::redis::scan_step(pattern, cursor, count), routing)
            .await?;
        Ok(redis::from_redis_value(answer)?)
    }

    async fn scan_page(
        &self,
        pattern: &[u8],
        slot_key: &[u8],
        cursor: u64,
        count: usize,
    ) -> RedisResult<(u64, Vec<Vec<u8>>)> {
        let route = redis::cluster_routing::Route::with_key(
            slot_key,
            redis::cluster_routing::SlotAddr::Master,
        );
        let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route));
        let answer = self
            .clone()
            .route_command(super::redis::scan_step(pattern, cursor, count), routing)
            .await?;
        Ok(redis::from_redis_value(answer)?)
    }
}
