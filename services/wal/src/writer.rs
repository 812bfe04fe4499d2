//! The log thread: group commit, segment roll-over and truncation.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;
use tracing::{error, info, warn};

use crate::recovery;
use crate::segment::{encode_record, segment_path, sync_dir};
use crate::{Command, Replay, WalError};

/// Most commands folded into one group commit; bounds the latency of the first caller in a burst.
const MAX_GROUP: usize = 1024;

/// Records that are durable, handed to the sink in position order.
#[derive(Debug)]
pub struct DurableBatch {
    /// Position of `records[0]`; the others follow one by one.
    pub first_position: u64,
    /// The payloads.
    pub records: Vec<Vec<u8>>,
}

pub(crate) struct LogState {
    dir: PathBuf,
    segment_bytes: u64,
    /// Closed segments: `(first position, path)`, oldest first.
    closed: Vec<(u64, PathBuf)>,
    active: File,
    active_first: u64,
    active_path: PathBuf,
    active_len: u64,
    next_position: u64,
    /// Set when a failed write could not even be undone: the file can no longer be trusted, so we stop.
    poisoned: Option<String>,
    /// Why the last write failed (e.g. a full disk), until one succeeds again; read by [`crate::Wal::failure`].
    pub(crate) failure: Arc<Mutex<Option<String>>>,
}

impl LogState {
    /// Reads the log back (see `recovery`) and opens the newest segment for appending.
    pub(crate) fn open(dir: &Path, segment_bytes: u64, salvage: bool) -> Result<(LogState, Replay), WalError> {
        let recovery::Recovered { replay, segments, last_len, next_position } = recovery::recover(dir, salvage)?;
        let mut closed = segments;
        let (active_first, active_path, active_len) = match closed.pop() {
            Some((first, path)) => (first, path, last_len),
            None => (next_position, segment_path(dir, next_position), 0),
        };
        let active = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&active_path)
            .map_err(|e| WalError::io(&active_path, e))?;
        sync_dir(dir)?;
        info!(records = replay.records.len(), next_position, "write-ahead log opened");
        let state = LogState {
            dir: dir.to_path_buf(),
            segment_bytes,
            closed,
            active,
            active_first,
            active_path,
            active_len,
            next_position,
            poisoned: None,
            failure: Arc::default(),
        };
        Ok((state, replay))
    }

    fn write_group(&mut self, buf: &[u8]) -> Result<(), WalError> {
        if let Some(reason) = &self.poisoned {
            return Err(WalError::Closed(reason.clone()));
        }
        let result = self.active.write_all(buf).and_then(|()| self.active.sync_data());
        if let Err(e) = result {
            let err = WalError::io(&self.active_path, e);
            // A write that failed part-way (ENOSPC) may have left some of the group's records in the
            // file; they were never acknowledged, so cut the file back to the last group that was.
            // Then the log stays open and writes again once space returns.
            let undone = self.active.set_len(self.active_len).and_then(|()| self.active.sync_all());
            match undone {
                Ok(()) => {
                    warn!(error = %err, "write-ahead log write failed; the batch was not stored, later writes retry");
                    *self.failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(err.to_string());
                    return Err(WalError::WriteFailed(err.to_string()));
                }
                Err(undo) => {
                    self.poisoned = Some(format!("{err}; undoing it failed too: {undo}"));
                    error!(error = %err, %undo, "write-ahead log write failed and could not be undone; refusing further writes");
                    *self.failure.lock().unwrap_or_else(|p| p.into_inner()) = self.poisoned.clone();
                    return Err(err);
                }
            }
        }
        let mut failure = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        if failure.take().is_some() {
            info!("write-ahead log writes again");
        }
        drop(failure);
        self.active_len += buf.len() as u64;
        Ok(())
    }

    fn roll(&mut self) -> Result<(), WalError> {
        let path = segment_path(&self.dir, self.next_position);
        let file = OpenOptions::new().create(true).append(true).open(&path).map_err(|e| WalError::io(&path, e))?;
        sync_dir(&self.dir)?;
        let old_path = std::mem::replace(&mut self.active_path, path);
        self.closed.push((self.active_first, old_path));
        self.active = file;
        self.active_first = self.next_position;
        self.active_len = 0;
        Ok(())
    }

    /// Drops segments whose every record is at or below `upto`.
    fn truncate(&mut self, upto: u64) -> Result<(), WalError> {
        if self.active_len > 0 && self.next_position > 0 && self.next_position - 1 <= upto {
            self.roll()?;
        }
        let mut removed = false;
        while !self.closed.is_empty() {
            let next_first = self.closed.get(1).map_or(self.active_first, |(f, _)| *f);
            if next_first == 0 || next_first - 1 > upto {
                break;
            }
            let (_, path) = self.closed.remove(0);
            fs::remove_file(&path).map_err(|e| WalError::io(&path, e))?;
            removed = true;
        }
        if removed {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }
}

type Reply = oneshot::Sender<Result<u64, WalError>>;

pub(crate) fn run(mut state: LogState, rx: Receiver<Command>, mut sink: impl FnMut(DurableBatch)) {
    let mut buf = Vec::with_capacity(1 << 20);
    loop {
        let Ok(first) = rx.recv() else { return };
        let mut commands = vec![first];
        while commands.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(c) => commands.push(c),
                Err(_) => break,
            }
        }
        buf.clear();
        let group_first = state.next_position;
        let mut replies: Vec<(Reply, u64)> = Vec::new();
        let mut records: Vec<Vec<u8>> = Vec::new();
        let mut truncate_to: Option<u64> = None;
        let mut stop = false;
        for command in commands {
            match command {
                Command::Append { records: rs, reply } => {
                    for r in rs {
                        encode_record(&mut buf, state.next_position, &r);
                        state.next_position += 1;
                        records.push(r);
                    }
                    replies.push((reply, state.next_position - 1));
                }
                Command::Truncate { upto } => truncate_to = truncate_to.max(Some(upto)),
                Command::Stop => stop = true,
            }
        }
        if !buf.is_empty() {
            match state.write_group(&buf) {
                Ok(()) => {
                    for (reply, last) in replies {
                        let _ = reply.send(Ok(last));
                    }
                    sink(DurableBatch { first_position: group_first, records });
                }
                Err(e) => {
                    state.next_position = group_first;
                    // A failed write that was undone leaves the log open; anything else has closed it.
                    let answer = |e: &WalError| match e {
                        WalError::WriteFailed(why) => WalError::WriteFailed(why.clone()),
                        other => WalError::Closed(other.to_string()),
                    };
                    for (reply, _) in replies {
                        let _ = reply.send(Err(answer(&e)));
                    }
                }
            }
        }
        if state.poisoned.is_none() && state.active_len >= state.segment_bytes {
            if let Err(e) = state.roll() {
                error!(error = %e, "could not start a new write-ahead log segment");
            }
        }
        if let Some(upto) = truncate_to {
            if let Err(e) = state.truncate(upto) {
                warn!(error = %e, "write-ahead log truncation failed; will retry on the next commit");
            }
        }
        if stop {
            return;
        }
    }
}
