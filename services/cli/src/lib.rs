//! The `earshot` command line: the service (`serve`), its clients (`import`, `search`, `report`, `export`,
//! `keys`) and the local model commands (`classify`, `eval`).
//!
//! # Layout
//! Two binaries share this library (ADR 0007). `earshot` ([`client_main`]) runs every command that needs no
//! model runtime and hands `serve`, `classify` and `eval` to `earshot-engine` ([`engine_main`]) by `exec`: the same
//! process, the same arguments. Only the engine links libtorch, so client commands start in milliseconds.
//! `args.rs` holds every flag; one module per command (`serve`, `import`, `search`, `report`, `export`,
//! `keys`, `classify`, `sources`: the live sources of a running server); `formats/` reads what X, Reddit,
//! Mastodon, Bluesky and feeds return (detection; the mappers are `earshot-sources`'); `records.rs`
//! and `json.rs` the JSON lines / CSV vocabulary; `listen.rs` the side-listener rule of `serve`; `client.rs`
//! what every client command shares (server, tenant, key, the connection, gRPC errors).

mod args;
mod classify;
mod client;
mod export;
mod export_parquet;
mod formats;
mod import;
mod json;
mod keys;
mod listen;
mod records;
mod report;
mod search;
mod serve;
mod sources;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;
use earshot_models::LoadClassifier;

use crate::args::{Cli, Command};

/// Name of the binary that runs the commands needing the model runtime.
const ENGINE: &str = "earshot-engine";

/// Whether a command needs the model runtime (libtorch and ONNX Runtime), i.e. runs in `earshot-engine`.
fn needs_engine(command: &Command) -> bool {
    matches!(command, Command::Serve(_) | Command::Classify(_) | Command::Eval(_))
}

/// Entry point of `earshot`: client commands in this process, engine commands by `exec` of the engine.
pub fn client_main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if needs_engine(&cli.command) {
        return Err(exec_engine(std::env::args_os()));
    }
    run_client(cli)
}

/// Entry point of `earshot-engine`: any command, in this process, with this model runtime.
pub fn engine_main(load: LoadClassifier) -> anyhow::Result<()> {
    run(Cli::parse(), load)
}

/// Runs a command that needs no model runtime. Engine commands are refused: the caller execs the engine.
fn run_client(cli: Cli) -> anyhow::Result<()> {
    anyhow::ensure!(!needs_engine(&cli.command), "this command runs in {ENGINE}");
    args::init_logging(&cli.log);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Import(a) => import::import(a).await,
            Command::Search(a) => search::search(a).await,
            Command::Keys(a) => keys::run(a),
            Command::Report(a) => report::report(a).await,
            Command::Export(a) => export::export(a).await,
            Command::Sources(a) => sources::run(a).await,
            Command::Serve(_) | Command::Classify(_) | Command::Eval(_) => unreachable!("checked above"),
        }
    })
}

/// Where `earshot-engine` is: `EARSHOT_ENGINE`, else next to the running binary.
fn engine_path() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("EARSHOT_ENGINE") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe()?;
    Ok(exe.with_file_name(ENGINE))
}

/// Replaces this process by `earshot-engine` with the same arguments (same pid: signals, `kill -9` and
/// process supervisors see one process). Returns only on failure.
fn exec_engine(args: impl IntoIterator<Item = OsString>) -> anyhow::Error {
    use std::os::unix::process::CommandExt;
    let path = match engine_path() {
        Ok(p) => p,
        Err(e) => return e.context(format!("cannot locate {ENGINE}")),
    };
    let mut args = args.into_iter();
    let argv0 = args.next().unwrap_or_else(|| "earshot".into());
    let error = std::process::Command::new(&path).arg0(argv0).args(args).exec();
    anyhow::anyhow!(
        "cannot start {} ({error}): `serve`, `classify` and `eval` run in {ENGINE}, installed next to `earshot` \
         (set EARSHOT_ENGINE to its path if it lives elsewhere)",
        path.display()
    )
}

/// Runs any command in this process.
fn run(cli: Cli, load: LoadClassifier) -> anyhow::Result<()> {
    if !needs_engine(&cli.command) {
        return run_client(cli);
    }
    args::init_logging(&cli.log);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(a) => serve::serve(a, load).await,
            Command::Classify(a) => classify::classify(a, load),
            Command::Eval(a) => classify::eval(a, load),
            _ => unreachable!("client commands returned above"),
        }
    })
}
