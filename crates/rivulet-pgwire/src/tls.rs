//! The one place that decides how a connection uses TLS: which roots we trust and how much of
//! the server's certificate we check, for every sslmode. Both the replication client and the
//! SQL connections get their rustls configuration from here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::{ConnectionConfig, PgError, SslMode};

/// What to check of the server's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Encryption only: any certificate is accepted (libpq's prefer/require without a root cert).
    Nothing,
    /// The chain must end at a trusted root; the name is not checked (verify-ca).
    Chain,
    /// Chain and host name (verify-full).
    ChainAndName,
}

/// A TLS setup ready for one connection attempt.
pub(crate) struct TlsSetup {
    pub config: Arc<ClientConfig>,
    pub server_name: ServerName<'static>,
}

/// Builds the rustls configuration for `cfg`; `None` for sslmode=disable.
pub(crate) fn setup(cfg: &ConnectionConfig) -> Result<Option<TlsSetup>, PgError> {
    let check = match cfg.sslmode {
        SslMode::Disable => return Ok(None),
        SslMode::Prefer => Check::Nothing,
        // libpq: "if a root CA file exists, sslmode=require behaves like verify-ca".
        SslMode::Require if root_file(cfg).is_some() => Check::Chain,
        SslMode::Require => Check::Nothing,
        SslMode::VerifyCa => Check::Chain,
        SslMode::VerifyFull => Check::ChainAndName,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| PgError::Config(format!("cannot set up TLS: {e}")))?;
    let mut config = match check {
        Check::Nothing => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate {
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth(),
        Check::Chain => {
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots(cfg)?), provider)
                .build()
                .map_err(|e| PgError::Config(format!("cannot set up TLS certificate verification: {e}")))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnly { webpki }))
                .with_no_client_auth()
        }
        Check::ChainAndName => builder.with_root_certificates(roots(cfg)?).with_no_client_auth(),
    };
    // PostgreSQL 17 requires this ALPN for direct TLS and accepts it after an SSLRequest.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    let server_name = match ServerName::try_from(cfg.host.clone()) {
        Ok(name) => name,
        Err(_) if check != Check::ChainAndName => {
            // The name is only sent as SNI then; an odd host name must not stop an unverified connection.
            ServerName::try_from("postgresql").map_err(|e| PgError::Config(e.to_string()))?
        }
        Err(e) => {
            return Err(PgError::Config(format!(
                "host \"{}\" is not a valid DNS name or IP address for sslmode=verify-full: {e}",
                cfg.host
            )));
        }
    };
    Ok(Some(TlsSetup {
        config: Arc::new(config),
        server_name,
    }))
}

/// The root certificate file in force: `sslrootcert`, else `~/.postgresql/root.crt` if it exists.
fn root_file(cfg: &ConnectionConfig) -> Option<PathBuf> {
    if let Some(path) = &cfg.sslrootcert {
        return Some(path.clone());
    }
    let default = PathBuf::from(std::env::var_os("HOME")?)
        .join(".postgresql")
        .join("root.crt");
    default.is_file().then_some(default)
}

fn roots(cfg: &ConnectionConfig) -> Result<RootCertStore, PgError> {
    match root_file(cfg) {
        Some(path) if path.as_os_str() != "system" => roots_from_file(&path),
        _ => system_roots(),
    }
}

fn roots_from_file(path: &Path) -> Result<RootCertStore, PgError> {
    let shown = path.display();
    let unreadable = |e: &dyn std::fmt::Display| {
        PgError::Config(format!(
            "cannot read sslrootcert {shown}: {e} (it must be a PEM file of CA certificates)"
        ))
    };
    let mut store = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| unreadable(&e))? {
        let cert = cert.map_err(|e| unreadable(&e))?;
        store.add(cert).map_err(|e| {
            PgError::Config(format!("sslrootcert {shown} holds an unusable certificate: {e}"))
        })?;
    }
    if store.is_empty() {
        return Err(PgError::Config(format!(
            "sslrootcert {shown} contains no PEM certificate (expected -----BEGIN CERTIFICATE-----)"
        )));
    }
    Ok(store)
}

fn system_roots() -> Result<RootCertStore, PgError> {
    let found = rustls_native_certs::load_native_certs();
    let mut store = RootCertStore::empty();
    let (added, _ignored) = store.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found
            .errors
            .first()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        return Err(PgError::Config(format!(
            "no system root certificates found{why}: set sslrootcert to the CA file of the server"
        )));
    }
    Ok(store)
}

/// Explains a failed certificate check in a person's terms.
pub(crate) fn describe_certificate_error(e: &CertificateError) -> String {
    match e {
        CertificateError::UnknownIssuer => {
            "the server's certificate is not signed by a trusted CA (UnknownIssuer)".to_string()
        }
        CertificateError::NotValidForName => {
            "the server's certificate is not valid for this host name".to_string()
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "the server's certificate has expired".to_string()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "the server's certificate is not valid yet (check the clocks)".to_string()
        }
        other => other.to_string(),
    }
}

/// Accepts any certificate but still checks that the server owns it (the handshake signature),
/// which is what libpq does for sslmode=prefer/require: protection from passive eavesdropping only.
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// verify-ca: the full WebPKI check minus the host name. webpki checks the name only after the
/// chain has verified, so a name mismatch means the chain was good.
#[derive(Debug)]
struct ChainOnly {
    webpki: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}
