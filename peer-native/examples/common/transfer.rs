//! One transfer for the benchmarks: a signaling server, one seeder and one leecher in this process, WebRTC on
//! loopback.

use std::path::Path;
use std::time::{Duration, Instant};

use peer_native::node::{self, ContentSpec, DownloadSpec, NodeOptions};
use peer_native::transport::RtcSettings;
use swarm::manifest::Manifest;
use tokio::sync::oneshot;

/// Seconds for one leecher to get `source` (a file or a folder, with its manifest) into `out`, from the leecher's
/// start to its completion; the seeder and the server are stopped after.
pub async fn transfer(source: &Path, manifest: &Manifest, out: &Path) -> anyhow::Result<f64> {
    let (stop_server, server_stopped) = oneshot::channel::<()>();
    let config = signaling::Config { listen: "127.0.0.1:0".parse()?, ice_servers: Vec::new(), ..Default::default() };
    let (addr, _server) = signaling::serve(config, async move {
        let _ = server_stopped.await;
    })
    .await?;
    let options = NodeOptions {
        signaling_url: format!("ws://{addr}/ws"),
        rtc: RtcSettings { udp_bind: vec!["127.0.0.1:0".to_owned()], ..RtcSettings::default() },
        ice_from_server: false,
        ..NodeOptions::default()
    };
    let (stop_seeder, seeder_stopped) = oneshot::channel::<()>();
    let seeder = tokio::spawn(node::run(
        options.clone(),
        vec![ContentSpec::Seed { path: source.to_owned(), manifest: manifest.clone() }],
        async move {
            let _ = seeder_stopped.await;
        },
        None,
    ));
    let spec = DownloadSpec::to_file(manifest.content_id(), out);
    let start = Instant::now();
    let reports = tokio::time::timeout(
        Duration::from_secs(1200),
        node::run(options, vec![ContentSpec::Download(spec)], std::future::pending(), None),
    )
    .await??;
    let secs = start.elapsed().as_secs_f64();
    anyhow::ensure!(reports.first().is_some_and(|r| r.complete), "download did not complete: {reports:?}");
    let _ = stop_seeder.send(());
    seeder.await??;
    let _ = stop_server.send(());
    Ok(secs)
}
