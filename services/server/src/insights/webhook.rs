//! Webhook delivery of alerts: a JSON POST signed with HMAC-SHA256, retried with exponential backoff.
//!
//! Headers: `x-earshot-signature: sha256=<hex of HMAC-SHA256(secret, body)>` (the receiver recomputes it
//! over the raw body and compares in constant time) and `x-earshot-delivery: <alert id>` (the same on
//! every retry, so a receiver can drop repeats). Connection errors, 429 and 5xx are retried; other
//! answers are final. Plain `http://` only for now: `https://` needs a TLS connector (see the README).

use std::time::Duration;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sha2::Sha256;
use tracing::warn;

/// Header carrying the body's signature.
pub const SIGNATURE_HEADER: &str = "x-earshot-signature";
/// Header carrying the alert id (stable across retries).
pub const DELIVERY_HEADER: &str = "x-earshot-delivery";

/// Why a delivery failed for good.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The URL is not a plain http URL.
    #[error("webhook url {0:?} is not an http:// URL")]
    InvalidUrl(String),
    /// The receiver kept failing or refused.
    #[error("webhook answered {0}")]
    Status(u16),
    /// The receiver could not be reached.
    #[error("webhook unreachable: {0}")]
    Transport(String),
}

/// `sha256=<hex>` of HMAC-SHA256 of `body` under `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks that a URL can be delivered to.
pub fn check_url(url: &str) -> Result<hyper::Uri, WebhookError> {
    let uri: hyper::Uri = url.parse().map_err(|_| WebhookError::InvalidUrl(url.to_owned()))?;
    if uri.scheme_str() != Some("http") || uri.host().is_none() {
        return Err(WebhookError::InvalidUrl(url.to_owned()));
    }
    Ok(uri)
}

/// Sends signed webhooks with retries.
#[derive(Clone)]
pub struct WebhookSender {
    client: Client<HttpConnector, Full<Bytes>>,
    /// Tries per delivery.
    pub attempts: u32,
    /// Wait before the second try; doubles after each.
    pub backoff: Duration,
    /// Limit of one try.
    pub timeout: Duration,
}

impl Default for WebhookSender {
    fn default() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        WebhookSender {
            client: Client::builder(TokioExecutor::new()).build(connector),
            attempts: 5,
            backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(10),
        }
    }
}

impl WebhookSender {
    /// POSTs `body` to `url`, retrying; returns the final HTTP status.
    pub async fn deliver(&self, url: &str, secret: &str, delivery: &str, body: Bytes) -> Result<u16, WebhookError> {
        let uri = check_url(url)?;
        let signature = sign(secret, &body);
        let mut wait = self.backoff;
        let mut last = WebhookError::Transport("not tried".into());
        for attempt in 1..=self.attempts.max(1) {
            let request = hyper::Request::post(uri.clone())
                .header("content-type", "application/json")
                .header(SIGNATURE_HEADER, &signature)
                .header(DELIVERY_HEADER, delivery)
                .body(Full::new(body.clone()))
                .map_err(|e| WebhookError::Transport(e.to_string()))?;
            match tokio::time::timeout(self.timeout, self.client.request(request)).await {
                Ok(Ok(response)) => {
                    let status = response.status().as_u16();
                    if response.status().is_success() {
                        return Ok(status);
                    }
                    last = WebhookError::Status(status);
                    if !(status == 429 || response.status().is_server_error()) {
                        return Err(last);
                    }
                }
                Ok(Err(e)) => last = WebhookError::Transport(e.to_string()),
                Err(_) => last = WebhookError::Transport("timed out".into()),
            }
            if attempt < self.attempts {
                warn!(url, attempt, error = %last, "webhook delivery failed; retrying");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Reads one HTTP/1.1 request (headers and a Content-Length body) and answers `status`.
    async fn serve_one(listener: &TcpListener, status: u16) -> (String, Vec<u8>) {
        let (mut conn, _) = listener.accept().await.expect("accept");
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let (head, body_start) = loop {
            let n = conn.read(&mut chunk).await.expect("read");
            assert!(n > 0, "connection closed before the headers ended");
            buf.extend_from_slice(&chunk[..n]);
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break (String::from_utf8_lossy(&buf[..i]).to_lowercase(), i + 4);
            }
        };
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("content-length");
        while buf.len() < body_start + length {
            let n = conn.read(&mut chunk).await.expect("read body");
            buf.extend_from_slice(&chunk[..n]);
        }
        let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        conn.write_all(reply.as_bytes()).await.expect("write");
        (head, buf[body_start..body_start + length].to_vec())
    }

    #[tokio::test]
    async fn retries_a_failing_receiver_and_signs_every_try() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let sender = WebhookSender { backoff: Duration::from_millis(10), ..WebhookSender::default() };
        let body = Bytes::from_static(br#"{"alert":"spike"}"#);
        let delivery = tokio::spawn({
            let sender = sender.clone();
            let body = body.clone();
            async move { sender.deliver(&url, "s3cret", "rule-1-100", body).await }
        });
        // HMAC-SHA256("s3cret", body), computed here independently of `sign`.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"s3cret").expect("key");
        mac.update(&body);
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        for status in [503, 200] {
            let (head, got) = serve_one(&listener, status).await;
            assert!(head.starts_with("post /hook "), "{head}");
            assert!(head.contains(&format!("{SIGNATURE_HEADER}: {expected}")), "{head}");
            assert!(head.contains(&format!("{DELIVERY_HEADER}: rule-1-100")));
            assert_eq!(got, body.to_vec());
        }
        assert_eq!(delivery.await.expect("join").expect("delivered"), 200);
    }

    #[tokio::test]
    async fn a_client_error_is_final_and_bad_urls_are_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/", listener.local_addr().expect("addr"));
        let sender = WebhookSender { backoff: Duration::from_millis(10), ..WebhookSender::default() };
        let delivery = tokio::spawn(async move { sender.deliver(&url, "k", "d", Bytes::from_static(b"{}")).await });
        serve_one(&listener, 400).await;
        assert!(matches!(delivery.await.expect("join"), Err(WebhookError::Status(400))));
        assert!(check_url("ftp://x/").is_err());
        assert!(check_url("https://x/").is_err());
        assert!(check_url("http://hooks.example:8080/a").is_ok());
    }
}
