//! What can go wrong talking to PostgreSQL, phrased for the person who has to fix it.
//!
//! Every message is one line that says what is wrong and what to do about it, and none contains
//! a password. [`PgError::is_transient`] tells a supervisor whether reconnecting may help.

use std::fmt;
use std::io;
use std::time::Duration;

use fallible_iterator::FallibleIterator;
use postgres_protocol::message::backend::ErrorFields;

use crate::SslMode;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgError {
    /// The connection settings are unusable (bad URL, unreadable sslrootcert, ...).
    #[error("invalid PostgreSQL connection settings: {0}")]
    Config(String),

    #[error(
        "cannot resolve the PostgreSQL host name \"{host}\": {reason} (check the host in the URL and DNS)"
    )]
    Resolve { host: String, reason: String },

    /// The TCP connection could not be made (refused, unreachable, ...).
    #[error("cannot connect to PostgreSQL at {target}: {}", describe_io(*kind, reason))]
    Connect {
        target: String,
        kind: io::ErrorKind,
        reason: String,
    },

    #[error(
        "timed out after {}s connecting to PostgreSQL at {target} (is the server up and reachable? \
         connect_timeout in the URL sets the limit)",
        timeout.as_secs_f32()
    )]
    ConnectTimeout { target: String, timeout: Duration },

    #[error(
        "PostgreSQL at {target} does not accept TLS connections but sslmode={sslmode} requires TLS: \
         set ssl = on on the server, or use sslmode=prefer or sslmode=disable"
    )]
    TlsNotSupported { target: String, sslmode: SslMode },

    #[error(
        "TLS certificate verification failed for host \"{host}\": {reason} (check sslrootcert and the \
         host name in the URL)"
    )]
    TlsVerify { host: String, reason: String },

    /// The TLS handshake failed for a reason other than the server's certificate.
    #[error("TLS handshake with PostgreSQL at {target} failed: {reason}")]
    Tls { target: String, reason: String },

    /// The server rejected our credentials (SQLSTATE class 28).
    #[error("{}: {}", one_line(message), auth_fix(code))]
    Auth {
        user: String,
        code: String,
        message: String,
    },

    #[error(
        "PostgreSQL asks for a password ({method}) for user \"{user}\" but none was given: put it in \
         the URL or set $PGPASSWORD"
    )]
    PasswordRequired { user: String, method: &'static str },

    #[error(
        "PostgreSQL asks for {method} authentication, which Rivulet does not support: allow \
         scram-sha-256, md5, password or trust for this user in the server's pg_hba.conf"
    )]
    UnsupportedAuth { method: String },

    /// The server reported an error (an ErrorResponse).
    #[error("{0}")]
    Server(Box<ServerError>),

    /// The server sent something the protocol does not allow at that point.
    #[error(
        "protocol violation: {0} (is this really a PostgreSQL server? if so, please report a Rivulet bug)"
    )]
    Protocol(String),

    #[error(
        "the PostgreSQL server closed the connection unexpectedly while {context} (it may have \
         restarted, crashed or terminated this session; reconnect)"
    )]
    ConnectionClosed { context: &'static str },

    /// Reading from or writing to an established connection failed.
    #[error("connection to PostgreSQL failed while {context}: {} (reconnect)", describe_io(*kind, reason))]
    Io {
        context: &'static str,
        kind: io::ErrorKind,
        reason: String,
    },

    /// A tokio-postgres error that is none of the above (e.g. a column type mismatch).
    #[error("PostgreSQL client error: {0}")]
    Client(String),
}

/// An ErrorResponse from the server, with the fields people act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerError {
    /// `ERROR`, `FATAL` or `PANIC` (not localized).
    pub severity: String,
    /// The SQLSTATE, e.g. `55006`.
    pub code: String,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (SQLSTATE {})", one_line(&self.message), self.code)?;
        if let Some(hint) = &self.hint {
            write!(f, "; hint: {}", one_line(hint))?;
        }
        Ok(())
    }
}

impl ServerError {
    /// Reads the fields of an ErrorResponse or NoticeResponse body.
    pub(crate) fn from_fields(mut fields: ErrorFields<'_>) -> Result<Self, PgError> {
        let mut e = ServerError {
            severity: String::new(),
            code: String::new(),
            message: String::new(),
            detail: None,
            hint: None,
        };
        let mut localized_severity = None;
        while let Some(field) = fields
            .next()
            .map_err(|err| PgError::Protocol(format!("malformed error response: {err}")))?
        {
            let value = String::from_utf8_lossy(field.value_bytes()).into_owned();
            match field.type_() {
                b'V' => e.severity = value,
                b'S' => localized_severity = Some(value),
                b'C' => e.code = value,
                b'M' => e.message = value,
                b'D' => e.detail = Some(value),
                b'H' => e.hint = Some(value),
                _ => {}
            }
        }
        if e.severity.is_empty() {
            // Servers before 9.6 send only the localized severity.
            e.severity = localized_severity.unwrap_or_default();
        }
        Ok(e)
    }
}

impl PgError {
    /// Whether retrying on a new connection may succeed: the network or the server had a
    /// hiccup, the server is starting up or shutting down, out of resources, or aborted the
    /// transaction for a serialization failure or deadlock. Bad settings, credentials,
    /// certificates and SQL are not transient.
    pub fn is_transient(&self) -> bool {
        match self {
            PgError::Resolve { .. }
            | PgError::Connect { .. }
            | PgError::ConnectTimeout { .. }
            | PgError::ConnectionClosed { .. }
            | PgError::Io { .. } => true,
            PgError::Server(e) => sqlstate_is_transient(&e.code),
            PgError::Config(_)
            | PgError::TlsNotSupported { .. }
            | PgError::TlsVerify { .. }
            | PgError::Tls { .. }
            | PgError::Auth { .. }
            | PgError::PasswordRequired { .. }
            | PgError::UnsupportedAuth { .. }
            | PgError::Protocol(_)
            | PgError::Client(_) => false,
        }
    }

    /// The SQLSTATE of an error the server reported.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            PgError::Server(e) => Some(&e.code),
            PgError::Auth { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The server's error, if this is one.
    pub fn server_error(&self) -> Option<&ServerError> {
        match self {
            PgError::Server(e) => Some(e),
            _ => None,
        }
    }

    /// Maps a failed read or write on an established connection.
    pub(crate) fn io(context: &'static str, e: &io::Error) -> PgError {
        match e.kind() {
            io::ErrorKind::UnexpectedEof => PgError::ConnectionClosed { context },
            kind => PgError::Io {
                context,
                kind,
                reason: e.to_string(),
            },
        }
    }

    /// Turns a server error during login into [`PgError::Auth`] when it is about credentials.
    pub(crate) fn from_login_error(e: ServerError, user: &str) -> PgError {
        if e.code.starts_with("28") {
            PgError::Auth {
                user: user.to_string(),
                code: e.code,
                message: e.message,
            }
        } else {
            PgError::Server(Box::new(e))
        }
    }
}

fn sqlstate_is_transient(code: &str) -> bool {
    // 08: connection exception; 53: insufficient resources; 57P01-03: admin/crash shutdown,
    // cannot connect now; 40001/40P01: serialization failure, deadlock.
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(code, "57P01" | "57P02" | "57P03" | "40001" | "40P01")
}

fn auth_fix(code: &str) -> &'static str {
    match code {
        "28P01" => "check the password in the URL or $PGPASSWORD",
        _ => "check the user name in the URL and the server's pg_hba.conf",
    }
}

/// Server messages occasionally span lines; our messages never do.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn describe_io(kind: io::ErrorKind, reason: &str) -> String {
    match kind {
        io::ErrorKind::ConnectionRefused => {
            "connection refused (is the server running and listening there?)".to_string()
        }
        io::ErrorKind::TimedOut => "timed out (is the host reachable? check firewalls)".to_string(),
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
            format!("{} (check the host name and the network)", one_line(reason))
        }
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe => {
            "the connection was reset (the server or something in between dropped it)".to_string()
        }
        _ => one_line(reason),
    }
}

impl From<tokio_postgres::Error> for PgError {
    /// For errors of an established tokio-postgres connection (query failures and the like).
    fn from(e: tokio_postgres::Error) -> Self {
        if let Some(db) = e.as_db_error() {
            return PgError::Server(Box::new(ServerError {
                severity: db.severity().to_string(),
                code: db.code().code().to_string(),
                message: db.message().to_string(),
                detail: db.detail().map(str::to_string),
                hint: db.hint().map(str::to_string),
            }));
        }
        if e.is_closed() {
            return PgError::ConnectionClosed {
                context: "running a query",
            };
        }
        if let Some(io) = std::error::Error::source(&e).and_then(|s| s.downcast_ref::<io::Error>()) {
            return PgError::io("running a query", io);
        }
        let text = match std::error::Error::source(&e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        };
        PgError::Client(one_line(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(code: &str, hint: Option<&str>) -> PgError {
        PgError::Server(Box::new(ServerError {
            severity: "ERROR".into(),
            code: code.into(),
            message: "replication slot \"s\" is active for PID 42".into(),
            detail: Some("some\ndetail".into()),
            hint: hint.map(str::to_string),
        }))
    }

    #[test]
    fn server_errors_show_message_sqlstate_and_hint() {
        assert_eq!(
            server("55006", None).to_string(),
            "replication slot \"s\" is active for PID 42 (SQLSTATE 55006)"
        );
        assert_eq!(
            server("55006", Some("Stop the\nother one.")).to_string(),
            "replication slot \"s\" is active for PID 42 (SQLSTATE 55006); hint: Stop the other one."
        );
        assert_eq!(server("55006", None).sqlstate(), Some("55006"));
    }

    #[test]
    fn classifies_transient_errors() {
        for code in [
            "08006", "08P01", "57P01", "57P02", "57P03", "53300", "53100", "40001", "40P01",
        ] {
            assert!(server(code, None).is_transient(), "{code}");
        }
        for code in ["42P01", "55006", "42704", "28P01", "57014", "XX000"] {
            assert!(!server(code, None).is_transient(), "{code}");
        }
        let refused = PgError::Connect {
            target: "127.0.0.1:5999".into(),
            kind: io::ErrorKind::ConnectionRefused,
            reason: "Connection refused (os error 111)".into(),
        };
        assert!(refused.is_transient());
        assert_eq!(
            refused.to_string(),
            "cannot connect to PostgreSQL at 127.0.0.1:5999: connection refused (is the server running and \
             listening there?)"
        );
        assert!(PgError::ConnectionClosed { context: "streaming" }.is_transient());
        assert!(!PgError::Config("x".into()).is_transient());
        assert!(
            !PgError::TlsVerify {
                host: "h".into(),
                reason: "r".into()
            }
            .is_transient()
        );
    }

    #[test]
    fn auth_errors_say_how_to_fix_them() {
        let e = PgError::from_login_error(
            ServerError {
                severity: "FATAL".into(),
                code: "28P01".into(),
                message: "password authentication failed for user \"bob\"".into(),
                detail: None,
                hint: None,
            },
            "bob",
        );
        assert_eq!(
            e.to_string(),
            "password authentication failed for user \"bob\": check the password in the URL or $PGPASSWORD"
        );
        assert!(!e.is_transient());
        assert_eq!(e.sqlstate(), Some("28P01"));
    }
}
