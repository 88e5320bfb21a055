//! Real pgoutput messages stored in `fixtures/pgoutput_v1.hex` (captured from PostgreSQL 15) decode
//! to exactly the changes `fixtures/pgoutput_v1.sql` made. Needs no server.

// Test helpers outside #[test] functions panic on purpose too.
#![allow(clippy::unwrap_used)]

mod expected_stream;
mod fixture;

#[test]
fn stored_real_messages_decode_to_the_scripted_changes() {
    expected_stream::assert_stream(&fixture::fixture_messages());
}
