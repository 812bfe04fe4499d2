//! Taking the data out through the real binary: `earshot export` of 50,000 matching mentions as JSON
//! lines, CSV and Parquet (read back with a Parquet reader), nothing missing or doubled; an export
//! killed half-way resumes from its checkpoint; `earshot search --limit` above one page pages.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

use earshot_proto::v1::IngestRequest;
use earshot_tests::{earshot_bin, ingest_retrying, mention, Sandbox};

const MATCHING: usize = 50_000;

/// Acknowledged ingest may run at most 20,000 mentions ahead of the index, so the seed's last batch, which
/// waits until searchable (at most 30 s), never waits for a debug build on a busy machine to index more.
const SERVE: [&str; 3] = ["--no-classifier", "--max-backlog", "20000"];

async fn seed(server: &Sandbox) {
    let mut ingest = server.ingest().await;
    for start in (0..MATCHING + 5_000).step_by(1000) {
        let mentions = (start..start + 1000)
            .map(|i| {
                let text = if i < MATCHING { format!("acme, \"quoted\" text {i}") } else { format!("globex {i}") };
                mention(&format!("x{i:06}"), &text)
            })
            .collect();
        let last = start + 1000 >= MATCHING + 5_000;
        let response = ingest_retrying(&mut ingest, IngestRequest { mentions, wait_searchable: last }).await;
        assert!(!last || response.searchable, "the seed was not searchable within the server's wait");
    }
}

fn export(server: &Sandbox, args: &[&str]) -> std::process::Output {
    Command::new(earshot_bin())
        .args(["export", "acme", "--no-progress", "--server", &server.endpoint])
        .args(args)
        .output()
        .expect("run earshot export")
}

fn jsonl_ids(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("read export")
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("a JSON line")["id"].as_str().expect("id").to_owned()
        })
        .collect()
}

fn assert_exactly_the_matches(ids: &[String], what: &str) {
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "{what}: {} doubled", ids.len() - unique.len());
    assert_eq!(ids.len(), MATCHING, "{what}: {} exported", ids.len());
    assert!(ids.iter().all(|id| id[1..].parse::<usize>().is_ok_and(|n| n < MATCHING)), "{what}: only matches");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_thousand_mentions_leave_as_json_lines_csv_and_parquet() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Sandbox::start_in(dir.path(), &SERVE).await;
    seed(&server).await;
    let out = tempfile::tempdir().expect("out");

    let jsonl = out.path().join("acme.jsonl");
    let run = export(&server, &["--format", "jsonl", "--output", jsonl.to_str().expect("path")]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("exported 50000 mentions"),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_exactly_the_matches(&jsonl_ids(&jsonl), "jsonl");

    let csv_path = out.path().join("acme.csv");
    let run = export(&server, &["--format", "csv", "-o", csv_path.to_str().expect("path")]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let mut reader = csv::Reader::from_path(&csv_path).expect("csv");
    assert_eq!(&reader.headers().expect("header")[0], "id");
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a CSV row")).collect();
    assert!(rows[0][1].contains("\"quoted\""), "texts with quotes and commas survive: {:?}", &rows[0][1]);
    let ids: Vec<String> = rows.iter().map(|r| r[0].to_owned()).collect();
    assert_exactly_the_matches(&ids, "csv");

    let parquet_path = out.path().join("acme.parquet");
    let run = export(&server, &["--format", "parquet", "-o", parquet_path.to_str().expect("path")]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(std::fs::File::open(&parquet_path).expect("open")).expect("parquet");
    let mut ids = Vec::new();
    for row in reader.get_row_iter(None).expect("rows") {
        let row = row.expect("a row");
        let id = row.get_column_iter().find(|(name, _)| name.as_str() == "id").map(|(_, f)| f.to_string());
        ids.push(id.expect("id column").trim_matches('"').to_owned());
    }
    assert_exactly_the_matches(&ids, "parquet");

    // Above one page, search pages by itself.
    let run = Command::new(earshot_bin())
        .args(["search", "acme", "--json", "--limit", "2500", "--server", &server.endpoint])
        .output()
        .expect("search");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let found: serde_json::Value = serde_json::from_slice(&run.stdout).expect("json");
    assert_eq!(found["hits"].as_array().map(Vec::len), Some(2500));
    assert!(server.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_killed_half_way_resumes_from_its_checkpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Sandbox::start_in(dir.path(), &SERVE).await;
    seed(&server).await;
    let out = tempfile::tempdir().expect("out");
    let path = out.path().join("acme.jsonl");
    let checkpoint = out.path().join("acme.jsonl.cursor");
    let mut child = Command::new(earshot_bin())
        .args(["export", "acme", "--no-progress", "--chunk-size", "100", "--server", &server.endpoint, "-o"])
        .arg(&path)
        .spawn()
        .expect("start export");
    // Kill it once a fifth is out (the deadline only bounds a broken run).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let done = std::fs::read(&checkpoint)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["exported"].as_u64())
            .unwrap_or(0);
        if done >= 10_000 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the export made no progress");
        assert!(child.try_wait().expect("poll").is_none(), "the export ended before it could be interrupted");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().expect("kill -9");
    child.wait().expect("reap");
    // Whatever was written after the last checkpoint is cut off by the resume.
    let run = Command::new(earshot_bin())
        .args(["export", "acme", "--no-progress", "--resume", "--server", &server.endpoint, "-o"])
        .arg(&path)
        .output()
        .expect("resume");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert_exactly_the_matches(&jsonl_ids(&path), "resumed jsonl");
    assert!(!checkpoint.exists(), "the checkpoint is gone once the export is complete");
    assert!(server.stop().await);
}
