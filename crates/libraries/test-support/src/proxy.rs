//! A TCP proxy in front of a real server that a test can cut and restore, to see how a
//! service behaves when a dependency goes away and comes back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

pub struct TcpProxy {
    address: SocketAddr,
    state: Arc<State>,
    stop: CancellationToken,
}

struct State {
    up: AtomicBool,
    /// Cancelled when the proxy is cut: ends every connection open at that moment.
    connections: Mutex<CancellationToken>,
}

impl TcpProxy {
    /// Starts a proxy on a free loopback port that forwards to `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let address = listener.local_addr().expect("proxy address");
        let state = Arc::new(State { up: AtomicBool::new(true), connections: Mutex::new(CancellationToken::new()) });
        let stop = CancellationToken::new();
        let upstream = upstream.to_owned();
        let (task_state, task_stop) = (Arc::clone(&state), stop.clone());
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    () = task_stop.cancelled() => return,
                    accepted = listener.accept() => accepted,
                };
                let Ok((client, _)) = accepted else { continue };
                if !task_state.up.load(Ordering::SeqCst) {
                    drop(client); // refused: the "server" is down
                    continue;
                }
                let cut = task_state.connections.lock().await.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let mut client = client;
                    tokio::select! {
                        () = cut.cancelled() => {}
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                    }
                });
            }
        });
        Self { address, state, stop }
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// `host:port` of the proxy.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Drops every open connection and refuses new ones until `restore`.
    pub async fn cut(&self) {
        self.state.up.store(false, Ordering::SeqCst);
        let mut connections = self.state.connections.lock().await;
        connections.cancel();
        *connections = CancellationToken::new();
    }

    pub fn restore(&self) {
        self.state.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
