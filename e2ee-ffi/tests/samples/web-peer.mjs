// A third chat client for the samples test, speaking the web chat's protocol
// with the web chat's own module: HTTP through examples/web-chat/src/lib/server.js
// (imported as is), live pushes over the WebSocket with the frames of
// chat.svelte.js, MLS from the npm package @e2ee/core (e2ee-wasm/pkg).
// chat.svelte.js itself cannot run in Node (Svelte runes, IndexedDB,
// localStorage), so its steps are repeated here, in memory.
//
// Same command language and --script JSON lines as the Python and Kotlin
// samples. Run with `node --experimental-websocket` on Node 20 (Node 22 has
// WebSocket built in). Usage: web-peer.mjs --name N --server URL --script
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    name: { type: "string" },
    server: { type: "string", default: "http://127.0.0.1:8080" },
    script: { type: "boolean", default: false },
  },
});

// server.js uses page-relative URLs (`fetch("/v1/...")`, `location.href`):
// give it the server's address as the page's location.
globalThis.location = new URL(args.server);
const fetchAbsolute = globalThis.fetch;
globalThis.fetch = (path, init) => fetchAbsolute(new URL(path, location.href), init);

const { Server, b64, unb64 } = await import("../../../examples/web-chat/src/lib/server.js");
const { Client } = await import("../../../e2ee-wasm/pkg/node.js");

const SUITE = 1;
const KEY_PACKAGES = 5;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const nameOf = (member) => decoder.decode(member.identity);

function emit(event, fields = {}) {
  console.log(args.script ? JSON.stringify({ event, ...fields }) : `* ${event} ${JSON.stringify(fields)}`);
}

const server = new Server();
const client = new Client(SUITE, encoder.encode(args.name));
/** base64url group id → { group, after, sent, active } */
const groups = new Map();
let current = null;
let mailboxAfter = 0;
let socket = null;
let work = Promise.resolve();

// One step at a time, as the web chat's #run: pushes never interleave with a Commit.
function run(step) {
  work = work.then(step).catch((e) => emit("error", { code: e.code ?? "error", message: e.message }));
  return work;
}

async function publish(n, replace = false) {
  await server.publish(Array.from({ length: n }, () => client.keyPackage()), replace);
}

function track(group, after) {
  current = b64(group.id);
  groups.set(current, { group, after, sent: {}, active: true });
  socket.send(JSON.stringify({ type: "subscribe", group: current, after }));
}

async function command(line) {
  const [verb, ...rest] = line.split(" ");
  const arg = rest.join(" ").trim();
  if (verb === "/create") {
    const group = client.createGroup();
    await server.createGroup(group.id);
    track(group, 0);
    return emit("created", { group: current });
  }
  if (!current) return emit("error", { code: "no_group", message: "/create a group, or wait to be added" });
  const live = groups.get(current);
  const { group } = live;
  if (verb === "/members") return emit("members", { group: current, members: group.members().map(nameOf) });
  if ((verb === "/add" || verb === "/remove") && arg) {
    const bundle = verb === "/add"
      ? group.add([await server.claim(arg)])
      : group.remove(group.members().filter((m) => nameOf(m) === arg).map((m) => m.index));
    try {
      await server.post(group.id, bundle.commit, bundle.welcome, bundle.groupInfo);
    } catch (e) {
      group.discardCommit();
      throw e;
    }
    return;
  }
  if (verb.startsWith("/")) return emit("error", { code: "unknown_command", message: line });
  const sealed = group.seal(encoder.encode(line));
  live.sent[b64(sealed)] = line;
  await server.post(group.id, sealed);
}

async function receive(frame) {
  if (frame.type === "welcome") {
    mailboxAfter = frame.position;
    if (!groups.has(frame.group_id)) {
      const group = client.join(unb64(frame.welcome));
      track(group, frame.commit_position);
      emit("joined", { group: current, members: group.members().map(nameOf) });
    }
    await publish(1);
  } else if (frame.type === "message") {
    const live = groups.get(frame.group);
    if (!live || !live.active || frame.position <= live.after) return;
    live.after = frame.position;
    const own = live.sent[frame.message];
    if (own !== undefined) {
      delete live.sent[frame.message];
      return emit("message", { group: frame.group, from: args.name, text: own });
    }
    let events;
    try {
      events = live.group.open(unb64(frame.message));
    } catch (e) {
      return emit("undecryptable", { group: frame.group, code: e.code });
    }
    for (const event of events) {
      if (event.type === "message") {
        emit("message", { group: frame.group, from: nameOf(event.sender), text: decoder.decode(event.data) });
      } else if (event.type === "epochChanged") {
        emit("epoch", {
          group: frame.group,
          epoch: Number(event.epoch),
          by: event.committer ? nameOf(event.committer) : null,
          added: event.added.map(nameOf),
          removed: event.removed.map(nameOf),
        });
        if (event.selfRemoved) {
          live.active = false;
          emit("removed", { group: frame.group });
        }
      }
    }
  } else if (frame.type === "error" || (frame.type === "unsubscribed" && frame.error?.code !== "not_member")) {
    emit("error", { code: frame.error?.code, message: frame.error?.message });
  }
}

await server.login(client);
await publish(KEY_PACKAGES, true);
socket = new WebSocket(server.socketUrl(), server.socketProtocols());
socket.onmessage = (e) => run(() => receive(JSON.parse(e.data)));
await new Promise((resolve, reject) => {
  socket.onopen = resolve;
  socket.onerror = () => reject(new Error("WebSocket failed"));
});
socket.send(JSON.stringify({ type: "subscribe_mailbox", after: mailboxAfter }));
emit("ready", { name: args.name });

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === "/quit") break;
  if (line.trim()) await run(() => command(line.trim()));
}
await work;
socket.close();
process.exit(0);
