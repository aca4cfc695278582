//! `swarm-peer`: see `swarm-peer --help` and the crate documentation of `peer_native`.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = peer_native::cli::Cli::parse();
    let shutdown = async {
        // If the handler cannot be installed, run until done instead of stopping at once.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    match peer_native::run_cli(cli, shutdown).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("swarm-peer: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
