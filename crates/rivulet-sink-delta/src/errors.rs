//! delta-rs errors as sink errors: transient when retrying can help (object store trouble,
//! a concurrent writer's conflicting commit), definite otherwise.

use deltalake::DeltaTableError;
use deltalake::kernel::transaction::TransactionError;
use rivulet_core::SinkError;

pub fn delta_error(context: &str, err: DeltaTableError) -> SinkError {
    let transient = match &err {
        DeltaTableError::ObjectStore { source } => !matches!(
            source,
            deltalake::ObjectStoreError::NotFound { .. }
                | deltalake::ObjectStoreError::PermissionDenied { .. }
                | deltalake::ObjectStoreError::Unauthenticated { .. }
                | deltalake::ObjectStoreError::NotSupported { .. }
        ),
        DeltaTableError::Io { .. } => false,
        DeltaTableError::VersionAlreadyExists(_) => true,
        DeltaTableError::Transaction { source } => matches!(
            source,
            TransactionError::VersionAlreadyExists(_)
                | TransactionError::CommitConflict(_)
                | TransactionError::MaxCommitAttempts(_)
                | TransactionError::ObjectStore { .. }
        ),
        _ => false,
    };
    let message = format!("{context}: {err}");
    let mut e = if transient {
        SinkError::transient(message)
    } else {
        SinkError::definite(message)
    };
    e.source = Some(Box::new(err));
    e
}
