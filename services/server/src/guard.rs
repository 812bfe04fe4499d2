//! Wires access control, audit, governance, metrics and TLS into [`crate::run`], so that `run` only
//! calls [`Guard::setup`] and uses what it returns.

use std::path::PathBuf;
use std::sync::Arc;

use earshot_proto::v1::governance_service_server::GovernanceServiceServer;
use tonic::transport::{Identity as TlsIdentity, Server, ServerTlsConfig};
use tracing::{info, warn};

use crate::audit::{AuditLog, AuditOptions};
use crate::auth::{AuthMode, GateLayer, KeyRegistry, KeyStore};
use crate::governance::grpc::GovernanceApi;
use crate::governance::retention::{spawn_retention_job, RetentionPolicy, RETENTION_EVERY};
use crate::governance::Governance;
use crate::redact::PiiPolicy;
use crate::{ServerError, Storage};

/// PEM files of the gRPC listener's certificate chain and private key.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain (PEM).
    pub cert: PathBuf,
    /// Private key (PEM).
    pub key: PathBuf,
}

/// Settings of access control and governance.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    /// How calls authenticate.
    pub auth: AuthMode,
    /// Write the audit trail under `<data dir>/audit`.
    pub audit: bool,
    /// Days mentions are kept when the tenant has no setting of its own; 0 keeps forever.
    pub retention_days: u32,
    /// Redact e-mail addresses and phone numbers at ingest for tenants without a setting of their own.
    pub redact_pii: bool,
    /// Serve gRPC over TLS.
    pub tls: Option<TlsFiles>,
    /// The key store's file, when not `<data dir>/keys.json` (replicas sharing one Secret).
    pub keys_file: Option<PathBuf>,
}

impl GuardConfig {
    /// The key store these settings name.
    pub fn key_store(&self, data_dir: &std::path::Path) -> KeyStore {
        self.keys_file.clone().map_or_else(|| KeyStore::in_data_dir(data_dir), KeyStore::at)
    }
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig { auth: AuthMode::Off, audit: true, retention_days: 0, redact_pii: false, tls: None, keys_file: None }
    }
}

/// What `run` needs from this side.
pub struct Guard {
    /// The gate in front of every service.
    pub layer: GateLayer,
    /// The governance domain (erasure, retention, deletion hooks); only where the index is.
    pub governance: Option<Arc<Governance>>,
    /// Redaction at ingest.
    pub pii: PiiPolicy,
    /// The key store, as the server sees it (also holds per-tenant settings).
    pub keys: Arc<KeyRegistry>,
    retention: Option<tokio::task::JoinHandle<()>>,
}

impl Guard {
    /// Opens the key store and audit trail, starts the retention job and exports storage metrics.
    pub fn setup(config: &crate::Config, storage: Option<&Storage>) -> Result<Guard, ServerError> {
        let g = &config.guard;
        let keys = Arc::new(
            KeyRegistry::open(g.key_store(&config.data_dir)).map_err(|e| ServerError::Setup(e.to_string()))?,
        );
        match g.auth {
            AuthMode::Off => warn!(
                "authentication is OFF (--auth off): every caller is an admin of the tenant it names in \
                 x-earshot-tenant. Use --auth keys anywhere but a single-user machine."
            ),
            AuthMode::Keys => info!(keys = %g.key_store(&config.data_dir).path().display(), "API keys required"),
        }
        let audit = if g.audit {
            let log = AuditLog::open(AuditOptions::in_data_dir(&config.data_dir))
                .map_err(|e| ServerError::Setup(format!("audit trail: {e}")))?;
            Some(Arc::new(log))
        } else {
            None
        };
        let layer = GateLayer::new(g.auth, Some(keys.clone()), audit);
        // Erasure and retention act on the index, so only the replica that owns it runs them.
        let governance = storage.map(|s| Arc::new(Governance::new(s)));
        let retention = governance.as_ref().map(|governance| {
            let policy = RetentionPolicy { default_days: g.retention_days, tenants: Some(keys.clone()) };
            spawn_retention_job(governance.clone(), policy, RETENTION_EVERY)
        });
        if let Some(s) = storage {
            crate::metrics::watch_indexer(s.indexer.clone());
        }
        let pii = PiiPolicy { default: g.redact_pii, tenants: Some(keys.clone()) };
        Ok(Guard { layer, governance, pii, keys, retention })
    }

    /// A server builder, with TLS when configured.
    pub fn server_builder(config: &crate::Config) -> Result<Server, ServerError> {
        let builder = Server::builder();
        let Some(tls) = &config.guard.tls else { return Ok(builder) };
        let read = |p: &PathBuf| std::fs::read(p).map_err(|e| ServerError::Setup(format!("{}: {e}", p.display())));
        let identity = TlsIdentity::from_pem(read(&tls.cert)?, read(&tls.key)?);
        info!(cert = %tls.cert.display(), "serving gRPC over TLS");
        Ok(builder.tls_config(ServerTlsConfig::new().identity(identity))?)
    }

    /// The `GovernanceService`, where the index is.
    pub fn governance_service(&self) -> Option<GovernanceServiceServer<GovernanceApi>> {
        self.governance.clone().map(|g| GovernanceServiceServer::new(GovernanceApi(g)))
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(retention) = &self.retention {
            retention.abort();
        }
    }
}
