//! wss: how `swarm-peer` checks a signaling server's certificate. The roots are Mozilla's (webpki-roots, compiled
//! in, so a minimal machine without a CA bundle can still join a public https deployment), plus the PEM
//! certificates of `--ca-cert` for a private CA. rustls with the ring provider.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rustls::crypto::ring;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// The client configuration for wss: the public roots, and those of `ca_cert` if given.
pub fn client_config(ca_cert: Option<&Path>) -> anyhow::Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_cert {
        let shown = path.display();
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect())
            .with_context(|| format!("cannot read the CA certificate file {shown} (PEM)"))?;
        anyhow::ensure!(!certs.is_empty(), "the CA certificate file {shown} holds no certificate (PEM)");
        for cert in certs {
            roots.add(cert).with_context(|| format!("a certificate of {shown} cannot be a root"))?;
        }
    }
    let config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .context("TLS")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Whether `error` (a failed WebSocket connection) is the server's certificate being refused: trying again will
/// not help; the user must act. Its text, if so.
pub fn certificate_refused(error: &tokio_tungstenite::tungstenite::Error) -> Option<String> {
    use tokio_tungstenite::tungstenite::Error;
    let io = match error {
        Error::Io(io) => io,
        _ => return None,
    };
    let inner = io.get_ref()?.downcast_ref::<rustls::Error>()?;
    matches!(inner, rustls::Error::InvalidCertificate(_)).then(|| inner.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_that_cannot_be_used_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("ca-cert-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = client_config(Some(&dir.join("nope.pem"))).unwrap_err();
        assert!(format!("{missing:#}").contains("cannot read the CA certificate file"), "{missing:#}");
        std::fs::write(dir.join("empty.pem"), "not pem\n").unwrap();
        let empty = client_config(Some(&dir.join("empty.pem"))).unwrap_err();
        assert!(format!("{empty:#}").contains("holds no certificate"), "{empty:#}");
        assert!(client_config(None).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
