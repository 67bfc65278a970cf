// The package's size budget: the .wasm at most 208 KiB gzipped, measured as
// docs/performance.md measures it (`gzip -9 -c pkg/e2ee_wasm_bg.wasm | wc -c`).
// That is 200 KiB plus room for what resisting attacks takes (the
// application's admission and credential-validation hooks, proposal checks
// on receipt, the ratchet that moves only for authentic messages): 6.6 KB.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import { test } from "node:test";

const wasm = new URL("../pkg/e2ee_wasm_bg.wasm", import.meta.url).pathname;
const LIMIT = 208 * 1024;

test("the .wasm is at most 208 KiB gzipped (gzip -9)", () => {
  const gzipped = execFileSync("gzip", ["-9", "-c", wasm]).length;
  console.log(`e2ee_wasm_bg.wasm: ${statSync(wasm).size} B, gzip -9 ${gzipped} B (limit ${LIMIT} B)`);
  assert.ok(gzipped <= LIMIT, `${gzipped} B gzipped, over 208 KiB`);
});
