// `npm run test:pack`: `npm pack` of pkg/, installed into a fresh directory,
// runs the README's example there through the package name (so the
// `exports` map and the Node entry are what is tested).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const dir = mkdtempSync(join(tmpdir(), "e2ee-pack-"));
const sh = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });

try {
  const tarball = sh("npm", ["pack", join(here, "pkg"), "--pack-destination", dir], dir).trim().split("\n").pop();
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "pack-test", private: true, type: "module" }));
  sh("npm", ["install", "--no-audit", "--no-fund", join(dir, tarball)], dir);

  // The README's example, verbatim.
  const readme = readFileSync(join(here, "README.md"), "utf8");
  const example = readme.match(/```js\n([\s\S]*?)```/)[1];
  writeFileSync(join(dir, "example.mjs"), example);
  const out = sh("node", ["example.mjs"], dir);
  const expected = ["bob: hi all", "bob: hi all", "epochChanged true", "true", "[ 'alice', 'carol' ]", "codec_truncated"];
  if (out.trim().split("\n").join("|") !== expected.join("|")) {
    throw new Error(`unexpected output of the README example:\n${out}`);
  }
  console.log(`ok: ${tarball} installs into a fresh directory and the README example runs`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
