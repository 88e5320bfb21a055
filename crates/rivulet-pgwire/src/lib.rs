//! Talking to PostgreSQL: connection settings, TLS, authentication, ordinary SQL connections and
//! our own logical-replication protocol client.
//!
//! ```text
//!  ConnectionConfig ──▶ transport (TCP, SSLRequest, rustls) ──┬──▶ connect_sql ──▶ tokio_postgres::Client
//!                                                            └──▶ ReplicationConnection ──▶ ReplicationStream
//! ```
//!
//! Every connection, SQL or replication, goes through the same code for DNS, TCP, sslmode and
//! certificate checks, so both behave and fail alike. Errors are [`PgError`]s: one line each,
//! never with a password, and [`PgError::is_transient`] says whether reconnecting may help.

mod auth;
mod config;
mod error;
mod replication;
mod sql;
mod tls;
mod transport;
mod wire;

pub use config::{ConnectionConfig, SslMode};
pub use error::{PgError, ServerError};
pub use replication::{
    CreatedSlot, ReplicationConnection, ReplicationMessage, ReplicationStream, SESSION_SETTINGS,
    SlotSnapshot, SystemInfo,
};
pub use sql::{cancel_sql, connect_sql, quote_ident, quote_literal};
