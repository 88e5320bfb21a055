//! The sinks a trial can target: what each one allows (a keyless table, TRUNCATE), which
//! faults make sense for it, and its `[sink]` section.

use std::fmt;

use crate::faults::FaultKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Sink {
    Postgres,
    Jsonl,
    Delta,
    Files,
    Kafka,
}

impl Sink {
    pub const ALL: [Sink; 5] = [Sink::Postgres, Sink::Jsonl, Sink::Delta, Sink::Files, Sink::Kafka];

    pub fn name(self) -> &'static str {
        match self {
            Sink::Postgres => "postgres",
            Sink::Jsonl => "jsonl",
            Sink::Delta => "delta",
            Sink::Files => "files",
            Sink::Kafka => "kafka",
        }
    }

    /// A Delta mirror MERGEs on the primary key: no keyless table there.
    pub fn allows_keyless(self) -> bool {
        self != Sink::Delta
    }

    /// The files sink does not write TRUNCATE (documented), so its replay could not follow one.
    pub fn allows_truncate(self) -> bool {
        self != Sink::Files
    }

    /// The files sink writes only the new row of an update, so updates of a keyless table
    /// cannot be replayed from its files (there is no old row to find).
    pub fn replays_keyless_updates(self) -> bool {
        self != Sink::Files
    }

    /// Debezium JSON records (decoded by replay), rather than rows (files, Delta, a replica).
    pub fn writes_records(self) -> bool {
        matches!(self, Sink::Jsonl | Sink::Kafka)
    }

    /// The faults that apply: every sink gets Rivulet and source faults; the replica its
    /// target's restart; a sink writing to S3 the S3 server's restart.
    pub fn faults(self, on_s3: bool) -> Vec<FaultKind> {
        let mut f = vec![FaultKind::Kill9, FaultKind::SourceRestart, FaultKind::Cut];
        if self == Sink::Postgres {
            f.push(FaultKind::TargetRestart);
        }
        if on_s3 {
            f.push(FaultKind::S3Restart);
        }
        f
    }

    /// The files sink always writes to S3; Delta on every other trial (odd seeds), local disk
    /// (with its fsync path) on the others.
    pub fn on_s3(self, seed: u64) -> bool {
        self == Sink::Files || (self == Sink::Delta && seed % 2 == 1)
    }

    /// How often Rivulet checkpoints. Every third seed: the default (1 s), which leaves a
    /// wide window between the first events and the first checkpoint. Otherwise often for
    /// cheap checkpoints, so kills land in flushes; less often where each checkpoint writes
    /// files (files, Delta) to keep them few.
    pub fn flush_interval(self, seed: u64) -> &'static str {
        match self {
            _ if seed.is_multiple_of(3) => "1s",
            Sink::Files | Sink::Delta => "500ms",
            _ => "100ms",
        }
    }
}

impl fmt::Display for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a sink writes, as the `[sink]` keys after `type`.
pub struct SinkTarget {
    pub sink: Sink,
    /// Replica: the target database URL. JSONL: the file. Delta: the lake directory. Files:
    /// the S3 URL. Kafka: the bootstrap servers.
    pub location: String,
    /// S3 endpoint (files).
    pub endpoint: Option<String>,
}

impl SinkTarget {
    pub fn section(&self) -> String {
        let loc = &self.location;
        match self.sink {
            Sink::Postgres => format!("type = \"postgres\"\nurl = \"{loc}\"\n"),
            Sink::Jsonl => format!("type = \"jsonl\"\npath = \"{loc}\"\n"),
            Sink::Delta => match &self.endpoint {
                Some(e) => {
                    format!("type = \"delta\"\nurl = \"{loc}\"\nendpoint = \"{e}\"\npath_style = true\n")
                }
                None => format!("type = \"delta\"\nurl = \"{loc}\"\n"),
            },
            Sink::Files => format!(
                "type = \"files\"\nurl = \"{loc}\"\nformat = \"parquet\"\nendpoint = \"{}\"\npath_style = true\n\
                 create_bucket = true\nmax_interval = \"10s\"\n",
                self.endpoint.as_deref().unwrap_or_default()
            ),
            Sink::Kafka => {
                format!("type = \"kafka\"\nbrokers = \"{loc}\"\ntopic_partitions = 1\nexactly_once = true\n")
            }
        }
    }
}

/// The whole pipeline file: the source through the proxy, the snapshot in small chunks (so a
/// kill lands between chunk checkpoints), Debezium numerics as strings (exact and easy to
/// read back).
pub fn pipeline_toml(
    source_url: &str,
    tables: &[String],
    target: &SinkTarget,
    offsets: &str,
    seed: u64,
) -> String {
    let tables: Vec<String> = tables.iter().map(|t| format!("\"{t}\"")).collect();
    let format = if target.sink.writes_records() {
        "[format]\ndecimal_handling = \"string\"\n"
    } else {
        ""
    };
    format!(
        "name = \"chaos\"\n\n[source]\ntype = \"postgres\"\nurl = \"{source_url}\"\ntables = [{}]\n\
         slot = \"chaos\"\npublication = \"chaos\"\nsnapshot = \"initial\"\nsnapshot_chunk_rows = 250\n\
         snapshot_parallelism = 2\nheartbeat_interval = \"1s\"\n\n{format}\n[sink]\n{}\n\
         [offsets]\npath = \"{offsets}\"\nflush_interval = \"{}\"\n",
        tables.join(", "),
        target.section(),
        target.sink.flush_interval(seed)
    )
}
