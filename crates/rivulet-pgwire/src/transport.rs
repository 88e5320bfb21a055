//! Getting a byte stream to the server: DNS, TCP, the SSLRequest exchange and the TLS
//! handshake, with every failure turned into a [`PgError`] that names the server and the fix.
//!
//! Both kinds of connection start here: the replication client speaks the protocol over the
//! resulting [`PgStream`] itself, and SQL connections hand it to tokio-postgres.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::{ConnectionConfig, PgError, SslMode, tls};

/// A connection to the server, encrypted or not.
#[derive(Debug)]
pub enum PgStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl PgStream {
    pub fn is_tls(&self) -> bool {
        matches!(self, PgStream::Tls(_))
    }
}

/// Opens a stream to the server of `cfg` and negotiates TLS as its sslmode says. No timeout of
/// its own: callers bound the whole login with [`with_connect_timeout`].
pub async fn open(cfg: &ConnectionConfig) -> Result<PgStream, PgError> {
    let tcp = connect_tcp(cfg).await?;
    let Some(tls) = tls::setup(cfg)? else {
        return Ok(PgStream::Plain(tcp));
    };
    negotiate_tls(cfg, tcp, tls).await
}

/// Runs a connection attempt under `cfg.connect_timeout` (zero: no limit).
pub(crate) async fn with_connect_timeout<T>(
    cfg: &ConnectionConfig,
    attempt: impl Future<Output = Result<T, PgError>>,
) -> Result<T, PgError> {
    if cfg.connect_timeout.is_zero() {
        return attempt.await;
    }
    tokio::time::timeout(cfg.connect_timeout, attempt)
        .await
        .unwrap_or_else(|_| {
            Err(PgError::ConnectTimeout {
                target: cfg.target(),
                timeout: cfg.connect_timeout,
            })
        })
}

async fn connect_tcp(cfg: &ConnectionConfig) -> Result<TcpStream, PgError> {
    let addrs = tokio::net::lookup_host((cfg.host.as_str(), cfg.port))
        .await
        .map_err(|e| PgError::Resolve {
            host: cfg.host.clone(),
            reason: e.to_string(),
        })?;
    let mut last_error = None;
    // Like libpq, try every address the name resolves to (IPv6 and IPv4, several replicas).
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                // Small protocol messages (status updates) must not wait for Nagle's algorithm.
                stream
                    .set_nodelay(true)
                    .map_err(|e| PgError::io("setting up the connection", &e))?;
                return Ok(stream);
            }
            Err(e) => {
                tracing::debug!(%addr, error = %e, "cannot connect to this address of the PostgreSQL host");
                last_error = Some(e);
            }
        }
    }
    Err(match last_error {
        Some(e) => PgError::Connect {
            target: cfg.target(),
            kind: e.kind(),
            reason: e.to_string(),
        },
        None => PgError::Resolve {
            host: cfg.host.clone(),
            reason: "the name has no addresses".to_string(),
        },
    })
}

async fn negotiate_tls(
    cfg: &ConnectionConfig,
    mut tcp: TcpStream,
    tls: tls::TlsSetup,
) -> Result<PgStream, PgError> {
    let mut request = BytesMut::with_capacity(8);
    postgres_protocol::message::frontend::ssl_request(&mut request);
    tcp.write_all(&request)
        .await
        .map_err(|e| PgError::io("asking the server for TLS", &e))?;
    // Exactly one byte: anything after it must come through TLS (CVE-2021-23222).
    let answer = tcp
        .read_u8()
        .await
        .map_err(|e| PgError::io("asking the server for TLS", &e))?;
    match answer {
        b'S' => {}
        b'N' if cfg.sslmode == SslMode::Prefer => {
            tracing::debug!(server = %cfg.redacted(), "server does not support TLS; continuing in plaintext (sslmode=prefer)");
            return Ok(PgStream::Plain(tcp));
        }
        b'N' => {
            return Err(PgError::TlsNotSupported {
                target: cfg.target(),
                sslmode: cfg.sslmode,
            });
        }
        other => {
            return Err(PgError::Protocol(format!(
                "unexpected answer {:?} to SSLRequest (expected 'S' or 'N')",
                char::from(other)
            )));
        }
    }
    let connector = TlsConnector::from(tls.config);
    match connector.connect(tls.server_name, tcp).await {
        Ok(stream) => Ok(PgStream::Tls(Box::new(stream))),
        Err(e) => Err(tls_error(cfg, &e)),
    }
}

fn tls_error(cfg: &ConnectionConfig, e: &io::Error) -> PgError {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidCertificate(cert)) => PgError::TlsVerify {
            host: cfg.host.clone(),
            reason: tls::describe_certificate_error(cert),
        },
        Some(other) => PgError::Tls {
            target: cfg.target(),
            reason: other.to_string(),
        },
        None => PgError::io("performing the TLS handshake", e),
    }
}

impl AsyncRead for PgStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PgStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            PgStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for PgStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            PgStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            PgStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            PgStream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            PgStream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            PgStream::Plain(s) => s.is_write_vectored(),
            PgStream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PgStream::Plain(s) => Pin::new(s).poll_flush(cx),
            PgStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PgStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            PgStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
