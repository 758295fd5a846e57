//! `Coalesce`: concurrent single-key reads, and puts, sent as one batch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use std::pin::Pin;
use std::time::Duration;

use tokio::sync::futures::OwnedNotified;
use tokio::sync::{Notify, oneshot};

use bytes::Bytes;

use crate::{Entry, Error, ErrorDetail, ErrorKind, GetOptions, Key, PutOptions, Result, Store};

/// The most keys one batch holds unless [`Coalesce::max_batch`] says otherwise.
pub const DEFAULT_MAX_BATCH: usize = 100;

/// The most batches of one collection in flight at once unless
/// [`Coalesce::max_in_flight`] says otherwise.
///
/// Four, by measurement (`cargo bench --bench coalesce`, 64 tasks of single gets, 2
/// cores, medians of several runs): on Redis one batch in flight read at 0.94× the raw
/// client's per-key `GET` (the readers fall into two cohorts and the connection idles
/// while each is woken), four at 1.76×, eight at 1.71×. On the MongoDB test server
/// one and four both read at ~4.8× per-key `findOne`s, eight at 4.0×; the
/// Elasticsearch test server, which runs one request at a time, at 3.0× with one and
/// 2.8× with four. Re-swept on Redis after batches began gathering over several
/// ticks ([`Coalesce`]): one 0.98×, two 2.37×, four 2.47×, eight 2.48×.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 4;

/// The most scheduling ticks a batch gathers for after its first, each only while
/// another batch of its collection is in flight and the last tick brought new callers,
/// unless [`Coalesce::gather_ticks`] says otherwise.
///
/// Measured (`cargo bench --bench coalesce`, 64 tasks of single gets, a busy loop on
/// the other core, old and new builds alternating): callers woken by one batch's
/// answers reach the next over several ticks, two worker threads apart. Sent after
/// one tick, Redis batches held ~21 keys and read at a median 2.0× per-key `GET`; with
/// this rule ~2.5×. Gathering also when nothing is in flight made larger batches
/// still (Redis ~2.6–2.9×) but left the backend idle while they gathered: MongoDB fell
/// from ~5.0× to ~4.2×, where with this rule it reads at ~4.6×. See
/// `docs/benchmarks.md`.
pub const DEFAULT_GATHER_TICKS: usize = 4;

/// Sends concurrent single-key reads (and puts) of one collection as one batch: the first `get`
/// opens a batch and yields to the scheduler; every `get` of the same collection
/// (and the same [`GetOptions`]) issued meanwhile joins it, and the first sends them
/// all as one [`get_many`](crate::KvStore::get_many) — one `MGET`, one `$in` query, one
/// `_mget`, one read transaction — instead of one round trip each. While another
/// batch of the collection is in flight and each tick brings new readers, the batch
/// waits another tick (a few at most, see [`gather_ticks`](Self::gather_ticks)):
/// callers woken at once reach it over several ticks, some on another worker thread,
/// and the backend is busy meanwhile anyway.
///
/// - **A few batches of a collection in flight** ([`DEFAULT_MAX_IN_FLIGHT`], see
///   [`max_in_flight`](Self::max_in_flight)): while that many are out, the next
///   gathers every reader that comes, and goes when one is answered — or at once when
///   full. Without a limit, concurrent readers split into groups that each batch
///   alone; with one batch, the backend idles while its readers are woken.
/// - **A lone read pays one yield**, no extra round trip: a batch nobody joined is sent
///   after one tick as the plain `get` it was.
/// - **Results stay per caller.** Each caller gets its own key's entry, and duplicate
///   keys are read once.
/// - **Errors stay per key.** If the batch fails with a [`Timeout`](ErrorKind::Timeout)
///   or [`Connection`](ErrorKind::Connection) error, the backend did not answer anyone,
///   and every caller gets an error of that kind (without waiting again). Any other
///   failure (one corrupt entry fails a whole `get_many` on most stores) sends each
///   caller's read again on its own, so only the key at fault fails. A batch waiting
///   behind one that timed out times out with it, so under a stalled server no read
///   waits longer than the inner store's own timeout.
/// - **Cancellation is safe.** If the caller that opened a batch is dropped before the
///   batch is sent, the others read on their own.
/// - **Bounded.** A batch holds at most [`DEFAULT_MAX_BATCH`] keys (see
///   [`max_batch`](Self::max_batch)); more readers open the next one. Only batches
///   being gathered are kept, so no state outlives the reads that made it.
///
/// **Puts coalesce the same way**: concurrent `put`s of one collection with the same
/// TTL go as one [`put_many`](crate::KvStore::put_many) (one `MSET`, one bulk request,
/// one write transaction), each caller's put returning when the batch is written. Of
/// two puts of one key in a batch, the later caller's wins, as if one ran after the
/// other. Errors follow the rule above: a timeout or lost connection fails every put of
/// the batch once (as a lone put's would, the write may or may not have happened); any
/// other failure (one value over a size limit fails a whole batch) sends each put again
/// on its own.
///
/// Deletes, batches, conditional writes and every capability go straight to the inner
/// store. A read never returns an entry older than the call: a batch is sent after
/// every read in it began; and a put has happened when it returns, so a read that
/// starts after sees it.
///
/// Worth it for network stores under concurrent load (Redis, MongoDB, Elasticsearch,
/// Memcached); an in-process store gains nothing from batching and pays the yield.
///
/// ```
/// use bytes::Bytes;
/// use kv_store_adapter::{KvStore, KvStoreExt, stores::MemoryStore};
///
/// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
/// let store = MemoryStore::new().coalesce();
/// store.put("users", "ada", Bytes::from_static(b"1"), None).await?;
/// // Read at once, these two are one get_many of the inner store.
/// let (a, b) = tokio::join!(store.get("users", "ada"), store.get("users", "bob"));
/// assert_eq!((a?, b?), (Some(Bytes::from_static(b"1")), None));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Coalesce<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> Coalesce<S> {
    /// Coalesces `inner`'s reads, up to [`DEFAULT_MAX_BATCH`] keys a batch.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            shared: Arc::new(Shared {
                max_batch: DEFAULT_MAX_BATCH,
                max_in_flight: DEFAULT_MAX_IN_FLIGHT,
                gather_ticks: DEFAULT_GATHER_TICKS,
                state: Mutex::default(),
            }),
        }
    }

    /// The same settings but `change`d, and no batch under way (the builders are for
    /// before the first call).
    fn configured(mut self, change: impl FnOnce(&mut Shared)) -> Self {
        let mut shared = Shared {
            max_batch: self.shared.max_batch,
            max_in_flight: self.shared.max_in_flight,
            gather_ticks: self.shared.gather_ticks,
            state: Mutex::default(),
        };
        change(&mut shared);
        self.shared = Arc::new(shared);
        self
    }

    /// At most `max` keys in one batch (at least 1; 1 turns coalescing off).
    pub fn max_batch(self, max: usize) -> Self {
        self.configured(|s| s.max_batch = max.max(1))
    }

    /// At most `max` batches of one collection in flight at once (at least 1): a batch
    /// that is not full waits for one to be answered, gathering readers meanwhile.
    /// Fewer in flight make bigger batches: 1 suits a server that runs one request at a
    /// time and pays mostly per key; more suit one that answers many at once (Redis
    /// pipelines them on one connection). See [`DEFAULT_MAX_IN_FLIGHT`] for numbers.
    pub fn max_in_flight(self, max: usize) -> Self {
        self.configured(|s| s.max_in_flight = max.max(1))
    }

    /// At most `ticks` more scheduling ticks a batch gathers for after its first, each
    /// only while another batch of its collection is in flight and the last tick
    /// brought new callers ([`DEFAULT_GATHER_TICKS`]; a batch stops growing at
    /// [`max_batch`](Self::max_batch) keys whatever this says). Larger batches suit a
    /// server that works through requests one at a time, where each request costs
    /// more than each key (Redis, Valkey). `0` sends every batch after one tick,
    /// leaving more, smaller batches in flight side by side: what suits a server that
    /// works on concurrent requests in parallel, as MongoDB does. On the MongoDB test
    /// server 64 tasks of single gets read at a median 5.0× per-key `findOne`s with
    /// `0` (batches of ~15 keys) against 4.65× with the default (~26 keys; six runs
    /// each, alternating); on Redis `0` reads at ~2.0× per-key `GET` against ~2.5×.
    ///
    /// ```
    /// use kv_store_adapter::{KvStoreExt, stores::MemoryStore};
    ///
    /// // For a backend that serves concurrent requests in parallel.
    /// let store = MemoryStore::new().coalesce().gather_ticks(0);
    /// # let _ = store;
    /// ```
    pub fn gather_ticks(self, ticks: usize) -> Self {
        self.configured(|s| s.gather_ticks = ticks)
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// How many collections have a batch being gathered or in flight now (0 when no
    /// read is under way: nothing is kept per collection beyond its reads).
    ///
    /// ```
    /// use kv_store_adapter::{KvStore, KvStoreExt, stores::MemoryStore};
    ///
    /// # #[tokio::main] async fn main() -> kv_store_adapter::Result<()> {
    /// let store = MemoryStore::new().coalesce();
    /// store.get("users", "ada").await?;
    /// assert_eq!(store.gathering(), 0);
    /// # Ok(()) }
    /// ```
    pub fn gathering(&self) -> usize {
        self.shared.lock().collections.len()
    }
}

/// Batches being gathered and sent. One lock, held only to join, open, take or finish
/// a batch.
#[derive(Debug, Default)]
struct Shared {
    max_batch: usize,
    max_in_flight: usize,
    gather_ticks: usize,
    state: Mutex<State>,
}

/// What a batch does: reads with the same options, or writes with the same options.
/// Each kind of a collection batches on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Get(GetOptions),
    Put(PutOptions),
}

#[derive(Debug, Default)]
struct State {
    /// Per collection with a batch open or in flight (no entry otherwise), per kind.
    collections: HashMap<String, Vec<(Kind, Pending)>>,
    /// Full batches, out of their collection's slot, not yet taken by their openers.
    full: Vec<Batch>,
    next_id: u64,
}

/// A collection's batches of one kind.
#[derive(Debug, Default)]
struct Pending {
    /// The batch being gathered.
    open: Option<Batch>,
    /// Batches sent and not yet answered.
    in_flight: usize,
    /// Wakes openers waiting for a batch in flight to finish (made when one waits).
    finished: Option<Arc<Notify>>,
    /// How many batches have finished.
    finishes: u64,
    /// The last finish that timed out, and the limit: openers waiting since before it
    /// time out at once rather than spend another limit on a backend that is not
    /// answering.
    timed_out: Option<(u64, Duration)>,
}

impl Pending {
    fn idle(&self) -> bool {
        self.in_flight == 0 && self.open.is_none()
    }

    fn wake_waiting(&self) {
        if let Some(finished) = &self.finished {
            finished.notify_waiters();
        }
    }
}

/// The callers who joined a batch, each waiting for its reply; the opener is not
/// among them.
#[derive(Debug)]
struct Batch {
    id: u64,
    /// The joined callers' keys, one after another (one buffer, not one string each).
    keys: String,
    joined: Vec<Joined>,
}

/// One caller in a batch: where its key is in the batch's keys, the value it writes (a
/// put), and where its reply goes.
#[derive(Debug)]
struct Joined {
    key: std::ops::Range<usize>,
    value: Option<Bytes>,
    reply: oneshot::Sender<Reply>,
}

/// What a joined caller receives.
#[derive(Debug)]
enum Reply {
    /// Its answer (`Ok(None)` for a write done).
    Done(Result<Option<Entry>>),
    /// Do it on your own: the batch failed in a way that may be one key's fault.
    Alone,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What an opener does next.
enum Next {
    /// Send the batch.
    Send(Batch),
    /// Callers joined the batch since the last look, and another is in flight: give
    /// more of them a tick to come before sending.
    Grew,
    /// Wait for a batch in flight to finish (the finishes so far given), then look
    /// again.
    Wait(Pin<Box<OwnedNotified>>, u64),
    /// A batch that finished after this one began waiting timed out: so does this one
    /// (taken out, its callers to be answered).
    TimedOut(Batch, Duration),
    /// The batch is gone (cannot happen while the opener holds it; sent as a batch of
    /// one).
    Gone,
}

impl State {
    fn pending(&mut self, collection: &str, kind: Kind) -> Option<&mut Pending> {
        self.collections
            .get_mut(collection)?
            .iter_mut()
            .find(|(k, _)| *k == kind)
            .map(|(_, p)| p)
    }

    fn pending_or_new(&mut self, collection: &str, kind: Kind) -> &mut Pending {
        let kinds = self.collections.entry(collection.to_owned()).or_default();
        let at = match kinds.iter().position(|(k, _)| *k == kind) {
            Some(at) => at,
            None => {
                kinds.push((kind, Pending::default()));
                kinds.len() - 1
            }
        };
        &mut kinds[at].1
    }

    /// Joins the open batch of `collection` and `kind`, or opens one: `Err(id)` for
    /// the opener.
    fn join(
        &mut self,
        collection: &str,
        kind: Kind,
        key: &str,
        value: Option<Bytes>,
        max: usize,
    ) -> std::result::Result<oneshot::Receiver<Reply>, u64> {
        if let Some(pending) = self.pending(collection, kind)
            && let Some(batch) = &mut pending.open
        {
            let (tx, rx) = oneshot::channel();
            let start = batch.keys.len();
            batch.keys.push_str(key);
            batch.joined.push(Joined {
                key: start..batch.keys.len(),
                value,
                reply: tx,
            });
            // The opener counts as one of the batch's keys. Full: out of the slot, and
            // its opener, if waiting for a batch in flight, sends it at once.
            if batch.joined.len() + 1 >= max {
                let full = pending.open.take().expect("the batch is there");
                pending.wake_waiting();
                self.full.push(full);
            }
            return Ok(rx);
        }
        self.next_id += 1;
        let id = self.next_id;
        let batch = Batch {
            id,
            keys: String::new(),
            joined: Vec::new(),
        };
        if max <= 1 {
            // Full with its opener alone.
            self.full.push(batch);
            return Err(id);
        }
        self.pending_or_new(collection, kind).open = Some(batch);
        Err(id)
    }

    /// The opener of batch `id`: send it now (a full one, or fewer than `max_in_flight`
    /// of the collection's batches of its kind are in flight), or wait. With `growing`
    /// (how many callers had joined at the opener's last look), a batch that gained
    /// callers since, while another of its collection is in flight, is not sent yet
    /// ([`Next::Grew`]).
    fn next(
        &mut self,
        collection: &str,
        kind: Kind,
        id: u64,
        max_in_flight: usize,
        waiting_since: Option<u64>,
        growing: Option<&mut usize>,
    ) -> Next {
        if let Some(at) = self.full.iter().position(|b| b.id == id) {
            let batch = self.full.swap_remove(at);
            self.pending_or_new(collection, kind).in_flight += 1;
            return Next::Send(batch);
        }
        let Some(pending) = self.pending(collection, kind) else {
            return Next::Gone;
        };
        if pending.open.as_ref().is_none_or(|b| b.id != id) {
            return Next::Gone;
        }
        if let (Some(since), Some((at, limit))) = (waiting_since, pending.timed_out)
            && at > since
        {
            let batch = pending.open.take().expect("the batch is there");
            self.forget_if_idle(collection, kind);
            return Next::TimedOut(batch, limit);
        }
        let joined = pending.open.as_ref().map_or(0, |b| b.joined.len());
        if let Some(seen) = growing
            && joined > *seen
            && pending.in_flight > 0
        {
            *seen = joined;
            return Next::Grew;
        }
        if pending.in_flight < max_in_flight {
            pending.in_flight += 1;
            return Next::Send(pending.open.take().expect("the batch is there"));
        }
        let finished = pending.finished.get_or_insert_with(Default::default);
        let mut wait = Box::pin(finished.clone().notified_owned());
        // Registered before the lock goes: no finish can be missed.
        wait.as_mut().enable();
        Next::Wait(wait, pending.finishes)
    }

    /// Takes the unsent batch `id` of `collection` out, wherever it is.
    fn withdraw(&mut self, collection: &str, kind: Kind, id: u64) -> Option<Batch> {
        let batch = if let Some(at) = self.full.iter().position(|b| b.id == id) {
            Some(self.full.swap_remove(at))
        } else {
            let pending = self.pending(collection, kind)?;
            if pending.open.as_ref().is_none_or(|b| b.id != id) {
                return None;
            }
            pending.open.take()
        };
        // A full batch left its slot empty: the collection may be idle now too.
        self.forget_if_idle(collection, kind);
        batch
    }

    /// Drops `collection`'s entry of `kind` if nothing of it is open or in flight, and
    /// the collection's when no kind is left.
    fn forget_if_idle(&mut self, collection: &str, kind: Kind) {
        if let Some(kinds) = self.collections.get_mut(collection) {
            kinds.retain(|(k, p)| *k != kind || !p.idle());
            if kinds.is_empty() {
                self.collections.remove(collection);
            }
        }
    }

    /// A batch of `collection` was answered (or its sender dropped), having timed out
    /// after `timed_out` if it did.
    fn finish(&mut self, collection: &str, kind: Kind, timed_out: Option<Duration>) {
        if let Some(pending) = self.pending(collection, kind) {
            pending.in_flight = pending.in_flight.saturating_sub(1);
            pending.finishes += 1;
            if let Some(limit) = timed_out {
                pending.timed_out = Some((pending.finishes, limit));
            }
            pending.wake_waiting();
        }
        self.forget_if_idle(collection, kind);
    }
}

/// An opener's hold on its batch. Dropped before the batch is sent, it takes the
/// batch out (dropping the senders tells each joined caller to go on its own);
/// dropped after, it counts the batch as finished.
struct Opened<'a> {
    shared: &'a Shared,
    collection: &'a str,
    kind: Kind,
    id: u64,
    sent: bool,
    /// The limit the sent batch timed out after, if it did.
    timed_out: Option<Duration>,
}

impl Opened<'_> {
    /// Notes how the sent batch ended.
    fn ended<T>(&mut self, result: &Result<T>) {
        if let Err(e) = result
            && let ErrorDetail::Timeout(limit) = e.detail()
        {
            self.timed_out = Some(*limit);
        }
    }
}

impl Drop for Opened<'_> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        if self.sent {
            state.finish(self.collection, self.kind, self.timed_out);
        } else {
            let batch = state.withdraw(self.collection, self.kind, self.id);
            drop(state);
            drop(batch);
        }
    }
}

/// The error each joined caller gets when the batch failed for everyone, or `None`
/// when each should go on its own.
fn shared_failure(e: &Error) -> Option<fn(&Error) -> Error> {
    match e.kind() {
        ErrorKind::Timeout => Some(|e| match e.detail() {
            ErrorDetail::Timeout(limit) => Error::timeout(*limit),
            _ => Error::connection_msg(e.to_string()),
        }),
        ErrorKind::Connection => Some(|e| Error::connection_msg(e.to_string())),
        _ => None,
    }
}

/// Answers every joined caller of a failed batch: the shared error, or `Alone`;
/// answers whether the opener shares the error too.
fn answer_failure(joined: Vec<Joined>, e: &Error) -> bool {
    let copy = shared_failure(e);
    for j in joined {
        let _ = j.reply.send(match copy {
            Some(copy) => Reply::Done(Err(copy(e))),
            None => Reply::Alone,
        });
    }
    copy.is_some()
}

impl<S: Store> Coalesce<S> {
    /// Lets others join the batch `id` the caller opened for one scheduling tick, then
    /// waits its turn: the hold on the batch, and the batch to send (`None`: the
    /// opener's call alone).
    async fn gather<'a>(
        &'a self,
        collection: &'a str,
        kind: Kind,
        id: u64,
    ) -> Result<(Opened<'a>, Option<Batch>)> {
        let mut opened = Opened {
            shared: &self.shared,
            collection,
            kind,
            id,
            sent: false,
            timed_out: None,
        };
        tokio::task::yield_now().await;
        let mut since = None;
        // Callers woken together reach the batch over a few ticks (some on another
        // worker thread): while each tick brings more, give them another.
        let mut seen = 0;
        let mut ticks = self.shared.gather_ticks;
        let batch = loop {
            let max = self.shared.max_in_flight;
            let growing = (ticks > 0 && since.is_none()).then_some(&mut seen);
            let next = self
                .shared
                .lock()
                .next(collection, kind, id, max, since, growing);
            match next {
                Next::Send(batch) => break Some(batch),
                Next::Grew => {
                    ticks -= 1;
                    tokio::task::yield_now().await;
                }
                Next::Wait(finished, finishes) => {
                    since = Some(finishes);
                    finished.await;
                }
                Next::TimedOut(batch, limit) => {
                    for j in batch.joined {
                        let _ = j.reply.send(Reply::Done(Err(Error::timeout(limit))));
                    }
                    return Err(Error::timeout(limit));
                }
                Next::Gone => break None,
            }
        };
        opened.sent = batch.is_some();
        Ok((opened, batch))
    }

    /// Reads the opener's key and its batch's (`None`: the opener's alone).
    async fn send_get(
        &self,
        k: Key<'_>,
        o: GetOptions,
        batch: Option<Batch>,
    ) -> Result<Option<Entry>> {
        let Batch {
            keys: names,
            joined,
            ..
        } = match batch {
            Some(batch) if !batch.joined.is_empty() => batch,
            _ => return self.inner.get_opts(k, o).await,
        };
        let own = k.joined();
        // Each distinct key once: the opener's first, then the joined readers' in order.
        let n = joined.len() + 1;
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(n);
        let mut keys: Vec<&str> = Vec::with_capacity(n);
        index.insert(own.as_ref(), 0);
        keys.push(own.as_ref());
        // Where each joined reader's key is, and how many readers want each entry (the
        // last one takes it, the others get a copy).
        let mut wanted = Vec::with_capacity(n);
        wanted.push(1usize);
        let at: Vec<usize> = joined
            .iter()
            .map(|j| {
                let key = &names[j.key.clone()];
                let i = *index.entry(key).or_insert_with(|| {
                    keys.push(key);
                    wanted.push(0);
                    keys.len() - 1
                });
                wanted[i] += 1;
                i
            })
            .collect();
        match self.inner.get_many_opts(k.collection(), &keys, o).await {
            Ok(mut entries) if entries.len() == keys.len() => {
                let mut answer = |i: usize| {
                    wanted[i] -= 1;
                    if wanted[i] == 0 {
                        entries[i].take()
                    } else {
                        entries[i].clone()
                    }
                };
                for (j, i) in joined.into_iter().zip(at) {
                    let _ = j.reply.send(Reply::Done(Ok(answer(i))));
                }
                Ok(answer(0))
            }
            Ok(_) => {
                for j in joined {
                    let _ = j.reply.send(Reply::Alone);
                }
                self.inner.get_opts(k, o).await
            }
            Err(e) => {
                if answer_failure(joined, &e) {
                    Err(e)
                } else {
                    self.inner.get_opts(k, o).await
                }
            }
        }
    }

    /// Writes the opener's entry and its batch's as one `put_many` (`None`: the
    /// opener's alone). The opener's entry goes first, then the joined ones in the
    /// order they came, so of one key the last to come wins.
    async fn send_put(
        &self,
        k: Key<'_>,
        value: Bytes,
        o: PutOptions,
        batch: Option<Batch>,
    ) -> Result<()> {
        let Batch {
            keys: names,
            mut joined,
            ..
        } = match batch {
            Some(batch) if !batch.joined.is_empty() => batch,
            _ => return self.inner.put_opts(k, value, o).await,
        };
        let own = k.joined();
        let mut entries: Vec<(&str, Bytes)> = Vec::with_capacity(joined.len() + 1);
        entries.push((own.as_ref(), value.clone()));
        let values: Vec<Bytes> = joined
            .iter_mut()
            .map(|j| j.value.take().unwrap_or_default())
            .collect();
        entries.extend(joined.iter().map(|j| &names[j.key.clone()]).zip(values));
        let result = self.inner.put_many_opts(k.collection(), &entries, o).await;
        drop(entries);
        match result {
            Ok(()) => {
                for j in joined {
                    let _ = j.reply.send(Reply::Done(Ok(None)));
                }
                Ok(())
            }
            Err(e) => {
                if answer_failure(joined, &e) {
                    Err(e)
                } else {
                    self.inner.put_opts(k, value, o).await
                }
            }
        }
    }

    /// Joins or opens a batch of `kind` for `k` (with `value` for a put): the reply of
    /// a joined caller, or the opener's id.
    fn join(
        &self,
        k: &Key<'_>,
        kind: Kind,
        value: Option<Bytes>,
    ) -> std::result::Result<oneshot::Receiver<Reply>, u64> {
        let key = k.joined();
        self.shared
            .lock()
            .join(k.collection(), kind, &key, value, self.shared.max_batch)
    }
}

impl<S: Store> Store for Coalesce<S> {
    crate::forward_methods!(inner; delete_opts, get_many_opts, put_many_opts, delete_many_opts);

    async fn get_opts(&self, k: Key<'_>, o: GetOptions) -> Result<Option<Entry>> {
        // Reads batch together only with the same options (today: whether TTLs are read).
        let kind = Kind::Get(o);
        match self.join(&k, kind, None) {
            Err(id) => {
                let (mut opened, batch) = self.gather(k.collection(), kind, id).await?;
                let result = self.send_get(k, o, batch).await;
                opened.ended(&result);
                result
            }
            Ok(rx) => match rx.await {
                Ok(Reply::Done(result)) => result,
                // The batch failed for reasons that may be one key's, or its opener
                // was dropped before sending it.
                Ok(Reply::Alone) | Err(_) => self.inner.get_opts(k, o).await,
            },
        }
    }

    async fn put_opts(&self, k: Key<'_>, value: Bytes, o: PutOptions) -> Result<()> {
        // Writes batch together only with the same options (the same TTL).
        let kind = Kind::Put(o);
        match self.join(&k, kind, Some(value.clone())) {
            Err(id) => {
                let (mut opened, batch) = self.gather(k.collection(), kind, id).await?;
                let result = self.send_put(k, value, o, batch).await;
                opened.ended(&result);
                result
            }
            Ok(rx) => match rx.await {
                Ok(Reply::Done(result)) => result.map(drop),
                Ok(Reply::Alone) | Err(_) => self.inner.put_opts(k, value, o).await,
            },
        }
    }
}

crate::forward_capabilities!(Coalesce, inner;
    enumerate_keys, enumerate_collections, destroy_collection, destroy, cull, conditional_writes);
