//! The standalone Redis connection: redis-rs's `ConnectionManager`, replaced when the
//! server it reaches has been demoted to a replica.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, Pipeline, RedisError, RedisFuture, RedisResult, Value};

/// The fewest seconds between two replacements: a store pointed at a replica by
/// mistake gets an error per write, not a new connection per write.
const REPLACE_AT_MOST_EVERY: Duration = Duration::from_secs(1);

/// The connection of a [`RedisStore`](super::RedisStore) made by `connect`: one
/// multiplexed `ConnectionManager` (concurrent calls pipelined on one socket, which
/// reconnects by itself when the socket is lost), and what it takes to make another.
///
/// A managed Redis fails over behind a fixed endpoint: a DNS name moves to the new
/// primary, and the old primary stays up as its replica. A connection made before the
/// move still reaches the old server, whose every answer to a write is now `READONLY`,
/// and a lost socket is what makes a `ConnectionManager` reconnect — so without help,
/// every write would fail until the process restarts. When a command is answered
/// `READONLY`, this connection makes a new one through the endpoint (once for every
/// caller that saw it, at most once a second) and sends the command again there: the
/// server refused it, so nothing was written. Writes go on as soon as the endpoint
/// names the new primary; until then they fail as transient
/// [`Connection`](crate::ErrorKind::Connection) errors that [`Retry`](crate::wrappers::Retry)
/// waits out.
///
/// Cheap to clone (clones share the connection); it is a redis-rs
/// [`ConnectionLike`], so [`RedisStore::connection`](super::RedisStore::connection)
/// runs any command through it.
///
/// ```no_run
/// use kv_store_adapter::stores::RedisStore;
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = RedisStore::connect("redis://127.0.0.1:6379/").await?;
/// let mut conn = store.connection().clone();
/// let pong: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();
/// assert_eq!(pong, "PONG");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct FailoverConnection(Arc<Shared>);

struct Shared {
    /// The connection in use, and how many replaced it before.
    current: ArcSwap<(u64, ConnectionManager)>,
    client: redis::Client,
    config: ConnectionManagerConfig,
    /// How long making a connection may take.
    connect_timeout: Duration,
    /// Held while a replacement is made; when the last one was.
    replacing: tokio::sync::Mutex<Option<Instant>>,
}

impl std::fmt::Debug for FailoverConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailoverConnection")
            .field("replaced", &self.0.current.load().0)
            .finish_non_exhaustive()
    }
}

impl FailoverConnection {
    /// Connects to `client`'s server with `config`, within `connect_timeout`.
    pub(crate) async fn connect(
        client: redis::Client,
        config: ConnectionManagerConfig,
        connect_timeout: Duration,
    ) -> RedisResult<Self> {
        let first = Self::make(&client, &config, connect_timeout).await?;
        Ok(Self(Arc::new(Shared {
            current: ArcSwap::from_pointee((0, first)),
            client,
            config,
            connect_timeout,
            replacing: tokio::sync::Mutex::new(None),
        })))
    }

    async fn make(
        client: &redis::Client,
        config: &ConnectionManagerConfig,
        timeout: Duration,
    ) -> RedisResult<ConnectionManager> {
        let connect = ConnectionManager::new_with_config(client.clone(), config.clone());
        match tokio::time::timeout(timeout, connect).await {
            Ok(made) => made,
            Err(_) => Err(RedisError::from(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "connecting took too long",
            ))),
        }
    }

    /// The connection in use and its generation (no lock: a load of a pointer).
    fn current(&self) -> (u64, ConnectionManager) {
        let current = self.0.current.load();
        (current.0, current.1.clone())
    }

    /// Replaces connection `generation` (which a server answered `READONLY`) with a new
    /// one, unless another caller already did or the last replacement was under a
    /// second ago: whether a newer connection is there to try.
    async fn replace(&self, generation: u64) -> bool {
        let shared = &self.0;
        let mut last = shared.replacing.lock().await;
        if shared.current.load().0 != generation {
            return true;
        }
        if last.is_some_and(|at| at.elapsed() < REPLACE_AT_MOST_EVERY) {
            return false;
        }
        *last = Some(Instant::now());
        match Self::make(&shared.client, &shared.config, shared.connect_timeout).await {
            Ok(made) => {
                // The old connection closes when the last call on it ends.
                shared.current.store(Arc::new((generation + 1, made)));
                true
            }
            Err(_) => false,
        }
    }
}

/// Whether the server refused because it is a read-only replica, in any form an answer
/// takes: an error, an error value, one command of a pipeline, a queued command of an
/// aborted transaction.
pub(crate) fn read_only(e: &RedisError) -> bool {
    use redis::{ErrorKind, ServerErrorKind};
    match e.kind() {
        ErrorKind::Server(ServerErrorKind::ReadOnly) => true,
        ErrorKind::Server(ServerErrorKind::ExecAbort) => e
            .clone()
            .into_server_errors()
            .is_some_and(|errors| errors.iter().any(|(_, e)| e.code() == "READONLY")),
        _ => e.code() == Some("READONLY"),
    }
}

fn read_only_value(value: &Value) -> bool {
    match value {
        Value::ServerError(e) => e.code() == "READONLY",
        _ => false,
    }
}

impl ConnectionLike for FailoverConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let (generation, mut conn) = self.current();
            let answer = conn.req_packed_command(cmd).await;
            let refused = match &answer {
                Ok(value) => read_only_value(value),
                Err(e) => read_only(e),
            };
            if refused && self.replace(generation).await {
                return self.current().1.req_packed_command(cmd).await;
            }
            answer
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let (generation, mut conn) = self.current();
            let answer = conn.req_packed_commands(pipeline, offset, count).await;
            let refused = match &answer {
                Ok(values) => values.iter().any(read_only_value),
                Err(e) => read_only(e),
            };
            if refused && self.replace(generation).await {
                let mut newer = self.current().1;
                return newer.req_packed_commands(pipeline, offset, count).await;
            }
            answer
        })
    }

    fn get_db(&self) -> i64 {
        self.0.current.load().1.get_db()
    }
}
