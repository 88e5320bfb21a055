//! The pgoutput protocol and PostgreSQL text values.
