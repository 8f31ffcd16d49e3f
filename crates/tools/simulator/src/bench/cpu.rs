//! Who held the cores during a measurement: each process's CPU time (user + system, all
//! its threads) from `/proc/<pid>/stat`, read at the start and the end of a window and
//! summed by process name. On a machine whose two cores run the whole stack and the
//! load generator, a throughput means little without these shares.
//!
//! A process that started within the window counts from zero; one that ended within it
//! is missed (short-lived helpers such as `psql`).

use std::collections::HashMap;
use std::time::Instant;

use serde::Serialize;

/// The CPU time of every process at one moment.
pub struct Snapshot {
    at: Instant,
    ticks: HashMap<u32, (String, u64)>,
}

/// One process name's share of the window, in cores (1.0 = one core busy all along).
#[derive(Debug, Clone, Serialize)]
pub struct Share {
    pub process: String,
    pub cores: f64,
}

/// Linux reports CPU time in clock ticks of 1/100 s on every architecture it runs on
/// (`sysconf(_SC_CLK_TCK)`, fixed as `USER_HZ` in the kernel's ABI).
const TICKS_PER_SECOND: f64 = 100.0;

impl Snapshot {
    pub fn take() -> Self {
        let mut ticks = HashMap::new();
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for entry in entries.flatten() {
                let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else {
                    continue;
                };
                if let Some(sample) = read_stat(pid) {
                    ticks.insert(pid, sample);
                }
            }
        }
        Self { at: Instant::now(), ticks }
    }

    /// Each process name's cores since `self`, largest first (those that used none left out).
    pub fn shares_since(&self) -> Vec<Share> {
        let now = Self::take();
        let seconds = now.at.duration_since(self.at).as_secs_f64().max(0.001);
        let mut by_name: HashMap<String, u64> = HashMap::new();
        for (pid, (name, ticks)) in &now.ticks {
            let before = self.ticks.get(pid).filter(|(old, _)| old == name).map_or(0, |(_, ticks)| *ticks);
            *by_name.entry(label(name)).or_default() += ticks.saturating_sub(before);
        }
        let mut shares: Vec<Share> = by_name
            .into_iter()
            .map(|(process, ticks)| Share { process, cores: ticks as f64 / TICKS_PER_SECOND / seconds })
            .filter(|share| share.cores > 0.0)
            .collect();
        shares.sort_by(|a, b| b.cores.total_cmp(&a.cores));
        shares
    }
}

/// `postgres 0.90, order-api 0.38, kafka 0.28, ...` (the first `top` names).
pub fn describe(shares: &[Share], top: usize) -> String {
    let total: f64 = shares.iter().map(|share| share.cores).sum();
    let listed: Vec<String> = shares
        .iter()
        .take(top)
        .filter(|share| share.cores >= 0.005)
        .map(|share| format!("{} {:.2}", share.process, share.cores))
        .collect();
    format!("{} (all: {total:.2} of {} cores)", listed.join(", "), cores())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// The local broker is the only Java process of the stack.
fn label(name: &str) -> String {
    if name == "java" { "kafka (java)".to_owned() } else { name.to_owned() }
}

/// The process name and its user + system ticks, from `/proc/<pid>/stat`.
fn read_stat(pid: u32) -> Option<(String, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// `pid (name) state ppid ... utime stime ...`: the name may hold spaces and
/// parentheses, so the fields are counted from the last `)`.
fn parse_stat(text: &str) -> Option<(String, u64)> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // After the name: state is field 3 of stat(5), utime field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((name, utime + stime))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_name_and_the_cpu_ticks_are_read_from_a_stat_line() {
        let line = "4242 (order api (x)) S 1 4242 4242 0 -1 4194560 1234 0 0 0 150 27 0 0 20 0 9 0 \
                    123456 1000000 2000 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0";
        assert_eq!(parse_stat(line), Some(("order api (x)".to_owned(), 177)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn a_busy_thread_of_this_process_shows_in_its_share() {
        let before = Snapshot::take();
        let (me, start) = read_stat(std::process::id()).unwrap();
        // Spin until this process has used a tenth of a second of CPU, however long
        // that takes on a busy machine.
        let mut spins = 0u64;
        while read_stat(std::process::id()).unwrap().1 < start + 10 {
            for _ in 0..100_000 {
                spins = std::hint::black_box(spins + 1);
            }
        }
        let shares = before.shares_since();
        let mine = shares.iter().find(|share| share.process == me).unwrap();
        assert!(mine.cores > 0.0, "{shares:?}");
    }

    #[test]
    fn the_description_lists_the_largest_shares_and_the_total() {
        let share = |process: &str, cores| Share { process: process.to_owned(), cores };
        let shares = [share("postgres", 0.9), share("order-api", 0.38), share("redis-server", 0.001)];
        let text = describe(&shares, 5);
        assert!(text.starts_with("postgres 0.90, order-api 0.38 (all: 1.28 of "), "{text}");
        assert!(!text.contains("redis"), "{text}");
    }
}
