// Shared by the tests: the built package (pkg/, from `npm run build`, or
// the directory E2EE_WASM_PKG names, e.g. the opt-in build with every
// suite) and small helpers for text and expected errors.
import assert from "node:assert/strict";

const dir = process.env.E2EE_WASM_PKG ?? new URL("../pkg", import.meta.url).pathname;
const lib = await import(`${dir}/node.js`);
export const { Client, Group, defaultGroupOptions, version } = lib;

/** The suites under test: 1 to 3, or those E2EE_WASM_SUITES lists. */
export const SUITES = (process.env.E2EE_WASM_SUITES ?? "1,2,3").split(",").map(Number);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of `s`. */
export const utf8 = (s) => encoder.encode(s);
/** The text of UTF-8 `bytes`. */
export const text = (bytes) => decoder.decode(bytes);
/** Member names of a `Member[]`. */
export const names = (members) => members.map((m) => text(m.identity));

/** Asserts `fn` throws an `Error` with `code`. */
export function throwsCode(fn, code) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof Error, "an Error object");
    assert.equal(e.code, code, e.message);
    return true;
  });
}

/** Asserts `events` is one message from `sender` saying `message`. */
export function assertMessage(events, sender, message) {
  assert.equal(events.length, 1, JSON.stringify(events));
  assert.equal(events[0].type, "message");
  assert.equal(text(events[0].sender.identity), sender);
  assert.equal(text(events[0].data), message);
}

/** Asserts the groups share epoch, authenticator, exporter and members. */
export function assertAgree(...groups) {
  const view = (g) => ({
    epoch: g.epoch,
    authenticator: [...g.epochAuthenticator()],
    exported: [...g.exportSecret(utf8("label"), utf8("context"), 16)],
    members: names(g.members()),
  });
  for (const g of groups) assert.deepEqual(view(g), view(groups[0]));
}

/** Alice's group with Bob and Carol, added by one Commit: [clients, groups]. */
export function chat(suite, options = {}) {
  const clients = ["alice", "bob", "carol"].map((n) => new Client(suite, utf8(n)));
  for (const c of clients) c.setGroupOptions(options);
  const [alice, bob, carol] = clients;
  const group = alice.createGroup();
  const added = group.add([bob.keyPackage(), carol.keyPackage()]);
  const [changed] = group.mergeCommit();
  assert.equal(changed.type, "epochChanged");
  assert.deepEqual(names(changed.added), ["bob", "carol"]);
  return [clients, [group, bob.join(added.welcome), carol.join(added.welcome)]];
}
