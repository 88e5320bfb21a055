//! Logging in against real PostgreSQL servers: every supported authentication method, and the
//! one-line errors for every way logging in can fail, for both replication and SQL connections.

#![allow(clippy::unwrap_used)] // helpers outside #[test] functions may unwrap too

use std::time::Duration;

use rivulet_pgwire::{ConnectionConfig, PgError, ReplicationConnection, SslMode, connect_sql};
use rivulet_testkit::PgCluster;

fn config(pg: &PgCluster, user: &str, password: Option<&str>) -> ConnectionConfig {
    let mut cfg = ConnectionConfig::from_url(&pg.url_for(user, "postgres")).unwrap();
    cfg.password = password.map(str::to_string);
    cfg.sslmode = SslMode::Disable;
    cfg
}

fn cluster_with_password_users() -> PgCluster {
    let pg = PgCluster::builder()
        .hba("host all md5user 127.0.0.1/32 md5")
        .hba("host all scramuser 127.0.0.1/32 scram-sha-256")
        .hba("host all pwuser 127.0.0.1/32 password")
        .hba("host all rejected 127.0.0.1/32 reject")
        .hba("host all gssuser 127.0.0.1/32 gss")
        .start();
    pg.psql_script(
        "SET password_encryption = 'md5';
         CREATE ROLE md5user LOGIN REPLICATION PASSWORD 'md5 p@ss';
         SET password_encryption = 'scram-sha-256';
         CREATE ROLE scramuser LOGIN REPLICATION PASSWORD 'scram p@ss ünïcode';
         CREATE ROLE pwuser LOGIN REPLICATION PASSWORD 'plain pass';
         CREATE ROLE rejected LOGIN REPLICATION;
         CREATE ROLE gssuser LOGIN REPLICATION;",
    );
    assert!(
        pg.psql("SELECT rolpassword FROM pg_authid WHERE rolname = 'md5user'")
            .starts_with("md5")
    );
    assert!(
        pg.psql("SELECT rolpassword FROM pg_authid WHERE rolname = 'scramuser'")
            .starts_with("SCRAM-SHA-256$")
    );
    pg
}

async fn whoami_replication(cfg: &ConnectionConfig) -> Result<String, PgError> {
    let mut conn = ReplicationConnection::connect(cfg).await?;
    let rows = conn.simple_query("SELECT current_user").await?;
    conn.close().await?;
    Ok(rows[0][0].clone().unwrap())
}

async fn whoami_sql(cfg: &ConnectionConfig) -> Result<String, PgError> {
    let client = connect_sql(cfg).await?;
    let row = client.query_one("SELECT current_user::text", &[]).await?;
    Ok(row.get(0))
}

#[tokio::test]
async fn logs_in_with_every_supported_method() {
    let pg = cluster_with_password_users();
    for (user, password) in [
        ("postgres", None),
        ("md5user", Some("md5 p@ss")),
        ("scramuser", Some("scram p@ss ünïcode")),
        ("pwuser", Some("plain pass")),
    ] {
        let cfg = config(&pg, user, password);
        assert_eq!(
            whoami_replication(&cfg).await.unwrap(),
            user,
            "replication login as {user}"
        );
        assert_eq!(whoami_sql(&cfg).await.unwrap(), user, "SQL login as {user}");
    }
    // A percent-encoded password in the URL reaches the server decoded.
    let url = format!(
        "postgres://scramuser:scram%20p%40ss%20%C3%BCn%C3%AFcode@127.0.0.1:{}/postgres",
        pg.port()
    );
    let cfg = ConnectionConfig::from_url(&url).unwrap();
    assert_eq!(whoami_replication(&cfg).await.unwrap(), "scramuser");
}

#[tokio::test]
async fn reports_login_failures_in_one_line() {
    let pg = cluster_with_password_users();
    for user in ["md5user", "scramuser", "pwuser"] {
        let cfg = config(&pg, user, Some("wrong password"));
        let expected = format!(
            "password authentication failed for user \"{user}\": check the password in the URL or $PGPASSWORD"
        );
        for err in [
            whoami_replication(&cfg).await.unwrap_err(),
            whoami_sql(&cfg).await.unwrap_err(),
        ] {
            assert!(matches!(err, PgError::Auth { .. }), "{err:?}");
            assert_eq!(err.to_string(), expected);
            assert_eq!(err.sqlstate(), Some("28P01"));
            assert!(!err.is_transient());
            assert!(!format!("{err:?}").contains("wrong password"));
        }

        let cfg = config(&pg, user, None);
        for err in [
            whoami_replication(&cfg).await.unwrap_err(),
            whoami_sql(&cfg).await.unwrap_err(),
        ] {
            assert!(matches!(err, PgError::PasswordRequired { .. }), "{err:?}");
            let msg = err.to_string();
            assert!(msg.contains("asks for a password") && msg.contains(user), "{msg}");
            assert!(msg.contains("$PGPASSWORD"), "{msg}");
            assert!(!err.is_transient());
        }
    }

    let cfg = config(&pg, "rejected", Some("x"));
    for err in [
        whoami_replication(&cfg).await.unwrap_err(),
        whoami_sql(&cfg).await.unwrap_err(),
    ] {
        assert!(matches!(err, PgError::Auth { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("pg_hba.conf rejects connection") && msg.contains("check the user name"),
            "{msg}"
        );
        assert_eq!(err.sqlstate(), Some("28000"));
    }

    let cfg = config(&pg, "gssuser", Some("x"));
    for err in [
        whoami_replication(&cfg).await.unwrap_err(),
        whoami_sql(&cfg).await.unwrap_err(),
    ] {
        assert!(matches!(err, PgError::UnsupportedAuth { .. }), "{err:?}");
        assert!(err.to_string().contains("does not support"), "{err}");
    }

    let mut cfg = config(&pg, "postgres", None);
    cfg.dbname = "no_such_db".into();
    for err in [
        whoami_replication(&cfg).await.unwrap_err(),
        whoami_sql(&cfg).await.unwrap_err(),
    ] {
        assert_eq!(err.sqlstate(), Some("3D000"), "{err:?}");
        assert_eq!(
            err.to_string(),
            "database \"no_such_db\" does not exist (SQLSTATE 3D000)"
        );
    }
}

#[tokio::test]
async fn refused_connections_are_transient() {
    let port = rivulet_testkit::free_port();
    let cfg = ConnectionConfig::from_url(&format!("postgres://u:secret@127.0.0.1:{port}/db")).unwrap();
    let expected = format!(
        "cannot connect to PostgreSQL at 127.0.0.1:{port}: connection refused (is the server running and listening there?)"
    );
    let errors = [
        ReplicationConnection::connect(&cfg).await.err().unwrap(),
        connect_sql(&cfg).await.err().unwrap(),
    ];
    for err in errors {
        assert_eq!(err.to_string(), expected);
        assert!(err.is_transient());
    }
}

#[tokio::test]
async fn a_silent_server_times_out() {
    // Accepts TCP connections and then says nothing: login must give up after connect_timeout.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let cfg =
        ConnectionConfig::from_url(&format!("postgres://u@127.0.0.1:{port}/db?connect_timeout=1")).unwrap();
    assert_eq!(cfg.connect_timeout, Duration::from_secs(1));
    for err in [
        ReplicationConnection::connect(&cfg).await.err().unwrap(),
        connect_sql(&cfg).await.err().unwrap(),
    ] {
        assert!(matches!(err, PgError::ConnectTimeout { .. }), "{err:?}");
        assert!(err.is_transient());
        assert!(
            err.to_string().starts_with(&format!(
                "timed out after 1s connecting to PostgreSQL at 127.0.0.1:{port}"
            )),
            "{err}"
        );
    }
    holder.abort();
}
