//! `SearchService` and `TopicService`: the tenant from the call, the request to the search domain or
//! the topic store, the answer converted; searches and counts note their query in the audit line.

use std::sync::Arc;

use earshot_indexer::query::query_digest;
use earshot_proto::v1::export_service_server::ExportService;
use earshot_proto::v1::search_service_server::SearchService;
use earshot_proto::v1::topic_service_server::TopicService;
use earshot_proto::v1::{
    CountRequest, CountResponse, CreateTopicRequest, DeleteTopicRequest, DeleteTopicResponse, ExportChunk,
    ExportRequest, GetTopicRequest, ListTopicsRequest, ListTopicsResponse, SearchRequest, SearchResponse, Topic,
    UpdateTopicRequest, ValidateRequest, ValidateResponse,
};
use futures::StreamExt;
use tonic::{Request, Response, Status};

use super::{tenant_of, ResponseStream};
use crate::auth::audit::AuditNote;
use crate::ingest::validate::validate_tenant;
use crate::search::topics::TopicStore;
use crate::search::SearchDomain;

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

    async fn delete_topic(
        &self,
        request: Request<DeleteTopicRequest>,
    ) -> Result<Response<DeleteTopicResponse>, Status> {
        let tenant = Self::tenant(&request)?;
        let deleted = self.0.delete(&tenant, &request.into_inner().topic)?;
        Ok(Response::new(DeleteTopicResponse { deleted }))
    }
}

/// gRPC face of the export side of [`SearchDomain`]: the chunks as a server stream.
pub struct ExportApi(pub Arc<SearchDomain>);

#[tonic::async_trait]
impl ExportService for ExportApi {
    type ExportStream = ResponseStream<ExportChunk>;

    #[tracing::instrument(skip_all, fields(query = %query_digest(&request.get_ref().query)))]
    async fn export(&self, request: Request<ExportRequest>) -> Result<Response<Self::ExportStream>, Status> {
        let tenant = tenant_of(&request);
        let audit = AuditNote::of(&request);
        let req = request.into_inner();
        audit.query(&req.query, &req.topic);
        let chunks = self.0.export(tenant, req).await?;
        let stream = tokio_stream::wrappers::ReceiverStream::new(chunks).map(|chunk| chunk.map_err(Status::from));
        Ok(Response::new(Box::pin(stream)))
    }
}
