//! Pipelined memcached connections for [`MemcachedStore`](super::MemcachedStore): many
//! callers' meta commands share one connection, each written as soon as it comes and
//! answered in order, instead of each caller holding a connection for a round trip.
//!
//! A caller notes what its request expects; on an idle connection (nothing being
//! written, no answer awaited) it writes the request itself, as much as the socket
//! takes at once (a non-blocking write: nobody waits holding the socket). Otherwise,
//! and for what the socket did not take, its bytes join the connection's outbox, which
//! a writer task writes, as many requests as are waiting in one write.
//!
//! One holder of the read role at a time reads what the socket has and hands each
//! request its own answers, in the order written (memcached answers a connection's
//! commands in order). A caller that wrote on an idle connection holds it and reads
//! its own answer, as a plain client does: no task hand-over on either side (on a busy
//! machine a task woken on another thread costs more than the write or the read).
//! Otherwise a reader task holds it until no answer is awaited; a lone caller that
//! gets its answer while others wait hands the role to it. Reading happens under the
//! connection's lock and never waits there, so a caller that gives up (a timeout,
//! cancellation) leaves no half-read answer: its answers are read and dropped, and no
//! later caller ever reads them. A connection that fails (a read or write error, an
//! answer that does not parse, the server closing it, seen by a reader or by the
//! pool's look at an idle connection) fails every request on it and is replaced by
//! the pool on its next use.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::futures::Notified;
use tokio::sync::{Notify, oneshot};

use crate::{Error, Result};

/// The longest answer header line accepted (a meta answer's flags are short).
const MAX_LINE: usize = 8 * 1024;
/// The largest value accepted (memcached's own limit on an item, `-I 1024m`).
const MAX_VALUE: usize = 1 << 30;

/// How an answer begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    /// `VA`: a value follows.
    Value,
    /// `HD`: done (stored, deleted, or a hit without a value asked for).
    Done,
    /// `EN`: a miss.
    Miss,
    /// `NS`: not stored (an add over an item).
    NotStored,
    /// `EX`: the CAS token did not match.
    Exists,
    /// `NF`: no such item.
    NotFound,
    /// `SERVER_ERROR …`: the server failed this command (out of memory, say) and
    /// stays in step; the message is in [`Answer::message`].
    ServerError,
}

/// One answer to one meta command.
#[derive(Debug)]
pub(crate) struct Answer {
    pub code: Code,
    /// The return flags after the code (and the size), as sent: `f123 c456 …`.
    flags: String,
    /// The value of a `VA` answer.
    pub data: Option<Bytes>,
}

impl Answer {
    /// The token of return flag `flag` (`c` → the CAS token's digits).
    pub fn flag(&self, flag: char) -> Option<&str> {
        self.flags
            .split(' ')
            .find_map(|token| token.strip_prefix(flag))
    }

    /// The text after the code: a server error's message.
    pub fn message(&self) -> &str {
        &self.flags
    }

    /// Return flag `flag` as a number.
    pub fn number<T: std::str::FromStr>(&self, flag: char) -> Option<T> {
        self.flag(flag)?.parse().ok()
    }
}

/// Requests written and not yet answered, oldest first, with the answers gathered for
/// the oldest.
struct Waiting {
    jobs: VecDeque<Job>,
    gathered: Vec<Answer>,
    /// Bytes of the requests in `jobs`.
    requested: usize,
    /// Why the connection failed, once it has: later requests fail at once.
    failed: Option<String>,
    /// Bytes of requests noted in `jobs` and not yet handed to the socket, in order.
    outbox: Vec<u8>,
    /// Whether the writer task is writing: while it is, requests join `outbox`, so
    /// that bytes reach the socket in the order their requests were noted.
    writing: bool,
    /// Bytes read and not yet parsed into answers.
    unread: BytesMut,
    /// Whether the read role is held: by the caller that wrote on an idle connection,
    /// or by the reader task. Always, while `jobs` is not empty.
    reading: bool,
}

/// A request written (or being written) and not yet answered.
struct Job {
    answers: usize,
    bytes: usize,
    reply: oneshot::Sender<Result<Vec<Answer>>>,
}

impl Waiting {
    /// What the connection carries now, for [`Shared::backlog`].
    fn backlog(&self) -> usize {
        self.requested + self.unread.len()
    }
}

struct Shared {
    waiting: Mutex<Waiting>,
    /// Bytes of requests not yet answered and of answers read and not yet handed out
    /// (a large value in transfer), as of the last change under the lock.
    backlog: AtomicUsize,
    write: OwnedWriteHalf,
    read: OwnedReadHalf,
    /// Wakes the writer task: bytes wait in the outbox, or the connection failed.
    wake_writer: Notify,
    /// Wakes the reader task to hold the read role (set for it already).
    wake_reader: Notify,
    /// Wakes the read role's holder when the connection fails.
    failed: Notify,
    closed: AtomicBool,
    /// Calls sent and not yet answered (or given up).
    calls: AtomicUsize,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Fails every waiting request and every later one with `why`.
    fn fail(&self, why: String) {
        self.closed.store(true, Ordering::Release);
        let mut waiting = self.lock();
        for Job { reply, .. } in waiting.jobs.drain(..) {
            let _ = reply.send(Err(Error::connection_msg(format!("memcached: {why}"))));
        }
        waiting.gathered.clear();
        waiting.requested = 0;
        self.backlog.store(0, Ordering::Relaxed);
        waiting.outbox = Vec::new();
        waiting.unread = BytesMut::new();
        waiting.failed.get_or_insert(why);
        drop(waiting);
        self.wake_writer.notify_one();
        self.failed.notify_waiters();
    }

    /// As the read role's holder: reads what the socket holds without waiting (at
    /// most [`READS_PER_LOOK`] reads, the lock held) and hands out every whole answer.
    /// `Err`: the connection failed (and is failed).
    fn read_ready(&self) -> std::result::Result<(), String> {
        self.read_ready_if(|_| true)
    }

    /// [`read_ready`](Self::read_ready) if `now(waiting)`, looked at under the lock.
    fn read_ready_if(&self, now: impl FnOnce(&Waiting) -> bool) -> std::result::Result<(), String> {
        let mut guard = self.lock();
        let waiting = &mut *guard;
        if let Some(why) = &waiting.failed {
            return Err(why.clone());
        }
        if !now(waiting) {
            return Ok(());
        }
        let mut reads = 0;
        let failure = loop {
            if reads == READS_PER_LOOK {
                // The rest on the holder's next look (the socket stays ready).
                break deliver_parsed(waiting).err();
            }
            reads += 1;
            waiting.unread.reserve(READ_CHUNK);
            let room = waiting.unread.capacity() - waiting.unread.len();
            let mut got = 0;
            // A read that leaves room took all the socket had: the socket is marked
            // not ready (as tokio's own reads do), so that the next look costs no
            // system call that would only find nothing.
            let read = self.read.as_ref().try_io(Interest::READABLE, || {
                got = self.read.try_read_buf(&mut waiting.unread)?;
                if got > 0 && got < room {
                    return Err(std::io::ErrorKind::WouldBlock.into());
                }
                Ok(got)
            });
            match read {
                Ok(0) => break Some("the server closed the connection".to_owned()),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    break deliver_parsed(waiting).err();
                }
                Err(e) => break Some(format!("read failed: {e}")),
            }
            // Hand out answers as they complete: a large value read in several
            // chunks does not hold back the answers before it.
            if let Err(why) = deliver_parsed(waiting) {
                break Some(why);
            }
        };
        self.backlog.store(waiting.backlog(), Ordering::Relaxed);
        drop(guard);
        match failure {
            None => Ok(()),
            Some(why) => {
                self.fail(why.clone());
                Err(why)
            }
        }
    }
}

/// How much room a read makes in the buffer at least.
const READ_CHUNK: usize = 16 * 1024;

/// The most reads of one look, so that a stream of large values does not keep the
/// connection's lock (and every caller sending on it) for long.
const READS_PER_LOOK: usize = 16;

/// Hands every whole answer in `unread` to its request. `Err`: the stream is out of
/// step (garbage, or an answer no request asked for).
fn deliver_parsed(waiting: &mut Waiting) -> std::result::Result<(), String> {
    while let Some(answer) = parse(&mut waiting.unread)? {
        if waiting.jobs.is_empty() {
            return Err("an answer no request asked for".into());
        }
        waiting.gathered.push(answer);
        let wanted = waiting.jobs.front().map_or(0, |job| job.answers);
        if waiting.gathered.len() >= wanted {
            let job = waiting.jobs.pop_front().expect("a request waits");
            waiting.requested -= job.bytes;
            let _ = job.reply.send(Ok(std::mem::take(&mut waiting.gathered)));
        }
    }
    Ok(())
}

/// One pipelined connection.
pub(crate) struct Connection {
    shared: Arc<Shared>,
    reader: tokio::task::AbortHandle,
    writer: tokio::task::AbortHandle,
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Either task may wait on a silent server forever (the writer for room to
        // write), so both are stopped.
        self.reader.abort();
        self.writer.abort();
        self.shared.fail("connection replaced".into());
    }
}

impl Connection {
    /// Connects to `address` (`host:port`); the caller bounds the time.
    pub async fn open(address: &str) -> std::io::Result<Self> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        let (read, write) = stream.into_split();
        let shared = Arc::new(Shared {
            backlog: AtomicUsize::new(0),
            waiting: Mutex::new(Waiting {
                jobs: VecDeque::new(),
                gathered: Vec::new(),
                requested: 0,
                failed: None,
                outbox: Vec::new(),
                writing: false,
                unread: BytesMut::new(),
                reading: false,
            }),
            write,
            read,
            wake_writer: Notify::new(),
            wake_reader: Notify::new(),
            failed: Notify::new(),
            closed: AtomicBool::new(false),
            calls: AtomicUsize::new(0),
        });
        let writer = tokio::spawn(write_loop(shared.clone())).abort_handle();
        let reader = tokio::spawn(read_loop(shared.clone())).abort_handle();
        Ok(Self {
            shared,
            reader,
            writer,
        })
    }

    /// Whether the connection failed (its next user should replace it). An idle
    /// connection (no answer awaited, so nobody holds the read role) is looked at
    /// first: what its socket holds is read at once, so a server that closed it
    /// (memcached's `idle_timeout`, a restart) is seen before a request is written to
    /// it. The look costs no system call unless the socket has something to read. A
    /// busy connection is left to its role's holder: an answer read here would reach
    /// a holder that waits on the socket, not on the answer.
    pub fn is_closed(&self) -> bool {
        if !self.shared.closed.load(Ordering::Acquire) {
            let _ = self.shared.read_ready_if(|waiting| !waiting.reading);
        }
        self.shared.closed.load(Ordering::Acquire)
    }

    /// How many calls wait for answers on this connection.
    pub fn waiting(&self) -> usize {
        self.shared.calls.load(Ordering::Relaxed)
    }

    /// Bytes on their way: of requests not yet answered, and of answers being read (a
    /// large value in transfer shows here once its first bytes are read).
    pub fn backlog(&self) -> usize {
        self.shared.backlog.load(Ordering::Relaxed)
    }

    /// Notes that `request` expects `answers` answers (to `reply`) and writes it: here,
    /// on an idle connection, as much as the socket takes at once; the rest, or all of
    /// it on a busy connection, joins the outbox for the writer task. Both under the lock, so bytes reach
    /// the socket in the order their requests are noted. `Err`: the connection failed.
    fn send(
        &self,
        request: &[u8],
        answers: usize,
        reply: oneshot::Sender<Result<Vec<Answer>>>,
    ) -> std::result::Result<Option<ReadRole<'_>>, String> {
        let mut waiting = self.shared.lock();
        if let Some(why) = &waiting.failed {
            return Err(why.clone());
        }
        // Written here only on an idle connection: while others wait for answers, more
        // requests are coming, and the writer task writes them together (measured with
        // 64 tasks: a write each cost a third of their throughput).
        let idle = !waiting.writing && waiting.jobs.is_empty();
        let mut role = None;
        if answers > 0 {
            waiting.jobs.push_back(Job {
                answers,
                bytes: request.len(),
                reply,
            });
            waiting.requested += request.len();
            self.shared
                .backlog
                .store(waiting.backlog(), Ordering::Relaxed);
            if !waiting.reading {
                waiting.reading = true;
                if idle {
                    role = Some(ReadRole(&self.shared));
                } else {
                    self.shared.wake_reader.notify_one();
                }
            }
        }
        let written = if !idle {
            0
        } else {
            match self.shared.write.try_write(request) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
                Err(e) => {
                    drop(waiting);
                    drop(role);
                    let why = format!("write failed: {e}");
                    self.shared.fail(why.clone());
                    return Err(why);
                }
            }
        };
        if written < request.len() {
            waiting.outbox.extend_from_slice(&request[written..]);
            if !waiting.writing {
                waiting.writing = true;
                self.shared.wake_writer.notify_one();
            }
        }
        Ok(role)
    }

    /// Sends `request` (complete commands) and waits for its `answers` answers.
    pub async fn call(&self, request: Vec<u8>, answers: usize) -> Result<Vec<Answer>> {
        /// Counts the call as waiting until it ends, however it ends.
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        self.shared.calls.fetch_add(1, Ordering::Relaxed);
        let _waiting = Waiting(&self.shared.calls);
        let (reply, mut answer) = oneshot::channel();
        let role = match self.send(&request, answers, reply) {
            Ok(role) => role,
            Err(why) => return Err(Error::connection_msg(format!("memcached: {why}"))),
        };
        if answers == 0 {
            return Ok(Vec::new());
        }
        match role {
            Some(_role) => self.shared.read_until(&mut answer).await,
            None => answer.await.unwrap_or_else(|_| Err(closed())),
        }
    }
}

/// Where a request's answers arrive.
type Reply = oneshot::Receiver<Result<Vec<Answer>>>;

fn closed() -> Error {
    Error::connection_msg("memcached: connection closed")
}

/// The read role held by a caller that wrote on an idle connection; given up when
/// dropped, to the reader task if others wait for answers by then.
struct ReadRole<'a>(&'a Shared);

impl Drop for ReadRole<'_> {
    fn drop(&mut self) {
        let mut waiting = self.0.lock();
        if waiting.jobs.is_empty() {
            waiting.reading = false;
        } else {
            // Still held, for the reader task to take on.
            drop(waiting);
            self.0.wake_reader.notify_one();
        }
    }
}

impl Shared {
    /// As the read role's holder: reads until `answer` comes, or the connection fails
    /// (which answers it). The answer is only looked at, never waited on: its sender is
    /// this very task, and a task that wakes itself is polled again, and may wake an
    /// idle worker thread to steal it, for nothing.
    async fn read_until(&self, answer: &mut Reply) -> Result<Vec<Answer>> {
        loop {
            let mut failed = std::pin::pin!(self.failed.notified());
            failed.as_mut().enable();
            let _ = self.read_ready();
            match answer.try_recv() {
                Ok(result) => return result,
                Err(oneshot::error::TryRecvError::Closed) => return Err(closed()),
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            self.readable_or_failed(failed).await;
        }
    }

    /// Waits until the socket has something to read or the connection failed
    /// (`failed`, enabled before the last look).
    async fn readable_or_failed(&self, mut failed: Pin<&mut Notified<'_>>) {
        let mut readable = std::pin::pin!(self.read.readable());
        std::future::poll_fn(|cx| {
            if failed.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            readable.as_mut().poll(cx).map(|_| ())
        })
        .await;
    }
}

/// The reader task: holds the read role while callers wait for answers and no caller
/// holds it (a busy connection, or one a lone caller handed over), reads and hands out
/// answers until none is awaited, then waits to be woken again. Ends when the
/// connection fails.
async fn read_loop(shared: Arc<Shared>) {
    loop {
        shared.wake_reader.notified().await;
        loop {
            let mut failed = std::pin::pin!(shared.failed.notified());
            failed.as_mut().enable();
            if shared.read_ready().is_err() {
                return;
            }
            {
                let mut waiting = shared.lock();
                if waiting.jobs.is_empty() {
                    waiting.reading = false;
                    break;
                }
            }
            shared.readable_or_failed(failed).await;
        }
    }
}

/// The writer task: writes what waits in the outbox until none does, each time it is
/// woken; ends when the connection fails.
async fn write_loop(shared: Arc<Shared>) {
    let mut out = Vec::new();
    loop {
        shared.wake_writer.notified().await;
        loop {
            {
                let mut waiting = shared.lock();
                if waiting.failed.is_some() {
                    return;
                }
                if waiting.outbox.is_empty() {
                    waiting.writing = false;
                    break;
                }
                std::mem::swap(&mut out, &mut waiting.outbox);
            }
            if let Err(e) = write_all(&shared.write, &out).await {
                shared.fail(format!("write failed: {e}"));
                return;
            }
            out.clear();
            if out.capacity() > 1 << 20 {
                out = Vec::new();
            }
        }
    }
}

/// Writes all of `bytes`, waiting for the socket as it must.
async fn write_all(write: &OwnedWriteHalf, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        write.writable().await?;
        match write.try_write(bytes) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// One answer off the front of `buf`, if all of it is there. `SERVER_ERROR` is one
/// command's failure (the server stays in step); `CLIENT_ERROR`, `ERROR` or anything
/// that does not parse fails the connection: after it the stream cannot be trusted to
/// be in step.
pub(crate) fn parse(buf: &mut BytesMut) -> std::result::Result<Option<Answer>, String> {
    let Some(end) = buf.windows(2).position(|w| w == b"\r\n") else {
        if buf.len() > MAX_LINE {
            return Err("an answer line too long".into());
        }
        return Ok(None);
    };
    let line = std::str::from_utf8(&buf[..end]).map_err(|_| "an answer that is not text")?;
    let (code, rest) = line.split_once(' ').unwrap_or((line, ""));
    let code = match code {
        "VA" => Code::Value,
        "HD" => Code::Done,
        "EN" => Code::Miss,
        "NS" => Code::NotStored,
        "EX" => Code::Exists,
        "NF" => Code::NotFound,
        "SERVER_ERROR" => Code::ServerError,
        _ => {
            let shown: String = line.chars().take(200).collect();
            return Err(format!("the server answered {shown:?}"));
        }
    };
    if code != Code::Value {
        let flags = rest.to_owned();
        buf.advance(end + 2);
        return Ok(Some(Answer {
            code,
            flags,
            data: None,
        }));
    }
    let (size, flags) = rest.split_once(' ').unwrap_or((rest, ""));
    let size: usize = size
        .parse()
        .ok()
        .filter(|&size| size <= MAX_VALUE)
        .ok_or_else(|| format!("a value size out of range: {size:?}"))?;
    let flags = flags.to_owned();
    let total = end + 2 + size + 2;
    if buf.len() < total {
        // Room for the rest, a megabyte at a time: a size is only a promise.
        buf.reserve((total - buf.len()).min(1 << 20));
        return Ok(None);
    }
    if &buf[total - 2..total] != b"\r\n" {
        return Err("a value not followed by its line end".into());
    }
    buf.advance(end + 2);
    let data = buf.split_to(size).freeze();
    buf.advance(2);
    Ok(Some(Answer {
        code,
        flags,
        data: Some(data),
    }))
}

/// Appends one meta command with a value: `{verb} {key} {len} {flags}\r\n{data}\r\n`.
pub(crate) fn with_value(out: &mut Vec<u8>, verb: &str, key: &str, flags: &[&str], data: &[&[u8]]) {
    use std::io::Write;
    let len: usize = data.iter().map(|d| d.len()).sum();
    let _ = write!(out, "{verb} {key} {len}");
    for flag in flags {
        out.push(b' ');
        out.extend_from_slice(flag.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    for part in data {
        out.extend_from_slice(part);
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends one meta command without a value: `{verb} {key} {flags}\r\n`.
pub(crate) fn command(out: &mut Vec<u8>, verb: &str, key: &str, flags: &[&str]) {
    out.extend_from_slice(verb.as_bytes());
    out.push(b' ');
    out.extend_from_slice(key.as_bytes());
    for flag in flags {
        out.push(b' ');
        out.extend_from_slice(flag.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> std::result::Result<Vec<Answer>, String> {
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(answer) = parse(&mut buf)? {
            out.push(answer);
        }
        Ok(out)
    }

    #[test]
    fn answers_parse_with_their_flags_and_values() {
        let answers =
            parse_all(b"VA 3 f7 c42\r\nabc\r\nEN\r\nHD c9\r\nNS\r\nEX\r\nNF\r\nVA 0\r\n\r\n")
                .unwrap();
        let codes: Vec<Code> = answers.iter().map(|a| a.code).collect();
        use Code::*;
        assert_eq!(
            codes,
            [Value, Miss, Done, NotStored, Exists, NotFound, Value]
        );
        assert_eq!(answers[0].data.as_deref(), Some(&b"abc"[..]));
        assert_eq!(answers[0].number::<u32>('f'), Some(7));
        assert_eq!(answers[0].number::<u64>('c'), Some(42));
        assert_eq!(answers[2].number::<u64>('c'), Some(9));
        assert_eq!(answers[6].data.as_deref(), Some(&b""[..]));
    }

    #[test]
    fn a_server_error_is_one_commands_answer() {
        let answers = parse_all(b"SERVER_ERROR out of memory storing object\r\nHD\r\n").unwrap();
        assert_eq!(answers[0].code, Code::ServerError);
        assert_eq!(answers[0].message(), "out of memory storing object");
        assert_eq!(answers[1].code, Code::Done);
    }

    #[test]
    fn a_partial_answer_waits_for_the_rest() {
        let mut buf = BytesMut::from(&b"VA 10 f1\r\nabc"[..]);
        assert!(parse(&mut buf).unwrap().is_none());
        buf.extend_from_slice(b"defghij\r\n");
        let answer = parse(&mut buf).unwrap().unwrap();
        assert_eq!(answer.data.as_deref(), Some(&b"abcdefghij"[..]));
        assert!(buf.is_empty());
    }

    #[test]
    fn garbage_and_error_answers_fail_the_connection() {
        for bad in [
            &b"CLIENT_ERROR bad data chunk\r\n"[..],
            b"ERROR\r\n",
            b"VA x\r\n",
            b"VA 3\r\nabcde\r\n",
            b"VA 18446744073709551615\r\n",
            b"VA 1073741825\r\n",
            b"\xff\xfe\r\n",
        ] {
            assert!(parse_all(bad).is_err(), "{bad:?}");
        }
        let long = vec![b'a'; MAX_LINE + 1];
        assert!(parse_all(&long).is_err());
    }

    #[test]
    fn commands_are_written_as_the_protocol_says() {
        let mut out = Vec::new();
        with_value(&mut out, "ms", "k", &["F1", "T5"], &[b"ab", b"c"]);
        command(&mut out, "mg", "k", &["v", "f"]);
        assert_eq!(out, b"ms k 3 F1 T5\r\nabc\r\nmg k v f\r\n");
    }
}
