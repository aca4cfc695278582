//! The server: the accept loop, the routes, and shutdown.
//!
//! The accept loop is ours rather than `warp::serve`'s so that a connection is admitted (per-address and total
//! limits) before any byte of it is read, the HTTP request head has a deadline, TCP_NODELAY is set for small
//! signaling frames, and shutdown can close WebSockets (which hyper's graceful shutdown does not track once
//! upgraded). warp does the routing and the static files. The WebSocket upgrade is done here too (hyper's
//! upgrade, tokio-tungstenite's stream) because warp's own does not let us size the WebSocket buffers, which
//! are most of a connection's memory.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use swarm::signal::IceServer;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service;
use warp::Filter;
use warp::http::header::{HeaderMap, HeaderValue};

use crate::admission::{Admission, Refused, Slot};
use crate::config::{Config, Limits};
use crate::connection;
use crate::hub::{Hub, HubLimits, StateSize};
use crate::metrics::{ConnectionEnd, Metrics};
use crate::outbox::OutboxLimits;

/// The Content-Security-Policy of the web app: its own scripts, plus WebAssembly compilation
/// (`'wasm-unsafe-eval'`, without allowing `eval` of strings); connections to its own origin (the WebSocket);
/// blob: and data: for downloads and the QR code image; no plugins, no framing, no base-URL tricks.
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; \
    img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; worker-src 'self' blob:; \
    object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

/// State shared by the accept loop, the routes and every connection task.
#[derive(Debug)]
pub struct Shared {
    pub limits: Limits,
    pub ice_servers: Vec<IceServer>,
    pub metrics: Arc<Metrics>,
    pub admission: Arc<Admission>,
    /// Cancelled at shutdown: every WebSocket task sends a Going Away close and ends.
    pub cancel: CancellationToken,
    /// Every connection task, HTTP or WebSocket: shutdown waits for them.
    pub tracker: TaskTracker,
    hub: Mutex<Hub>,
}

impl Shared {
    /// The hub's lock. A panic while holding it would be a bug; the state it guards stays consistent per
    /// operation, so a poisoned lock is still used rather than taking the whole server down.
    pub fn hub(&self) -> MutexGuard<'_, Hub> {
        self.hub.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn state_size(&self) -> StateSize {
        self.hub().state_size()
    }

    fn render_metrics(&self) -> String {
        let state = self.state_size();
        self.metrics.render(self.admission.total(), state)
    }
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    /// The bound address (the real port when the configuration asked for port 0).
    pub addr: SocketAddr,
    /// Finishes once the server has shut down: listener closed, WebSockets closed, HTTP requests done.
    pub handle: JoinHandle<()>,
    shared: Arc<Shared>,
}

impl Server {
    /// Binds and starts serving; the server runs until `shutdown` completes.
    pub async fn start(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<Server> {
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let limits = config.limits.clone();
        let metrics = Arc::new(Metrics::default());
        let hub_limits = HubLimits {
            max_swarms_per_peer: limits.max_swarms_per_peer,
            max_swarm_members: limits.max_swarm_members,
            max_peers_per_join: limits.max_peers_per_join,
            outbox: OutboxLimits { capacity: limits.send_queue, per_sender: limits.send_queue_per_sender },
            departures_per_sec: limits.departures_per_sec,
        };
        let shared = Arc::new(Shared {
            admission: Admission::new(limits.max_connections_per_ip, limits.max_connections),
            hub: Mutex::new(Hub::new(hub_limits, Arc::clone(&metrics))),
            metrics,
            ice_servers: config.ice_servers.clone(),
            cancel: CancellationToken::new(),
            tracker: TaskTracker::new(),
            limits,
        });
        let handle = tokio::spawn(accept_loop(listener, Arc::clone(&shared), config.www, shutdown));
        tracing::info!(%addr, "listening");
        Ok(Server { addr, handle, shared })
    }

    /// How much the hub holds right now.
    pub fn state_size(&self) -> StateSize {
        self.shared.state_size()
    }

    /// TCP connections held right now, and the distinct client addresses holding them.
    pub fn connections(&self) -> (usize, usize) {
        (self.shared.admission.total(), self.shared.admission.addresses())
    }

    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }
}

/// The library entry point of the interface contract: binds, returns the bound address at once, and a handle
/// that finishes after graceful shutdown.
pub async fn serve(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let server = Server::start(config, shutdown).await?;
    Ok((server.addr, server.handle))
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    www: PathBuf,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let service = warp::service(routes(Arc::clone(&shared), www));
    let graceful = GracefulShutdown::new();
    // HTTP/1 only: browsers open the WebSocket over HTTP/1.1, and static files are few.
    let mut http = auto::Builder::new(TokioExecutor::new());
    http.http1().timer(TokioTimer::new()).header_read_timeout(shared.limits.header_timeout());
    let http = http.http1_only();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors or the like: back off rather than spin; connections already held
                    // keep being served meanwhile.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let slot = match shared.admission.admit(remote.ip()) {
            Ok(slot) => Arc::new(slot),
            Err(refused) => {
                shared.metrics.connection_ended(match refused {
                    Refused::PerIp => ConnectionEnd::refused_per_ip,
                    Refused::Capacity => ConnectionEnd::refused_capacity,
                });
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let hyper_service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            // The route handlers find the connection's slot here; a WebSocket keeps a reference to it.
            request.extensions_mut().insert(Arc::clone(&slot));
            service.clone().call(request)
        });
        let connection = http.serve_connection_with_upgrades(TokioIo::new(stream), hyper_service);
        let connection = graceful.watch(connection.into_owned());
        shared.tracker.spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "HTTP connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down");
    shared.cancel.cancel();
    let grace = shared.limits.shutdown_grace();
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
        tracing::warn!("HTTP connections still open after the shutdown grace period");
    }
    shared.tracker.close();
    if tokio::time::timeout(grace, shared.tracker.wait()).await.is_err() {
        tracing::warn!("connection tasks still running after the shutdown grace period");
    }
}

fn routes(
    shared: Arc<Shared>,
    www: PathBuf,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone + Send + Sync + 'static {
    let with_shared = warp::any().map(move || Arc::clone(&shared));
    let ws = warp::path("ws")
        .and(warp::path::end())
        .and(warp::get())
        .and(warp::header::headers_cloned())
        .and(warp::ext::optional::<OnUpgrade>())
        .and(warp::ext::optional::<Arc<Slot>>())
        .and(with_shared.clone())
        .and_then(|headers: HeaderMap, on_upgrade: Option<OnUpgrade>, slot: Option<Arc<Slot>>, shared: Arc<Shared>| async move {
            // Not an upgrade request: not found (like any path without a file), never a server error.
            let (Some(accept), Some(on_upgrade), Some(slot)) = (websocket_accept(&headers), on_upgrade, slot) else {
                return Err(warp::reject::not_found());
            };
            let tracker = shared.tracker.clone();
            tracker.spawn(async move {
                let Ok(upgraded) = on_upgrade.await else { return };
                let ws = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(websocket_config(&shared.limits)),
                )
                .await;
                connection::run(ws, shared, slot).await;
            });
            let mut response = warp::http::Response::new(warp::hyper::body::Bytes::new());
            *response.status_mut() = warp::http::StatusCode::SWITCHING_PROTOCOLS;
            let headers = response.headers_mut();
            headers.insert("connection", HeaderValue::from_static("upgrade"));
            headers.insert("upgrade", HeaderValue::from_static("websocket"));
            headers.insert("sec-websocket-accept", accept);
            Ok::<_, warp::Rejection>(response)
        });
    let healthz = warp::path("healthz").and(warp::path::end()).and(warp::get()).map(|| "ok\n");
    let metrics =
        warp::path("metrics").and(warp::path::end()).and(warp::get()).and(with_shared).map(|shared: Arc<Shared>| {
            warp::reply::with_header(
                shared.render_metrics(),
                "content-type",
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )
        });
    let files = warp::get().and(warp::fs::dir(www)).with(warp::reply::with::headers(security_headers()));
    ws.or(healthz).or(metrics).or(files)
}

/// The `Sec-WebSocket-Accept` value for a valid WebSocket upgrade request (RFC 6455, section 4.2.1), or None.
fn websocket_accept(headers: &HeaderMap) -> Option<HeaderValue> {
    let has_token = |name: &str, token: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    if !has_token("connection", "upgrade") || !has_token("upgrade", "websocket") {
        return None;
    }
    if headers.get("sec-websocket-version")?.as_bytes() != b"13" {
        return None;
    }
    let key = headers.get("sec-websocket-key")?;
    HeaderValue::from_str(&derive_accept_key(key.as_bytes())).ok()
}

/// The WebSocket layer's buffers, sized for small signaling frames. tungstenite's defaults (128 KiB read and
/// write buffers, the read buffer zero-filled and so resident) would cost 128 KiB of memory per connection;
/// 4 KiB holds any usual frame in one read, and larger ones grow the buffer as needed. Frames above the
/// protocol limit get an error reply; far above it (4x), the WebSocket layer closes the connection without
/// buffering them.
fn websocket_config(limits: &Limits) -> WebSocketConfig {
    let hard_limit = 4 * limits.max_frame_bytes;
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        // Every send is flushed at once: nothing accumulates.
        .write_buffer_size(0)
        .max_write_buffer_size(2 * hard_limit)
        .max_message_size(Some(hard_limit))
        .max_frame_size(Some(hard_limit))
}

fn security_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    let pairs = [
        ("content-security-policy", CSP),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
        ("permissions-policy", "camera=(), microphone=(), geolocation=()"),
        // Revalidate every time (warp sends Last-Modified): a new build is picked up at once.
        ("cache-control", "no-cache"),
    ];
    for (name, value) in pairs {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
}
