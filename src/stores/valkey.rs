//! `ValkeyStore`: Valkey, the open-source fork of Redis.

/// A store on a [Valkey](https://valkey.io) server. Valkey speaks the Redis protocol,
/// so this is [`RedisStore`](super::RedisStore) — same key layout, batches and
/// capabilities — under its own name and Cargo feature (`valkey`), and it runs its own
/// conformance suite against a real `valkey-server`. It accepts `valkey://` and
/// `valkeys://` URLs as well as `redis://` ones.
///
/// ```no_run
/// use kv_store_adapter::stores::ValkeyStore;
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = ValkeyStore::connect("valkey://127.0.0.1:6379/0").await?;
/// # Ok(()) }
/// ```
pub type ValkeyStore = super::RedisStore;
