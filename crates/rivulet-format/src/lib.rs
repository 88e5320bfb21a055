//! Encodings of change events.
