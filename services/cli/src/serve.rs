//! `earshot serve`: binds the listener, prints where it listens, runs the server until SIGINT/SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use earshot_models::batcher::BatchOptions;
use earshot_models::LoadClassifier;
use earshot_server::auth::ratelimit::RateLimit;
use earshot_server::cluster::{RedisConfig, Roles};
use earshot_server::{ClassifierConfig, Config, Listeners};
use tokio::net::TcpListener;

use crate::args::{Format, RedisArgs, ServeArgs};
use crate::client::ClientArgs;

/// The embedded dashboard (`earshot-web`) in the HTTP listener's terms.
fn web_asset(path: &str) -> Option<earshot_http::Asset> {
    earshot_web::asset(path).map(|a| earshot_http::Asset { bytes: a.bytes, content_type: a.content_type })
}

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

/// The Redis settings, or `None` to run in one process.
fn redis_config(args: &RedisArgs) -> anyhow::Result<Option<RedisConfig>> {
    let roles = Roles::parse(&args.role).map_err(|e| anyhow::anyhow!("--role: {e}"))?;
    let Some(url) = &args.redis_url else {
        anyhow::ensure!(roles == Roles::ALL, "--role {} needs --redis-url (roles share work through Redis)", args.role);
        return Ok(None);
    };
    let mut config = RedisConfig::new(url.clone());
    config.roles = roles;
    if let Some(consumer) = &args.redis_consumer {
        config.consumer = consumer.clone();
    }
    config.claim_idle = Duration::from_millis(args.redis_claim_idle_ms.max(1));
    config.max_backlog = args.redis_max_backlog.max(1);
    Ok(Some(config))
}

/// Entry point of `earshot serve`.
pub async fn serve(args: ServeArgs, load: LoadClassifier) -> anyhow::Result<()> {
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
            load,
        }),
        guard: args.guard.config(),
        redis: redis_config(&args.redis)?,
        rate_limit: (args.rate_limit_per_sec > 0.0)
            .then(|| RateLimit { per_sec: args.rate_limit_per_sec, burst: args.rate_limit_burst.max(1) }),
        max_backlog: args.max_backlog.max(1),
        wal_salvage: args.wal_salvage,
        web_assets: Some(web_asset),
        ..Config::default()
    };
    // Before anything listens: a second server on the same data must fail here, naming the folder.
    let _lock = earshot_server::lock_data_dir(&config.data_dir)?;
    // Metrics and HTTP first, so that their lines precede the one scripts wait for.
    if let Some(addr) = args.guard.metrics_addr(args.listen)? {
        let metrics = bind(addr, "metrics", "--metrics-listen").await?;
        println!("earshot metrics on http://{}/metrics", metrics.local_addr()?);
        tokio::spawn(async move {
            if let Err(e) = earshot_server::metrics::serve(metrics, std::future::pending()).await {
                tracing::error!(error = %e, "metrics listener failed");
            }
        });
    }
    let http = match crate::listen::follow_grpc_port(&args.http_listen, args.listen, 8080, "--http-listen")? {
        Some(addr) => {
            let http = bind(addr, "HTTP", "--http-listen").await?;
            println!("earshot web on http://{}/", http.local_addr()?);
            Some(http)
        }
        None => None,
    };
    let listener = bind(args.listen, "gRPC", "--listen").await?;
    let addr = listener.local_addr()?;
    // Scripts and tests read this line to find the port when listening on port 0.
    println!("earshot listening on {addr}");
    std::io::stdout().flush()?;
    if !args.import.is_empty() {
        let files = args.import.clone();
        let scheme = if args.guard.tls_cert.is_some() { "https" } else { "http" };
        let api_key = std::env::var("EARSHOT_API_KEY").ok();
        let client = ClientArgs { server: format!("{scheme}://{addr}"), tenant: "default".into(), api_key };
        tokio::spawn(async move {
            match crate::import::run_import(&client, files, Format::Auto, 500, false, None).await {
                Ok(s) => tracing::info!(
                    accepted = s.accepted,
                    duplicates = s.duplicates,
                    rejected = s.rejected,
                    "sample imported"
                ),
                Err(e) => tracing::warn!(error = %e, "sample import failed"),
            }
        });
    }
    earshot_server::serve(config, Listeners { grpc: listener, http }, shutdown_signal()).await?;
    Ok(())
}

/// Binds `addr`; an address in use is one line that says which flag moves it.
async fn bind(addr: SocketAddr, what: &str, flag: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => anyhow::anyhow!(
            "cannot listen for {what} on {addr}: the address is in use (another earshot?); choose another with {flag} ADDR (port 0 picks a free one)"
        ),
        _ => anyhow::anyhow!("cannot listen for {what} on {addr}: {e}"),
    })
}
