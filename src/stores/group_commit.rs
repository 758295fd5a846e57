//! Group commit for `DiskStore`: a writer thread turns the writes waiting for a file
//! into one redb transaction and one fsync; files share a bounded pool of threads.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use redb::{Database, Durability, TableDefinition};
use tokio::sync::oneshot;

use super::disk_format as format;
use crate::{Error, Result};

/// Jobs committed together at most.
const GROUP: usize = 1_024;

/// A write for the writer thread.
pub(super) enum WriteOp {
    /// Insert rows into a table, all with one deadline (encoded on the writer thread).
    Put {
        table: String,
        rows: Vec<(String, bytes::Bytes)>,
        expires_ms: u64,
    },
    /// Remove keys from a table; answers how many live entries went.
    Delete { table: String, keys: Vec<String> },
    /// Insert one row under `condition` (with `version`, chosen by the caller);
    /// answers 1 if it did, 0 if the condition did not hold.
    PutIf {
        table: String,
        key: String,
        value: bytes::Bytes,
        expires_ms: u64,
        condition: crate::Condition,
        version: crate::Version,
    },
    /// Remove one key if it is live with `version`; answers 1 if it did, else 0.
    DeleteIf {
        table: String,
        key: String,
        version: crate::Version,
    },
}

struct Job {
    op: WriteOp,
    reply: oneshot::Sender<Result<usize>>,
}

/// Writer threads shared by files: a `DiskStore` has a pool of one, a
/// `MultiDiskStore` one pool for all its files. A file with waiting writes is queued
/// once; a thread takes it, commits its waiting writes (up to [`GROUP`]) in one
/// transaction, and queues it again if more arrived. So a file is written by one
/// thread at a time, in order, and the number of threads is the pool's cap however
/// many files are open. Threads start when work finds none idle.
pub(super) struct Pool {
    shared: Arc<PoolShared>,
}

struct PoolShared {
    state: Mutex<PoolState>,
    work: Condvar,
    max: AtomicUsize,
}

#[derive(Default)]
struct PoolState {
    ready: VecDeque<Arc<File>>,
    threads: Vec<JoinHandle<()>>,
    idle: usize,
    closed: bool,
}

/// One file's queue.
struct File {
    state: Mutex<FileState>,
    /// Signalled when the file has no write queued or in progress.
    idle: Condvar,
    durable: bool,
}

struct FileState {
    /// `None` once the file's `Writer` is dropped.
    db: Option<Arc<Database>>,
    jobs: VecDeque<Job>,
    /// In the pool's ready queue or being committed.
    scheduled: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Pool {
    /// A pool of at most `max` threads (at least one).
    pub(super) fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            shared: Arc::new(PoolShared {
                state: Mutex::default(),
                work: Condvar::new(),
                max: AtomicUsize::new(max.max(1)),
            }),
        })
    }

    /// Changes the cap; threads beyond it are not stopped, no new ones start.
    pub(super) fn set_max(&self, max: usize) {
        self.shared.max.store(max.max(1), Ordering::Relaxed);
    }

    /// The cap on threads.
    pub(super) fn max(&self) -> usize {
        self.shared.max.load(Ordering::Relaxed)
    }

    /// Queues a file with waiting writes, starting a thread if none is idle and the
    /// cap allows. Fails only when no thread exists and none can start.
    fn schedule(&self, file: Arc<File>) -> std::result::Result<(), ()> {
        let mut state = lock(&self.shared.state);
        state.ready.push_back(file);
        if state.idle > 0 {
            self.shared.work.notify_one();
            return Ok(());
        }
        if state.threads.len() < self.max() {
            let shared = self.shared.clone();
            match std::thread::Builder::new()
                .name("kv-redb-writer".into())
                .spawn(move || work(&shared))
            {
                Ok(thread) => state.threads.push(thread),
                Err(_) if state.threads.is_empty() => {
                    state.ready.pop_back();
                    return Err(());
                }
                Err(_) => {}
            }
        }
        Ok(())
    }
}

impl Drop for Pool {
    /// Stops the threads; every file's writer waited for its last commit already.
    fn drop(&mut self) {
        let threads = {
            let mut state = lock(&self.shared.state);
            state.closed = true;
            std::mem::take(&mut state.threads)
        };
        self.shared.work.notify_all();
        for thread in threads {
            let _ = thread.join();
        }
    }
}

/// A pool thread: takes files with waiting writes until the pool closes.
fn work(shared: &PoolShared) {
    loop {
        let file = {
            let mut state = lock(&shared.state);
            loop {
                if let Some(file) = state.ready.pop_front() {
                    break file;
                }
                if state.closed {
                    return;
                }
                state.idle += 1;
                state = shared.work.wait(state).unwrap_or_else(|p| p.into_inner());
                state.idle -= 1;
            }
        };
        let (db, group) = {
            let mut state = lock(&file.state);
            let n = state.jobs.len().min(GROUP);
            (state.db.clone(), state.jobs.drain(..n).collect::<Vec<_>>())
        };
        if let Some(db) = db {
            commit_group(&db, file.durable, group);
        }
        let mut state = lock(&file.state);
        if state.jobs.is_empty() {
            state.scheduled = false;
            file.idle.notify_all();
        } else {
            drop(state);
            lock(&shared.state).ready.push_back(file);
        }
    }
}

/// A file's handle on its pool: each caller gets its answer after the commit that
/// holds its write, so a durable put still returns only once its data is on disk.
pub(super) struct Writer {
    file: Arc<File>,
    pool: Arc<Pool>,
}

impl Writer {
    pub(super) fn start(db: Arc<Database>, durable: bool, pool: Arc<Pool>) -> Self {
        let file = Arc::new(File {
            state: Mutex::new(FileState {
                db: Some(db),
                jobs: VecDeque::new(),
                scheduled: false,
            }),
            idle: Condvar::new(),
            durable,
        });
        Self { file, pool }
    }

    /// Queues `op` and waits for the commit that holds it.
    pub(super) async fn submit(&self, op: WriteOp) -> Result<usize> {
        let (reply, answer) = oneshot::channel();
        let stopped = || Error::backend_msg("the redb writer thread stopped");
        let schedule = {
            let mut state = lock(&self.file.state);
            if state.db.is_none() {
                return Err(stopped());
            }
            state.jobs.push_back(Job { op, reply });
            !std::mem::replace(&mut state.scheduled, true)
        };
        if schedule && self.pool.schedule(self.file.clone()).is_err() {
            let mut state = lock(&self.file.state);
            state.jobs.clear();
            state.scheduled = false;
            return Err(Error::backend_msg("cannot start a redb writer thread"));
        }
        answer.await.map_err(|_| stopped())?
    }
}

impl Drop for Writer {
    /// Waits for the file's last commit and lets go of the database, so the file is
    /// free again when the store is gone.
    fn drop(&mut self) {
        let mut state = lock(&self.file.state);
        while state.scheduled {
            state = self
                .file
                .idle
                .wait(state)
                .unwrap_or_else(|p| p.into_inner());
        }
        state.db = None;
    }
}

/// Commits a group in one transaction and answers each job; one bad write must not
/// fail its neighbours, so a failed group is committed again one job at a time.
fn commit_group(db: &Database, durable: bool, group: Vec<Job>) {
    let ops: Vec<&WriteOp> = group.iter().map(|j| &j.op).collect();
    match commit(db, durable, &ops) {
        Ok(answers) => {
            for (job, answer) in group.into_iter().zip(answers) {
                let _ = job.reply.send(Ok(answer));
            }
        }
        Err(_) => {
            for job in group {
                let answer = commit(db, durable, &[&job.op]).map(|a| a[0]);
                let _ = job.reply.send(answer);
            }
        }
    }
}

fn db_err(e: impl Into<redb::Error>) -> Error {
    let e: redb::Error = e.into();
    Error::backend(format!("redb: {e}"), e)
}

/// Applies `ops` in order in one write transaction and commits it.
fn commit(db: &Database, durable: bool, ops: &[&WriteOp]) -> Result<Vec<usize>> {
    let mut txn = db.begin_write().map_err(db_err)?;
    if !durable {
        txn.set_durability(Durability::None).map_err(db_err)?;
    }
    let mut answers = Vec::with_capacity(ops.len());
    for op in ops {
        match op {
            WriteOp::Put {
                table,
                rows,
                expires_ms,
            } => {
                let mut table = txn
                    .open_table(TableDefinition::<&str, &[u8]>::new(table))
                    .map_err(db_err)?;
                let mut stored = Vec::new();
                for (k, v) in rows {
                    let version = crate::Version::unique();
                    format::encode_into(&mut stored, v, *expires_ms, version);
                    table
                        .insert(k.as_str(), stored.as_slice())
                        .map_err(db_err)?;
                }
                answers.push(rows.len());
            }
            WriteOp::Delete { table, keys } => {
                let mut table = txn
                    .open_table(TableDefinition::<&str, &[u8]>::new(table))
                    .map_err(db_err)?;
                let mut removed = 0;
                for k in keys {
                    if let Some(old) = table.remove(k.as_str()).map_err(db_err)? {
                        removed += usize::from(format::is_live(old.value()) == Some(true));
                    }
                }
                answers.push(removed);
            }
            WriteOp::PutIf {
                table,
                key,
                value,
                expires_ms,
                condition,
                version,
            } => {
                let mut table = txn
                    .open_table(TableDefinition::<&str, &[u8]>::new(table))
                    .map_err(db_err)?;
                let found = live_version(&table, key)?;
                let holds = condition.holds(found.map(Some));
                if holds {
                    let mut stored = Vec::new();
                    format::encode_into(&mut stored, value, *expires_ms, *version);
                    table
                        .insert(key.as_str(), stored.as_slice())
                        .map_err(db_err)?;
                }
                answers.push(usize::from(holds));
            }
            WriteOp::DeleteIf {
                table,
                key,
                version,
            } => {
                let mut table = txn
                    .open_table(TableDefinition::<&str, &[u8]>::new(table))
                    .map_err(db_err)?;
                let holds = live_version(&table, key)? == Some(*version);
                if holds {
                    table.remove(key.as_str()).map_err(db_err)?;
                }
                answers.push(usize::from(holds));
            }
        }
    }
    txn.commit().map_err(db_err)?;
    Ok(answers)
}

/// The version of the live entry under `key`, if any; an entry not in the store's
/// format is corrupt data, and nothing is written over it.
fn live_version(
    table: &impl redb::ReadableTable<&'static str, &'static [u8]>,
    key: &str,
) -> Result<Option<crate::Version>> {
    let Some(found) = table.get(key).map_err(db_err)? else {
        return Ok(None);
    };
    Ok(format::decode("", key, found.value())?.map(|(_, _, version)| version))
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("max", &self.max()).finish()
    }
}
