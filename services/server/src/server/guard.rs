//! Wires access control, audit, governance, metrics and TLS into [`super::run`], so that `run` only
//! calls [`Guard::setup`] and uses what it returns.

use std::path::PathBuf;
use std::sync::Arc;

use earshot_proto::v1::governance_service_server::GovernanceServiceServer;
use tonic::transport::{Identity as TlsIdentity, Server, ServerTlsConfig};
use tracing::{info, warn};

use super::error::ServerError;
use crate::api::gate::GateLayer;
use crate::api::governance::GovernanceApi;
use crate::auth::audit::{AuditLog, AuditOptions};
use crate::auth::{AuthMode, KeyRegistry};
use crate::config::Config;
use crate::governance::retention::{spawn_retention_job, RetentionPolicy, RETENTION_EVERY};
use crate::governance::Governance;
use crate::ingest::redact::PiiPolicy;
use crate::storage::Storage;

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
    pub fn setup(config: &Config, storage: Option<&Storage>) -> Result<Guard, ServerError> {
        let g = &config.guard;
        let keys =
            Arc::new(KeyRegistry::open(g.key_store(&config.data_dir)).map_err(|e| ServerError::Setup(e.to_string()))?);
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
            let registry = keys.clone();
            let overrides = move || {
                let settings = registry.tenant_settings().into_iter();
                settings.filter_map(|(tenant, s)| s.retention_days.map(|d| (tenant, d))).collect()
            };
            let policy = RetentionPolicy { default_days: g.retention_days, tenants: Some(Arc::new(overrides)) };
            spawn_retention_job(governance.clone(), policy, RETENTION_EVERY)
        });
        if let Some(s) = storage {
            s.export_metrics();
        }
        let registry = keys.clone();
        let redaction = move |tenant: &str| registry.settings_of(tenant).redact_pii;
        let pii = PiiPolicy { default: g.redact_pii, tenants: Some(Arc::new(redaction)) };
        Ok(Guard { layer, governance, pii, keys, retention })
    }

    /// Each tenant's own incident vocabulary, read from the key store's tenant settings at every call
    /// (a change with `earshot keys tenant … --problem-terms` applies without a restart).
    pub fn problem_terms(&self) -> Option<crate::insights::vocab::TenantProblemTerms> {
        let registry = self.keys.clone();
        Some(Arc::new(move |tenant: &str| registry.settings_of(tenant).problem_terms))
    }

    /// A server builder, with TLS when configured.
    pub fn server_builder(config: &Config) -> Result<Server, ServerError> {
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
