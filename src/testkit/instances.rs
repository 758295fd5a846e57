//! Rules for many instances on one backend: two stores constructed independently on
//! the same backend and namespace (as two processes would be) must see one state.
//!
//! Each rule takes an [`Instances`] pair. For a network store, build `a` and `b` with
//! two separate `open` calls on the same URL and namespace; for a process-local store
//! (memory, disk), pass two clones with [`Instances::clones`]: the first rule then
//! checks that clones share state, so no rule can pass by each instance keeping its own.
//!
//! Run them with [`instances_suite!`](crate::instances_suite):
//!
//! ```no_run
//! use kv_store_adapter::stores::MemoryStore;
//! use kv_store_adapter::testkit::instances::Instances;
//! kv_store_adapter::instances_suite!(pair = Instances::clones(MemoryStore::with_max_entries(100_000));
//!     basics, enumerate_keys, enumerate_collections, destroy_collection, destroy, destroy_enumerated);
//! # fn main() {}
//! ```

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;

use super::{b, unique};
use crate::{DestroyCollection, DestroyStore, Entry, EnumerateCollections, EnumerateKeys, KvStore};

/// Two instances of one store on the same backend and namespace.
#[derive(Debug, Clone)]
pub struct Instances<S> {
    /// The first instance.
    pub a: S,
    /// The second, constructed independently of `a` (or a clone of it, for a
    /// process-local store).
    pub b: S,
    /// How long a `destroy` by one instance may take to reach the other: zero for
    /// every store but those that document a delay (memcached's generation refresh).
    pub settle: Duration,
}

impl<S> Instances<S> {
    /// Two independently constructed instances, with no delay allowed.
    pub fn new(a: S, b: S) -> Self {
        Self {
            a,
            b,
            settle: Duration::ZERO,
        }
    }

    /// Allows a `destroy` by one instance up to `settle` to reach the other.
    pub fn settle(mut self, settle: Duration) -> Self {
        self.settle = settle;
        self
    }
}

impl<S> Instances<S> {
    /// Two instances that `open` makes separately on one fresh namespace (from
    /// [`unique_namespace`](super::unique_namespace)), as two processes would; `None`
    /// when `open` gives `None` (no server configured).
    ///
    /// ```
    /// use kv_store_adapter::stores::MemoryStore;
    /// use kv_store_adapter::testkit::instances::Instances;
    /// # #[tokio::main] async fn main() {
    /// // A network store opens a client per call, on the namespace it is given.
    /// let shared = MemoryStore::with_max_entries(100);
    /// let open = |_namespace: String| {
    ///     let store = shared.clone();
    ///     async move { Some(store) }
    /// };
    /// let pair = Instances::on_one_namespace(open).await.unwrap();
    /// # let _ = pair; }
    /// ```
    pub async fn on_one_namespace<F, Fut>(open: F) -> Option<Self>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Option<S>>,
    {
        let namespace = super::unique_namespace();
        let a = open(namespace.clone()).await?;
        Some(Self::new(a, open(namespace).await?))
    }
}

impl<S: Clone> Instances<S> {
    /// Two clones of a process-local store (which must share one state).
    pub fn clones(store: S) -> Self {
        Self::new(store.clone(), store)
    }
}

const TTL: Duration = Duration::from_secs(600);

#[track_caller]
fn assert_ttl_kept(entry: Option<Entry>, value: &Bytes, what: &str) {
    let entry = entry.unwrap_or_else(|| panic!("{what}: the entry is missing"));
    assert_eq!(&entry.value, value, "{what}: value");
    let left = entry
        .expires_in
        .unwrap_or_else(|| panic!("{what}: the entry lost its TTL"));
    assert!(
        left > Duration::ZERO && left <= TTL,
        "{what}: {left:?} left"
    );
}

/// Rules for every store.
pub mod basics {
    use super::*;

    /// A put in A is read by B (for clones: clones share state), value and TTL.
    pub async fn put_in_a_is_read_by_b<S: KvStore>(pair: &Instances<S>) {
        let c = unique("inst-put");
        pair.a.put(&c, "k", b("from a"), Some(TTL)).await.unwrap();
        assert_eq!(
            pair.b.get(&c, "k").await.unwrap(),
            Some(b("from a")),
            "B does not see A's put: do the instances share one state?"
        );
        assert_ttl_kept(pair.b.ttl(&c, "k").await.unwrap(), &b("from a"), "B's ttl");
        let entries = [("x", b("1")), ("y", b("2"))];
        pair.b.put_many(&c, &entries, None).await.unwrap();
        assert_eq!(
            pair.a.get_many(&c, &["x", "y", "k"]).await.unwrap(),
            vec![Some(b("1")), Some(b("2")), Some(b("from a"))]
        );
    }

    /// A delete in A is a miss in B; an overwrite in A replaces what B wrote.
    pub async fn delete_in_a_is_a_miss_in_b<S: KvStore>(pair: &Instances<S>) {
        let c = unique("inst-del");
        pair.b.put(&c, "k", b("v"), None).await.unwrap();
        pair.b.put(&c, "o", b("old"), Some(TTL)).await.unwrap();
        assert_eq!(pair.b.get(&c, "k").await.unwrap(), Some(b("v")));
        assert!(pair.a.delete(&c, "k").await.unwrap());
        assert_eq!(pair.b.get(&c, "k").await.unwrap(), None);
        assert!(!pair.b.delete(&c, "k").await.unwrap());
        pair.a.put(&c, "o", b("new"), None).await.unwrap();
        assert_eq!(
            pair.b
                .ttl(&c, "o")
                .await
                .unwrap()
                .map(crate::testkit::unversioned),
            Some(Entry::new(b("new"), None)),
            "A's put without TTL replaced B's value and expiry"
        );
        assert_eq!(pair.a.delete_many(&c, &["o", "k"]).await.unwrap(), 1);
        assert_eq!(pair.b.get_many(&c, &["o"]).await.unwrap(), vec![None]);
    }

    /// 32 tasks, half on A and half on B, racing puts on one key: every read sees a
    /// value some task wrote, whole, and both instances end on the same one.
    pub async fn racing_puts_over_both_leave_one_whole_value<S: KvStore + Clone + 'static>(
        pair: &Instances<S>,
    ) {
        let c = unique("inst-race");
        let value_of = |task: usize| Bytes::from(vec![task as u8; 2048 + task]);
        let written: HashSet<Bytes> = (0..32).map(value_of).collect();
        let mut tasks = tokio::task::JoinSet::new();
        for task in 0..32 {
            let store = if task % 2 == 0 { &pair.a } else { &pair.b }.clone();
            let (c, value) = (c.clone(), value_of(task));
            tasks.spawn(async move {
                let mut seen = Vec::new();
                for _ in 0..5 {
                    store.put(&c, "k", value.clone(), None).await.unwrap();
                    seen.extend(store.get(&c, "k").await.unwrap());
                }
                seen
            });
        }
        while let Some(seen) = tasks.join_next().await {
            for value in seen.unwrap() {
                assert!(written.contains(&value), "read a value no task wrote whole");
            }
        }
        let (from_a, from_b) = (
            pair.a.get(&c, "k").await.unwrap(),
            pair.b.get(&c, "k").await.unwrap(),
        );
        assert!(from_a.as_ref().is_some_and(|v| written.contains(v)));
        assert_eq!(from_a, from_b, "the instances disagree on the last value");
    }
}

/// Rules for stores that list keys.
pub mod enumerate_keys {
    use super::*;

    /// B lists the keys A wrote, and stops listing what A deleted.
    pub async fn keys_in_b_list_what_a_wrote<S: EnumerateKeys>(pair: &Instances<S>) {
        let c = unique("inst-keys");
        let entries = [("k1", b("1")), ("k2", b("2")), ("k3", b("3"))];
        pair.a.put_many(&c, &entries, None).await.unwrap();
        let mut listed = pair.b.keys(&c, 100).await.unwrap();
        listed.sort();
        assert_eq!(listed, ["k1", "k2", "k3"]);
        pair.a.delete(&c, "k2").await.unwrap();
        let mut listed = pair.b.keys(&c, 100).await.unwrap();
        listed.sort();
        assert_eq!(listed, ["k1", "k3"]);
    }
}

/// Rules for stores that list collections.
pub mod enumerate_collections {
    use super::*;

    /// B lists the collections A wrote.
    pub async fn collections_in_b_list_what_a_wrote<S: EnumerateCollections>(pair: &Instances<S>) {
        let (c1, c2) = (unique("inst-coll-a"), unique("inst-coll-b"));
        pair.a.put(&c1, "k", b("v"), None).await.unwrap();
        pair.a.put(&c2, "k", b("v"), None).await.unwrap();
        let listed = pair.b.collections(1_000_000).await.unwrap();
        assert!(listed.contains(&c1) && listed.contains(&c2), "{listed:?}");
    }
}

/// Rules for stores that destroy one collection.
pub mod destroy_collection {
    use super::*;

    /// Both instances wrote a collection; A destroys it: B sees nothing of it, B can
    /// write it again at once, and B's new entries keep their TTLs, read by either.
    pub async fn destroy_collection_in_a_reaches_b<S: DestroyCollection>(pair: &Instances<S>) {
        let (c, kept) = (unique("inst-dc"), unique("inst-dc-kept"));
        // Each instance has written (prepared) the collection before the destroy.
        pair.a.put(&c, "a", b("1"), None).await.unwrap();
        pair.b.put(&c, "b", b("2"), Some(TTL)).await.unwrap();
        pair.b.put(&kept, "k", b("kept"), None).await.unwrap();
        pair.a.destroy_collection(&c).await.unwrap();
        tokio::time::sleep(pair.settle).await;
        assert_eq!(
            pair.b.get_many(&c, &["a", "b"]).await.unwrap(),
            vec![None, None]
        );
        assert_eq!(pair.b.get(&kept, "k").await.unwrap(), Some(b("kept")));
        // B, which remembers having written `c`, writes it again at once.
        pair.b.put(&c, "b", b("again"), Some(TTL)).await.unwrap();
        pair.b
            .put_many(&c, &[("m", b("many"))], Some(TTL))
            .await
            .unwrap();
        assert_ttl_kept(
            pair.a.ttl(&c, "b").await.unwrap(),
            &b("again"),
            "A reads B's rewrite",
        );
        assert_ttl_kept(
            pair.b.ttl(&c, "m").await.unwrap(),
            &b("many"),
            "B's batch rewrite",
        );
        // And A, which destroyed it, writes it again too.
        pair.a.put(&c, "a", b("3"), Some(TTL)).await.unwrap();
        assert_ttl_kept(
            pair.b.ttl(&c, "a").await.unwrap(),
            &b("3"),
            "B reads A's rewrite",
        );
    }
}

/// Rules for stores that destroy everything they wrote. Each test needs a pair of its
/// own (a namespace no other test uses).
pub mod destroy {
    use super::*;

    /// A destroys the store: B reads nothing, writes again at once, and A reads that.
    pub async fn destroy_in_a_reaches_b<S: DestroyStore>(pair: &Instances<S>) {
        let c = unique("inst-d");
        pair.a.put(&c, "a", b("1"), None).await.unwrap();
        pair.b.put(&c, "b", b("2"), Some(TTL)).await.unwrap();
        pair.a.destroy().await.unwrap();
        tokio::time::sleep(pair.settle).await;
        assert_eq!(
            pair.b.get_many(&c, &["a", "b"]).await.unwrap(),
            vec![None, None]
        );
        pair.b.put(&c, "b", b("again"), Some(TTL)).await.unwrap();
        assert_ttl_kept(
            pair.a.ttl(&c, "b").await.unwrap(),
            &b("again"),
            "A reads B's rewrite",
        );
        // Destroying twice in a row, from either side, leaves a usable store.
        pair.b.destroy().await.unwrap();
        pair.a.destroy().await.unwrap();
        tokio::time::sleep(pair.settle).await;
        assert_eq!(pair.b.get(&c, "b").await.unwrap(), None);
        pair.a.put(&c, "a", b("4"), None).await.unwrap();
        assert_eq!(pair.b.get(&c, "a").await.unwrap(), Some(b("4")));
    }
}

/// Rules for stores that destroy and enumerate: what an instance writes after another
/// destroyed is enumerable by both.
pub mod destroy_enumerated {
    use super::*;

    /// A destroys the store: B lists no collection; B's next writes are listed by A,
    /// and so are B's rewrites of a collection A destroyed alone.
    pub async fn writes_after_a_destroy_are_enumerable<
        S: DestroyStore + DestroyCollection + EnumerateCollections + EnumerateKeys,
    >(
        pair: &Instances<S>,
    ) {
        let (c1, c2) = (unique("inst-de-1"), unique("inst-de-2"));
        pair.a.put(&c1, "k", b("v"), None).await.unwrap();
        pair.b.put(&c2, "k", b("v"), None).await.unwrap();
        pair.a.destroy().await.unwrap();
        tokio::time::sleep(pair.settle).await;
        assert_eq!(
            pair.b.collections(1000).await.unwrap(),
            Vec::<String>::new()
        );
        pair.b.put(&c1, "after", b("v"), Some(TTL)).await.unwrap();
        pair.b.put(&c2, "after", b("v"), None).await.unwrap();
        let mut listed = pair.a.collections(1000).await.unwrap();
        listed.sort();
        let mut expected = vec![c1.clone(), c2.clone()];
        expected.sort();
        assert_eq!(listed, expected, "A lists what B wrote after A's destroy");
        assert_eq!(pair.a.keys(&c1, 10).await.unwrap(), ["after"]);
        // One collection destroyed by A, rewritten by B: still listed, still whole.
        pair.a.destroy_collection(&c2).await.unwrap();
        pair.b.put(&c2, "again", b("v"), None).await.unwrap();
        assert!(pair.a.collections(1000).await.unwrap().contains(&c2));
        assert_eq!(pair.a.keys(&c2, 10).await.unwrap(), ["again"]);
        // And a full destroy by A removes B's rewrites too.
        pair.a.destroy().await.unwrap();
        tokio::time::sleep(pair.settle).await;
        assert_eq!(
            pair.b.collections(1000).await.unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(pair.b.get(&c2, "again").await.unwrap(), None);
    }
}

/// [`ConditionalWrites`](crate::ConditionalWrites) across instances: one version space,
/// one winner, no lost update.
pub mod conditional_writes {
    use super::*;
    use crate::ConditionalWrites;
    use crate::testkit::conditional_writes::{cas_counter, racing_creates};

    /// A version A reads is B's version too: B's compare-and-swap with it applies once,
    /// and A's, with the same version, is then rejected.
    pub async fn version_read_in_a_applies_in_b<S: KvStore + ConditionalWrites>(
        pair: &Instances<S>,
    ) {
        let c = unique("inst-cas");
        pair.a.put(&c, "k", b("a"), None).await.unwrap();
        tokio::time::sleep(pair.settle).await;
        let version = pair.a.get_entry(&c, "k").await.unwrap().unwrap().version;
        let version = version.expect("no version");
        let in_b = pair.b.get_entry(&c, "k").await.unwrap().unwrap();
        assert_eq!(in_b.version, Some(version), "B reads another version");
        let written = pair
            .b
            .put_if_version(&c, "k", b("b"), version, None)
            .await
            .unwrap();
        assert!(written.is_applied(), "B's CAS: {written:?}");
        tokio::time::sleep(pair.settle).await;
        let late = pair
            .a
            .put_if_version(&c, "k", b("late"), version, None)
            .await
            .unwrap();
        assert!(
            !late.is_applied(),
            "A's CAS with a version B replaced applied"
        );
        assert_eq!(pair.a.get(&c, "k").await.unwrap(), Some(b("b")));
    }

    /// 64 tasks, half through each instance, create one key: exactly one wins.
    pub async fn racing_creates_over_both_have_one_winner<S>(pair: &Instances<S>)
    where
        S: KvStore + ConditionalWrites + Clone + 'static,
    {
        racing_creates(&pair.a, &pair.b).await;
    }

    /// 32 tasks of compare-and-swap increments (up to 100 each, fewer past 15 s), half
    /// through each instance: the counter ends at exactly the number applied.
    pub async fn cas_counter_over_both_loses_no_update<S>(pair: &Instances<S>)
    where
        S: KvStore + ConditionalWrites + Clone + 'static,
    {
        cas_counter(&pair.a, &pair.b).await;
    }
}
