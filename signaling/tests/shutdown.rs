//! Graceful shutdown: through the library's shutdown future, and through SIGTERM to the binary.

mod common;

use std::process::{Command, Stdio};

use common::{Client, start, within};

const GOING_AWAY: u16 = 1001;

#[tokio::test]
async fn shutdown_closes_websockets_with_going_away_and_the_handle_finishes() {
    let server = start(|_| {}).await;
    let mut a = server.client().await;
    let mut b = server.client().await;
    a.join("s").await;
    b.join("s").await;
    let closes = tokio::spawn(async move { (a.closed().await, b.closed().await) });
    server.shut_down().await;
    assert_eq!(within("the clients' closes", closes).await.unwrap(), (Some(GOING_AWAY), Some(GOING_AWAY)));
    // `shut_down` waited for the handle, so the accept loop has ended and dropped its listener. (A refused
    // connect to the old address would prove nothing: tests run in parallel and another may hold the port now.)
}

#[tokio::test]
async fn the_binary_prints_its_address_and_exits_cleanly_on_sigterm() {
    let (mut child, addr, mut stdout) = common::spawn_binary(&[], "http", Stdio::null());
    let mut a = Client::connect(addr).await;
    a.ping().await;
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    assert_eq!(a.closed().await, Some(GOING_AWAY));
    let exit = within("the server to exit", tokio::task::spawn_blocking(move || child.wait())).await.unwrap().unwrap();
    assert!(exit.success(), "{exit:?}");
    // Exactly one line on stdout.
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(rest, "");
}
