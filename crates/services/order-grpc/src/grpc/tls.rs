//! TLS on the gRPC port (`grpc.tls_*`; docs/security.md, "gRPC over TLS"): rustls with
//! ring, through tonic. With a certificate and key the port serves TLS only; with a client
//! CA as well, only clients holding a certificate that CA signed get past the handshake
//! (the service key is still asked for on every call). Health and reflection share the port.

use std::path::{Path, PathBuf};
use std::time::Duration;

use platform::config::ConfigError;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

use crate::config::GrpcConfig;

/// A client must finish its TLS handshake within this, or the connection is closed.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A file setting that is set: an empty path (`ORDERTRACK_GRPC__TLS_CERT_FILE=`, as
/// compose passes an unset variable) counts as not set.
fn set(path: &Option<PathBuf>) -> Option<&PathBuf> {
    path.as_ref().filter(|path| !path.as_os_str().is_empty())
}

/// How the gRPC port is served, for the start-up log line.
pub fn mode(config: &GrpcConfig) -> &'static str {
    match (set(&config.tls_cert_file), set(&config.tls_client_ca_file)) {
        (None, _) => "plaintext",
        (Some(_), None) => "tls",
        (Some(_), Some(_)) => "mutual-tls",
    }
}

/// The TLS settings of the gRPC port, read and checked (None: TLS is off). Every file is
/// read and parsed here and the key is matched with the certificate, so a bad setting
/// fails with the key and the file it is about.
pub fn server_config(config: &GrpcConfig) -> Result<Option<ServerTlsConfig>, ConfigError> {
    let client_ca = set(&config.tls_client_ca_file);
    let (cert_path, key_path) = match (set(&config.tls_cert_file), set(&config.tls_key_file)) {
        (Some(cert), Some(key)) => (cert, key),
        (None, None) if client_ca.is_some() => {
            return Err(ConfigError::invalid(
                "grpc.tls_client_ca_file",
                "mutual TLS needs the server's own grpc.tls_cert_file and grpc.tls_key_file",
            ));
        }
        (None, None) => return Ok(None),
        (Some(_), None) => {
            return Err(ConfigError::invalid("grpc.tls_key_file", "must be set with grpc.tls_cert_file"));
        }
        (None, Some(_)) => {
            return Err(ConfigError::invalid("grpc.tls_cert_file", "must be set with grpc.tls_key_file"));
        }
    };
    let cert_pem = read("grpc.tls_cert_file", cert_path)?;
    let key_pem = read("grpc.tls_key_file", key_path)?;
    let chain = certificates("grpc.tls_cert_file", cert_path, &cert_pem)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|error| {
        ConfigError::invalid(
            "grpc.tls_key_file",
            format!("{}: no PEM private key (PKCS#8, PKCS#1 or SEC1) in it ({error})", key_path.display()),
        )
    })?;
    let provider = rustls::crypto::ring::default_provider();
    rustls::sign::CertifiedKey::from_der(chain, key, &provider).map_err(|error| {
        ConfigError::invalid(
            "grpc.tls_key_file",
            format!("{} is not the key of the certificate in {} ({error})", key_path.display(), cert_path.display()),
        )
    })?;
    // tonic's acceptor takes the process's crypto provider: make it ring whatever else
    // the build holds (an error only says one is installed already).
    let _ = provider.install_default();
    let mut tls = ServerTlsConfig::new().identity(Identity::from_pem(cert_pem, key_pem)).timeout(HANDSHAKE_TIMEOUT);
    if let Some(ca_path) = client_ca {
        let ca_pem = read("grpc.tls_client_ca_file", ca_path)?;
        let authorities = certificates("grpc.tls_client_ca_file", ca_path, &ca_pem)?;
        let mut roots = rustls::RootCertStore::empty();
        let (_, unusable) = roots.add_parsable_certificates(authorities);
        if unusable > 0 {
            return Err(ConfigError::invalid(
                "grpc.tls_client_ca_file",
                format!("{}: {unusable} certificate(s) cannot be used as a CA", ca_path.display()),
            ));
        }
        tls = tls.client_ca_root(Certificate::from_pem(ca_pem));
    }
    Ok(Some(tls))
}

fn read(key: &str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|error| ConfigError::invalid(key, format!("cannot read {}: {error}", path.display())))
}

/// The certificates of a PEM file: at least one, each well-formed.
fn certificates(key: &str, path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| ConfigError::invalid(key, format!("{}: not PEM certificates ({error})", path.display())))?;
    if chain.is_empty() {
        return Err(ConfigError::invalid(key, format!("{}: no PEM certificate in it", path.display())));
    }
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_paths_are_unset_and_mean_plaintext() {
        let config = GrpcConfig {
            tls_cert_file: Some(PathBuf::new()),
            tls_key_file: Some(PathBuf::new()),
            tls_client_ca_file: Some(PathBuf::new()),
            ..GrpcConfig::default()
        };
        assert!(matches!(server_config(&config), Ok(None)));
        assert_eq!(mode(&config), "plaintext");
    }

    #[test]
    fn half_a_pair_names_the_missing_key() {
        let config = GrpcConfig { tls_cert_file: Some("/x/server.crt".into()), ..GrpcConfig::default() };
        let error = server_config(&config).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("grpc.tls_key_file"), "{error}");
    }
}
