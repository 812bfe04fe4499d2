//! `IngestService`: the tenant from the call, the batch to the [`Ingestor`], the outcome counted and
//! converted. A stream's batches are stored in order, and none after one that failed.

use std::sync::Arc;

use earshot_proto::v1::ingest_service_server::IngestService;
use earshot_proto::v1::{IngestRequest, IngestResponse, IngestResult, IngestStatus};
use futures::StreamExt;
use tokio::sync::oneshot;
use tonic::{Request, Response, Status, Streaming};

use super::{tenant_of, ResponseStream};
use crate::ingest::{IngestError, Ingestor};
use crate::metrics;

/// Batches of one ingest stream processed concurrently (their fsyncs are shared by group commit).
const STREAM_CONCURRENCY: usize = 8;

fn response_of(results: Vec<IngestResult>, searchable: bool) -> IngestResponse {
    let count = |s: IngestStatus| results.iter().filter(|r| r.status == s as i32).count() as u32;
    let counts = [IngestStatus::Accepted, IngestStatus::Duplicate, IngestStatus::Rejected].map(|s| u64::from(count(s)));
    metrics::global().ingested(counts[0], counts[1], counts[2]);
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
                            return Err(Status::aborted(
                                "an earlier batch of this stream failed; this one was not stored",
                            ));
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
