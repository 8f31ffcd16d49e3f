//! Certificates for tests, made in the test itself (rcgen, ECDSA P-256): a CA of the
//! test's own, server certificates for 127.0.0.1 and localhost, client certificates for
//! mutual TLS; and gRPC channels that trust exactly one CA.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

/// A certificate authority that lives as long as the test.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its private key, PEM.
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.distinguished_name.push(DnType::CommonName, format!("{name} test CA"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("CA key");
        Self { issuer: CertifiedIssuer::self_signed(params, key).expect("self-signed CA") }
    }

    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for 127.0.0.1 and localhost.
    pub fn server(&self) -> Issued {
        self.issue("localhost", &["localhost", "127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate (mutual TLS) naming `name`.
    pub fn client(&self, name: &str) -> Issued {
        self.issue(name, &[name], ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn issue(&self, common_name: &str, names: &[&str], usage: ExtendedKeyUsagePurpose) -> Issued {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).expect("certificate parameters");
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign");
        Issued { cert_pem: cert.pem(), key_pem: key.serialize_pem() }
    }

    /// This CA's server certificate, its key and the CA certificate written to files of a
    /// fresh folder (removed when the value is dropped), for a server's settings.
    pub fn server_files(&self) -> TlsFiles {
        let server = self.server();
        TlsFiles::write(&[
            ("server.crt", &server.cert_pem),
            ("server.key", &server.key_pem),
            ("ca.crt", &self.cert_pem()),
        ])
    }

    /// A client's TLS settings: trust this CA only, for 127.0.0.1.
    pub fn client_tls(&self) -> ClientTlsConfig {
        install_ring();
        ClientTlsConfig::new().ca_certificate(Certificate::from_pem(self.cert_pem()))
    }
}

impl Issued {
    pub fn identity(&self) -> Identity {
        Identity::from_pem(&self.cert_pem, &self.key_pem)
    }
}

/// PEM files in a folder of their own under the temporary directory.
pub struct TlsFiles {
    dir: PathBuf,
}

impl TlsFiles {
    /// Writes each `(name, contents)` into a fresh folder.
    pub fn write(files: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(crate::unique_name("tls"));
        std::fs::create_dir_all(&dir).expect("create the TLS folder");
        for (name, contents) in files {
            std::fs::write(dir.join(name), contents).expect("write a PEM file");
        }
        Self { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn cert(&self) -> PathBuf {
        self.path("server.crt")
    }

    pub fn key(&self) -> PathBuf {
        self.path("server.key")
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for TlsFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The process's rustls provider, as order-grpc installs it (ring); an error only says
/// one is installed already.
fn install_ring() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A gRPC channel to 127.0.0.1:`port`: over TLS with `tls` (https), else plaintext.
pub async fn grpc_channel(port: u16, tls: Option<ClientTlsConfig>) -> Result<Channel, tonic::transport::Error> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut endpoint = Channel::from_shared(format!("{scheme}://127.0.0.1:{port}")).expect("a valid URI");
    if let Some(tls) = tls {
        endpoint = endpoint.tls_config(tls)?;
    }
    endpoint.connect().await
}
