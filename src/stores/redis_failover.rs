//! The standalone Redis connection: redis-rs's `ConnectionManager`, replaced when the
//! server it reaches has been demoted to a replica.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

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
pub struct FailoverConnection {
    /// The connection this clone uses, and its generation.
    conn: ConnectionManager,
    generation: u64,
    shared: Arc<Shared>,
}

struct Shared {
    /// The generation of the newest connection: a clone holding an older one takes the
    /// newest from `newest` before its next command.
    latest: AtomicU64,
    newest: RwLock<(u64, ConnectionManager)>,
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
            .field("replaced", &self.shared.latest.load(Ordering::Relaxed))
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
        let conn = Self::make(&client, &config, connect_timeout).await?;
        let shared = Arc::new(Shared {
            latest: AtomicU64::new(0),
            newest: RwLock::new((0, conn.clone())),
            client,
            config,
            connect_timeout,
            replacing: tokio::sync::Mutex::new(None),
        });
        Ok(Self {
            conn,
            generation: 0,
            shared,
        })
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

    /// Takes the newest connection if another caller replaced this one's: one load of
    /// a counter while nothing changes.
    fn refresh(&mut self) {
        if self.shared.latest.load(Ordering::Acquire) != self.generation {
            let newest = self
                .shared
                .newest
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            (self.generation, self.conn) = (newest.0, newest.1.clone());
        }
    }

    /// Replaces this clone's connection (which a server answered `READONLY`) with a new
    /// one, unless another caller already did or the last replacement was under a
    /// second ago: whether a newer connection is there to try (and taken).
    async fn replace(&mut self) -> bool {
        let shared = self.shared.clone();
        let mut last = shared.replacing.lock().await;
        if shared.latest.load(Ordering::Acquire) != self.generation {
            self.refresh();
            return true;
        }
        if last.is_some_and(|at| at.elapsed() < REPLACE_AT_MOST_EVERY) {
            return false;
        }
        *last = Some(Instant::now());
        match Self::make(&shared.client, &shared.config, shared.connect_timeout).await {
            Ok(made) => {
                let generation = self.generation + 1;
                *shared
                    .newest
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = (generation, made.clone());
                shared.latest.store(generation, Ordering::Release);
                (self.generation, self.conn) = (generation, made);
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
            self.refresh();
            let answer = self.conn.req_packed_command(cmd).await;
            let refused = match &answer {
                Ok(value) => read_only_value(value),
                Err(e) => read_only(e),
            };
            if refused && self.replace().await {
                return self.conn.req_packed_command(cmd).await;
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
            self.refresh();
            let answer = self.conn.req_packed_commands(pipeline, offset, count).await;
            let refused = match &answer {
                Ok(values) => values.iter().any(read_only_value),
                Err(e) => read_only(e),
            };
            if refused && self.replace().await {
                return self.conn.req_packed_commands(pipeline, offset, count).await;
            }
            answer
        })
    }

    fn get_db(&self) -> i64 {
        self.conn.get_db()
    }
}
