//! `rivulet status`: what on-call wants to know first, from the three places that know it.
//!
//! ```text
//!  source (SQL)       pg_replication_slots ─▶ active?, confirmed LSN, restart LSN, retained WAL
//!  offsets store      last checkpoint      ─▶ position, commit time of the last event, when
//!  running process    [metrics] listen     ─▶ /health/ready (phase, lag), /metrics (events per table)
//!                                   └──▶ a short table, or one JSON object with --json
//! ```
//!
//! Each part is reported on its own: a stopped process or an unreachable server leaves the
//! other parts readable. The exit code is 1 when the source cannot be reached.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

use rivulet_postgres::ResolvedSource;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::{PipelineConfig, SourceConfig};

/// How long to wait for the running process's endpoint.
const HTTP_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Serialize)]
struct Report {
    pipeline: String,
    /// The running process, when `[metrics] listen` is set and it answers.
    process: ProcessReport,
    slot: Option<SlotReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_error: Option<String>,
    offsets: OffsetsReport,
    /// Seconds since the commit of the last delivered event: the process's own figure when it
    /// runs, else from the last checkpoint.
    lag_seconds: Option<f64>,
    /// (table → op → events) since the process started.
    events: BTreeMap<String, BTreeMap<String, u64>>,
}

#[derive(Debug, Serialize)]
struct ProcessReport {
    running: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    phase: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ready: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// Why nothing is known about the process.
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

#[derive(Debug, Serialize)]
struct SlotReport {
    name: String,
    exists: bool,
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    active_pid: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wal_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confirmed_flush_lsn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    restart_lsn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retained_wal_bytes: Option<i64>,
}

#[derive(Debug, Serialize)]
struct OffsetsReport {
    store: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<String>,
    /// Commit time of the last checkpointed event (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    last_event_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    checkpoint_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip)]
    last_event_us: Option<i64>,
}

pub async fn status(config: &PipelineConfig, json: bool) -> ExitCode {
    let offsets = offsets_report(config).await;
    let (slot, source_error) = slot_report(config).await;
    let (process, metrics_text) = process_report(config).await;
    let mut events: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut process_lag = None;
    if let Some(text) = &metrics_text {
        for sample in parse_samples(text) {
            match sample.name.as_str() {
                rivulet_metrics::names::EVENTS => {
                    let table = sample.label("table").unwrap_or("?").to_string();
                    let op = sample.label("op").unwrap_or("?").to_string();
                    events.entry(table).or_default().insert(op, sample.value as u64);
                }
                rivulet_metrics::names::LAG_SECONDS => process_lag = Some(sample.value),
                _ => {}
            }
        }
    }
    let lag_seconds = process_lag.or_else(|| {
        offsets
            .last_event_us
            .map(|t| (rivulet_metrics::health::now_us() - t).max(0) as f64 / 1e6)
    });
    let failed = source_error.is_some();
    let report = Report {
        pipeline: config.name.clone(),
        process,
        slot,
        source_error,
        offsets,
        lag_seconds,
        events,
    };
    print_report(&report, json);
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[allow(clippy::print_stdout)]
fn print_report(r: &Report, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
        );
        return;
    }
    let row = |k: &str, v: &str| println!("{k:<12} {v}");
    row("pipeline", &r.pipeline);
    let process = match (&r.process.phase, r.process.ready) {
        (Some(phase), Some(ready)) => {
            let mut s = format!("running, {phase} ({})", if ready { "ready" } else { "not ready" });
            if let Some(reason) = &r.process.reason {
                s.push_str(&format!(": {reason}"));
            }
            s
        }
        _ => format!(
            "not running{}",
            r.process
                .note
                .as_ref()
                .map_or(String::new(), |n| format!(" ({n})"))
        ),
    };
    row("process", &process);
    if let Some(s) = &r.slot {
        let slot = if !s.exists {
            format!("{} (does not exist)", s.name)
        } else {
            let active = match s.active_pid {
                Some(pid) => format!("active, pid {pid}"),
                None => "inactive".into(),
            };
            format!(
                "{} ({active}, wal_status {})",
                s.name,
                s.wal_status.as_deref().unwrap_or("?")
            )
        };
        row("slot", &slot);
        if s.exists {
            row("confirmed", s.confirmed_flush_lsn.as_deref().unwrap_or("-"));
            row(
                "retained",
                &s.retained_wal_bytes
                    .map_or_else(|| "-".into(), |b| human_bytes(b.max(0) as u64)),
            );
        }
    }
    if let Some(e) = &r.source_error {
        row("source", &format!("unreachable: {e}"));
    }
    let offsets = match (&r.offsets.position, &r.offsets.error) {
        (_, Some(e)) => format!("cannot read: {e}"),
        (Some(p), None) => format!(
            "{p} at {} ({})",
            r.offsets.checkpoint_time.as_deref().unwrap_or("?"),
            r.offsets.store
        ),
        (None, None) => format!("no checkpoint yet ({})", r.offsets.store),
    };
    row("checkpoint", &offsets);
    row("last event", r.offsets.last_event_time.as_deref().unwrap_or("-"));
    row(
        "lag",
        &r.lag_seconds.map_or_else(|| "-".into(), |l| format!("{l:.1} s")),
    );
    if !r.events.is_empty() {
        println!("events since the process started:");
        for (table, ops) in &r.events {
            let counts: Vec<String> = ops.iter().map(|(op, n)| format!("{op} {n}")).collect();
            println!("  {table:<40} {}", counts.join("  "));
        }
    }
}

fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

fn rfc3339_us(us: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_micros(u64::try_from(us).unwrap_or(0));
    humantime::format_rfc3339_millis(t).to_string()
}

async fn offsets_report(config: &PipelineConfig) -> OffsetsReport {
    let mut report = OffsetsReport {
        store: String::new(),
        position: None,
        last_event_time: None,
        checkpoint_time: None,
        error: None,
        last_event_us: None,
    };
    let store = match crate::pipeline::offset_store(config).await {
        Ok(s) => s,
        Err(e) => {
            report.error = Some(e.to_string());
            return report;
        }
    };
    report.store = store.describe();
    match store.load().await {
        // A start record (the JSONL file's length before the first event) is no checkpoint.
        Ok(Some(cp)) if crate::offsets::resume_position(&cp).is_none() => {}
        Ok(Some(cp)) => {
            report.position = Some(cp.position.lsn.to_string());
            report.last_event_us = cp.position.commit_time_us;
            report.last_event_time = cp.position.commit_time_us.map(rfc3339_us);
            report.checkpoint_time = Some(cp.updated_at);
        }
        Ok(None) => {}
        Err(e) => report.error = Some(e.to_string()),
    }
    report
}

async fn slot_report(config: &PipelineConfig) -> (Option<SlotReport>, Option<String>) {
    #[allow(irrefutable_let_patterns)]
    let SourceConfig::Postgres(source) = &config.source else {
        return (None, None);
    };
    let resolved = match ResolvedSource::new(source, &config.name) {
        Ok(r) => r,
        Err(e) => return (None, Some(e.to_string())),
    };
    match rivulet_postgres::current_slot(&resolved).await {
        Ok(Some(s)) => (
            Some(SlotReport {
                name: resolved.slot,
                exists: true,
                active: s.active_pid.is_some(),
                active_pid: s.active_pid,
                wal_status: s.wal_status,
                confirmed_flush_lsn: s.confirmed_flush.map(|l| l.to_string()),
                restart_lsn: s.restart_lsn.map(|l| l.to_string()),
                retained_wal_bytes: s.retained_bytes,
            }),
            None,
        ),
        Ok(None) => (
            Some(SlotReport {
                name: resolved.slot,
                exists: false,
                active: false,
                active_pid: None,
                wal_status: None,
                confirmed_flush_lsn: None,
                restart_lsn: None,
                retained_wal_bytes: None,
            }),
            None,
        ),
        Err(e) => (None, Some(e.to_string())),
    }
}

/// The running process's health and metrics text, when `[metrics] listen` is set and it answers.
async fn process_report(config: &PipelineConfig) -> (ProcessReport, Option<String>) {
    let mut report = ProcessReport {
        running: false,
        phase: None,
        ready: None,
        reason: None,
        note: None,
    };
    let Some(listen) = config.metrics.listen else {
        report.note = Some("no [metrics] listen in the pipeline file to ask".into());
        return (report, None);
    };
    let addr = reachable(listen);
    let health = match http_get(addr, "/health/ready").await {
        Ok(body) => body,
        Err(e) => {
            report.note = Some(format!("nothing answers on {addr}: {e}"));
            return (report, None);
        }
    };
    report.running = true;
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&health) {
        report.phase = v["phase"].as_str().map(str::to_string);
        report.ready = v["ready"].as_bool();
        report.reason = v["reason"].as_str().map(str::to_string);
    }
    let metrics = http_get(addr, "/metrics").await.ok();
    (report, metrics)
}

/// A wildcard listen address is reached through the loopback interface.
fn reachable(listen: SocketAddr) -> SocketAddr {
    let mut addr = listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            Ipv4Addr::LOCALHOST.into()
        } else {
            Ipv6Addr::LOCALHOST.into()
        });
    }
    addr
}

/// A plain HTTP/1.0 GET: the endpoint is ours and local, so no client library is needed.
async fn http_get(addr: SocketAddr, path: &str) -> Result<String, String> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .await
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&response).into_owned();
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| "not an HTTP response".to_string())?;
        let status_ok = head
            .split_whitespace()
            .nth(1)
            .is_some_and(|code| code == "200" || code == "503");
        if status_ok {
            Ok(body.to_string())
        } else {
            Err(format!(
                "unexpected answer: {}",
                head.lines().next().unwrap_or("")
            ))
        }
    };
    tokio::time::timeout(HTTP_TIMEOUT, exchange)
        .await
        .map_err(|_| "timed out".to_string())?
}

/// One line of Prometheus text: `name{label="value",…} value`.
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

impl Sample {
    fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn parse_samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(parse_sample)
        .collect()
}

fn parse_sample(line: &str) -> Option<Sample> {
    let (name, rest) = match line.find(['{', ' ']) {
        Some(i) => line.split_at(i),
        None => return None,
    };
    let mut labels = Vec::new();
    let value_text = if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices().peekable();
        let mut end = None;
        loop {
            // key
            let mut key = String::new();
            while let Some(&(i, c)) = chars.peek() {
                if c == '}' {
                    end = Some(i);
                    break;
                }
                chars.next();
                if c == '=' {
                    break;
                }
                if c != ',' {
                    key.push(c);
                }
            }
            if end.is_some() {
                break;
            }
            if chars.next().map(|(_, c)| c) != Some('"') {
                return None;
            }
            let mut value = String::new();
            loop {
                match chars.next()? {
                    (_, '\\') => match chars.next()? {
                        (_, 'n') => value.push('\n'),
                        (_, c) => value.push(c),
                    },
                    (_, '"') => break,
                    (_, c) => value.push(c),
                }
            }
            labels.push((key, value));
        }
        &inner[end? + 1..]
    } else {
        rest
    };
    let value = value_text.split_whitespace().next()?.parse().ok()?;
    Some(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_lines_with_escaped_labels() {
        let s =
            parse_sample(r#"rivulet_events_total{pipeline="shop",table="public.\"Odd, name\"",op="c"} 42"#)
                .unwrap();
        assert_eq!(s.name, "rivulet_events_total");
        assert_eq!(s.label("table"), Some("public.\"Odd, name\""));
        assert_eq!(s.label("op"), Some("c"));
        assert_eq!(s.value, 42.0);
        let s = parse_sample("rivulet_ready 1").unwrap();
        assert!(s.labels.is_empty());
        assert_eq!(s.value, 1.0);
        assert!(parse_sample("garbage").is_none());
    }

    #[test]
    fn sizes_for_people() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 << 20), "3.0 MB");
    }
}
