//! Every checked call runs inside one `kv` span with OpenTelemetry's database fields,
//! whatever the store or wrapper stack; keys appear only when asked for. Captured with
//! a real `tracing` subscriber (a layer that keeps every closed span's fields).
#![cfg(feature = "full")]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use kv_store_adapter::stores::{MemoryStore, RedisStore};
use kv_store_adapter::testkit::{b, server_url, unique_namespace};
use kv_store_adapter::{KvStore, KvStoreExt, observe, open};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

type Fields = BTreeMap<String, String>;

#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<Fields>>>);

struct Collect(Fields);

impl Visit for Collect {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Collect(Fields::new());
        attrs.record(&mut fields);
        fields
            .0
            .insert("name".into(), attrs.metadata().name().into());
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields.0);
        }
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut ext = span.extensions_mut();
            if let Some(fields) = ext.get_mut::<Fields>() {
                let mut collect = Collect(std::mem::take(fields));
                values.record(&mut collect);
                *fields = collect.0;
            }
        }
    }
    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id)
            && let Some(fields) = span.extensions_mut().remove::<Fields>()
        {
            self.0.lock().unwrap().push(fields);
        }
    }
}

impl Spans {
    fn take(&self) -> Vec<Fields> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

fn field<'a>(span: &'a Fields, name: &str) -> &'a str {
    span.get(name).map_or("<absent>", String::as_str)
}

#[test]
fn every_call_has_one_span_with_the_database_fields() {
    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            let store = MemoryStore::with_max_entries(100);
            store.put("users", "ada", b("1815"), None).await.unwrap();
            store.get("users", "ada").await.unwrap();
            store.get("users", "nobody").await.unwrap();
            store.get_many("users", &["ada", "x", "y"]).await.unwrap();
            store.delete("users", "nobody").await.unwrap();
            store.keys("users", 10).await.unwrap();
            assert!(store.get("", "k").await.is_err());
            let got = spans.take();
            let summary: Vec<(&str, &str, &str, &str)> = got
                .iter()
                .map(|s| {
                    (
                        field(s, "db.operation.name"),
                        field(s, "db.collection.name"),
                        field(s, "kv.outcome"),
                        field(s, "db.system.name"),
                    )
                })
                .collect();
            assert_eq!(
                summary,
                [
                    ("put", "users", "ok", "memory"),
                    ("get", "users", "hit", "memory"),
                    ("get", "users", "miss", "memory"),
                    ("get_many", "users", "ok", "memory"),
                    ("delete", "users", "miss", "memory"),
                    ("keys", "users", "ok", "memory"),
                    ("get", "", "error", "memory"),
                ]
            );
            assert!(got.iter().all(|s| field(s, "name") == "kv"));
            assert_eq!(field(&got[3], "db.operation.batch.size"), "3");
            assert_eq!(field(&got[6], "error.type"), "InvalidKey");
            // Keys stay out unless asked for; values never appear.
            assert!(got.iter().all(|s| !s.contains_key("kv.key")));
            assert!(!format!("{got:?}").contains("1815"));

            // A wrapper stack: one span per call (the outermost), named by its type.
            let stack = MemoryStore::with_max_entries(100)
                .prefix_keys("t")
                .unwrap()
                .with_stats();
            stack.put("c", "k", b("v"), None).await.unwrap();
            let got = spans.take();
            assert_eq!(got.len(), 1, "{got:?}");
            assert_eq!(field(&got[0], "kv.store"), "Stats<PrefixKeys<MemoryStore>>");
            assert_eq!(field(&got[0], "db.system.name"), "memory");

            // A boxed store names what it boxes.
            let boxed = open("memory://").await.unwrap();
            boxed.get("c", "k").await.unwrap();
            let got = spans.take();
            assert_eq!(field(&got[0], "kv.store"), "MemoryStore");

            // Keys when asked for.
            observe::record_keys(true);
            store.get("users", "ada").await.unwrap();
            observe::record_keys(false);
            let got = spans.take();
            assert_eq!(field(&got[0], "kv.key"), "ada");

            // A server store: its system, and one span for the call, whatever the
            // client does underneath.
            if let Some(url) = server_url("KV_REDIS_URL") {
                let redis = RedisStore::connect(&url)
                    .await
                    .unwrap()
                    .with_namespace(&unique_namespace())
                    .unwrap();
                spans.take();
                redis.put("c", "k", b("v"), None).await.unwrap();
                let got = spans.take();
                let kv: Vec<_> = got.iter().filter(|s| field(s, "name") == "kv").collect();
                assert_eq!(kv.len(), 1);
                assert_eq!(field(kv[0], "db.system.name"), "redis");
                assert_eq!(field(kv[0], "kv.store"), "RedisStore");
            }
        })
    });
}
