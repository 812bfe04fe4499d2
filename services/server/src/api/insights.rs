//! Thin tonic adapters of the insights domain: `InsightsService` and `KpiService`.

use std::pin::Pin;
use std::sync::Arc;

use earshot_proto::v1::insights_service_server::InsightsService;
use earshot_proto::v1::kpi_service_server::KpiService;
use earshot_proto::v1::{
    Alert, AlertRule, CorrelateRequest, CorrelateResponse, DeleteAlertRuleRequest, DeleteAlertRuleResponse,
    DeleteKpiRequest, DeleteKpiResponse, GetKpiRequest, IncidentSignalRequest, IncidentSignalResponse,
    IngestKpiRequest, IngestKpiResponse, Kpi, KpiPoint, ListAlertRulesRequest, ListAlertRulesResponse, ListKpisRequest,
    ListKpisResponse, PerceptionGapRequest, PerceptionGapResponse, SentimentSummaryRequest, SentimentSummaryResponse,
    ShareOfVoiceRequest, ShareOfVoiceResponse, SpikesRequest, SpikesResponse, TopAuthorsRequest, TopAuthorsResponse,
    TrendingTermsRequest, TrendingTermsResponse, VolumeRequest, VolumeResponse, WatchAlertsRequest,
};
use futures::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use super::tenant_of;
use crate::insights::alerts::{AlertBus, AlertRules};
use crate::insights::cache::{request_key, ResultCache};
use crate::insights::kpi::KpiSeries;
use crate::insights::{seconds, InsightsDomain, InsightsError};
use crate::metrics;
use crate::search::topics::TopicStore;

/// gRPC face of [`InsightsDomain`] and the alert rules.
pub struct InsightsApi {
    /// The domain.
    pub domain: InsightsDomain,
    /// Alert rules.
    pub rules: Arc<AlertRules>,
    /// Where fired alerts appear.
    pub bus: Arc<dyn AlertBus>,
    /// Turns true when the server shuts down: open `WatchAlerts` streams end, so draining can finish.
    pub closing: tokio::sync::watch::Receiver<bool>,
    /// Results of the aggregations, per tenant + request (`None`: compute every time).
    pub cache: Option<Arc<dyn ResultCache>>,
    /// The topics, whose edits must not be hidden by cached results.
    pub topics: Arc<TopicStore>,
}

/// Results cached without an explicit period ("up to now") go stale with the clock, not only with
/// commits: the current minute is part of their key.
const NOW_BUCKET_SECS: u64 = 60;

impl InsightsApi {
    /// `compute(tenant, request)`, through the cache. The key holds the method, the encoded request, the
    /// tenant's topics and the current minute; the entry's generation moves with index commits and
    /// erasures, so a cached answer never outlives the data it was computed from.
    async fn cached<Q, R, Fut>(
        &self,
        method: &str,
        request: Request<Q>,
        compute: impl FnOnce(String, Q) -> Fut,
    ) -> Result<Response<R>, Status>
    where
        Q: prost::Message,
        R: prost::Message + Default,
        Fut: std::future::Future<Output = Result<R, InsightsError>>,
    {
        let tenant = tenant_of(&request);
        let request = request.into_inner();
        let Some(cache) = &self.cache else {
            return Ok(Response::new(compute(tenant, request).await?));
        };
        let minute = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
            / NOW_BUCKET_SECS;
        let mut key =
            format!("{method}\u{1f}{:016x}\u{1f}{minute}\u{1f}", self.topics.fingerprint(&tenant)).into_bytes();
        request.encode(&mut key).map_err(|e| Status::internal(e.to_string()))?;
        let key = request_key(&key);
        let found = cache.lookup(&tenant, &key).await;
        if let Some(response) = found.value.and_then(|bytes| R::decode(bytes.as_slice()).ok()) {
            metrics::global().cache("hit");
            return Ok(Response::new(response));
        }
        metrics::global().cache("miss");
        let response = compute(tenant.clone(), request).await?;
        cache.put(&tenant, &key, found.generation, response.encode_to_vec()).await;
        Ok(Response::new(response))
    }
}

type AlertStream = Pin<Box<dyn Stream<Item = Result<Alert, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl InsightsService for InsightsApi {
    async fn volume(&self, request: Request<VolumeRequest>) -> Result<Response<VolumeResponse>, Status> {
        let domain = &self.domain;
        self.cached("volume", request, |tenant, r| async move { domain.volume(&tenant, r).await }).await
    }

    async fn sentiment_summary(
        &self,
        request: Request<SentimentSummaryRequest>,
    ) -> Result<Response<SentimentSummaryResponse>, Status> {
        let domain = &self.domain;
        self.cached("sentiment_summary", request, |tenant, r| async move { domain.sentiment_summary(&tenant, r).await })
            .await
    }

    async fn share_of_voice(
        &self,
        request: Request<ShareOfVoiceRequest>,
    ) -> Result<Response<ShareOfVoiceResponse>, Status> {
        let domain = &self.domain;
        self.cached("share_of_voice", request, |tenant, r| async move { domain.share_of_voice(&tenant, r).await }).await
    }

    async fn top_authors(&self, request: Request<TopAuthorsRequest>) -> Result<Response<TopAuthorsResponse>, Status> {
        let domain = &self.domain;
        self.cached("top_authors", request, |tenant, r| async move { domain.top_authors(&tenant, r).await }).await
    }

    async fn trending_terms(
        &self,
        request: Request<TrendingTermsRequest>,
    ) -> Result<Response<TrendingTermsResponse>, Status> {
        let domain = &self.domain;
        self.cached("trending_terms", request, |tenant, r| async move { domain.trending_terms(&tenant, r).await }).await
    }

    async fn spikes(&self, request: Request<SpikesRequest>) -> Result<Response<SpikesResponse>, Status> {
        let domain = &self.domain;
        self.cached("spikes", request, |tenant, r| async move { domain.spikes(&tenant, r).await }).await
    }

    async fn incident_signal(
        &self,
        request: Request<IncidentSignalRequest>,
    ) -> Result<Response<IncidentSignalResponse>, Status> {
        let domain = &self.domain;
        self.cached("incident_signal", request, |tenant, r| async move { domain.incident_signal(&tenant, r).await })
            .await
    }

    async fn correlate(&self, request: Request<CorrelateRequest>) -> Result<Response<CorrelateResponse>, Status> {
        let tenant = tenant_of(&request);
        Ok(Response::new(self.domain.correlate(&tenant, request.into_inner()).await?))
    }

    async fn perception_gap(
        &self,
        request: Request<PerceptionGapRequest>,
    ) -> Result<Response<PerceptionGapResponse>, Status> {
        let tenant = tenant_of(&request);
        Ok(Response::new(self.domain.perception_gap(&tenant, request.into_inner()).await?))
    }

    async fn put_alert_rule(&self, request: Request<AlertRule>) -> Result<Response<AlertRule>, Status> {
        let tenant = tenant_of(&request);
        let rule = request.into_inner();
        let rules = self.rules.clone();
        let rule = self.domain.blocking(move |d| rules.put(&d, &tenant, rule)).await?;
        Ok(Response::new(rule))
    }

    async fn list_alert_rules(
        &self,
        request: Request<ListAlertRulesRequest>,
    ) -> Result<Response<ListAlertRulesResponse>, Status> {
        let tenant = tenant_of(&request);
        InsightsDomain::check_tenant(&tenant)?;
        Ok(Response::new(ListAlertRulesResponse { rules: self.rules.list(&tenant) }))
    }

    async fn delete_alert_rule(
        &self,
        request: Request<DeleteAlertRuleRequest>,
    ) -> Result<Response<DeleteAlertRuleResponse>, Status> {
        let tenant = tenant_of(&request);
        InsightsDomain::check_tenant(&tenant)?;
        let id = request.into_inner().id;
        let rules = self.rules.clone();
        let deleted = self.domain.blocking(move |_| rules.delete(&tenant, &id)).await?;
        Ok(Response::new(DeleteAlertRuleResponse { deleted }))
    }

    type WatchAlertsStream = AlertStream;

    async fn watch_alerts(&self, request: Request<WatchAlertsRequest>) -> Result<Response<AlertStream>, Status> {
        let tenant = tenant_of(&request);
        InsightsDomain::check_tenant(&tenant)?;
        let rule = request.into_inner().rule_id;
        let mut closing = self.closing.clone();
        let closed = async move {
            let _ = closing.wait_for(|c| *c).await;
        };
        let stream = self
            .bus
            .subscribe()
            .filter(move |a| futures::future::ready(a.tenant == tenant && (rule.is_empty() || a.rule_id == rule)))
            .take_until(closed)
            .map(Ok);
        Ok(Response::new(Box::pin(stream)))
    }
}

/// gRPC face of the KPI store.
pub struct KpiApi(pub InsightsDomain);

fn kpi_of(name: String, s: &KpiSeries, values: Vec<KpiPoint>) -> Kpi {
    let ts = |t: Option<(&i64, &f64)>| t.map(|(s, _)| prost_types::Timestamp { seconds: *s, nanos: 0 });
    Kpi {
        name,
        unit: s.unit.clone(),
        description: s.description.clone(),
        points: s.points.len() as u64,
        first: ts(s.points.iter().next()),
        last: ts(s.points.iter().next_back()),
        values,
    }
}

#[tonic::async_trait]
impl KpiService for KpiApi {
    async fn ingest_kpi(&self, request: Request<IngestKpiRequest>) -> Result<Response<IngestKpiResponse>, Status> {
        let tenant = tenant_of(&request);
        InsightsDomain::check_tenant(&tenant)?;
        let r = request.into_inner();
        let mut points = Vec::with_capacity(r.points.len());
        for (i, p) in r.points.iter().enumerate() {
            let at = seconds(&format!("points[{i}].at"), p.at.as_ref())?;
            points.push((at, p.value));
        }
        let accepted = points.len() as u32;
        let total =
            self.0.blocking(move |d| d.kpis().ingest(&tenant, &r.name, &r.unit, &r.description, &points)).await?;
        Ok(Response::new(IngestKpiResponse { accepted, total_points: total }))
    }

    async fn list_kpis(&self, request: Request<ListKpisRequest>) -> Result<Response<ListKpisResponse>, Status> {
        let tenant = tenant_of(&request);
        InsightsDomain::check_tenant(&tenant)?;
        let kpis = self.0.kpis().list(&tenant).into_iter().map(|(n, s)| kpi_of(n, &s, Vec::new())).collect();
        Ok(Response::new(ListKpisResponse { kpis }))
    }

    async fn get_kpi(&self, request: Request<GetKpiRequest>) -> Result<Response<Kpi>, Status> {
        let tenant = tenant_of(&request);
        InsightsDomain::check_tenant(&tenant)?;
        let r = request.into_inner();
        let s = self.0.kpis().get(&tenant, &r.name)?;
        let from = r.from.map_or(i64::MIN, |t| t.seconds);
        let to = r.to.map_or(i64::MAX, |t| t.seconds);
        if from >= to {
            return Err(InsightsError::invalid("to", "must be after from").into());
        }
        let values = s
            .points
            .range(from..to)
            .map(|(t, v)| KpiPoint { at: Some(prost_types::Timestamp { seconds: *t, nanos: 0 }), value: *v })
            .collect();
        Ok(Response::new(kpi_of(r.name, &s, values)))
    }

    async fn delete_kpi(&self, request: Request<DeleteKpiRequest>) -> Result<Response<DeleteKpiResponse>, Status> {
        let tenant = tenant_of(&request);
        InsightsDomain::check_tenant(&tenant)?;
        let name = request.into_inner().name;
        let deleted = self.0.blocking(move |d| d.kpis().delete(&tenant, &name)).await?;
        Ok(Response::new(DeleteKpiResponse { deleted }))
    }
}
