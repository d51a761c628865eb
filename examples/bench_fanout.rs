//! Fan-out benchmark: many GraphQL WebSocket subscribers (`graphql-transport-ws`, token in
//! `connection_init`) on one tenant, subscribed to `messageAdded { id }`, while signed
//! webhooks arrive at a fixed rate. The server runs as its own process (`clientele serve` on a
//! fresh database, workers on as by default), so its memory is its own. Build both first:
//!
//! ```sh
//! cargo build --release --bin clientele --example bench_fanout
//! ulimit -n 65536
//! target/release/examples/bench_fanout --db postgres://postgres@127.0.0.1:5432 \
//!     --subscribers 1000 --rate 50 --duration 30
//! target/release/examples/bench_fanout --db sqlite --subscribers 1000 --rate 50 --duration 30
//! ```
//!
//! After every subscriber is connected and has seen a warm-up message (subscriptions start a
//! moment after `subscribe`), messages are posted at `--rate` per second for `--duration`
//! seconds, each on its own task so a slow answer never delays the schedule. For every
//! delivery the latency is the time from the webhook's 2xx response to the frame's arrival
//! at the subscriber (a frame that beats the response counts as 0). It reports how many
//! subscribers got every message, p50/p99/max latency and the server's peak RSS.

#[path = "bench_common/mod.rs"]
mod common;

use anyhow::{Context, bail};
use clap::Parser;
use common::{FreshDatabase, Server, ServerSettings, quantile};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[derive(Parser)]
#[command(about = "Benchmark subscription fan-out")]
struct Args {
    /// `sqlite` or a PostgreSQL server URL (a fresh database is created on it).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    db: String,
    /// The server binary (default: `clientele` beside this example's directory).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    #[arg(long, default_value_t = 1000)]
    subscribers: usize,
    /// Messages ingested per second.
    #[arg(long, default_value_t = 50)]
    rate: u32,
    /// Measured seconds.
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Run extraction workers in the server (as `clientele serve` does by default).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    workers: bool,
    /// The server's database pool size.
    #[arg(long, default_value_t = 10)]
    db_max_connections: u32,
    /// Keep the database afterwards.
    #[arg(long)]
    keep: bool,
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What one subscriber saw: message ids with arrival times (ns since the run began), and
/// anything other than a `next` frame.
#[derive(Default)]
struct Seen {
    deliveries: Vec<(u128, u64)>,
    other: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bin = args
        .server_bin
        .clone()
        .unwrap_or_else(common::default_server_bin);
    let fresh = FreshDatabase::create(&args.db).await?;
    let result = run(&args, &bin, &fresh.url).await;
    if args.keep {
        println!("kept database {}", clientele::db::redact(&fresh.url));
    } else {
        fresh.remove().await?;
    }
    result
}

async fn connect(addr: &str, token: &str) -> anyhow::Result<Socket> {
    let mut request = format!("ws://{addr}/graphql").into_client_request()?;
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
    socket.send(Message::text(init.to_string())).await?;
    loop {
        match tokio::time::timeout(Duration::from_secs(30), socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                let reply: Value = serde_json::from_str(&text)?;
                if reply["type"] == "connection_ack" {
                    break;
                }
                bail!("instead of connection_ack: {reply}");
            }
            Ok(Some(Ok(Message::Close(frame)))) => bail!("closed at init: {frame:?}"),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(e))) => return Err(e.into()),
            Ok(None) => bail!("closed at init"),
            Err(_) => bail!("no connection_ack in 30 s"),
        }
    }
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { messageAdded { id } }" } });
    socket.send(Message::text(subscribe.to_string())).await?;
    Ok(socket)
}

/// The message id of a `next` frame, read without building a JSON tree (the load generator
/// must keep up with subscribers x rate frames per second).
fn delivered_id(text: &str) -> Option<u128> {
    const KEY: &str = "\"messageAdded\":{\"id\":\"";
    let start = text.find(KEY)? + KEY.len();
    let id = text.get(start..start + 36)?;
    uuid::Uuid::parse_str(id).ok().map(|u| u.as_u128())
}

/// Subscribers that had a delivery, and deliveries to all subscribers.
#[derive(Default)]
struct Counters {
    warm: AtomicUsize,
    delivered: AtomicUsize,
}

/// Reads frames until `stop`, recording deliveries; counts the subscriber as warm at its
/// first delivery.
async fn subscriber(
    mut socket: Socket,
    begun: Instant,
    counters: Arc<Counters>,
    mut stop: watch::Receiver<bool>,
) -> Seen {
    let mut seen = Seen::default();
    // One wait for the stop signal for the whole run: a new one per frame would register
    // with the shared watch channel 50,000 times a second and make this load tool, which
    // shares the machine with the server, much of what is measured.
    let stopped = stop.wait_for(|s| *s);
    tokio::pin!(stopped);
    loop {
        let frame = tokio::select! {
            frame = socket.next() => frame,
            _ = &mut stopped => break,
        };
        let at = begun.elapsed().as_nanos() as u64;
        match frame {
            Some(Ok(Message::Text(text))) => match delivered_id(&text) {
                Some(id) => {
                    if seen.deliveries.is_empty() {
                        counters.warm.fetch_add(1, Ordering::Relaxed);
                    }
                    counters.delivered.fetch_add(1, Ordering::Relaxed);
                    seen.deliveries.push((id, at));
                }
                None => seen.other.push(text.to_string()),
            },
            Some(Ok(Message::Close(frame))) => {
                seen.other.push(format!("close {frame:?}"));
                break;
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                seen.other.push(format!("socket error {e}"));
                break;
            }
            None => {
                seen.other.push("socket closed".into());
                break;
            }
        }
    }
    let _ = socket.close(None).await;
    seen
}

/// Posts one message; returns its id and when its 2xx arrived (ns since the run began).
async fn post(
    http: &reqwest::Client,
    url: &str,
    n: u64,
    run: &str,
    begun: Instant,
) -> anyhow::Result<(u128, u64)> {
    let from = common::sender_phone(2_000_000 + n % 500);
    let response = common::signed_delivery(
        http,
        url,
        &format!("fanout-{run}-{n}"),
        &from,
        &format!("Message {n}: is my order ready?"),
    )
    .send()
    .await?;
    let at = begun.elapsed().as_nanos() as u64;
    let status = response.status();
    let body: Value = response.json().await?;
    if !status.is_success() || body["status"] != "stored" {
        bail!("HTTP {status}: {body}");
    }
    let id = body["messageId"].as_str().context("no messageId")?;
    Ok((uuid::Uuid::parse_str(id)?.as_u128(), at))
}

async fn run(args: &Args, bin: &std::path::Path, url: &str) -> anyhow::Result<()> {
    let (db, _tenant, admin) = common::prepare(url).await?;
    db.close().await?;
    println!(
        "before: machine {:.0}% busy, load average {}   ({} cores)",
        common::machine_busy_percent().await,
        common::load_average(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let settings = ServerSettings {
        workers: args.workers,
        worker_concurrency: 4,
        db_max_connections: args.db_max_connections,
    };
    let server = Server::start(bin, url, &settings).await?;
    common::add_inbox(&server, &admin).await?;
    let (_, baseline) = server.memory_mib();
    println!(
        "{} ({}), server pid {} on {}, pool {}, workers {}; server RSS at start {baseline:.0} MiB",
        common::backend_name(url),
        clientele::db::redact(url),
        server.pid(),
        server.addr,
        args.db_max_connections,
        if args.workers { "on" } else { "off" },
    );

    // Connect every subscriber (a few hundred handshakes at a time).
    let begun = Instant::now();
    let counters = Arc::new(Counters::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let gate = Arc::new(Semaphore::new(100));
    let mut connecting = Vec::with_capacity(args.subscribers);
    for _ in 0..args.subscribers {
        let (addr, token, gate) = (server.addr.clone(), admin.clone(), gate.clone());
        connecting.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await?;
            connect(&addr, &token).await
        }));
    }
    let mut subscribers = Vec::with_capacity(args.subscribers);
    for c in connecting {
        let socket = c.await??;
        subscribers.push(tokio::spawn(subscriber(
            socket,
            begun,
            counters.clone(),
            stop_rx.clone(),
        )));
    }
    println!(
        "{} subscribers connected in {:.1} s; server RSS {:.0} MiB",
        args.subscribers,
        begun.elapsed().as_secs_f64(),
        server.memory_mib().0
    );

    // Warm up until every subscription is live.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .timeout(Duration::from_secs(30))
        .build()?;
    let hook = server.url("/webhooks/generic");
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let warm_started = Instant::now();
    let mut n = 0u64;
    while counters.warm.load(Ordering::Relaxed) < args.subscribers {
        if warm_started.elapsed() > Duration::from_secs(60) {
            bail!(
                "only {} of {} subscribers got a message within 60 s",
                counters.warm.load(Ordering::Relaxed),
                args.subscribers
            );
        }
        post(&http, &hook, n, &run_id, begun).await?;
        n += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let the warm-up deliveries drain before measuring.
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!(
        "all subscriptions live after {n} warm-up messages ({:.1} s)",
        warm_started.elapsed().as_secs_f64()
    );

    // Measure: `rate` messages per second for `duration` seconds.
    let load_start = common::load_average();
    let cpu_start = server.cpu_seconds();
    let measure_started = Instant::now();
    let delivered_before = counters.delivered.load(Ordering::Relaxed);
    let acks: Arc<Mutex<Vec<(u128, u64)>>> = Arc::default();
    let failures: Arc<Mutex<Vec<String>>> = Arc::default();
    let total = args.rate as u64 * args.duration;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate as f64));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut peak_rss = 0.0f64;
    let mut last_sample = Instant::now();
    let mut posts = Vec::with_capacity(total as usize);
    for i in 0..total {
        ticker.tick().await;
        let (http, hook, run_id, acks, failures) = (
            http.clone(),
            hook.clone(),
            run_id.clone(),
            acks.clone(),
            failures.clone(),
        );
        posts.push(tokio::spawn(async move {
            match post(&http, &hook, n + i, &run_id, begun).await {
                Ok(ack) => acks.lock().unwrap().push(ack),
                Err(e) => failures.lock().unwrap().push(e.to_string()),
            }
        }));
        if last_sample.elapsed() > Duration::from_millis(500) {
            peak_rss = peak_rss.max(server.memory_mib().0);
            last_sample = Instant::now();
        }
    }
    for p in posts {
        p.await?;
    }
    let posting = measure_started.elapsed();
    let load_during = common::load_average();
    // Stragglers: up to 10 s for every subscriber to have everything.
    let acks = std::mem::take(&mut *acks.lock().unwrap());
    let measured: HashMap<u128, u64> = acks.iter().copied().collect();
    let expected = delivered_before + args.subscribers * measured.len();
    let waiting = Instant::now();
    while counters.delivered.load(Ordering::Relaxed) < expected
        && waiting.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop_tx.send(true);
    let mut seen = Vec::with_capacity(subscribers.len());
    for s in subscribers {
        seen.push(s.await?);
    }
    let cpu = server.cpu_seconds() - cpu_start;
    let cpu_window = measure_started.elapsed().as_secs_f64();
    let (rss_now, hwm) = server.memory_mib();
    peak_rss = peak_rss.max(rss_now);

    // Every subscriber should have every measured message.
    let mut latencies: Vec<u64> = Vec::with_capacity(measured.len() * seen.len());
    let mut complete = 0usize;
    let mut missing = 0usize;
    let mut early = 0usize;
    let mut other = 0usize;
    let mut examples = Vec::new();
    for s in &seen {
        let mut got = 0usize;
        for (id, at) in &s.deliveries {
            if let Some(acked) = measured.get(id) {
                got += 1;
                if at < acked {
                    early += 1;
                }
                latencies.push(at.saturating_sub(*acked));
            }
        }
        if got == measured.len() {
            complete += 1;
        } else {
            missing += measured.len().saturating_sub(got);
        }
        other += s.other.len();
        if examples.len() < 3 {
            examples.extend(s.other.iter().take(1).cloned());
        }
    }
    latencies.sort_unstable();
    let ms = |q: f64| quantile(&latencies, q).map_or(0.0, |ns| ns as f64 / 1e6);
    let failed = failures.lock().unwrap().clone();
    println!(
        "\nfan-out: {} subscribers, {} messages at {}/s over {:.1} s ({} webhook failures)",
        args.subscribers,
        measured.len(),
        args.rate,
        posting.as_secs_f64(),
        failed.len()
    );
    println!(
        "subscribers with every message: {complete} of {}; deliveries {} of {} expected, missing {missing}; frames other than deliveries {other}",
        seen.len(),
        latencies.len(),
        measured.len() * seen.len()
    );
    println!(
        "latency webhook 2xx -> subscriber, ms: p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}  ({early} deliveries arrived before the 2xx)",
        ms(0.5),
        ms(0.9),
        ms(0.99),
        ms(1.0)
    );
    println!(
        "server: peak RSS {:.0} MiB (VmHWM {hwm:.0} MiB, {baseline:.0} MiB before subscribers), CPU {:.0}% of a core while measured; load average {load_start} -> {load_during}",
        peak_rss,
        100.0 * cpu / cpu_window,
    );
    for e in examples.iter().chain(failed.iter().take(3)) {
        println!("  e.g. {}", e.chars().take(300).collect::<String>());
    }
    server.stop();
    Ok(())
}
