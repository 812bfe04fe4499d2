//! `earshot import`: streams mentions from files to a running server over `IngestStream`.

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use earshot_proto::v1::ingest_service_client::IngestServiceClient;
use earshot_proto::v1::{IngestRequest, IngestStatus, Mention};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::args::{Format, ImportArgs};
use crate::client::ClientArgs;
use crate::formats::{self, Problem};

/// Problems printed in detail; the rest are only counted.
const SHOWN_PROBLEMS: usize = 20;

/// What an import did.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub read: u64,
    pub accepted: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub unreadable: u64,
    /// Items read but not mentions (Jetstream likes and follows, deleted comments, media-only posts, …).
    pub skipped: u64,
    pub seconds: f64,
    pub problems: Vec<String>,
    /// What each file gave, in the order read.
    pub files: Vec<FileReport>,
}

/// What one file gave.
#[derive(Debug, Default, Serialize, Clone)]
pub struct FileReport {
    pub path: String,
    /// The format it was read as (`x`, `reddit`, `mastodon`, `bluesky`, `jetstream`, `feed`, `jsonl`, `csv`).
    pub format: String,
    pub mentions: u64,
    pub unreadable: u64,
    pub skipped: u64,
    /// Fields in the file that no mention field holds.
    pub unmapped: Vec<String>,
    /// Why the file as a whole could not be read.
    pub error: Option<String>,
}

impl FileReport {
    /// Nothing in the file could be read: no mention, nothing deliberately skipped.
    pub fn nothing_read(&self) -> bool {
        self.mentions == 0 && self.skipped == 0
    }
}

enum Item {
    Batch(Vec<Mention>),
    Unreadable(PathBuf, Problem),
}

/// Reads every file on a blocking thread, sending batches (and unreadable items) down `tx`.
fn read_files(
    files: Vec<PathBuf>,
    format: Format,
    batch_size: usize,
    tx: mpsc::Sender<Item>,
) -> anyhow::Result<Vec<FileReport>> {
    let mut batch = Vec::with_capacity(batch_size);
    let mut reports = Vec::with_capacity(files.len());
    for path in files {
        let reader: Box<dyn Read> = if path.as_os_str() == "-" {
            Box::new(std::io::stdin())
        } else {
            Box::new(File::open(&path).with_context(|| format!("cannot open {}", path.display()))?)
        };
        let mut emit = |item: Result<Mention, Problem>| -> bool {
            match item {
                Ok(m) => {
                    batch.push(m);
                    if batch.len() >= batch_size {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
                        return tx.blocking_send(Item::Batch(full)).is_ok();
                    }
                    true
                }
                Err(e) => tx.blocking_send(Item::Unreadable(path.clone(), e)).is_ok(),
            }
        };
        let outcome = formats::read_file(&path, reader, format, &mut emit)
            .with_context(|| format!("cannot read {}", path.display()))?;
        reports.push(FileReport {
            path: path.display().to_string(),
            format: outcome.format,
            mentions: outcome.mentions,
            unreadable: outcome.unreadable,
            skipped: outcome.skipped,
            unmapped: outcome.unmapped,
            error: outcome.fatal,
        });
    }
    if !batch.is_empty() {
        let _ = tx.blocking_send(Item::Batch(batch));
    }
    Ok(reports)
}

/// Streams `files` to the server and reports what happened to every mention.
pub async fn run_import(
    client: &ClientArgs,
    files: Vec<PathBuf>,
    format: Format,
    batch_size: usize,
    wait_searchable: bool,
    progress: Option<ProgressBar>,
) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let mut ingest = IngestServiceClient::new(client.channel().await?)
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20);
    let (item_tx, mut item_rx) = mpsc::channel::<Item>(8);
    let reader = tokio::task::spawn_blocking(move || read_files(files, format, batch_size.max(1), item_tx));

    let (req_tx, req_rx) = mpsc::channel::<IngestRequest>(8);
    let summary = std::sync::Arc::new(parking::Mutex::new(Summary::default()));
    let forward = {
        let summary = summary.clone();
        tokio::spawn(async move {
            // Only the last batch asks to wait until searchable: the index commits in log order, so when it
            // is searchable every earlier batch is. Asking on every batch held each one in the server until
            // the next commit and cut a bulk import's rate by half.
            let mut held: Option<Vec<Mention>> = None;
            while let Some(item) = item_rx.recv().await {
                match item {
                    Item::Batch(mentions) => {
                        summary.lock().read += mentions.len() as u64;
                        if let Some(previous) = held.replace(mentions) {
                            let request = IngestRequest { mentions: previous, wait_searchable: false };
                            if req_tx.send(request).await.is_err() {
                                return;
                            }
                        }
                    }
                    Item::Unreadable(path, e) => {
                        let mut s = summary.lock();
                        s.read += 1;
                        s.unreadable += 1;
                        if s.problems.len() < SHOWN_PROBLEMS {
                            s.problems.push(format!("unreadable: {}:{}: {}", path.display(), e.at, e.message));
                        }
                    }
                }
            }
            if let Some(last) = held {
                let _ = req_tx.send(IngestRequest { mentions: last, wait_searchable }).await;
            }
        })
    };
    let request = client.request(ReceiverStream::new(req_rx))?;
    let mut responses = ingest.ingest_stream(request).await.context("IngestStream failed")?.into_inner();
    while let Some(response) = responses.next().await {
        let response = response.context("the server ended the import")?;
        let mut s = summary.lock();
        s.accepted += u64::from(response.accepted);
        s.duplicates += u64::from(response.duplicates);
        s.rejected += u64::from(response.rejected);
        for r in response.results.iter().filter(|r| r.status == IngestStatus::Rejected as i32) {
            if s.problems.len() < SHOWN_PROBLEMS {
                s.problems.push(format!("rejected: id {:?}: {}: {}", r.id, r.field, r.reason));
            }
        }
        if let Some(bar) = &progress {
            bar.inc(response.results.len() as u64);
        }
    }
    forward.await.context("import task failed")?;
    let files = reader.await.context("reader task failed")??;
    let mut s = std::mem::take(&mut *summary.lock());
    s.skipped = files.iter().map(|f| f.skipped).sum();
    s.files = files;
    s.seconds = started.elapsed().as_secs_f64();
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    Ok(s)
}

mod parking {
    /// A std mutex that shrugs off poisoning (the guarded data is plain counters).
    pub struct Mutex<T>(std::sync::Mutex<T>);
    impl<T> Mutex<T> {
        pub fn new(v: T) -> Self {
            Mutex(std::sync::Mutex::new(v))
        }
        pub fn lock(&self) -> std::sync::MutexGuard<'_, T> {
            self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
        }
    }
}

fn progress_bar(files: &[PathBuf]) -> ProgressBar {
    let total: u64 = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos} mentions sent ({per_sec}) {elapsed_precise} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(format!("from {:.1} MiB", total as f64 / (1 << 20) as f64));
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Entry point of `earshot import`.
pub async fn import(args: ImportArgs) -> anyhow::Result<()> {
    let progress = (!args.no_progress && !args.json).then(|| progress_bar(&args.files));
    let summary = run_import(&args.client, args.files, args.format, args.batch_size, args.wait, progress).await?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        for p in &summary.problems {
            eprintln!("{p}");
        }
        for f in &summary.files {
            if !f.unmapped.is_empty() {
                // Reddit things have ~100 fields: name a few, the JSON summary lists them all.
                let shown = f.unmapped.iter().take(12).map(String::as_str).collect::<Vec<_>>().join(", ");
                let more = f.unmapped.len().saturating_sub(12);
                let more = if more > 0 { format!(" and {more} more (--json lists all)") } else { String::new() };
                eprintln!("{} ({}): fields with no place in a mention, not imported: {shown}{more}", f.path, f.format);
            }
            if f.skipped > 0 {
                eprintln!("{} ({}): skipped {} items that are not mentions", f.path, f.format, f.skipped);
            }
        }
        println!(
            "read {} · accepted {} · duplicates {} · rejected {} · unreadable {} · {:.1}s ({:.0}/s)",
            summary.read,
            summary.accepted,
            summary.duplicates,
            summary.rejected,
            summary.unreadable,
            summary.seconds,
            summary.read as f64 / summary.seconds.max(1e-9)
        );
    }
    // A file that gave nothing at all is almost always the wrong file or a format we misread: say so and
    // fail, after importing what the other files had.
    let empty: Vec<String> = summary
        .files
        .iter()
        .filter(|f| f.nothing_read())
        .map(|f| match &f.error {
            Some(e) => format!("{}: {e}", f.path),
            None => format!("{} (read as {}): {} unreadable items and no mention", f.path, f.format, f.unreadable),
        })
        .collect();
    if !empty.is_empty() {
        anyhow::bail!("nothing could be read from {}", empty.join("; "));
    }
    Ok(())
}
