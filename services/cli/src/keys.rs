//! `earshot keys …`: API keys and per-tenant settings, edited offline in `<data dir>/keys.json` (a
//! running server picks changes up on its next call); and the `serve` flags of access control,
//! governance, TLS and metrics.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use earshot_server::auth::keys::StoredKey;
use earshot_server::auth::{AuthMode, KeyStore, Role, TenantSettings};
use earshot_server::config::{GuardConfig, TlsFiles};

#[derive(Args, Debug)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub command: KeysCommand,
    /// Data folder of the server whose keys to manage.
    #[arg(long, env = "EARSHOT_DATA_DIR", default_value = "./earshot-data", global = true)]
    pub data_dir: PathBuf,
    /// Key store file, when the server reads one outside its data folder (`serve --keys-file`).
    #[arg(long, env = "EARSHOT_KEYS_FILE", global = true)]
    pub keys_file: Option<PathBuf>,
    /// Print JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create a key; the key is printed once and cannot be shown again.
    Create {
        /// Tenant the key acts for.
        #[arg(long)]
        tenant: String,
        /// Roles: admin, analyst, cmo, cio (repeat or separate with commas).
        #[arg(long = "role", required = true, value_delimiter = ',')]
        roles: Vec<Role>,
        /// A label, e.g. who uses the key.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List keys (never their secrets).
    List {
        /// Only this tenant's keys.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Revoke a key by id; a running server refuses it from its next call.
    Revoke {
        /// The key's id (the part after `esk_`, before the second `_`).
        id: String,
    },
    /// Set a tenant's retention and PII redaction (leave a flag out to keep its value).
    Tenant {
        /// The tenant.
        tenant: String,
        /// Delete its mentions created more than this many days ago (0: keep forever).
        #[arg(long)]
        retention_days: Option<u32>,
        /// Redact e-mail addresses and phone numbers in its texts at ingest.
        #[arg(long)]
        redact_pii: Option<bool>,
        /// The incident signal's problem words and phrases for this tenant, comma-separated
        /// ("störung,geht nicht,outage"); an empty value goes back to the defaults of every language.
        #[arg(long, value_delimiter = ',', num_args = 0..)]
        problem_terms: Option<Vec<String>>,
    },
}

#[derive(Args, Debug, Clone)]
pub struct GuardArgs {
    /// Authentication: `keys` (every RPC but health/reflection needs an API key; the tenant comes from
    /// the key) or `off` (single local user; the tenant comes from the x-earshot-tenant header).
    #[arg(long, env = "EARSHOT_AUTH", default_value = "off")]
    pub auth: AuthMode,
    /// Prometheus metrics listener (`GET /metrics`): an address (port 0 picks a free port, printed),
    /// `off`, or `auto` — the gRPC host on port 9090, or a free port when --listen has port 0.
    #[arg(long, env = "EARSHOT_METRICS_LISTEN", default_value = "auto")]
    pub metrics_listen: String,
    /// Delete mentions created more than this many days ago, for tenants without their own setting (0: keep).
    #[arg(long, env = "EARSHOT_RETENTION_DAYS", default_value_t = 0)]
    pub retention_days: u32,
    /// Replace e-mail addresses and phone numbers in texts at ingest, for tenants without their own setting.
    #[arg(long, env = "EARSHOT_REDACT_PII")]
    pub redact_pii: bool,
    /// Do not write the audit trail (<data dir>/audit/audit.jsonl).
    #[arg(long, env = "EARSHOT_NO_AUDIT")]
    pub no_audit: bool,
    /// PEM certificate chain: serve gRPC over TLS (with --tls-key).
    #[arg(long, env = "EARSHOT_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "EARSHOT_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Key store file (default: <data dir>/keys.json); replicas can share one, e.g. a mounted Secret.
    #[arg(long, env = "EARSHOT_KEYS_FILE")]
    pub keys_file: Option<PathBuf>,
}

impl GuardArgs {
    pub fn config(&self) -> GuardConfig {
        GuardConfig {
            auth: self.auth,
            audit: !self.no_audit,
            retention_days: self.retention_days,
            redact_pii: self.redact_pii,
            tls: match (&self.tls_cert, &self.tls_key) {
                (Some(cert), Some(key)) => Some(TlsFiles { cert: cert.clone(), key: key.clone() }),
                _ => None,
            },
            keys_file: self.keys_file.clone(),
        }
    }

    /// The metrics address for a server listening for gRPC on `grpc`, or `None` when disabled.
    pub fn metrics_addr(&self, grpc: SocketAddr) -> anyhow::Result<Option<SocketAddr>> {
        crate::listen::follow_grpc_port(&self.metrics_listen, grpc, 9090, "--metrics-listen")
    }
}

fn key_json(k: &StoredKey) -> serde_json::Value {
    serde_json::json!({
        "id": k.id,
        "name": k.name,
        "tenant": k.tenant,
        "roles": k.roles.iter().map(|r| r.name()).collect::<Vec<_>>(),
        "created": k.created,
        "revoked": k.revoked,
    })
}

fn print_key(k: &StoredKey) {
    let roles: Vec<&str> = k.roles.iter().map(|r| r.name()).collect();
    let state = if k.revoked.is_some() { "revoked" } else { "active" };
    println!("{}\t{}\t{}\t{}\t{}", k.id, k.tenant, roles.join(","), state, k.name);
}

/// Entry point of `earshot keys`.
pub fn run(args: KeysArgs) -> anyhow::Result<()> {
    let store = args.keys_file.clone().map_or_else(|| KeyStore::in_data_dir(&args.data_dir), KeyStore::at);
    match args.command {
        KeysCommand::Create { tenant, roles, name } => {
            let (key, secret) = store.create(&tenant, &roles, &name)?;
            if args.json {
                let mut v = key_json(&key);
                v["key"] = serde_json::Value::String(secret);
                println!("{v}");
            } else {
                eprintln!("created key {} for tenant {tenant}; it is shown only now:", key.id);
                println!("{secret}");
            }
        }
        KeysCommand::List { tenant } => {
            let keys = store.list(tenant.as_deref())?;
            if args.json {
                println!("{}", serde_json::Value::Array(keys.iter().map(key_json).collect()));
            } else {
                keys.iter().for_each(print_key);
            }
        }
        KeysCommand::Revoke { id } => {
            let key = store.revoke(&id)?;
            if args.json {
                println!("{}", key_json(&key));
            } else {
                eprintln!("revoked key {} of tenant {}", key.id, key.tenant);
            }
        }
        KeysCommand::Tenant { tenant, retention_days, redact_pii, problem_terms } => {
            let problem_terms =
                problem_terms.map(|t| t.into_iter().map(|w| w.trim().to_owned()).filter(|w| !w.is_empty()).collect());
            let settings = store.set_tenant(&tenant, TenantSettings { retention_days, redact_pii, problem_terms })?;
            println!(
                "{}",
                serde_json::json!({
                    "tenant": tenant,
                    "retention_days": settings.retention_days,
                    "redact_pii": settings.redact_pii,
                    "problem_terms": settings.problem_terms,
                })
            );
        }
    }
    Ok(())
}
