//! What happens to a mention after the log made it durable: decode, then hand to the indexing thread
//! in log order. The indexing thread's commits then let the log truncate.

use crossbeam_channel::Sender;
use earshot_indexer::IndexCommand;
use earshot_proto::v1::Mention;
use earshot_wal::DurableBatch;
use prost::Message;
use tracing::error;

/// Decodes log records into mentions; undecodable records are logged and skipped.
pub fn decode_records(records: impl IntoIterator<Item = (u64, Vec<u8>)>) -> Vec<(u64, Mention)> {
    records
        .into_iter()
        .filter_map(|(position, bytes)| match Mention::decode(bytes.as_slice()) {
            Ok(m) => Some((position, m)),
            Err(e) => {
                error!(position, error = %e, "undecodable record in the write-ahead log, skipped");
                None
            }
        })
        .collect()
}

/// The log's sink: forwards each durable batch to the indexing thread, blocking while its queue is full.
pub fn index_sink(indexer: Sender<IndexCommand>) -> impl FnMut(DurableBatch) + Send + 'static {
    move |batch: DurableBatch| {
        let first = batch.first_position;
        let count = batch.records.len() as u64;
        let positioned = batch.records.into_iter().enumerate().map(|(i, r)| (first + i as u64, r));
        let mentions = decode_records(positioned).into_iter().map(|(_, m)| (m, String::new())).collect();
        let last_position = (count > 0).then(|| first + count - 1);
        if indexer.send(IndexCommand::Add { mentions, last_position }).is_err() {
            error!("indexing thread is gone; the write-ahead log keeps the records for the next start");
        }
    }
}
