//! Errors: configuration mistakes (found before anything runs) and record failures (a transform
//! that cannot process a record, as a Kafka Connect task would fail on it).

/// What went wrong, in one line that names the transform or property and says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransformError {
    /// A Kafka Connect transformation class Rivulet does not implement.
    #[error(
        "transforms.{alias}.type: {class} is not supported by Rivulet; supported: {supported} (see docs/TRANSFORMS.md)"
    )]
    UnsupportedTransform {
        alias: String,
        class: String,
        supported: String,
    },
    /// A Kafka Connect predicate class Rivulet does not implement.
    #[error("predicates.{alias}.type: {class} is not supported by Rivulet; {reason}")]
    UnsupportedPredicate {
        alias: String,
        class: String,
        reason: String,
    },
    /// A property Rivulet does not implement (or that cannot apply to it).
    #[error("{property}: not supported by Rivulet: {reason}")]
    UnsupportedProperty { property: String, reason: String },
    /// A property or setting with a value that cannot work.
    #[error("{property}: {reason}")]
    Invalid { property: String, reason: String },
    /// A required property or setting is missing.
    #[error("{property} is required: {reason}")]
    Missing { property: String, reason: String },
    /// A transform could not process a record (Kafka Connect would fail the task).
    #[error("transform '{transform}' failed on a record of topic '{topic}': {reason}")]
    Record {
        transform: String,
        topic: String,
        reason: String,
    },
}

impl TransformError {
    pub(crate) fn invalid(property: impl Into<String>, reason: impl Into<String>) -> Self {
        TransformError::Invalid {
            property: property.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn unsupported(property: impl Into<String>, reason: impl Into<String>) -> Self {
        TransformError::UnsupportedProperty {
            property: property.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn missing(property: impl Into<String>, reason: impl Into<String>) -> Self {
        TransformError::Missing {
            property: property.into(),
            reason: reason.into(),
        }
    }
}
