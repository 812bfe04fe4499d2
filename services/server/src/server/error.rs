//! Why the server could not start or stopped.

use crate::storage::StorageError;

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The storage (index, log, data folder lock) could not be opened.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The gRPC server failed.
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// Reflection could not be set up.
    #[error("reflection: {0}")]
    Reflection(String),
    /// The Redis settings are unusable.
    #[error("{0}")]
    Redis(String),
    /// A start-up task panicked.
    #[error("start-up task failed: {0}")]
    Join(String),
    /// Key store, audit trail or TLS files could not be set up.
    #[error("set-up: {0}")]
    Setup(String),
}
