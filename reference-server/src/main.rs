//! The `reference-server` binary: see `--help`, README.md and
//! docs/server-protocol.md.
#![forbid(unsafe_code)]

use clap::Parser;
use reference_server::{Config, open_store, start};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    if config.log_json {
        logs.json().init();
    } else {
        logs.init();
    }
    let store = match open_store(&config).await {
        Ok(store) => store,
        Err(e) => {
            tracing::error!(error = %e, "cannot open the store");
            return std::process::ExitCode::FAILURE;
        }
    };
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
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
