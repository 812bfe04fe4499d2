//! Command-line flags. Every flag can also be set through an `EARSHOT_*` environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::client::ClientArgs;

/// earshot: social-listening analytics — ingest mentions, search them, read insights.
#[derive(Parser, Debug)]
#[command(name = "earshot", version, about, args_override_self = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub log: LogArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the service (gRPC) with embedded defaults.
    Serve(ServeArgs),
    /// Stream mentions from files (JSON lines, CSV, or what X, Reddit, Mastodon, Bluesky and news feeds
    /// return) to a running server.
    Import(ImportArgs),
    /// Search a running server with a Boolean query.
    Search(SearchArgs),
    /// Label texts with the sentiment model, locally (no server): JSON lines in, JSON lines out.
    Classify(ClassifyArgs),
    /// Evaluate the shipped weights through the Rust path on labelled sets, per language, beside a lexicon baseline.
    Eval(EvalArgs),
    /// Manage API keys and per-tenant settings of a data folder (offline; a running server reloads them).
    Keys(crate::keys::KeysArgs),
    /// Print the insights of a topic or query for a period as tables (and CSV files with --csv).
    Report(ReportArgs),
    /// Take every matching mention out of a running server as JSON lines, CSV or Parquet (resumable).
    Export(ExportArgs),
    /// Live sources of a running server: feeds, Mastodon, Bluesky, Reddit polled by the service.
    Sources(crate::sources::SourcesArgs),
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    pub scope: QueryArgs,
    #[command(flatten)]
    pub client: ClientArgs,
    /// Start of the period (RFC 3339, YYYY-MM-DD or Unix seconds); default 7 days before --to.
    #[arg(long)]
    pub from: Option<String>,
    /// End of the period, exclusive; default now.
    #[arg(long)]
    pub to: Option<String>,
    /// IANA time zone of the volume calendar (e.g. Europe/Berlin).
    #[arg(long, env = "EARSHOT_TZ", default_value = "UTC")]
    pub tz: String,
    /// Volume bucket: hour, day, week or month.
    #[arg(long, default_value = "day")]
    pub interval: String,
    /// Other topics to compare with in a share-of-voice table.
    #[arg(long, value_delimiter = ',')]
    pub compare: Vec<String>,
    /// A KPI to correlate with the topic's volume and set beside its sentiment.
    #[arg(long)]
    pub kpi: Option<String>,
    /// Leave out reposts, quotes, near-duplicates and spam.
    #[arg(long)]
    pub exclude_noise: bool,
    /// Rows per table.
    #[arg(long, default_value_t = 10)]
    pub limit: u32,
    /// Also write every table as CSV into this folder (created if needed).
    #[arg(long)]
    pub csv: Option<PathBuf>,
}

/// What `search` and `report` look at: a query, or a saved topic in its place.
#[derive(Args, Debug)]
pub struct QueryArgs {
    /// The Boolean query, e.g. '"customer service" AND (slow OR rude)' (or --topic).
    #[arg(required_unless_present = "topic")]
    pub query: Option<String>,
    /// A saved topic (id or name) instead of a query.
    #[arg(long, conflicts_with = "query")]
    pub topic: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// Folder of the sentiment model's weights (default: models/weights of this checkout).
    #[arg(long, env = "EARSHOT_MODEL_DIR")]
    pub model_dir: Option<PathBuf>,
    /// Threads one inference may use (default: all cores).
    #[arg(long, env = "EARSHOT_INFERENCE_THREADS")]
    pub inference_threads: Option<usize>,
}

impl ModelArgs {
    pub fn weights_dir(&self) -> PathBuf {
        self.model_dir.clone().unwrap_or_else(earshot_models::weights::default_weights_dir)
    }

    pub fn threads(&self) -> usize {
        self.inference_threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1)
    }
}

#[derive(Args, Debug)]
pub struct ClassifyArgs {
    /// Files of JSON lines `{"id","text"}`; none or `-` reads standard input.
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Texts per model call.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Labelled JSON lines files `{"text","label"}` (label: negative|neutral|positive). Default: every
    /// held-out set of the recipe beside the weights folder: `models/recipe/data/heldout/sentiment_*.jsonl`
    /// (per language) and `models/recipe/data/test_*.jsonl` (English).
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Also print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct LogArgs {
    /// Log format on stderr.
    #[arg(long, env = "EARSHOT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// Log filter, e.g. `info` or `earshot_server=debug`.
    #[arg(long, env = "EARSHOT_LOG", default_value = "info", global = true)]
    pub log: String,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on for gRPC (port 0 picks a free port; the bound address is printed).
    #[arg(long, env = "EARSHOT_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    /// Folder for the write-ahead log and the index.
    #[arg(long, env = "EARSHOT_DATA_DIR", default_value = "./earshot-data")]
    pub data_dir: PathBuf,
    /// HTTP listener for the web dashboard and the JSON API: an address (port 0 picks a free one,
    /// printed), `off`, or `auto` — the gRPC host on port 8080, or a free port when --listen has port 0.
    #[arg(long, env = "EARSHOT_HTTP_LISTEN", default_value = "auto")]
    pub http_listen: String,
    /// Most mentions in one ingest request.
    #[arg(long, env = "EARSHOT_MAX_BATCH", default_value_t = 1000)]
    pub max_batch: usize,
    /// Longest time, in milliseconds, between an acknowledgement and the commit that makes it searchable.
    #[arg(long, env = "EARSHOT_COMMIT_INTERVAL_MS", default_value_t = 500)]
    pub commit_interval_ms: u64,
    /// Memory for the index writer's buffers, in MiB.
    #[arg(long, env = "EARSHOT_INDEX_MEMORY_MB", default_value_t = 256)]
    pub index_memory_mb: usize,
    /// Index writer threads.
    #[arg(long, env = "EARSHOT_INDEX_THREADS", default_value_t = 2)]
    pub index_threads: usize,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Run without the sentiment model (mentions stay unlabelled until a server with one labels them).
    #[arg(long, env = "EARSHOT_NO_CLASSIFIER")]
    pub no_classifier: bool,
    /// How often alert rules are evaluated, in milliseconds.
    #[arg(long, env = "EARSHOT_ALERT_INTERVAL_MS", default_value_t = 60_000)]
    pub alert_interval_ms: u64,
    /// Files to import into this server once it is up (e.g. the sample corpus).
    #[arg(long, env = "EARSHOT_IMPORT", value_delimiter = ',')]
    pub import: Vec<PathBuf>,
    #[command(flatten)]
    pub guard: crate::keys::GuardArgs,
    #[command(flatten)]
    pub redis: RedisArgs,
    /// Calls per second each caller may make on average (shared by all replicas with --redis-url);
    /// 0 turns rate limits off. Over the limit: RESOURCE_EXHAUSTED with retry-after.
    #[arg(long, env = "EARSHOT_RATE_LIMIT_PER_SEC", default_value_t = 0.0)]
    pub rate_limit_per_sec: f64,
    /// Calls a caller may make at once after a quiet period.
    #[arg(long, env = "EARSHOT_RATE_LIMIT_BURST", default_value_t = 20)]
    pub rate_limit_burst: u32,
    /// Most mentions acknowledged but not yet searchable (labelling and indexing behind ingest); past it
    /// Ingest answers RESOURCE_EXHAUSTED with retry-after and IngestStream waits (back-pressure). The index
    /// commits at the latest when half of it is waiting.
    #[arg(long, env = "EARSHOT_MAX_BACKLOG", default_value_t = 100_000)]
    pub max_backlog: u64,
    /// Start on a damaged write-ahead log by keeping every readable record: the damaged files are moved
    /// aside into `<data-dir>/wal/damaged-<time>/` and what is readable is rewritten into a new log.
    /// Without it a damaged log refuses to start (a torn tail after a crash is always cut, with a warning).
    #[arg(long, env = "EARSHOT_WAL_SALVAGE")]
    pub wal_salvage: bool,
}

/// Sharing work between replicas through Redis; without `--redis-url` everything runs in one process.
#[derive(Args, Debug, Clone)]
pub struct RedisArgs {
    /// Redis to share the ingest queue, caches, alerts and rate limits with other replicas
    /// (`redis://host:6379/0`). Redis must run with `appendonly yes` and `appendfsync always`.
    #[arg(long, env = "EARSHOT_REDIS_URL")]
    pub redis_url: Option<String>,
    /// What this replica does with Redis: `all`, or a comma list of `gateway` (accepts Ingest),
    /// `worker` (classifies), `indexer` (owns the index, serves search; exactly one replica).
    #[arg(long, env = "EARSHOT_ROLE", default_value = "all")]
    pub role: String,
    /// This replica's consumer name in Redis (default: `$HOSTNAME-<pid>`); keep it stable across
    /// restarts of one replica so it finishes its own pending work first.
    #[arg(long, env = "EARSHOT_REDIS_CONSUMER")]
    pub redis_consumer: Option<String>,
    /// Work a replica has held this long, in milliseconds, without finishing is taken over by others.
    #[arg(long, env = "EARSHOT_REDIS_CLAIM_IDLE_MS", default_value_t = 30_000)]
    pub redis_claim_idle_ms: u64,
    /// Most batches waiting in Redis before ingest answers RESOURCE_EXHAUSTED (back-pressure).
    #[arg(long, env = "EARSHOT_REDIS_MAX_BACKLOG", default_value_t = 10_000)]
    pub redis_max_backlog: usize,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Decide from the content (and `.csv` for CSV).
    Auto,
    /// earshot's own vocabulary, one JSON object per line (see README, "Import formats").
    Jsonl,
    /// earshot's own vocabulary as CSV with a header row.
    Csv,
    /// X API v2 responses (search, timelines, lookups), whole or one per line.
    X,
    /// Reddit listings from the JSON API, or NDJSON dumps (one submission or comment per line).
    Reddit,
    /// Mastodon Status entities (timelines, search results, contexts).
    Mastodon,
    /// Bluesky searchPosts / getPosts responses (PostViews) or Jetstream events.
    Bluesky,
    /// Jetstream events, one per line (same mapping as `bluesky`).
    Jetstream,
    /// RSS 2.0 or Atom news feeds.
    #[value(alias = "rss", alias = "atom")]
    Feed,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Files to import; `-` reads standard input.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub client: ClientArgs,
    /// Input format.
    #[arg(long, env = "EARSHOT_IMPORT_FORMAT", value_enum, default_value_t = Format::Auto)]
    pub format: Format,
    /// Mentions per request.
    #[arg(long, env = "EARSHOT_IMPORT_BATCH", default_value_t = 500)]
    pub batch_size: usize,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Hide the progress bar.
    #[arg(long, env = "EARSHOT_NO_PROGRESS")]
    pub no_progress: bool,
    /// Wait until the imported mentions are searchable before exiting.
    #[arg(long)]
    pub wait: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum SortArg {
    Newest,
    Oldest,
    Relevance,
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    #[command(flatten)]
    pub scope: QueryArgs,
    #[command(flatten)]
    pub client: ClientArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Most hits to print.
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Only mentions created at or after this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<String>,
    /// Only mentions created before this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    pub to: Option<String>,
    /// Order of hits.
    #[arg(long, value_enum, default_value_t = SortArg::Newest)]
    pub sort: SortArg,
    /// Only print the number of matches.
    #[arg(long)]
    pub count: bool,
}

pub fn init_logging(args: &LogArgs) {
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match args.log_format {
        // One object per line, with the current span (e.g. `rpc`: method, tenant, key id) and its parents.
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(true).init(),
        LogFormat::Text => builder.init(),
    }
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The Boolean query; none exports everything (of the period).
    #[arg(conflicts_with = "topic")]
    pub query: Option<String>,
    /// Export a saved topic (id or name) instead of a query.
    #[arg(long)]
    pub topic: Option<String>,
    #[command(flatten)]
    pub client: ClientArgs,
    /// Only mentions created at or after this time (RFC 3339, YYYY-MM-DD or Unix seconds).
    #[arg(long)]
    pub from: Option<String>,
    /// Only mentions created before this time.
    #[arg(long)]
    pub to: Option<String>,
    /// Leave out reposts, quotes, near-duplicates and spam (as `report --exclude-noise`).
    #[arg(long)]
    pub exclude_noise: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub format: ExportFormat,
    /// Write here instead of standard output (needed for Parquet and for --resume).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Continue an interrupted export into the same --output (from its checkpoint `FILE.cursor`).
    #[arg(long)]
    pub resume: bool,
    /// Start after this cursor (printed when an export stops); for Parquet, into a new file.
    #[arg(long, conflicts_with = "resume")]
    pub cursor: Option<String>,
    /// Mentions per streamed chunk.
    #[arg(long, default_value_t = 500)]
    pub chunk_size: u32,
    /// Hide the progress bar.
    #[arg(long, env = "EARSHOT_NO_PROGRESS")]
    pub no_progress: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// JSON lines, the importer's vocabulary.
    Jsonl,
    /// CSV with the importer's column names.
    Csv,
    /// Apache Parquet (typed columns, snappy).
    Parquet,
}
