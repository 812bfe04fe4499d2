//! `earshot`: one binary for the service (`serve`) and its clients (`import`, `search`).

mod args;
mod import;
mod json;
mod records;
mod search;
mod serve;

use clap::Parser;

use crate::args::{Cli, Command};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    args::init_logging(&cli.log);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(a) => serve::serve(a).await,
            Command::Import(a) => import::import(a).await,
            Command::Search(a) => search::search(a).await,
        }
    })
}
