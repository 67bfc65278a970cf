// `npm run build`: makes the npm package in pkg/ from a clean checkout.
//
// 1. cargo builds the crate for wasm32-unknown-unknown (profile wasm-release);
// 2. wasm-bindgen (the CLI of exactly the version in Cargo.lock, installed
//    with cargo if missing) writes the glue for `--target web`;
// 3. wasm-opt -Oz from the npm `binaryen` package shrinks the module;
// 4. the entry points, declarations, package.json and README are copied in.
//
// `npm run build -- --all-suites` builds the opt-in package with cipher
// suites 4 to 7 as well (the crate's feature `all-suites`); the default
// has suites 1 to 3.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const root = dirname(here);
// The opt-in build goes beside the default one, not over it.
const pkg = join(here, process.argv.includes("--all-suites") ? "pkg-all-suites" : "pkg");
const cargoHome = process.env.CARGO_HOME ?? join(homedir(), ".cargo");

function run(cmd, args, opts = {}) {
  // `opts.shown` stands in for arguments too long to be worth printing,
  // here and in the error (whose default message repeats them all).
  const shown = `${cmd} ${opts.shown ?? args.join(" ")}`;
  if (!opts.quiet) console.log(`$ ${shown}`);
  try {
    return execFileSync(cmd, args, {
      stdio: ["ignore", opts.capture ? "pipe" : "inherit", "inherit"], cwd: root, encoding: "utf8", maxBuffer: 1 << 28,
      env: opts.env ?? process.env,
    });
  } catch (e) {
    throw new Error(`${shown} failed (exit status ${e.status})`);
  }
}

/** The version of `name` that Cargo.lock pins. */
function lockedVersion(name) {
  const lock = readFileSync(join(root, "Cargo.lock"), "utf8");
  const m = lock.match(new RegExp(`name = "${name}"\\nversion = "([^"]+)"`));
  if (!m) throw new Error(`${name} is not in Cargo.lock`);
  return m[1];
}

/** A wasm-bindgen CLI of exactly `version` (its output must match the crate). */
function wasmBindgen(version) {
  const candidates = ["wasm-bindgen", join(cargoHome, "bin", "wasm-bindgen")];
  for (const bin of candidates) {
    try {
      if (execFileSync(bin, ["--version"], { encoding: "utf8" }).trim() === `wasm-bindgen ${version}`) return bin;
    } catch {
      // not there: try the next one
    }
  }
  // This version does not install with --locked: leave it off.
  run("cargo", ["install", "wasm-bindgen-cli", "--version", version]);
  return candidates[1];
}

// Size over speed for the dependencies too: the compact (not unrolled)
// SHA-2 and AES code. Panic locations name files, and the package never
// shows them (a panic traps, see lib.rs): each package's directory is
// dropped from them, the checkout's and the registry's too. (RUSTFLAGS, if
// set, replaces all of these.)
const registry = join(cargoHome, "registry", "src");
const registries = existsSync(registry) ? readdirSync(registry).map((d) => join(registry, d)) : [];
const metadata = JSON.parse(run("cargo", ["metadata", "--format-version", "1", "--filter-platform", "wasm32-unknown-unknown"],
  { capture: true, quiet: true }));
const packageDirs = metadata.packages.map((p) => dirname(p.manifest_path));
// Of several matching prefixes, rustc applies the last one given.
const remapped = [...registries, root, ...packageDirs, ...packageDirs.map((dir) => join(dir, "src"))];
const rustflags = [
  "--cfg", 'sha2_backend_soft="compact"',
  "--cfg", "aes_compact",
  ...remapped.flatMap((dir) => ["--remap-path-prefix", `${dir}/=`]),
];
const allSuites = process.argv.includes("--all-suites");
const cargoArgs = [...(allSuites ? ["--features", "all-suites"] : []), "--target", "wasm32-unknown-unknown", "--profile", "wasm-release",
  "--config", `target.wasm32-unknown-unknown.rustflags = ${JSON.stringify(rustflags)}`];
// The package is built as it ships: by rustc itself, not through a lint
// wrapper the test command may set (clippy-driver turns MIR optimisations
// off, which makes the module larger). The crate is linted in the host build.
const { RUSTC_WORKSPACE_WRAPPER, ...plainEnv } = process.env;
run("cargo", ["build", "-p", "e2ee-wasm", ...cargoArgs], {
  env: plainEnv,
  shown: `build -p e2ee-wasm ${allSuites ? "--features all-suites " : ""}--target wasm32-unknown-unknown --profile wasm-release (rustflags: compact SHA-2 ` +
    `and AES, ${remapped.length} source directories dropped from panic paths)`,
});
const targetDir = metadata.target_directory;
const built = join(targetDir, "wasm32-unknown-unknown", "wasm-release", "e2ee_wasm.wasm");

rmSync(pkg, { recursive: true, force: true });
mkdirSync(pkg);
run(wasmBindgen(lockedVersion("wasm-bindgen")), [built, "--out-dir", pkg, "--target", "web"]);

// wasm-opt reads the enabled features from the module's target_features section.
// `--converge` repeats -Oz while it still shrinks the module (0.5 KB gzipped
// for 11 s); functions sorted by name put the instantiations of one generic
// function side by side, where gzip finds their likeness (1.9 KB gzipped).
// `--low-memory-unused` lets wasm-opt fold `pointer + constant` (constant
// below 1024) into the access's offset, which differs only where the sum
// wraps past 2^32 to an address below 1024 (1.4 KB gzipped). Rust's
// wasm32 layout puts the 1 MiB stack first, growing down towards 0, and
// the data above it; no pointer it computes wraps around.
const wasm = join(pkg, "e2ee_wasm_bg.wasm");
const before = statSync(wasm).size;
run(join(here, "node_modules", ".bin", "wasm-opt"),
  ["-Oz", "--converge", "--reorder-functions-by-name", "--low-memory-unused", wasm, "-o", wasm]);

for (const f of ["index.js", "node.js", "validators.js", "index.d.ts", "package.json"]) {
  copyFileSync(join(here, "js", f), join(pkg, f));
}
copyFileSync(join(here, "README.md"), join(pkg, "README.md"));

// The size as docs/performance.md and the size test measure it: gzip -9
// (Node's zlib at level 9 comes out about 1.4 KB larger).
const gzipped = execFileSync("gzip", ["-9", "-c", wasm]).length;
const kib = (n) => `${n} B (${(n / 1024).toFixed(1)} KiB)`;
console.log(`${basename(pkg)}/e2ee_wasm_bg.wasm: ${kib(before)} before wasm-opt, ${kib(statSync(wasm).size)} after, ` +
  `${kib(gzipped)} with gzip -9`);
if (!existsSync(join(pkg, "e2ee_wasm.d.ts"))) throw new Error("wasm-bindgen wrote no declarations");
