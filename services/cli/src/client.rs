//! What every client command shares: the server to call, the tenant and key it acts with, and how a gRPC
//! status reads as an error. A leaf: the command modules import it, it imports none of them.

use anyhow::Context;
use clap::Args;
use tonic::transport::{Channel, Endpoint};

/// Where a client command calls, and as whom.
#[derive(Args, Debug, Clone)]
pub struct ClientArgs {
    /// Server address.
    #[arg(long, env = "EARSHOT_SERVER", default_value = "http://127.0.0.1:50051")]
    pub server: String,
    /// Tenant to act for (only with a server run with --auth off; with keys the key decides).
    #[arg(long, env = "EARSHOT_TENANT", default_value = "default")]
    pub tenant: String,
    /// API key (`esk_…`), sent as `authorization: Bearer`.
    #[arg(long, env = "EARSHOT_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
}

impl ClientArgs {
    /// A request carrying the tenant header and, when given, the API key.
    pub fn request<T>(&self, message: T) -> anyhow::Result<tonic::Request<T>> {
        let mut request = tonic::Request::new(message);
        let metadata = request.metadata_mut();
        metadata
            .insert(earshot_proto::TENANT_HEADER, self.tenant.parse().context("tenant is not a valid header value")?);
        if let Some(key) = &self.api_key {
            metadata.insert(
                "authorization",
                format!("Bearer {key}").parse().context("API key is not a valid header value")?,
            );
        }
        Ok(request)
    }
}

impl ClientArgs {
    /// A connection to `--server`, for any of the service clients.
    pub async fn channel(&self) -> anyhow::Result<Channel> {
        let cannot = || format!("cannot reach earshot at {}", self.server);
        Endpoint::from_shared(self.server.clone()).with_context(cannot)?.connect().await.with_context(cannot)
    }
}

/// A gRPC status as the error a command prints: the code, then the server's message.
pub fn status_error(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{}: {}", status.code(), status.message())
}
