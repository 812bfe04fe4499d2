//! A local HTTP/1.1 server that replays recorded platform responses (the fixtures in
//! `fixtures/sources`) to the service's live sources, and records every request it gets with the time it
//! arrived, so tests assert on what the poller sent and when (a 429's `Retry-After` honoured, a
//! conditional GET, a resumed `min_id`), not on the code's own clocks.
//!
//! What to answer is a closure over the request: a response, a dropped connection, or a response that
//! never comes (a poll in flight when the test kills the server). [`WsReplay`] does the same for
//! websockets (Jetstream): scripted messages per connection, then a close or silence.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// When its head was read.
    pub at: Instant,
    /// `GET`, `POST`, …
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body (token requests).
    pub body: String,
}

impl Recorded {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// A query parameter (percent-decoding only `%3A` and `+`, enough for ids, cursors and times).
    pub fn param(&self, name: &str) -> Option<String> {
        let query = self.target.split_once('?')?.1;
        query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == name).then(|| v.replace("%3A", ":").replace('+', " "))
        })
    }
}

/// What to do with a request.
pub enum Reply {
    /// Answer with status, extra headers and body.
    Respond(u16, Vec<(String, String)>, Vec<u8>),
    /// Close the connection without answering.
    Drop,
    /// Never answer (the connection stays open until the client goes away).
    Hold,
}

impl Reply {
    /// `200` with a body and a content type.
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply::Respond(200, vec![("content-type".into(), content_type.into())], body.into())
    }
}

type Handler = Box<dyn FnMut(&Recorded) -> Reply + Send>;

/// The replay server.
pub struct Replay {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    arrived: Arc<Notify>,
    handler: Arc<Mutex<Handler>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Replay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_request(stream: &mut BufReader<tokio::net::TcpStream>) -> Option<Recorded> {
    let mut line = String::new();
    stream.read_line(&mut line).await.ok()?;
    let at = Instant::now();
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        stream.read_line(&mut h).await.ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (name, value) = h.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length = headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.ok()?;
    Some(Recorded { at, method, target, headers, body: String::from_utf8_lossy(&body).into_owned() })
}

/// Waits until `seen()` holds at least `n` items, woken by `arrived` (failing the test after `deadline`).
async fn wait_for<T: std::fmt::Debug>(
    arrived: &Notify,
    n: usize,
    deadline: Duration,
    seen: impl Fn() -> Vec<T>,
) -> Vec<T> {
    let wait = async {
        loop {
            let notified = arrived.notified();
            tokio::pin!(notified);
            // Registered before looking, so an arrival in between still wakes us.
            notified.as_mut().enable();
            let now = seen();
            if now.len() >= n {
                return now;
            }
            notified.await;
        }
    };
    tokio::time::timeout(deadline, wait)
        .await
        .unwrap_or_else(|_| panic!("fewer than {n} after {deadline:?}: {:#?}", seen()))
}

impl Replay {
    /// Starts on a free port answering with `handler`.
    pub async fn start(handler: impl FnMut(&Recorded) -> Reply + Send + 'static) -> Replay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind replay server");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let arrived = Arc::new(Notify::new());
        let handler: Arc<Mutex<Handler>> = Arc::new(Mutex::new(Box::new(handler)));
        let (r, n, h) = (requests.clone(), arrived.clone(), handler.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (requests, arrived, handler) = (r.clone(), n.clone(), h.clone());
                tokio::spawn(async move {
                    let mut stream = BufReader::new(stream);
                    let Some(request) = read_request(&mut stream).await else { return };
                    let reply = (handler.lock().expect("handler"))(&request);
                    requests.lock().expect("requests").push(request);
                    arrived.notify_waiters();
                    match reply {
                        Reply::Drop => {}
                        Reply::Hold => std::future::pending::<()>().await,
                        Reply::Respond(status, headers, body) => {
                            let mut head = format!("HTTP/1.1 {status} Replay\r\ncontent-length: {}\r\n", body.len());
                            head.push_str("connection: close\r\n");
                            for (name, value) in headers {
                                head.push_str(&format!("{name}: {value}\r\n"));
                            }
                            head.push_str("\r\n");
                            let stream = stream.get_mut();
                            let _ = stream.write_all(head.as_bytes()).await;
                            let _ = stream.write_all(&body).await;
                            let _ = stream.shutdown().await;
                        }
                    }
                });
            }
        });
        Replay { base, requests, arrived, handler, task }
    }

    /// Answers from now on with `handler`.
    pub fn set_handler(&self, handler: impl FnMut(&Recorded) -> Reply + Send + 'static) {
        *self.handler.lock().expect("handler") = Box::new(handler);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("requests").clone()
    }

    /// Waits until at least `n` requests arrived (failing the test after `deadline`); returns them all.
    pub async fn wait_requests(&self, n: usize, deadline: Duration) -> Vec<Recorded> {
        wait_for(&self.arrived, n, deadline, || self.requests()).await
    }
}

/// A websocket server standing in for Jetstream: for each connection (numbered from 0) `lines(n, uri)`
/// says which text messages to send and whether to close the connection afterwards (a dropped
/// connection) or keep it open. Records each connection's request URI.
pub struct WsReplay {
    /// `ws://127.0.0.1:PORT/subscribe`.
    pub url: String,
    uris: Arc<Mutex<Vec<String>>>,
    arrived: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WsReplay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type WsScript = Box<dyn FnMut(usize, &str) -> (Vec<String>, bool) + Send>;

impl WsReplay {
    /// Starts on a free port.
    pub async fn start(script: impl FnMut(usize, &str) -> (Vec<String>, bool) + Send + 'static) -> WsReplay {
        use futures::SinkExt;
        use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
        use tokio_tungstenite::tungstenite::Message;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind websocket server");
        let url = format!("ws://{}/subscribe", listener.local_addr().expect("addr"));
        let uris = Arc::new(Mutex::new(Vec::new()));
        let arrived = Arc::new(Notify::new());
        let script: Arc<Mutex<WsScript>> = Arc::new(Mutex::new(Box::new(script)));
        let (u, n) = (uris.clone(), arrived.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (uris, arrived, script) = (u.clone(), n.clone(), script.clone());
                tokio::spawn(async move {
                    let mut uri = String::new();
                    // The signature is tungstenite's handshake callback (its error is an HTTP response).
                    #[allow(clippy::result_large_err)]
                    let remember = |request: &Request, response: Response| {
                        uri = request.uri().to_string();
                        Ok(response)
                    };
                    let Ok(mut socket) = tokio_tungstenite::accept_hdr_async(stream, remember).await else { return };
                    let index = {
                        let mut all = uris.lock().expect("uris");
                        all.push(uri.clone());
                        all.len() - 1
                    };
                    arrived.notify_waiters();
                    let (lines, close) = (script.lock().expect("script"))(index, &uri);
                    for line in lines {
                        if socket.send(Message::text(line)).await.is_err() {
                            return;
                        }
                    }
                    if close {
                        let _ = socket.close(None).await;
                    } else {
                        std::future::pending::<()>().await;
                    }
                });
            }
        });
        WsReplay { url, uris, arrived, task }
    }

    /// The request URI of every connection so far.
    pub fn connections(&self) -> Vec<String> {
        self.uris.lock().expect("uris").clone()
    }

    /// Waits until at least `n` connections were made (failing the test after `deadline`).
    pub async fn wait_connections(&self, n: usize, deadline: Duration) -> Vec<String> {
        wait_for(&self.arrived, n, deadline, || self.connections()).await
    }
}
