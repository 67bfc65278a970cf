//! Configuration by flags or environment variables (`E2EE_*`).

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::error::{ApiError, ErrorCode};

/// The shortest token-signing key accepted, in bytes.
pub const MIN_TOKEN_KEY_LEN: usize = 32;

/// A secret that never shows in logs or `Debug` output.
#[derive(Clone)]
pub struct TokenKey(pub Vec<u8>);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl std::str::FromStr for TokenKey {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(Self(text.as_bytes().to_vec()))
    }
}

/// The service's settings; every flag has an `E2EE_*` environment variable.
#[derive(Clone, Debug, clap::Parser)]
#[command(
    name = "reference-server",
    version,
    about = "The e2ee reference MLS delivery service"
)]
pub struct Config {
    /// Address to listen on (HTTP and WebSocket; TLS is the proxy's job).
    #[arg(long, env = "E2EE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Address of the internal listener that serves `/metrics` (never the
    /// public one); without it, metrics are not served.
    #[arg(long, env = "E2EE_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// A file holding the key login tokens are signed with (at least 32
    /// bytes; every replica needs the same). Required with Redis: the
    /// store must never hold it, or whoever reads the store mints tokens.
    #[arg(long, env = "E2EE_TOKEN_KEY_FILE")]
    pub token_key_file: Option<PathBuf>,

    /// The token-signing key itself (at least 32 bytes), instead of a file.
    #[arg(long, env = "E2EE_TOKEN_KEY", hide_env_values = true)]
    pub token_key: Option<TokenKey>,

    /// Redis URL with its credentials (e.g.
    /// redis://e2ee:PASSWORD@127.0.0.1:6379/); without it the store is in
    /// memory and only one replica may run.
    #[arg(long, env = "E2EE_REDIS_URL")]
    pub redis_url: Option<String>,

    /// The Redis URL names seed nodes of a Redis Cluster, separated by
    /// commas (every key of a group or client shares one hash slot).
    #[arg(long, env = "E2EE_REDIS_CLUSTER")]
    pub redis_cluster: bool,

    /// Prefix of every Redis key and of the feed channel.
    #[arg(long, env = "E2EE_REDIS_PREFIX", default_value = "e2ee")]
    pub redis_prefix: String,

    /// A directory of static files served at `/` (the web chat); default
    /// `examples/web-chat/dist` if it exists.
    #[arg(long, env = "E2EE_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,

    /// Largest MLS message, Welcome or GroupInfo accepted, in bytes.
    #[arg(long, env = "E2EE_MAX_MESSAGE_BYTES", default_value_t = 256 * 1024)]
    pub max_message_bytes: usize,

    /// Requests per second allowed per client (per replica), on average.
    #[arg(long, env = "E2EE_RATE_PER_SECOND", default_value_t = 50.0)]
    pub rate_per_second: f64,

    /// Requests a client may make at once before the rate applies.
    #[arg(long, env = "E2EE_RATE_BURST", default_value_t = 200.0)]
    pub rate_burst: f64,

    /// WebSocket connections per replica.
    #[arg(long, env = "E2EE_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,

    /// WebSocket connections per client per replica.
    #[arg(long, env = "E2EE_MAX_CONNECTIONS_PER_CLIENT", default_value_t = 4)]
    pub max_connections_per_client: usize,

    /// Group subscriptions per WebSocket connection.
    #[arg(long, env = "E2EE_MAX_SUBSCRIPTIONS", default_value_t = 256)]
    pub max_subscriptions: usize,

    /// Unclaimed KeyPackages stored per client.
    #[arg(long, env = "E2EE_MAX_KEY_PACKAGES", default_value_t = 100)]
    pub max_key_packages: usize,

    /// Messages kept per group (older ones are dropped; Redis trims
    /// approximately, keeping at least this many).
    #[arg(long, env = "E2EE_RETENTION", default_value_t = 100_000)]
    pub retention: u64,

    /// Welcomes kept per mailbox.
    #[arg(long, env = "E2EE_MAILBOX_RETENTION", default_value_t = 1_000)]
    pub mailbox_retention: u64,

    /// Groups one client may create, in all.
    #[arg(long, env = "E2EE_MAX_GROUPS_PER_CLIENT", default_value_t = 1_000)]
    pub max_groups_per_client: u64,

    /// Bytes one client may post per hour (messages, Welcomes, GroupInfos).
    #[arg(long, env = "E2EE_MAX_BYTES_PER_HOUR", default_value_t = 256 * 1024 * 1024)]
    pub max_bytes_per_hour: u64,

    /// KeyPackages one client may claim per hour (of all identities).
    #[arg(long, env = "E2EE_MAX_CLAIMS_PER_HOUR", default_value_t = 1_000)]
    pub max_claims_per_hour: u64,

    /// Lifetime of login tokens, in seconds.
    #[arg(long, env = "E2EE_TOKEN_TTL", default_value_t = 24 * 3600)]
    pub token_ttl: u64,

    /// Seconds to wait for requests in flight when shutting down.
    #[arg(long, env = "E2EE_SHUTDOWN_GRACE", default_value_t = 10)]
    pub shutdown_grace: u64,

    /// Log as JSON lines instead of text (filter with RUST_LOG).
    #[arg(long, env = "E2EE_LOG_JSON")]
    pub log_json: bool,
}

impl Config {
    /// The settings with every default, listening on `listen`.
    pub fn with_listen(listen: SocketAddr) -> Self {
        <Self as clap::Parser>::parse_from(["reference-server", "--listen", &listen.to_string()])
    }

    /// The token-signing key: given, read from its file, or — for the
    /// in-memory store, which serves one replica — made up at random.
    pub fn token_key(&self) -> Result<Vec<u8>, ApiError> {
        let config_error = |m: String| ApiError::new(ErrorCode::Internal, m);
        let key = match (&self.token_key, &self.token_key_file) {
            (Some(key), _) => key.0.clone(),
            (None, Some(file)) => std::fs::read(file)
                .map_err(|e| config_error(format!("cannot read the token key file {}: {e}", file.display())))?
                .trim_ascii()
                .to_vec(),
            (None, None) if self.redis_url.is_none() => {
                let mut key = vec![0; MIN_TOKEN_KEY_LEN];
                getrandom::fill(&mut key).map_err(|_| config_error("no OS randomness".into()))?;
                key
            }
            (None, None) => {
                return Err(config_error(
                    "with Redis, every replica needs the same token key: set E2EE_TOKEN_KEY_FILE".into(),
                ));
            }
        };
        if key.len() < MIN_TOKEN_KEY_LEN {
            return Err(config_error(format!(
                "the token key must be at least {MIN_TOKEN_KEY_LEN} bytes"
            )));
        }
        Ok(key)
    }

    /// The static directory to serve, if any.
    pub fn static_dir(&self) -> Option<PathBuf> {
        match &self.static_dir {
            Some(dir) => Some(dir.clone()),
            None => {
                let default = PathBuf::from("examples/web-chat/dist");
                default.is_dir().then_some(default)
            }
        }
    }
}
