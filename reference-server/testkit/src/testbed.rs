//! Starts the deployed topology as local processes on free loopback ports:
//! redis-server (with a password), N replicas of the `reference-server`
//! binary (sharing a token key file, each with an internal metrics port)
//! and nginx with `deploy/nginx.conf.template` — for the tests and
//! `e2ee-load`. Everything listens on 127.0.0.1 only, so the proxy speaks
//! plain HTTP here (see [`nginx_config`]). Every process is stopped by its
//! own PID when the [`Testbed`] is dropped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The nginx template (also used by the Docker deployment).
pub const NGINX_TEMPLATE: &str = include_str!("../../deploy/nginx.conf.template");

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A port on 127.0.0.1 nothing listens on right now.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until `port` accepts connections (or `timeout` passes).
pub fn wait_port(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    false
}

/// Finds an executable on PATH or in the sbin directories (nginx lives in
/// /usr/sbin, which is not always on PATH).
pub fn find_binary(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The binary, or `None` after a loud message when it is missing and `CI`
/// is not set; under `CI` a missing binary panics (a failure, not a skip).
pub fn require_binary(name: &str) -> Option<PathBuf> {
    if let Some(path) = find_binary(name) {
        return Some(path);
    }
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0") {
        panic!("{name} is not installed, and CI is set: install it (scripts/install-deps.sh)");
    }
    // Written to the real stderr: the test harness hides eprintln! output
    // of passing tests, and a skip must be seen.
    let message = format!(
        "\n!!!!! SKIPPED: {name} is not installed (apt-get install {name}); set CI=true to fail instead !!!!!\n"
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), message.as_bytes());
    None
}

/// A private temporary directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates one (world-readable: nginx workers may run as `nobody`).
    pub fn new(tag: &str) -> std::io::Result<Self> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("e2ee-{tag}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        Ok(Self(path))
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process, killed (by PID) on drop.
pub struct Process {
    name: String,
    child: Child,
}

impl Process {
    /// Spawns `command` with output to `log`.
    pub fn spawn(name: &str, command: &mut Command, log: &Path) -> std::io::Result<Self> {
        let out = std::fs::File::create(log)?;
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()?;
        Ok(Self {
            name: name.to_owned(),
            child,
        })
    }

    /// Its PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL: dies at once, mid-whatever.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits up to `grace` before SIGKILL.
    pub fn terminate(&mut self, grace: Duration) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if !self.is_running() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        tracing::warn!(name = %self.name, "did not stop in time: killed");
        self.kill();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.is_running() {
            self.terminate(Duration::from_secs(5));
        }
    }
}

/// `n` random bytes as hex (passwords and keys of the test bed).
pub fn random_hex(n: usize) -> Result<String, BoxError> {
    let mut bytes = vec![0; n];
    getrandom::fill(&mut bytes).map_err(|e| format!("no OS randomness: {e}"))?;
    Ok(hex::encode(bytes))
}

/// A redis-server on a free port, without persistence, that answers only
/// clients with its password.
pub struct Redis {
    /// Its port.
    pub port: u16,
    /// Its password (`requirepass`).
    pub password: String,
    /// The process.
    pub process: Process,
}

impl Redis {
    /// Starts redis-server from `binary` with its files in `dir`.
    pub fn start(binary: &Path, dir: &Path) -> Result<Self, BoxError> {
        let port = free_port()?;
        let password = random_hex(16)?;
        // The password goes in a config file, not the command line, which
        // every local user can read.
        let config = dir.join(format!("redis-{port}.conf"));
        std::fs::write(&config, format!("requirepass {password}\n"))?;
        let mut command = Command::new(binary);
        command
            .arg(&config)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(dir);
        let process = Process::spawn("redis-server", &mut command, &dir.join("redis.log"))?;
        if !wait_port(port, Duration::from_secs(10)) {
            return Err(format!("redis-server did not listen on {port}").into());
        }
        Ok(Self {
            port,
            password,
            process,
        })
    }

    /// `redis://:password@127.0.0.1:port/`.
    pub fn url(&self) -> String {
        format!("redis://:{}@127.0.0.1:{}/", self.password, self.port)
    }

    /// The URL without the password: what anyone on the machine can try.
    pub fn url_without_password(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

/// A Redis Cluster of three masters on free ports (no replicas).
pub struct RedisCluster {
    /// The nodes' ports.
    pub ports: Vec<u16>,
    /// The node processes.
    pub nodes: Vec<Process>,
}

impl RedisCluster {
    /// Starts three cluster-enabled redis-servers in `dir` and joins them
    /// with `redis-cli --cluster create`. `None` if redis-cli is missing
    /// (see [`require_binary`]).
    pub fn start(server: &Path, dir: &Path) -> Result<Option<Self>, BoxError> {
        let Some(cli) = require_binary("redis-cli") else {
            return Ok(None);
        };
        let (mut ports, mut nodes) = (Vec::new(), Vec::new());
        for i in 0..3 {
            let port = free_port()?;
            let node_dir = dir.join(format!("node{i}"));
            std::fs::create_dir_all(&node_dir)?;
            let mut command = Command::new(server);
            command
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "5000"])
                .arg("--dir")
                .arg(&node_dir);
            nodes.push(Process::spawn(
                &format!("redis-node{i}"),
                &mut command,
                &node_dir.join("redis.log"),
            )?);
            ports.push(port);
        }
        for &port in &ports {
            if !wait_port(port, Duration::from_secs(10)) {
                return Err(format!("redis cluster node did not listen on {port}").into());
            }
        }
        let addresses: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let created = Command::new(&cli)
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()?;
        if !created.status.success() {
            return Err(format!(
                "redis-cli --cluster create: {}",
                String::from_utf8_lossy(&created.stdout)
            )
            .into());
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ok = ports.iter().all(|p| {
                Command::new(&cli)
                    .args(["-p", &p.to_string(), "cluster", "info"])
                    .output()
                    .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("cluster_state:ok"))
            });
            if ok {
                return Ok(Some(Self { ports, nodes }));
            }
            if Instant::now() > deadline {
                return Err("the Redis Cluster did not become ready".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The seed URLs, comma-separated (as `--redis-url` takes them).
    pub fn urls(&self) -> String {
        let urls: Vec<String> = self.ports.iter().map(|p| format!("redis://127.0.0.1:{p}/")).collect();
        urls.join(",")
    }
}

/// The template without TLS and without its access log, for a proxy on
/// loopback only (the tests and `e2ee-load`: their clients have no TLS).
/// Deployments keep both.
pub fn loopback_template() -> String {
    NGINX_TEMPLATE
        .lines()
        .filter(|l| {
            let directive = l.trim_start();
            !directive.starts_with("ssl_") && !directive.starts_with("access_log")
        })
        .map(|l| l.replace(" ssl;", ";"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Renders the loopback template with `upstreams` and `listen` (which must
/// be a loopback address: this proxy speaks plain HTTP) and wraps it in a
/// main config keeping every file under `dir`.
pub fn nginx_config(dir: &Path, listen: &str, upstreams: &[u16], worker_connections: usize) -> String {
    assert!(
        listen.starts_with("127.") || listen.starts_with("[::1]"),
        "plain HTTP only on loopback, not {listen}"
    );
    let servers: String = upstreams
        .iter()
        .map(|p| format!("server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;\n    "))
        .collect();
    let block = loopback_template()
        .replace("${E2EE_UPSTREAMS}", servers.trim_end())
        .replace("${E2EE_LISTEN}", listen);
    nginx_main_config(dir, &block, worker_connections)
}

/// Wraps an http-level `block` (a rendered template) in a main config
/// keeping every file under `dir`.
pub fn nginx_main_config(dir: &Path, block: &str, worker_connections: usize) -> String {
    let d = dir.display();
    format!(
        "worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections {worker_connections}; }}\n\
         http {{\n access_log off;\n client_body_temp_path {d}/client_body;\n proxy_temp_path {d}/proxy;\n \
         fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n{block}\n}}\n"
    )
}

/// An nginx in front of the replicas.
pub struct Nginx {
    /// Its port.
    pub port: u16,
    /// The process.
    pub process: Process,
}

impl Nginx {
    /// Starts nginx from `binary` proxying to `upstreams`.
    pub fn start(binary: &Path, dir: &Path, upstreams: &[u16]) -> Result<Self, BoxError> {
        let port = free_port()?;
        let config = nginx_config(dir, &format!("127.0.0.1:{port}"), upstreams, 4096);
        Self::start_with_config(binary, dir, port, &config)
    }

    /// Starts nginx from `binary` with `config`, which listens on `port`.
    pub fn start_with_config(binary: &Path, dir: &Path, port: u16, config: &str) -> Result<Self, BoxError> {
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, config)?;
        let mut command = Command::new(binary);
        command
            .arg("-c")
            .arg(&conf_path)
            .arg("-p")
            .arg(dir)
            .args(["-g", "daemon off;"]);
        let process = Process::spawn("nginx", &mut command, &dir.join("nginx.out"))?;
        if !wait_port(port, Duration::from_secs(10)) {
            let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
            return Err(format!("nginx did not listen on {port}: {log}").into());
        }
        Ok(Self { port, process })
    }
}

/// One replica process.
pub struct Replica {
    /// Its port.
    pub port: u16,
    /// The port of its internal listener (`/metrics`).
    pub metrics_port: u16,
    /// The process.
    pub process: Process,
}

/// redis-server, N replicas and nginx.
pub struct Testbed {
    /// The directory of every file.
    pub dir: TempDir,
    /// The replicas (index as in `kill_replica`).
    pub replicas: Vec<Replica>,
    /// The proxy (dropped before the replicas).
    pub nginx: Nginx,
    /// The store.
    pub redis: Redis,
}

impl Testbed {
    /// Starts the topology; `server` is the reference-server binary and
    /// `args` extra flags for every replica. `None` if redis-server or nginx
    /// is missing (see [`require_binary`]).
    pub fn start(server: &Path, replicas: usize, args: &[&str]) -> Result<Option<Self>, BoxError> {
        Self::start_with(server, &[], replicas, args)
    }

    /// As [`Testbed::start`], with `leading` arguments before the replica
    /// flags (e.g. a program that serves as a replica in a sub-command).
    pub fn start_with(
        server: &Path,
        leading: &[&str],
        replicas: usize,
        args: &[&str],
    ) -> Result<Option<Self>, BoxError> {
        let (Some(redis_bin), Some(nginx_bin)) = (require_binary("redis-server"), require_binary("nginx")) else {
            return Ok(None);
        };
        let dir = TempDir::new("testbed")?;
        let redis = Redis::start(&redis_bin, dir.path())?;
        let token_key = dir.path().join("token.key");
        std::fs::write(&token_key, random_hex(32)?)?;
        let mut started = Vec::new();
        for i in 0..replicas {
            let (port, metrics_port) = (free_port()?, free_port()?);
            let mut command = Command::new(server);
            command
                .args(leading)
                .args(["--listen", &format!("127.0.0.1:{port}")])
                .args(["--metrics-listen", &format!("127.0.0.1:{metrics_port}")])
                .arg("--token-key-file")
                .arg(&token_key)
                .args(args)
                // The URL carries the password: keep it off the command line.
                .env("E2EE_REDIS_URL", redis.url())
                .env(
                    "RUST_LOG",
                    std::env::var("E2EE_REPLICA_LOG").unwrap_or_else(|_| "warn".into()),
                );
            let log = dir.path().join(format!("replica{i}.log"));
            let process = Process::spawn(&format!("replica{i}"), &mut command, &log)?;
            started.push(Replica {
                port,
                metrics_port,
                process,
            });
        }
        for (i, r) in started.iter().enumerate() {
            if !wait_port(r.port, Duration::from_secs(20)) {
                let log = std::fs::read_to_string(dir.path().join(format!("replica{i}.log"))).unwrap_or_default();
                return Err(format!("replica {i} did not listen on {}: {log}", r.port).into());
            }
        }
        let ports: Vec<u16> = started.iter().map(|r| r.port).collect();
        let nginx = Nginx::start(&nginx_bin, dir.path(), &ports)?;
        Ok(Some(Self {
            dir,
            replicas: started,
            nginx,
            redis,
        }))
    }

    /// The proxy's URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.nginx.port)
    }

    /// A replica's own URL (bypassing the proxy).
    pub fn replica_url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.replicas[i].port)
    }

    /// A replica's internal URL (`/metrics`).
    pub fn metrics_url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}/metrics", self.replicas[i].metrics_port)
    }

    /// SIGKILLs replica `i`: no graceful anything.
    pub fn kill_replica(&mut self, i: usize) {
        self.replicas[i].process.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_has_tls_and_only_the_loopback_rendering_drops_it() {
        assert!(NGINX_TEMPLATE.contains("listen ${E2EE_LISTEN} ssl;"));
        assert!(NGINX_TEMPLATE.contains("ssl_certificate "));
        let config = nginx_config(Path::new("/tmp/x"), "127.0.0.1:1", &[2], 16);
        assert!(!config.contains(" ssl;") && !config.contains("ssl_"), "{config}");
        assert!(config.contains("listen 127.0.0.1:1;"));
    }

    #[test]
    #[should_panic(expected = "plain HTTP only on loopback")]
    fn a_plain_proxy_elsewhere_than_loopback_is_refused() {
        nginx_config(Path::new("/tmp/x"), "0.0.0.0:80", &[2], 16);
    }
}
