//! Redis-specific test helpers, shared by the Redis, Valkey and Redis Cluster tests
//! (backend helpers stay out of the generic test kit).

use kv_store_adapter::stores::{RedisConnection, RedisStore};
use kv_store_adapter::testkit::{assert_kind, b, corrupt_entry_is_a_typed_error};
use kv_store_adapter::{ErrorKind, KvStore};

/// Writes values that are not in the Redis stores' format (a wrong format header, an
/// empty value, plain text) under the store's own keys with the store's connection, and
/// checks each with `corrupt_entry_is_a_typed_error`. For Redis, Valkey and Redis
/// Cluster alike.
pub async fn foreign_redis_values_are_corrupt<C: RedisConnection>(store: &RedisStore<C>) {
    let cases: [(&str, &[u8]); 3] = [
        ("garbage", b"\xffnot ours"),
        ("empty", b""),
        ("text", b"plain text"),
    ];
    for (key, bytes) in cases {
        redis::cmd("SET")
            .arg(store.redis_key("c", key))
            .arg(bytes)
            .query_async::<()>(&mut store.connection().clone())
            .await
            .expect("the raw client writes");
        corrupt_entry_is_a_typed_error(store, "c", key).await;
    }
    // Keys holding other types: GET says WRONGTYPE where MGET says nil; every path
    // must answer the same typed error, alone or among other keys in a batch.
    let mut conn = store.connection().clone();
    for (key, command) in [("list", "RPUSH"), ("set", "SADD")] {
        redis::cmd(command)
            .arg(store.redis_key("c", key))
            .arg("x")
            .query_async::<()>(&mut conn)
            .await
            .expect("the raw client writes");
        store.put("c", "plain", b("v"), None).await.unwrap();
        let batch = ["plain", "missing", key];
        for result in [
            store.get_many("c", &batch).await.map(drop),
            store.ttl_many("c", &batch).await.map(drop),
        ] {
            assert_kind(result, ErrorKind::Corrupt);
        }
        corrupt_entry_is_a_typed_error(store, "c", key).await;
    }
}
