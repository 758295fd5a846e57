//! The embedded stores in one minute: no server needed.
//!
//! ```text
//! cargo run --example quickstart
//! ```

use std::time::Duration;

use bytes::Bytes;
use kv_store_adapter::stores::{DiskStore, MemoryStore};
use kv_store_adapter::{KvStore, KvStoreExt, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct User {
    name: String,
    born: u16,
}

#[tokio::main]
async fn main() -> Result<()> {
    // A bounded in-memory cache with per-entry TTL.
    let cache = MemoryStore::new();
    cache
        .put(
            "sessions",
            "s-1",
            Bytes::from_static(b"ada"),
            Some(Duration::from_secs(30)),
        )
        .await?;
    let session = cache.ttl("sessions", "s-1").await?.expect("just written");
    let (who, left) = (session.value, session.expires_in);
    println!("session s-1 belongs to {who:?}, {left:?} left");

    // A durable store in one redb file, with typed access to a serde model.
    let dir = std::env::temp_dir().join(format!("kv-quickstart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| kv_store_adapter::Error::setup("temp dir", e))?;
    let disk = DiskStore::open(dir.join("kv.redb"))?;
    let users = disk.typed::<User>("users")?;
    users
        .put(
            "ada",
            &User {
                name: "Ada Lovelace".into(),
                born: 1815,
            },
            None,
        )
        .await?;
    users
        .put(
            "grace",
            &User {
                name: "Grace Hopper".into(),
                born: 1906,
            },
            None,
        )
        .await?;
    println!("users: {:?}", disk.keys("users", 100).await?);
    println!("ada: {:?}", users.get("ada").await?);

    // Batches answer in request order, misses included.
    let found = disk.get_many("users", &["grace", "nobody"]).await?;
    println!("batch found {} of 2", found.iter().flatten().count());

    drop(users);
    drop(disk);
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
