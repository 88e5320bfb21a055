//! Connection settings: where the server is, who we are, and how much we trust the network.
//!
//! Settings come from a `postgres://` URL, with libpq's meanings for the parts and parameters we
//! support, so a URL that works with `psql` works here. The password is a secret: it appears in
//! no `Display`, `Debug` or error output, and [`ConnectionConfig::redacted`] is what logs show.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use percent_encoding::percent_decode_str;

use crate::PgError;

/// How hard to insist on TLS, with libpq's meanings.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum SslMode {
    /// Plaintext only.
    Disable,
    /// TLS without certificate verification if the server offers it, else plaintext.
    #[default]
    Prefer,
    /// TLS, without certificate verification unless a root certificate is configured (then as
    /// [`SslMode::VerifyCa`], like libpq).
    Require,
    /// TLS, and the server's certificate chain must lead to a trusted root; the host name is not
    /// checked.
    VerifyCa,
    /// TLS, a trusted chain, and a certificate issued for the host name (or IP address) we dialled.
    VerifyFull,
}

impl SslMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SslMode {
    type Err = PgError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "disable" => Ok(SslMode::Disable),
            "prefer" => Ok(SslMode::Prefer),
            "require" => Ok(SslMode::Require),
            "verify-ca" => Ok(SslMode::VerifyCa),
            "verify-full" => Ok(SslMode::VerifyFull),
            // libpq's "allow" tries plaintext first, which we never want to do silently.
            other => Err(PgError::Config(format!(
                "unsupported sslmode \"{other}\": use disable, prefer, require, verify-ca or verify-full"
            ))),
        }
    }
}

/// Everything needed to open a connection to one PostgreSQL server.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionConfig {
    /// A host name or IP address; every address a name resolves to is tried in turn.
    pub host: String,
    /// Default 5432.
    pub port: u16,
    /// Default `$PGUSER`, else `postgres`.
    pub user: String,
    /// Default `$PGPASSWORD`. Never printed.
    pub password: Option<String>,
    /// Default: the user name.
    pub dbname: String,
    /// Default [`SslMode::Prefer`].
    pub sslmode: SslMode,
    /// PEM file of trusted root certificates for `verify-ca`/`verify-full` (the value `system`
    /// means the operating system's roots, as in libpq 16).
    pub sslrootcert: Option<PathBuf>,
    /// Shown in `pg_stat_activity` and `pg_stat_replication`; default `rivulet`.
    pub application_name: String,
    /// Limit for reaching the server and logging in, default 10 s; zero waits indefinitely
    /// (libpq's meaning).
    pub connect_timeout: Duration,
}

pub(crate) const DEFAULT_PORT: u16 = 5432;
const DEFAULT_APPLICATION_NAME: &str = "rivulet";
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Default for ConnectionConfig {
    /// `localhost:5432`, user `$PGUSER` or `postgres`, password `$PGPASSWORD`, database = user.
    fn default() -> Self {
        Self::defaults_with_env(&env_var)
    }
}

impl ConnectionConfig {
    fn defaults_with_env(env: &dyn Fn(&str) -> Option<String>) -> Self {
        let user = env("PGUSER").unwrap_or_else(|| "postgres".to_string());
        ConnectionConfig {
            host: "localhost".to_string(),
            port: DEFAULT_PORT,
            dbname: user.clone(),
            user,
            password: env("PGPASSWORD"),
            sslmode: SslMode::default(),
            sslrootcert: None,
            application_name: DEFAULT_APPLICATION_NAME.to_string(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }

    /// Parses `postgres://user:password@host:port/dbname?sslmode=...` (or `postgresql://`).
    ///
    /// Missing parts default as in libpq: user `$PGUSER` or `postgres`, password `$PGPASSWORD`,
    /// database = user, port 5432, host `localhost` (we speak TCP only, never Unix sockets).
    pub fn from_url(url: &str) -> Result<Self, PgError> {
        Self::from_url_with_env(url, &env_var)
    }

    /// [`ConnectionConfig::from_url`] with the environment supplied by the caller, so tests need
    /// not touch the process environment.
    pub fn from_url_with_env(url: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, PgError> {
        let bad = |msg: String| PgError::Config(msg);
        let rest = strip_scheme(url).ok_or_else(|| {
            bad("the connection URL must start with postgres:// or postgresql://".to_string())
        })?;
        let show = Shown::new(rest);
        // The user info ends at the last '@' before the first '/', so a password may hold an
        // unencoded '@', '?' or '#' (but not '/').
        let authority_end = rest.find('/').unwrap_or(rest.len());
        let (userinfo, after) = match rest[..authority_end].rfind('@') {
            Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
            None => (None, rest),
        };
        if after.contains('#') {
            return Err(bad(
                "the connection URL must not contain '#': percent-encode it as %23".into(),
            ));
        }
        let (before_query, query) = after.split_once('?').unwrap_or((after, ""));
        if before_query.contains('@') {
            // Most likely a password with an unencoded '/': say so without showing any of it.
            return Err(bad(
                "the connection URL has an '@' after a '/': percent-encode '/' in the user name or \
                 password as %2F, and '@' in the database name as %40"
                    .into(),
            ));
        }
        let (hostport, path) = before_query.split_once('/').unwrap_or((before_query, ""));

        let mut cfg = ConnectionConfig::defaults_with_env(env);
        if let Some(userinfo) = userinfo {
            let (user, password) = match userinfo.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (userinfo, None),
            };
            if !user.is_empty() {
                cfg.user = decode(user, "user name")?;
            }
            if let Some(password) = password {
                cfg.password = Some(decode(password, "password")?);
            }
        }
        let (host, port) = split_host_port(hostport, &show)?;
        if let Some(host) = host {
            cfg.host = host;
        }
        if let Some(port) = port {
            cfg.port = port;
        }
        let dbname = decode(path, "database name")?;
        cfg.dbname = if dbname.is_empty() {
            cfg.user.clone()
        } else {
            dbname
        };

        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode(key, "URL parameter name")?;
            let value = decode(value, "URL parameter value")?;
            match key.as_str() {
                "sslmode" => {
                    cfg.sslmode = value.parse().map_err(|_| {
                        bad(format!(
                            "unsupported sslmode {}: use disable, prefer, require, verify-ca or verify-full",
                            show.value(&value)
                        ))
                    })?;
                }
                "sslrootcert" => {
                    if value.is_empty() {
                        return Err(bad("sslrootcert is empty: give the path of a PEM file".into()));
                    }
                    cfg.sslrootcert = Some(PathBuf::from(value));
                }
                "application_name" => cfg.application_name = value,
                "connect_timeout" => {
                    let secs: u64 = value.trim().parse().map_err(|_| {
                        bad(format!(
                            "connect_timeout {} is not a whole number of seconds (0 waits forever)",
                            show.value(&value)
                        ))
                    })?;
                    cfg.connect_timeout = Duration::from_secs(secs);
                }
                other => {
                    return Err(bad(format!(
                        "unknown URL parameter {}: supported are sslmode, sslrootcert, application_name \
                         and connect_timeout",
                        show.value(other)
                    )));
                }
            }
        }
        Ok(cfg)
    }

    /// `postgres://user@host:port/dbname`: how logs and errors name this server. Never contains
    /// the password.
    pub fn redacted(&self) -> String {
        format!("postgres://{}@{}/{}", self.user, self.target(), self.dbname)
    }

    /// `host:port`, with an IPv6 address in brackets.
    pub fn target(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl FromStr for ConnectionConfig {
    type Err = PgError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ConnectionConfig::from_url(s)
    }
}

impl fmt::Debug for ConnectionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("dbname", &self.dbname)
            .field("sslmode", &self.sslmode)
            .field("sslrootcert", &self.sslrootcert)
            .field("application_name", &self.application_name)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

fn strip_scheme(url: &str) -> Option<&str> {
    ["postgresql://", "postgres://"].iter().find_map(|scheme| {
        let head = url.get(..scheme.len())?;
        head.eq_ignore_ascii_case(scheme).then(|| &url[scheme.len()..])
    })
}

fn decode(s: &str, what: &str) -> Result<String, PgError> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| {
            PgError::Config(format!(
                "the {what} in the URL is not valid UTF-8 after percent-decoding"
            ))
        })
}

/// Quotes parts of a URL in error messages unless they could be a piece of the password: when
/// a password was written without percent-encoding, parts of it can end up parsed as a port or
/// a parameter, and must not be echoed as such.
struct Shown {
    /// Everything up to the URL's last '@', raw and decoded: wherever a password could be.
    may_be_secret: [String; 2],
}

impl Shown {
    fn new(rest: &str) -> Self {
        let raw = rest.rfind('@').map_or("", |at| &rest[..at]);
        let decoded = percent_decode_str(raw).decode_utf8_lossy().into_owned();
        Shown {
            may_be_secret: [raw.to_string(), decoded],
        }
    }

    fn value(&self, v: &str) -> String {
        if !v.is_empty() && self.may_be_secret.iter().any(|s| s.contains(v)) {
            "(not shown: it may be part of the password)".to_string()
        } else {
            format!("\"{}\"", v.escape_debug())
        }
    }
}

fn split_host_port(hostport: &str, show: &Shown) -> Result<(Option<String>, Option<u16>), PgError> {
    if hostport.contains(',') {
        return Err(PgError::Config(
            "the URL names several hosts; Rivulet connects to exactly one: keep only the primary".into(),
        ));
    }
    let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or_else(|| {
            PgError::Config("unterminated IPv6 address in the URL: close it with ']'".to_string())
        })?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| {
                PgError::Config(format!(
                    "unexpected {} after the IPv6 address in the URL",
                    show.value(p)
                ))
            })?),
        };
        (host.to_string(), port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (decode(h, "host name")?, Some(p)),
            None => (decode(hostport, "host name")?, None),
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(p) => Some(p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(|| {
            PgError::Config(format!(
                "invalid port {} in the URL: expected a number from 1 to 65535",
                show.value(p)
            ))
        })?),
    };
    Ok(((!host.is_empty()).then_some(host), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn parse(url: &str) -> ConnectionConfig {
        ConnectionConfig::from_url_with_env(url, &no_env).unwrap()
    }

    fn parse_err(url: &str) -> String {
        ConnectionConfig::from_url_with_env(url, &no_env)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn parses_a_full_url() {
        let c = parse(
            "postgres://bob:s3cret@db.example.com:6432/inventory?sslmode=verify-full&sslrootcert=/etc/ca.pem\
             &application_name=cdc-1&connect_timeout=3",
        );
        assert_eq!(c.host, "db.example.com");
        assert_eq!(c.port, 6432);
        assert_eq!(c.user, "bob");
        assert_eq!(c.password.as_deref(), Some("s3cret"));
        assert_eq!(c.dbname, "inventory");
        assert_eq!(c.sslmode, SslMode::VerifyFull);
        assert_eq!(c.sslrootcert, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(c.application_name, "cdc-1");
        assert_eq!(c.connect_timeout, Duration::from_secs(3));
        assert_eq!(c.redacted(), "postgres://bob@db.example.com:6432/inventory");
    }

    #[test]
    fn applies_defaults() {
        let c = parse("postgresql://alice@localhost");
        assert_eq!(c.port, 5432);
        assert_eq!(c.dbname, "alice");
        assert_eq!(c.password, None);
        assert_eq!(c.sslmode, SslMode::Prefer);
        assert_eq!(c.application_name, "rivulet");
        assert_eq!(c.connect_timeout, Duration::from_secs(10));
        let c = parse("postgres://db1/");
        assert_eq!(
            (c.user.as_str(), c.dbname.as_str(), c.host.as_str()),
            ("postgres", "postgres", "db1")
        );
        let c = parse("POSTGRES:///");
        assert_eq!(c.host, "localhost");
    }

    #[test]
    fn takes_user_and_password_from_the_environment() {
        let env = |name: &str| match name {
            "PGUSER" => Some("envuser".to_string()),
            "PGPASSWORD" => Some("envpass".to_string()),
            _ => None,
        };
        let c = ConnectionConfig::from_url_with_env("postgres://h/db", &env).unwrap();
        assert_eq!(
            (c.user.as_str(), c.password.as_deref()),
            ("envuser", Some("envpass"))
        );
        let c = ConnectionConfig::from_url_with_env("postgres://u:urlpass@h", &env).unwrap();
        assert_eq!(
            (c.user.as_str(), c.password.as_deref(), c.dbname.as_str()),
            ("u", Some("urlpass"), "u")
        );
        let c = ConnectionConfig::from_url_with_env("postgres://u@h", &env).unwrap();
        assert_eq!(c.password.as_deref(), Some("envpass"));
    }

    #[test]
    fn percent_decodes_user_password_and_database() {
        let c = parse("postgres://b%40b:p%40ss%3Aw%2Frd%25@h/my%20db");
        assert_eq!(c.user, "b@b");
        assert_eq!(c.password.as_deref(), Some("p@ss:w/rd%"));
        assert_eq!(c.dbname, "my db");
        // An unencoded '@' in the password still works: the last '@' ends the user info.
        let c = parse("postgres://u:a@b@h:1/d");
        assert_eq!(
            (c.password.as_deref(), c.host.as_str(), c.port),
            (Some("a@b"), "h", 1)
        );
    }

    #[test]
    fn parses_ipv6_hosts() {
        let c = parse("postgres://u@[::1]:5433/d");
        assert_eq!((c.host.as_str(), c.port), ("::1", 5433));
        assert_eq!(c.redacted(), "postgres://u@[::1]:5433/d");
        assert_eq!(parse("postgres://u@[fe80::1]/d").port, 5432);
    }

    #[test]
    fn rejects_bad_urls_with_one_line_messages() {
        for (url, expect) in [
            ("mysql://u@h/d", "must start with postgres://"),
            ("postgres://u@h:99999/d", "invalid port \"99999\""),
            ("postgres://u@h:abc/d", "invalid port \"abc\""),
            ("postgres://u@h/d?sslmode=allow", "unsupported sslmode \"allow\""),
            ("postgres://u@h/d?sslmode=bogus", "unsupported sslmode \"bogus\""),
            ("postgres://u@h/d?foo=1", "unknown URL parameter \"foo\""),
            (
                "postgres://u@h/d?connect_timeout=soon",
                "connect_timeout \"soon\"",
            ),
            ("postgres://u@h1,h2/d", "several hosts"),
            ("postgres://u@[::1/d", "unterminated IPv6"),
            ("postgres://u@h/d#x", "must not contain '#'"),
            ("postgres://u:a/b@h/d", "percent-encode '/'"),
        ] {
            let msg = parse_err(url);
            assert!(msg.contains(expect), "{url}: {msg}");
            assert!(!msg.contains('\n'), "{msg}");
        }
    }

    #[test]
    fn the_password_never_shows() {
        let secret = "Tr0ub4dor&3";
        let encoded = "Tr0ub4dor%263";
        let c = parse(&format!("postgres://bob:{encoded}@h:5/d"));
        assert_eq!(c.password.as_deref(), Some(secret));
        for shown in [format!("{c:?}"), format!("{c:#?}"), c.redacted()] {
            assert!(
                !shown.contains(secret) && !shown.contains(encoded) && !shown.contains("Tr0ub"),
                "{shown}"
            );
        }
        // Errors about any other part of the URL do not quote the user info either, even when
        // an unencoded password makes parts of it look like a port or a parameter.
        for url in [
            format!("postgres://bob:{encoded}@h:port/d"),
            format!("postgres://bob:{encoded}@h/d?nope=1"),
            format!("postgres://bob:{encoded}@h/d?sslmode=x"),
            format!("postgres://bob:{encoded}@h1,h2/d"),
            format!("postgres://bob:{encoded}@[h/d"),
            format!("postgres://bob:{encoded}@h/d#frag"),
            "postgres://bob:%FF%FE@h/d".to_string(),
            "postgres://bob:Tr0ub/4dor@h/d".to_string(),
            "postgres://bob:Tr0ub?4dor/x@h/d".to_string(),
            "postgres://bob:Tr0ub?x=4dor/x@h/d".to_string(),
            "postgres://bob:Tr0ub?sslmode=4dor/x@h/d".to_string(),
            "postgres://bob:Tr0ub:4dor/x@h/d".to_string(),
            "postgres://bob:[Tr0ub:4dor/x@h/d".to_string(),
        ] {
            let err = ConnectionConfig::from_url_with_env(&url, &no_env).unwrap_err();
            for shown in [err.to_string(), format!("{err:?}")] {
                assert!(
                    !shown.contains("Tr0ub") && !shown.contains("4dor") && !shown.contains("%FF"),
                    "{url}: {shown}"
                );
            }
        }
        // Unencoded '@', '?' and '#' in a password are understood.
        let c = parse("postgres://bob:Tr0ub@4?d#r@h:7/d?sslmode=disable");
        assert_eq!(c.password.as_deref(), Some("Tr0ub@4?d#r"));
        assert_eq!((c.host.as_str(), c.port, c.dbname.as_str()), ("h", 7, "d"));
        assert_eq!(c.sslmode, SslMode::Disable);
    }

    #[test]
    fn sslmode_round_trips() {
        for m in [
            SslMode::Disable,
            SslMode::Prefer,
            SslMode::Require,
            SslMode::VerifyCa,
            SslMode::VerifyFull,
        ] {
            assert_eq!(m.to_string().parse::<SslMode>().unwrap(), m);
        }
    }
}
