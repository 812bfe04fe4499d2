//! `earshot-wal`: the durable write-ahead log behind earshot's promise that an acknowledged mention
//! survives `kill -9` and power loss.
//!
//! # Layout
//! - [`segment`]: the file format and the code that reads one segment.
//! - [`recovery`]: what happens on start: reading every segment back, cutting a write torn by a crash
//!   off the newest one, refusing to start on damage, and salvaging a damaged log when the operator asks.
//! - [`writer`]: the log thread. It takes append requests from a bounded channel, writes every request
//!   that is waiting, then calls `fdatasync` once for all of them (group commit) before answering each.
//!   Durable records are then handed, in position order, to a sink (earshot's indexing pipeline).
//!
//! Positions are dense and increase by one per record. Once the index has committed everything up to
//! a position, [`Wal::truncate`] lets the log drop segments that hold nothing newer.
//!
//! We write our own instead of using `mrecordlog` 0.4 (the release on crates.io) because that release
//! only flushes its buffer to the OS and never fsyncs, and keeps every record in memory; see
//! `docs/adr/0001-own-wal.md`.

mod recovery;
mod segment;
mod writer;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::oneshot;

pub use writer::DurableBatch;

/// Why the log failed.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// An I/O error on a log file; the log stops accepting writes after a failed write or fsync.
    #[error("write-ahead log I/O error on {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The log is damaged: bytes that are not a torn tail cannot be read (see [`WalOptions::salvage`]).
    /// Nothing was changed on disk.
    #[error(
        "the write-ahead log is damaged in {path} at byte {offset}: {detail}; the files are unchanged; to keep \
         every record that is still readable, start with the salvage option (earshot serve --wal-salvage), \
         which moves the log's segments aside into {}/damaged-<unix seconds>/ and rewrites what is readable \
         into a new log (records in the damaged bytes are lost)",
        .path.parent().unwrap_or(Path::new(".")).display()
    )]
    Corrupt {
        /// The segment.
        path: PathBuf,
        /// Byte offset of the first damaged record.
        offset: u64,
        /// What was wrong.
        detail: String,
    },
    /// Too many append requests are waiting; try again shortly.
    #[error("write-ahead log queue is full")]
    QueueFull,
    /// A record is larger than the log accepts.
    #[error("record of {0} bytes is larger than the write-ahead log accepts")]
    RecordTooLarge(usize),
    /// Writing this group failed (e.g. the disk is full) and was undone: nothing of it is stored, and
    /// the log accepts writes again.
    #[error("write-ahead log could not write (nothing of this batch is stored): {0}")]
    WriteFailed(String),
    /// The log has stopped, after an earlier I/O error or on shutdown.
    #[error("write-ahead log is closed: {0}")]
    Closed(String),
}

impl WalError {
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        WalError::Io { path: path.to_path_buf(), source }
    }
}

/// Settings of the log.
#[derive(Debug, Clone)]
pub struct WalOptions {
    /// Roll over to a new segment file after this many bytes.
    pub segment_bytes: u64,
    /// How many append requests may wait for the log thread before appends fail with `QueueFull`.
    pub queue_capacity: usize,
    /// The operator's explicit choice to start on a damaged log (`earshot serve --wal-salvage`): move
    /// every segment aside into `<dir>/damaged-<unix seconds>/` and write every record that is still
    /// readable into a new log, reported in [`Replay::salvaged`]. Off, damage makes [`Wal::open`] fail
    /// with [`WalError::Corrupt`] and change nothing. A torn tail is cut either way.
    pub salvage: bool,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions { segment_bytes: 64 << 20, queue_capacity: 4096, salvage: false }
    }
}

/// What a restart found in the log: every record not yet truncated, in position order.
#[derive(Debug, Default)]
pub struct Replay {
    /// `(position, payload)` pairs.
    pub records: Vec<(u64, Vec<u8>)>,
    /// Bytes cut off the tail of the newest segment (a write torn by a crash).
    pub torn_bytes: u64,
    /// Set when this start salvaged a damaged log (see [`WalOptions::salvage`]); `records` then holds
    /// what was kept, renumbered.
    pub salvaged: Option<Salvage>,
}

/// What a salvage of a damaged log did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Salvage {
    /// Where every old segment file was moved: `<wal dir>/damaged-<unix seconds>/`.
    pub aside_dir: PathBuf,
    /// Records read back and written into the new log, renumbered densely from the first old position.
    pub records_kept: u64,
    /// Bytes of the old segments that could not be read as records.
    pub bytes_skipped: u64,
    /// Every unreadable stretch, naming the segment in its new place under `aside_dir`.
    pub damaged: Vec<DamagedRange>,
    /// This start finished a salvage that a crash had interrupted; the counts above then describe the
    /// new log only (`bytes_skipped` is 0 and `damaged` empty: what was skipped is not known any more).
    pub resumed: bool,
}

/// A stretch of a segment that could not be read as records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedRange {
    /// The segment file.
    pub segment: PathBuf,
    /// Offset of the first unreadable byte.
    pub offset: u64,
    /// How many bytes could not be read, up to the next readable record or the end of the file.
    pub bytes: u64,
}

pub(crate) enum Command {
    Append { records: Vec<Vec<u8>>, reply: oneshot::Sender<Result<u64, WalError>> },
    Truncate { upto: u64 },
    Stop,
}

/// Handle to the log thread; share it behind an `Arc`.
pub struct Wal {
    tx: SyncSender<Command>,
    thread: Mutex<Option<JoinHandle<()>>>,
    failure: std::sync::Arc<Mutex<Option<String>>>,
}

impl Wal {
    /// Opens (or creates) the log in `dir`, reads back every record it still holds, and starts the log
    /// thread. New durable records are passed to `sink`, in position order, after they are fsynced;
    /// `sink` may block, which holds back further appends (back-pressure).
    pub fn open(
        dir: &Path,
        options: WalOptions,
        sink: impl FnMut(DurableBatch) + Send + 'static,
    ) -> Result<(Wal, Replay), WalError> {
        std::fs::create_dir_all(dir).map_err(|e| WalError::io(dir, e))?;
        let (state, replay) = writer::LogState::open(dir, options.segment_bytes, options.salvage)?;
        let failure = state.failure.clone();
        let (tx, rx) = mpsc::sync_channel(options.queue_capacity.max(1));
        let handle = std::thread::Builder::new()
            .name("earshot-wal".into())
            .spawn(move || writer::run(state, rx, sink))
            .map_err(|e| WalError::io(dir, e))?;
        Ok((Wal { tx, thread: Mutex::new(Some(handle)), failure }, replay))
    }

    /// Appends records as one group and resolves once they are fsynced, with the position of the last one.
    /// An empty request resolves at once with `None`. Fails at once with `QueueFull` when the log is busy.
    pub async fn append(&self, records: Vec<Vec<u8>>) -> Result<Option<u64>, WalError> {
        self.append_waiting(records, None).await
    }

    /// Like [`Wal::append`], but while the queue is full it backs off (5 ms doubling to 200 ms) and tries
    /// again until `patience` has passed; the records are handed back by the full channel, never copied.
    pub async fn append_waiting(
        &self,
        mut records: Vec<Vec<u8>>,
        patience: Option<Duration>,
    ) -> Result<Option<u64>, WalError> {
        if records.is_empty() {
            return Ok(None);
        }
        if let Some(big) = records.iter().find(|r| r.len() > segment::MAX_RECORD_LEN) {
            return Err(WalError::RecordTooLarge(big.len()));
        }
        let give_up = patience.map(|p| tokio::time::Instant::now() + p);
        let mut backoff = Duration::from_millis(5);
        let rx = loop {
            let (reply, rx) = oneshot::channel();
            match self.tx.try_send(Command::Append { records, reply }) {
                Ok(()) => break rx,
                Err(TrySendError::Full(Command::Append { records: back, .. }))
                    if give_up.is_some_and(|g| tokio::time::Instant::now() < g) =>
                {
                    records = back;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(200));
                }
                Err(TrySendError::Full(_)) => return Err(WalError::QueueFull),
                Err(TrySendError::Disconnected(_)) => return Err(WalError::Closed("log thread has stopped".into())),
            }
        };
        match rx.await {
            Ok(result) => result.map(Some),
            Err(_) => Err(WalError::Closed("log thread has stopped".into())),
        }
    }

    /// Why the last write failed (e.g. the disk is full), while no write has succeeded since; `None`
    /// when the log writes. A failed write stored nothing and the log keeps accepting writes.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Lets the log drop every record at or below `upto` (they are safely in the index). Advisory: when
    /// the log is busy the request is dropped and a later one covers it.
    pub fn truncate(&self, upto: u64) {
        let _ = self.tx.try_send(Command::Truncate { upto });
    }

    /// Writes what is queued, stops the log thread and waits for it. Later appends fail with `Closed`.
    /// Blocks: call it from a blocking context.
    pub fn close(&self) {
        let _ = self.tx.send(Command::Stop);
        let handle = self.thread.lock().ok().and_then(|mut slot| slot.take());
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    type Seen = Arc<std::sync::Mutex<Vec<(u64, Vec<u8>)>>>;

    fn collect() -> (Seen, impl FnMut(DurableBatch) + Send) {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink_seen = seen.clone();
        let sink = move |b: DurableBatch| {
            let mut s = sink_seen.lock().expect("lock");
            for (i, r) in b.records.into_iter().enumerate() {
                s.push((b.first_position + i as u64, r));
            }
        };
        (seen, sink)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn appends_survive_reopen_and_reach_the_sink_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (seen, sink) = collect();
        let (wal, replay) = Wal::open(dir.path(), WalOptions::default(), sink).expect("open");
        assert!(replay.records.is_empty());
        let wal = Arc::new(wal);
        let mut tasks = Vec::new();
        for t in 0..16u8 {
            let wal = wal.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..20u8 {
                    wal.append(vec![vec![t, i], vec![t, i, 1]]).await.expect("append");
                }
            }));
        }
        for t in tasks {
            t.await.expect("join");
        }
        tokio::task::block_in_place(|| wal.close());
        let seen = seen.lock().expect("lock").clone();
        assert_eq!(seen.len(), 16 * 20 * 2);
        assert!(seen.iter().enumerate().all(|(i, (p, _))| *p == i as u64));

        let (_, sink) = collect();
        let (wal2, replay) = Wal::open(dir.path(), WalOptions::default(), sink).expect("reopen");
        assert_eq!(replay.records, seen);
        let last = wal2.append(vec![b"next".to_vec()]).await.expect("append").expect("pos");
        assert_eq!(last, seen.len() as u64);
        tokio::task::block_in_place(|| wal2.close());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn truncation_drops_only_what_was_committed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = WalOptions { segment_bytes: 100, queue_capacity: 16, ..WalOptions::default() };
        let (_, sink) = collect();
        let (wal, _) = Wal::open(dir.path(), options.clone(), sink).expect("open");
        for i in 0..10u8 {
            wal.append(vec![vec![i; 40]]).await.expect("append");
        }
        wal.truncate(4);
        // A later append is ordered after the truncation by the channel.
        wal.append(vec![vec![10; 40]]).await.expect("append");
        tokio::task::block_in_place(|| wal.close());
        let (_, sink) = collect();
        let (wal, replay) = Wal::open(dir.path(), options, sink).expect("reopen");
        let positions: Vec<u64> = replay.records.iter().map(|(p, _)| *p).collect();
        assert!(positions.contains(&5) && positions.contains(&10), "{positions:?}");
        assert!(!positions.contains(&0), "segments before 4 should be gone: {positions:?}");
        wal.truncate(10);
        wal.append(vec![vec![11; 4]]).await.expect("append");
        tokio::task::block_in_place(|| wal.close());
        let (_, sink) = collect();
        let (wal, replay) = Wal::open(dir.path(), WalOptions::default(), sink).expect("reopen");
        let positions: Vec<u64> = replay.records.iter().map(|(p, _)| *p).collect();
        // Retention is per segment: 10 may stay beside 11, but nothing older.
        assert_eq!(positions.last(), Some(&11));
        assert!(positions.iter().all(|p| *p >= 10), "{positions:?}");
        tokio::task::block_in_place(|| wal.close());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn torn_tail_is_cut_and_writing_resumes_after_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (_, sink) = collect();
        let (wal, _) = Wal::open(dir.path(), WalOptions::default(), sink).expect("open");
        wal.append(vec![b"one".to_vec(), b"two".to_vec()]).await.expect("append");
        tokio::task::block_in_place(|| wal.close());
        let (_, path) = segment::list_segments(dir.path()).expect("list").pop().expect("segment");
        let mut f = OpenOptionsAppend::open(&path);
        f.write_all(&[7, 0, 0, 0, 1, 2]).expect("write garbage");
        drop(f);
        let (_, sink) = collect();
        let (wal, replay) = Wal::open(dir.path(), WalOptions::default(), sink).expect("reopen");
        assert_eq!(replay.torn_bytes, 6);
        assert_eq!(replay.records.len(), 2);
        wal.append(vec![b"three".to_vec()]).await.expect("append");
        tokio::task::block_in_place(|| wal.close());
        let (_, sink) = collect();
        let (wal, replay) = Wal::open(dir.path(), WalOptions::default(), sink).expect("reopen");
        let texts: Vec<&[u8]> = replay.records.iter().map(|(_, r)| r.as_slice()).collect();
        assert_eq!(texts, vec![&b"one"[..], b"two", b"three"]);
        tokio::task::block_in_place(|| wal.close());
    }

    #[tokio::test]
    async fn appends_after_close_fail_cleanly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (_, sink) = collect();
        let (wal, _) = Wal::open(dir.path(), WalOptions::default(), sink).expect("open");
        wal.close();
        assert!(matches!(wal.append(vec![b"x".to_vec()]).await, Err(WalError::Closed(_))));
    }

    struct OpenOptionsAppend;
    impl OpenOptionsAppend {
        fn open(path: &Path) -> std::fs::File {
            std::fs::OpenOptions::new().append(true).open(path).expect("open")
        }
    }
    use std::io::Write;
}
