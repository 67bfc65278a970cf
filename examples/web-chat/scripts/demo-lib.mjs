// What the demo and the browser test share: building the app, and running
// the reference server (built with cargo) to serve it.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

export const here = join(import.meta.dirname, "..");
export const root = join(here, "..", "..");

const run = (cmd, args, cwd = here) => execFileSync(cmd, args, { cwd, stdio: "inherit" });

/** Builds the app into dist/ (the npm package must be built first). */
export function buildApp() {
  if (!existsSync(join(root, "e2ee-wasm", "pkg", "package.json"))) {
    throw new Error("build the npm package first: (cd e2ee-wasm && npm ci && npm run build)");
  }
  run("npx", ["vite", "build", "--logLevel", "warn"]);
}

/** The reference server's binary: $E2EE_SERVER_BIN, or built by cargo. */
export function serverBinary() {
  if (process.env.E2EE_SERVER_BIN) return process.env.E2EE_SERVER_BIN;
  run("cargo", ["build", "-p", "reference-server"], root);
  const meta = execFileSync("cargo", ["metadata", "--format-version", "1", "--no-deps"], { cwd: root, encoding: "utf8" });
  return join(JSON.parse(meta).target_directory, "debug", "reference-server");
}

/** A TCP port free right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** Polls `check` until it holds (20 s at most). */
export async function waitFor(check, what, ms = 20_000) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts Redis (private port, a password of its own, data in `dir`, dumps
 * uncompressed so they can be searched) and the reference server on it,
 * serving dist/ on loopback. Children go into `children` for the caller to
 * stop. Returns the URL and a function giving the bytes Redis holds.
 */
export async function startServer(dir, children) {
  const bin = serverBinary();
  const redisPort = await freePort();
  const password = randomBytes(16).toString("hex");
  // In a config file: a command line is readable by every local user.
  const redisConf = join(dir, "redis.conf");
  writeFileSync(redisConf, `requirepass ${password}\n`, { mode: 0o600 });
  const redis = spawn("redis-server", [redisConf, "--bind", "127.0.0.1", "--port", String(redisPort), "--save", "",
    "--appendonly", "no", "--rdbcompression", "no", "--dir", dir, "--daemonize", "no"], { stdio: "ignore" });
  children.push(redis);
  const redisCli = (...args) =>
    execFileSync("redis-cli", ["-p", String(redisPort), ...args],
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], env: { ...process.env, REDISCLI_AUTH: password } });
  await waitFor(() => redisCli("ping").trim() === "PONG", "redis");

  const port = await freePort();
  // The Redis URL carries the password and the token key is secret: both
  // go in the environment, never on the command line.
  const env = {
    ...process.env,
    RUST_LOG: "warn",
    E2EE_REDIS_URL: `redis://:${password}@127.0.0.1:${redisPort}/`,
    E2EE_TOKEN_KEY: randomBytes(32).toString("hex"),
  };
  const server = spawn(bin, ["--listen", `127.0.0.1:${port}`, "--static-dir", join(here, "dist")],
    { stdio: ["ignore", "inherit", "inherit"], env });
  children.push(server);
  const base = `http://127.0.0.1:${port}/`;
  await waitFor(async () => (await fetch(`${base}readyz`)).ok, "the reference server");

  const redisDump = () => {
    redisCli("save");
    return readFileSync(join(dir, "dump.rdb"));
  };
  return { base, redisDump };
}
