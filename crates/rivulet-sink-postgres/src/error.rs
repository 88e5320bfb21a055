//! Target database failures as [`SinkError`]s: one line, what went wrong and what to do, the
//! SQLSTATE and the server's detail (which names the offending key of a constraint violation),
//! never a password.

use rivulet_core::{ErrorKind, SinkError};
use rivulet_pgwire::PgError;

pub type SinkResult<T> = Result<T, SinkError>;

pub fn definite(message: impl Into<String>) -> SinkError {
    SinkError::definite(message)
}

/// A failure of a statement or of the connection while doing `context`.
pub fn query_error(context: &str, e: tokio_postgres::Error) -> SinkError {
    pg_error(context, PgError::from(e))
}

pub fn pg_error(context: &str, e: PgError) -> SinkError {
    let mut message = format!("{context}: {e}");
    if let Some(server) = e.server_error() {
        if let Some(detail) = &server.detail {
            message.push_str("; ");
            message.push_str(&one_line(detail));
        }
        if let Some(fix) = fix_for(&server.code) {
            message.push_str(" (");
            message.push_str(fix);
            message.push(')');
        }
    }
    SinkError {
        kind: if e.is_transient() {
            ErrorKind::Transient
        } else {
            ErrorKind::Definite
        },
        message,
        source: Some(Box::new(e)),
    }
}

/// What a person can do about the SQLSTATEs a replica sink runs into.
fn fix_for(code: &str) -> Option<&'static str> {
    Some(match code {
        "42501" => {
            "grant the target user CREATE on the target schema and SELECT, INSERT, UPDATE, DELETE, TRUNCATE on the \
             target tables, or let a user that has them run the sink"
        }
        c if c.starts_with("23") => {
            "the target table has a constraint the source does not: the row above violates it. Drop or relax the \
             constraint at the target, then restart; nothing after the last applied batch was acknowledged"
        }
        "3D000" => "create the target database first",
        _ => return None,
    })
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
