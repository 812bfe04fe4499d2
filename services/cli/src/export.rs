//! `earshot export`: every matching mention out of a server (`ExportService/Export`, a server stream of
//! chunks from one index snapshot) as JSON lines, CSV or Parquet, with a progress bar and a final count.
//!
//! Resuming: with `--output FILE`, after each chunk is written and flushed the cursor and the file's
//! length are saved to `FILE.cursor`. `--resume` cuts the file back to that length (dropping a chunk
//! that was half written when the process died) and continues after the cursor, so the result has every
//! mention exactly once. Transient failures (the server restarting) are resumed in place. Parquet keeps
//! its index at the end of the file, so a Parquet export resumes into a new file (`--cursor`).

use std::fs::OpenOptions;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use earshot_proto::v1::export_service_client::ExportServiceClient;
use earshot_proto::v1::{ExportRequest, Mention, NoiseFilter, TimeRange};
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::{ExportArgs, ExportFormat};
use crate::export_parquet::ParquetSink;
use crate::json::{flat_row, mention_json, COLUMNS};

/// Where the mentions go.
enum Sink {
    Lines(BufWriter<Box<dyn Write + Send>>),
    Csv(Box<csv::Writer<Box<dyn Write + Send>>>),
    Parquet(Box<ParquetSink>),
}

impl Sink {
    fn write(&mut self, mentions: &[Mention]) -> anyhow::Result<()> {
        match self {
            Sink::Lines(w) => {
                for m in mentions {
                    serde_json::to_writer(&mut *w, &mention_json(m))?;
                    w.write_all(b"\n")?;
                }
                w.flush()?;
            }
            Sink::Csv(w) => {
                for m in mentions {
                    w.write_record(flat_row(m))?;
                }
                w.flush()?;
            }
            Sink::Parquet(p) => p.write(mentions)?,
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<()> {
        match self {
            Sink::Lines(mut w) => Ok(w.flush()?),
            Sink::Csv(mut w) => Ok(w.flush()?),
            Sink::Parquet(p) => p.finish(),
        }
    }
}

/// What `FILE.cursor` holds: where to resume and how long the file was then.
#[derive(serde::Serialize, serde::Deserialize)]
struct Checkpoint {
    cursor: String,
    bytes: u64,
    exported: u64,
}

fn checkpoint_path(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".cursor");
    PathBuf::from(name)
}

fn save_checkpoint(output: &Path, checkpoint: &Checkpoint) -> anyhow::Result<()> {
    let path = checkpoint_path(output);
    let tmp = path.with_extension("cursor.tmp");
    std::fs::write(&tmp, serde_json::to_vec(checkpoint)?)?;
    std::fs::rename(&tmp, &path)?;
    Ok(())
}

/// Opens the sink; on `--resume`, cuts the file back to its checkpoint and returns where to continue.
fn open_sink(args: &ExportArgs) -> anyhow::Result<(Sink, String, u64)> {
    let mut cursor = args.cursor.clone().unwrap_or_default();
    let mut exported = 0;
    let Some(path) = &args.output else {
        anyhow::ensure!(!args.resume, "--resume needs --output (the checkpoint is kept beside the file)");
        let out: Box<dyn Write + Send> = Box::new(std::io::stdout());
        return Ok((new_sink(args.format, out, true, None)?, cursor, 0));
    };
    let mut append = false;
    if args.resume {
        anyhow::ensure!(
            args.format != ExportFormat::Parquet,
            "a Parquet file cannot be resumed in place: export the rest to a new file with --cursor"
        );
        let saved = std::fs::read(checkpoint_path(path))
            .with_context(|| format!("no checkpoint {} to resume from", checkpoint_path(path).display()))?;
        let saved: Checkpoint = serde_json::from_slice(&saved).context("the checkpoint is not readable")?;
        let file =
            OpenOptions::new().write(true).open(path).with_context(|| format!("cannot open {}", path.display()))?;
        file.set_len(saved.bytes)?;
        (cursor, exported, append) = (saved.cursor, saved.exported, true);
    }
    if args.format == ExportFormat::Parquet {
        return Ok((Sink::Parquet(Box::new(ParquetSink::create(path)?)), cursor, exported));
    }
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok((new_sink(args.format, Box::new(file), !append, Some(path))?, cursor, exported))
}

fn new_sink(
    format: ExportFormat,
    out: Box<dyn Write + Send>,
    header: bool,
    path: Option<&Path>,
) -> anyhow::Result<Sink> {
    Ok(match format {
        ExportFormat::Jsonl => Sink::Lines(BufWriter::new(out)),
        ExportFormat::Csv => {
            let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(out);
            if header {
                w.write_record(COLUMNS)?;
            }
            Sink::Csv(Box::new(w))
        }
        ExportFormat::Parquet => {
            let Some(path) = path else { bail!("Parquet needs --output FILE (it is not written to a terminal)") };
            Sink::Parquet(Box::new(ParquetSink::create(path)?))
        }
    })
}

fn request(args: &ExportArgs, cursor: &str) -> anyhow::Result<ExportRequest> {
    let time =
        |t: &Option<String>| t.as_deref().map(crate::records::parse_time).transpose().map_err(anyhow::Error::msg);
    let (from, to) = (time(&args.from)?, time(&args.to)?);
    let noise = args.exclude_noise.then_some(NoiseFilter {
        exclude_reposts: true,
        exclude_quotes: true,
        exclude_near_duplicates: true,
        exclude_spam: true,
    });
    Ok(ExportRequest {
        query: args.query.clone().unwrap_or_default(),
        topic: args.topic.clone().unwrap_or_default(),
        time_range: (from.is_some() || to.is_some()).then_some(TimeRange { from, to }),
        noise,
        cursor: cursor.to_owned(),
        chunk_size: args.chunk_size,
    })
}

/// Whether a failed stream is worth resuming in place (the server went away for a moment).
fn transient(status: &tonic::Status) -> bool {
    matches!(status.code(), tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled)
}

/// Entry point of `earshot export`.
pub async fn export(args: ExportArgs) -> anyhow::Result<()> {
    let (mut sink, mut cursor, mut exported) = open_sink(&args)?;
    let progress = if args.no_progress || args.output.is_none() { ProgressBar::hidden() } else { ProgressBar::new(0) };
    progress.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} mentions ({per_sec}, {eta} left)")?);
    progress.set_position(exported);
    let mut retries = 0;
    'attempts: loop {
        let mut client = match ExportServiceClient::connect(args.client.server.clone()).await {
            Ok(c) => c.max_decoding_message_size(64 << 20),
            Err(e) if retries < 5 && exported > 0 => {
                retries += 1;
                tracing::warn!(error = %e, "server unreachable; resuming the export shortly");
                tokio::time::sleep(std::time::Duration::from_millis(500 << retries)).await;
                continue;
            }
            Err(e) => return Err(e).with_context(|| format!("cannot connect to {}", args.client.server)),
        };
        let mut stream =
            client.export(args.client.request(request(&args, &cursor)?)?).await.context("Export failed")?.into_inner();
        loop {
            match stream.message().await {
                Ok(Some(chunk)) => {
                    if chunk.remaining > 0 {
                        progress.set_length(exported + chunk.remaining);
                    }
                    sink.write(&chunk.mentions)?;
                    exported += chunk.mentions.len() as u64;
                    cursor = chunk.cursor;
                    progress.set_position(exported);
                    if let (Some(path), false) = (&args.output, args.format == ExportFormat::Parquet) {
                        let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
                        save_checkpoint(path, &Checkpoint { cursor: cursor.clone(), bytes, exported })?;
                    }
                }
                Ok(None) => break 'attempts,
                Err(status) if transient(&status) && retries < 5 => {
                    retries += 1;
                    tracing::warn!(%status, exported, "export interrupted; resuming from the last chunk");
                    tokio::time::sleep(std::time::Duration::from_millis(500 << retries)).await;
                    continue 'attempts;
                }
                Err(status) => {
                    progress.abandon();
                    eprintln!("export stopped after {exported} mentions: {}", status.message());
                    if !cursor.is_empty() {
                        eprintln!("resume with --cursor {cursor} (or --resume with the same --output)");
                    }
                    bail!("export failed: {}", status.message());
                }
            }
        }
    }
    sink.finish()?;
    progress.finish_and_clear();
    if let Some(path) = &args.output {
        let _ = std::fs::remove_file(checkpoint_path(path));
    }
    eprintln!("exported {exported} mentions");
    Ok(())
}
