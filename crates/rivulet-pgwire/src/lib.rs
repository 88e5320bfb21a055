//! Talking to PostgreSQL.
