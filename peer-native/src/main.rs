//! `swarm-peer`: see `swarm-peer --help` and the crate documentation of `peer_native`.

use clap::Parser;

/// Log filter unless RUST_LOG says otherwise: this crate's warnings, and only errors from the WebRTC stack, whose
/// warnings are routine on every connection (a STUN check before the answer, candidates that cannot pair) and mean
/// nothing to a user. A target matches by prefix: `rtc` also covers `rtc_ice`, `rtc_dtls`, `rtc_sctp`.
const QUIET_LIBRARIES: &str = "warn,webrtc=error,rtc=error";

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| QUIET_LIBRARIES.into()),
        )
        .with_writer(std::io::stderr)
        // Colours on a terminal only: a log redirected to a file or read by another program gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
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
