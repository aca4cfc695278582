//! `signaling`: runs the signaling server until SIGINT or SIGTERM. Prints exactly one line on stdout,
//! `listening on http://<addr>`, once bound; logs go to stderr (`RUST_LOG` filters them, default `info`).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use signaling::{Config, serve};
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
    let (sigint, sigterm) = match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
        (Ok(i), Ok(t)) => (i, t),
        (Err(e), _) | (_, Err(e)) => {
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
    let (addr, handle) = match serve(config, shutdown).await {
        Ok(bound) => bound,
        Err(e) => {
            eprintln!("signaling: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on http://{addr}");
    let _ = stdout.flush();
    match handle.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("signaling: server task failed: {e}");
            ExitCode::FAILURE
        }
    }
}
