//! Test harness: a real server on a real loopback port, real WebSocket clients, and a raw HTTP/1.1 GET.
//! Every wait has a deadline that only guards against a hang: tests wait on the event itself.
#![allow(dead_code, clippy::unwrap_used)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use signaling::{Config, Server};
use swarm::signal::{PeerId, PeerRequest, ServerEvent, SignalPayload, SwarmName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single expected event may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// The `signaling` binary started with `args` (its stderr to `stderr`), the address of the one line it prints
/// (`listening on SCHEME://ADDR`, `scheme` `http` or `https`), and its stdout after that line.
pub fn spawn_binary(
    args: &[&std::ffi::OsStr],
    scheme: &str,
    stderr: std::process::Stdio,
) -> (std::process::Child, SocketAddr, std::io::BufReader<std::process::ChildStdout>) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_signaling"))
        .args(["--listen", "127.0.0.1:0", "--www", "."])
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let prefix = format!("listening on {scheme}://");
    let addr = line.trim().strip_prefix(&prefix).unwrap_or_else(|| panic!("{line:?}")).parse().unwrap();
    (child, addr, stdout)
}

pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, future).await.unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

pub struct TestServer {
    pub server: Server,
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    pub www: tempfile::TempDir,
}

/// A server on 127.0.0.1:0 serving a small `www/` (index.html, pkg/peer_wasm_bg.wasm), configured by `tweak`.
pub async fn start(tweak: impl FnOnce(&mut Config)) -> TestServer {
    let www = tempfile::tempdir().unwrap();
    std::fs::write(www.path().join("index.html"), "<!doctype html><title>p2p-share</title>").unwrap();
    std::fs::create_dir(www.path().join("pkg")).unwrap();
    std::fs::write(www.path().join("pkg/peer_wasm_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let mut config = Config { listen: "127.0.0.1:0".parse().unwrap(), www: www.path().to_owned(), ..Config::default() };
    tweak(&mut config);
    let (tx, rx) = oneshot::channel::<()>();
    let server = Server::start(config, async move {
        let _ = rx.await;
    })
    .await
    .unwrap();
    TestServer { addr: server.addr, server, shutdown: Some(tx), www }
}

impl TestServer {
    pub async fn client(&self) -> Client {
        Client::connect(self.addr).await
    }

    /// Triggers shutdown and waits for the server task to finish.
    pub async fn shut_down(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        within("server shutdown", &mut self.server.handle).await.unwrap();
    }

    /// Waits until the server holds exactly `n` TCP connections (connection tasks end just after the client
    /// sees the close).
    pub async fn wait_connections(&self, n: usize) {
        within("connection count", async {
            while self.server.connections().0 != n {
                tokio::task::yield_now().await;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
    }

    pub async fn get(&self, path: &str) -> HttpResponse {
        http_get(self.addr, path).await
    }
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub struct Client {
    pub ws: Ws,
    pub id: PeerId,
    pub welcome: ServerEvent,
}

impl Client {
    /// Connects and reads the Welcome.
    pub async fn connect(addr: SocketAddr) -> Client {
        let (ws, _) = within("WebSocket connect", tokio_tungstenite::connect_async(format!("ws://{addr}/ws")))
            .await
            .expect("WebSocket handshake");
        Client::welcomed(ws).await
    }

    /// Reads the Welcome on a new session.
    async fn welcomed(ws: Ws) -> Client {
        let mut client = Client { ws, id: PeerId(String::new()), welcome: ServerEvent::Pong };
        let welcome = client.recv().await;
        let ServerEvent::Welcome { peer_id, .. } = &welcome else {
            panic!("first message is not a welcome: {welcome:?}")
        };
        client.id = peer_id.clone();
        client.welcome = welcome;
        client
    }

    /// Connects with a receive buffer of a few KiB, and reads the Welcome: a peer that stops reading makes the
    /// server's writes to it wait after a few frames, so what is sent to it queues on the server.
    pub async fn connect_small_buffer(addr: SocketAddr) -> Client {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let stream = within("TCP connect", socket.connect(addr)).await.unwrap();
        let handshake = tokio_tungstenite::client_async(format!("ws://{addr}/ws"), MaybeTlsStream::Plain(stream));
        let (ws, _) = within("WebSocket handshake", handshake).await.expect("WebSocket handshake");
        Client::welcomed(ws).await
    }

    /// The next event that is not a departure (`peer_left`).
    pub async fn recv_skipping_departures(&mut self) -> ServerEvent {
        loop {
            match self.recv().await {
                ServerEvent::PeerLeft { .. } => continue,
                other => return other,
            }
        }
    }

    pub async fn send(&mut self, request: &PeerRequest) {
        self.send_text(&serde_json::to_string(request).unwrap()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        within("send", self.ws.send(Message::text(text))).await.unwrap();
    }

    /// The next server event (WebSocket pings and pongs skipped).
    pub async fn recv(&mut self) -> ServerEvent {
        within("a server event", async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Text(text))) => return ServerEvent::parse(&text).unwrap(),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    other => panic!("expected a server event, got {other:?}"),
                }
            }
        })
        .await
    }

    /// The next event, which must be an error; returns its code.
    pub async fn recv_error(&mut self) -> swarm::signal::ErrorCode {
        match self.recv().await {
            ServerEvent::Error { code, .. } => code,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    pub async fn join(&mut self, swarm: &str) -> Vec<PeerId> {
        self.send(&PeerRequest::Join { swarm: name(swarm) }).await;
        match self.recv().await {
            ServerEvent::Joined { swarm: s, peers } if s == name(swarm) => peers,
            other => panic!("expected joined {swarm}, got {other:?}"),
        }
    }

    pub async fn signal(&mut self, to: &PeerId, payload: SignalPayload) {
        self.send(&PeerRequest::Signal { to: to.clone(), payload }).await;
    }

    /// Reads until the server closes; returns the close code (None if the stream ended without a close frame).
    pub async fn closed(&mut self) -> Option<u16> {
        within("the connection to close", async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => return None,
                }
            }
        })
        .await
    }

    /// Round trip through the server: proves the connection is open and served.
    pub async fn ping(&mut self) {
        self.send(&PeerRequest::Ping).await;
        assert_eq!(self.recv().await, ServerEvent::Pong);
    }
}

pub fn name(s: &str) -> SwarmName {
    SwarmName::parse(s).unwrap()
}

pub fn offer(sdp: &str) -> SignalPayload {
    SignalPayload::Offer { sdp: sdp.to_owned() }
}

pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A plain HTTP/1.1 GET with `Connection: close`, read to the end.
pub async fn http_get(addr: SocketAddr, path: &str) -> HttpResponse {
    within("an HTTP response", async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("end of the response head");
        let head = String::from_utf8(raw[..split].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        HttpResponse { status, headers, body: raw[split + 4..].to_vec() }
    })
    .await
}

/// The value of one sample line of `/metrics` (`name{labels} value`), or 0 if absent.
pub async fn metric(addr: SocketAddr, sample: &str) -> u64 {
    let body = String::from_utf8(http_get(addr, "/metrics").await.body).unwrap();
    body.lines()
        .find_map(|l| l.strip_prefix(sample).and_then(|rest| rest.strip_prefix(' ')))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0)
}

/// Reads one HTTP/1.1 response from `stream`: the head, then a `Content-Length` body (none without one), and
/// nothing more, so the connection can be used again.
pub async fn read_response(stream: &mut TcpStream) -> HttpResponse {
    within("an HTTP response", async {
        let mut raw = Vec::new();
        let mut byte = [0u8; 1];
        while !raw.ends_with(b"\r\n\r\n") {
            assert_eq!(stream.read(&mut byte).await.unwrap(), 1, "connection closed in a response head");
            raw.push(byte[0]);
        }
        let head = String::from_utf8(raw).unwrap();
        let mut lines = head.trim_end().split("\r\n");
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let len = headers.iter().find(|(n, _)| n == "content-length").map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = vec![0; len];
        stream.read_exact(&mut body).await.unwrap();
        HttpResponse { status, headers, body }
    })
    .await
}

/// Sends `request` (a whole HTTP/1.1 request head) on a new connection and reads the response.
pub async fn request(addr: SocketAddr, request: &str) -> HttpResponse {
    let mut stream = within("connect", TcpStream::connect(addr)).await.unwrap();
    within("send", stream.write_all(request.as_bytes())).await.unwrap();
    read_response(&mut stream).await
}

/// A WebSocket upgrade request for `/ws` with these extra header lines (each ending in `\r\n`).
pub fn upgrade_request(addr: SocketAddr, extra: &str) -> String {
    format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// A valid `Sec-WebSocket-Key` header line (RFC 6455's example key).
pub const GOOD_KEY: &str = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

/// Reads until the server closes the connection; returns what arrived meanwhile.
pub async fn until_closed(stream: &mut TcpStream, what: &str) -> Vec<u8> {
    let mut rest = Vec::new();
    // A reset counts as closed too.
    let _ = within(what, stream.read_to_end(&mut rest)).await;
    rest
}

/// A WebSocket client sending this `Origin` header (None: no header, as `swarm-peer` does): the Welcome, or the
/// HTTP status of the refusal.
pub async fn connect_with_origin(addr: SocketAddr, origin: Option<&str>) -> Result<Client, u16> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
    if let Some(origin) = origin {
        request.headers_mut().insert("origin", origin.parse().unwrap());
    }
    match within("WebSocket connect", tokio_tungstenite::connect_async(request)).await {
        Ok((ws, _)) => {
            let mut client = Client { ws, id: PeerId(String::new()), welcome: ServerEvent::Pong };
            client.welcome = client.recv().await;
            Ok(client)
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("WebSocket handshake failed without an HTTP status: {e}"),
    }
}

/// A real `redis-server` (`$REDIS_SERVER`, else Debian's), on a free loopback port, without persistence,
/// killed when dropped.
pub struct RedisServer {
    child: std::process::Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        RedisServer::start_on(port)
    }

    /// On `port`: how a test brings Redis back where the instances look for it.
    pub fn start_on(port: u16) -> RedisServer {
        use std::io::BufRead;
        let program = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "/usr/bin/redis-server".to_owned());
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new(&program)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {program} ({e}): `npm test` installs redis-server"));
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while !line.contains("Ready to accept connections") {
            line.clear();
            assert!(stdout.read_line(&mut line).unwrap() > 0, "redis-server exited before it was ready");
        }
        // Its log goes on being read, so that a full pipe never stops it.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        RedisServer { child, port, _dir: dir }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(self.url()).unwrap();
        within("a Redis connection", client.get_multiplexed_async_connection()).await.unwrap()
    }

    /// Kills it (SIGKILL) and waits until it is gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `condition` until it holds; the deadline only guards against a hang.
pub async fn until<F: Future<Output = bool>>(what: &str, mut condition: impl FnMut() -> F) {
    within(what, async {
        while !condition().await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}
