//! Retention: mentions created more than N days ago are deleted, N per tenant (its setting in the key
//! store) or the server default (`--retention-days`; 0 keeps forever). A background job applies it
//! every [`RETENTION_EVERY`]; [`Governance::apply_retention`] takes "now" explicitly so tests need no
//! clock.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use earshot_indexer::doc::KEY_SEPARATOR;

use super::{DeletionReason, Governance, GovernanceError};

/// How often the background job runs.
pub const RETENTION_EVERY: Duration = Duration::from_secs(3600);
const DAY_SECS: i64 = 86_400;

/// The tenants with a retention of their own and its days, read afresh each round (e.g. from the key
/// store, whose settings change without a restart).
pub type TenantRetention = Arc<dyn Fn() -> Vec<(String, u32)> + Send + Sync>;

/// Which mentions expire.
#[derive(Clone, Default)]
pub struct RetentionPolicy {
    /// Days kept for tenants without a setting of their own; 0 keeps forever.
    pub default_days: u32,
    /// Per-tenant settings (`None`: the default applies to everyone).
    pub tenants: Option<TenantRetention>,
}

impl RetentionPolicy {
    /// `(tenants with a setting of their own and its days)`.
    fn overrides(&self) -> Vec<(String, u32)> {
        self.tenants.as_ref().map_or_else(Vec::new, |overrides| overrides())
    }

    /// Whether any rule can delete anything.
    pub fn is_active(&self) -> bool {
        self.default_days > 0 || self.overrides().iter().any(|(_, d)| *d > 0)
    }
}

impl Governance {
    /// Deletes every mention older than its tenant's retention at `now` (Unix seconds). Returns how
    /// many were deleted per tenant.
    pub async fn apply_retention(
        &self,
        policy: &RetentionPolicy,
        now: i64,
    ) -> Result<BTreeMap<String, u64>, GovernanceError> {
        let overrides = policy.overrides();
        let default_days = policy.default_days;
        let indexer = self.indexer.clone();
        let keys = tokio::task::spawn_blocking(move || {
            let mut keys = Vec::new();
            let cutoff = |days: u32| now - i64::from(days) * DAY_SECS;
            for (tenant, days) in overrides.iter().filter(|(_, d)| *d > 0) {
                keys.extend(indexer.keys_matching(&*indexer.created_before_query(Some(tenant), &[], cutoff(*days)))?);
            }
            if default_days > 0 {
                let except: Vec<String> = overrides.into_iter().map(|(t, _)| t).collect();
                keys.extend(indexer.keys_matching(&*indexer.created_before_query(
                    None,
                    &except,
                    cutoff(default_days),
                ))?);
            }
            Ok::<_, earshot_indexer::IndexError>(keys)
        })
        .await
        .map_err(|e| GovernanceError::Index(e.to_string()))?
        .map_err(|e| GovernanceError::Index(e.to_string()))?;
        let mut per_tenant = BTreeMap::new();
        for key in &keys {
            let tenant = key.split_once(KEY_SEPARATOR).map_or(key.as_str(), |(t, _)| t);
            *per_tenant.entry(tenant.to_owned()).or_insert(0u64) += 1;
        }
        self.delete_keys(keys, DeletionReason::Retention).await?;
        Ok(per_tenant)
    }
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Runs retention now and then every `every`, until the returned handle is aborted.
pub fn spawn_retention_job(
    governance: Arc<Governance>,
    policy: RetentionPolicy,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if !policy.is_active() {
                continue;
            }
            match governance.apply_retention(&policy, now_secs()).await {
                Ok(deleted) if !deleted.is_empty() => tracing::info!(?deleted, "retention applied"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "retention round failed; the next one retries"),
            }
        }
    })
}
