//! HTTPS and WSS served by the server itself (`--tls-cert`, `--tls-key`): a client that trusts the certificate
//! gets its `welcome` over wss and the page over https; the files read again (SIGHUP's `reload`) serve new
//! connections with the new certificate, and a reload that fails keeps the one in use; files that cannot be used
//! stop the server at start with a message that names them.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::Arc;

use futures::StreamExt;
use rustls_pki_types::{CertificateDer, ServerName};
use swarm::signal::ServerEvent;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{ClientConfig, RootCertStore, crypto::ring};
use tokio_tungstenite::tungstenite::Message;

/// A self-signed certificate for `localhost` written to `dir` as `cert.pem` and `key.pem`; returns its DER.
fn certificate(dir: &Path) -> CertificateDer<'static> {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(dir.join("cert.pem"), made.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), made.signing_key.serialize_pem()).unwrap();
    made.cert.der().clone()
}

/// A TLS connection to `addr` as `localhost`, trusting only `root`.
async fn tls(
    addr: std::net::SocketAddr,
    root: &CertificateDer<'static>,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let mut roots = RootCertStore::empty();
    roots.add(root.clone()).unwrap();
    let config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await?;
    TlsConnector::from(Arc::new(config)).connect(ServerName::try_from("localhost").unwrap(), tcp).await
}

async fn welcome_over_wss(addr: std::net::SocketAddr, root: &CertificateDer<'static>) -> ServerEvent {
    let stream = common::within("TLS handshake", tls(addr, root)).await.unwrap();
    let (mut ws, _) =
        common::within("WebSocket handshake", tokio_tungstenite::client_async("wss://localhost/ws", stream))
            .await
            .unwrap();
    let Some(Ok(Message::Text(text))) = common::within("welcome", ws.next()).await else { panic!("no welcome") };
    ServerEvent::parse(&text).unwrap()
}

#[tokio::test]
async fn wss_and_https_with_a_certificate_read_again_on_reload() {
    let dir = tempfile::tempdir().unwrap();
    let first = certificate(dir.path());
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let server = common::start(|c| {
        c.tls_cert = Some(cert.clone());
        c.tls_key = Some(key.clone());
    })
    .await;
    assert!(server.server.tls());
    assert!(matches!(welcome_over_wss(server.addr, &first).await, ServerEvent::Welcome { .. }));
    // The page, over https.
    let mut stream = tls(server.addr, &first).await.unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut response = Vec::new();
    common::within("the page", stream.read_to_end(&mut response)).await.unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200") && response.contains("p2p-share"), "{response}");
    // Plain http on the TLS port gets nothing served.
    let mut plain = TcpStream::connect(server.addr).await.unwrap();
    plain.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut got = Vec::new();
    let _ = common::within("the plain connection to end", plain.read_to_end(&mut got)).await;
    assert!(!String::from_utf8_lossy(&got).contains("p2p-share"));

    // Renewed: new connections get the new certificate.
    let second = certificate(dir.path());
    server.server.tls_reloader().reload().unwrap();
    assert!(matches!(welcome_over_wss(server.addr, &second).await, ServerEvent::Welcome { .. }));
    assert!(tls(server.addr, &first).await.is_err(), "the old certificate is still served");

    // A reload that fails (the key of another certificate) keeps the one in use.
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(&key, other.signing_key.serialize_pem()).unwrap();
    let e = server.server.tls_reloader().reload().unwrap_err();
    assert!(e.contains("does not go with the certificate"), "{e}");
    assert!(matches!(welcome_over_wss(server.addr, &second).await, ServerEvent::Welcome { .. }));
    server.shut_down().await;
}

#[tokio::test]
async fn certificate_files_that_cannot_be_used_stop_the_server_at_start() {
    let dir = tempfile::tempdir().unwrap();
    certificate(dir.path());
    let start = |cert: &Path, key: &Path| {
        let config = signaling::Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            tls_cert: Some(cert.to_owned()),
            tls_key: Some(key.to_owned()),
            ..signaling::Config::default()
        };
        async move { signaling::Server::start(config, std::future::pending()).await.unwrap_err().to_string() }
    };
    let missing = start(&dir.path().join("nope.pem"), &dir.path().join("key.pem")).await;
    assert!(missing.contains("cannot read the TLS certificate file") && missing.contains("nope.pem"), "{missing}");
    let swapped = start(&dir.path().join("key.pem"), &dir.path().join("cert.pem")).await;
    assert!(swapped.contains("key.pem") || swapped.contains("cert.pem"), "{swapped}");
    std::fs::write(dir.path().join("empty.pem"), "").unwrap();
    let empty = start(&dir.path().join("empty.pem"), &dir.path().join("key.pem")).await;
    assert!(empty.contains("holds no certificate"), "{empty}");
}

#[tokio::test]
async fn the_binary_reads_the_certificate_again_on_sighup() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let first = certificate(dir.path());
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let args = ["--tls-cert".as_ref(), cert.as_os_str(), "--tls-key".as_ref(), key.as_os_str()];
    let (mut child, addr, _stdout) = common::spawn_binary(&args, "https", Stdio::piped());
    assert!(matches!(welcome_over_wss(addr, &first).await, ServerEvent::Welcome { .. }));

    let second = certificate(dir.path());
    // Its log, read to the end (a closed pipe would fail its last writes), saying when the reload is done.
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (said, reloaded) = tokio::sync::oneshot::channel();
    let mut said = Some(said);
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if line.contains("TLS certificate and key read again")
                && let Some(said) = said.take()
            {
                let _ = said.send(());
            }
        }
    });
    assert!(Command::new("kill").args(["-HUP", &child.id().to_string()]).status().unwrap().success());
    common::within("the reload to be logged", reloaded).await.expect("no reload logged");
    assert!(matches!(welcome_over_wss(addr, &second).await, ServerEvent::Welcome { .. }));
    assert!(tls(addr, &first).await.is_err(), "the old certificate is still served after SIGHUP");
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let exit = common::within("the server to exit", tokio::task::spawn_blocking(move || child.wait())).await.unwrap();
    assert!(exit.unwrap().success());
}
