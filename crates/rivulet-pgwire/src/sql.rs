//! Ordinary SQL connections (tokio-postgres) that connect exactly like replication connections.
//!
//! We open the socket and negotiate TLS ourselves (see `transport`) and hand the finished stream
//! to tokio-postgres with `connect_raw`: tokio-postgres knows only sslmode disable/prefer/require
//! and hides the kind of its connect errors, while this way the sslmode semantics, the
//! certificate checks and the error messages are the same code as for replication.

use tokio_postgres::tls::NoTls;
use tokio_postgres::{CancelToken, Client};

use crate::replication::SESSION_SETTINGS;
use crate::{ConnectionConfig, PgError, ServerError, transport};

/// Quotes an identifier for SQL (`"Shop ""Mixed"""`): the one copy the source and the replica
/// sink share.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Quotes a string literal for SQL (standard strings: embedded quotes doubled, backslashes as
/// they are). The replication grammar reads literals the same way.
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Connects and logs in, and spawns the connection's driver task on the current tokio runtime.
/// The session has [`SESSION_SETTINGS`] in force, so text output matches the replication
/// stream's.
pub async fn connect_sql(cfg: &ConnectionConfig) -> Result<Client, PgError> {
    transport::with_connect_timeout(cfg, async {
        let stream = transport::open(cfg).await?;
        let (client, connection) = pg_config(cfg)
            .connect_raw(stream, NoTls)
            .await
            .map_err(|e| login_error(cfg, e))?;
        let server = cfg.redacted();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%server, error = %PgError::from(e), "SQL connection ended with an error");
            }
        });
        Ok(client)
    })
    .await
}

/// Cancels the query running on the connection that `token` belongs to (from
/// `Client::cancel_token`). Use this instead of `CancelToken::cancel_query`, which cannot know
/// how we connected.
pub async fn cancel_sql(cfg: &ConnectionConfig, token: &CancelToken) -> Result<(), PgError> {
    transport::with_connect_timeout(cfg, async {
        let stream = transport::open(cfg).await?;
        token.cancel_query_raw(stream, NoTls).await.map_err(PgError::from)
    })
    .await
}

fn pg_config(cfg: &ConnectionConfig) -> tokio_postgres::Config {
    let mut c = tokio_postgres::Config::new();
    c.user(&cfg.user)
        .dbname(&cfg.dbname)
        .application_name(&cfg.application_name)
        // TLS, if any, is already running underneath: tokio-postgres must not ask again.
        .ssl_mode(tokio_postgres::config::SslMode::Disable)
        .options(session_options());
    if let Some(password) = &cfg.password {
        c.password(password);
    }
    c
}

/// `-c DateStyle=ISO -c ...`: tokio-postgres passes no arbitrary startup parameters, but the
/// `options` parameter sets the same session settings.
fn session_options() -> String {
    SESSION_SETTINGS
        .iter()
        .map(|(name, value)| format!("-c {name}={value}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn login_error(cfg: &ConnectionConfig, e: tokio_postgres::Error) -> PgError {
    if let Some(db) = e.as_db_error() {
        let server = ServerError {
            severity: db.severity().to_string(),
            code: db.code().code().to_string(),
            message: db.message().to_string(),
            detail: db.detail().map(str::to_string),
            hint: db.hint().map(str::to_string),
        };
        return PgError::from_login_error(server, &cfg.user);
    }
    // tokio-postgres reports these two only as text (its error kinds are private).
    let text = e.to_string();
    let source = std::error::Error::source(&e)
        .map(ToString::to_string)
        .unwrap_or_default();
    if cfg.password.is_none() && (text.contains("password missing") || source.contains("password missing")) {
        return PgError::PasswordRequired {
            user: cfg.user.clone(),
            method: "password, md5 or scram-sha-256",
        };
    }
    if source.contains("unsupported authentication method") {
        return PgError::UnsupportedAuth {
            method: "Kerberos, GSSAPI, SSPI or SCM credential".to_string(),
        };
    }
    if source.contains("unsupported SASL mechanism") {
        return PgError::UnsupportedAuth {
            method: "a SASL mechanism other than SCRAM-SHA-256".to_string(),
        };
    }
    match PgError::from(e) {
        PgError::ConnectionClosed { .. } => PgError::ConnectionClosed {
            context: "logging in",
        },
        PgError::Io { kind, reason, .. } => PgError::Io {
            context: "logging in",
            kind,
            reason,
        },
        other => other,
    }
}
