//! `earshot serve`: binds the listener, prints where it listens, runs the server until SIGINT/SIGTERM.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use earshot_models::batcher::BatchOptions;
use earshot_server::{ClassifierConfig, Config};
use tokio::net::TcpListener;

use crate::args::{ClientArgs, Format, ServeArgs};

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Entry point of `earshot serve`.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = Config {
        data_dir: args.data_dir.clone(),
        max_batch: args.max_batch,
        commit_interval: Duration::from_millis(args.commit_interval_ms.max(1)),
        alert_interval: Duration::from_millis(args.alert_interval_ms.max(10)),
        index_memory_bytes: args.index_memory_mb.max(16) << 20,
        index_threads: args.index_threads.max(1),
        classifier: (!args.no_classifier).then(|| ClassifierConfig {
            weights_dir: args.model.weights_dir(),
            intra_threads: args.model.threads(),
            batch: BatchOptions::default(),
        }),
        ..Config::default()
    };
    let listener = TcpListener::bind(args.listen).await.with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    // Scripts and tests read this line to find the port when listening on port 0.
    println!("earshot listening on {addr}");
    std::io::stdout().flush()?;
    if !args.import.is_empty() {
        let files = args.import.clone();
        let client = ClientArgs { server: format!("http://{addr}"), tenant: "default".into() };
        tokio::spawn(async move {
            match crate::import::run_import(&client, files, Format::Auto, 500, false, None).await {
                Ok(s) => tracing::info!(accepted = s.accepted, duplicates = s.duplicates, rejected = s.rejected, "sample imported"),
                Err(e) => tracing::warn!(error = %e, "sample import failed"),
            }
        });
    }
    earshot_server::run(config, listener, shutdown_signal()).await?;
    Ok(())
}
