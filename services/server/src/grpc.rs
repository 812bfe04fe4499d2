//! Thin tonic adapters: take the tenant from the call, unwrap the request, call the domain, convert.

use std::pin::Pin;
use std::sync::Arc;

use earshot_proto::v1::classify_service_server::ClassifyService;
use earshot_proto::v1::ingest_service_server::IngestService;
use earshot_proto::v1::search_service_server::SearchService;
use earshot_proto::v1::topic_service_server::TopicService;
use earshot_proto::v1::{
    ClassifyRequest, ClassifyResponse, CountRequest, CreateTopicRequest, DeleteTopicRequest,
    DeleteTopicResponse, GetTopicRequest, ListTopicsRequest, ListTopicsResponse, Topic, UpdateTopicRequest,
    ValidateRequest, ValidateResponse, CountResponse, IngestRequest, IngestResponse, IngestResult, IngestStatus, SearchRequest,
    SearchResponse,
};
use earshot_indexer::query::query_digest;
use futures::{Stream, StreamExt};
use tokio::sync::oneshot;
use tonic::{Request, Response, Status, Streaming};

use crate::audit::AuditNote;
use crate::classify::ClassifyDomain;
use crate::error::IngestError;
use crate::ingest::Ingestor;
use crate::search::SearchDomain;
use crate::topics::TopicStore;
use crate::validate::validate_tenant;

/// Metadata key naming the caller's tenant when the server runs with `--auth off` (ignored with keys).
pub const TENANT_HEADER: &str = crate::auth::layer::TENANT_HEADER;
/// Tenant of calls that name none when the server runs with `--auth off`.
pub const DEFAULT_TENANT: &str = crate::auth::layer::DEFAULT_TENANT;

/// Batches of one ingest stream processed concurrently (their fsyncs are shared by group commit).
const STREAM_CONCURRENCY: usize = 8;

/// The caller's tenant: that of the [`Identity`](crate::auth::Identity) the gate layer authenticated
/// (with `--auth off`, the `x-earshot-tenant` header's). Never read a tenant from the request itself.
pub fn tenant_of<T>(request: &Request<T>) -> String {
    request
        .extensions()
        .get::<crate::auth::Identity>()
        .map_or_else(|| DEFAULT_TENANT.to_owned(), |who| who.tenant.clone())
}

fn response_of(results: Vec<IngestResult>, searchable: bool) -> IngestResponse {
    let count = |s: IngestStatus| results.iter().filter(|r| r.status == s as i32).count() as u32;
    let counts = [IngestStatus::Accepted, IngestStatus::Duplicate, IngestStatus::Rejected].map(|s| u64::from(count(s)));
    crate::metrics::global().ingested(counts[0], counts[1], counts[2]);
    IngestResponse {
        accepted: count(IngestStatus::Accepted),
        duplicates: count(IngestStatus::Duplicate),
        rejected: count(IngestStatus::Rejected),
        results,
        searchable,
    }
}

/// gRPC face of [`Ingestor`].
pub struct IngestApi(pub Arc<Ingestor>);

type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl IngestService for IngestApi {
    #[tracing::instrument(skip_all, fields(mentions = request.get_ref().mentions.len()))]
    async fn ingest(&self, request: Request<IngestRequest>) -> Result<Response<IngestResponse>, Status> {
        let tenant = tenant_of(&request);
        let req = request.into_inner();
        let outcome = self.0.ingest(&tenant, req.mentions, req.wait_searchable, false).await?;
        Ok(Response::new(response_of(outcome.results, outcome.searchable)))
    }

    type IngestStreamStream = ResponseStream<IngestResponse>;

    async fn ingest_stream(
        &self,
        request: Request<Streaming<IngestRequest>>,
    ) -> Result<Response<Self::IngestStreamStream>, Status> {
        let tenant = tenant_of(&request);
        let ingestor = self.0.clone();
        let stream = request.into_inner();
        // Batches are stored in the order they were sent, and none after one that failed: the stream ends
        // with that failure, so anything stored after it would be stored but never acknowledged. Each
        // batch waits until the one before it is durable (or has failed); waiting until searchable still
        // overlaps, and group commit still shares fsyncs with other streams.
        let mut previous: Option<oneshot::Receiver<bool>> = None;
        let out = stream
            .map(move |item| {
                let ingestor = ingestor.clone();
                let tenant = tenant.clone();
                let (stored_tx, stored_rx) = oneshot::channel();
                let before = previous.replace(stored_rx);
                async move {
                    if let Some(before) = before {
                        if !before.await.unwrap_or(false) {
                            let _ = stored_tx.send(false);
                            return Err(Status::aborted("an earlier batch of this stream failed; this one was not stored"));
                        }
                    }
                    let stored = match item {
                        Ok(req) => ingestor.store(&tenant, req.mentions, true).await.map(|s| (s, req.wait_searchable)),
                        Err(status) => Err(IngestError::Stream(status)),
                    };
                    let (stored, wait_searchable) = match stored {
                        Ok(ok) => ok,
                        Err(e) => {
                            let _ = stored_tx.send(false);
                            return Err(e.into());
                        }
                    };
                    let _ = stored_tx.send(true);
                    let outcome = ingestor.finish(stored, wait_searchable).await;
                    Ok(response_of(outcome.results, outcome.searchable))
                }
            })
            .buffered(STREAM_CONCURRENCY);
        Ok(Response::new(Box::pin(out)))
    }
}

/// gRPC face of [`SearchDomain`].
pub struct SearchApi(pub Arc<SearchDomain>);

#[tonic::async_trait]
impl SearchService for SearchApi {
    #[tracing::instrument(skip_all, fields(query = %query_digest(&request.get_ref().query)))]
    async fn search(&self, request: Request<SearchRequest>) -> Result<Response<SearchResponse>, Status> {
        let tenant = tenant_of(&request);
        let audit = AuditNote::of(&request);
        audit.query(&request.get_ref().query, &request.get_ref().topic);
        let response = self.0.search(tenant, request.into_inner()).await?;
        audit.results(response.total);
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(query = %query_digest(&request.get_ref().query)))]
    async fn count(&self, request: Request<CountRequest>) -> Result<Response<CountResponse>, Status> {
        let tenant = tenant_of(&request);
        let audit = AuditNote::of(&request);
        let req = request.into_inner();
        audit.query(&req.query, &req.topic);
        let count = self.0.count(tenant, req.query, req.topic, req.time_range).await?;
        audit.results(count);
        Ok(Response::new(CountResponse { count }))
    }

    async fn validate(&self, request: Request<ValidateRequest>) -> Result<Response<ValidateResponse>, Status> {
        let tenant = tenant_of(&request);
        Ok(Response::new(self.0.validate(&tenant, &request.into_inner().query)?))
    }
}

/// gRPC face of [`ClassifyDomain`].
pub struct ClassifyApi(pub Arc<ClassifyDomain>);

#[tonic::async_trait]
impl ClassifyService for ClassifyApi {
    #[tracing::instrument(skip_all, fields(items = request.get_ref().items.len()))]
    async fn classify(&self, request: Request<ClassifyRequest>) -> Result<Response<ClassifyResponse>, Status> {
        Ok(Response::new(self.0.classify(request.into_inner().items).await?))
    }
}

/// gRPC face of [`TopicStore`].
pub struct TopicApi(pub Arc<TopicStore>);

impl TopicApi {
    fn tenant<T>(request: &Request<T>) -> Result<String, Status> {
        let tenant = tenant_of(request);
        validate_tenant(&tenant).map_err(|reason| Status::invalid_argument(format!("invalid tenant: {reason}")))?;
        Ok(tenant)
    }
}

#[tonic::async_trait]
impl TopicService for TopicApi {
    async fn create_topic(&self, request: Request<CreateTopicRequest>) -> Result<Response<Topic>, Status> {
        let tenant = Self::tenant(&request)?;
        let r = request.into_inner();
        Ok(Response::new(self.0.create(&tenant, &r.name, &r.query, &r.description)?))
    }

    async fn get_topic(&self, request: Request<GetTopicRequest>) -> Result<Response<Topic>, Status> {
        let tenant = Self::tenant(&request)?;
        Ok(Response::new(self.0.get(&tenant, &request.into_inner().topic)?))
    }

    async fn list_topics(&self, request: Request<ListTopicsRequest>) -> Result<Response<ListTopicsResponse>, Status> {
        let tenant = Self::tenant(&request)?;
        Ok(Response::new(ListTopicsResponse { topics: self.0.list(&tenant) }))
    }

    async fn update_topic(&self, request: Request<UpdateTopicRequest>) -> Result<Response<Topic>, Status> {
        let tenant = Self::tenant(&request)?;
        let r = request.into_inner();
        Ok(Response::new(self.0.update(&tenant, &r.topic, &r.name, &r.query, &r.description)?))
    }

    async fn delete_topic(&self, request: Request<DeleteTopicRequest>) -> Result<Response<DeleteTopicResponse>, Status> {
        let tenant = Self::tenant(&request)?;
        let deleted = self.0.delete(&tenant, &request.into_inner().topic)?;
        Ok(Response::new(DeleteTopicResponse { deleted }))
    }
}
