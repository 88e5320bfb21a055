//! Throwaway PostgreSQL clusters for Rivulet's tests (plus Kafka brokers in [`kafka`], S3
//! servers in [`s3`], and in-memory source, sink and offsets doubles with fault injection in
//! [`doubles`]).
//!
//! Each [`PgCluster`] is a real PostgreSQL 15 server in its own temporary data directory,
//! listening on 127.0.0.1 on a free port with `wal_level = logical`, and removed on drop. The
//! first cluster on a machine runs `initdb` into a shared template directory; later ones copy it,
//! which takes milliseconds instead of seconds. As root, the server runs as the OS user
//! `postgres` (initdb refuses root), like `../shared/anchors/pg-temp.sh`.
//!
//! Settings come from [`ClusterBuilder`]: extra `postgresql.conf` lines, extra `pg_hba.conf`
//! lines (placed before the default trust rules), and files to place in the data directory
//! (TLS certificates).

#![allow(clippy::print_stderr)]

pub mod doubles;
pub mod kafka;
pub mod proxy;
pub mod s3;

pub use kafka::{KafkaBroker, tools_python};
pub use s3::S3Server;

use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Where the PostgreSQL server binaries are: `$PGBIN`, else Debian's PostgreSQL 15.
pub fn pg_bin_dir() -> PathBuf {
    std::env::var_os("PGBIN").map_or_else(|| PathBuf::from("/usr/lib/postgresql/15/bin"), PathBuf::from)
}

fn running_as_root() -> bool {
    // `id -u` rather than libc::geteuid: keeps this crate free of unsafe code and of libc.
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

/// Runs a server-side command, as the `postgres` OS user when we are root.
fn server_command(program: &Path) -> Command {
    if running_as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run(mut cmd: Command, what: &str) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    if !out.status.success() {
        panic!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

fn chown_to_postgres(path: &Path) {
    if running_as_root() {
        run(
            {
                let mut c = Command::new("chown");
                c.args(["-R", "postgres:postgres"]).arg(path);
                c
            },
            "chown",
        );
    }
}

/// A free TCP port on 127.0.0.1 (free when asked; a test that loses the race retries).
///
/// Drawn from below the kernel's ephemeral range: a port in that range can be taken by any
/// outgoing connection between this check and the server's bind — or while a test has the
/// server stopped, by a client reconnecting to it, which on loopback can connect to itself.
/// Either leaves the server unable to (re)start on its port.
/// `psql` for database `db` of the test server on `port` (unaligned, quiet, stops at the first
/// error; no password or service settings from the environment).
pub fn psql_command_at(port: u16, db: &str) -> Command {
    let mut c = Command::new(pg_bin_dir().join("psql"));
    c.args([
        "-X",
        "-q",
        "-At",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        "127.0.0.1",
        "-U",
        "postgres",
    ])
    .args(["-p", &port.to_string(), "-d", db])
    .env_remove("PGPASSWORD")
    .env_remove("PGSERVICE");
    c
}

/// Copies a directory tree (a fixture into a test's scratch directory).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy's directory");
    for entry in std::fs::read_dir(from).expect("read the directory to copy") {
        let entry = entry.expect("a directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("its file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy a file");
        }
    }
}

pub fn free_port() -> u16 {
    let ephemeral_start = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next().and_then(|p| p.parse::<u16>().ok()))
        .unwrap_or(32768);
    const LOWEST: u16 = 10000;
    if ephemeral_start > LOWEST + 1000 {
        for _ in 0..200 {
            let candidate = LOWEST + (random_u64() % u64::from(ephemeral_start - LOWEST)) as u16;
            if TcpListener::bind(("127.0.0.1", candidate)).is_ok() {
                return candidate;
            }
        }
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// A different number at every call, in every process (std seeds each `RandomState` randomly).
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

fn scratch_root() -> PathBuf {
    // /tmp rather than $TMPDIR: the postgres OS user must be able to reach it.
    PathBuf::from("/tmp")
}

/// The initdb'd template, made once per machine and PostgreSQL version, under a file lock so
/// parallel test processes do not race.
fn template_dir() -> PathBuf {
    let bin = pg_bin_dir();
    let version = Command::new(bin.join("postgres"))
        .arg("--version")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .last()
                .unwrap_or("x")
                .to_string()
        })
        .unwrap_or_else(|_| "x".into());
    let dir = scratch_root().join(format!("rivulet-testkit-template-{version}"));
    if dir.join("PG_VERSION").exists() && dir.join(".complete").exists() {
        return dir;
    }
    let lock_path = scratch_root().join(format!("rivulet-testkit-template-{version}.lock"));
    let lock = fs::File::create(&lock_path).expect("create template lock");
    lock.lock().expect("lock template");
    if !(dir.join("PG_VERSION").exists() && dir.join(".complete").exists()) {
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create template dir");
        chown_to_postgres(&dir);
        let mut initdb = server_command(&bin.join("initdb"));
        initdb.arg("-D").arg(&dir).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        run(initdb, "initdb");
        fs::write(dir.join(".complete"), b"").expect("mark template complete");
    }
    drop(lock);
    dir
}

/// How to set up a [`PgCluster`].
#[derive(Default, Clone)]
pub struct ClusterBuilder {
    conf: Vec<String>,
    hba: Vec<String>,
    files: Vec<(String, Vec<u8>)>,
}

impl ClusterBuilder {
    /// Adds a `postgresql.conf` line, e.g. `max_replication_slots = 1`.
    pub fn conf(mut self, line: impl Into<String>) -> Self {
        self.conf.push(line.into());
        self
    }

    /// Adds a `pg_hba.conf` line, checked before the default `trust` rules.
    pub fn hba(mut self, line: impl Into<String>) -> Self {
        self.hba.push(line.into());
        self
    }

    /// Places a file (mode 0600, owned by the server) in the data directory.
    pub fn file(mut self, name: impl Into<String>, contents: impl Into<Vec<u8>>) -> Self {
        self.files.push((name.into(), contents.into()));
        self
    }

    pub fn start(self) -> PgCluster {
        let mut last_err = String::new();
        for _ in 0..5 {
            match PgCluster::create(&self) {
                Ok(c) => return c,
                Err(e) => last_err = e,
            }
        }
        panic!("could not start a throwaway PostgreSQL cluster: {last_err}");
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A running throwaway PostgreSQL cluster; stopped and deleted on drop.
pub struct PgCluster {
    dir: PathBuf,
    port: u16,
}

impl PgCluster {
    /// A cluster with the default settings.
    pub fn start() -> PgCluster {
        ClusterBuilder::default().start()
    }

    pub fn builder() -> ClusterBuilder {
        ClusterBuilder::default()
    }

    fn create(b: &ClusterBuilder) -> Result<PgCluster, String> {
        let template = template_dir();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = scratch_root().join(format!("rivulet-test-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        run(
            {
                let mut c = Command::new("cp");
                c.arg("-a").arg(&template).arg(&dir);
                c
            },
            "copy template cluster",
        );
        let _ = fs::remove_file(dir.join(".complete"));
        let port = free_port();
        let mut conf = String::from(
            "listen_addresses = '127.0.0.1'\n\
             unix_socket_directories = ''\n\
             wal_level = logical\n\
             max_replication_slots = 10\n\
             max_wal_senders = 10\n\
             shared_buffers = 32MB\n\
             fsync = off\n\
             full_page_writes = off\n\
             logging_collector = off\n\
             log_min_messages = warning\n",
        );
        for line in &b.conf {
            conf.push_str(line);
            conf.push('\n');
        }
        fs::write(dir.join("rivulet-test.conf"), conf).map_err(|e| e.to_string())?;
        let mut main_conf = fs::OpenOptions::new()
            .append(true)
            .open(dir.join("postgresql.conf"))
            .map_err(|e| e.to_string())?;
        writeln!(main_conf, "include 'rivulet-test.conf'").map_err(|e| e.to_string())?;
        if !b.hba.is_empty() {
            let default_hba = fs::read_to_string(dir.join("pg_hba.conf")).map_err(|e| e.to_string())?;
            let mut hba = b.hba.join("\n");
            hba.push('\n');
            hba.push_str(&default_hba);
            fs::write(dir.join("pg_hba.conf"), hba).map_err(|e| e.to_string())?;
        }
        for (name, contents) in &b.files {
            let path = dir.join(name);
            fs::write(&path, contents).map_err(|e| e.to_string())?;
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).map_err(|e| e.to_string())?;
        }
        chown_to_postgres(&dir);
        let cluster = PgCluster { dir, port };
        cluster.try_start().map(|()| cluster)
    }

    fn try_start(&self) -> Result<(), String> {
        let mut c = server_command(&pg_bin_dir().join("pg_ctl"));
        c.arg("-D")
            .arg(&self.dir)
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(["-o", &format!("-p {}", self.port), "-w", "-t", "60", "start"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let status = c.status().map_err(|e| e.to_string())?;
        if !status.success() {
            let log = fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
            return Err(format!("pg_ctl start failed on port {}: {log}", self.port));
        }
        Ok(())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        self.url_for("postgres", "postgres")
    }

    pub fn url_for(&self, user: &str, db: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/{db}", self.port)
    }

    /// `psql` for database `db` of this cluster (unaligned, quiet, stops at the first error).
    pub fn psql_command(&self, db: &str) -> Command {
        psql_command_at(self.port, db)
    }

    /// Runs SQL in database `postgres`, returning psql's unaligned output; panics on an error.
    pub fn psql(&self, sql: &str) -> String {
        self.try_psql(sql)
            .unwrap_or_else(|e| panic!("psql failed: {e}\nSQL: {sql}"))
    }

    /// Runs SQL, returning stderr on failure.
    pub fn try_psql(&self, sql: &str) -> Result<String, String> {
        self.try_psql_in("postgres", sql)
    }

    pub fn try_psql_in(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = self
            .psql_command(db)
            .arg("-c")
            .arg(sql)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim_end().to_string())
        }
    }

    /// Runs a SQL script given as text (psql `-f -`), panicking on the first error.
    pub fn psql_script(&self, script: &str) -> String {
        let mut child = self
            .psql_command("postgres")
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn psql");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(script.as_bytes())
            .expect("write script");
        let out = child.wait_with_output().expect("psql");
        if !out.status.success() {
            panic!("psql script failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }

    /// The server's current WAL insert position, as text (`0/1541570`).
    pub fn current_lsn(&self) -> String {
        self.psql("SELECT pg_current_wal_lsn()")
    }

    /// Stops the server (fast shutdown); [`PgCluster::restart`] or [`PgCluster::start_again`]
    /// brings it back on the same port.
    pub fn stop(&self) {
        let mut c = server_command(&pg_bin_dir().join("pg_ctl"));
        c.arg("-D")
            .arg(&self.dir)
            .args(["-m", "fast", "-w", "-t", "60", "stop"])
            .stdout(Stdio::null());
        run(c, "pg_ctl stop");
    }

    pub fn start_again(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.try_start() {
                Ok(()) => return,
                Err(e) if Instant::now() > deadline => panic!("{e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }

    pub fn restart(&self) {
        self.stop();
        self.start_again();
    }

    /// The server's log so far (for assertions and for debugging a failed test).
    pub fn server_log(&self) -> String {
        fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let mut c = server_command(&pg_bin_dir().join("pg_ctl"));
        c.arg("-D")
            .arg(&self.dir)
            .args(["-m", "immediate", "-w", "-t", "30", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let _ = c.status();
        if std::env::var_os("RIVULET_KEEP_TEST_CLUSTERS").is_none() {
            let _ = fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("keeping test cluster {} (port {})", self.dir.display(), self.port);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_a_logical_cluster_and_cleans_up() {
        let dir;
        {
            let pg = PgCluster::start();
            assert_eq!(pg.psql("SHOW wal_level"), "logical");
            assert_eq!(pg.psql("SELECT 1 + 1"), "2");
            assert!(
                pg.try_psql("SELECT * FROM no_such_table")
                    .unwrap_err()
                    .contains("does not exist")
            );
            pg.restart();
            assert_eq!(pg.psql("SELECT 2 + 2"), "4");
            dir = pg.data_dir().to_path_buf();
        }
        assert!(!dir.exists(), "the data directory is removed on drop");
    }
}
