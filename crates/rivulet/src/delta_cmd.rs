//! `rivulet delta optimize|vacuum --config F`: housekeeping for the Delta tables of a pipeline
//! whose `[sink]` is `type = "delta"` (rivulet-sink-delta does the work).
//!
//! ```text
//!  config::load ─▶ [sink] delta settings ─▶ every table under url ─▶ OPTIMIZE | VACUUM ─▶ one line per table
//! ```

use std::process::ExitCode;
use std::time::Duration;

use crate::config::{PipelineConfig, SinkConfig};

#[derive(clap::Subcommand)]
pub enum DeltaAction {
    /// Compact the small files frequent commits leave into larger ones (bin-packing OPTIMIZE).
    Optimize {
        #[command(flatten)]
        pipeline: crate::PipelineArgs,
    },
    /// Delete files that no table version within the retention period needs.
    Vacuum {
        #[command(flatten)]
        pipeline: crate::PipelineArgs,
        /// Keep files needed by versions younger than this (e.g. `7d`, `48h`).
        #[arg(long, default_value = "7d", value_parser = humantime::parse_duration)]
        retention: Duration,
        /// Allow a retention shorter than the table's `delta.deletedFileRetentionDuration`
        /// (readers of older versions may then fail).
        #[arg(long)]
        force: bool,
        /// List what would be deleted, delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

fn delta_settings(config: &PipelineConfig) -> Result<&rivulet_sink_delta::DeltaSinkConfig, String> {
    match &config.sink {
        SinkConfig::Delta(c) => Ok(c),
        #[allow(unreachable_patterns)]
        _ => Err(format!(
            "pipeline {} does not write to Delta Lake: `rivulet delta` needs [sink] type = \"delta\"",
            config.name
        )),
    }
}

#[allow(clippy::print_stdout)]
pub async fn run(action: DeltaAction) -> ExitCode {
    let (pipeline, op) = match &action {
        DeltaAction::Optimize { pipeline } => (pipeline, "optimize"),
        DeltaAction::Vacuum { pipeline, .. } => (pipeline, "vacuum"),
    };
    let config = match pipeline.load() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let settings = match delta_settings(&config) {
        Ok(s) => s,
        Err(e) => {
            crate::fail(&e);
            return ExitCode::from(2);
        }
    };
    let result = match action {
        DeltaAction::Optimize { .. } => rivulet_sink_delta::housekeeping::optimize(settings).await,
        DeltaAction::Vacuum {
            retention,
            force,
            dry_run,
            ..
        } => rivulet_sink_delta::housekeeping::vacuum(settings, retention, force, dry_run).await,
    };
    match result {
        Ok(reports) if reports.is_empty() => {
            println!("no Delta tables under {}", settings.url);
            ExitCode::SUCCESS
        }
        Ok(reports) => {
            for r in reports {
                println!("{op} {}: {}", r.table, r.summary);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            crate::fail(&e.to_string());
            ExitCode::FAILURE
        }
    }
}
