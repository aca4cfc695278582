//! `loadgen`: load generator for the signaling server (BENCHMARKS.md, "Signaling server: load generator" and
//! "Signaling across instances (Redis)").
//!
//! Starts the `signaling` binary as its own process (so its memory is its own), opens N WebSocket clients on
//! loopback, has each join a swarm of `--swarm-size` members, and measures the server's resident memory per
//! connection from `/proc/<pid>/status` before and after. Then it relays offers at a fixed rate between random
//! members of a swarm, each receiver answering at once, and reports relays delivered per second and the
//! one-way relay latency (send to receive, both in this process, so one clock) at p50/p99/max, and the server's
//! CPU time over the relay phase from `/proc/<pid>/stat`. Prints a Markdown block for
//! `node scripts/bench-section.mjs signaling-load`; progress goes to stderr.
//!
//! With `--instances N` (N > 1) it starts its own `redis-server` on a free loopback port and N `signaling`
//! processes sharing it (`--redis`), and connects client i to instance i % N: the members of a swarm (consecutive
//! clients) live on different instances, so relays are a mix of relays within one instance and across instances
//! (through Redis), whose latencies are reported apart (each offer and answer names its sender's instance). It
//! adds Redis's CPU time over the relay phase, per 1,000 relays, and the instances' Redis figures from their
//! `/metrics`. `--matrix` runs 1, 2 and 4 instances one after the other and prints one table, for
//! `node scripts/bench-section.mjs signaling-cluster`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use clap::Parser;
use clap::builder::TypedValueParser;
use futures::{SinkExt, StreamExt};
use rand::RngExt;
use swarm::signal::{PeerId, PeerRequest, ServerEvent, SignalPayload, SwarmName};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

type Error = Box<dyn std::error::Error>;

/// The instances' lease (`--redis-lease-ms`, left at its default): renewals come every third of it.
const LEASE_SECS: f64 = 10.0;

/// The instance counts of `--matrix`.
const MATRIX: [usize; 3] = [1, 2, 4];
/// USER_HZ on Linux: the unit of /proc/<pid>/stat's CPU times.
const TICKS_PER_SEC: f64 = 100.0;

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
    /// `signaling` instances, sharing one Redis started here when more than 1; client i connects to instance
    /// i % N. 1: one instance without Redis.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64).map(usize::from))]
    instances: usize,
    /// Runs 1, 2 and 4 instances one after the other, with the other arguments alike, and prints one table.
    #[arg(long, conflicts_with = "instances")]
    matrix: bool,
    /// The Redis server binary, for more than one instance.
    #[arg(long, env = "REDIS_SERVER", default_value = "/usr/bin/redis-server")]
    redis_server: PathBuf,
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
    /// One-way latencies of relays between two clients of one instance, in microseconds.
    within_us: Mutex<Vec<u32>>,
    /// One-way latencies of relays between clients of two instances (through Redis), in microseconds.
    across_us: Mutex<Vec<u32>>,
}

/// A command from the driver to one client: send an offer to this peer.
struct SendOffer {
    to: PeerId,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args = Args::parse();
    // Each client is a file descriptor here, and each connection one in the server.
    let nofile = rlimit::increase_nofile_limit(u64::MAX)?;
    eprintln!("open file limit: {nofile}");
    let server_bin = match &args.server_bin {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("signaling"),
    };
    // On Ctrl-C the run is dropped, and with it the processes it started (see `Fleet`).
    tokio::select! {
        result = run_all(&args, &server_bin) => result,
        _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
    }
}

async fn run_all(args: &Args, server_bin: &Path) -> Result<(), Error> {
    if args.matrix {
        let mut reports = Vec::with_capacity(MATRIX.len());
        for n in MATRIX {
            reports.push(run(args, server_bin, n).await?);
        }
        print_matrix(args, &reports);
    } else {
        let report = run(args, server_bin, args.instances).await?;
        if report.instances == 1 {
            print_single(args, &report);
        } else {
            print_matrix(args, std::slice::from_ref(&report));
        }
    }
    Ok(())
}

/// The figures of one run.
#[derive(Debug)]
struct Report {
    instances: usize,
    /// Clients joined, in total and per instance.
    held: u64,
    held_per_instance: Vec<u64>,
    /// Sum of the instances' `signaling_peers` with every client joined.
    server_peers: u64,
    connect_failures: u64,
    connect_secs: f64,
    /// Per instance, KiB.
    rss_idle: Vec<u64>,
    rss_held: Vec<u64>,
    rss_after: Vec<u64>,
    sent: u64,
    received: u64,
    errors: u64,
    /// Sum of the instances' `signaling_messages_relayed_total` over the relay phase.
    relayed: u64,
    send_secs: f64,
    relay_secs: f64,
    /// Sorted latencies, in microseconds.
    within_us: Vec<u32>,
    across_us: Vec<u32>,
    /// CPU ticks of each instance over the relay phase.
    cpu_ticks: Vec<u64>,
    redis: Option<RedisReport>,
    skipped: u64,
    dropped: u64,
}

/// Redis's figures over the relay phase, and the instances' Redis counters summed.
#[derive(Debug)]
struct RedisReport {
    cpu_ticks: u64,
    /// Redis CPU over the idle phase (lease renewals only), its length, and the memberships leased then.
    idle_ticks: u64,
    idle_secs: f64,
    leased: f64,
    rss_idle: u64,
    rss_held: u64,
    /// `signaling_remote_relays_total{outcome="sent"}`, summed over the instances.
    remote_sent: u64,
    /// `signaling_redis_roundtrip_seconds` sum and count.
    roundtrip_sum: f64,
    roundtrip_count: f64,
    errors: u64,
}

/// One run: `n` instances (and Redis if more than one), the clients, the relay phase; every process it started
/// is stopped before it returns, whatever the outcome.
async fn run(args: &Args, server_bin: &Path, n: usize) -> Result<Report, Error> {
    eprintln!("--- {n} instance(s)");
    let mut fleet = Fleet::default();
    if n > 1 {
        fleet.redis = Some(Redis::start(&args.redis_server)?);
    }
    let redis_url = fleet.redis.as_ref().map(|r| format!("redis://127.0.0.1:{}", r.port));
    for _ in 0..n {
        let server = start_server(server_bin, args, redis_url.as_deref())?;
        fleet.servers.push(server);
    }
    let addrs: Vec<String> = fleet.servers.iter().map(|s| s.addr.clone()).collect();
    let pids: Vec<u32> = fleet.servers.iter().map(|s| s.child.id()).collect();
    let redis_pid = fleet.redis.as_ref().map(|r| r.child.id());
    let urls: Vec<String> = addrs.iter().map(|addr| format!("ws://{addr}/ws")).collect();
    let epoch = Instant::now();
    let stats = Arc::new(Stats::default());

    // Warm-up: one connection per instance, so that lazily built server state is not counted per connection.
    for url in &urls {
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
        ws.next().await;
        ws.close(None).await?;
    }
    let rss_idle = each(&pids, rss_kib)?;
    let redis_rss_idle = redis_pid.map(rss_kib).transpose()?;

    // Phase 1: connect and join, client i on instance i % n.
    let connect_start = Instant::now();
    let gate = Arc::new(Semaphore::new(args.connect_concurrency));
    let ids: Arc<Mutex<Vec<Option<PeerId>>>> = Arc::new(Mutex::new(vec![None; args.connections]));
    let mut commands = Vec::with_capacity(args.connections);
    let mut tasks = Vec::with_capacity(args.connections);
    for i in 0..args.connections {
        // Two commands of slack: the driver skips a client whose queue is full rather than wait.
        let (tx, rx) = mpsc::channel(2);
        commands.push(tx);
        let swarm = SwarmName::parse(&format!("load-{}", i / args.swarm_size))?;
        let instance = i % n;
        let client = Client {
            index: i,
            instance,
            url: urls[instance].clone(),
            swarm,
            stats: Arc::clone(&stats),
            ids: Arc::clone(&ids),
        };
        tasks.push(tokio::spawn(client.run(Arc::clone(&gate), rx, epoch, args.sdp_bytes)));
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
    let rss_held = each(&pids, rss_kib)?;
    let redis_rss_held = redis_pid.map(rss_kib).transpose()?;
    let mut server_peers = 0;
    for addr in &addrs {
        server_peers += metric(&scrape(addr).await?, "signaling_peers").ok_or("no signaling_peers in /metrics")? as u64;
    }

    // Phase 2: relay at a fixed rate between random members of one swarm.
    let ids: Vec<Option<PeerId>> = ids.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let mut held_per_instance = vec![0u64; n];
    for (i, id) in ids.iter().enumerate() {
        if id.is_some() {
            held_per_instance[i % n] += 1;
        }
    }
    // With Redis: an idle phase as long as the relay phase, connections held and nothing relayed, so that what
    // Redis spends renewing the memberships' leases is told apart from what the relays cost it.
    let idle = match redis_pid {
        Some(pid) => {
            let before = cpu_ticks(pid)?;
            let started = Instant::now();
            tokio::time::sleep(Duration::from_secs(args.seconds)).await;
            let ticks = cpu_ticks(pid)?.saturating_sub(before);
            let mut leased = 0.0;
            for addr in &addrs {
                leased += metric(&scrape(addr).await?, "signaling_redis_leased_memberships").unwrap_or(0.0);
            }
            Some((ticks, started.elapsed().as_secs_f64(), leased))
        }
        None => None,
    };
    let cpu_before = each(&pids, cpu_ticks)?;
    let redis_cpu_before = redis_pid.map(cpu_ticks).transpose()?;
    let counters_before = counters(&addrs).await?;
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
    let cpu_after = each(&pids, cpu_ticks)?;
    let redis_cpu_after = redis_pid.map(cpu_ticks).transpose()?;
    // A sender's instance counts a relay through Redis once PUBLISH answers, which may be just after the
    // receiver has it: a moment for the last answers before the counters are read.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let counters_after = counters(&addrs).await?;
    let rss_after = each(&pids, rss_kib)?;
    let dropped = stats.dropped.load(Ordering::Relaxed);

    // Every figure is read: the clients let go of their connections, then the processes stop.
    drop(commands);
    fleet.stop()?;
    let ended = tokio::time::timeout(Duration::from_secs(30), futures::future::join_all(tasks)).await;
    if ended.is_err() {
        eprintln!("some clients had not ended 30 s after the servers stopped");
    }

    let sorted = |v: &Mutex<Vec<u32>>| {
        let mut v = std::mem::take(&mut *v.lock().unwrap_or_else(PoisonError::into_inner));
        v.sort_unstable();
        v
    };
    let delta = |f: fn(&Counters) -> f64| f(&counters_after) - f(&counters_before);
    let redis = match (redis_cpu_before, redis_cpu_after, redis_rss_idle, redis_rss_held, idle) {
        (Some(before), Some(after), Some(rss_idle), Some(rss_held), Some((idle_ticks, idle_secs, leased))) => {
            Some(RedisReport {
                cpu_ticks: after.saturating_sub(before),
                idle_ticks,
                idle_secs,
                leased,
                rss_idle,
                rss_held,
                remote_sent: delta(|c| c.remote_sent).round() as u64,
                roundtrip_sum: delta(|c| c.roundtrip_sum),
                roundtrip_count: delta(|c| c.roundtrip_count),
                errors: delta(|c| c.redis_errors).round() as u64,
            })
        }
        _ => None,
    };
    Ok(Report {
        instances: n,
        held,
        held_per_instance,
        server_peers,
        connect_failures: stats.connect_failures.load(Ordering::Relaxed),
        connect_secs,
        rss_idle,
        rss_held,
        rss_after,
        sent: stats.sent.load(Ordering::Relaxed),
        received: stats.received.load(Ordering::Relaxed),
        errors: stats.errors.load(Ordering::Relaxed),
        relayed: delta(|c| c.relayed).round() as u64,
        send_secs,
        relay_secs,
        within_us: sorted(&stats.within_us),
        across_us: sorted(&stats.across_us),
        cpu_ticks: cpu_after.iter().zip(&cpu_before).map(|(a, b)| a.saturating_sub(*b)).collect(),
        redis,
        skipped,
        dropped,
    })
}

/// The value at fraction `p` of sorted latencies in microseconds, in milliseconds.
fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    f64::from(sorted[i]) / 1000.0
}

impl Report {
    /// Server memory per connection of each instance, in KiB: its RSS over its idle RSS, over the clients it holds.
    fn per_conn(&self, rss: &[u64]) -> Vec<f64> {
        (0..self.instances)
            .map(|k| rss[k].saturating_sub(self.rss_idle[k]) as f64 / self.held_per_instance[k].max(1) as f64)
            .collect()
    }

    /// CPU of each instance over the relay phase, in percent of one core.
    fn cpu_percent(&self) -> Vec<f64> {
        self.cpu_ticks.iter().map(|&t| t as f64 / TICKS_PER_SEC / self.relay_secs * 100.0).collect()
    }
}

/// The output of one instance, as it always was.
fn print_single(args: &Args, r: &Report) {
    let latencies = &r.within_us;
    println!(
        "{} clients on loopback, swarms of {}, {} relays/s target for {} s, SDP {} bytes; server and load \
         generator share the machine's 2 cores.\n",
        args.connections, args.swarm_size, args.relays_per_sec, args.seconds, args.sdp_bytes
    );
    println!("| figure | value |");
    println!("|---|---|");
    println!("| connections held (clients joined / server's `signaling_peers`) | {} / {} |", r.held, r.server_peers);
    println!("| connect failures | {} |", r.connect_failures);
    println!("| connect + join rate | {:.0} /s |", r.held as f64 / r.connect_secs);
    println!(
        "| server RSS idle / with all connections | {:.1} MiB / {:.1} MiB |",
        mib(r.rss_idle[0]),
        mib(r.rss_held[0])
    );
    println!("| server memory per connection (after join) | {:.2} KiB |", r.per_conn(&r.rss_held)[0]);
    println!("| server memory per connection (after relay phase) | {:.2} KiB |", r.per_conn(&r.rss_after)[0]);
    println!("| relays sent / received / errors | {} / {} / {} |", r.sent, r.received, r.errors);
    println!("| relays delivered per second (server's counter) | {:.0} |", r.relayed as f64 / r.send_secs);
    println!(
        "| relay latency p50 / p99 / max | {:.2} ms / {:.2} ms / {:.2} ms |",
        pct(latencies, 0.50),
        pct(latencies, 0.99),
        pct(latencies, 1.0)
    );
    println!("| server CPU during relay phase | {:.0} % of one core |", r.cpu_percent()[0]);
    println!("| offers skipped (client busy) | {} |", r.skipped);
    println!("| connections lost before the end of the relay phase | {} |", r.dropped);
}

/// One table, a column per run.
fn print_matrix(args: &Args, reports: &[Report]) {
    let counts: Vec<String> = reports.iter().map(|r| r.instances.to_string()).collect();
    println!(
        "{} clients on loopback (client i on instance i mod N), swarms of {}, {} relays/s target for {} s, SDP {} \
         bytes; {} `signaling` instances, with more than one sharing one Redis; the instances, Redis and the load \
         generator share the machine's 2 cores. Figures given per instance are in the instances' order.\n",
        args.connections,
        args.swarm_size,
        args.relays_per_sec,
        args.seconds,
        args.sdp_bytes,
        join_words(&counts)
    );
    let header: Vec<String> = reports
        .iter()
        .map(|r| format!("{} instance{}", r.instances, if r.instances == 1 { "" } else { "s" }))
        .collect();
    println!("| figure | {} |", header.join(" | "));
    println!("|---|{}", "---|".repeat(reports.len()));
    let row = |figure: &str, cell: &dyn Fn(&Report) -> String| {
        let cells: Vec<String> = reports.iter().map(cell).collect();
        println!("| {figure} | {} |", cells.join(" | "));
    };
    let none = || "—".to_owned();
    row("connections held (clients joined / sum of the instances' `signaling_peers`)", &|r| {
        format!("{} / {}", r.held, r.server_peers)
    });
    row("connect failures", &|r| r.connect_failures.to_string());
    row("connect + join rate", &|r| format!("{:.0} /s", r.held as f64 / r.connect_secs));
    row("server RSS with all connections, per instance", &|r| {
        format!("{} MiB", slash(r.rss_held.iter().map(|&k| format!("{:.1}", mib(k)))))
    });
    row("server memory per connection (after join), per instance", &|r| {
        format!("{} KiB", slash(r.per_conn(&r.rss_held).iter().map(|v| format!("{v:.2}"))))
    });
    row("server memory per connection (after relay phase), per instance", &|r| {
        format!("{} KiB", slash(r.per_conn(&r.rss_after).iter().map(|v| format!("{v:.2}"))))
    });
    row("relays sent / received / errors", &|r| format!("{} / {} / {}", r.sent, r.received, r.errors));
    row("relays received within one instance / across instances", &|r| {
        format!("{} / {}", r.within_us.len(), r.across_us.len())
    });
    row("relays delivered per second (sum of the instances' counters)", &|r| {
        format!("{:.0}", r.relayed as f64 / r.send_secs)
    });
    let latency = |v: &[u32]| {
        if v.is_empty() {
            return "—".to_owned();
        }
        format!("{:.2} / {:.2} / {:.2} ms", pct(v, 0.50), pct(v, 0.99), pct(v, 1.0))
    };
    row("relay latency within one instance p50 / p99 / max", &|r| latency(&r.within_us));
    row("relay latency across instances p50 / p99 / max", &|r| latency(&r.across_us));
    row("server CPU during relay phase, per instance", &|r| {
        format!("{} % of one core", slash(r.cpu_percent().iter().map(|v| format!("{v:.0}"))))
    });
    row("Redis CPU during relay phase", &|r| match &r.redis {
        Some(x) => format!("{:.0} % of one core", x.cpu_ticks as f64 / TICKS_PER_SEC / r.relay_secs * 100.0),
        None => none(),
    });
    row("Redis CPU per 1,000 relays across instances / per 1,000 relays in all", &|r| match &r.redis {
        Some(x) => {
            let ms = x.cpu_ticks as f64 / TICKS_PER_SEC * 1000.0;
            format!(
                "{:.1} ms / {:.1} ms",
                ms / (x.remote_sent.max(1) as f64 / 1000.0),
                ms / (r.relayed.max(1) as f64 / 1000.0)
            )
        }
        None => none(),
    });
    row("Redis CPU idle, connections held (lease renewals only)", &|r| match &r.redis {
        Some(x) => format!("{:.1} % of one core", x.idle_ticks as f64 / TICKS_PER_SEC / x.idle_secs * 100.0),
        None => none(),
    });
    row(
        "Redis CPU per 1,000 lease renewals (memberships leased, renewed every third of the 10 s lease)",
        &|r| match &r.redis {
            Some(x) if x.leased > 0.0 => {
                let renewals = x.leased / (LEASE_SECS / 3.0) * x.idle_secs;
                format!(
                    "{:.2} ms ({:.0} memberships)",
                    x.idle_ticks as f64 / TICKS_PER_SEC * 1000.0 / (renewals / 1000.0),
                    x.leased
                )
            }
            _ => none(),
        },
    );
    row("Redis CPU per 1,000 relays across instances, lease renewals taken out", &|r| match &r.redis {
        Some(x) => {
            let renewals = x.idle_ticks as f64 / x.idle_secs * r.relay_secs;
            let ms = (x.cpu_ticks as f64 - renewals).max(0.0) / TICKS_PER_SEC * 1000.0;
            format!("{:.1} ms", ms / (x.remote_sent.max(1) as f64 / 1000.0))
        }
        None => none(),
    });
    row("Redis RSS idle / with all connections", &|r| match &r.redis {
        Some(x) => format!("{:.1} MiB / {:.1} MiB", mib(x.rss_idle), mib(x.rss_held)),
        None => none(),
    });
    row("relays through Redis (instances' `signaling_remote_relays_total{outcome=\"sent\"}`)", &|r| match &r.redis {
        Some(x) => x.remote_sent.to_string(),
        None => none(),
    });
    row("Redis round-trip, mean (instances' `signaling_redis_roundtrip_seconds`)", &|r| match &r.redis {
        Some(x) if x.roundtrip_count > 0.0 => format!("{:.2} ms", x.roundtrip_sum / x.roundtrip_count * 1000.0),
        _ => none(),
    });
    row("Redis errors (instances' `signaling_redis_errors_total`)", &|r| match &r.redis {
        Some(x) => x.errors.to_string(),
        None => none(),
    });
    row("offers skipped (client busy)", &|r| r.skipped.to_string());
    row("connections lost before the end of the relay phase", &|r| r.dropped.to_string());
}

fn slash(values: impl Iterator<Item = String>) -> String {
    values.collect::<Vec<_>>().join(" / ")
}

/// "1, 2 and 4".
fn join_words(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

struct Client {
    index: usize,
    /// The instance this client connects to (index into the instances started).
    instance: usize,
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
        // The SDP is `t=<send time, µs> i<sender's instance> <padding>`, about `sdp_bytes` long.
        let padding = "a".repeat(sdp_bytes.saturating_sub(27));
        let instance = self.instance;
        loop {
            tokio::select! {
                command = commands.recv() => {
                    let Some(SendOffer { to }) = command else { break };
                    let sdp = format!("t={} i{instance} {padding}", epoch.elapsed().as_micros());
                    let request = PeerRequest::Signal { to, payload: SignalPayload::Offer { sdp } };
                    if send(&mut ws, &request).await.is_err() { break }
                    stats.sent.fetch_add(1, Ordering::Relaxed);
                }
                frame = ws.next() => {
                    let Some(Ok(frame)) = frame else { break };
                    let Message::Text(text) = frame else { continue };
                    match ServerEvent::parse(&text) {
                        Ok(ServerEvent::Signal { from, payload: SignalPayload::Offer { sdp } }) => {
                            record(&stats, epoch, &sdp, instance);
                            // Answer at once, with a fresh timestamp: the answer is a second relay.
                            let sdp = format!("t={} i{instance} {padding}", epoch.elapsed().as_micros());
                            let request = PeerRequest::Signal { to: from, payload: SignalPayload::Answer { sdp } };
                            if send(&mut ws, &request).await.is_err() { break }
                            stats.sent.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(ServerEvent::Signal { payload: SignalPayload::Answer { sdp }, .. }) => {
                            record(&stats, epoch, &sdp, instance);
                        }
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

/// Records the latency of a relay received by a client of instance `here`, as within one instance or across.
fn record(stats: &Stats, epoch: Instant, sdp: &str, here: usize) {
    let mut fields = sdp.split(' ');
    let sent = fields.next().and_then(|t| t.strip_prefix("t=")).and_then(|t| t.parse::<u128>().ok());
    let from = fields.next().and_then(|i| i.strip_prefix('i')).and_then(|i| i.parse::<usize>().ok());
    if let (Some(sent), Some(from)) = (sent, from) {
        let latency = epoch.elapsed().as_micros().saturating_sub(sent);
        stats.received.fetch_add(1, Ordering::Relaxed);
        let latency = u32::try_from(latency).unwrap_or(u32::MAX);
        let latencies = if from == here { &stats.within_us } else { &stats.across_us };
        latencies.lock().unwrap_or_else(PoisonError::into_inner).push(latency);
    }
}

/// The processes of one run. Dropping it stops them (on an error, or Ctrl-C); [`Fleet::stop`] does it and says
/// how it went.
#[derive(Default)]
struct Fleet {
    servers: Vec<Server>,
    redis: Option<Redis>,
}

struct Server {
    child: Child,
    addr: String,
}

impl Fleet {
    /// Stops the instances (SIGTERM, so that each leaves the cluster cleanly), then Redis.
    fn stop(&mut self) -> Result<(), Error> {
        let mut result = Ok(());
        for server in &self.servers {
            if let Err(e) = terminate(&server.child) {
                result = Err(e);
            }
        }
        for mut server in self.servers.drain(..) {
            if let Err(e) = wait_or_kill(&mut server.child) {
                result = Err(e);
            }
        }
        self.redis = None;
        result
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if !self.servers.is_empty() {
            let _ = self.stop();
        }
    }
}

/// Starts `signaling` on a free loopback port with limits that admit every client from 127.0.0.1 (in a cluster,
/// sharing the Redis at `redis`), and reads the address from its one line of output.
fn start_server(bin: &Path, args: &Args, redis: Option<&str>) -> Result<Server, Error> {
    let room = (args.connections + 100).to_string();
    let mut command = Command::new(bin);
    command.args(["--listen", "127.0.0.1:0", "--www", "."]).args([
        "--max-connections-per-ip",
        &room,
        "--max-connections-per-prefix",
        &room,
        "--max-connections",
        &room,
    ]);
    if let Some(url) = redis {
        command.args(["--redis", url]);
    }
    let mut child =
        command.env("RUST_LOG", "warn").stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().map_err(|e| {
            format!("cannot start {}: {e} (build it: cargo build --release -p signaling --bins)", bin.display())
        })?;
    let mut line = String::new();
    let read = match child.stdout.take() {
        Some(stdout) => BufReader::new(stdout).read_line(&mut line).map_err(Error::from),
        None => Err("no stdout".into()),
    };
    let addr = read.and_then(|_| {
        let addr = line.trim().strip_prefix("listening on http://");
        addr.map(str::to_owned).ok_or_else(|| format!("unexpected line from signaling: {line:?}").into())
    });
    match addr {
        Ok(addr) => Ok(Server { child, addr }),
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(e)
        }
    }
}

fn terminate(child: &Child) -> Result<(), Error> {
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status()?;
    Ok(())
}

/// Waits for a process told to stop; kills it if it has not exited within 20 s.
fn wait_or_kill(child: &mut Child) -> Result<(), Error> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while child.try_wait()?.is_none() {
        if std::time::Instant::now() > deadline {
            child.kill()?;
            child.wait()?;
            return Err(format!("process {} did not exit on SIGTERM within 20 s: killed", child.id()).into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// A `redis-server` of this run, on a free loopback port, with no persistence; killed when dropped.
struct Redis {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Redis {
    fn start(program: &Path) -> Result<Redis, Error> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let dir = std::env::temp_dir().join(format!("loadgen-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let child = Command::new(program)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn();
        let mut redis = match child {
            Ok(child) => Redis { child, port, dir },
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(
                    format!("cannot start {} ({e}): set REDIS_SERVER or --redis-server", program.display()).into()
                );
            }
        };
        let stdout = redis.child.stdout.take().ok_or("no stdout from redis-server")?;
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        while !line.contains("Ready to accept connections") {
            line.clear();
            if stdout.read_line(&mut line)? == 0 {
                return Err("redis-server exited before it was ready".into());
            }
        }
        // Its log goes on being read, so that a full pipe never stops it.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        eprintln!("redis-server on 127.0.0.1:{port}");
        Ok(redis)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn each(pids: &[u32], f: fn(u32) -> Result<u64, Error>) -> Result<Vec<u64>, Error> {
    pids.iter().map(|&pid| f(pid)).collect()
}

/// The process's resident set size, in KiB (`VmRSS` of /proc/<pid>/status).
fn rss_kib(pid: u32) -> Result<u64, Error> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).ok_or("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).ok_or("bad VmRSS")?.parse()?)
}

/// User plus system CPU time of the process, in clock ticks (fields 14 and 15 of /proc/<pid>/stat).
fn cpu_ticks(pid: u32) -> Result<u64, Error> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces; fields after it are counted from its closing parenthesis.
    let rest = &stat[stat.rfind(')').ok_or("bad stat")? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Ok(fields.get(11).ok_or("bad stat")?.parse::<u64>()? + fields.get(12).ok_or("bad stat")?.parse::<u64>()?)
}

/// The counters read at both ends of the relay phase, summed over the instances.
#[derive(Debug, Default)]
struct Counters {
    relayed: f64,
    remote_sent: f64,
    roundtrip_sum: f64,
    roundtrip_count: f64,
    redis_errors: f64,
}

async fn counters(addrs: &[String]) -> Result<Counters, Error> {
    let mut sum = Counters::default();
    for addr in addrs {
        let body = scrape(addr).await?;
        let relayed = metric(&body, "signaling_messages_relayed_total");
        sum.relayed += relayed.ok_or("no signaling_messages_relayed_total in /metrics")?;
        // Cluster metrics: a labelled counter shows only once counted.
        sum.remote_sent += metric(&body, "signaling_remote_relays_total{outcome=\"sent\"}").unwrap_or(0.0);
        sum.roundtrip_sum += metric(&body, "signaling_redis_roundtrip_seconds_sum").unwrap_or(0.0);
        sum.roundtrip_count += metric(&body, "signaling_redis_roundtrip_seconds_count").unwrap_or(0.0);
        sum.redis_errors += metric(&body, "signaling_redis_errors_total").unwrap_or(0.0);
    }
    Ok(sum)
}

/// One sample of a server's `/metrics`: the whole response.
async fn scrape(addr: &str) -> Result<String, Error> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.write_all(format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut body = String::new();
    tcp.read_to_string(&mut body).await?;
    Ok(body)
}

/// The value of the sample `name` (with its labels, if any) in a `/metrics` text.
fn metric(body: &str, name: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
