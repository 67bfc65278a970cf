// `npm run test:browser`: the package's browser entry (index.js, which
// fetches the .wasm) in headless Chromium, in a module Web Worker and in
// the page. Debian's chromium through playwright-core, no browser download.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { chromium } from "playwright-core";

const root = join(import.meta.dirname, "..", "..");
const types = { ".js": "text/javascript", ".wasm": "application/wasm", ".html": "text/html" };
const page = `<!doctype html><script type="module">
  const worker = new Worker("/test/browser/worker.js", { type: "module" });
  window.fromWorker = new Promise((resolve) => (worker.onmessage = (e) => resolve(e.data)));
  const { Client } = await import("/pkg/index.js");
  window.inPage = new Client(2, new TextEncoder().encode("page")).keyPackage().length;
</script>`;

// Serves pkg/ and test/browser/ (and the page) from this directory.
const server = createServer(async (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
  if (path === "/") return res.writeHead(200, { "content-type": "text/html" }).end(page);
  if (!path.startsWith("/pkg/") && !path.startsWith("/test/browser/")) return res.writeHead(404).end();
  try {
    const body = await readFile(join(root, path));
    res.writeHead(200, { "content-type": types[extname(path)] ?? "application/octet-stream" }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
try {
  const tab = await browser.newPage();
  tab.on("pageerror", (e) => console.error(`page error: ${e.message}`));
  await tab.goto(`http://127.0.0.1:${server.address().port}/`);
  const result = await tab.evaluate(() => window.fromWorker);
  assert.deepEqual(result, { text: "from a worker", code: "codec_truncated", hasWindow: false });
  await tab.waitForFunction(() => window.inPage > 0);
  console.log("ok: @e2ee/core works in a module Web Worker (no window) and in a page");
} finally {
  await browser.close();
  server.close();
}
