//! A full disk, for real: the server's data folder is a small tmpfs that the test fills up. Ingest then
//! answers UNAVAILABLE with a retry hint and stores nothing of the failed batch, health says
//! NOT_SERVING, and once space returns both the log and the index carry on by themselves: every
//! acknowledged mention is searchable, also after a kill -9.
//!
//! Mounting needs root (CI runs as root and sets `EARSHOT_REQUIRE_TMPFS=1`, so there the test cannot
//! skip itself); elsewhere it says so and returns.

use std::io::Write;
use std::path::{Path, PathBuf};

use earshot_proto::v1::{CountRequest, IngestRequest};
use earshot_tests::{mention, metric_value, scrape, Sandbox, ServingStatus};
use tonic::Code;

/// A tmpfs mounted on a temp folder, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// Writes a file until the disk is full; returns its path.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).expect("filler");
    let chunk = vec![7u8; 64 << 10];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
    path
}

fn batch(prefix: &str, n: usize) -> IngestRequest {
    // Long texts: a batch needs more than the few bytes a full tmpfs may still have.
    let text = format!("acme outage report {}", "lorem ipsum ".repeat(200));
    IngestRequest {
        mentions: (0..n).map(|i| mention(&format!("{prefix}{i}"), &text)).collect(),
        wait_searchable: false,
    }
}

async fn count(server: &Sandbox) -> u64 {
    let mut search = server.search().await;
    search.count(CountRequest { query: "acme".into(), ..Default::default() }).await.expect("count").into_inner().count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_whole_batches_and_recovers_when_space_returns() {
    let Some(disk) = Tmpfs::mount("48m") else {
        assert!(std::env::var_os("EARSHOT_REQUIRE_TMPFS").is_none(), "cannot mount a tmpfs (not root?)");
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let data = disk.path().join("data");
    let flags = ["--no-classifier", "--commit-interval-ms", "1500", "--index-memory-mb", "16"];
    let server = Sandbox::start_in(&data, &flags).await;
    let mut ingest = server.ingest().await;
    let mut first = batch("a", 100);
    first.wait_searchable = true;
    assert_eq!(ingest.ingest(first).await.expect("before the disk fills").into_inner().accepted, 100);

    // Acknowledged while there is room, committed only after the disk is full.
    assert_eq!(ingest.ingest(batch("b", 20)).await.expect("b").into_inner().accepted, 20);
    let filler = fill(disk.path());

    let refused = ingest.ingest(batch("c", 100)).await.expect_err("the disk is full");
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    assert!(refused.metadata().get("retry-after").is_some(), "with a retry hint");
    server.wait_health("earshot.v1.IngestService", ServingStatus::NotServing).await;

    std::fs::remove_file(&filler).expect("free the space");
    server.wait_health("earshot.v1.IngestService", ServingStatus::Serving).await;
    // The refused batch was not stored, not even in part: a retry is accepted whole.
    let mut retry = batch("c", 100);
    retry.wait_searchable = true;
    let retried = ingest.ingest(retry).await.expect("space is back").into_inner();
    assert_eq!((retried.accepted, retried.duplicates), (100, 0));
    assert!(retried.searchable, "the index commits again by itself");
    assert_eq!(count(&server).await, 220);
    let metrics = scrape(&server.metrics).await;
    eprintln!("index commit failures: {}", metric_value(&metrics, "earshot_index_commit_failures_total"));
    server.kill9().await;

    let server = Sandbox::start_in(&data, &flags).await;
    assert_eq!(count(&server).await, 220, "every acknowledged mention, once, after kill -9");
    assert!(server.stop().await);
}
