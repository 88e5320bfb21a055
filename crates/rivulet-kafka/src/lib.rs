//! Kafka for Rivulet.
