//! Group commit for `DiskStore`: one writer thread turns concurrent writes into one
//! redb transaction and one fsync.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

use redb::{Database, Durability, TableDefinition};
use tokio::sync::oneshot;

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
}

struct Job {
    op: WriteOp,
    reply: oneshot::Sender<Result<usize>>,
}

/// The writer thread: it takes the first waiting write, then every write that arrived
/// while it waited for the previous commit, applies them in order in one transaction
/// and commits once. Each caller gets its answer after the commit that holds its write,
/// so a durable put still returns only once its data is on disk.
pub(super) struct Writer {
    jobs: Option<Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    pub(super) fn start(db: Arc<Database>, durable: bool, is_live: fn(&[u8]) -> bool) -> Self {
        let (jobs, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("kv-redb-writer".into())
            .spawn(move || run(&db, durable, is_live, &rx))
            .ok();
        Self {
            jobs: Some(jobs),
            thread,
        }
    }

    /// Queues `op` and waits for the commit that holds it.
    pub(super) async fn submit(&self, op: WriteOp) -> Result<usize> {
        let (reply, answer) = oneshot::channel();
        let stopped = || Error::backend_msg("the redb writer thread stopped");
        self.jobs
            .as_ref()
            .ok_or_else(stopped)?
            .send(Job { op, reply })
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

impl Drop for Writer {
    /// Closes the queue and waits for the last commit, so the file is free again when
    /// the store is gone.
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(db: &Database, durable: bool, is_live: fn(&[u8]) -> bool, rx: &Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < GROUP {
            match rx.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let ops: Vec<&WriteOp> = group.iter().map(|j| &j.op).collect();
        match commit(db, durable, is_live, &ops) {
            Ok(answers) => {
                for (job, answer) in group.into_iter().zip(answers) {
                    let _ = job.reply.send(Ok(answer));
                }
            }
            // One bad write must not fail its neighbours: commit each alone.
            Err(_) => {
                for job in group {
                    let answer = commit(db, durable, is_live, &[&job.op]).map(|a| a[0]);
                    let _ = job.reply.send(answer);
                }
            }
        }
    }
}

fn db_err(e: impl Into<redb::Error>) -> Error {
    let e: redb::Error = e.into();
    Error::backend(format!("redb: {e}"), e)
}

/// Applies `ops` in order in one write transaction and commits it.
fn commit(
    db: &Database,
    durable: bool,
    is_live: fn(&[u8]) -> bool,
    ops: &[&WriteOp],
) -> Result<Vec<usize>> {
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
                    super::disk::format::encode_into(&mut stored, v, *expires_ms);
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
                        removed += usize::from(is_live(old.value()));
                    }
                }
                answers.push(removed);
            }
        }
    }
    txn.commit().map_err(db_err)?;
    Ok(answers)
}
