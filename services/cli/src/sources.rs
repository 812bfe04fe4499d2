//! `earshot sources …`: the live sources of a running server (`SourceService`): add, list (with where
//! each stands: newest item, lag, errors, next poll), pause, resume, remove.
//!
//! A secret is never taken from the command line (other users see it in `ps`): `--secret-env NAME`
//! names a variable of the *server's* environment, `EARSHOT_SOURCE_SECRET` (this command's environment)
//! or `--secret-stdin` send one to be stored with the source.

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use earshot_proto::v1::source_service_client::SourceServiceClient;
use earshot_proto::v1::{
    AddSourceRequest, ListSourcesRequest, PauseSourceRequest, RemoveSourceRequest, ResumeSourceRequest, Source,
    SourceKind, SourceSpec,
};
use serde_json::json;
use tonic::transport::Channel;

use crate::client::{status_error, ClientArgs};

#[derive(Args, Debug)]
pub struct SourcesArgs {
    #[command(subcommand)]
    pub command: SourcesCommand,
    /// Print JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum SourcesCommand {
    /// Add a source; the server starts polling it at once.
    Add(AddArgs),
    /// List the tenant's sources and where each stands.
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Stop polling a source (by id or name); its checkpoint is kept.
    Pause(OneSource),
    /// Poll a paused source again, from its checkpoint.
    Resume(OneSource),
    /// Remove a source and its checkpoint (what it stored stays).
    Remove(OneSource),
}

#[derive(Args, Debug)]
pub struct OneSource {
    /// Id or name.
    pub source: String,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// RSS / Atom feed at --url.
    Feed,
    /// Mastodon instance at --url: hashtag --query, or the public timeline.
    Mastodon,
    /// Bluesky searchPosts of --query.
    Bluesky,
    /// Reddit: search of --query and/or newest of --subreddit (needs --client-id and a secret).
    Reddit,
    /// Bluesky Jetstream websocket: new posts containing one of the words of --query.
    Jetstream,
}

#[derive(Args, Debug)]
pub struct AddArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// What to poll.
    #[arg(long, value_enum)]
    pub kind: KindArg,
    /// Name, unique within the tenant.
    #[arg(long)]
    pub name: String,
    /// Feed address or API base address.
    #[arg(long, default_value = "")]
    pub url: String,
    /// Hashtag (Mastodon) or search words (Bluesky, Reddit).
    #[arg(long, default_value = "")]
    pub query: String,
    /// Reddit: the subreddit.
    #[arg(long, default_value = "")]
    pub subreddit: String,
    /// Time between polls in ms (default 60000).
    #[arg(long, default_value_t = 0)]
    pub interval_ms: u32,
    /// Name of the server's environment variable holding the secret (Mastodon token, Reddit secret).
    #[arg(long, default_value = "")]
    pub secret_env: String,
    /// Secret to store with the source (private file in the server's data folder).
    #[arg(long = "secret-from-env", env = "EARSHOT_SOURCE_SECRET", hide_env_values = true, hide = true)]
    pub secret: Option<String>,
    /// Read the secret to store from standard input (one line).
    #[arg(long)]
    pub secret_stdin: bool,
    /// Reddit: OAuth client id.
    #[arg(long, default_value = "")]
    pub client_id: String,
    /// Reddit: OAuth token endpoint (default Reddit's).
    #[arg(long, default_value = "")]
    pub token_url: String,
}

fn spec_of(a: &AddArgs) -> anyhow::Result<SourceSpec> {
    let mut secret = a.secret.clone().unwrap_or_default();
    if a.secret_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).context("reading the secret from standard input")?;
        secret = line.trim().to_owned();
    }
    let kind = match a.kind {
        KindArg::Feed => SourceKind::Feed,
        KindArg::Mastodon => SourceKind::Mastodon,
        KindArg::Bluesky => SourceKind::Bluesky,
        KindArg::Reddit => SourceKind::Reddit,
        KindArg::Jetstream => SourceKind::Jetstream,
    };
    Ok(SourceSpec {
        kind: kind as i32,
        name: a.name.clone(),
        url: a.url.clone(),
        query: a.query.clone(),
        subreddit: a.subreddit.clone(),
        poll_interval_ms: a.interval_ms,
        secret,
        secret_env: a.secret_env.clone(),
        client_id: a.client_id.clone(),
        token_url: a.token_url.clone(),
    })
}

fn time(t: Option<prost_types::Timestamp>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos as u32))
        .map_or_else(|| "-".to_owned(), |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

fn source_json(s: &Source) -> serde_json::Value {
    let spec = s.spec.clone().unwrap_or_default();
    let st = s.state.clone().unwrap_or_default();
    json!({
        "id": s.id, "name": spec.name, "kind": spec.kind().as_str_name(), "url": spec.url, "query": spec.query,
        "subreddit": spec.subreddit, "poll_interval_ms": spec.poll_interval_ms, "paused": s.paused,
        "has_secret": s.has_secret, "secret_env": spec.secret_env, "running": st.running, "standby": st.standby,
        "last_item_at": time(st.last_item_at), "lag_seconds": st.lag_seconds, "last_poll_at": time(st.last_poll_at),
        "next_poll_at": time(st.next_poll_at), "last_error": st.last_error,
        "consecutive_errors": st.consecutive_errors, "errors_total": st.errors_total,
        "mentions_total": st.mentions_total,
    })
}

fn print(sources: &[Source], as_json: bool) {
    if as_json {
        for s in sources {
            println!("{}", source_json(s));
        }
        return;
    }
    println!(
        "{:<8} {:<20} {:<9} {:<8} {:>8} {:<20} {:>9} {:>6} {:<20} LAST ERROR",
        "ID", "NAME", "KIND", "STATE", "STORED", "LAST ITEM", "LAG (s)", "ERRORS", "NEXT POLL"
    );
    for s in sources {
        let spec = s.spec.clone().unwrap_or_default();
        let st = s.state.clone().unwrap_or_default();
        let kind = spec.kind().as_str_name().trim_start_matches("SOURCE_KIND_").to_lowercase();
        let state = if s.paused {
            "paused"
        } else if st.running {
            "running"
        } else {
            "stopped"
        };
        println!(
            "{:<8} {:<20} {:<9} {:<8} {:>8} {:<20} {:>9.0} {:>6} {:<20} {}",
            s.id,
            spec.name,
            kind,
            state,
            st.mentions_total,
            time(st.last_item_at),
            st.lag_seconds,
            st.errors_total,
            time(st.next_poll_at),
            st.last_error
        );
    }
}

async fn connect(c: &ClientArgs) -> anyhow::Result<SourceServiceClient<Channel>> {
    Ok(SourceServiceClient::new(c.channel().await?))
}

/// Entry point of `earshot sources`.
pub async fn run(args: SourcesArgs) -> anyhow::Result<()> {
    let shown = match args.command {
        SourcesCommand::Add(a) => {
            let mut client = connect(&a.client).await?;
            let request = a.client.request(AddSourceRequest { spec: Some(spec_of(&a)?) })?;
            vec![client.add_source(request).await.map_err(status_error)?.into_inner()]
        }
        SourcesCommand::List { client: c } => {
            let request = c.request(ListSourcesRequest {})?;
            connect(&c).await?.list_sources(request).await.map_err(status_error)?.into_inner().sources
        }
        SourcesCommand::Pause(OneSource { source, client: c }) => {
            let request = c.request(PauseSourceRequest { source })?;
            vec![connect(&c).await?.pause_source(request).await.map_err(status_error)?.into_inner()]
        }
        SourcesCommand::Resume(OneSource { source, client: c }) => {
            let request = c.request(ResumeSourceRequest { source })?;
            vec![connect(&c).await?.resume_source(request).await.map_err(status_error)?.into_inner()]
        }
        SourcesCommand::Remove(OneSource { source, client: c }) => {
            let request = c.request(RemoveSourceRequest { source: source.clone() })?;
            let removed = connect(&c).await?.remove_source(request).await.map_err(status_error)?.into_inner().removed;
            anyhow::ensure!(removed, "no source {source:?}");
            if args.json {
                println!("{}", json!({ "removed": source }));
            } else {
                println!("removed {source}");
            }
            return Ok(());
        }
    };
    print(&shown, args.json);
    Ok(())
}
