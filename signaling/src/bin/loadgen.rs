//! `loadgen`: load generator for the signaling server (BENCHMARKS.md, "Signaling server: load generator").
//!
//! Starts the `signaling` binary as its own process (so its memory is its own), opens N WebSocket clients on
//! loopback, has each join a swarm of `--swarm-size` members, and measures the server's resident memory per
//! connection from `/proc/<pid>/status` before and after. Then it relays offers at a fixed rate between random
//! members of a swarm, each receiver answering at once, and reports relays delivered per second and the
//! one-way relay latency (send to receive, both in this process, so one clock) at p50/p99/max, and the server's
//! CPU time over the relay phase from `/proc/<pid>/stat`. Prints a Markdown block for
//! `node scripts/bench-section.mjs signaling-load`; progress goes to stderr.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use clap::Parser;
use futures::{SinkExt, StreamExt};
use rand::RngExt;
use swarm::signal::{PeerId, PeerRequest, ServerEvent, SignalPayload, SwarmName};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

#[derive(Debug, Parser)]
#[command(about = "Load generator for the signaling server")]
struct Args {
    /// Concurrent WebSocket clients.
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// Members per swarm.
    #[arg(long, default_value_t = 10)]
    swarm_size: usize,
    /// Relays per second during the relay phase (offers plus answers; half are offers).
    #[arg(long, default_value_t = 5_000)]
    relays_per_sec: u64,
    /// Length of the relay phase, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Bytes of SDP in each offer and answer (a browser's data-channel offer is about this size).
    #[arg(long, default_value_t = 600)]
    sdp_bytes: usize,
    /// Handshakes in flight at once while connecting.
    #[arg(long, default_value_t = 64)]
    connect_concurrency: usize,
    /// The server binary (default: `signaling` next to this executable).
    #[arg(long)]
    server_bin: Option<PathBuf>,
}

/// What the client tasks report back.
#[derive(Debug, Default)]
struct Stats {
    connected: AtomicU64,
    connect_failures: AtomicU64,
    sent: AtomicU64,
    received: AtomicU64,
    errors: AtomicU64,
    dropped: AtomicU64,
    /// One-way relay latencies, in microseconds.
    latencies_us: Mutex<Vec<u32>>,
}

/// A command from the driver to one client: send an offer to this peer.
struct SendOffer {
    to: PeerId,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    // Each client is a file descriptor here, and each connection one in the server.
    let nofile = rlimit::increase_nofile_limit(u64::MAX)?;
    eprintln!("open file limit: {nofile}");
    let server_bin = match &args.server_bin {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("signaling"),
    };
    let (mut server, addr) = start_server(&server_bin, &args)?;
    let pid = server.id();
    let url = format!("ws://{addr}/ws");
    let epoch = Instant::now();
    let stats = Arc::new(Stats::default());

    // Warm-up: one connection, so that lazily built server state is not counted per connection.
    {
        let (mut ws, _) = tokio_tungstenite::connect_async(&url).await?;
        ws.next().await;
        ws.close(None).await?;
    }
    let rss_idle = rss_kib(pid)?;

    // Phase 1: connect and join.
    let connect_start = Instant::now();
    let gate = Arc::new(Semaphore::new(args.connect_concurrency));
    let ids: Arc<Mutex<Vec<Option<PeerId>>>> = Arc::new(Mutex::new(vec![None; args.connections]));
    let mut commands = Vec::with_capacity(args.connections);
    for i in 0..args.connections {
        // Two commands of slack: the driver skips a client whose queue is full rather than wait.
        let (tx, rx) = mpsc::channel(2);
        commands.push(tx);
        let swarm = SwarmName::parse(&format!("load-{}", i / args.swarm_size))?;
        let client = Client { index: i, url: url.clone(), swarm, stats: Arc::clone(&stats), ids: Arc::clone(&ids) };
        tokio::spawn(client.run(Arc::clone(&gate), rx, epoch, args.sdp_bytes));
    }
    let total = args.connections as u64;
    while stats.connected.load(Ordering::Relaxed) + stats.connect_failures.load(Ordering::Relaxed) < total {
        tokio::time::sleep(Duration::from_millis(200)).await;
        eprintln!(
            "connected {} / {total} (failures {})",
            stats.connected.load(Ordering::Relaxed),
            stats.connect_failures.load(Ordering::Relaxed)
        );
    }
    let connect_secs = connect_start.elapsed().as_secs_f64();
    let held = stats.connected.load(Ordering::Relaxed);
    let rss_held = rss_kib(pid)?;
    let server_peers = metric(&addr, "signaling_peers").await?;

    // Phase 2: relay at a fixed rate between random members of one swarm.
    let ids: Vec<Option<PeerId>> = ids.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let cpu_before = cpu_ticks(pid)?;
    let relayed_before = metric(&addr, "signaling_messages_relayed_total").await?;
    let offers_per_sec = (args.relays_per_sec / 2).max(1);
    let phase = Duration::from_secs(args.seconds);
    let relay_start = Instant::now();
    let mut offers: u64 = 0;
    let mut skipped: u64 = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut rng = rand::rng();
    while relay_start.elapsed() < phase {
        tick.tick().await;
        // Offers due so far, at an exact average rate whatever the tick jitter.
        let due = (relay_start.elapsed().as_micros() as u64 * offers_per_sec / 1_000_000).saturating_sub(offers);
        for _ in 0..due {
            offers += 1;
            let from = rng.random_range(0..args.connections);
            let base = from / args.swarm_size * args.swarm_size;
            let size = args.swarm_size.min(args.connections - base);
            if size < 2 {
                skipped += 1;
                continue;
            }
            let to = base + (from - base + rng.random_range(1..size)) % size;
            match (&ids[from], &ids[to]) {
                (Some(_), Some(to)) => {
                    if commands[from].try_send(SendOffer { to: to.clone() }).is_err() {
                        skipped += 1;
                    }
                }
                _ => skipped += 1,
            }
        }
    }
    let send_secs = relay_start.elapsed().as_secs_f64();
    // Wait for what is in flight: every sent relay is received, or give up after a while.
    let drain_deadline = Instant::now() + Duration::from_secs(10);
    while stats.received.load(Ordering::Relaxed) + stats.errors.load(Ordering::Relaxed)
        < stats.sent.load(Ordering::Relaxed)
        && Instant::now() < drain_deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let relay_secs = relay_start.elapsed().as_secs_f64();
    let cpu_ticks_used = cpu_ticks(pid)? - cpu_before;
    let relayed = metric(&addr, "signaling_messages_relayed_total").await? - relayed_before;
    let rss_after = rss_kib(pid)?;
    let dropped = stats.dropped.load(Ordering::Relaxed);

    stop_server(&mut server)?;

    let mut latencies = stats.latencies_us.lock().unwrap_or_else(PoisonError::into_inner).clone();
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        f64::from(latencies[i]) / 1000.0
    };
    let received = stats.received.load(Ordering::Relaxed);
    let per_conn = |rss: u64| (rss.saturating_sub(rss_idle)) as f64 * 1024.0 / held.max(1) as f64 / 1024.0;
    let ticks_per_sec = 100.0; // USER_HZ on Linux

    println!(
        "{} clients on loopback, swarms of {}, {} relays/s target for {} s, SDP {} bytes; server and load \
         generator share the machine's 2 cores.\n",
        args.connections, args.swarm_size, args.relays_per_sec, args.seconds, args.sdp_bytes
    );
    println!("| figure | value |");
    println!("|---|---|");
    println!("| connections held (clients joined / server's `signaling_peers`) | {held} / {server_peers} |");
    println!("| connect failures | {} |", stats.connect_failures.load(Ordering::Relaxed));
    println!("| connect + join rate | {:.0} /s |", held as f64 / connect_secs);
    println!("| server RSS idle / with all connections | {:.1} MiB / {:.1} MiB |", mib(rss_idle), mib(rss_held));
    println!("| server memory per connection (after join) | {:.2} KiB |", per_conn(rss_held));
    println!("| server memory per connection (after relay phase) | {:.2} KiB |", per_conn(rss_after));
    println!(
        "| relays sent / received / errors | {} / {received} / {} |",
        stats.sent.load(Ordering::Relaxed),
        stats.errors.load(Ordering::Relaxed)
    );
    println!("| relays delivered per second (server's counter) | {:.0} |", relayed as f64 / send_secs);
    println!("| relay latency p50 / p99 / max | {:.2} ms / {:.2} ms / {:.2} ms |", pct(0.50), pct(0.99), pct(1.0));
    println!(
        "| server CPU during relay phase | {:.0} % of one core |",
        cpu_ticks_used as f64 / ticks_per_sec / relay_secs * 100.0
    );
    println!("| offers skipped (client busy) | {skipped} |");
    println!("| connections lost before the end of the relay phase | {dropped} |");
    Ok(())
}

struct Client {
    index: usize,
    url: String,
    swarm: SwarmName,
    stats: Arc<Stats>,
    ids: Arc<Mutex<Vec<Option<PeerId>>>>,
}

impl Client {
    async fn run(
        self,
        gate: Arc<Semaphore>,
        mut commands: mpsc::Receiver<SendOffer>,
        epoch: Instant,
        sdp_bytes: usize,
    ) {
        let stats = Arc::clone(&self.stats);
        let Some(mut ws) = self.connect(gate).await else {
            stats.connect_failures.fetch_add(1, Ordering::Relaxed);
            return;
        };
        stats.connected.fetch_add(1, Ordering::Relaxed);
        let padding = "a".repeat(sdp_bytes.saturating_sub(24));
        loop {
            tokio::select! {
                command = commands.recv() => {
                    let Some(SendOffer { to }) = command else { break };
                    let sdp = format!("t={} {padding}", epoch.elapsed().as_micros());
                    let request = PeerRequest::Signal { to, payload: SignalPayload::Offer { sdp } };
                    if send(&mut ws, &request).await.is_err() { break }
                    stats.sent.fetch_add(1, Ordering::Relaxed);
                }
                frame = ws.next() => {
                    let Some(Ok(frame)) = frame else { break };
                    let Message::Text(text) = frame else { continue };
                    match ServerEvent::parse(&text) {
                        Ok(ServerEvent::Signal { from, payload: SignalPayload::Offer { sdp } }) => {
                            record(&stats, epoch, &sdp);
                            // Answer at once, with a fresh timestamp: the answer is a second relay.
                            let sdp = format!("t={} {padding}", epoch.elapsed().as_micros());
                            let request = PeerRequest::Signal { to: from, payload: SignalPayload::Answer { sdp } };
                            if send(&mut ws, &request).await.is_err() { break }
                            stats.sent.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(ServerEvent::Signal { payload: SignalPayload::Answer { sdp }, .. }) => record(&stats, epoch, &sdp),
                        Ok(ServerEvent::Error { .. }) => { stats.errors.fetch_add(1, Ordering::Relaxed); }
                        _ => {}
                    }
                }
            }
        }
        stats.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Connects, reads the Welcome, joins the swarm, and publishes the id.
    async fn connect(&self, gate: Arc<Semaphore>) -> Option<Ws> {
        let _permit = gate.acquire_owned().await.ok()?;
        // Small client buffers: 10,000 of them live in this process.
        let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
        let (mut ws, _) = tokio_tungstenite::connect_async_with_config(&self.url, Some(config), true).await.ok()?;
        let id = match next_event(&mut ws).await? {
            ServerEvent::Welcome { peer_id, .. } => peer_id,
            _ => return None,
        };
        send(&mut ws, &PeerRequest::Join { swarm: self.swarm.clone() }).await.ok()?;
        loop {
            match next_event(&mut ws).await? {
                ServerEvent::Joined { .. } => break,
                // Departures or the like cannot happen yet, but are not joined answers.
                _ => continue,
            }
        }
        self.ids.lock().unwrap_or_else(PoisonError::into_inner)[self.index] = Some(id);
        Some(ws)
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn send(ws: &mut Ws, request: &PeerRequest) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    let text = serde_json::to_string(request).unwrap_or_default();
    ws.send(Message::text(text)).await
}

async fn next_event(ws: &mut Ws) -> Option<ServerEvent> {
    loop {
        match ws.next().await? {
            Ok(Message::Text(text)) => return ServerEvent::parse(&text).ok(),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
}

fn record(stats: &Stats, epoch: Instant, sdp: &str) {
    let sent = sdp.strip_prefix("t=").and_then(|s| s.split(' ').next()).and_then(|t| t.parse::<u128>().ok());
    if let Some(sent) = sent {
        let latency = epoch.elapsed().as_micros().saturating_sub(sent);
        stats.received.fetch_add(1, Ordering::Relaxed);
        let latency = u32::try_from(latency).unwrap_or(u32::MAX);
        stats.latencies_us.lock().unwrap_or_else(PoisonError::into_inner).push(latency);
    }
}

/// Starts `signaling` on a free loopback port with limits that admit every client from 127.0.0.1, and reads
/// the address from its one line of output.
fn start_server(bin: &PathBuf, args: &Args) -> Result<(Child, String), Box<dyn std::error::Error>> {
    let room = (args.connections + 100).to_string();
    let mut child = Command::new(bin)
        .args(["--listen", "127.0.0.1:0", "--www", "."])
        .args(["--max-connections-per-ip", &room, "--max-connections-per-prefix", &room, "--max-connections", &room])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            format!("cannot start {}: {e} (build it: cargo build --release -p signaling --bins)", bin.display())
        })?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let addr = line.trim().strip_prefix("listening on http://").ok_or_else(|| format!("unexpected line {line:?}"))?;
    Ok((child, addr.to_owned()))
}

fn stop_server(child: &mut Child) -> Result<(), Box<dyn std::error::Error>> {
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status()?;
    child.wait()?;
    Ok(())
}

/// The process's resident set size, in KiB (`VmRSS` of /proc/<pid>/status).
fn rss_kib(pid: u32) -> Result<u64, Box<dyn std::error::Error>> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).ok_or("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).ok_or("bad VmRSS")?.parse()?)
}

/// User plus system CPU time of the process, in clock ticks (fields 14 and 15 of /proc/<pid>/stat).
fn cpu_ticks(pid: u32) -> Result<u64, Box<dyn std::error::Error>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces; fields after it are counted from its closing parenthesis.
    let rest = &stat[stat.rfind(')').ok_or("bad stat")? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Ok(fields.get(11).ok_or("bad stat")?.parse::<u64>()? + fields.get(12).ok_or("bad stat")?.parse::<u64>()?)
}

/// One sample of the server's `/metrics`.
async fn metric(addr: &str, name: &str) -> Result<u64, Box<dyn std::error::Error>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.write_all(format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut body = String::new();
    tcp.read_to_string(&mut body).await?;
    let value = body
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
        .ok_or_else(|| format!("no {name} in /metrics"))?;
    Ok(value.trim().parse()?)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
