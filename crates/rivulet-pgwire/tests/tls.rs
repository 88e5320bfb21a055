//! TLS against real servers with certificates made here by the `openssl` CLI: every sslmode,
//! certificate verification that passes and fails, and servers without TLS, for both
//! replication and SQL connections.

#![allow(clippy::unwrap_used)] // helpers outside #[test] functions may unwrap too

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use rivulet_pgwire::{ConnectionConfig, PgError, ReplicationConnection, SslMode, connect_sql};
use rivulet_testkit::PgCluster;

/// A scratch directory with a CA and server certificates, removed on drop.
struct Certs {
    dir: PathBuf,
}

static DIRS: AtomicU32 = AtomicU32::new(0);

impl Certs {
    fn new() -> Certs {
        let n = DIRS.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("rivulet-pgwire-certs-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Certs { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    fn openssl(&self, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&self.dir)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `NAME.crt`/`NAME.key`: a self-signed CA.
    fn make_ca(&self, name: &str) {
        self.openssl(&[
            "req",
            "-x509",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "3650",
            "-subj",
            &format!("/CN=Rivulet test CA {name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
        ]);
    }

    /// `NAME.crt`/`NAME.key`: a server certificate for `san`, signed by CA `ca`.
    fn make_server(&self, name: &str, ca: &str, cn: &str, san: &str) {
        self.openssl(&[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            &format!("/CN={cn}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ]);
        std::fs::write(
            self.path(&format!("{name}.ext")),
            format!(
                "subjectAltName={san}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n\
                 extendedKeyUsage=serverAuth\n"
            ),
        )
        .unwrap();
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "3650",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.crt"),
        ]);
    }

    /// A cluster serving TLS with the certificate `name`.
    fn tls_cluster(&self, name: &str) -> PgCluster {
        PgCluster::builder()
            .conf("ssl = on")
            .conf("ssl_cert_file = 'server.crt'")
            .conf("ssl_key_file = 'server.key'")
            .file("server.crt", self.read(&format!("{name}.crt")))
            .file("server.key", self.read(&format!("{name}.key")))
            .hba("hostssl all scramuser 127.0.0.1/32 scram-sha-256")
            .start()
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn config(host: &str, pg: &PgCluster, sslmode: SslMode, rootcert: Option<&Path>) -> ConnectionConfig {
    let mut cfg =
        ConnectionConfig::from_url(&format!("postgres://postgres@{host}:{}/postgres", pg.port())).unwrap();
    cfg.sslmode = sslmode;
    cfg.sslrootcert = rootcert.map(Path::to_path_buf);
    cfg
}

const SSL_IN_USE: &str = "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

/// Connects both ways and returns whether each session is encrypted, as the server sees it.
async fn ssl_in_use(cfg: &ConnectionConfig) -> Result<bool, PgError> {
    let mut repl = ReplicationConnection::connect(cfg).await?;
    let repl_ssl = repl.simple_query(SSL_IN_USE).await?[0][0].clone().unwrap() == "true";
    repl.close().await?;
    let client = connect_sql(cfg).await?;
    let sql_ssl: String = client.query_one(SSL_IN_USE, &[]).await?.get(0);
    assert_eq!(
        repl_ssl,
        sql_ssl == "true",
        "replication and SQL connections agree"
    );
    Ok(repl_ssl)
}

/// Both connection kinds must fail the same way.
async fn both_fail(cfg: &ConnectionConfig) -> Vec<PgError> {
    vec![
        ReplicationConnection::connect(cfg).await.err().unwrap(),
        connect_sql(cfg).await.err().unwrap(),
    ]
}

#[tokio::test]
async fn every_sslmode_against_a_tls_server() {
    let certs = Certs::new();
    certs.make_ca("ca");
    certs.make_ca("other-ca");
    certs.make_server("server", "ca", "127.0.0.1", "IP:127.0.0.1,DNS:localhost");
    let pg = certs.tls_cluster("server");
    let ca = certs.path("ca.crt");

    assert!(
        !ssl_in_use(&config("127.0.0.1", &pg, SslMode::Disable, None))
            .await
            .unwrap()
    );
    assert!(
        ssl_in_use(&config("127.0.0.1", &pg, SslMode::Prefer, None))
            .await
            .unwrap()
    );
    assert!(
        ssl_in_use(&config("127.0.0.1", &pg, SslMode::Require, None))
            .await
            .unwrap()
    );
    assert!(
        ssl_in_use(&config("127.0.0.1", &pg, SslMode::VerifyCa, Some(&ca)))
            .await
            .unwrap()
    );
    assert!(
        ssl_in_use(&config("127.0.0.1", &pg, SslMode::VerifyFull, Some(&ca)))
            .await
            .unwrap()
    );
    assert!(
        ssl_in_use(&config("localhost", &pg, SslMode::VerifyFull, Some(&ca)))
            .await
            .unwrap()
    );
    // sslrootcert from the URL.
    let url = format!(
        "postgres://postgres@localhost:{}/postgres?sslmode=verify-full&sslrootcert={}",
        pg.port(),
        ca.display()
    );
    assert!(
        ssl_in_use(&ConnectionConfig::from_url(&url).unwrap())
            .await
            .unwrap()
    );

    // Signed by a CA we do not trust.
    let other = certs.path("other-ca.crt");
    for mode in [SslMode::VerifyFull, SslMode::VerifyCa, SslMode::Require] {
        for err in both_fail(&config("127.0.0.1", &pg, mode, Some(&other))).await {
            assert!(matches!(err, PgError::TlsVerify { .. }), "{mode}: {err:?}");
            assert_eq!(
                err.to_string(),
                "TLS certificate verification failed for host \"127.0.0.1\": the server's certificate is not \
                 signed by a trusted CA (UnknownIssuer) (check sslrootcert and the host name in the URL)"
            );
            assert!(!err.is_transient());
        }
    }

    // A root certificate file that is not there, or holds no certificate.
    let missing = certs.path("missing.crt");
    for err in both_fail(&config("127.0.0.1", &pg, SslMode::VerifyFull, Some(&missing))).await {
        assert!(matches!(err, PgError::Config(_)), "{err:?}");
        assert!(err.to_string().contains("cannot read sslrootcert"), "{err}");
    }
    for err in both_fail(&config(
        "127.0.0.1",
        &pg,
        SslMode::VerifyFull,
        Some(&certs.path("server.ext")),
    ))
    .await
    {
        assert!(err.to_string().contains("contains no PEM certificate"), "{err}");
    }

    // SCRAM over TLS, where the server also offers SCRAM-SHA-256-PLUS (channel binding).
    pg.psql("CREATE ROLE scramuser LOGIN REPLICATION PASSWORD 'tls secret'");
    let mut cfg = config("127.0.0.1", &pg, SslMode::VerifyFull, Some(&ca));
    cfg.user = "scramuser".into();
    cfg.password = Some("tls secret".into());
    assert!(ssl_in_use(&cfg).await.unwrap());
}

#[tokio::test]
async fn verify_full_checks_the_host_name() {
    let certs = Certs::new();
    certs.make_ca("ca");
    certs.make_server("elsewhere", "ca", "db.example.com", "DNS:db.example.com");
    let pg = certs.tls_cluster("elsewhere");
    let ca = certs.path("ca.crt");

    for host in ["127.0.0.1", "localhost"] {
        for err in both_fail(&config(host, &pg, SslMode::VerifyFull, Some(&ca))).await {
            assert!(matches!(err, PgError::TlsVerify { .. }), "{err:?}");
            let msg = err.to_string();
            assert!(
                msg.starts_with(&format!(
                    "TLS certificate verification failed for host \"{host}\""
                )),
                "{msg}"
            );
            assert!(
                msg.contains("db.example.com"),
                "names what the certificate is for: {msg}"
            );
            assert!(!err.is_transient());
        }
    }
    // verify-ca checks only the chain, and require with a root certificate behaves like it.
    assert!(
        ssl_in_use(&config("127.0.0.1", &pg, SslMode::VerifyCa, Some(&ca)))
            .await
            .unwrap()
    );
    assert!(
        ssl_in_use(&config("localhost", &pg, SslMode::Require, Some(&ca)))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_server_without_tls() {
    let pg = PgCluster::start();
    // A root certificate of our own keeps the system's roots (or their absence) out of this.
    let certs = Certs::new();
    certs.make_ca("ca");
    let ca = certs.path("ca.crt");
    assert!(
        !ssl_in_use(&config("127.0.0.1", &pg, SslMode::Prefer, None))
            .await
            .unwrap()
    );
    for mode in [SslMode::Require, SslMode::VerifyCa, SslMode::VerifyFull] {
        let rootcert = (mode != SslMode::Require).then_some(ca.as_path());
        for err in both_fail(&config("127.0.0.1", &pg, mode, rootcert)).await {
            assert!(matches!(err, PgError::TlsNotSupported { .. }), "{err:?}");
            assert_eq!(
                err.to_string(),
                format!(
                    "PostgreSQL at 127.0.0.1:{} does not accept TLS connections but sslmode={mode} requires TLS: \
                     set ssl = on on the server, or use sslmode=prefer or sslmode=disable",
                    pg.port()
                )
            );
            assert!(!err.is_transient());
        }
    }
}
