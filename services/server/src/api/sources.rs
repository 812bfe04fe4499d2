//! `SourceService`: the tenant from the call, the request to the [`SourceDomain`], the answer as is
//! (the domain already leaves secrets out).

use std::sync::Arc;

use earshot_proto::v1::source_service_server::SourceService;
use earshot_proto::v1::{
    AddSourceRequest, ListSourcesRequest, ListSourcesResponse, PauseSourceRequest, RemoveSourceRequest,
    RemoveSourceResponse, ResumeSourceRequest, Source,
};
use tonic::{Request, Response, Status};

use super::tenant_of;
use crate::sources::SourceDomain;

/// gRPC face of [`SourceDomain`].
pub struct SourceApi(pub Arc<SourceDomain>);

#[tonic::async_trait]
impl SourceService for SourceApi {
    // The spec may carry a secret: never put the request in a span or a log line.
    async fn add_source(&self, request: Request<AddSourceRequest>) -> Result<Response<Source>, Status> {
        let tenant = tenant_of(&request);
        Ok(Response::new(self.0.add(&tenant, request.into_inner().spec)?))
    }

    async fn list_sources(
        &self,
        request: Request<ListSourcesRequest>,
    ) -> Result<Response<ListSourcesResponse>, Status> {
        let tenant = tenant_of(&request);
        Ok(Response::new(ListSourcesResponse { sources: self.0.list(&tenant)? }))
    }

    async fn pause_source(&self, request: Request<PauseSourceRequest>) -> Result<Response<Source>, Status> {
        let tenant = tenant_of(&request);
        Ok(Response::new(self.0.set_paused(&tenant, &request.into_inner().source, true).await?))
    }

    async fn resume_source(&self, request: Request<ResumeSourceRequest>) -> Result<Response<Source>, Status> {
        let tenant = tenant_of(&request);
        Ok(Response::new(self.0.set_paused(&tenant, &request.into_inner().source, false).await?))
    }

    async fn remove_source(
        &self,
        request: Request<RemoveSourceRequest>,
    ) -> Result<Response<RemoveSourceResponse>, Status> {
        let tenant = tenant_of(&request);
        let removed = self.0.remove(&tenant, &request.into_inner().source).await?;
        Ok(Response::new(RemoveSourceResponse { removed }))
    }
}
