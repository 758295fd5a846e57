//! Serde models in a store: the same model with postcard (compact, the default) and
//! JSON (readable by other programs), and what a missing and a corrupt value look like.
//!
//! ```text
//! cargo run --example typed_models --features json
//! ```

use bytes::Bytes;
use kv_store_adapter::codec::JsonCodec;
use kv_store_adapter::stores::MemoryStore;
use kv_store_adapter::{ErrorKind, KvStore, Result, TypedStore};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Order {
    id: u64,
    customer: String,
    lines: Vec<Line>,
    paid: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Line {
    sku: String,
    quantity: u32,
    cents: u64,
}

#[tokio::main]
async fn main() -> Result<()> {
    let store = MemoryStore::new();
    let order = Order {
        id: 42,
        customer: "ada".into(),
        lines: vec![
            Line {
                sku: "tea".into(),
                quantity: 2,
                cents: 350,
            },
            Line {
                sku: "scone".into(),
                quantity: 1,
                cents: 275,
            },
        ],
        paid: false,
    };

    // Postcard: the default codec, compact and fast. Cloning a store shares it.
    let compact: TypedStore<_, Order> = TypedStore::new(store.clone(), "orders")?;
    compact.put("42", &order, None).await?;
    assert_eq!(compact.get("42").await?, Some(order.clone()));

    // JSON: readable by anything else that reads the store.
    let readable: TypedStore<_, Order, JsonCodec> = TypedStore::new(store.clone(), "orders-json")?;
    readable.put("42", &order, None).await?;
    assert_eq!(readable.get("42").await?, Some(order.clone()));
    let raw = store.get("orders-json", "42").await?.expect("just written");
    let postcard_len = store.get("orders", "42").await?.map_or(0, |v| v.len());
    println!(
        "one order: {postcard_len} bytes as postcard, {} bytes as JSON: {}",
        raw.len(),
        String::from_utf8_lossy(&raw)
    );

    // Batches of models answer in request order; a miss is `None`, not an error.
    let found = compact.get_many(&["42", "43"]).await?;
    assert_eq!(found, vec![Some(order.clone()), None]);
    match compact.get("no-such-order").await? {
        Some(order) => println!("found {order:?}"),
        None => println!("order no-such-order: not there (a miss is Ok(None))"),
    }

    // A value that is not an `Order` (another program wrote garbage, or an older model):
    // a typed error naming the collection, the stored bytes left untouched.
    store
        .put(
            "orders-json",
            "7",
            Bytes::from_static(b"{\"id\": \"seven\"}"),
            None,
        )
        .await?;
    let err = readable.get("7").await.expect_err("not an Order");
    assert_eq!(err.kind(), ErrorKind::Serialization);
    println!("order 7 is corrupt: {err}");
    assert!(store.get("orders-json", "7").await?.is_some());

    // Update a model: read, change, write back.
    let mut paid = compact.get("42").await?.expect("written above");
    paid.paid = true;
    compact.put("42", &paid, None).await?;
    assert!(compact.get("42").await?.is_some_and(|o| o.paid));
    println!(
        "order 42 paid: {:?}",
        compact.get("42").await?.map(|o| o.paid)
    );
    Ok(())
}
