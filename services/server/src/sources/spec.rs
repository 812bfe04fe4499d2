//! The boundary of the source domain: a `SourceSpec` from the API checked once (every problem names its
//! field) and turned into a [`SourceConfig`]; a stored source and its state back into the API's `Source`,
//! without its secret.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use earshot_proto::v1::{Source, SourceKind, SourceSpec, SourceState};

use super::runner::State;
use super::store::{Kind, Secret, SourceConfig, DEFAULT_POLL_INTERVAL, MIN_POLL_INTERVAL};
use super::SourceError;

fn invalid(field: &str, reason: impl Into<String>) -> SourceError {
    SourceError::InvalidArgument { field: format!("spec.{field}"), reason: reason.into() }
}

fn check_url(field: &str, url: &str, required: bool) -> Result<String, SourceError> {
    let url = url.trim();
    if url.is_empty() {
        return if required { Err(invalid(field, "is required")) } else { Ok(String::new()) };
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| invalid(field, format!("not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(invalid(field, "must be an http or https address with a host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid(field, "must not carry credentials; use `secret` or `secret_env`"));
    }
    Ok(url.to_owned())
}

fn check_ws_url(url: &str) -> Result<String, SourceError> {
    let url = url.trim();
    if url.is_empty() {
        return Ok(String::new());
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| invalid("url", format!("not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "ws" | "wss") || parsed.host_str().is_none() || parsed.query().is_some() {
        return Err(invalid("url", "must be a ws or wss address with a host and without a query"));
    }
    Ok(url.to_owned())
}

/// Checks `spec` and makes the source it describes (without an id).
pub fn config_of(spec: SourceSpec) -> Result<SourceConfig, SourceError> {
    let kind = match SourceKind::try_from(spec.kind) {
        Ok(SourceKind::Feed) => Kind::Feed,
        Ok(SourceKind::Mastodon) => Kind::Mastodon,
        Ok(SourceKind::Bluesky) => Kind::Bluesky,
        Ok(SourceKind::Reddit) => Kind::Reddit,
        Ok(SourceKind::Jetstream) => Kind::Jetstream,
        _ => return Err(invalid("kind", "must be one of feed, mastodon, bluesky, reddit, jetstream")),
    };
    let name = spec.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(invalid("name", "must be 1 to 100 characters"));
    }
    let url = match kind {
        Kind::Jetstream => check_ws_url(&spec.url)?,
        _ => check_url("url", &spec.url, matches!(kind, Kind::Feed | Kind::Mastodon))?,
    };
    let token_url = check_url("token_url", &spec.token_url, false)?;
    let query = spec.query.trim().trim_start_matches('#').to_owned();
    let subreddit = spec.subreddit.trim().trim_start_matches("r/").to_owned();
    let word = |s: &str| s.chars().all(|c| c.is_alphanumeric() || c == '_');
    match kind {
        Kind::Mastodon if !word(&query) => return Err(invalid("query", "a hashtag is letters, digits and _")),
        Kind::Bluesky if query.is_empty() => return Err(invalid("query", "is required for a Bluesky search")),
        Kind::Reddit if query.is_empty() && subreddit.is_empty() => {
            return Err(invalid("subreddit", "a Reddit source needs a subreddit, a query or both"))
        }
        Kind::Reddit if !word(&subreddit) => return Err(invalid("subreddit", "is letters, digits and _")),
        _ => {}
    }
    let secret_env = spec.secret_env.trim().to_owned();
    if !secret_env.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(invalid("secret_env", "an environment variable name is ASCII letters, digits and _"));
    }
    if !spec.secret.is_empty() && !secret_env.is_empty() {
        return Err(invalid("secret", "give either `secret` or `secret_env`, not both"));
    }
    if kind == Kind::Reddit {
        if spec.client_id.trim().is_empty() {
            return Err(invalid("client_id", "a Reddit source needs the OAuth application's client id"));
        }
        if spec.secret.is_empty() && secret_env.is_empty() {
            return Err(invalid("secret", "a Reddit source needs the client secret (or `secret_env`)"));
        }
    }
    let interval = match spec.poll_interval_ms {
        0 => DEFAULT_POLL_INTERVAL,
        ms => Duration::from_millis(u64::from(ms)),
    };
    if interval < MIN_POLL_INTERVAL {
        return Err(invalid("poll_interval_ms", format!("must be at least {}", MIN_POLL_INTERVAL.as_millis())));
    }
    let created = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    Ok(SourceConfig {
        id: String::new(),
        name,
        kind,
        url,
        query,
        subreddit,
        poll_interval_ms: interval.as_millis() as u64,
        secret: Secret(spec.secret),
        secret_env,
        client_id: spec.client_id.trim().to_owned(),
        token_url,
        paused: false,
        created,
    })
}

fn timestamp_ms(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: ms.div_euclid(1000), nanos: (ms.rem_euclid(1000) * 1_000_000) as i32 }
}

/// The API's view of a source: its spec without the secret, and its state.
pub fn to_proto(source: &SourceConfig, state: &State) -> Source {
    let kind = match source.kind {
        Kind::Feed => SourceKind::Feed,
        Kind::Mastodon => SourceKind::Mastodon,
        Kind::Bluesky => SourceKind::Bluesky,
        Kind::Reddit => SourceKind::Reddit,
        Kind::Jetstream => SourceKind::Jetstream,
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    Source {
        id: source.id.clone(),
        spec: Some(SourceSpec {
            kind: kind as i32,
            name: source.name.clone(),
            url: source.url.clone(),
            query: source.query.clone(),
            subreddit: source.subreddit.clone(),
            poll_interval_ms: source.poll_interval_ms.min(u64::from(u32::MAX)) as u32,
            secret: String::new(),
            secret_env: source.secret_env.clone(),
            client_id: source.client_id.clone(),
            token_url: source.token_url.clone(),
        }),
        paused: source.paused,
        has_secret: !source.secret.0.is_empty(),
        state: Some(SourceState {
            last_item_at: state.last_item_ms.map(timestamp_ms),
            lag_seconds: state.last_item_ms.map_or(0.0, |t| (now - t).max(0) as f64 / 1000.0),
            last_poll_at: state.last_poll_ms.map(timestamp_ms),
            next_poll_at: state.next_poll_ms.filter(|_| state.running).map(timestamp_ms),
            last_error: state.last_error.clone(),
            consecutive_errors: state.consecutive_errors,
            errors_total: state.errors_total,
            mentions_total: state.mentions_total,
            running: state.running,
            standby: state.standby,
        }),
        created_at: Some(prost_types::Timestamp { seconds: source.created, nanos: 0 }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: SourceKind) -> SourceSpec {
        SourceSpec { kind: kind as i32, name: "n".into(), url: "https://example.org/feed".into(), ..Default::default() }
    }

    fn field(r: Result<SourceConfig, SourceError>) -> String {
        match r {
            Err(SourceError::InvalidArgument { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn bad_specs_name_their_field() {
        assert_eq!(field(config_of(SourceSpec::default())), "spec.kind");
        assert_eq!(field(config_of(SourceSpec { url: "ftp://x".into(), ..spec(SourceKind::Feed) })), "spec.url");
        assert_eq!(field(config_of(SourceSpec { url: "https://u:p@x".into(), ..spec(SourceKind::Feed) })), "spec.url");
        assert_eq!(field(config_of(SourceSpec { name: " ".into(), ..spec(SourceKind::Feed) })), "spec.name");
        assert_eq!(
            field(config_of(SourceSpec { poll_interval_ms: 5, ..spec(SourceKind::Feed) })),
            "spec.poll_interval_ms"
        );
        assert_eq!(field(config_of(spec(SourceKind::Bluesky))), "spec.query");
        assert_eq!(field(config_of(spec(SourceKind::Jetstream))), "spec.url", "a websocket address");
        assert_eq!(field(config_of(SourceSpec { query: "a/b".into(), ..spec(SourceKind::Mastodon) })), "spec.query");
        let reddit = SourceSpec { query: "rust".into(), ..spec(SourceKind::Reddit) };
        assert_eq!(field(config_of(reddit.clone())), "spec.client_id");
        assert_eq!(field(config_of(SourceSpec { client_id: "c".into(), ..reddit.clone() })), "spec.secret");
        let both = SourceSpec { client_id: "c".into(), secret: "s".into(), secret_env: "E".into(), ..reddit };
        assert_eq!(field(config_of(both)), "spec.secret");
    }

    #[test]
    fn the_api_view_has_no_secret() {
        let mut c =
            config_of(SourceSpec { secret: "tok-1".into(), query: "#Rust".into(), ..spec(SourceKind::Mastodon) })
                .expect("valid");
        c.id = "src-1".into();
        assert_eq!((c.query.as_str(), c.poll_interval_ms), ("Rust", 60_000));
        let shown = to_proto(&c, &State::default());
        assert!(shown.has_secret);
        assert!(!format!("{shown:?}").contains("tok-1"));
    }
}
