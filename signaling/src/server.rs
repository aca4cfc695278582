//! The server: the accept loop, the routes, and shutdown.
//!
//! The accept loop is ours rather than `warp::serve`'s so that a connection is admitted (per-address, per-prefix
//! and total limits) before any byte of it is read, every connection has a deadline from its accept to a complete
//! request head (`deadline.rs`), TCP_NODELAY is set for small signaling frames, and shutdown can close WebSockets
//! (which hyper's graceful shutdown does not track once upgraded). warp does the routing and the static files. The WebSocket upgrade is done here too (hyper's
//! upgrade, tokio-tungstenite's stream) because warp's own does not let us size the WebSocket buffers, which
//! are most of a connection's memory.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use swarm::signal::{ErrorCode, IceServer, PeerId, SignalPayload, SwarmName};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service;
use warp::Filter;
use warp::http::header::{self, HeaderMap, HeaderValue};
use warp::http::{Response, StatusCode};
use warp::hyper::body::Bytes;

use crate::admission::{Admission, Refused, Slot};
use crate::cluster::{Cluster, ClusterLimits, Unavailable};
use crate::config::{Config, Limits};
use crate::connection;
use crate::deadline::{self, Activity, TrackedBody, Watched};
use crate::hub::{Hub, HubLimits, StateSize};
use crate::id::Id;
use crate::metrics::{ConnectionEnd, Metrics, UpgradeRefusal};
use crate::origin::{self, AllowedOrigin};
use crate::outbox::OutboxLimits;
use crate::proxy::{self, Cidr};
use crate::tls::Tls;
use crate::turn::TurnRest;

/// The Content-Security-Policy of the web app: its own scripts, plus WebAssembly compilation
/// (`'wasm-unsafe-eval'`, without allowing `eval` of strings); connections to its own origin (the WebSocket);
/// blob: and data: for downloads and the QR code image; no plugins, no framing, no base-URL tricks.
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; \
    img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; worker-src 'self' blob:; \
    object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";
/// The Content-Security-Policy of every other response (`/healthz`, `/metrics`, errors): nothing in it may load
/// or run anything, or be framed.
const CSP_NONE: &str = "default-src 'none'; frame-ancestors 'none'";

/// Longest request path served from `www/`, in bytes, and longest segment of it (a file name's usual limit):
/// longer ones are not looked up at all.
const MAX_PATH_LEN: usize = 1024;
const MAX_SEGMENT_LEN: usize = 255;

/// State shared by the accept loop, the routes and every connection task.
#[derive(Debug)]
pub struct Shared {
    pub limits: Limits,
    pub ice_servers: Vec<IceServer>,
    /// `--turn-url` with `--turn-secret`: credentials of their own for every connection.
    pub turn: Option<TurnRest>,
    /// `--tls-cert` and `--tls-key`: https and wss.
    pub tls: Option<Tls>,
    /// `--trust-proxy`: whose forwarding headers name the client.
    pub trusted_proxies: Vec<Cidr>,
    /// `--allowed-origin`: empty means the server's own origin only.
    pub allowed_origins: Vec<AllowedOrigin>,
    pub metrics: Arc<Metrics>,
    pub admission: Arc<Admission>,
    /// Cancelled at shutdown: every WebSocket task sends a Going Away close and ends.
    pub cancel: CancellationToken,
    /// Every connection task, HTTP or WebSocket: shutdown waits for them.
    pub tracker: TaskTracker,
    /// `--redis`: this instance's link to the others of the service.
    pub cluster: Option<Arc<Cluster>>,
    hub: Arc<Mutex<Hub>>,
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

    /// The ICE servers for `peer` now: `--ice-server`'s, and the TURN server with credentials of its own.
    pub fn ice_servers_for(&self, peer: &PeerId) -> Vec<IceServer> {
        let mut servers = self.ice_servers.clone();
        servers.extend(self.turn.as_ref().map(|turn| turn.ice_server(peer, SystemTime::now())));
        servers
    }

    /// Joins `swarm`: on this instance, then, in a cluster, in Redis, whose sample and `swarm_full` cover every
    /// instance. With Redis unreachable, this instance's members are the sample.
    pub async fn join(&self, id: Id, swarm: SwarmName, now: tokio::time::Instant) -> Result<Vec<PeerId>, ErrorCode> {
        let (already, local) = {
            let mut hub = self.hub();
            (hub.is_member(id, &swarm), hub.join(id, swarm.clone(), now)?)
        };
        let Some(cluster) = &self.cluster else { return Ok(local) };
        // Boxed, here and below: a Redis call's future is large, and inline it would make every connection's task
        // that much larger, in a cluster or not.
        match Box::pin(cluster.join(&swarm, id)).await {
            Ok(Some(sample)) => Ok(sample),
            Ok(None) => {
                // Full across the cluster: a new membership is undone here, where nobody was told of it.
                if !already {
                    let _ = self.hub().leave(id, &swarm, now);
                }
                Err(ErrorCode::SwarmFull)
            }
            Err(Unavailable) => Ok(local),
        }
    }

    /// Leaves `swarm`; the members are told (in a cluster, through Redis).
    pub async fn leave(&self, id: Id, swarm: &SwarmName, now: tokio::time::Instant) -> Result<(), ErrorCode> {
        self.hub().leave(id, swarm, now)?;
        if self.cluster.is_some() {
            Box::pin(self.departed(id, swarm, now)).await;
        }
        Ok(())
    }

    /// Removes a peer whose session ended, with its memberships.
    pub async fn remove(&self, id: Id, now: tokio::time::Instant) {
        let swarms = self.hub().remove(id, now);
        if self.cluster.is_some() {
            Box::pin(futures::future::join_all(swarms.iter().map(|swarm| self.departed(id, swarm, now)))).await;
        }
    }

    /// Relays a signal, to a peer here or, in a cluster, on its instance.
    pub async fn relay(&self, from: Id, to: &PeerId, payload: SignalPayload) -> Result<(), ErrorCode> {
        let remote = self.hub().relay(from, to, payload)?;
        match (remote, &self.cluster) {
            (None, _) => Ok(()),
            (Some(remote), Some(cluster)) => Box::pin(cluster.relay(remote)).await,
            (Some(_), None) => Err(ErrorCode::UnknownPeer),
        }
    }

    /// In a cluster, the departure the hub left to announce: through Redis, or from here if it is unreachable.
    async fn departed(&self, id: Id, swarm: &SwarmName, now: tokio::time::Instant) {
        if let Some(cluster) = &self.cluster
            && cluster.leave(swarm, id).await.is_err()
        {
            self.hub().announce_departure(id, swarm, now);
        }
    }

    /// The body of `/healthz`.
    fn health(&self) -> &'static str {
        match &self.cluster {
            Some(cluster) if !cluster.is_up() => "degraded: Redis unreachable, serving this instance's peers only\n",
            _ => "ok\n",
        }
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
    /// Binds and starts serving; the server runs until `shutdown` completes. An error says what failed (the TURN
    /// secret file, the address).
    pub async fn start(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<Server> {
        let turn = match &config.turn.turn_secret {
            Some(file) => {
                let ttl = Duration::from_secs(config.turn.turn_ttl);
                Some(TurnRest::load(config.turn.turn_urls.clone(), file, ttl).map_err(std::io::Error::other)?)
            }
            None => None,
        };
        let tls = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => Some(Tls::load(cert, key).map_err(std::io::Error::other)?),
            _ => None,
        };
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {}: {e}", config.listen)))?;
        let addr = listener.local_addr()?;
        let limits = config.limits.clone();
        let instance = config.cluster.redis.as_ref().map(|_| Cluster::random_instance());
        let metrics = Arc::new(Metrics::new(instance.is_some()));
        let hub_limits = HubLimits {
            max_swarms_per_peer: limits.max_swarms_per_peer,
            max_swarm_members: limits.max_swarm_members,
            max_peers_per_join: limits.max_peers_per_join,
            outbox: OutboxLimits { capacity: limits.send_queue, per_sender: limits.send_queue_per_sender },
            departures_per_sec: limits.departures_per_sec,
        };
        let hub = Arc::new(Mutex::new(Hub::new(hub_limits, Arc::clone(&metrics), instance)));
        let cancel = CancellationToken::new();
        let cluster = match (&config.cluster.redis, instance) {
            (Some(url), Some(instance)) => {
                let cluster_limits = ClusterLimits {
                    max_swarm_members: limits.max_swarm_members,
                    max_peers_per_join: limits.max_peers_per_join,
                    departures_per_sec: limits.departures_per_sec,
                    lease: Duration::from_millis(config.cluster.redis_lease_ms),
                };
                let (hub, metrics) = (Arc::clone(&hub), Arc::clone(&metrics));
                let cluster = Cluster::start(url, instance, cluster_limits, hub, metrics, cancel.clone()).await;
                Some(cluster.map_err(std::io::Error::other)?)
            }
            _ => None,
        };
        let shared = Arc::new(Shared {
            admission: Admission::new(
                limits.max_connections_per_ip,
                limits.max_connections_per_prefix,
                limits.max_connections,
            ),
            hub: Arc::clone(&hub),
            cluster,
            metrics,
            ice_servers: config.ice_servers.clone(),
            turn,
            tls,
            trusted_proxies: config.trust_proxy.clone(),
            allowed_origins: config.allowed_origins.clone(),
            cancel,
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

    /// Whether it serves https and wss.
    pub fn tls(&self) -> bool {
        self.shared.tls.is_some()
    }

    /// What reads the TLS certificate and key files again (on SIGHUP), for as long as the server runs.
    pub fn tls_reloader(&self) -> TlsReloader {
        TlsReloader(Arc::clone(&self.shared))
    }
}

/// See [`Server::tls_reloader`].
#[derive(Debug, Clone)]
pub struct TlsReloader(Arc<Shared>);

impl TlsReloader {
    /// Reads the files again; on an error the ones in use stay. Without TLS, nothing to do.
    pub fn reload(&self) -> Result<(), String> {
        self.0.tls.as_ref().map_or(Ok(()), Tls::reload)
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
        let admitted = if proxy::trusted(&shared.trusted_proxies, remote.ip()) {
            shared.admission.admit_proxied()
        } else {
            shared.admission.admit(remote.ip())
        };
        let slot = match admitted {
            Ok(slot) => Arc::new(slot),
            Err(refused) => {
                shared.metrics.connection_ended(refusal_end(refused));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let activity = Activity::new();
        let service = service.clone();
        let hyper_service = {
            let activity = Arc::clone(&activity);
            hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                // The route handlers find the connection's slot here; a WebSocket keeps a reference to it.
                request.extensions_mut().insert(Arc::clone(&slot));
                let busy = activity.busy();
                let response = service.clone().call(request);
                async move {
                    let response = response.await?;
                    Ok::<_, Infallible>(response.map(|body| TrackedBody::new(body, busy)))
                }
            })
        };
        let watched = Watched::new(stream, Arc::clone(&activity));
        let tls = shared.tls.as_ref().map(Tls::acceptor);
        let (http, watcher) = (http.clone(), graceful.watcher());
        let (header_timeout, write_timeout) = (shared.limits.header_timeout(), shared.limits.write_timeout());
        let metrics = Arc::clone(&shared.metrics);
        shared.tracker.spawn(async move {
            // The TLS handshake is under the same deadline as the request head that follows it.
            let io = match tls {
                Some(acceptor) => {
                    let handshake = tokio::select! {
                        done = acceptor.accept(watched) => done,
                        () = deadline::expired(&activity, header_timeout, write_timeout) => {
                            metrics.connection_ended(ConnectionEnd::http_timeout);
                            return;
                        }
                    };
                    match handshake {
                        Ok(stream) => Either::Left(stream),
                        Err(e) => {
                            tracing::debug!(error = %e, "TLS handshake failed");
                            return;
                        }
                    }
                }
                None => Either::Right(watched),
            };
            let connection = http.serve_connection_with_upgrades(TokioIo::new(io), hyper_service);
            let connection = watcher.watch(connection.into_owned());
            // Dropping the connection closes the socket and frees its slot (unless a WebSocket took it over: then
            // the connection future has already finished, and this deadline with it).
            tokio::select! {
                ended = connection => if let Err(e) = ended {
                    tracing::debug!(error = %e, "HTTP connection ended with an error");
                },
                () = deadline::expired(&activity, header_timeout, write_timeout) => {
                    metrics.connection_ended(ConnectionEnd::http_timeout);
                }
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
) -> impl Filter<Extract = (impl warp::Reply,), Error = Infallible> + Clone + Send + Sync + 'static {
    let with_shared = warp::any().map(move || Arc::clone(&shared));
    let ws = warp::path("ws")
        .and(warp::path::end())
        .and(warp::get())
        .and(warp::header::headers_cloned())
        .and(warp::ext::optional::<OnUpgrade>())
        .and(warp::ext::optional::<Arc<Slot>>())
        .and(with_shared.clone())
        .and_then(upgrade);
    let healthz = warp::path("healthz")
        .and(warp::path::end())
        .and(warp::get())
        .and(with_shared.clone())
        .map(|shared: Arc<Shared>| shared.health());
    let metrics =
        warp::path("metrics").and(warp::path::end()).and(warp::get()).and(with_shared).map(|shared: Arc<Shared>| {
            warp::reply::with_header(
                shared.render_metrics(),
                "content-type",
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )
        });
    let files = warp::get()
        .and(servable_path(www.clone()))
        .and(warp::fs::dir(www))
        .with(warp::reply::with::headers(app_headers()));
    ws.or(healthz)
        .or(metrics)
        .or(files)
        .recover(answer_rejection)
        .with(warp::reply::with::headers(security_headers()))
        .with(warp::reply::with::default_header("content-security-policy", CSP_NONE))
        .with(warp::reply::with::default_header("cache-control", "no-store"))
}

/// `/ws`: a valid WebSocket upgrade from an allowed origin is switched to the signaling protocol.
async fn upgrade(
    headers: HeaderMap,
    on_upgrade: Option<OnUpgrade>,
    slot: Option<Arc<Slot>>,
    shared: Arc<Shared>,
) -> Result<Response<Bytes>, warp::Rejection> {
    // Not an upgrade request: not found (like any path without a file), never a server error.
    if !has_token(&headers, header::CONNECTION, "upgrade") || !has_token(&headers, header::UPGRADE, "websocket") {
        return Err(warp::reject::not_found());
    }
    let accept = match websocket_accept(&headers) {
        Ok(accept) => accept,
        Err(reason) => {
            shared.metrics.upgrade_refused(UpgradeRefusal::bad_handshake);
            let mut response = plain(StatusCode::BAD_REQUEST, reason);
            response.headers_mut().insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
            return Ok(response);
        }
    };
    let single = |name| {
        let mut values = headers.get_all(name).iter();
        values.next().filter(|_| values.next().is_none()).map(HeaderValue::as_bytes)
    };
    // Two Origin headers are treated as a bad one: refused unless any origin is allowed.
    let origin = if headers.contains_key(header::ORIGIN) { Some(single(header::ORIGIN).unwrap_or(b"")) } else { None };
    if !origin::allows(&shared.allowed_origins, origin, single(header::HOST)) {
        shared.metrics.upgrade_refused(UpgradeRefusal::origin);
        return Ok(plain(StatusCode::FORBIDDEN, "this origin may not open a signaling session\n"));
    }
    let (Some(on_upgrade), Some(slot)) = (on_upgrade, slot) else {
        return Err(warp::reject::not_found());
    };
    // Through a trusted proxy: the client it names takes its place for the per-address limits now.
    let client = if slot.proxied() {
        let Some(ip) = proxy::client_address(&headers, &shared.trusted_proxies) else {
            shared.metrics.upgrade_refused(UpgradeRefusal::bad_handshake);
            return Ok(plain(StatusCode::BAD_REQUEST, "a trusted proxy must name the client (X-Forwarded-For)\n"));
        };
        match shared.admission.admit_client(ip) {
            Ok(client) => Some(client),
            Err(refused) => {
                shared.metrics.connection_ended(refusal_end(refused));
                return Ok(plain(StatusCode::SERVICE_UNAVAILABLE, "too many connections from your address\n"));
            }
        }
    } else {
        None
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
        connection::run(ws, shared, (slot, client)).await;
    });
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    Ok(response)
}

/// How a connection refused at admission is counted.
fn refusal_end(refused: Refused) -> ConnectionEnd {
    match refused {
        Refused::PerIp => ConnectionEnd::refused_per_ip,
        Refused::PerPrefix => ConnectionEnd::refused_per_prefix,
        Refused::Capacity => ConnectionEnd::refused_capacity,
    }
}

/// A short text response.
fn plain(status: StatusCode, text: &'static str) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from_static(text.as_bytes()));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

/// Whether a header (any of its values) lists `token`, as `Connection: keep-alive, Upgrade` lists `upgrade`.
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

/// The `Sec-WebSocket-Accept` value for an upgrade request's version and key (RFC 6455, section 4.2.1), or why
/// there is none.
fn websocket_accept(headers: &HeaderMap) -> Result<HeaderValue, &'static str> {
    let mut versions = headers.get_all(header::SEC_WEBSOCKET_VERSION).iter();
    if versions.next().map(HeaderValue::as_bytes) != Some(b"13") || versions.next().is_some() {
        return Err("only WebSocket version 13 is supported\n");
    }
    let mut keys = headers.get_all(header::SEC_WEBSOCKET_KEY).iter();
    let key = match (keys.next(), keys.next()) {
        (Some(key), None) => WebSocketKey::parse(key.as_bytes()),
        _ => None,
    };
    let key = key.ok_or("Sec-WebSocket-Key must be the base64 of 16 bytes\n")?;
    HeaderValue::from_str(&derive_accept_key(key.0)).map_err(|_| "Sec-WebSocket-Key must be the base64 of 16 bytes\n")
}

/// A `Sec-WebSocket-Key`: the base64 of exactly 16 bytes (RFC 6455, section 4.2.1), padded, with no stray bits
/// in its last character (as every client's encoder writes it; `data_encoding`'s BASE64 is that strict).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WebSocketKey<'a>(&'a [u8]);

impl<'a> WebSocketKey<'a> {
    fn parse(value: &'a [u8]) -> Option<WebSocketKey<'a>> {
        let sixteen = value.len() == 24 && data_encoding::BASE64.decode(value).is_ok_and(|bytes| bytes.len() == 16);
        sixteen.then_some(WebSocketKey(value))
    }
}

/// Passes only request paths that `warp::fs::dir` can look up without a server error: percent-decoded, no
/// control character (a NUL cannot be in a file name), no `..` or `\` segment, within the length limits, and
/// whose directory part is a directory of `www` (`/app.js/` would otherwise be an error opening a file as a
/// directory). Anything else is a plain 404, without warp's error log line, so that odd requests cannot flood
/// the log.
fn servable_path(www: PathBuf) -> impl Filter<Extract = (), Error = warp::Rejection> + Clone + Send + Sync + 'static {
    let www = Arc::new(www);
    warp::path::full()
        .and_then(move |path: warp::path::FullPath| {
            let www = Arc::clone(&www);
            async move {
                let Some(relative) = file_path(path.as_str()) else { return Err(warp::reject::not_found()) };
                let directory = relative.rsplit_once('/').map(|(directory, _)| directory);
                if let Some(directory) = directory {
                    let is_directory = tokio::fs::metadata(www.join(directory)).await.is_ok_and(|m| m.is_dir());
                    if !is_directory {
                        return Err(warp::reject::not_found());
                    }
                }
                Ok(())
            }
        })
        .untuple_one()
}

/// The path below `www` that a request path names, percent-decoded, if it is one that can be looked up.
fn file_path(path: &str) -> Option<String> {
    if path.len() > MAX_PATH_LEN {
        return None;
    }
    let decoded = String::from_utf8(percent_decode(path.strip_prefix('/')?)?).ok()?;
    let fine = |segment: &str| {
        segment.len() <= MAX_SEGMENT_LEN
            && !segment.starts_with("..")
            && !segment.chars().any(|c| c.is_control() || c == '\\')
    };
    decoded.split('/').all(fine).then_some(decoded)
}

/// `%XX` escapes decoded; None if one is malformed.
fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let digit = |h: u8| char::from(h).to_digit(16);
            out.push(u8::try_from(digit(hex[0])? * 16 + digit(hex[1])?).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Some(out)
}

/// What a refused request gets: 404 for any path that is not served, 405 for a method that is not GET; any
/// other rejection (a file that exists but cannot be opened) is the server's fault.
async fn answer_rejection(rejection: warp::Rejection) -> Result<Response<Bytes>, Infallible> {
    Ok(if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        plain(StatusCode::METHOD_NOT_ALLOWED, "only GET is served\n")
    } else if rejection.is_not_found() {
        plain(StatusCode::NOT_FOUND, "not found\n")
    } else {
        plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n")
    })
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

/// The headers of every response: no MIME sniffing, no referrer, no framing, no cross-origin embedding or
/// window handles, no powerful features.
fn security_headers() -> HeaderMap {
    header_map(&[
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
        ("permissions-policy", "camera=(), microphone=(), geolocation=()"),
    ])
}

/// The headers of the web app's files, on top of [`security_headers`].
fn app_headers() -> HeaderMap {
    header_map(&[
        ("content-security-policy", CSP),
        // Revalidate every time (warp sends Last-Modified): a new build is picked up at once.
        ("cache-control", "no-cache"),
    ])
}

fn header_map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for &(name, value) in pairs {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use tokio_tungstenite::tungstenite::handshake::client::generate_key;

    use super::*;

    #[test]
    fn every_key_a_websocket_client_generates_is_accepted() {
        for _ in 0..1000 {
            let key = generate_key();
            assert!(WebSocketKey::parse(key.as_bytes()).is_some(), "{key}");
        }
    }

    proptest! {
        #[test]
        fn a_websocket_key_is_accepted_only_as_the_base64_of_16_bytes(key in "[A-Za-z0-9+/=!]{20,26}") {
            if WebSocketKey::parse(key.as_bytes()).is_some() {
                // 22 characters of 6 bits carry 132 bits: the last 4 must be zero, and `==` ends it.
                let value = |c: u8| {
                    (b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".iter().position(|&a| a == c)).unwrap()
                };
                prop_assert_eq!(key.len(), 24);
                prop_assert!(key.ends_with("=="));
                prop_assert_eq!(value(key.as_bytes()[21]) & 0xf, 0);
            }
        }

        #[test]
        fn a_file_path_never_holds_a_control_character_a_dot_dot_or_a_backslash(path in "/[a-z./\\\\%0-9A-F\u{0}-\u{1f}]{0,40}") {
            if let Some(relative) = file_path(&path) {
                prop_assert!(!relative.chars().any(char::is_control), "{:?}", relative);
                prop_assert!(!relative.split('/').any(|s| s.starts_with("..") || s.contains('\\')), "{:?}", relative);
            }
        }
    }

    #[test]
    fn file_paths_are_percent_decoded_and_odd_ones_refused() {
        assert_eq!(file_path("/pkg/a%20b.wasm").as_deref(), Some("pkg/a b.wasm"));
        assert_eq!(file_path("/").as_deref(), Some(""));
        for odd in ["/index.html%00.js", "/%2e%2e/x", "/a%5cb", "/a%2", "/a%zz", "/%ff", "x", "/%0a"] {
            assert_eq!(file_path(odd), None, "{odd}");
        }
        assert_eq!(file_path(&format!("/{}", "a".repeat(MAX_SEGMENT_LEN + 1))), None);
        assert_eq!(file_path(&format!("/{}", "a/".repeat(MAX_PATH_LEN / 2))), None);
    }
}
