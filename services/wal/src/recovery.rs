//! Reading the log back on start: tells a torn tail from damage, cuts the first, refuses to start on the
//! second unless the operator asked for a salvage, and finishes a salvage that a crash interrupted.
//!
//! # The rule
//! Records are fsynced before they are acknowledged, and a segment is complete and fsynced before the
//! log moves on to the next, so a crash can only leave unreadable bytes at the very end of the newest
//! segment, with nothing valid after them: a *torn tail*, holding nothing that was acknowledged. It is
//! cut off, with a WARN. Unreadable bytes anywhere else (in an older segment, or followed by a valid
//! record), or a position out of order, mean the files changed after they were written: *damage*.
//! Cutting there would delete acknowledged records without a word, so [`recover`] refuses with
//! [`WalError::Corrupt`] and changes nothing; the operator may then ask for a salvage, which keeps
//! every record that is still readable.
//!
//! "A valid record follows" means: some later offset holds a header whose length fits in the bytes
//! left, whose position could follow the damaged record (at least the position expected there, at
//! most that plus the bytes after the damage / `HEADER_LEN`, since every record takes at least a
//! header), and whose CRC matches. The position test comes first, so scanning damaged bytes costs a
//! CRC only for the rare header that passes it.

use std::fs::{self, File};
use std::io::{self, ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::warn;

use crate::segment::{
    self, decode_header, encode_record, list_segments, record_at, scan_segment, segment_path, sync_dir, Damage,
    HEADER_LEN,
};
use crate::{DamagedRange, Replay, Salvage, WalError};

/// Where a salvage writes the new log until it is complete; removed on start (the old segments are
/// still in place then).
const PARTIAL: &str = "salvage.partial";

/// What start-up found, for the log thread.
pub(crate) struct Recovered {
    pub replay: Replay,
    /// The segments now in the folder, oldest first; the newest becomes the active one.
    pub segments: Vec<(u64, PathBuf)>,
    /// Valid length of the newest segment.
    pub last_len: u64,
    /// Position of the next record to append.
    pub next_position: u64,
}

/// Reads every record of the log in `dir` back; see the module documentation.
pub(crate) fn recover(dir: &Path, salvage: bool) -> Result<Recovered, WalError> {
    let resumed = finish_interrupted_salvage(dir)?;
    let segments = list_segments(dir).map_err(|e| WalError::io(dir, e))?;
    let read = match read_strict(&segments) {
        Ok(read) => read,
        Err(damage @ WalError::Corrupt { .. }) if salvage => return salvage_log(dir, &segments, &damage),
        Err(e) => return Err(e),
    };
    let mut replay = Replay { records: read.records, ..Replay::default() };
    // Only now, with every segment read and found sound, is anything changed on disk.
    if let Some(torn) = read.torn {
        replay.torn_bytes = torn.file_len - torn.valid_len;
        warn!(
            path = %torn.path.display(),
            offset = torn.valid_len,
            torn_bytes = replay.torn_bytes,
            what = torn.what,
            "cutting a torn tail (a write cut short by a crash) off the write-ahead log"
        );
        segment::truncate_tail(&torn.path, torn.valid_len)?;
    }
    if let Some(aside_dir) = resumed {
        let records_kept = replay.records.len() as u64;
        replay.salvaged =
            Some(Salvage { aside_dir, records_kept, bytes_skipped: 0, damaged: Vec::new(), resumed: true });
    }
    Ok(Recovered { replay, segments, last_len: read.last_len, next_position: read.next_position })
}

/// Bytes cut short by a crash at the end of the newest segment.
struct Torn {
    path: PathBuf,
    valid_len: u64,
    file_len: u64,
    what: String,
}

/// The log read without changing anything.
struct StrictRead {
    records: Vec<(u64, Vec<u8>)>,
    last_len: u64,
    next_position: u64,
    torn: Option<Torn>,
}

/// Reads every segment, failing with `Corrupt` on anything but a torn tail.
fn read_strict(segments: &[(u64, PathBuf)]) -> Result<StrictRead, WalError> {
    let mut records = Vec::new();
    let mut expected: Option<u64> = None;
    let mut last_len = 0;
    let mut torn = None;
    for (i, (first, path)) in segments.iter().enumerate() {
        if let Some(expected) = expected {
            if *first != expected {
                let detail = format!("segment starts at position {first}, the previous one ends before {expected}");
                return Err(corrupt(path, 0, detail));
            }
        }
        let scan = scan_segment(path, Some(*first), &mut |pos, rec| records.push((pos, rec)))?;
        // The position the first unreadable record would have had.
        let next = records.last().map_or(*first, |(p, _)| p + 1).max(*first);
        match scan.damage {
            None => {}
            Some(Damage::OutOfOrder(what)) => return Err(corrupt(path, scan.valid_len, what)),
            Some(Damage::Unreadable(what)) if i + 1 < segments.len() => {
                let detail = format!("{what}, in a segment that was complete before the log moved on");
                return Err(corrupt(path, scan.valid_len, detail));
            }
            Some(Damage::Unreadable(what)) => {
                let tail = read_from(path, scan.valid_len)?;
                if let Some((at, position, _)) = next_valid(&tail, 1, next, most_after(next, tail.len())) {
                    let detail = format!(
                        "{what}, yet a valid record (position {position}) follows at byte {}, so this is \
                         damage, not a write torn by a crash",
                        scan.valid_len + at as u64
                    );
                    return Err(corrupt(path, scan.valid_len, detail));
                }
                let file_len = scan.valid_len + tail.len() as u64;
                torn = Some(Torn { path: path.clone(), valid_len: scan.valid_len, file_len, what });
            }
        }
        expected = Some(next);
        last_len = scan.valid_len;
    }
    Ok(StrictRead { records, last_len, next_position: expected.unwrap_or(0), torn })
}

fn corrupt(path: &Path, offset: u64, detail: String) -> WalError {
    WalError::Corrupt { path: path.to_path_buf(), offset, detail }
}

/// The bytes of `path` from `offset` to its end.
fn read_from(path: &Path, offset: u64) -> Result<Vec<u8>, WalError> {
    let mut file = File::open(path).map_err(|e| WalError::io(path, e))?;
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(offset)).and_then(|_| file.read_to_end(&mut tail)).map_err(|e| WalError::io(path, e))?;
    Ok(tail)
}

/// The highest position a record could have after `expected` once `bytes` bytes are damaged: every
/// record lost in them took at least a header.
fn most_after(expected: u64, bytes: usize) -> u64 {
    expected.saturating_add((bytes / HEADER_LEN) as u64)
}

/// The first offset at or after `from` where a valid record starts whose position lies in
/// `least..=most`, with that record as `(offset, position, payload)`.
fn next_valid(bytes: &[u8], from: usize, least: u64, most: u64) -> Option<(usize, u64, &[u8])> {
    let last_start = bytes.len().checked_sub(HEADER_LEN)?;
    (from..=last_start).find_map(|at| {
        // Position and length first: they rule out nearly every offset without computing a CRC.
        let header = decode_header(&bytes[at..]);
        let plausible = (least..=most).contains(&header.position) && header.len <= last_start - at;
        plausible.then(|| record_at(bytes, at)).flatten().map(|(position, payload)| (at, position, payload))
    })
}

/// Moves the damaged log aside and writes what is readable into a new one; see [`crate::WalOptions::salvage`].
///
/// Crash-safe in this order: the new log is written in full beside the old segments (`PARTIAL`, then
/// renamed to a `.ready` name that says where the old segments go), then the old segments are moved
/// aside, then the new log takes its place. A start that finds `PARTIAL` drops it (the old log is
/// untouched); one that finds a `.ready` file finishes the moves.
fn salvage_log(dir: &Path, segments: &[(u64, PathBuf)], damage: &WalError) -> Result<Recovered, WalError> {
    warn!(error = %damage, "salvaging the damaged write-ahead log, as the operator asked");
    let aside_name = aside_name(dir);
    let aside_dir = dir.join(&aside_name);
    // Renumbered densely from the first old position: the format needs dense positions, and nothing
    // depends on the old ones. earshot replays every record the log holds and drops mentions whose key
    // it has already indexed, and truncation only uses positions handed out after this start.
    let first = segments.first().map_or(0, |(f, _)| *f);
    let readable = read_readable(segments)?;

    let partial = dir.join(PARTIAL);
    let mut file = File::create(&partial).map_err(|e| WalError::io(&partial, e))?;
    let mut buf = Vec::with_capacity(1 << 20);
    let mut records = Vec::with_capacity(readable.payloads.len());
    for (position, payload) in (first..).zip(readable.payloads) {
        encode_record(&mut buf, position, &payload);
        records.push((position, payload));
        if buf.len() >= 1 << 20 {
            file.write_all(&buf).map_err(|e| WalError::io(&partial, e))?;
            buf.clear();
        }
    }
    file.write_all(&buf).and_then(|()| file.sync_all()).map_err(|e| WalError::io(&partial, e))?;
    let new_len = file.metadata().map_err(|e| WalError::io(&partial, e))?.len();
    drop(file);
    let ready = dir.join(format!("salvage-{first:020}-{aside_name}.ready"));
    fs::rename(&partial, &ready).map_err(|e| WalError::io(&ready, e))?;
    sync_dir(dir)?;
    let new_segment = finish_salvage(dir, &ready, first, &aside_dir)?;

    let damaged: Vec<DamagedRange> = readable
        .damaged
        .into_iter()
        .map(|mut range| {
            if let Some(name) = range.segment.file_name() {
                range.segment = aside_dir.join(name);
            }
            range
        })
        .collect();
    let salvage = Salvage {
        aside_dir,
        records_kept: records.len() as u64,
        bytes_skipped: readable.bytes_skipped,
        damaged,
        resumed: false,
    };
    warn!(
        aside_dir = %salvage.aside_dir.display(),
        records_kept = salvage.records_kept,
        bytes_skipped = salvage.bytes_skipped,
        damaged_ranges = salvage.damaged.len(),
        "salvaged the write-ahead log: the old segments are set aside, what was readable is in a new log"
    );
    let next_position = first + records.len() as u64;
    let replay = Replay { records, torn_bytes: 0, salvaged: Some(salvage) };
    Ok(Recovered { replay, segments: vec![(first, new_segment)], last_len: new_len, next_position })
}

/// `damaged-<unix seconds>`, with a suffix if a folder of that name exists already.
fn aside_name(dir: &Path) -> String {
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let base = format!("damaged-{seconds}");
    (0u32..)
        .map(|n| if n == 0 { base.clone() } else { format!("{base}-{n}") })
        .find(|name| !dir.join(name).exists())
        .unwrap_or(base)
}

/// Every record of `segments` that is still readable, in order.
struct Readable {
    payloads: Vec<Vec<u8>>,
    bytes_skipped: u64,
    damaged: Vec<DamagedRange>,
}

/// Reads every record it can, resynchronising after unreadable bytes on the next valid record whose
/// position is plausible (the rule in the module documentation).
fn read_readable(segments: &[(u64, PathBuf)]) -> Result<Readable, WalError> {
    let mut readable = Readable { payloads: Vec::new(), bytes_skipped: 0, damaged: Vec::new() };
    let mut expected = segments.first().map_or(0, |(f, _)| *f);
    for (first, path) in segments {
        // The file name says where a segment starts; after a damaged end of the previous one it is
        // the best guess of the position to expect.
        expected = expected.max(*first);
        let bytes = fs::read(path).map_err(|e| WalError::io(path, e))?;
        let mut offset = 0;
        while offset < bytes.len() {
            let most = most_after(expected, bytes.len() - offset);
            let (at, position, payload) = match record_at(&bytes, offset) {
                Some((position, payload)) if (expected..=most).contains(&position) => (offset, position, payload),
                _ => {
                    let found = next_valid(&bytes, offset + 1, expected, most);
                    let end = found.map_or(bytes.len(), |(at, _, _)| at);
                    let skipped = (end - offset) as u64;
                    readable.bytes_skipped += skipped;
                    readable.damaged.push(DamagedRange {
                        segment: path.clone(),
                        offset: offset as u64,
                        bytes: skipped,
                    });
                    match found {
                        Some(record) => record,
                        None => break,
                    }
                }
            };
            readable.payloads.push(payload.to_vec());
            expected = position + 1;
            offset = at + HEADER_LEN + payload.len();
        }
    }
    Ok(readable)
}

/// Moves every segment in `dir` into `aside_dir`, then renames the new log `ready` into place.
fn finish_salvage(dir: &Path, ready: &Path, first: u64, aside_dir: &Path) -> Result<PathBuf, WalError> {
    fs::create_dir_all(aside_dir).map_err(|e| WalError::io(aside_dir, e))?;
    sync_dir(dir)?;
    for (_, path) in list_segments(dir).map_err(|e| WalError::io(dir, e))? {
        let Some(name) = path.file_name() else { continue };
        let target = aside_dir.join(name);
        if target.exists() {
            // Never overwrite a set-aside segment: it may hold the only copy of a record.
            let e = io::Error::new(ErrorKind::AlreadyExists, "a segment of that name is already set aside");
            return Err(WalError::io(&target, e));
        }
        fs::rename(&path, &target).map_err(|e| WalError::io(&path, e))?;
    }
    sync_dir(aside_dir)?;
    sync_dir(dir)?;
    let new_segment = segment_path(dir, first);
    fs::rename(ready, &new_segment).map_err(|e| WalError::io(&new_segment, e))?;
    sync_dir(dir)?;
    Ok(new_segment)
}

/// Completes a salvage that a crash interrupted, returning where the old segments went.
fn finish_interrupted_salvage(dir: &Path) -> Result<Option<PathBuf>, WalError> {
    let partial = dir.join(PARTIAL);
    if partial.exists() {
        // The new log was not complete, so the old segments were not touched yet: start over.
        fs::remove_file(&partial).map_err(|e| WalError::io(&partial, e))?;
        sync_dir(dir)?;
    }
    for entry in fs::read_dir(dir).map_err(|e| WalError::io(dir, e))? {
        let path = entry.map_err(|e| WalError::io(dir, e))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        let Some((first, aside_name)) =
            name.strip_prefix("salvage-").and_then(|n| n.strip_suffix(".ready")).and_then(|n| n.split_once('-'))
        else {
            continue;
        };
        let Ok(first) = first.parse::<u64>() else { continue };
        let aside_dir = dir.join(aside_name);
        warn!(
            aside_dir = %aside_dir.display(),
            "finishing a write-ahead log salvage that was interrupted: moving the old segments aside"
        );
        finish_salvage(dir, &path, first, &aside_dir)?;
        return Ok(Some(aside_dir));
    }
    Ok(None)
}

#[cfg(test)]
mod tests;
