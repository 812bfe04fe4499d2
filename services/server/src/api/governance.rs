//! The `GovernanceService` adapter: tenant from the authenticated caller, then the domain.

use std::sync::Arc;

use earshot_proto::v1::governance_service_server::GovernanceService;
use earshot_proto::v1::{EraseAuthorRequest, EraseAuthorResponse, WhoAmIRequest, WhoAmIResponse};
use tonic::{Request, Response, Status};

use super::tenant_of;
use crate::auth::audit::AuditNote;
use crate::auth::Identity;
use crate::governance::Governance;

/// gRPC face of [`Governance`].
pub struct GovernanceApi(pub Arc<Governance>);

#[tonic::async_trait]
impl GovernanceService for GovernanceApi {
    async fn erase_author(
        &self,
        request: Request<EraseAuthorRequest>,
    ) -> Result<Response<EraseAuthorResponse>, Status> {
        let tenant = tenant_of(&request);
        let audit = AuditNote::of(&request);
        let r = request.into_inner();
        audit.set(|d| d.subject = Some(format!("author_id={:?} author_handle={:?}", r.author_id, r.author_handle)));
        let erased = self.0.erase_author(&tenant, &r.author_id, &r.author_handle).await?;
        audit.results(erased.ids.len() as u64);
        Ok(Response::new(EraseAuthorResponse { erased: erased.ids.len() as u64, mention_ids: erased.ids }))
    }

    async fn who_am_i(&self, request: Request<WhoAmIRequest>) -> Result<Response<WhoAmIResponse>, Status> {
        let who =
            request.extensions().get::<Identity>().cloned().unwrap_or_else(|| Identity::anonymous(tenant_of(&request)));
        Ok(Response::new(WhoAmIResponse {
            key_id: who.key_id,
            tenant: who.tenant,
            roles: who.roles.iter().map(|r| r.name().to_owned()).collect(),
        }))
    }
}
