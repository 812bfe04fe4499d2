//! On-disk format of one WAL segment file and the code that reads it.
//!
//! A segment is named `wal-<first position, 20 digits>.log` and holds records back to back:
//! `[len: u32 LE][crc32: u32 LE][position: u64 LE][payload: len bytes]`, the CRC covering position and
//! payload. Whether unreadable bytes are a torn tail to cut or damage to refuse is decided in
//! `recovery`, which also resynchronises on valid records after damage when salvaging.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, ErrorKind, Read};
use std::path::{Path, PathBuf};

use crate::WalError;

/// Bytes before the payload of each record.
pub(crate) const HEADER_LEN: usize = 16;
/// Largest payload accepted; anything larger in a header means a damaged header.
pub(crate) const MAX_RECORD_LEN: usize = 64 << 20;

/// File name of the segment whose first record has position `first`.
pub(crate) fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("wal-{first:020}.log"))
}

/// Lists `(first position, path)` of every segment in `dir`, oldest first.
pub(crate) fn list_segments(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        let Some(first) =
            name.strip_prefix("wal-").and_then(|n| n.strip_suffix(".log")).and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        segments.push((first, path));
    }
    segments.sort();
    Ok(segments)
}

/// Appends the encoding of one record to `buf`.
pub(crate) fn encode_record(buf: &mut Vec<u8>, position: u64, payload: &[u8]) {
    // Payload size is bounded by MAX_RECORD_LEN, checked by the caller.
    buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    buf.extend_from_slice(&record_crc(position, payload).to_le_bytes());
    buf.extend_from_slice(&position.to_le_bytes());
    buf.extend_from_slice(payload);
}

/// The CRC a record carries: over its position and payload (not its length, which is checked by the
/// payload it delimits failing the CRC).
pub(crate) fn record_crc(position: u64, payload: &[u8]) -> u32 {
    let mut crc = crc32fast::Hasher::new();
    crc.update(&position.to_le_bytes());
    crc.update(payload);
    crc.finalize()
}

/// The fields of a record header.
pub(crate) struct Header {
    pub len: usize,
    pub crc: u32,
    pub position: u64,
}

/// Decodes the first `HEADER_LEN` bytes of `bytes`, which must hold that many.
pub(crate) fn decode_header(bytes: &[u8]) -> Header {
    let word = |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let mut position = [0u8; 8];
    position.copy_from_slice(&bytes[8..HEADER_LEN]);
    Header { len: word(0) as usize, crc: word(4), position: u64::from_le_bytes(position) }
}

/// The record starting at `offset` of `bytes` as `(position, payload)`, if it is whole and its CRC
/// matches. Its encoded length is `HEADER_LEN + payload.len()`.
pub(crate) fn record_at(bytes: &[u8], offset: usize) -> Option<(u64, &[u8])> {
    let rest = bytes.get(offset..)?;
    if rest.len() < HEADER_LEN {
        return None;
    }
    let header = decode_header(rest);
    let payload = rest.get(HEADER_LEN..HEADER_LEN.checked_add(header.len)?)?;
    (record_crc(header.position, payload) == header.crc).then_some((header.position, payload))
}

/// Why reading a segment stopped before its end.
#[derive(Debug)]
pub(crate) enum Damage {
    /// The bytes at `valid_len` are not a whole record with a matching CRC: a torn write or damage.
    Unreadable(String),
    /// A whole, valid record with the wrong position: never a torn write, always damage.
    OutOfOrder(String),
}

/// What reading one segment found.
pub(crate) struct SegmentScan {
    /// Byte length of the valid prefix.
    pub valid_len: u64,
    /// Why reading stopped at `valid_len` before the end of the file, if it did.
    pub damage: Option<Damage>,
}

/// Reads every valid record of a segment, in order, handing each to `on_record`, up to the end of the
/// file or the first bytes that are not the next record. Streams the file: a segment is not held in
/// memory.
///
/// Positions must follow on from `expected_next` when it is given.
pub(crate) fn scan_segment(
    path: &Path,
    mut expected_next: Option<u64>,
    on_record: &mut dyn FnMut(u64, Vec<u8>),
) -> Result<SegmentScan, WalError> {
    let file = File::open(path).map_err(|e| WalError::io(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut valid_len = 0u64;
    let stop = |valid_len, damage| Ok(SegmentScan { valid_len, damage: Some(damage) });
    loop {
        let mut header = [0u8; HEADER_LEN];
        match read_full(&mut reader, &mut header) {
            Ok(0) => return Ok(SegmentScan { valid_len, damage: None }),
            Ok(n) if n < HEADER_LEN => {
                return stop(valid_len, Damage::Unreadable(format!("incomplete record header ({n} bytes)")))
            }
            Ok(_) => {}
            Err(e) => return Err(WalError::io(path, e)),
        }
        let Header { len, crc, position } = decode_header(&header);
        if len > MAX_RECORD_LEN {
            return stop(valid_len, Damage::Unreadable(format!("record length {len} is over the limit")));
        }
        let mut payload = vec![0u8; len];
        match read_full(&mut reader, &mut payload) {
            Ok(n) if n == len => {}
            Ok(n) => {
                let what = format!("record of {len} bytes with only {n} left in the file");
                return stop(valid_len, Damage::Unreadable(what));
            }
            Err(e) => return Err(WalError::io(path, e)),
        }
        if record_crc(position, &payload) != crc {
            return stop(valid_len, Damage::Unreadable("record checksum does not match".into()));
        }
        if let Some(expected) = expected_next {
            if position != expected {
                let what = format!("record with position {position} where {expected} was expected");
                return stop(valid_len, Damage::OutOfOrder(what));
            }
        }
        expected_next = Some(position + 1);
        valid_len += (HEADER_LEN + len) as u64;
        on_record(position, payload);
    }
}

/// Like `read_exact` but reports how many bytes were available instead of failing at end of file.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Cuts a torn tail off the newest segment so that new records follow the last valid one.
pub(crate) fn truncate_tail(path: &Path, valid_len: u64) -> Result<(), WalError> {
    let file = OpenOptions::new().write(true).open(path).map_err(|e| WalError::io(path, e))?;
    file.set_len(valid_len).map_err(|e| WalError::io(path, e))?;
    file.sync_all().map_err(|e| WalError::io(path, e))
}

/// Makes the creation or removal of files in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), WalError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| WalError::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write_records(path: &Path, first: u64, payloads: &[&[u8]]) {
        let mut buf = Vec::new();
        for (i, p) in payloads.iter().enumerate() {
            encode_record(&mut buf, first + i as u64, p);
        }
        let mut f = File::create(path).expect("create");
        f.write_all(&buf).expect("write");
    }

    fn scan(path: &Path) -> (Vec<(u64, Vec<u8>)>, SegmentScan) {
        let mut got = Vec::new();
        let s = scan_segment(path, None, &mut |p, r| got.push((p, r))).expect("scan");
        (got, s)
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = segment_path(dir.path(), 7);
        write_records(&path, 7, &[b"a", b"", b"hello"]);
        let (got, s) = scan(&path);
        assert_eq!(got, vec![(7, b"a".to_vec()), (8, vec![]), (9, b"hello".to_vec())]);
        assert!(s.damage.is_none());
        assert_eq!(s.valid_len, (3 * HEADER_LEN + 6) as u64);
    }

    #[test]
    fn every_torn_tail_keeps_the_whole_records_before_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = segment_path(dir.path(), 0);
        write_records(&path, 0, &[b"first record", b"second record"]);
        let full = fs::read(&path).expect("read");
        let first_len = HEADER_LEN + 12;
        for cut in 0..full.len() {
            fs::write(&path, &full[..cut]).expect("write");
            let (got, s) = scan(&path);
            let expect = if cut >= full.len() {
                2
            } else if cut >= first_len {
                1
            } else {
                0
            };
            assert_eq!(got.len(), expect, "cut at {cut}");
            assert_eq!(s.damage.is_some(), cut != 0 && cut != first_len, "cut at {cut}");
        }
    }

    #[test]
    fn flipped_bit_is_detected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = segment_path(dir.path(), 0);
        write_records(&path, 0, &[b"first record", b"second record"]);
        let mut bytes = fs::read(&path).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 0x10;
        fs::write(&path, &bytes).expect("write");
        let (got, s) = scan(&path);
        assert_eq!(got.len(), 1);
        assert!(matches!(s.damage, Some(Damage::Unreadable(_))));
    }

    #[test]
    fn lists_segments_in_position_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        for first in [30u64, 2, 1000] {
            File::create(segment_path(dir.path(), first)).expect("create");
        }
        File::create(dir.path().join("unrelated.txt")).expect("create");
        let firsts: Vec<u64> = list_segments(dir.path()).expect("list").into_iter().map(|(f, _)| f).collect();
        assert_eq!(firsts, vec![2, 30, 1000]);
    }
}
