//! `signaling`: runs the signaling server until SIGINT or SIGTERM. Prints exactly one line on stdout,
//! `listening on http://<addr>`, once bound; logs go to stderr (`RUST_LOG` filters them, default `info`).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use signaling::{Config, Server};
use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    let config = Config::parse();
    // Each connection is a file descriptor; the usual soft limit of 1024 would cap the server far below its
    // configured connection limit.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open file limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open file limit"),
    }
    let signals = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()), signal(SignalKind::hangup()));
    let (sigint, sigterm, mut sighup) = match signals {
        (Ok(i), Ok(t), Ok(h)) => (i, t, h),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            eprintln!("signaling: cannot install signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = async move {
        let (mut sigint, mut sigterm) = (sigint, sigterm);
        tokio::select! {
            _ = sigint.recv() => {}
            _ = sigterm.recv() => {}
        }
    };
    let server = match Server::start(config, shutdown).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("signaling: {e}");
            return ExitCode::FAILURE;
        }
    };
    let scheme = if server.tls() { "https" } else { "http" };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on {scheme}://{}", server.addr);
    let _ = stdout.flush();
    // SIGHUP: the TLS certificate and key are read again (renewed certificates); the server runs on.
    let tls = server.tls_reloader();
    let mut handle = server.handle;
    let ended = loop {
        tokio::select! {
            ended = &mut handle => break ended,
            Some(()) = sighup.recv() => match tls.reload() {
                Ok(()) => tracing::info!("TLS certificate and key read again"),
                Err(e) => tracing::error!("TLS certificate not reloaded, the one in use stays: {e}"),
            },
        }
    };
    match ended {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("signaling: server task failed: {e}");
            ExitCode::FAILURE
        }
    }
}
