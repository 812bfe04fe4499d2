//! Who is calling: API keys, the tenant and roles they carry, the audit trail of their calls and their
//! rate limits. The tower layers that apply these to every RPC are in `crate::api` (`gate`,
//! `rate_limit`).
//!
//! - [`keys`]: the key store (`keys.json` in the data folder): hashed keys, their tenant and roles, and
//!   per-tenant settings (retention, PII redaction). The CLI (`earshot keys …`) edits the file; the
//!   server re-reads it when it changes, so a revocation takes effect on the next call.
//! - [`roles`]: the one table of which roles may call which RPC.
//! - [`audit`]: the audit trail (one JSON line per call, rotated) and the note handlers add to it.
//! - [`ratelimit`]: per-caller rate limits (GCRA; shared through Redis when configured).
//!
//! In [`AuthMode::Off`] (single-user, local) no key is needed and every call acts as an admin of the
//! tenant named by the `x-earshot-tenant` header (default `default`). See `docs/adr/0003-api-keys.md`.

pub mod audit;
pub mod keys;
pub mod ratelimit;
pub mod roles;

use std::fmt;
use std::str::FromStr;

pub use keys::{KeyRegistry, KeyStore, KeyStoreError, TenantSettings};

/// How calls are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// No keys: one local user, tenant from the `x-earshot-tenant` header, every role. For development.
    #[default]
    Off,
    /// Every RPC except health and reflection needs an API key; the tenant comes from the key.
    Keys,
}

impl FromStr for AuthMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "off" => Ok(AuthMode::Off),
            "keys" => Ok(AuthMode::Keys),
            other => Err(format!("unknown auth mode {other:?} (expected off or keys)")),
        }
    }
}

/// A role a key can carry; [`roles`] says what each may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including governance (erase, keys) and unknown RPCs.
    Admin,
    /// Ingest, search, topics, classify, insights.
    Analyst,
    /// Chief marketing officer: read search, topics, insights and KPIs.
    Cmo,
    /// Chief information officer: read topics and KPIs.
    Cio,
}

impl Role {
    /// Every role, in a fixed order.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Analyst, Role::Cmo, Role::Cio];

    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Cmo => "cmo",
            Role::Cio => "cio",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown role {s:?} (expected admin, analyst, cmo or cio)"))
    }
}

/// The authenticated caller, put into every request's extensions by the gate (`crate::api::gate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Public id of the key (`anonymous` when auth is off).
    pub key_id: String,
    /// The tenant every call of this key acts for.
    pub tenant: String,
    /// The key's roles.
    pub roles: Vec<Role>,
}

impl Identity {
    /// Key id of calls made with auth off.
    pub const ANONYMOUS: &'static str = "anonymous";

    /// The identity of a call made with auth off: an admin of `tenant`.
    pub fn anonymous(tenant: String) -> Identity {
        Identity { key_id: Self::ANONYMOUS.to_owned(), tenant, roles: vec![Role::Admin] }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_modes_parse() {
        assert_eq!("CMO".parse::<Role>(), Ok(Role::Cmo));
        assert!("owner".parse::<Role>().is_err());
        assert_eq!("keys".parse::<AuthMode>(), Ok(AuthMode::Keys));
        assert!("on".parse::<AuthMode>().is_err());
    }
}
