//! `earshot import`: streams mentions from files to a running server over `IngestStream`.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use earshot_proto::v1::ingest_service_client::IngestServiceClient;
use earshot_proto::v1::{IngestRequest, IngestStatus, Mention};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::args::{ClientArgs, Format, ImportArgs};
use crate::records::{read_csv, read_jsonl, RecordError};

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
    pub seconds: f64,
    pub problems: Vec<String>,
}

enum Item {
    Batch(Vec<Mention>),
    Unreadable(PathBuf, RecordError),
}

fn format_of(path: &Path, format: Format) -> Format {
    match format {
        Format::Auto if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) => Format::Csv,
        Format::Auto => Format::Jsonl,
        f => f,
    }
}

/// Reads every file on a blocking thread, sending batches (and unreadable records) down `tx`.
fn read_files(files: Vec<PathBuf>, format: Format, batch_size: usize, tx: mpsc::Sender<Item>) -> anyhow::Result<()> {
    let mut batch = Vec::with_capacity(batch_size);
    for path in files {
        let reader: Box<dyn Read> = if path.as_os_str() == "-" {
            Box::new(std::io::stdin())
        } else {
            Box::new(File::open(&path).with_context(|| format!("cannot open {}", path.display()))?)
        };
        let reader = BufReader::with_capacity(1 << 20, reader);
        let mut emit = |item: Result<Mention, RecordError>| -> bool {
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
        match format_of(&path, format) {
            Format::Csv => read_csv(reader, &mut emit),
            _ => read_jsonl(reader, &mut emit),
        }
    }
    if !batch.is_empty() {
        let _ = tx.blocking_send(Item::Batch(batch));
    }
    Ok(())
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
    let mut ingest = IngestServiceClient::connect(client.server.clone())
        .await
        .with_context(|| format!("cannot reach earshot at {}", client.server))?
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20);
    let (item_tx, mut item_rx) = mpsc::channel::<Item>(8);
    let reader = tokio::task::spawn_blocking(move || read_files(files, format, batch_size.max(1), item_tx));

    let (req_tx, req_rx) = mpsc::channel::<IngestRequest>(8);
    let summary = std::sync::Arc::new(parking::Mutex::new(Summary::default()));
    let forward = {
        let summary = summary.clone();
        tokio::spawn(async move {
            while let Some(item) = item_rx.recv().await {
                match item {
                    Item::Batch(mentions) => {
                        summary.lock().read += mentions.len() as u64;
                        let request = IngestRequest { mentions, wait_searchable };
                        if req_tx.send(request).await.is_err() {
                            break;
                        }
                    }
                    Item::Unreadable(path, e) => {
                        let mut s = summary.lock();
                        s.read += 1;
                        s.unreadable += 1;
                        if s.problems.len() < SHOWN_PROBLEMS {
                            s.problems.push(format!("{}:{}: {}", path.display(), e.line, e.message));
                        }
                    }
                }
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
                s.problems.push(format!("id {:?}: {}: {}", r.id, r.field, r.reason));
            }
        }
        if let Some(bar) = &progress {
            bar.inc(response.results.len() as u64);
        }
    }
    forward.await.context("import task failed")?;
    reader.await.context("reader task failed")??;
    let mut s = std::mem::take(&mut *summary.lock());
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
    let summary =
        run_import(&args.client, args.files, args.format, args.batch_size, args.wait, progress).await?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        for p in &summary.problems {
            eprintln!("rejected: {p}");
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
    Ok(())
}
