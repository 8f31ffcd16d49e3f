//! `ordertrack-sim bench notifier-clients`: one share of the benchmark's sockets, held by
//! a process of its own (a process may hold at most `ulimit -Hn` files, and the sockets
//! of several notifier instances outnumber that). Spawned by `bench notifier`, which talks
//! to it over stdin and stdout, one line at a time:
//!
//! - out `opened <n>` while connecting, then `ready` once every socket is open and every
//!   active order's socket was greeted by a notifier that knows the order;
//! - in `measure` starts counting and timing positions, in `stop` ends it;
//! - out `received <n>` every second while measuring, then `report <json>` ([`Report`]).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use domain::ids::OrderId;
use futures::StreamExt;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::http::Uri;

type Socket = WebSocketStream<tokio::net::TcpStream>;

#[derive(clap::Args)]
pub struct ClientsArgs {
    /// The notifier's WebSocket base (`ws://host:port`).
    #[arg(long)]
    ws: String,
    /// One line per socket: the order id, a tab, and `active` or `idle`.
    #[arg(long)]
    targets: PathBuf,
    /// Local address the sockets are bound to (loopback only has ~28,000 ports per
    /// address pair, so the shares of a large run each take their own 127.0.0.x).
    #[arg(long)]
    source_ip: Option<IpAddr>,
    /// Signs the tickets (the notifier's `tracking.ticket_secret`).
    #[arg(long, env = "ORDERTRACK_TRACKING__TICKET_SECRET", hide_env_values = true)]
    ticket_secret: String,
}

/// What one share of the sockets saw while measuring.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Report {
    /// Positions received by all its sockets.
    pub received: u64,
    /// Sockets of active orders, and how many of them received at least one position.
    pub active: u64,
    pub reached: u64,
    /// Sockets the server closed.
    pub closed: u64,
    /// Active sockets greeted by a notifier that did not know the order yet (reopened).
    pub reopened: u64,
    /// The broker → client latencies in microseconds, as (value, count).
    pub latency_us: Vec<(u64, u64)>,
}

struct Shared {
    measuring: AtomicBool,
    received: AtomicU64,
    closed: AtomicU64,
    latency: std::sync::Mutex<Histogram<u64>>,
}

struct Target {
    order: OrderId,
    active: bool,
}

pub async fn run(args: ClientsArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.targets).with_context(|| format!("reading {}", args.targets.display()))?;
    let targets = text
        .lines()
        .map(|line| {
            let (order, kind) = line.split_once('\t').context("a target line is `<order>\t<active|idle>`")?;
            Ok(Target { order: order.parse()?, active: kind == "active" })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let uri: Uri = args.ws.parse().context("--ws")?;
    let host = uri.host().context("--ws names no host")?.to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let server = tokio::net::lookup_host((host.as_str(), port)).await?.next().context("--ws resolves to nothing")?;
    let shared = Arc::new(Shared {
        measuring: AtomicBool::new(false),
        received: AtomicU64::new(0),
        closed: AtomicU64::new(0),
        latency: std::sync::Mutex::new(Histogram::new_with_bounds(1, 60_000_000, 3)?),
    });
    let expires = Utc::now() + chrono::Duration::hours(1);
    let opener = Opener { ws: args.ws.clone(), server, source_ip: args.source_ip, secret: args.ticket_secret, expires };

    // Open every socket; an active order's must be greeted by a notifier that knows it.
    let mut counters = Vec::with_capacity(targets.len());
    let mut readers = Vec::with_capacity(targets.len());
    let mut reopened = 0u64;
    let deadline = Instant::now() + Duration::from_secs(120);
    for chunk in targets.chunks(200) {
        let opens = chunk.iter().map(|target| opener.open(target, deadline));
        for opened in futures::future::join_all(opens).await {
            let (socket, reopens) = opened?;
            reopened += reopens;
            let count = Arc::new(AtomicU64::new(0));
            counters.push(Arc::clone(&count));
            readers.push(tokio::spawn(read(socket, Arc::clone(&shared), count)));
        }
        println!("opened {}", readers.len());
    }
    println!("ready");

    let mut commands = BufReader::new(tokio::io::stdin()).lines();
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            line = commands.next_line() => match line?.as_deref() {
                Some("measure") => shared.measuring.store(true, Ordering::Release),
                Some("stop") | None => break,
                Some(other) => anyhow::bail!("unknown command {other:?}"),
            },
            _ = ticks.tick() => {
                if shared.measuring.load(Ordering::Acquire) {
                    println!("received {}", shared.received.load(Ordering::Relaxed));
                }
            }
        }
    }
    shared.measuring.store(false, Ordering::Release);
    let reached = targets.iter().zip(&counters).filter(|(t, c)| t.active && c.load(Ordering::Relaxed) > 0).count();
    let latency = shared.latency.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let report = Report {
        received: shared.received.load(Ordering::Relaxed),
        active: targets.iter().filter(|t| t.active).count() as u64,
        reached: reached as u64,
        closed: shared.closed.load(Ordering::Relaxed),
        reopened,
        latency_us: latency.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value())).collect(),
    };
    println!("report {}", serde_json::to_string(&report)?);
    for reader in readers {
        reader.abort();
    }
    Ok(())
}

struct Opener {
    ws: String,
    server: SocketAddr,
    source_ip: Option<IpAddr>,
    secret: String,
    expires: DateTime<Utc>,
}

impl Opener {
    /// Opens the target's socket; an active order's again until the notifier knows it.
    /// Returns the socket and how many times it was reopened.
    async fn open(&self, target: &Target, deadline: Instant) -> anyhow::Result<(Socket, u64)> {
        let ticket = domain::ticket::sign(self.secret.as_bytes(), target.order, self.expires);
        let url = format!("{}/ws?ticket={ticket}", self.ws);
        let mut reopens = 0;
        loop {
            let socket = match self.source_ip {
                Some(IpAddr::V4(ip)) => {
                    tokio::net::TcpSocket::new_v4().and_then(|s| s.bind((ip, 0).into()).map(|()| s))
                }
                Some(IpAddr::V6(ip)) => {
                    tokio::net::TcpSocket::new_v6().and_then(|s| s.bind((ip, 0).into()).map(|()| s))
                }
                None if self.server.is_ipv4() => tokio::net::TcpSocket::new_v4(),
                None => tokio::net::TcpSocket::new_v6(),
            }?;
            let stream = socket.connect(self.server).await.with_context(|| format!("connecting to {}", self.server))?;
            stream.set_nodelay(true)?;
            let (mut socket, _) = tokio_tungstenite::client_async(url.as_str(), stream).await?;
            let hello = match socket.next().await {
                Some(Ok(Message::Text(text))) => serde_json::from_str::<serde_json::Value>(&text)?,
                other => anyhow::bail!("the notifier did not greet the socket: {other:?}"),
            };
            let known = hello.get("known").and_then(serde_json::Value::as_bool).unwrap_or(false);
            if known || !target.active {
                return Ok((socket, reopens));
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "a notifier still did not know order {} after 120 s",
                target.order
            );
            let _ = socket.close(None).await;
            reopens += 1;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// Reads one socket until it closes, timing every position while measuring.
async fn read(mut socket: Socket, shared: Arc<Shared>, count: Arc<AtomicU64>) {
    while let Some(message) = socket.next().await {
        match message {
            Ok(Message::Text(text)) => {
                if !shared.measuring.load(Ordering::Acquire) || !text.contains("\"type\":\"position\"") {
                    continue;
                }
                let now = Utc::now();
                let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
                let Some(sent) =
                    value.get("recorded_at").and_then(|v| v.as_str()).and_then(|t| t.parse::<DateTime<Utc>>().ok())
                else {
                    continue;
                };
                let micros = (now - sent).num_microseconds().unwrap_or(i64::MAX).max(1) as u64;
                shared.received.fetch_add(1, Ordering::Relaxed);
                count.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut histogram) = shared.latency.lock() {
                    let _ = histogram.record(micros.min(60_000_000));
                }
            }
            Ok(Message::Close(_)) | Err(_) => {
                shared.closed.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(_) => {}
        }
    }
}

/// The parent's end: the child processes holding the sockets, and what they said.
pub struct Clients {
    stdins: Vec<tokio::process::ChildStdin>,
    children: Vec<tokio::process::Child>,
    lines: tokio::sync::mpsc::UnboundedReceiver<(usize, Option<String>)>,
    opened: Vec<u64>,
    ready: Vec<bool>,
    received: Vec<u64>,
    reports: Vec<Option<Report>>,
}

impl Clients {
    /// Spawns one child per `per_process` sockets (the targets split evenly) and starts
    /// reading what they print. `targets` are (order id, active).
    pub async fn spawn(
        ws: &str,
        targets: &[(String, bool)],
        per_process: usize,
        secret: &str,
        folder: &std::path::Path,
    ) -> anyhow::Result<Self> {
        let count = targets.len().div_ceil(per_process.max(1)).max(1);
        let share = targets.len().div_ceil(count).max(1);
        // Only for an IPv4 loopback address: "localhost" may resolve to ::1, which a socket
        // bound to 127.0.0.x cannot reach.
        let loopback = ws.parse::<Uri>().ok().and_then(|u| u.host().map(|h| h.starts_with("127.")));
        std::fs::create_dir_all(folder)?;
        let (sender, lines) = tokio::sync::mpsc::unbounded_channel();
        let (mut stdins, mut children) = (Vec::new(), Vec::new());
        for (index, chunk) in targets.chunks(share).enumerate() {
            let file = folder.join(format!("notifier-clients-{index}.tsv"));
            let body: String = chunk
                .iter()
                .map(|(order, active)| format!("{order}\t{}\n", if *active { "active" } else { "idle" }))
                .collect();
            std::fs::write(&file, body)?;
            let mut command = tokio::process::Command::new(std::env::current_exe()?);
            command.args(["bench", "notifier-clients", "--ws", ws]).arg("--targets").arg(&file);
            if loopback == Some(true) {
                // 127.0.0.1, 127.0.0.2, ...: each share its own ~28,000 local ports.
                command.args(["--source-ip", &format!("127.0.0.{}", index % 250 + 1)]);
            }
            let mut child = command
                .env("ORDERTRACK_TRACKING__TICKET_SECRET", secret)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .context("starting a client process")?;
            stdins.push(child.stdin.take().context("the child's stdin")?);
            let stdout = child.stdout.take().context("the child's stdout")?;
            let sender = sender.clone();
            tokio::spawn(async move {
                let mut out = BufReader::new(stdout).lines();
                while let Ok(Some(line)) = out.next_line().await {
                    let _ = sender.send((index, Some(line)));
                }
                let _ = sender.send((index, None));
            });
            children.push(child);
        }
        let n = children.len();
        Ok(Self {
            stdins,
            children,
            lines,
            opened: vec![0; n],
            ready: vec![false; n],
            received: vec![0; n],
            reports: (0..n).map(|_| None).collect(),
        })
    }

    pub fn len(&self) -> usize {
        self.children.len()
    }

    /// Takes one line a child printed into account.
    fn take(&mut self, index: usize, line: Option<String>) -> anyhow::Result<()> {
        let Some(line) = line else {
            anyhow::ensure!(
                self.reports.get(index).is_some_and(Option::is_some),
                "client process {index} exited early (its error is above)"
            );
            return Ok(());
        };
        let (word, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match word {
            "opened" => set(&mut self.opened, index, rest.parse()?),
            "ready" => set(&mut self.ready, index, true),
            "received" => set(&mut self.received, index, rest.parse()?),
            "report" => set(&mut self.reports, index, Some(serde_json::from_str(rest)?)),
            _ => anyhow::bail!("client process {index} said {line:?}"),
        }
        Ok(())
    }

    async fn next(&mut self, until: Instant) -> anyhow::Result<()> {
        match tokio::time::timeout_at(until.into(), self.lines.recv()).await {
            Ok(Some((index, line))) => self.take(index, line),
            Ok(None) => anyhow::bail!("every client process has exited"),
            Err(_) => anyhow::bail!("the client processes did not answer in time"),
        }
    }

    /// Waits until every child has opened its sockets, with a progress bar.
    pub async fn wait_ready(&mut self, sockets: u64) -> anyhow::Result<()> {
        let progress = super::super::bar(sockets, "opening sockets")?;
        let until = Instant::now() + Duration::from_secs(600);
        while !self.ready.iter().all(|r| *r) {
            self.next(until).await?;
            progress.set_position(self.opened.iter().sum());
        }
        progress.finish_and_clear();
        Ok(())
    }

    pub async fn tell(&mut self, command: &str) -> anyhow::Result<()> {
        use tokio::io::AsyncWriteExt;
        for stdin in &mut self.stdins {
            stdin.write_all(format!("{command}\n").as_bytes()).await?;
            stdin.flush().await?;
        }
        Ok(())
    }

    /// Positions received so far while measuring, by what the children last printed.
    pub fn received_so_far(&mut self) -> anyhow::Result<u64> {
        while let Ok((index, line)) = self.lines.try_recv() {
            self.take(index, line)?;
        }
        Ok(self.received.iter().sum())
    }

    /// Waits for every child's report (after `stop`) and adds them up.
    pub async fn reports(&mut self) -> anyhow::Result<Report> {
        let until = Instant::now() + Duration::from_secs(60);
        while self.reports.iter().any(Option::is_none) {
            self.next(until).await?;
        }
        let mut total = Report::default();
        for report in self.reports.iter().flatten() {
            total.received += report.received;
            total.active += report.active;
            total.reached += report.reached;
            total.closed += report.closed;
            total.reopened += report.reopened;
            total.latency_us.extend_from_slice(&report.latency_us);
        }
        for child in &mut self.children {
            let _ = child.wait().await;
        }
        Ok(total)
    }
}

fn set<T>(slots: &mut [T], index: usize, value: T) {
    if let Some(slot) = slots.get_mut(index) {
        *slot = value;
    }
}
