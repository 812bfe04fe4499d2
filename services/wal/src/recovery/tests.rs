//! Fault injection on real segment files: bytes flipped, zeroed or cut anywhere, checked against the rule
//! in the module documentation, through [`Wal::open`] as earshot calls it.

use std::collections::BTreeMap;
use std::ops::Range;

use proptest::prelude::*;

use super::*;
use crate::{Wal, WalOptions};

/// Position of the first record of every test log: not 0, so renumbering from it is visible.
const BASE: u64 = 3;

/// A temporary folder, on tmpfs where there is one: these tests open a log a few thousand times, and
/// every open fsyncs; the files and renames are as real there, the fsyncs just cost nothing.
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let on_shm = shm.is_dir().then(|| tempfile::tempdir_in(shm).ok()).flatten();
    on_shm.unwrap_or_else(|| tempfile::tempdir().expect("tempdir"))
}

fn payload(i: usize) -> Vec<u8> {
    // Sizes vary (and one is empty) so that record boundaries fall at uneven offsets.
    format!("mention {i} ").repeat(i % 4).into_bytes()
}

struct Segment {
    path: PathBuf,
    bytes: Vec<u8>,
    /// Byte extent of each record.
    records: Vec<Range<usize>>,
}

/// Writes segments holding `payloads`, split into segments of `sizes` records, from position `BASE`.
fn write_log(dir: &Path, sizes: &[usize], payloads: &[Vec<u8>]) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut next = 0;
    for &size in sizes {
        let (mut bytes, mut records) = (Vec::new(), Vec::new());
        for payload in &payloads[next..next + size] {
            let start = bytes.len();
            encode_record(&mut bytes, BASE + next as u64 + records.len() as u64, payload);
            records.push(start..bytes.len());
        }
        let path = segment_path(dir, BASE + next as u64);
        fs::write(&path, &bytes).expect("write segment");
        segments.push(Segment { path, bytes, records });
        next += size;
    }
    segments
}

/// Every file under `dir` by path relative to it, with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, into: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in fs::read_dir(dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(root, &path, into);
            } else {
                let rel = path.strip_prefix(root).expect("under root").to_path_buf();
                into.insert(rel, fs::read(&path).expect("read"));
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, mask: u8 },
    Zero(Range<usize>),
    Truncate(usize),
}

fn apply(bytes: &[u8], mutation: &Mutation) -> Vec<u8> {
    let mut out = bytes.to_vec();
    match mutation {
        Mutation::Flip { at, mask } => out[*at] ^= mask,
        Mutation::Zero(range) => out[range.start..range.end.min(bytes.len())].fill(0),
        Mutation::Truncate(len) => out.truncate(*len),
    }
    out
}

/// What the rule says opening must do after `before` became `after`.
#[derive(Debug, PartialEq)]
enum Expected {
    Intact,
    /// Opens; records from `kept` on are cut with `torn_bytes`.
    Torn {
        kept: usize,
        torn_bytes: u64,
    },
    /// Refused at the start of record `hit.start`; a salvage loses exactly the records in `hit`.
    Damaged {
        offset: u64,
        hit: Range<usize>,
    },
}

fn expected(segment: &Segment, after: &[u8], newest: bool) -> Expected {
    let before = &segment.bytes;
    let common = before.len().min(after.len());
    let first_diff = (0..common).find(|&i| before[i] != after[i]);
    let first_diff = match first_diff {
        Some(i) => i,
        None if after.len() < before.len() => common,
        None => return Expected::Intact,
    };
    let last_diff = if after.len() < before.len() {
        before.len() - 1
    } else {
        (0..common).rev().find(|&i| before[i] != after[i]).unwrap_or(first_diff)
    };
    let record_of = |at: usize| segment.records.iter().position(|r| r.contains(&at)).expect("inside a record");
    let (first_hit, last_hit) = (record_of(first_diff), record_of(last_diff));
    let start = segment.records[first_hit].start;
    if newest && last_hit + 1 == segment.records.len() {
        Expected::Torn { kept: first_hit, torn_bytes: (after.len() - start) as u64 }
    } else {
        Expected::Damaged { offset: start as u64, hit: first_hit..last_hit + 1 }
    }
}

fn open(dir: &Path, salvage: bool) -> Result<(Wal, Replay), WalError> {
    Wal::open(dir, WalOptions { salvage, ..WalOptions::default() }, |_| {})
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().expect("runtime")
}

/// Appends one record to an opened log, closes it, and checks that it reopens cleanly with
/// `records` followed by the new one.
fn appends_and_reopens(rt: &tokio::runtime::Runtime, dir: &Path, wal: Wal, records: &[(u64, Vec<u8>)], ctx: &str) {
    let next = records.last().map_or(BASE, |(p, _)| p + 1);
    let last = rt.block_on(wal.append(vec![b"appended".to_vec()])).expect("append").expect("position");
    assert_eq!(last, next, "{ctx}");
    wal.close();
    let (wal, replay) = open(dir, false).unwrap_or_else(|e| panic!("{ctx}: reopen: {e}"));
    assert_eq!(replay.records[..records.len()], records[..], "{ctx}");
    assert_eq!(replay.records[records.len()..], [(next, b"appended".to_vec())], "{ctx}");
    assert_eq!((replay.torn_bytes, &replay.salvaged), (0, &None), "{ctx}");
    wal.close();
}

/// Builds a log of `sizes` segments, applies `mutation` to segment `target`, and checks what opening it
/// does against the rule, with and without salvage.
fn check_case(rt: &tokio::runtime::Runtime, sizes: &[usize], target: usize, mutation: &Mutation) {
    let ctx = format!("{sizes:?} segment {target} {mutation:?}");
    let dir = scratch();
    let total: usize = sizes.iter().sum();
    let payloads: Vec<Vec<u8>> = (0..total).map(payload).collect();
    let segments = write_log(dir.path(), sizes, &payloads);
    let segment = &segments[target];
    let after = apply(&segment.bytes, mutation);
    fs::write(&segment.path, &after).expect("damage");
    let before_open = snapshot(dir.path());
    let skip: usize = sizes[..target].iter().sum();
    let numbered = |kept: Vec<&Vec<u8>>| -> Vec<(u64, Vec<u8>)> { (BASE..).zip(kept.into_iter().cloned()).collect() };
    match expected(segment, &after, target + 1 == sizes.len()) {
        Expected::Intact => {
            let (wal, replay) = open(dir.path(), false).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            let all = numbered(payloads.iter().collect());
            assert_eq!((&replay.records, replay.torn_bytes), (&all, 0), "{ctx}");
            appends_and_reopens(rt, dir.path(), wal, &all, &ctx);
        }
        Expected::Torn { kept, torn_bytes } => {
            // Salvage or not, a torn tail is cut the same way and is no salvage.
            let salvage = after.len().is_multiple_of(2);
            let (wal, replay) = open(dir.path(), salvage).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            let kept = numbered(payloads[..skip + kept].iter().collect());
            assert_eq!(replay.records, kept, "{ctx}");
            assert_eq!((replay.torn_bytes, &replay.salvaged), (torn_bytes, &None), "{ctx}");
            appends_and_reopens(rt, dir.path(), wal, &kept, &ctx);
        }
        Expected::Damaged { offset, hit } => {
            match open(dir.path(), false) {
                Err(WalError::Corrupt { path, offset: at, detail }) => {
                    assert_eq!((&path, at), (&segment.path, offset), "{ctx}: {detail}");
                }
                Err(e) => panic!("{ctx}: wrong error {e}"),
                Ok((_, replay)) => panic!("{ctx}: opened with {} records", replay.records.len()),
            }
            assert!(snapshot(dir.path()) == before_open, "{ctx}: a refused open changed the files");

            let (wal, replay) = open(dir.path(), true).unwrap_or_else(|e| panic!("{ctx}: salvage: {e}"));
            let lost = skip + hit.start..skip + hit.end;
            let kept =
                numbered(payloads.iter().enumerate().filter(|(i, _)| !lost.contains(i)).map(|(_, p)| p).collect());
            assert_eq!(replay.records, kept, "{ctx}");
            let salvage = replay.salvaged.clone().expect("salvage reported");
            assert_eq!(salvage.records_kept, kept.len() as u64, "{ctx}");
            assert!(salvage.bytes_skipped > 0 && !salvage.resumed, "{ctx}");
            let range = &salvage.damaged[0];
            assert_eq!(range.segment, salvage.aside_dir.join(segment.path.file_name().expect("name")), "{ctx}");
            assert_eq!(range.offset, offset, "{ctx}");
            assert!(salvage.aside_dir.starts_with(dir.path()), "{ctx}");
            assert!(
                snapshot(&salvage.aside_dir) == before_open,
                "{ctx}: the old segments must be set aside as they were"
            );
            appends_and_reopens(rt, dir.path(), wal, &kept, &ctx);
        }
    }
}

fn every_offset(sizes: &[usize], target: usize, mutations: impl Fn(usize, usize) -> Vec<Mutation>) {
    let rt = runtime();
    let total: usize = sizes.iter().sum();
    let payloads: Vec<Vec<u8>> = (0..total).map(payload).collect();
    let probe = scratch();
    let len = write_log(probe.path(), sizes, &payloads)[target].bytes.len();
    for at in 0..len {
        for mutation in mutations(at, len) {
            check_case(&rt, sizes, target, &mutation);
        }
    }
}

#[test]
fn a_flipped_byte_anywhere_in_the_newest_segment_is_cut_only_in_its_final_record() {
    every_offset(&[2, 6], 1, |at, _| vec![Mutation::Flip { at, mask: 0xff }, Mutation::Flip { at, mask: 0x01 }]);
}

#[test]
fn zeroed_bytes_anywhere_in_the_newest_segment_are_cut_only_in_its_final_records() {
    every_offset(&[6], 0, |at, len| {
        [1, 4, 16, 37, len].into_iter().map(|n| Mutation::Zero(at..(at + n).min(len))).collect()
    });
}

#[test]
fn a_truncated_newest_segment_keeps_every_whole_record_before_the_cut() {
    every_offset(&[2, 6], 1, |at, _| vec![Mutation::Truncate(at)]);
}

#[test]
fn damage_anywhere_in_an_older_segment_is_refused_and_salvage_keeps_the_rest() {
    every_offset(&[6, 3], 0, |at, len| vec![Mutation::Flip { at, mask: 0x80 }, Mutation::Zero(at..(at + 9).min(len))]);
}

#[test]
fn a_truncated_older_segment_is_refused() {
    let dir = scratch();
    let payloads: Vec<Vec<u8>> = (0..6).map(payload).collect();
    let segments = write_log(dir.path(), &[3, 3], &payloads);
    // Cut at a record boundary: the older segment reads cleanly, the gap shows at the next one.
    fs::write(&segments[0].path, &segments[0].bytes[..segments[0].records[2].start]).expect("cut");
    let before = snapshot(dir.path());
    match open(dir.path(), false) {
        Err(WalError::Corrupt { path, offset: 0, .. }) => assert_eq!(path, segments[1].path),
        other => panic!("expected Corrupt, got {:?}", other.map(|(_, r)| r)),
    }
    assert!(snapshot(dir.path()) == before);
    let (wal, replay) = open(dir.path(), true).expect("salvage");
    let kept: Vec<&[u8]> = replay.records.iter().map(|(_, p)| p.as_slice()).collect();
    let want: Vec<&[u8]> = [0, 1, 3, 4, 5].iter().map(|&i| payloads[i].as_slice()).collect();
    assert_eq!(kept, want);
    wal.close();
}

/// Issue 10, item 1: 1,000 acknowledged records in one segment, one byte flipped in the middle. The old
/// code took it for a torn tail and served on with half of them gone.
#[test]
fn one_flipped_byte_in_the_middle_of_the_newest_segment_loses_nothing_silently() {
    let rt = runtime();
    let dir = scratch();
    let (wal, _) = open(dir.path(), false).expect("open");
    for batch in 0..10u32 {
        let records = (0..100u32).map(|i| format!("acknowledged mention {}", batch * 100 + i).into_bytes());
        rt.block_on(wal.append(records.collect())).expect("append");
    }
    wal.close();
    let (_, path) = list_segments(dir.path()).expect("list").pop().expect("segment");
    let mut bytes = fs::read(&path).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    fs::write(&path, &bytes).expect("flip");
    let before = snapshot(dir.path());

    let err = match open(dir.path(), false) {
        Err(e) => e,
        Ok((_, replay)) => panic!("opened with {} of 1000 records", replay.records.len()),
    };
    let message = err.to_string();
    let WalError::Corrupt { path: at_path, offset, .. } = &err else { panic!("{message}") };
    assert_eq!(at_path, &path);
    assert!(*offset <= middle as u64 && middle as u64 - offset < 64, "{message}");
    for part in [path.display().to_string(), format!("byte {offset}"), "--wal-salvage".into(), "unchanged".into()] {
        assert!(message.contains(&part), "{part:?} missing from: {message}");
    }
    assert!(snapshot(dir.path()) == before, "the refused open changed the files");

    let (wal, replay) = open(dir.path(), true).expect("salvage");
    assert_eq!(replay.records.len(), 999);
    assert_eq!(replay.salvaged.as_ref().map(|s| s.records_kept), Some(999));
    let positions: Vec<u64> = replay.records.iter().map(|(p, _)| *p).collect();
    assert_eq!(positions, (0..999).collect::<Vec<u64>>());
    wal.close();
}

#[test]
fn a_position_out_of_order_is_damage() {
    let dir = scratch();
    let mut bytes = Vec::new();
    for (position, text) in [(0u64, "a"), (1, "b"), (3, "d"), (4, "e")] {
        encode_record(&mut bytes, position, text.as_bytes());
    }
    let path = segment_path(dir.path(), 0);
    fs::write(&path, &bytes).expect("write");
    match open(dir.path(), false) {
        Err(WalError::Corrupt { offset, detail, .. }) => {
            assert_eq!(offset, 2 * (HEADER_LEN as u64 + 1), "{detail}");
        }
        other => panic!("expected Corrupt, got {:?}", other.map(|(_, r)| r)),
    }
    let (wal, replay) = open(dir.path(), true).expect("salvage");
    let want: Vec<(u64, Vec<u8>)> =
        vec![(0, b"a".to_vec()), (1, b"b".to_vec()), (2, b"d".to_vec()), (3, b"e".to_vec())];
    assert_eq!(replay.records, want);
    wal.close();
}

#[test]
fn a_salvage_cut_short_while_writing_the_new_log_starts_over() {
    let dir = scratch();
    let payloads: Vec<Vec<u8>> = (0..5).map(payload).collect();
    let segments = write_log(dir.path(), &[5], &payloads);
    fs::write(&segments[0].path, apply(&segments[0].bytes, &Mutation::Flip { at: 20, mask: 1 })).expect("damage");
    let before = snapshot(dir.path());
    fs::write(dir.path().join(PARTIAL), b"half a new log").expect("partial");
    assert!(matches!(open(dir.path(), false), Err(WalError::Corrupt { .. })));
    assert!(snapshot(dir.path()) == before, "only the partial new log goes");
    let (wal, replay) = open(dir.path(), true).expect("salvage");
    assert_eq!(replay.records.len(), 4);
    wal.close();
}

#[test]
fn a_salvage_cut_short_while_moving_segments_aside_is_finished() {
    let dir = scratch();
    let payloads: Vec<Vec<u8>> = (0..6).map(payload).collect();
    let segments = write_log(dir.path(), &[3, 3], &payloads);
    // The new log was complete and one old segment already set aside when the crash came.
    let mut new_log = Vec::new();
    for (i, p) in payloads[1..].iter().enumerate() {
        encode_record(&mut new_log, BASE + i as u64, p);
    }
    fs::write(dir.path().join(format!("salvage-{BASE:020}-damaged-7.ready")), &new_log).expect("ready");
    let aside = dir.path().join("damaged-7");
    fs::create_dir(&aside).expect("aside");
    let moved = aside.join(segments[0].path.file_name().expect("name"));
    fs::rename(&segments[0].path, &moved).expect("move");

    let (wal, replay) = open(dir.path(), false).expect("open finishes the salvage");
    let want: Vec<(u64, Vec<u8>)> = (BASE..).zip(payloads[1..].iter().cloned()).collect();
    assert_eq!(replay.records, want);
    let salvage = replay.salvaged.expect("reported");
    assert_eq!((salvage.aside_dir.as_path(), salvage.records_kept, salvage.resumed), (aside.as_path(), 5, true));
    assert_eq!(
        fs::read(aside.join(segments[1].path.file_name().expect("name"))).expect("set aside"),
        segments[1].bytes
    );
    let left: Vec<PathBuf> = list_segments(dir.path()).expect("list").into_iter().map(|(_, p)| p).collect();
    assert_eq!(left, vec![segment_path(dir.path(), BASE)]);
    wal.close();
}

#[test]
fn scanning_a_megabyte_of_garbage_for_the_next_record_is_cheap() {
    // A megabyte of bytes that look like headers with absurd positions: the position test rules each out.
    let mut tail = vec![0xffu8; 1 << 20];
    let mut record = Vec::new();
    encode_record(&mut record, 12, b"found");
    tail.extend_from_slice(&record);
    let started = std::time::Instant::now();
    assert_eq!(next_valid(&tail, 1, 10, most_after(10, tail.len())), Some((1 << 20, 12, &b"found"[..])));
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

fn mutation_strategy() -> impl Strategy<Value = (usize, Mutation)> {
    // (segment index seed, mutation with an offset seed resolved against the segment's length)
    (any::<usize>(), 0u8..3, any::<usize>(), 1usize..40, 1u8..=255).prop_map(|(segment, kind, at, n, mask)| {
        let mutation = match kind {
            0 => Mutation::Flip { at, mask },
            1 => Mutation::Zero(at..at.saturating_add(n)),
            _ => Mutation::Truncate(at),
        };
        (segment, mutation)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn any_change_to_any_segment_follows_the_rule(
        sizes in prop::collection::vec(1usize..6, 1..4),
        (segment, mutation) in mutation_strategy(),
    ) {
        let target = segment % sizes.len();
        let total: usize = sizes.iter().sum();
        let payloads: Vec<Vec<u8>> = (0..total).map(payload).collect();
        let probe = scratch();
        let len = write_log(probe.path(), &sizes, &payloads)[target].bytes.len();
        let resolve = |at: usize| at % len;
        let mutation = match mutation {
            // A cut older segment shows as a gap at the next one; `a_truncated_older_segment_is_refused`.
            Mutation::Truncate(_) if target + 1 < sizes.len() => Mutation::Flip { at: resolve(len / 2), mask: 4 },
            Mutation::Truncate(at) => Mutation::Truncate(resolve(at)),
            Mutation::Flip { at, mask } => Mutation::Flip { at: resolve(at), mask },
            Mutation::Zero(range) => {
                let start = resolve(range.start);
                Mutation::Zero(start..(start + range.len()).min(len))
            }
        };
        check_case(&runtime(), &sizes, target, &mutation);
    }
}
