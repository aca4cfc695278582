//! `swarm-peer` over wss: with `--ca-cert` naming the private authority of the server's certificate, a seeder and
//! a downloader meet through a TLS signaling server and the file arrives byte-exact; without it, the run ends at
//! once with a message that says what to do (not a retry loop).

// Helpers outside #[test] functions panic on a failed setup step, as the tests do.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Running, Server, manifest, random_file, sha256};
use peer_native::node::{ContentSpec, DownloadSpec, NodeOptions};

/// A TLS signaling server whose certificate (for `localhost`) is self-signed; returns it, the certificate file
/// and the directory that holds them.
async fn tls_server() -> (Server, std::path::PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let server = Server::start_with(|c| {
        c.tls_cert = Some(cert.clone());
        c.tls_key = Some(key.clone());
    })
    .await;
    (server, cert, dir)
}

fn options(server: &Server, ca_cert: Option<&std::path::Path>) -> NodeOptions {
    NodeOptions { tls: peer_native::tls::client_config(ca_cert).unwrap(), ..common::options(server) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_through_a_wss_server_with_a_private_ca_completes() {
    let (server, ca, dir) = tls_server().await;
    assert!(server.url.starts_with("wss://"));
    let source = random_file(dir.path(), "source.bin", 1024 * 1024 + 3);
    let m = manifest(&source);
    let seeder = Running::seed(options(&server, Some(&ca)), &source, &m);
    let out = dir.path().join("copy.bin");

    let reports = Running::get(options(&server, Some(&ca)), &m, &out, None).finished().await;

    assert!(reports[0].complete, "{:?}", reports[0].errors);
    assert_eq!(sha256(&out), sha256(&source));
    seeder.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_nobody_vouches_for_ends_the_run_with_what_to_do() {
    let (server, _ca, dir) = tls_server().await;
    let content = manifest(&random_file(dir.path(), "x.bin", 10)).content_id();
    let spec = DownloadSpec::to_file(content, &dir.path().join("copy.bin"));
    let run =
        peer_native::node::run(options(&server, None), vec![ContentSpec::Download(spec)], std::future::pending(), None);
    let e = tokio::time::timeout(common::TRANSFER_TIMEOUT, run).await.expect("the run ended").unwrap_err();
    let text = format!("{e:#}");
    assert!(
        text.contains("does not trust") && text.contains("--ca-cert") && text.contains("wss://localhost"),
        "{text}"
    );
}
