//! `e2ee-load`: drives N clients in M groups through the proxy with real
//! MLS encryption (or, with `--opaque`, with frames sealed in advance, so the
//! service alone is measured), optionally kills a replica mid-run, and ends
//! with one line:
//!
//! `sent S, delivered D, lost L, duplicated U, p50 A ms, p99 B ms, R msg/s`
//!
//! A message delivered to nine members counts nine. Without `--url` it
//! starts its own redis-server, replicas (this same binary, in its hidden
//! `__replica` mode) and nginx on free loopback ports, and also measures the
//! store's own ceiling with redis-benchmark.
#![forbid(unsafe_code)]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use clap::Parser;
use e2ee_core::{Event, Group};
use e2ee_testkit::client::{LiveEvent, Peer};
use e2ee_testkit::testbed::{Redis, Testbed, find_binary};
use reference_server::wire::Post;
use tokio::sync::mpsc;

#[derive(Parser, Debug, Clone)]
#[command(name = "e2ee-load", about = "Load and failover test of the e2ee delivery service")]
struct Args {
    /// Replicas to start (behind nginx, sharing one redis-server).
    #[arg(long, default_value_t = 3)]
    replicas: usize,
    /// Clients.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Groups (clients are split evenly).
    #[arg(long, default_value_t = 10)]
    groups: usize,
    /// Messages sent in total.
    #[arg(long, default_value_t = 20_000)]
    messages: usize,
    /// SIGKILL one replica after this many messages were accepted.
    #[arg(long)]
    kill_replica_after: Option<usize>,
    /// Send frames sealed in advance; receivers only check and count them.
    #[arg(long)]
    opaque: bool,
    /// Application payload size in bytes.
    #[arg(long, default_value_t = 200)]
    size: usize,
    /// Posts each client keeps in flight.
    #[arg(long, default_value_t = 1)]
    window: usize,
    /// Offered load in messages sent per second, all clients together:
    /// message i is due i / rate seconds after the start, and its latency
    /// counts from then, so a generator or service that falls behind shows
    /// in the percentiles. Without it each client sends as fast as its
    /// window allows, and the percentiles are those of a saturated service.
    #[arg(long, value_parser = positive_rate)]
    rate: Option<f64>,
    /// Receive group messages as JSON text frames instead of binary ones.
    #[arg(long)]
    json: bool,
    /// Use this running service instead of starting one (no kill, no ceiling).
    #[arg(long)]
    url: Option<String>,
    /// Give up on missing deliveries after this many seconds without progress.
    #[arg(long, default_value_t = 20)]
    settle_secs: u64,
}

/// What every client task shares.
struct Shared {
    args: Args,
    start: Instant,
    /// Microseconds since `start` at which message `id` was sent.
    sent_at: Vec<AtomicU64>,
    /// With `--opaque`: the frames, and each frame's id.
    sealed: Vec<Vec<u8>>,
    by_frame: HashMap<Vec<u8>, u64>,
    accepted: AtomicUsize,
    failed: AtomicUsize,
    delivered: AtomicUsize,
    stop: AtomicBool,
}

#[derive(Default)]
struct Stats {
    delivered: usize,
    duplicated: usize,
    latencies_us: Vec<u64>,
}

fn payload(id: u64, size: usize) -> Vec<u8> {
    let mut p = id.to_be_bytes().to_vec();
    p.resize(size.max(8), b'x');
    p
}

fn now_us(shared: &Shared) -> u64 {
    shared.start.elapsed().as_micros() as u64
}

/// `--rate` must be a positive, finite number (0 would never send).
fn positive_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!("{text:?} is not a positive number of messages per second")),
    }
}

/// With `--rate`: when message `id` is due, in microseconds since the start.
fn due_us(shared: &Shared, id: u64) -> Option<u64> {
    shared.args.rate.map(|rate| (id as f64 * 1e6 / rate) as u64)
}

/// One client: keeps `window` posts in flight and counts what it receives.
async fn run_client(peer: Peer, mut group: Group, position: u64, plan: Vec<u64>, shared: Arc<Shared>) -> Stats {
    let id = group.id().to_vec();
    let mut live = peer.ds.live_with(!shared.args.json);
    live.subscribe(&id, position).await;
    while !matches!(live.next().await, Some(LiveEvent::Subscribed(Some(_))) | None) {}
    let sender = live.sender();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let mut own: HashMap<Vec<u8>, u64> = HashMap::new();
    let (mut next, mut in_flight) = (0, 0);
    let mut stats = Stats::default();
    let mut received: HashSet<u64> = HashSet::new();
    while !shared.stop.load(Relaxed) {
        while in_flight < shared.args.window && next < plan.len() {
            let message_id = plan[next];
            let due = due_us(&shared, message_id);
            if due.is_some_and(|due| due > now_us(&shared)) {
                break;
            }
            next += 1;
            let frame = if shared.args.opaque {
                shared.sealed[message_id as usize].clone()
            } else {
                let sealed = group.seal(&payload(message_id, shared.args.size), b"").expect("seal");
                own.insert(sealed.clone(), message_id);
                sealed
            };
            let sent = due.unwrap_or_else(|| now_us(&shared));
            shared.sent_at[message_id as usize].store(sent, Relaxed);
            let (sender, id, done) = (sender.clone(), id.clone(), done_tx.clone());
            tokio::spawn(async move {
                let post = Post {
                    message: frame,
                    ..Post::default()
                };
                let _ = done.send(sender.send(&id, post).await);
            });
            in_flight += 1;
        }
        // Wake for the next due message (a full window wakes by its post's
        // result instead), or every 50 ms to see `stop`.
        let wait = Duration::from_millis(50);
        let wake = match plan.get(next).and_then(|&id| due_us(&shared, id)) {
            Some(due) if in_flight < shared.args.window => {
                wait.min(Duration::from_micros(due.saturating_sub(now_us(&shared))))
            }
            _ => wait,
        };
        tokio::select! {
            Some(result) = done_rx.recv() => {
                in_flight -= 1;
                match result {
                    Ok(_) => shared.accepted.fetch_add(1, Relaxed),
                    Err(e) => {
                        eprintln!("post refused: {e}");
                        shared.failed.fetch_add(1, Relaxed)
                    }
                };
            }
            event = live.next() => match event {
                Some(LiveEvent::Message { message, .. }) => {
                    let message_id = if shared.args.opaque {
                        shared.by_frame.get(&message).copied()
                    } else if own.contains_key(&message) {
                        None
                    } else {
                        match &group.open(&message).expect("open")[..] {
                            [Event::Message { data, .. }] => data.get(..8).map(|b| u64::from_be_bytes(b.try_into().unwrap_or_default())),
                            _ => None,
                        }
                    };
                    let Some(message_id) = message_id else { continue };
                    if plan.binary_search(&message_id).is_ok() {
                        continue; // its own echo
                    }
                    if !received.insert(message_id) {
                        stats.duplicated += 1;
                        continue;
                    }
                    stats.delivered += 1;
                    shared.delivered.fetch_add(1, Relaxed);
                    let sent = shared.sent_at[message_id as usize].load(Relaxed);
                    stats.latencies_us.push(now_us(&shared).saturating_sub(sent));
                }
                Some(_) => {}
                None => break,
            },
            _ = tokio::time::sleep(wake) => {}
        }
    }
    stats
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

/// CPU time (user + system) of the processes of a run, in seconds, by
/// role: where the work per delivered message goes.
#[derive(Clone, Copy, Default)]
struct Cpu {
    generator: f64,
    replicas: f64,
    nginx: f64,
    redis: f64,
}

/// Clock ticks per second of /proc's times.
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// (parent PID, utime + stime in ticks) from /proc/PID/stat.
fn proc_stat(pid: &str) -> Option<(u32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After "pid (comm) ": state, ppid, …; utime and stime are fields 14
    // and 15 of the line, 11 and 12 after the command name.
    let fields: Vec<&str> = text.get(text.rfind(')')? + 2..)?.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some((fields.get(1)?.parse().ok()?, ticks))
}

/// CPU ticks of `pid` and its direct children (nginx's workers).
fn tree_ticks(pid: u32) -> u64 {
    let own = proc_stat(&pid.to_string()).map_or(0, |(_, t)| t);
    let children: u64 = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| proc_stat(e.file_name().to_str()?))
        .filter(|(ppid, _)| *ppid == pid)
        .map(|(_, t)| t)
        .sum();
    own + children
}

impl Cpu {
    /// Now, for the processes of `bed` still alive (plus `gone`: the CPU
    /// of replicas already killed, read just before).
    fn sample(bed: &Testbed, gone: f64) -> Self {
        let hz = clock_ticks();
        let seconds = |pid: u32| tree_ticks(pid) as f64 / hz;
        Self {
            generator: seconds(std::process::id()),
            replicas: gone + bed.replicas.iter().map(|r| seconds(r.process.pid())).sum::<f64>(),
            nginx: seconds(bed.nginx.process.pid()),
            redis: seconds(bed.redis.process.pid()),
        }
    }

    /// CPU seconds per 1,000 deliveries between `self` and `end`.
    fn report(self, end: Self, delivered: usize) -> String {
        let per = |a: f64, b: f64| (b - a) * 1000.0 / delivered.max(1) as f64;
        let parts = [
            per(self.generator, end.generator),
            per(self.replicas, end.replicas),
            per(self.nginx, end.nginx),
            per(self.redis, end.redis),
        ];
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let load: Vec<&str> = load.split_whitespace().take(3).collect();
        format!(
            "cpu per 1000 deliveries: total {:.3} s (generator {:.3}, replicas {:.3}, nginx {:.3}, redis {:.3}); load average {}",
            parts.iter().sum::<f64>(),
            parts[0],
            parts[1],
            parts[2],
            parts[3],
            load.join(" ")
        )
    }
}

/// redis-benchmark of the stream append the service uses, against the
/// run's own redis-server: the store's ceiling on this machine.
fn store_ceiling(redis: &Redis, size: usize) -> Option<String> {
    let bin = find_binary("redis-benchmark")?;
    let value = "x".repeat(size);
    let out = std::process::Command::new(bin)
        // The test bed's own throwaway password, for its own redis-server.
        .args(["-a", &redis.password, "--no-auth-warning"])
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &redis.port.to_string(),
            "-q",
            "-n",
            "200000",
            "-c",
            "50",
            "-P",
            "16",
        ])
        .args(["XADD", "e2ee-load-bench", "MAXLEN", "~", "100000", "*", "m", &value])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "XADD ...: 123456.78 requests per second, p50=...": the number just
    // before the words (the command itself contains numbers too).
    let line = text.lines().rev().find(|l| l.contains("requests per second"))?;
    let before = &line[..line.find("requests per second")?];
    let rate = before.split_whitespace().last()?.parse::<f64>().ok()?;
    Some(format!(
        "store ceiling: redis-benchmark XADD ({size}-byte field, 50 clients, pipeline 16): {rate:.0} ops/s"
    ))
}

async fn load(args: Args) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut bed = None;
    let url = match &args.url {
        Some(url) => url.clone(),
        None => {
            let exe = std::env::current_exe()?;
            let flags = [
                "--rate-per-second",
                "1000000",
                "--rate-burst",
                "1000000",
                "--shutdown-grace",
                "2",
            ];
            let started = Testbed::start_with(&exe, &["__replica"], args.replicas, &flags)?
                .ok_or("redis-server and nginx are needed (apt-get install redis-server nginx)")?;
            let url = started.url();
            eprintln!("started redis-server, {} replicas and nginx at {url}", args.replicas);
            bed = Some(started);
            url
        }
    };
    let per_group = (args.clients / args.groups.max(1)).max(2);
    let run_tag = format!("{}", std::process::id());
    // Groups: the first member creates and adds the others.
    let setup = Instant::now();
    let mut members: Vec<(Peer, Group, u64)> = Vec::new();
    for g in 0..args.groups {
        let mut peers = Vec::new();
        for m in 0..per_group {
            peers.push(Peer::register(&url, &format!("load-{run_tag}-g{g}-m{m}"), 1).await?);
        }
        let mut group = peers[0].create_group(false).await?;
        let names: Vec<String> = peers[1..].iter().map(|p| p.ds.identity().to_owned()).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let position = peers[0].add(&mut group, &names).await?;
        let mut groups = vec![group];
        for peer in &mut peers[1..] {
            let item = peer.ds.mailbox(0).await?.into_iter().next().ok_or("no Welcome")?;
            groups.push(peer.join(&item)?);
        }
        members.extend(peers.into_iter().zip(groups).map(|(p, g)| (p, g, position)));
    }
    let clients = members.len();
    eprintln!(
        "{clients} clients in {} groups of {per_group} ready in {:.1} s",
        args.groups,
        setup.elapsed().as_secs_f64()
    );
    // Message i is sent by client i % clients.
    let mut sealed = Vec::new();
    let mut by_frame = HashMap::new();
    if args.opaque {
        for i in 0..args.messages {
            let (_, group, _) = &mut members[i % clients];
            let frame = group.seal(&payload(i as u64, args.size), b"")?;
            by_frame.insert(frame.clone(), i as u64);
            sealed.push(frame);
        }
    }
    let shared = Arc::new(Shared {
        start: Instant::now(),
        sent_at: (0..args.messages).map(|_| AtomicU64::new(0)).collect(),
        sealed,
        by_frame,
        accepted: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        delivered: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        args: args.clone(),
    });
    let mut tasks = Vec::new();
    for (c, (peer, group, position)) in members.into_iter().enumerate() {
        let plan: Vec<u64> = (c..args.messages).step_by(clients).map(|i| i as u64).collect();
        tasks.push(tokio::spawn(run_client(peer, group, position, plan, shared.clone())));
    }
    let expected_per_message = per_group - 1;
    let mut killed = false;
    let mut gone_cpu = 0.0;
    let cpu_start = bed.as_ref().map(|bed| Cpu::sample(bed, 0.0));
    let mut last = (0, Instant::now());
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (accepted, failed) = (shared.accepted.load(Relaxed), shared.failed.load(Relaxed));
        if let (Some(after), Some(bed), false) = (args.kill_replica_after, bed.as_mut(), killed)
            && accepted >= after
        {
            let victim = bed.replicas.len() - 1;
            gone_cpu = tree_ticks(bed.replicas[victim].process.pid()) as f64 / clock_ticks();
            bed.kill_replica(victim);
            killed = true;
            eprintln!("killed replica {victim} (SIGKILL) after {accepted} accepted messages");
        }
        let delivered = shared.delivered.load(Relaxed);
        if delivered != last.0 {
            last = (delivered, Instant::now());
        }
        let all_sent = accepted + failed == args.messages;
        if all_sent && delivered >= accepted * expected_per_message {
            break;
        }
        if all_sent && last.1.elapsed() > Duration::from_secs(args.settle_secs) {
            eprintln!(
                "no progress for {} s: counting what is missing as lost",
                args.settle_secs
            );
            break;
        }
    }
    let elapsed = last.1.duration_since(shared.start).as_secs_f64().max(1e-6);
    shared.stop.store(true, Relaxed);
    let cpu_end = bed.as_ref().map(|bed| Cpu::sample(bed, gone_cpu));
    let mut total = Stats::default();
    for t in tasks {
        let s = t.await?;
        total.delivered += s.delivered;
        total.duplicated += s.duplicated;
        total.latencies_us.extend(s.latencies_us);
    }
    total.latencies_us.sort_unstable();
    let accepted = shared.accepted.load(Relaxed);
    let lost = (accepted * expected_per_message).saturating_sub(total.delivered)
        + shared.failed.load(Relaxed) * expected_per_message;
    println!(
        "sent {accepted}, delivered {}, lost {lost}, duplicated {}, p50 {:.1} ms, p99 {:.1} ms, {:.0} msg/s",
        total.delivered,
        total.duplicated,
        percentile(&total.latencies_us, 0.50),
        percentile(&total.latencies_us, 0.99),
        total.delivered as f64 / elapsed,
    );
    if let (Some(start), Some(end)) = (cpu_start, cpu_end) {
        println!("{}", start.report(end, total.delivered));
    }
    if let Some(ceiling) = bed.as_ref().and_then(|bed| store_ceiling(&bed.redis, args.size)) {
        println!("{ceiling}");
    }
    if args.rate.is_none() {
        // Without an offered rate the run is closed-loop: its percentiles
        // include every queue at saturation, the generator's own among them.
        eprintln!(
            "note: no --rate: every client sent as fast as its window allowed, so p50 and p99 are at saturation; --rate R offers a fixed load"
        );
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    // One thread per replica, and for the generator unless it does MLS:
    // they share two cores, and waking tasks across threads (futexes, cache
    // misses) costs more CPU per delivered message than the work itself.
    // Opening real MLS messages is worth a second core.
    let replica = argv.get(1).map(String::as_str) == Some("__replica");
    let threaded = !replica && !argv.iter().any(|a| a == "--opaque");
    let runtime = if threaded {
        tokio::runtime::Builder::new_multi_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // Hidden mode: serve as one replica (the testbed starts this binary).
    if replica {
        let rest = std::iter::once("reference-server".to_owned()).chain(argv[2..].iter().cloned());
        return runtime.block_on(reference_server::run(reference_server::Config::parse_from(rest)));
    }
    let args = Args::parse();
    match runtime.block_on(load(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("e2ee-load: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
