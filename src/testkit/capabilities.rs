//! Rules for the capability traits, one module per capability.

use std::time::Duration;

use bytes::Bytes;

use super::{b, hostile_names, unique};
use crate::KvStore;

const SHORT_TTL: Duration = Duration::from_millis(300);
const MARGIN: Duration = Duration::from_millis(150);

/// Names that trip a listing by prefix: characters that mean something to a glob, a
/// regex or a range, upper and lower case, multi-byte characters, U+10FFFF and the
/// characters either side of the surrogates, names that are prefixes of others.
const PREFIXED_NAMES: &[&str] = &[
    "a",
    "ab",
    "abc",
    "abd",
    "ab*",
    "ab?",
    "ab[x]",
    "ab\\",
    "a.b",
    "a^b",
    "a$",
    "ab%",
    "ab_",
    "aB",
    "b",
    "ba",
    "é",
    "éa",
    "éé",
    "a\u{10FFFF}",
    "a\u{10FFFF}b",
    "a\u{D7FF}",
    "a\u{E000}",
];

/// The prefixes those names are listed by: each of the tricky characters, a whole name,
/// none (`""`), and some that match nothing.
const PREFIXES: &[&str] = &[
    "a",
    "ab",
    "ab*",
    "ab?",
    "ab[",
    "ab\\",
    "a.",
    "a^",
    "a$",
    "ab%",
    "ab_",
    "é",
    "abc",
    "ab0",
    "a\u{10FFFF}",
    "a\u{D7FF}",
    "",
    "zz",
    "abcd",
];

/// Every page of a listing from the first, `page` answering the page at a cursor: the
/// names, and whether the listing said it is in name order — after checking that every
/// page said the same and, if in order, that the names strictly ascend across pages.
async fn pages_as_said<F, Fut>(mut page: F) -> (Vec<String>, bool)
where
    F: FnMut(Option<crate::Cursor>) -> Fut,
    Fut: std::future::Future<Output = crate::Result<crate::Page>>,
{
    let (mut got, mut said, mut cursor) = (Vec::new(), Vec::new(), None);
    loop {
        let page = page(cursor.take()).await.unwrap();
        said.push(page.in_order);
        got.extend(page.names);
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert!(
        said.iter().all(|s| *s == said[0]),
        "pages disagree about their order: {said:?}"
    );
    if said[0] {
        assert!(
            got.windows(2).all(|w| w[0] < w[1]),
            "a listing said in order is not"
        );
    }
    (got, said[0])
}

/// Rules of [`EnumerateKeys`](crate::EnumerateKeys).
pub mod enumerate_keys {
    use super::*;
    use crate::EnumerateKeys;

    fn sorted(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v
    }

    /// 2,500 entries listed with a limit of 10,000: all 2,500, complete.
    pub async fn keys_lists_every_live_key<S: EnumerateKeys>(store: &S) {
        let c = unique("keys");
        let names: Vec<String> = (0..2500).map(|i| format!("k{i:05}")).collect();
        let entries: Vec<(&str, Bytes)> = names.iter().map(|k| (k.as_str(), b("v"))).collect();
        store.put_many(&c, &entries, None).await.unwrap();
        assert_eq!(sorted(store.keys(&c, 10_000).await.unwrap()), names);
    }

    /// No more than `limit` keys come back, each a real key.
    pub async fn keys_respects_the_limit<S: EnumerateKeys>(store: &S) {
        let c = unique("keylimit");
        let names: Vec<String> = (0..50).map(|i| format!("k{i}")).collect();
        let entries: Vec<(&str, Bytes)> = names.iter().map(|k| (k.as_str(), b("v"))).collect();
        store.put_many(&c, &entries, None).await.unwrap();
        let some = store.keys(&c, 10).await.unwrap();
        assert_eq!(some.len(), 10);
        assert!(some.iter().all(|k| names.contains(k)));
        assert!(store.keys(&c, 0).await.unwrap().is_empty());
    }

    /// Keys come back exactly as written, whatever characters they hold.
    pub async fn keys_gives_back_hostile_names<S: EnumerateKeys>(store: &S) {
        let c = unique("keynames");
        let names = hostile_names();
        let entries: Vec<(&str, Bytes)> = names.iter().map(|k| (k.as_str(), b("v"))).collect();
        store.put_many(&c, &entries, None).await.unwrap();
        assert_eq!(
            sorted(store.keys(&c, 1000).await.unwrap()),
            sorted(names.clone())
        );
        // A hostile collection name enumerates too.
        for name in names.iter().take(8) {
            let key = unique("k");
            store.put(name, &key, b("v"), None).await.unwrap();
            assert!(store.keys(name, 100_000).await.unwrap().contains(&key));
            store.delete(name, &key).await.unwrap();
        }
    }

    /// Expired entries are gone from `keys()` at once.
    pub async fn keys_hides_expired_entries<S: EnumerateKeys>(store: &S) {
        let c = unique("keyexpiry");
        store.put(&c, "long", b("v"), None).await.unwrap();
        let start = std::time::Instant::now();
        store
            .put(&c, "short", b("v"), Some(SHORT_TTL))
            .await
            .unwrap();
        let listed = sorted(store.keys(&c, 10).await.unwrap());
        // On a loaded machine the round trips alone may outlast the TTL.
        if start.elapsed() < SHORT_TTL {
            assert_eq!(listed, ["long", "short"]);
        }
        tokio::time::sleep(SHORT_TTL + MARGIN).await;
        assert_eq!(store.keys(&c, 10).await.unwrap(), ["long"]);
    }

    /// A collection never written lists no keys; neither does one emptied by deletes.
    pub async fn keys_of_an_unknown_collection_is_empty<S: EnumerateKeys>(store: &S) {
        let c = unique("nokeys");
        assert!(store.keys(&c, 10).await.unwrap().is_empty());
        store.put(&c, "k", b("v"), None).await.unwrap();
        store.delete(&c, "k").await.unwrap();
        assert!(store.keys(&c, 10).await.unwrap().is_empty());
    }

    /// Every key of the stream, with a page size that does not divide the count.
    async fn listed<S: EnumerateKeys>(store: &S, c: &str, page: usize) -> Vec<String> {
        let mut keys = store.list_keys(c, page);
        let mut out = Vec::new();
        while let Some(key) = keys.next_key().await {
            out.push(key.unwrap());
        }
        out
    }

    /// `list_keys` in pages of 7 gives every live key of 250 (the hostile names
    /// among them, long ones too), and nothing expired or of another collection; a
    /// key may come twice only where the store says so (Redis SCAN), never a foreign
    /// one.
    pub async fn list_keys_pages_through_every_key<S: EnumerateKeys>(store: &S) {
        let c = unique("pages");
        let mut names: Vec<String> = (0..250).map(|i| format!("k{i:04}")).collect();
        names.extend(hostile_names());
        let entries: Vec<(&str, Bytes)> = names.iter().map(|k| (k.as_str(), b("v"))).collect();
        store.put_many(&c, &entries, None).await.unwrap();
        store
            .put(&c, "gone", b("v"), Some(SHORT_TTL))
            .await
            .unwrap();
        store
            .put(&unique("other"), "k0000x", b("v"), None)
            .await
            .unwrap();
        tokio::time::sleep(SHORT_TTL + MARGIN).await;
        let mut got = listed(store, &c, 7).await;
        got.sort();
        got.dedup();
        assert_eq!(got, sorted(names));
        assert!(listed(store, &unique("none"), 7).await.is_empty());
    }

    /// Where a page of keys says its listing is in name order
    /// ([`Page::in_order`](crate::Page::in_order)), it is: every page of the listing (in
    /// pages of 7, through
    /// [`keys_page_with_prefix`](crate::EnumerateKeys::keys_page_with_prefix)) says the
    /// same, and the names, hostile ones among them, strictly ascend across the pages.
    /// A wrapper over such a listing (`SingleCollection`) relies on it.
    pub async fn keys_said_in_order_are_in_order<S: EnumerateKeys>(store: &S) {
        let c = unique("ordered");
        let mut names: Vec<String> = (0..40).map(|i| format!("k{:02}", 39 - i)).collect();
        names.extend(hostile_names());
        let entries: Vec<(&str, Bytes)> = names.iter().map(|k| (k.as_str(), b("v"))).collect();
        store.put_many(&c, &entries, None).await.unwrap();
        let (got, in_order) =
            pages_as_said(|cursor| store.keys_page_with_prefix(&c, "", cursor, 7)).await;
        if in_order {
            assert_eq!(got, sorted(names));
        }
    }

    /// `list_keys_with_prefix` (pages of 3, through
    /// [`keys_page_with_prefix`](crate::EnumerateKeys::keys_page_with_prefix)) gives
    /// exactly the live keys starting with the prefix — whatever it holds: characters
    /// that mean something to a glob or a regex, a multi-byte character, another key
    /// whole, nothing — and nothing expired or of another collection.
    pub async fn keys_with_a_prefix_are_exactly_those<S: EnumerateKeys>(store: &S) {
        let c = unique("prefixed");
        let mut names: Vec<String> = PREFIXED_NAMES.iter().map(|n| n.to_string()).collect();
        names.extend((0..20).map(|i| format!("ab{i:02}")));
        names.extend(hostile_names());
        names.sort();
        names.dedup();
        let entries: Vec<(&str, Bytes)> = names.iter().map(|k| (k.as_str(), b("v"))).collect();
        store.put_many(&c, &entries, None).await.unwrap();
        store
            .put(&c, "abgone", b("v"), Some(SHORT_TTL))
            .await
            .unwrap();
        store
            .put(&unique("other"), "abother", b("v"), None)
            .await
            .unwrap();
        tokio::time::sleep(SHORT_TTL + MARGIN).await;
        let hostile = hostile_names();
        let mut prefixes: Vec<&str> = PREFIXES.to_vec();
        prefixes.extend(hostile.iter().take(6).map(String::as_str));
        for prefix in prefixes {
            let mut listed = store.list_keys_with_prefix(&c, prefix, 3);
            let mut got = Vec::new();
            while let Some(key) = listed.next_key().await {
                got.push(key.unwrap());
            }
            got.sort();
            got.dedup();
            let expected: Vec<&String> = names.iter().filter(|k| k.starts_with(prefix)).collect();
            assert_eq!(
                got.iter().collect::<Vec<_>>(),
                expected,
                "prefix {prefix:?}"
            );
        }
    }

    /// Keys live for the whole listing are all listed, while other keys are written
    /// and deleted between pages.
    pub async fn list_keys_keeps_what_lasts_through_the_listing<S: EnumerateKeys>(store: &S) {
        let c = unique("pagesmoving");
        let stay: Vec<String> = (0..60).map(|i| format!("stay{i:02}")).collect();
        let go: Vec<String> = (0..60).map(|i| format!("go{i:02}")).collect();
        for key in stay.iter().chain(&go) {
            store.put(&c, key, b("v"), None).await.unwrap();
        }
        let mut keys = store.list_keys(&c, 5);
        let mut seen = Vec::new();
        let mut step = 0;
        while let Some(key) = keys.next_key().await {
            seen.push(key.unwrap());
            if step < 60 {
                store.delete(&c, &go[step]).await.unwrap();
                store
                    .put(&c, &format!("new{step:02}"), b("v"), None)
                    .await
                    .unwrap();
            }
            step += 1;
        }
        for key in &stay {
            assert!(
                seen.contains(key),
                "{key} was live throughout and not listed"
            );
        }
        assert!(
            seen.iter()
                .all(|k| k.starts_with("stay") || k.starts_with("go") || k.starts_with("new"))
        );
    }
}

/// Rules of [`EnumerateCollections`](crate::EnumerateCollections).
pub mod enumerate_collections {
    use super::*;
    use crate::EnumerateCollections;

    /// Every collection holding an entry is listed.
    pub async fn collections_lists_written_collections<S: EnumerateCollections>(store: &S) {
        let (c1, c2) = (unique("coll-a"), unique("coll-b"));
        store.put(&c1, "k", b("v"), None).await.unwrap();
        store.put(&c2, "k", b("v"), None).await.unwrap();
        let all = store.collections(100_000).await.unwrap();
        assert!(all.contains(&c1) && all.contains(&c2), "{all:?}");
        assert!(store.collections(1).await.unwrap().len() <= 1);
        assert_eq!(store.collections(0).await.unwrap(), Vec::<String>::new());
    }

    /// Where a page of collections says its listing is in name order
    /// ([`Page::in_order`](crate::Page::in_order)), every page of it (pages of 3, through
    /// [`collections_page`](crate::EnumerateCollections::collections_page)) says the same
    /// and the names strictly ascend across the pages.
    pub async fn collections_said_in_order_are_in_order<S: EnumerateCollections>(store: &S) {
        let base = unique("oc");
        for i in 0..8 {
            store
                .put(&format!("{base}-{}", 7 - i), "k", b("v"), None)
                .await
                .unwrap();
        }
        let (got, _) = pages_as_said(|cursor| store.collections_page(cursor, 3)).await;
        let ours: Vec<&String> = got.iter().filter(|c| c.starts_with(&base)).collect();
        assert_eq!(ours.len(), 8, "{ours:?}");
    }

    /// `list_collections` in pages of 3 (through
    /// [`collections_page`](crate::EnumerateCollections::collections_page)) gives every
    /// collection holding a live entry once — 20 of them, and hostile names — and not
    /// one whose only entry expired, nor one emptied by a delete.
    pub async fn list_collections_pages_through_every_collection<S: EnumerateCollections>(
        store: &S,
    ) {
        let base = unique("pc");
        let mut names: Vec<String> = (0..20).map(|i| format!("{base}-{i:02}")).collect();
        // Each under the base, the longest cut to the longest name (all ASCII).
        names.extend(hostile_names().iter().map(|h| {
            let mut name = format!("{base}-{h}");
            name.truncate(crate::names::MAX_NAME_LEN);
            name
        }));
        for name in &names {
            store.put(name, "k", b("v"), None).await.unwrap();
        }
        let (expired, emptied) = (format!("{base}-expired"), format!("{base}-emptied"));
        store
            .put(&expired, "k", b("v"), Some(SHORT_TTL))
            .await
            .unwrap();
        store.put(&emptied, "k", b("v"), None).await.unwrap();
        store.delete(&emptied, "k").await.unwrap();
        tokio::time::sleep(SHORT_TTL + MARGIN).await;
        let mut listed = store.list_collections(3);
        let mut got = Vec::new();
        while let Some(name) = listed.next_key().await {
            let name = name.unwrap();
            if name.starts_with(&base) {
                got.push(name);
            }
        }
        got.sort();
        names.sort();
        assert_eq!(got, names);
    }

    /// [`collections_page_with_prefix`](crate::EnumerateCollections::collections_page_with_prefix)
    /// (pages of 3) gives exactly the collections holding a live entry whose names start with the
    /// prefix — whatever it holds: characters that mean something to a glob, a regex
    /// or a range, a multi-byte character, U+10FFFF, another name whole — and not one
    /// whose only entry expired. Pages said in order are in order.
    pub async fn collections_with_a_prefix_are_exactly_those<S: EnumerateCollections>(store: &S) {
        let base = unique("cp");
        let mut names: Vec<String> = PREFIXED_NAMES
            .iter()
            .map(|t| format!("{base}{t}"))
            .collect();
        names.extend((0..12).map(|i| format!("{base}ab{i:02}")));
        names.extend(
            hostile_names()
                .iter()
                .take(12)
                .map(|h| format!("{base}{h}")),
        );
        names.sort();
        names.dedup();
        for name in &names {
            store.put(name, "k", b("v"), None).await.unwrap();
        }
        let expired = format!("{base}abgone");
        store
            .put(&expired, "k", b("v"), Some(SHORT_TTL))
            .await
            .unwrap();
        tokio::time::sleep(SHORT_TTL + MARGIN).await;
        let mut prefixes: Vec<String> = PREFIXES.iter().map(|p| format!("{base}{p}")).collect();
        prefixes.push(base[..base.len() - 1].to_owned());
        for prefix in &prefixes {
            let (mut got, _) =
                pages_as_said(|cursor| store.collections_page_with_prefix(prefix, cursor, 3)).await;
            assert!(
                got.iter().all(|n| n.starts_with(prefix.as_str())),
                "{got:?}"
            );
            // The base's own names: the shorter prefix may list another test's too.
            got.retain(|n| n.starts_with(&base));
            got.sort();
            got.dedup();
            let expected: Vec<&String> = names
                .iter()
                .filter(|n| n.starts_with(prefix.as_str()))
                .collect();
            assert_eq!(
                got.iter().collect::<Vec<_>>(),
                expected,
                "prefix {prefix:?}"
            );
        }
    }

    /// Collection names come back exactly as written.
    pub async fn collections_gives_back_hostile_names<S: EnumerateCollections>(store: &S) {
        let key = unique("k");
        let names = hostile_names();
        for name in &names {
            store.put(name, &key, b("v"), None).await.unwrap();
        }
        let all = store.collections(100_000).await.unwrap();
        for name in &names {
            assert!(all.contains(name), "{name:?} missing from collections()");
        }
        for name in &names {
            store.delete(name, &key).await.unwrap();
        }
    }
}

/// Rules of [`DestroyCollection`](crate::DestroyCollection).
pub mod destroy_collection {
    use super::*;
    use crate::DestroyCollection;

    /// Destroying a collection removes all of it and nothing of any other.
    pub async fn destroy_collection_removes_exactly_that_collection<S: DestroyCollection>(
        store: &S,
    ) {
        let (gone, kept) = (unique("doomed"), unique("kept"));
        let entries = [("a", b("1")), ("b", b("2"))];
        store.put_many(&gone, &entries, None).await.unwrap();
        store.put_many(&kept, &entries, None).await.unwrap();
        store.destroy_collection(&gone).await.unwrap();
        assert_eq!(
            store.get_many(&gone, &["a", "b"]).await.unwrap(),
            vec![None, None]
        );
        assert_eq!(
            store.get_many(&kept, &["a", "b"]).await.unwrap(),
            vec![Some(b("1")), Some(b("2"))]
        );
        // Destroying a collection that does not exist is fine.
        store.destroy_collection(&unique("never")).await.unwrap();
    }

    /// A destroyed collection takes writes again at once.
    pub async fn destroyed_collection_is_usable_again<S: DestroyCollection>(store: &S) {
        let c = unique("reuse");
        store.put(&c, "k", b("old"), None).await.unwrap();
        store.destroy_collection(&c).await.unwrap();
        store.put(&c, "k", b("new"), None).await.unwrap();
        assert_eq!(store.get(&c, "k").await.unwrap(), Some(b("new")));
    }
}

/// Rules of [`DestroyStore`](crate::DestroyStore). The store must be this test's own.
pub mod destroy {
    use super::*;
    use crate::DestroyStore;

    /// `destroy()` removes every entry, and the store takes writes again.
    pub async fn destroy_removes_everything<S: DestroyStore>(store: &S) {
        let (c1, c2) = (unique("d1"), unique("d2"));
        store.put(&c1, "k", b("v"), None).await.unwrap();
        store
            .put(&c2, "k", b("v"), Some(Duration::from_secs(60)))
            .await
            .unwrap();
        store.destroy().await.unwrap();
        assert_eq!(store.get(&c1, "k").await.unwrap(), None);
        assert_eq!(store.get(&c2, "k").await.unwrap(), None);
        store.put(&c1, "k", b("again"), None).await.unwrap();
        assert_eq!(store.get(&c1, "k").await.unwrap(), Some(b("again")));
    }
}

/// Rules of [`Cull`](crate::Cull).
pub mod cull {
    use super::*;
    use crate::Cull;

    /// Culling keeps live entries and drops expired ones.
    pub async fn cull_keeps_live_entries<S: Cull>(store: &S) {
        let c = unique("cull");
        store
            .put(&c, "short", b("v"), Some(SHORT_TTL))
            .await
            .unwrap();
        store
            .put(&c, "long", b("v"), Some(Duration::from_secs(60)))
            .await
            .unwrap();
        store.put(&c, "forever", b("v"), None).await.unwrap();
        tokio::time::sleep(SHORT_TTL + MARGIN).await;
        store.cull().await.unwrap();
        let got = store
            .get_many(&c, &["short", "long", "forever"])
            .await
            .unwrap();
        assert_eq!(got, vec![None, Some(b("v")), Some(b("v"))]);
    }
}
