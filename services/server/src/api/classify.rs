//! `ClassifyService`: the texts to the classify domain, the labels back.

use std::sync::Arc;

use earshot_proto::v1::classify_service_server::ClassifyService;
use earshot_proto::v1::{ClassifyRequest, ClassifyResponse};
use tonic::{Request, Response, Status};

use crate::classify::ClassifyDomain;

/// gRPC face of [`ClassifyDomain`].
pub struct ClassifyApi(pub Arc<ClassifyDomain>);

#[tonic::async_trait]
impl ClassifyService for ClassifyApi {
    #[tracing::instrument(skip_all, fields(items = request.get_ref().items.len()))]
    async fn classify(&self, request: Request<ClassifyRequest>) -> Result<Response<ClassifyResponse>, Status> {
        Ok(Response::new(self.0.classify(request.into_inner().items).await?))
    }
}
