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
use futures::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::classify::ClassifyDomain;
use crate::ingest::Ingestor;
use crate::search::SearchDomain;
use crate::topics::TopicStore;
use crate::validate::validate_tenant;

/// Metadata key naming the caller's tenant (until API keys carry it).
pub const TENANT_HEADER: &str = "x-earshot-tenant";
/// Tenant of calls that name none.
pub const DEFAULT_TENANT: &str = "default";

/// Batches of one ingest stream processed concurrently (their fsyncs are shared by group commit).
const STREAM_CONCURRENCY: usize = 8;

/// The caller's tenant.
pub(crate) fn tenant_of<T>(request: &Request<T>) -> String {
    request
        .metadata()
        .get(TENANT_HEADER)
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| DEFAULT_TENANT.to_owned(), str::to_owned)
}

fn response_of(results: Vec<IngestResult>, searchable: bool) -> IngestResponse {
    let count = |s: IngestStatus| results.iter().filter(|r| r.status == s as i32).count() as u32;
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
        let out = stream
            .map(move |item| {
                let ingestor = ingestor.clone();
                let tenant = tenant.clone();
                async move {
                    let req = item?;
                    let outcome = ingestor.ingest(&tenant, req.mentions, req.wait_searchable, true).await?;
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
    #[tracing::instrument(skip_all, fields(query = %request.get_ref().query))]
    async fn search(&self, request: Request<SearchRequest>) -> Result<Response<SearchResponse>, Status> {
        let tenant = tenant_of(&request);
        Ok(Response::new(self.0.search(tenant, request.into_inner()).await?))
    }

    #[tracing::instrument(skip_all, fields(query = %request.get_ref().query))]
    async fn count(&self, request: Request<CountRequest>) -> Result<Response<CountResponse>, Status> {
        let tenant = tenant_of(&request);
        let req = request.into_inner();
        let count = self.0.count(tenant, req.query, req.topic, req.time_range).await?;
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
