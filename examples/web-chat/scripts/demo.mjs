// `npm run demo`: builds the app and has the reference server serve it at
// http://127.0.0.1:8080/ (in-memory store; `-- --redis-url ...` and other
// server flags are passed on). Open it in two or three browser profiles.
import { spawn } from "node:child_process";
import { join } from "node:path";

import { buildApp, here, serverBinary } from "./demo-lib.mjs";

buildApp();
const args = ["--static-dir", join(here, "dist"), ...process.argv.slice(2)];
const server = spawn(serverBinary(), args, { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.kill(signal));
server.on("exit", (code) => process.exit(code ?? 0));
