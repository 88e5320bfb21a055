//! Throwaway Kafka-protocol brokers for tests: `noida-db` (from PyPI, installed by `./test`
//! into the tools directory) started on a free port with its own data directory, plus the
//! independent client the tests check results with (Python `confluent-kafka`, same venv).
//!
//! The tools directory is `$RIVULET_TOOLS`, default `~/.cache/rivulet-tools`; `./test` and
//! `scripts/ensure-deps.sh` create `venv/` there.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// Where `./test` installs noida-db and confluent-kafka.
pub fn tools_dir() -> PathBuf {
    std::env::var_os("RIVULET_TOOLS").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
                .join(".cache/rivulet-tools")
        },
        PathBuf::from,
    )
}

/// The tools venv's Python (deltalake, pyarrow, confluent-kafka), for independent readers.
pub fn tools_python() -> PathBuf {
    venv_bin("python")
}

fn venv_bin(name: &str) -> PathBuf {
    tools_dir().join("venv/bin").join(name)
}

/// A running broker; killed and its data removed on drop.
pub struct KafkaBroker {
    dir: tempfile_dir::Dir,
    port: u16,
    child: Option<Child>,
}

mod tempfile_dir {
    use std::path::{Path, PathBuf};

    /// A directory removed on drop (no tempfile dependency for the testkit).
    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new(prefix: &str) -> Dir {
            static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!("{prefix}-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).expect("create broker directory");
            Dir(path)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl KafkaBroker {
    /// Starts a broker; panics with the fix if noida-db is not installed.
    pub fn start() -> KafkaBroker {
        let bin = venv_bin("noida-db");
        assert!(
            bin.exists(),
            "{} is missing: run ./test (or scripts/ensure-deps.sh) to install the test broker",
            bin.display()
        );
        let mut broker = KafkaBroker {
            dir: tempfile_dir::Dir::new("rivulet-kafka"),
            port: free_port(),
            child: None,
        };
        broker.start_again();
        broker
    }

    /// `127.0.0.1:PORT`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the broker process (its data stays), as an outage would.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // The noida-db command is a launcher that runs the server as its child. The server
            // saves its data when it gets SIGTERM itself; the launcher does not pass signals on,
            // and signalling both at once can cut the save short. So: the server first.
            let launcher = child.id();
            let children = std::fs::read_to_string(format!("/proc/{launcher}/task/{launcher}/children"))
                .unwrap_or_default();
            for pid in children.split_whitespace() {
                let _ = Command::new("kill").args(["-TERM", pid]).status();
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            // Whatever is left of the process group goes now.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{launcher}")])
                .status();
            let _ = child.wait();
            let deadline = Instant::now() + Duration::from_secs(10);
            while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// Starts it again on the same port with the same data.
    pub fn start_again(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("broker.log")).expect("broker log");
        use std::os::unix::process::CommandExt;
        let child = Command::new(venv_bin("noida-db"))
            .process_group(0)
            .args([
                "start",
                "--only",
                "kafka",
                "--kafka-port",
                &self.port.to_string(),
                "--data-dir",
            ])
            .arg(self.dir.path().join("data"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start noida-db");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the test broker did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("broker.log")).unwrap_or_default()
    }

    /// Runs `scripts/kafka_tool.py` (the independent client) with the venv's Python.
    pub fn tool(&self, script: &Path, args: &[&str]) -> Output {
        let out = Command::new(venv_bin("python"))
            .arg(script)
            .args(["--bootstrap", &self.bootstrap()])
            .args(args)
            .output()
            .expect("run kafka_tool.py");
        assert!(
            out.status.success(),
            "kafka_tool.py {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

impl Drop for KafkaBroker {
    fn drop(&mut self) {
        self.stop();
    }
}
