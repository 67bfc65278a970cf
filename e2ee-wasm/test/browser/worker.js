// Runs in a module Web Worker (no `window`, no DOM): the package's browser
// entry must load, find randomness and do a two-member exchange.
import { Client } from "/pkg/index.js";

const utf8 = (s) => new TextEncoder().encode(s);
try {
  const alice = new Client(1, utf8("alice"));
  const bob = new Client(1, utf8("bob"));
  const group = alice.createGroup();
  const { welcome } = group.add([bob.keyPackage()]);
  group.mergeCommit();
  const [event] = bob.join(welcome).open(group.seal(utf8("from a worker")));
  let code;
  try {
    group.open(new Uint8Array([1]));
  } catch (e) {
    code = e.code;
  }
  postMessage({ text: new TextDecoder().decode(event.data), code, hasWindow: typeof window !== "undefined" });
} catch (e) {
  postMessage({ error: String(e) });
}
