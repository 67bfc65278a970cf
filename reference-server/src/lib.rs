//! # reference-server
//!
//! The reference MLS delivery service (RFC 9750 §5) for `e2ee`: it stores
//! KeyPackages and GroupInfos, keeps each group's messages in one ordered
//! log and accepts at most one Commit per epoch (across all replicas), and
//! pushes every message to the group's members over WebSockets, resuming
//! from each client's last position after a reconnect. It reads only the
//! public MLS framing; it never holds a key that decrypts anything.
//!
//! - [`store`]: storage, one trait per concern, in memory (default) or Redis;
//! - [`inspect`]: what the service reads of MLS messages;
//! - [`service`]: the operations, with access control and limits;
//! - [`http`] and [`ws`]: the protocol (docs/server-protocol.md).
//!
//! A client of the protocol, the test bed that starts redis-server,
//! replicas and nginx as processes, and the load tool `e2ee-load` are in
//! the `e2ee-testkit` crate (`reference-server/testkit/`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod auth;
pub mod config;
pub mod error;
pub mod http;
pub mod hub;
pub mod inspect;
pub mod limits;
pub mod metrics;
pub mod service;
pub mod store;
pub mod wire;
pub mod ws;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::sync::watch;

pub use config::Config;
use service::App;
use store::{Store, StoreError};

/// Opens the store the configuration names.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match &config.redis_url {
        Some(url) => {
            let redis = store::redis::RedisConfig {
                url: url.clone(),
                cluster: config.redis_cluster,
                prefix: config.redis_prefix.clone(),
            };
            Arc::new(store::redis::RedisStore::connect(redis).await?)
        }
        None => Arc::new(store::memory::MemoryStore::new()),
    })
}

/// A running replica.
pub struct Server {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The address of its internal listener (`/metrics`), if it has one.
    pub metrics_addr: Option<SocketAddr>,
    /// Its shared state (metrics, store).
    pub app: Arc<App>,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// Sets TCP_NODELAY on every accepted connection, so each pushed frame and
/// answer leaves at once instead of waiting for the peer's ACK of the one
/// before (Nagle's algorithm, which axum leaves on). With Nagle on, every
/// post would wait tens of milliseconds under load (`docs/performance.md`).
fn without_nagle(
    listener: tokio::net::TcpListener,
) -> impl axum::serve::Listener<Io = tokio::net::TcpStream, Addr = SocketAddr> {
    listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "could not set TCP_NODELAY");
        }
    })
}

/// Serves `router` on `listener` until `stop` turns `true`.
fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let serve = axum::serve(without_nagle(listener), router).with_graceful_shutdown(async move {
            let _ = stop.wait_for(|down| *down).await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "server failed");
        }
    })
}

/// Binds `config.listen` (and `config.metrics_listen`, if set) and serves
/// with `store` until [`Server::shutdown`].
pub async fn start(config: Config, store: Arc<dyn Store>) -> Result<Server, Box<dyn std::error::Error + Send + Sync>> {
    let (shutdown, signal) = watch::channel(false);
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let internal = match config.metrics_listen {
        Some(at) => Some(tokio::net::TcpListener::bind(at).await?),
        None => None,
    };
    let metrics_addr = internal.as_ref().map(|l| l.local_addr()).transpose()?;
    let app = App::new(config, store, signal.clone()).await?;
    if let Some(listener) = internal {
        serve(listener, http::internal_router(app.clone()), signal.clone());
    }
    let router = http::router(app.clone()).layer(tower_http::trace::TraceLayer::new_for_http());
    let task = serve(listener, router, signal);
    tracing::info!(%addr, ?metrics_addr, "listening");
    Ok(Server {
        addr,
        metrics_addr,
        app,
        shutdown,
        task,
    })
}

impl Server {
    /// Graceful shutdown: stops taking connections, closes WebSockets with
    /// "going away" (clients resume elsewhere) and waits up to the grace
    /// period for requests in flight, whose answers are sent only after
    /// the store has the data — so nothing acknowledged is dropped.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let grace = Duration::from_secs(self.app.config.shutdown_grace);
        let app = self.app.clone();
        let drained = async move {
            let _ = self.task.await;
            while app.connections.total() > 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        if tokio::time::timeout(grace, drained).await.is_err() {
            tracing::warn!("shutdown grace period over with work in flight");
        }
        tracing::info!("stopped");
    }
}

/// The server binary's whole life: logs, store, serve until SIGINT or
/// SIGTERM, graceful shutdown. Returns the process exit code.
pub async fn run(config: Config) -> std::process::ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    // A second init (e.g. in-process) keeps the first subscriber.
    let _ = if config.log_json {
        logs.json().try_init()
    } else {
        logs.try_init()
    };
    let store = match open_store(&config).await {
        Ok(store) => store,
        Err(e) => {
            tracing::error!(error = %e, "cannot open the store");
            return std::process::ExitCode::FAILURE;
        }
    };
    if !config.listen.ip().is_loopback() {
        // The service speaks plain HTTP: off loopback, only a TLS proxy on
        // a private network may reach it (deploy/).
        tracing::warn!(listen = %config.listen, "plain HTTP off loopback: keep this port private, behind the TLS proxy");
    }
    let backend = if config.redis_url.is_some() { "redis" } else { "memory" };
    let static_dir = config.static_dir();
    let server = match start(config, store).await {
        Ok(server) => server,
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            return std::process::ExitCode::FAILURE;
        }
    };
    tracing::info!(addr = %server.addr, store = backend, static_dir = ?static_dir, "e2ee delivery service ready");
    println!(
        "e2ee reference-server listening on http://{} (store: {backend})",
        server.addr
    );
    wait_for_signal().await;
    tracing::info!("shutting down");
    server.shutdown().await;
    std::process::ExitCode::SUCCESS
}

/// SIGINT or SIGTERM.
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[cfg(test)]
mod tests {
    use axum::serve::Listener;

    #[tokio::test]
    async fn accepted_connections_have_nodelay() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut listener = super::without_nagle(listener);
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (io, _) = listener.accept().await;
        assert!(io.nodelay().unwrap());
    }
}
