//! An S3 server (SeaweedFS `weed mini`, as `rivulet_testkit::S3Server` runs it) that can be
//! killed and started again on the same ports with the same data: the testkit's server has no
//! restart, and an S3 outage in the middle of uploads is one of the faults.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rivulet_testkit::free_port;
use rivulet_testkit::kafka::tools_dir;
use rivulet_testkit::s3::{ACCESS_KEY_ID, SECRET_ACCESS_KEY};

/// SeaweedFS's component ports, each pinned so a restart comes back where clients look.
const PORTS: [&str; 10] = [
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "webdav.port",
    "admin.port",
    "admin.port.grpc",
    "s3.port.grpc",
];

pub struct S3 {
    dir: PathBuf,
    port: u16,
    others: Vec<u16>,
    child: Option<Child>,
}

impl S3 {
    pub fn start(dir: PathBuf) -> Result<S3> {
        std::fs::create_dir_all(dir.join("data"))?;
        let mut s3 = S3 {
            dir,
            port: free_port(),
            others: PORTS.iter().map(|_| free_port()).collect(),
            child: None,
        };
        s3.start_again()?;
        Ok(s3)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The variables Rivulet and the readers take the endpoint and credentials from.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("S3_ENDPOINT".into(), self.endpoint()),
            ("AWS_ACCESS_KEY_ID".into(), ACCESS_KEY_ID.into()),
            ("AWS_SECRET_ACCESS_KEY".into(), SECRET_ACCESS_KEY.into()),
            ("AWS_REGION".into(), "us-east-1".into()),
        ]
    }

    pub fn start_again(&mut self) -> Result<()> {
        use std::os::unix::process::CommandExt;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))?;
        let mut cmd = Command::new(tools_dir().join("venv/bin/weed"));
        cmd.process_group(0)
            .arg("mini")
            .arg(format!("-dir={}", self.dir.join("data").display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-admin.ui=false"])
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
            .arg(format!("-s3.port={}", self.port));
        for (name, port) in PORTS.iter().zip(&self.others) {
            cmd.arg(format!("-{name}={port}"));
        }
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        let child = cmd
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("start weed mini (./test installs it into the tools venv)")?;
        self.child = Some(child);
        self.wait_ready()
    }

    /// Ready when the S3 API answers an HTTP request (403 to an unsigned one).
    fn wait_ready(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !self.answers() {
            if Instant::now() > deadline {
                bail!(
                    "the S3 server did not start; see {}",
                    self.dir.join("server.log").display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    fn answers(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let mut buf = [0u8; 12];
        s.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .is_ok()
            && s.read_exact(&mut buf).is_ok()
            && buf.starts_with(b"HTTP/1.1")
    }

    /// Kills the whole process group at once, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
        }
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        self.kill();
    }
}
