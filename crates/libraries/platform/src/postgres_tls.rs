//! How a service reaches PostgreSQL: the libpq-style TLS settings of a `postgres://` URL
//! (`sslmode`, `sslrootcert`) turned into a tokio-postgres connection, with rustls when
//! the URL asks for TLS.
//!
//! | `sslmode`                             | what ordertrack does                                    |
//! | ------------------------------------- | ------------------------------------------------------- |
//! | absent, `disable`                     | no TLS (the local stack's tests of a refused plain link) |
//! | `require`, `verify-ca`, `verify-full` | TLS, the server's certificate checked against `sslrootcert` and the URL's host name |
//! | `prefer`, `allow`, anything else      | refused: they fall back to plaintext without a word    |
//!
//! libpq does not check the certificate on `require`, nor the host name on `verify-ca`;
//! ordertrack always checks both, so `require` is as strict as `verify-full` here.
//! `sslrootcert` names a PEM file of the CA certificates to trust (the same URL works with
//! psql); it is required with TLS, since the system's public CAs do not sign databases.

use std::sync::Arc;

use diesel::ConnectionError;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio_postgres_rustls::MakeRustlsConnect;

/// A parsed `postgres.url`: what tokio-postgres is given, and the TLS client if any.
#[derive(Clone)]
pub struct PgTarget {
    /// The URL without `sslrootcert`, with `sslmode` as tokio-postgres spells it.
    url: String,
    tls: Option<MakeRustlsConnect>,
}

impl std::fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTarget").field("tls", &self.tls.is_some()).finish_non_exhaustive()
    }
}

impl PgTarget {
    /// Reads the TLS settings of `url` and, with TLS, loads the CA file it names. The
    /// error says what is wrong without repeating the URL (it may hold a password).
    pub fn parse(url: &str) -> Result<Self, String> {
        let mut parsed = url::Url::parse(url).map_err(|error| format!("not a URL: {error}"))?;
        let mut mode = None;
        let mut root_cert = None;
        let mut rest = Vec::new();
        for (key, value) in parsed.query_pairs() {
            match key.as_ref() {
                "sslmode" => mode = Some(value.into_owned()),
                "sslrootcert" => root_cert = Some(value.into_owned()),
                "sslcert" | "sslkey" | "sslpassword" => {
                    return Err(format!("{key}: client certificates are not supported (use the role's password)"));
                }
                _ => rest.push((key.into_owned(), value.into_owned())),
            }
        }
        let tls = match mode.as_deref() {
            None | Some("disable") => {
                if root_cert.is_some() {
                    return Err("sslrootcert is set but sslmode is not: add sslmode=verify-full".into());
                }
                None
            }
            Some("require" | "verify-ca" | "verify-full") => {
                let path = root_cert.ok_or("sslmode asks for TLS: add sslrootcert=<the CA's PEM file>")?;
                Some(MakeRustlsConnect::new(client_config(&path)?))
            }
            Some(other) => {
                return Err(format!(
                    "sslmode={other} is not supported (it may fall back to plaintext): use verify-full, or disable"
                ));
            }
        };
        rest.push(("sslmode".into(), if tls.is_some() { "require" } else { "disable" }.into()));
        parsed.query_pairs_mut().clear().extend_pairs(rest);
        Ok(Self { url: parsed.into(), tls })
    }

    /// Whether connections use TLS.
    pub fn tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Opens one connection.
    pub async fn establish(&self) -> diesel::ConnectionResult<AsyncPgConnection> {
        match &self.tls {
            None => AsyncPgConnection::establish(&self.url).await,
            Some(tls) => {
                let (client, connection) = tokio_postgres::connect(&self.url, tls.clone())
                    .await
                    .map_err(|error| ConnectionError::BadConnection(error_chain(&error)))?;
                AsyncPgConnection::try_from_client_and_connection(client, connection).await
            }
        }
    }
}

/// tokio-postgres's error and its sources ("error performing TLS handshake: invalid peer
/// certificate: UnknownIssuer").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}

/// A rustls client that trusts exactly the certificates of the PEM file at `path`.
fn client_config(path: &str) -> Result<rustls::ClientConfig, String> {
    let mut roots = RootCertStore::empty();
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|error| format!("sslrootcert {path}: {error}"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| format!("sslrootcert {path}: {error}"))?;
    if certificates.is_empty() {
        return Err(format!("sslrootcert {path}: no certificate in it"));
    }
    for certificate in certificates {
        roots.add(certificate).map_err(|error| format!("sslrootcert {path}: {error}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("TLS: {error}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn without_sslmode_the_link_is_plain() {
        let target = PgTarget::parse("postgres://u:p@127.0.0.1:5432/db").unwrap();
        assert!(!target.tls());
        assert_eq!(target.url, "postgres://u:p@127.0.0.1:5432/db?sslmode=disable");
    }

    #[test]
    fn modes_that_fall_back_to_plaintext_are_refused() {
        for mode in ["prefer", "allow", "verify_full", ""] {
            let error = PgTarget::parse(&format!("postgres://h/db?sslmode={mode}")).unwrap_err();
            assert!(error.contains("not supported"), "{mode}: {error}");
        }
    }

    #[test]
    fn tls_needs_a_ca_file_that_exists() {
        let error = PgTarget::parse("postgres://h/db?sslmode=verify-full").unwrap_err();
        assert!(error.contains("add sslrootcert"), "{error}");
        let error = PgTarget::parse("postgres://h/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.crt").unwrap_err();
        assert!(error.starts_with("sslrootcert /nonexistent/ca.crt:"), "{error}");
        let error = PgTarget::parse("postgres://h/db?sslrootcert=/tmp/ca.crt").unwrap_err();
        assert!(error.contains("sslmode"), "{error}");
    }

    #[test]
    fn client_certificates_are_refused_by_name() {
        let error = PgTarget::parse("postgres://h/db?sslmode=verify-full&sslcert=/c").unwrap_err();
        assert!(error.starts_with("sslcert:"), "{error}");
    }

    #[test]
    fn other_parameters_are_kept() {
        let target = PgTarget::parse("postgres://h/db?application_name=x&sslmode=disable").unwrap();
        assert_eq!(target.url, "postgres://h/db?application_name=x&sslmode=disable");
    }
}
