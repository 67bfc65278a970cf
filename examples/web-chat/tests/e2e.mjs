// `npm run test:e2e`: the web chat in headless Chromium (Debian's, through
// playwright-core), three browser contexts as three users, on the demo as
// the README runs it: the reference server (with Redis as its store)
// serving the built app. They form a group and chat; one is removed and
// reads nothing after; one reloads and keeps the conversation. Finally the
// Redis dump must hold none of the plaintexts. Screenshots go to
// test-results/.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

import { buildApp, freePort, startServer, waitFor } from "../scripts/demo-lib.mjs";

const results = join(import.meta.dirname, "..", "test-results");
const tmp = mkdtempSync(join(tmpdir(), "e2ee-web-chat-"));
const children = [];
const contexts = [];

/** A user: a browser context of its own, on the chat page, logged in. */
async function user(base, name) {
  const context = await chromium.launchPersistentContext(join(tmp, `profile-${name}`), {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  contexts.push(context);
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (e) => console.error(`[${name}] page error: ${e.message}`));
  await page.goto(base);
  await page.fill("#name", name);
  await page.click("#start");
  await page.locator("#me", { hasText: name }).waitFor();
  return page;
}

const members = (page) => page.locator(".member").evaluateAll((els) => els.map((e) => e.dataset.name));

async function waitMembers(page, expected) {
  await waitFor(async () => JSON.stringify(await members(page)) === JSON.stringify(expected), `members ${expected}`);
}

async function say(page, text) {
  await page.fill("#text", text);
  await page.click("#send");
}

const sees = (page, text) => page.locator(".message", { hasText: text }).waitFor({ timeout: 20_000 });

try {
  mkdirSync(results, { recursive: true });
  await buildApp();
  const { base, redisDump } = await startServer(tmp, children);
  console.log(`demo running at ${base}`);

  const [alice, bob, carol] = [await user(base, "alice"), await user(base, "bob"), await user(base, "carol")];

  // Alice makes a group and adds Bob, then Carol (one Commit at a time).
  await alice.click("#new-group");
  await waitMembers(alice, ["alice"]);
  for (const [name, expected] of [["bob", ["alice", "bob"]], ["carol", ["alice", "bob", "carol"]]]) {
    await alice.fill("#add-name", name);
    await alice.click("#add");
    await waitMembers(alice, expected);
  }
  await waitMembers(bob, ["alice", "bob", "carol"]);
  await waitMembers(carol, ["alice", "bob", "carol"]);
  console.log("group formed: alice, bob, carol");

  const chat = [[alice, "hello from alice"], [bob, "bob says hi"], [carol, "carol here, hi both"]];
  for (const [page, text] of chat) {
    await say(page, text);
    for (const p of [alice, bob, carol]) await sees(p, text);
  }
  console.log("three messages seen by all three");

  // Alice removes Carol; Carol is told, and cannot read what follows.
  await alice.click('.member[data-name="carol"] .remove');
  await waitMembers(alice, ["alice", "bob"]);
  await waitMembers(bob, ["alice", "bob"]);
  await carol.locator(".info", { hasText: "you were removed" }).waitFor();
  const secret = "only for alice and bob now";
  await say(alice, secret);
  await sees(bob, secret);
  await new Promise((r) => setTimeout(r, 1500)); // time enough for a push Carol must not get
  assert.equal(await carol.locator(".message", { hasText: secret }).count(), 0, "carol reads nothing after removal");
  console.log("carol removed and reads nothing after");

  // Bob reloads: the conversation is still there, and the chat goes on.
  await bob.reload();
  await bob.locator("#me", { hasText: "bob" }).waitFor();
  for (const text of [...chat.map(([, t]) => t), secret]) await sees(bob, text);
  await say(alice, "welcome back, bob");
  await sees(bob, "welcome back, bob");
  await say(bob, "bob after the reload");
  await sees(alice, "bob after the reload");
  console.log("bob reloaded, kept the history and chats on");

  for (const [name, page] of [["alice", alice], ["bob", bob], ["carol", carol]]) {
    await page.screenshot({ path: join(results, `web-chat-${name}.png`) });
  }

  // What the server stored: the Redis dump (uncompressed) has the
  // identities, which prove it is the right data, and no plaintext.
  const dump = await redisDump();
  assert.ok(dump.includes(Buffer.from("carol")), "the dump holds the roster");
  const plaintexts = [...chat.map(([, t]) => t), secret, "welcome back, bob", "bob after the reload"];
  for (const text of plaintexts) {
    for (const form of [text, Buffer.from(text).toString("base64url")]) {
      assert.ok(!dump.includes(Buffer.from(form)), `the server stored "${form}"`);
    }
  }
  console.log(`server store (${dump.length} bytes) holds none of the ${plaintexts.length} plaintexts`);
  console.log(`ok: web chat e2e; screenshots in ${results}`);
} finally {
  for (const c of contexts) await c.close().catch(() => {});
  for (const c of children.reverse()) c.kill();
  rmSync(tmp, { recursive: true, force: true });
}
