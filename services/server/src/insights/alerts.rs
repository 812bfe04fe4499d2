//! Alert rules per topic, the evaluator that turns spikes into alerts, and the bus that carries them.
//!
//! A rule watches a saved topic's volume (or negative volume) with spike settings. Each evaluation at
//! time `now` runs spike detection over the last day (so an event's hysteresis state is known) and
//! fires for a detected event that started within the last [`LOOKBACK_BUCKETS`] buckets and after the
//! rule's last fired event. An event's identity is its start bucket, so evaluating again while it lasts
//! never fires it twice; only after it calms below the release level can a new one open. The last fired
//! start is persisted, so a restart does not fire an event again either.
//!
//! Alerts go to the [`AlertBus`] (feeding `WatchAlerts`) and, when the rule has one, to its webhook.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use earshot_proto::v1::{Alert, AlertRule, SpikeSettings};
use futures::stream::BoxStream;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tracing::{info, warn};

use super::signals::{metric_label, spike_config, Filter};
use super::webhook::{check_url, WebhookSender};
use super::{persist_json, InsightsDomain, InsightsError, Scope};

/// How recent an event's start must be to fire (buckets before the current one).
pub const LOOKBACK_BUCKETS: i64 = 3;
/// Most rules per tenant.
pub const MAX_RULES: usize = 100;

/// Carries fired alerts to whoever watches. Local broadcast here; a shared implementation (e.g. Redis
/// pub/sub) lets every replica's watchers see every alert.
pub trait AlertBus: Send + Sync + 'static {
    /// Sends an alert to current subscribers (none is fine).
    fn publish(&self, alert: Alert);
    /// Alerts published from now on.
    fn subscribe(&self) -> BoxStream<'static, Alert>;
}

/// An in-process [`AlertBus`] on a Tokio broadcast channel; slow watchers skip what they missed.
pub struct LocalBus(broadcast::Sender<Alert>);

impl Default for LocalBus {
    fn default() -> Self {
        LocalBus(broadcast::channel(1024).0)
    }
}

impl AlertBus for LocalBus {
    fn publish(&self, alert: Alert) {
        let _ = self.0.send(alert);
    }

    fn subscribe(&self) -> BoxStream<'static, Alert> {
        let rx = self.0.subscribe();
        Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(a) => return Some((a, rx)),
                    Err(broadcast::error::RecvError::Lagged(n)) => warn!(missed = n, "alert watcher fell behind"),
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        }))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredRule {
    id: String,
    tenant: String,
    topic: String,
    metric: i32,
    settings: (u32, u32, f64, f64, u32),
    webhook_url: String,
    webhook_secret: String,
    enabled: bool,
    last_fired_start: i64,
    fired: u64,
    #[serde(default)]
    last_evaluated: i64,
}

impl StoredRule {
    fn to_proto(&self) -> AlertRule {
        let (bucket_seconds, baseline_days, threshold, release, min_count) = self.settings;
        AlertRule {
            id: self.id.clone(),
            topic: self.topic.clone(),
            metric: self.metric,
            settings: Some(SpikeSettings { bucket_seconds, baseline_days, threshold, release, min_count }),
            webhook_url: self.webhook_url.clone(),
            webhook_secret: String::new(),
            enabled: self.enabled,
            last_evaluated_at: (self.last_evaluated > 0)
                .then_some(prost_types::Timestamp { seconds: self.last_evaluated, nanos: 0 }),
            fired: self.fired,
        }
    }
}

#[derive(Default, Serialize, Deserialize)]
struct RuleFile {
    next_id: u64,
    rules: Vec<StoredRule>,
}

/// Alert rules of every tenant, persisted in `alerts.json`.
pub struct AlertRules {
    path: PathBuf,
    data: Mutex<RuleFile>,
}

impl AlertRules {
    /// Opens (or starts) the rules at `path`.
    pub fn open(path: &Path) -> Result<AlertRules, InsightsError> {
        let data = match std::fs::read(path) {
            Ok(b) => {
                serde_json::from_slice(&b).map_err(|e| InsightsError::Storage(format!("{}: {e}", path.display())))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => RuleFile::default(),
            Err(e) => return Err(InsightsError::Storage(format!("{}: {e}", path.display()))),
        };
        Ok(AlertRules { path: path.to_path_buf(), data: Mutex::new(data) })
    }

    /// Creates (empty id) or replaces a rule of `tenant` after checking it. Blocking (fsync).
    pub fn put(&self, domain: &InsightsDomain, tenant: &str, rule: AlertRule) -> Result<AlertRule, InsightsError> {
        InsightsDomain::check_tenant(tenant)?;
        domain.topic_query(tenant, &rule.topic, "topic")?;
        metric_label(rule.metric)?;
        let c = spike_config(rule.settings.as_ref())?;
        if !rule.webhook_url.is_empty() {
            check_url(&rule.webhook_url).map_err(|e| InsightsError::invalid("webhook_url", &e.to_string()))?;
            if rule.webhook_secret.len() < 16 {
                return Err(InsightsError::invalid(
                    "webhook_secret",
                    "must be at least 16 characters with a webhook_url",
                ));
            }
        }
        let mut data = self.data.lock();
        let mut stored = StoredRule {
            id: rule.id.clone(),
            tenant: tenant.to_owned(),
            topic: rule.topic.clone(),
            metric: rule.metric,
            settings: (c.bucket_secs as u32, c.baseline_days, c.threshold, c.release, c.min_count as u32),
            webhook_url: rule.webhook_url.clone(),
            webhook_secret: rule.webhook_secret.clone(),
            enabled: rule.enabled,
            last_fired_start: 0,
            fired: 0,
            last_evaluated: 0,
        };
        if rule.id.is_empty() {
            if data.rules.iter().filter(|r| r.tenant == tenant).count() >= MAX_RULES {
                return Err(InsightsError::invalid("id", &format!("a tenant has at most {MAX_RULES} rules")));
            }
            data.next_id += 1;
            stored.id = format!("r{}", data.next_id);
            data.rules.push(stored.clone());
        } else {
            let Some(old) = data.rules.iter_mut().find(|r| r.tenant == tenant && r.id == rule.id) else {
                return Err(InsightsError::NotFound(format!("no alert rule {:?}", rule.id)));
            };
            stored.last_fired_start = old.last_fired_start;
            stored.fired = old.fired;
            *old = stored.clone();
        }
        persist_json(&self.path, &*data)?;
        Ok(stored.to_proto())
    }

    /// The tenant's rules (secrets left out).
    pub fn list(&self, tenant: &str) -> Vec<AlertRule> {
        self.data.lock().rules.iter().filter(|r| r.tenant == tenant).map(StoredRule::to_proto).collect()
    }

    /// Deletes a rule; false when there was none. Blocking (fsync).
    pub fn delete(&self, tenant: &str, id: &str) -> Result<bool, InsightsError> {
        let mut data = self.data.lock();
        let before = data.rules.len();
        data.rules.retain(|r| !(r.tenant == tenant && r.id == id));
        let removed = data.rules.len() != before;
        if removed {
            persist_json(&self.path, &*data)?;
        }
        Ok(removed)
    }

    fn snapshot(&self) -> Vec<StoredRule> {
        self.data.lock().rules.iter().filter(|r| r.enabled).cloned().collect()
    }

    /// Records an evaluation; with `fired`, the event start that fired (persisted).
    fn record(&self, id: &str, tenant: &str, now: i64, fired: Option<i64>) -> Result<(), InsightsError> {
        let mut data = self.data.lock();
        let Some(r) = data.rules.iter_mut().find(|r| r.id == id && r.tenant == tenant) else { return Ok(()) };
        r.last_evaluated = now;
        if let Some(start) = fired {
            r.last_fired_start = r.last_fired_start.max(start);
            r.fired += 1;
            persist_json(&self.path, &*data)?;
        }
        Ok(())
    }
}

/// Evaluates rules and delivers what fires.
pub struct AlertEngine {
    domain: InsightsDomain,
    rules: Arc<AlertRules>,
    bus: Arc<dyn AlertBus>,
    webhooks: WebhookSender,
    runtime: Option<tokio::runtime::Handle>,
    active: Option<tokio::sync::watch::Receiver<bool>>,
}

impl AlertEngine {
    /// An engine; webhooks are sent on `runtime` (none: no webhook delivery).
    pub fn new(
        domain: InsightsDomain,
        rules: Arc<AlertRules>,
        bus: Arc<dyn AlertBus>,
        runtime: Option<tokio::runtime::Handle>,
    ) -> Self {
        AlertEngine { domain, rules, bus, webhooks: WebhookSender::default(), runtime, active: None }
    }

    /// Evaluates only while `active` is true (the replica holding the index owner lease: another
    /// replica's index is not fed, and two evaluators would fire every alert twice).
    pub fn only_while(mut self, active: Option<tokio::sync::watch::Receiver<bool>>) -> Self {
        self.active = active;
        self
    }

    /// Evaluates every enabled rule as of `now` (Unix seconds) and returns the alerts fired. Blocking.
    pub fn evaluate_at(&self, now: i64) -> Vec<Alert> {
        let mut fired = Vec::new();
        for rule in self.rules.snapshot() {
            match self.evaluate_rule(&rule, now) {
                Ok(Some(alert)) => fired.push(alert),
                Ok(None) => {}
                Err(e) => warn!(rule = rule.id, tenant = rule.tenant, error = %e, "alert rule evaluation failed"),
            }
        }
        fired
    }

    fn evaluate_rule(&self, rule: &StoredRule, now: i64) -> Result<Option<Alert>, InsightsError> {
        let proto = rule.to_proto();
        let config = spike_config(proto.settings.as_ref())?;
        let filter = match metric_label(rule.metric)? {
            Some(l) => Filter::Label(l),
            None => Filter::All,
        };
        let query = self.domain.topic_query(&rule.tenant, &rule.topic, "topic")?;
        let current = now.div_euclid(config.bucket_secs) * config.bucket_secs;
        let scope = Scope {
            tenant: rule.tenant.clone(),
            query,
            from: (current - 86_400).max(0),
            to: now + 1,
            noise: Default::default(),
        };
        let spikes = self.domain.spikes_blocking(&scope, &filter, &config)?;
        let earliest = current - LOOKBACK_BUCKETS * config.bucket_secs;
        let new = spikes.spikes.into_iter().find(|s| {
            let start = s.start.map_or(0, |t| t.seconds);
            start >= earliest && start > rule.last_fired_start
        });
        let Some(spike) = new else {
            self.rules.record(&rule.id, &rule.tenant, now, None)?;
            return Ok(None);
        };
        let start = spike.start.map_or(0, |t| t.seconds);
        let alert = Alert {
            id: format!("{}-{start}", rule.id),
            rule_id: rule.id.clone(),
            topic: rule.topic.clone(),
            metric: rule.metric,
            spike: Some(spike),
            fired_at: Some(prost_types::Timestamp { seconds: now, nanos: 0 }),
            tenant: rule.tenant.clone(),
        };
        self.rules.record(&rule.id, &rule.tenant, now, Some(start))?;
        info!(rule = rule.id, tenant = rule.tenant, start, "alert fired");
        self.bus.publish(alert.clone());
        self.send_webhook(rule, &alert);
        Ok(Some(alert))
    }

    fn send_webhook(&self, rule: &StoredRule, alert: &Alert) {
        let (Some(runtime), false) = (&self.runtime, rule.webhook_url.is_empty()) else { return };
        let body = bytes::Bytes::from(super::alert_json(alert).to_string());
        let (sender, url, secret, id) =
            (self.webhooks.clone(), rule.webhook_url.clone(), rule.webhook_secret.clone(), alert.id.clone());
        runtime.spawn(async move {
            if let Err(e) = sender.deliver(&url, &secret, &id, body).await {
                warn!(url, alert = id, error = %e, "webhook delivery gave up");
            }
        });
    }

    /// Runs [`Self::evaluate_at`] every `interval` on its own thread until `stop` is dropped.
    pub fn spawn(self: Arc<Self>, interval: Duration, stop: crossbeam_channel::Receiver<()>) {
        let spawned = std::thread::Builder::new().name("earshot-alerts".into()).spawn(move || loop {
            let now =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
            if self.active.as_ref().is_none_or(|a| *a.borrow()) {
                self.evaluate_at(now);
            }
            match stop.recv_timeout(interval) {
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                _ => return,
            }
        });
        if let Err(e) = spawned {
            warn!(error = %e, "could not start the alert evaluator");
        }
    }
}
