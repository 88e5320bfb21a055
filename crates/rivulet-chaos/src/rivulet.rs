//! The Rivulet process under test: started with the trial's pipeline file, killed with
//! SIGKILL, restarted when it exits by itself (noting why), and finally run to `--endpos`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

pub struct Rivulet {
    bin: PathBuf,
    config: PathBuf,
    logs: PathBuf,
    env: Vec<(String, String)>,
    child: Option<Child>,
    starts: usize,
    /// The last error line of each run that ended without being killed.
    pub self_exits: Vec<String>,
}

impl Rivulet {
    pub fn new(bin: &Path, config: &Path, logs: &Path, env: Vec<(String, String)>) -> Rivulet {
        Rivulet {
            bin: bin.to_path_buf(),
            config: config.to_path_buf(),
            logs: logs.to_path_buf(),
            env,
            child: None,
            starts: 0,
            self_exits: Vec::new(),
        }
    }

    fn command(&mut self, extra: &[&str]) -> Result<Command> {
        self.starts += 1;
        let log = std::fs::File::create(self.log_path(self.starts))?;
        let mut c = Command::new(&self.bin);
        c.arg("run")
            .arg("--config")
            .arg(&self.config)
            .args(extra)
            .env("RIVULET_LOG", "info")
            .env_remove("RUST_LOG")
            .env_remove("PGPASSWORD")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        Ok(c)
    }

    fn log_path(&self, n: usize) -> PathBuf {
        self.logs.join(format!("rivulet-{n}.log"))
    }

    pub fn start(&mut self) -> Result<()> {
        let child = self
            .command(&[])?
            .spawn()
            .with_context(|| format!("start {}", self.bin.display()))?;
        self.child = Some(child);
        Ok(())
    }

    /// SIGKILL, as a crash: no flush, no checkpoint.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The current run's log so far.
    fn log(&self) -> String {
        std::fs::read_to_string(self.log_path(self.starts)).unwrap_or_default()
    }

    /// Whether the current run is reading the initial snapshot right now.
    pub fn in_snapshot(&self) -> bool {
        let log = self.log();
        log.contains("reading the snapshot") && !log.contains("snapshot complete")
    }

    /// Waits (up to `timeout`) until the current run's log contains `text`.
    pub fn wait_for_log(&self, text: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.log().contains(text) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    /// Restarts Rivulet if it ended by itself (an error before its first connection, e.g.
    /// while the source was down, ends a run) and remembers the reason.
    pub fn keep_alive(&mut self) -> Result<()> {
        let exited = match self.child.as_mut() {
            Some(c) => c.try_wait()?.is_some(),
            None => false,
        };
        if exited {
            self.child = None;
            self.self_exits.push(last_error(&self.log_path(self.starts)));
            self.start()?;
        }
        Ok(())
    }

    /// `rivulet run --endpos LSN` until it exits, within `timeout`; retried a few times
    /// because a catch-up right after a fault can meet the dead run's slot still active.
    pub fn catch_up(&mut self, endpos: &str, timeout: Duration) -> Result<()> {
        self.kill9();
        let mut last = String::new();
        for _ in 0..4 {
            let mut child = self.command(&["--endpos", endpos])?.spawn()?;
            let deadline = Instant::now() + timeout;
            let status = loop {
                if let Some(s) = child.try_wait()? {
                    break Some(s);
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                std::thread::sleep(Duration::from_millis(50));
            };
            match status {
                Some(s) if s.success() => return Ok(()),
                Some(s) => last = format!("{s}: {}", last_error(&self.log_path(self.starts))),
                None => bail!(
                    "catch-up to {endpos} did not finish within {timeout:?} (log {})",
                    self.log_path(self.starts).display()
                ),
            }
            std::thread::sleep(Duration::from_secs(2));
        }
        bail!("catch-up to {endpos} failed: {last}")
    }
}

impl Drop for Rivulet {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The last line that looks like an error in a run's log (or its last line).
fn last_error(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines
        .iter()
        .rev()
        .find(|l| l.contains("error") || l.contains("ERROR"))
        .or(lines.last())
        .map_or_else(|| "(empty log)".to_string(), |l| l.chars().take(300).collect())
}
