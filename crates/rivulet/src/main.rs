//! `rivulet`: the command line. Parses arguments, sets up logging and signals, and maps
//! outcomes to exit codes (0 done, 1 runtime failure, 2 bad configuration or usage).
//!
//! ```text
//!  rivulet run   --config F ─▶ config::load ─▶ pipeline::run ─▶ summary, exit 0 on SIGINT/SIGTERM
//!  rivulet check --config F ─▶ config::load ─▶ rivulet_postgres::check ─▶ findings, exit 1 if blocked
//!  rivulet status --config F ─▶ slot + offsets + the running process's /metrics ─▶ table or JSON
//! ```
//!
//! With `[metrics] listen`, `run` serves `/metrics` and `/health/*` (rivulet-metrics) from
//! before the source connects until the process exits.

mod config;
mod debezium_config;
#[cfg(feature = "delta")]
mod delta_cmd;
mod offsets;
mod pipeline;
mod status;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rivulet_core::Lsn;
use rivulet_core::SourceEnd as StreamEnd;
use rivulet_postgres::ResolvedSource;
use rivulet_postgres::check::Level;
use tokio::sync::watch;
use tracing::{error, info, warn};

use crate::config::{PipelineConfig, SourceConfig};

#[derive(Parser)]
#[command(
    name = "rivulet",
    version,
    about = "Change data capture in one binary: PostgreSQL changes as Debezium events"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log filter (also RUST_LOG), e.g. `debug` or `rivulet=debug,info`.
    #[arg(long, global = true, default_value = "info", env = "RIVULET_LOG")]
    log: String,
    /// Log lines for people (`human`, colours on a terminal) or one JSON object per line
    /// (`json`, for log collectors).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human, env = "RIVULET_LOG_FORMAT")]
    log_format: LogFormat,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run a pipeline until SIGINT/SIGTERM (or --endpos), then checkpoint and exit 0.
    Run {
        #[command(flatten)]
        pipeline: PipelineArgs,
        /// Stop after delivering every transaction that commits before this WAL position (X/Y).
        #[arg(long, value_name = "LSN")]
        endpos: Option<Lsn>,
    },
    /// Check that the database is ready for the pipeline; report each problem with its fix.
    Check {
        #[command(flatten)]
        pipeline: PipelineArgs,
    },
    /// Show the pipeline's state: slot, confirmed position, retained WAL, lag, last event,
    /// events per table (from a running process's [metrics] endpoint).
    Status {
        #[command(flatten)]
        pipeline: PipelineArgs,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Delta Lake housekeeping for a `[sink] type = "delta"` pipeline: optimize, vacuum.
    #[cfg(feature = "delta")]
    Delta {
        #[command(subcommand)]
        action: delta_cmd::DeltaAction,
    },
}

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("pipeline").required(true).args(["config", "debezium"])))]
struct PipelineArgs {
    /// The pipeline file (TOML).
    #[arg(long, short = 'c', value_name = "FILE")]
    config: Option<PathBuf>,
    /// A Debezium PostgreSQL connector configuration (Kafka Connect JSON or .properties) to
    /// run as it is. See docs/DEBEZIUM.md.
    #[arg(long, value_name = "FILE")]
    debezium: Option<PathBuf>,
    /// With --config: override a setting, `section.key=value`. With --debezium: override a
    /// connector property, `property=value`. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// With --debezium: write the JSONL line format to PATH instead of producing to Kafka.
    #[arg(long, value_name = "PATH", requires = "debezium")]
    jsonl: Option<PathBuf>,
    /// With --debezium: a TOML file with the `[sink]` section to deliver to.
    #[arg(long, value_name = "FILE", requires = "debezium")]
    sink_config: Option<PathBuf>,
}

impl PipelineArgs {
    fn load(&self) -> Result<PipelineConfig, ExitCode> {
        let loaded = match (&self.config, &self.debezium) {
            (Some(path), _) => config::load(path, &self.set),
            (None, Some(path)) => debezium_config::load(&debezium_config::DebeziumArgs {
                path,
                overrides: &self.set,
                jsonl: self.jsonl.as_deref(),
                sink_config: self.sink_config.as_deref(),
            })
            .map(|t| {
                for w in &t.warnings {
                    warn!("{w}");
                }
                t.config
            }),
            (None, None) => unreachable!("clap requires --config or --debezium"),
        };
        loaded.map_err(|e| {
            fail(&e.to_string());
            ExitCode::from(2)
        })
    }
}

#[allow(clippy::print_stderr)]
fn fail(message: &str) {
    eprintln!("error: {message}");
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| cli.log.clone());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_target(false);
    match cli.log_format {
        LogFormat::Human => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            fail(&format!("cannot start the async runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        match cli.command {
            Command::Run { pipeline, endpos } => run(pipeline, endpos).await,
            Command::Check { pipeline } => check(pipeline).await,
            Command::Status { pipeline, json } => match pipeline.load() {
                Ok(config) => status::status(&config, json).await,
                Err(code) => code,
            },
            #[cfg(feature = "delta")]
            Command::Delta { action } => delta_cmd::run(action).await,
        }
    })
}

async fn run(args: PipelineArgs, endpos: Option<Lsn>) -> ExitCode {
    let config = match args.load() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    tokio::spawn(watch_signals(shutdown_tx));
    info!(pipeline = %config.name, version = env!("CARGO_PKG_VERSION"), "starting");
    let health = rivulet_metrics::Health::default();
    if let Some(addr) = config.metrics.listen {
        match rivulet_metrics::server::MetricsServer::bind(addr, &config.name, health.clone()).await {
            Ok(server) => {
                tokio::spawn(server.serve());
            }
            Err(e) => {
                fail(&e.to_string());
                return ExitCode::FAILURE;
            }
        }
    }
    let options = pipeline::RunOptions { endpos, health };
    match pipeline::run(&config, options, shutdown_rx).await {
        Ok(summary) => {
            let why = match summary.end {
                StreamEnd::Shutdown => "shutdown requested",
                StreamEnd::EndPosition => "reached --endpos",
                StreamEnd::ServerEnded => "the server ended replication",
                StreamEnd::ConsumerGone => "the sink stopped",
                StreamEnd::SnapshotComplete => "the snapshot is complete (snapshot = \"initial_only\")",
            };
            let position = summary
                .position
                .as_ref()
                .map_or_else(|| "none".to_string(), |p| p.lsn.to_string());
            info!(events = summary.events, transactions = summary.transactions, %position, "stopped: {why}");
            for (table, op, n) in &summary.by_table {
                info!("  {table:<40} {:<2} {n}", op.code());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            fail(&e.to_string());
            if matches!(e, pipeline::PipelineError::Config(_)) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// First SIGINT/SIGTERM: stop gracefully. A second one: exit at once (nothing is lost, the
/// next run replays from the last checkpoint).
async fn watch_signals(shutdown: watch::Sender<bool>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
    else {
        error!("cannot install signal handlers");
        return;
    };
    tokio::select! {
        _ = int.recv() => {},
        _ = term.recv() => {},
    }
    info!("shutting down: flushing and checkpointing (signal again to exit at once)");
    let _ = shutdown.send(true);
    tokio::select! {
        _ = int.recv() => {},
        _ = term.recv() => {},
    }
    fail("second signal: exiting without a final checkpoint (the next run replays from the last one)");
    std::process::exit(130);
}

#[allow(clippy::print_stdout)]
async fn check(args: PipelineArgs) -> ExitCode {
    let config = match args.load() {
        Ok(c) => c,
        Err(code) => return code,
    };
    #[allow(irrefutable_let_patterns)]
    let SourceConfig::Postgres(source) = &config.source else {
        println!(
            "rivulet check inspects PostgreSQL sources; this pipeline reads Kafka (its brokers are checked when it starts)"
        );
        return ExitCode::SUCCESS;
    };
    let resolved = match ResolvedSource::new(source, &config.name) {
        Ok(r) => r,
        Err(e) => {
            fail(&e.to_string());
            return ExitCode::from(2);
        }
    };
    println!(
        "pipeline {}: slot '{}', publication '{}'",
        config.name, resolved.slot, resolved.publication
    );
    let findings = rivulet_postgres::check::check(&resolved).await;
    let mut blocked = 0;
    for f in &findings {
        let tag = match f.level {
            Level::Ok => "ok  ",
            Level::Warn => "warn",
            Level::Fail => {
                blocked += 1;
                "FAIL"
            }
        };
        println!("  {tag}  {}", f.message);
    }
    if blocked > 0 {
        println!("{blocked} problem(s) block running; fix them and run `rivulet check` again");
        ExitCode::FAILURE
    } else {
        println!("ready to run");
        ExitCode::SUCCESS
    }
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
