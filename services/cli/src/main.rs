//! `earshot`: one binary for the service (`serve`) and its clients (`import`, `search`).

mod args;
mod classify;
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

use clap::Parser;

use crate::args::{Cli, Command};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // ort reads ORT_DYLIB_PATH when it first loads; point it at the runtime scripts/runtime.sh installed.
    // Done here, before any other thread exists.
    if std::env::var_os("ORT_DYLIB_PATH").is_none() {
        if let Some(path) = earshot_models::onnx::find_onnxruntime() {
            std::env::set_var("ORT_DYLIB_PATH", path);
        }
    }
    args::init_logging(&cli.log);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(a) => serve::serve(a).await,
            Command::Import(a) => import::import(a).await,
            Command::Search(a) => search::search(a).await,
            Command::Classify(a) => classify::classify(a),
            Command::Eval(a) => classify::eval(a),
            Command::Keys(a) => keys::run(a),
            Command::Report(a) => report::report(a).await,
            Command::Export(a) => export::export(a).await,
            Command::Sources(a) => sources::run(a).await,
        }
    })
}
