//! Errors of the PostgreSQL source, split the way the runtime needs them: transient ones are
//! retried (the server restarted, the network blinked), definite ones stop the pipeline with a
//! message that says how to fix the cause.

use rivulet_pgwire::PgError;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Talking to the server failed; `PgError` knows whether that is transient.
    #[error(transparent)]
    Pg(#[from] PgError),
    /// The database is not set up the way streaming needs (wal_level, privileges, slot state,
    /// missing tables…). The message names the fix.
    #[error("{0}")]
    Setup(String),
    /// The server sent something we cannot decode: a bug on one side or the other, never
    /// retried blindly.
    #[error("cannot decode the replication stream at {lsn}: {message}")]
    Decode { lsn: rivulet_core::Lsn, message: String },
    /// Another process streams from the slot. Transient: after a lost connection the server
    /// may hold on to the old one for a while (until `wal_sender_timeout`).
    #[error("{0}")]
    SlotInUse(String),
    /// The database changed under a snapshot in a way its MVCC view does not show (a TRUNCATE
    /// or a table rewrite after it was taken). Transient: the snapshot resumes under a new one.
    #[error("{0}")]
    SnapshotOverrun(String),
}

impl SourceError {
    pub fn is_transient(&self) -> bool {
        match self {
            SourceError::Pg(e) => e.is_transient(),
            SourceError::SlotInUse(_) | SourceError::SnapshotOverrun(_) => true,
            SourceError::Setup(_) | SourceError::Decode { .. } => false,
        }
    }

    pub(crate) fn setup(message: impl Into<String>) -> Self {
        SourceError::Setup(message.into())
    }
}

impl From<tokio_postgres::Error> for SourceError {
    fn from(e: tokio_postgres::Error) -> Self {
        SourceError::Pg(PgError::from(e))
    }
}
