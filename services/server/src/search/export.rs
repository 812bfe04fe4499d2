//! The export side of the search domain: every mention matching a query or topic, in chunks, from one
//! index snapshot, in the fixed order of [`earshot_indexer::export`], resumable from a cursor.
//!
//! The plan and the chunk reads are blocking: they run on a blocking thread that hands chunks over a
//! channel of two, so a slow client holds back the reads (bounded memory), and a client that goes away
//! stops them.

use earshot_indexer::export::ExportCursor;
use earshot_indexer::insights::{insight_query, Noise, MAX_SECS};
use earshot_proto::v1::{ExportChunk, ExportRequest};
use tokio::sync::mpsc;

use super::{time_bounds, SearchDomain, SearchError};
use crate::ingest::validate::validate_tenant;

/// Mentions per chunk when the request leaves it at 0, and the most it may ask for.
pub const DEFAULT_CHUNK: usize = 500;
/// Largest chunk.
pub const MAX_CHUNK: usize = 1000;

impl SearchDomain {
    /// Starts an export for `tenant`: checks the request, plans the matches on the current snapshot and
    /// streams them in chunks on the returned channel (an error ends it).
    pub async fn export(
        &self,
        tenant: String,
        req: ExportRequest,
    ) -> Result<mpsc::Receiver<Result<ExportChunk, SearchError>>, SearchError> {
        validate_tenant(&tenant).map_err(SearchError::InvalidTenant)?;
        let chunk = match req.chunk_size as usize {
            0 => DEFAULT_CHUNK,
            n if n > MAX_CHUNK => {
                return Err(SearchError::InvalidArgument {
                    field: "chunk_size",
                    reason: format!("must be at most {MAX_CHUNK}"),
                })
            }
            n => n,
        };
        let after = match req.cursor.as_str() {
            "" => None,
            text => Some(ExportCursor::decode(text).ok_or_else(|| SearchError::InvalidArgument {
                field: "cursor",
                reason: "not a cursor from an earlier export".into(),
            })?),
        };
        let (from, to) = time_bounds(req.time_range.as_ref())?;
        let noise = req.noise.map_or(Noise::default(), |n| Noise {
            exclude_reposts: n.exclude_reposts,
            exclude_quotes: n.exclude_quotes,
            exclude_near_duplicates: n.exclude_near_duplicates,
            exclude_spam: n.exclude_spam,
        });
        let text = self.query_text(&tenant, req.query, &req.topic)?;
        let this = self.clone();
        let plan = tokio::task::spawn_blocking(move || -> Result<_, SearchError> {
            let parsed = this.parse(&tenant, &text)?;
            let scoped = insight_query(
                this.indexer.fields(),
                &tenant,
                parsed,
                from.unwrap_or(-MAX_SECS),
                to.unwrap_or(MAX_SECS),
                noise,
            );
            Ok(this.indexer.export_plan(scoped.as_ref(), after)?)
        })
        .await
        .map_err(|e| SearchError::Index(e.to_string()))??;
        let (tx, rx) = mpsc::channel(2);
        let indexer = self.indexer.clone();
        tokio::task::spawn_blocking(move || {
            let mut plan = plan;
            let mut remaining = plan.remaining() as u64;
            loop {
                let next = plan.next_chunk(&indexer, chunk).map_err(SearchError::from);
                let message = match next {
                    Ok(Some((mentions, cursor))) => {
                        Ok(ExportChunk { mentions, cursor: cursor.encode(), remaining: std::mem::take(&mut remaining) })
                    }
                    Ok(None) => return,
                    Err(e) => Err(e),
                };
                let failed = message.is_err();
                // A closed channel is a client that went away: stop reading.
                if tx.blocking_send(message).is_err() || failed {
                    return;
                }
            }
        });
        Ok(rx)
    }
}
