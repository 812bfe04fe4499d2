//! `earshot-tests`: a sandbox that runs the real `earshot` binary on port 0 in a temp dir, and the
//! helpers the end-to-end tests share ([`replay`]: a local HTTP server replaying recorded platform
//! responses to live sources). The tests themselves are in `tests/`.

pub mod corpus;
pub mod redis;
pub mod replay;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use earshot_proto::v1::ingest_service_client::IngestServiceClient;
use earshot_proto::v1::search_service_client::SearchServiceClient;
use earshot_proto::v1::{Author, Mention, SearchRequest, SortOrder};
use futures::StreamExt;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tonic::transport::{Certificate, Channel, ClientTlsConfig};
pub use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

/// Path of the `earshot` binary: `EARSHOT_BIN`, or the workspace's debug build (built on first use).
pub fn earshot_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("EARSHOT_BIN") {
            return PathBuf::from(p);
        }
        let exe = std::env::current_exe().expect("test executable path");
        // target/<profile>/deps/<test> → target/<profile>/earshot
        let profile_dir = exe.parent().and_then(Path::parent).expect("target dir").to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = std::process::Command::new(cargo);
        // Both binaries: `earshot serve` execs `earshot-engine` (ADR 0007).
        build.args(["build", "-q", "-p", "earshot-cli", "--bins"]);
        // `cargo test` sets per-package variables that some build scripts (ring) fingerprint: inherited,
        // every alternation between a shell build and this one would rebuild ring, and with it the
        // libtorch bindings (minutes).
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            let per_package =
                ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_CRATE_", "CARGO_BIN_"].iter().any(|p| name.starts_with(p))
                    || name == "CARGO_PRIMARY_PACKAGE"
                    || name == "CARGO_TARGET_TMPDIR";
            if per_package {
                build.env_remove(name.as_ref());
            }
        }
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build");
        assert!(status.success(), "building earshot failed");
        profile_dir.join("earshot")
    })
    .clone()
}

/// A running `earshot serve` on a free port with its data in a folder it may share with later runs.
pub struct Sandbox {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The data folder.
    pub data_dir: PathBuf,
    /// `http://127.0.0.1:PORT/metrics`.
    pub metrics: String,
    /// `http://127.0.0.1:PORT/` of the web app and JSON API (empty with `--http-listen off`).
    pub web: String,
    /// CA certificate (PEM) to trust when the server runs with `--tls-cert`.
    tls_ca: Option<Vec<u8>>,
}

/// Longest wait for a service to turn SERVING (a cold model load on a busy 2-core machine takes seconds).
pub const SERVING_DEADLINE: std::time::Duration = std::time::Duration::from_secs(180);

/// `models/weights` of the checkout these tests belong to.
pub fn checkout_weights() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/weights")
}

impl Sandbox {
    /// Starts the server on `data_dir` with extra flags and waits until its services are SERVING.
    pub async fn start_in(data_dir: &Path, extra: &[&str]) -> Sandbox {
        Self::start_with(data_dir, extra, None).await
    }

    /// Like [`Sandbox::start_in`]; with `tls_ca`, connects over TLS trusting that CA (PEM) for `localhost`.
    pub async fn start_with(data_dir: &Path, extra: &[&str], tls_ca: Option<Vec<u8>>) -> Sandbox {
        Self::start_serving(data_dir, extra, tls_ca, &["earshot.v1.IngestService", "earshot.v1.SearchService"]).await
    }

    /// Starts the server on `data_dir` with extra flags and waits until `services` are SERVING (a
    /// replica without the indexer role serves no search).
    pub async fn start_serving(data_dir: &Path, extra: &[&str], tls_ca: Option<Vec<u8>>, services: &[&str]) -> Sandbox {
        let mut child = Command::new(earshot_bin())
            .arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--commit-interval-ms", "200", "--index-memory-mb", "64", "--index-threads", "1"])
            .args(["--metrics-listen", "127.0.0.1:0"])
            .args(extra)
            .env("EARSHOT_LOG", "warn")
            // This checkout's weights, wherever the binary was built (CARGO_TARGET_DIR may be elsewhere).
            .env(
                "EARSHOT_MODEL_DIR",
                std::env::var_os("EARSHOT_MODEL_DIR").unwrap_or_else(|| checkout_weights().into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start earshot");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut metrics = String::new();
        let mut web = String::new();
        let addr = loop {
            let line = lines.next_line().await.expect("read stdout").expect("earshot exited before listening");
            if let Some(url) = line.strip_prefix("earshot metrics on ") {
                metrics = url.trim().to_owned();
            }
            if let Some(url) = line.strip_prefix("earshot web on ") {
                web = url.trim().to_owned();
            }
            if let Some(addr) = line.strip_prefix("earshot listening on ") {
                break addr.trim().to_owned();
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let endpoint = match tls_ca {
            Some(_) => format!("https://localhost:{}", addr.rsplit(':').next().expect("port")),
            None => format!("http://{addr}"),
        };
        let sandbox = Sandbox { child, endpoint, data_dir: data_dir.to_path_buf(), metrics, web, tls_ca };
        for service in services {
            sandbox.wait_serving(service).await;
        }
        sandbox
    }

    /// Waits until `service` reports SERVING on the health watch stream. A service that never gets
    /// there (a model that failed to load stays NOT_SERVING) fails the test after [`SERVING_DEADLINE`]
    /// instead of hanging it.
    pub async fn wait_serving(&self, service: &str) {
        self.wait_health(service, ServingStatus::Serving).await;
    }

    /// Waits until `service` reports `wanted` on the health watch stream.
    pub async fn wait_health(&self, service: &str, wanted: ServingStatus) {
        let channel = self.channel().await;
        let mut health = HealthClient::new(channel);
        let request = HealthCheckRequest { service: service.into() };
        let mut updates = health.watch(request).await.expect("health watch").into_inner();
        let reached = async {
            while let Some(update) = updates.next().await {
                if update.expect("health update").status == wanted as i32 {
                    return true;
                }
            }
            false
        };
        match tokio::time::timeout(SERVING_DEADLINE, reached).await {
            Ok(true) => {}
            Ok(false) => panic!("health stream of {service} ended before {wanted:?}"),
            Err(_) => panic!("{service} not {wanted:?} after {SERVING_DEADLINE:?} (see the server's log above)"),
        }
    }

    /// A connected channel.
    pub async fn channel(&self) -> Channel {
        let mut endpoint = Channel::from_shared(self.endpoint.clone()).expect("endpoint");
        if let Some(ca) = &self.tls_ca {
            let tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca)).domain_name("localhost");
            endpoint = endpoint.tls_config(tls).expect("tls config");
        }
        endpoint.connect().await.expect("connect")
    }

    /// An ingest client.
    pub async fn ingest(&self) -> IngestServiceClient<Channel> {
        IngestServiceClient::new(self.channel().await)
    }

    /// A search client.
    pub async fn search(&self) -> SearchServiceClient<Channel> {
        SearchServiceClient::new(self.channel().await)
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("running child")
    }

    /// Sends a signal (`STOP`, `CONT`, …) to the server.
    pub fn signal(&self, signal: &str) {
        let pid = self.pid().to_string();
        let sent = std::process::Command::new("kill").args([&format!("-{signal}"), &pid]).status().expect("run kill");
        assert!(sent.success(), "kill -{signal} failed");
    }

    /// Kills the server with SIGKILL and waits for it to be gone.
    pub async fn kill9(mut self) {
        self.child.start_kill().expect("kill -9");
        let _ = self.child.wait().await;
    }

    /// Sends SIGTERM and waits for a clean exit; returns whether it exited with status 0.
    pub async fn stop(mut self) -> bool {
        let pid = self.pid().to_string();
        let sent = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
        assert!(sent.success());
        self.child.wait().await.map(|s| s.success()).unwrap_or(false)
    }
}

/// Runs `earshot serve` on `data_dir` expecting it to refuse to start; returns its exit status, stdout
/// and stderr. Fails the test if it is still running after [`SERVING_DEADLINE`].
pub async fn serve_refused(data_dir: &Path, extra: &[&str]) -> (std::process::ExitStatus, String, String) {
    let run = Command::new(earshot_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--no-classifier", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .env("EARSHOT_LOG", "warn")
        .kill_on_drop(true)
        .output();
    let out =
        tokio::time::timeout(SERVING_DEADLINE, run).await.expect("earshot serve should have exited").expect("run");
    (out.status, String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// `GET` over plain HTTP/1.1 (the metrics listener); returns the body.
pub async fn scrape(url: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest.split_once('/').expect("path");
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect metrics");
    let request = format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).expect("body")
}

/// `POST {base}{path}` with a JSON body and extra headers over plain HTTP/1.1; returns the status code
/// and the body.
pub async fn http_post(base: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = base.strip_prefix("http://").expect("http url").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect http");
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response.split(' ').nth(1).and_then(|c| c.parse().ok()).expect("a status line");
    let (head, mut body) = response.split_once("\r\n\r\n").map(|(h, b)| (h.to_owned(), b.to_owned())).expect("body");
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else { break };
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

/// The value of the sample `series` (name and labels exactly as exported), 0 when absent.
pub fn metric_value(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
        .map_or(0.0, |v| v.trim().parse().expect("number"))
}

/// Ingests `request`, waiting out back-pressure (`RESOURCE_EXHAUSTED` with a retry hint) the way a
/// well-behaved client does.
pub async fn ingest_retrying(
    client: &mut IngestServiceClient<Channel>,
    request: earshot_proto::v1::IngestRequest,
) -> earshot_proto::v1::IngestResponse {
    loop {
        match client.ingest(request.clone()).await {
            Ok(response) => return response.into_inner(),
            Err(status) if status.code() == tonic::Code::ResourceExhausted => {
                let wait = status.metadata().get("retry-after").and_then(|v| v.to_str().ok()?.parse::<f64>().ok());
                tokio::time::sleep(std::time::Duration::from_secs_f64(wait.unwrap_or(0.5))).await;
            }
            Err(status) => panic!("ingest failed: {status:?}"),
        }
    }
}

/// Peak resident memory of a process so far, in MiB (`VmHWM`; 0 when it cannot be read).
pub fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Now, in Unix seconds.
pub fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// A valid mention with the given id and text, created an hour ago.
pub fn mention(id: &str, text: &str) -> Mention {
    Mention {
        id: id.into(),
        text: text.into(),
        created_at: Some(prost_types::Timestamp { seconds: now_secs() - 3600, nanos: 0 }),
        author: Some(Author { handle: format!("user{}", id.len()), followers: 10, ..Default::default() }),
        language: "en".into(),
        ..Default::default()
    }
}

/// Every mention id matching `query`, paging through all results (oldest first).
pub async fn all_ids(client: &mut SearchServiceClient<Channel>, query: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut token = String::new();
    loop {
        let request = SearchRequest {
            query: query.into(),
            sort: SortOrder::TimeAsc as i32,
            page_size: 1000,
            page_token: token.clone(),
            ..Default::default()
        };
        let response = client.search(request).await.expect("search").into_inner();
        ids.extend(response.hits.into_iter().filter_map(|h| h.mention.map(|m| m.id)));
        if response.next_page_token.is_empty() {
            return ids;
        }
        token = response.next_page_token;
    }
}

/// Runs `earshot keys create --json` on `data_dir`; returns `(key id, key)`.
pub fn create_key(data_dir: &Path, tenant: &str, roles: &str) -> (String, String) {
    let out = std::process::Command::new(earshot_bin())
        .args(["keys", "create", "--json", "--tenant", tenant, "--role", roles, "--data-dir"])
        .arg(data_dir)
        .output()
        .expect("run earshot keys create");
    assert!(out.status.success(), "keys create failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    (v["id"].as_str().expect("id").to_owned(), v["key"].as_str().expect("key").to_owned())
}

/// Runs `earshot keys <args…> --data-dir <data_dir>` and asserts it succeeded.
pub fn keys_command(data_dir: &Path, args: &[&str]) {
    let out = std::process::Command::new(earshot_bin())
        .arg("keys")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .expect("run earshot keys");
    assert!(out.status.success(), "earshot keys {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// A request carrying `key` as `authorization: Bearer`.
pub fn with_key<T>(message: T, key: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {key}").parse().expect("header value"));
    request
}
