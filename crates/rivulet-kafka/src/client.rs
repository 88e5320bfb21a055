//! What every Kafka client of Rivulet shares: librdkafka's logs routed to `tracing`, and a
//! view of the connection that turns librdkafka's stream of error callbacks into two log
//! lines per outage ("unreachable", "reachable again") and a definite error when waiting
//! cannot help (authentication, fatal producer errors).
//!
//! ```text
//!  librdkafka threads ──error cb──▶ Link ──▶ warn once: "… is unreachable: <reason>"
//!                                    │  ▲
//!                                    │  └── a delivery / a fetched record: info once "reachable again"
//!                                    └──▶ definite(): authentication failed, fatal error → stops the pipeline
//! ```

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError as RdError, RDKafkaErrorCode};
use tracing::{debug, info, warn};

/// How long open()/connect() wait for the brokers to answer a metadata request: long enough
/// for a TLS + SASL handshake across regions, short enough that a typo shows up quickly.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The health of one client's connection to the cluster, as its callbacks report it.
pub(crate) struct Link {
    /// Which part of Rivulet this client serves ("sink", "source", "offsets store").
    role: &'static str,
    brokers: String,
    down: AtomicBool,
    /// The last connection problem librdkafka reported, for "cannot reach" messages.
    last_problem: Mutex<Option<String>>,
    /// A problem waiting cannot fix (bad credentials, a fatal producer error).
    definite: Mutex<Option<String>>,
    /// Other reports already logged: librdkafka repeats them (e.g. a missing topic at every
    /// metadata refresh).
    reported: Mutex<HashSet<String>>,
}

impl Link {
    pub(crate) fn new(role: &'static str, brokers: &str) -> Self {
        Link {
            role,
            brokers: brokers.to_string(),
            down: AtomicBool::new(false),
            last_problem: Mutex::new(None),
            definite: Mutex::new(None),
            reported: Mutex::new(HashSet::new()),
        }
    }

    pub(crate) fn brokers(&self) -> &str {
        &self.brokers
    }

    /// Called on every delivered or fetched record: cheap unless we were down.
    pub(crate) fn up(&self) {
        if self.down.load(Ordering::Relaxed) && self.down.swap(false, Ordering::Relaxed) {
            info!(brokers = %self.brokers, "Kafka {}: the brokers are reachable again", self.role);
        }
    }

    pub(crate) fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    pub(crate) fn last_problem(&self) -> Option<String> {
        self.last_problem.lock().ok().and_then(|p| p.clone())
    }

    /// A problem that stops the pipeline, if one was reported.
    pub(crate) fn definite(&self) -> Option<String> {
        self.definite.lock().ok().and_then(|p| p.clone())
    }

    fn set_definite(&self, message: String) {
        if let Ok(mut slot) = self.definite.lock()
            && slot.is_none()
        {
            warn!("Kafka {}: {message}", self.role);
            *slot = Some(message);
        }
    }

    /// Keeps the reason for a "cannot reach" message (a TLS mismatch, say, shows up as a
    /// disconnect during the handshake).
    fn remember(&self, reason: &str) {
        if let Ok(mut p) = self.last_problem.lock() {
            *p = Some(reason.to_string());
        }
    }

    fn went_down(&self, reason: &str) {
        self.remember(reason);
        if !self.down.swap(true, Ordering::Relaxed) {
            warn!(
                brokers = %self.brokers,
                "Kafka {}: the brokers are unreachable ({reason}); waiting for them, the pipeline pauses meanwhile",
                self.role
            );
        }
    }

    /// librdkafka's error callback. Connection problems are retried by librdkafka forever, so
    /// they only pause us; authentication problems never heal by waiting.
    pub(crate) fn on_error(&self, error: &RdError, reason: &str) {
        let Some(code) = error.rdkafka_error_code() else {
            debug!(role = self.role, "librdkafka error: {error}: {reason}");
            return;
        };
        match code {
            // A connection closed by the broker while idle is not an outage: librdkafka
            // reconnects when it needs to, and a failing reconnect reports itself.
            RDKafkaErrorCode::BrokerTransportFailure if reason.contains("Disconnected") => {
                self.remember(reason);
                debug!(role = self.role, "{reason}");
            }
            RDKafkaErrorCode::AllBrokersDown if !self.is_down() => debug!(role = self.role, "{reason}"),
            RDKafkaErrorCode::BrokerTransportFailure
            | RDKafkaErrorCode::AllBrokersDown
            | RDKafkaErrorCode::Resolve
            | RDKafkaErrorCode::SSL => self.went_down(reason),
            // Timeouts follow from an outage that is already reported, or heal by themselves.
            RDKafkaErrorCode::OperationTimedOut | RDKafkaErrorCode::RequestTimedOut => {
                debug!(role = self.role, "{reason}");
            }
            RDKafkaErrorCode::Authentication
            | RDKafkaErrorCode::SaslAuthenticationFailed
            | RDKafkaErrorCode::UnsupportedSASLMechanism
            | RDKafkaErrorCode::IllegalSASLState => self.set_definite(format!(
                "authentication with Kafka at {} failed: {reason}. Check security.protocol, sasl.mechanism, \
                 sasl.username and sasl.password in [{}.kafka.properties]",
                self.brokers,
                section_of(self.role)
            )),
            RDKafkaErrorCode::TopicAuthorizationFailed
            | RDKafkaErrorCode::ClusterAuthorizationFailed
            | RDKafkaErrorCode::GroupAuthorizationFailed
            | RDKafkaErrorCode::TransactionalIdAuthorizationFailed => self.set_definite(format!(
                "not authorized by Kafka at {}: {reason}. Grant the principal the ACLs it needs",
                self.brokers
            )),
            RDKafkaErrorCode::Fatal => self.set_definite(format!("fatal Kafka client error: {reason}")),
            _ => {
                if self
                    .reported
                    .lock()
                    .is_ok_and(|mut seen| seen.insert(reason.to_string()))
                {
                    warn!("Kafka {}: {reason}", self.role);
                }
            }
        }
    }
}

fn section_of(role: &str) -> &'static str {
    match role {
        "source" => "source",
        "offsets store" => "offsets",
        _ => "sink",
    }
}

/// librdkafka logs at debug level: what matters to a user reaches them once, through
/// [`Link::on_error`] and the errors it leads to, not as a line per reconnect attempt.
pub(crate) fn log(level: RDKafkaLogLevel, fac: &str, message: &str) {
    debug!(target: "librdkafka", ?level, "{fac} {message}");
}

/// The context of clients that need nothing beyond the shared behaviour (the offsets store,
/// admin clients, readers).
pub(crate) struct LinkContext(pub(crate) Arc<Link>);

impl ClientContext for LinkContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        log(level, fac, log_message);
    }

    fn error(&self, error: RdError, reason: &str) {
        self.0.on_error(&error, reason);
    }
}

/// Readers assign partitions themselves: no rebalance handling needed.
impl ConsumerContext for LinkContext {}

/// Why the brokers did not answer at start.
pub(crate) enum ConnectError {
    /// They answered, and refused us (authentication): waiting cannot help.
    Refused(String),
    /// They did not answer within [`CONNECT_TIMEOUT`].
    Unreachable(String),
}

impl ConnectError {
    pub(crate) fn message(self) -> String {
        match self {
            ConnectError::Refused(m) | ConnectError::Unreachable(m) => m,
        }
    }
}

/// Checks that the brokers answer a metadata request, so that a wrong address or bad
/// credentials stop the pipeline at start with one clear line, instead of pausing it at the
/// first checkpoint. `fetch` asks with a timeout; it blocks, so it runs off the async workers,
/// in short attempts so that a refusal is reported as soon as it is known.
pub(crate) async fn await_brokers<F>(link: &Link, fetch: F) -> Result<(), ConnectError>
where
    F: Fn(Duration) -> Result<(), RdError> + Send + Sync + 'static,
{
    let fetch = Arc::new(fetch);
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    loop {
        let attempt = Arc::clone(&fetch);
        let result = tokio::task::spawn_blocking(move || attempt(Duration::from_secs(1)))
            .await
            .map_err(|e| ConnectError::Unreachable(format!("Kafka metadata task failed: {e}")))?;
        let err = match result {
            Ok(()) => return Ok(()),
            Err(err) => err,
        };
        if let Some(definite) = link.definite() {
            return Err(ConnectError::Refused(definite));
        }
        if Instant::now() >= deadline {
            return Err(ConnectError::Unreachable(unreachable_message(link, &err)));
        }
    }
}

/// "cannot reach Kafka at …: …", with librdkafka's own reason when it gave one.
pub(crate) fn unreachable_message(link: &Link, err: &RdError) -> String {
    if let Some(definite) = link.definite() {
        return definite;
    }
    let problem = link.last_problem().unwrap_or_else(|| err.to_string());
    format!(
        "cannot reach Kafka at {}: {problem} (no answer within {}s; check brokers and security.protocol)",
        link.brokers(),
        CONNECT_TIMEOUT.as_secs()
    )
}
