//! Logging in on our own protocol connections: the startup packet and the authentication
//! exchange (trust, cleartext password, MD5, SCRAM-SHA-256), up to the first ReadyForQuery.

use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{self, ChannelBinding, ScramSha256};
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;

use crate::wire::{Backend, Wire, message_name};
use crate::{ConnectionConfig, PgError, ServerError};

/// What the server told us about the new session.
pub(crate) struct Session {
    /// The backend's process id (the secret key is not kept: we send no cancel requests).
    pub process_id: i32,
}

const CONTEXT: &str = "logging in";

/// Sends the startup packet with `params` and authenticates as `cfg.user`.
pub(crate) async fn login(
    wire: &mut Wire,
    cfg: &ConnectionConfig,
    params: &[(&str, &str)],
) -> Result<Session, PgError> {
    frontend::startup_message(params.iter().copied(), &mut wire.wbuf)
        .map_err(|e| PgError::Config(format!("cannot encode the startup packet: {e}")))?;
    wire.flush(CONTEXT).await?;

    let mut scram: Option<ScramSha256> = None;
    let mut session = Session { process_id: 0 };
    loop {
        let msg = match wire.recv(CONTEXT).await? {
            Backend::Message(msg) => msg,
            Backend::CopyBothResponse => {
                return Err(PgError::Protocol("CopyBothResponse during login".to_string()));
            }
        };
        match msg {
            Message::AuthenticationOk => {}
            Message::AuthenticationCleartextPassword => {
                let password = password(cfg, "password")?;
                frontend::password_message(password.as_bytes(), &mut wire.wbuf)
                    .map_err(|e| encode_error(&e))?;
                wire.flush(CONTEXT).await?;
            }
            Message::AuthenticationMd5Password(body) => {
                let password = password(cfg, "md5")?;
                let hashed = md5_hash(cfg.user.as_bytes(), password.as_bytes(), body.salt());
                frontend::password_message(hashed.as_bytes(), &mut wire.wbuf)
                    .map_err(|e| encode_error(&e))?;
                wire.flush(CONTEXT).await?;
            }
            Message::AuthenticationSasl(body) => {
                let mut mechanisms = Vec::new();
                let mut it = body.mechanisms();
                while let Some(m) = fallible_iterator::FallibleIterator::next(&mut it)
                    .map_err(|e| PgError::Protocol(format!("bad SASL mechanism list: {e}")))?
                {
                    mechanisms.push(m.to_string());
                }
                if !mechanisms.iter().any(|m| m == sasl::SCRAM_SHA_256) {
                    return Err(PgError::UnsupportedAuth {
                        method: format!("SASL ({})", mechanisms.join(", ")),
                    });
                }
                let password = password(cfg, "scram-sha-256")?;
                // We do not implement channel binding, and say so ("n"): announcing that we
                // could but think the server cannot ("y") is rejected by a TLS server that
                // offers SCRAM-SHA-256-PLUS, as a suspected downgrade attack.
                let state = ScramSha256::new(password.as_bytes(), ChannelBinding::unsupported());
                frontend::sasl_initial_response(sasl::SCRAM_SHA_256, state.message(), &mut wire.wbuf)
                    .map_err(|e| encode_error(&e))?;
                scram = Some(state);
                wire.flush(CONTEXT).await?;
            }
            Message::AuthenticationSaslContinue(body) => {
                let state = scram
                    .as_mut()
                    .ok_or_else(|| PgError::Protocol("SASL continuation before SASL start".to_string()))?;
                state
                    .update(body.data())
                    .map_err(|e| PgError::Protocol(format!("invalid SCRAM challenge: {e}")))?;
                frontend::sasl_response(state.message(), &mut wire.wbuf).map_err(|e| encode_error(&e))?;
                wire.flush(CONTEXT).await?;
            }
            Message::AuthenticationSaslFinal(body) => {
                let state = scram
                    .as_mut()
                    .ok_or_else(|| PgError::Protocol("SASL final before SASL start".to_string()))?;
                // This proves the server knows the password too; failing it means we may be
                // talking to an impostor.
                state.finish(body.data()).map_err(|e| {
                    PgError::Protocol(format!(
                        "the server's SCRAM proof does not verify ({e}); refusing the connection"
                    ))
                })?;
            }
            Message::AuthenticationKerberosV5 => return Err(unsupported("Kerberos V5")),
            Message::AuthenticationScmCredential => return Err(unsupported("SCM credential")),
            Message::AuthenticationGss | Message::AuthenticationGssContinue(_) => {
                return Err(unsupported("GSSAPI"));
            }
            Message::AuthenticationSspi => return Err(unsupported("SSPI")),
            Message::BackendKeyData(body) => {
                session = Session {
                    process_id: body.process_id(),
                };
            }
            Message::ReadyForQuery(_) => return Ok(session),
            Message::ErrorResponse(body) => {
                return Err(PgError::from_login_error(
                    ServerError::from_fields(body.fields())?,
                    &cfg.user,
                ));
            }
            other => {
                return Err(PgError::Protocol(format!(
                    "unexpected {} during login",
                    message_name(&other)
                )));
            }
        }
    }
}

fn password<'a>(cfg: &'a ConnectionConfig, method: &'static str) -> Result<&'a str, PgError> {
    cfg.password.as_deref().ok_or_else(|| PgError::PasswordRequired {
        user: cfg.user.clone(),
        method,
    })
}

fn unsupported(method: &str) -> PgError {
    PgError::UnsupportedAuth {
        method: method.to_string(),
    }
}

fn encode_error(e: &std::io::Error) -> PgError {
    PgError::Protocol(format!("cannot encode a login message: {e}"))
}
