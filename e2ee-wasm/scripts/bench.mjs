// `npm run bench`: rough timings of the built package in Node (medians of
// repeated runs), for docs/performance.md.
import { Client } from "../pkg/node.js";

const utf8 = (s) => new TextEncoder().encode(s);

function median(n, fn) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[n >> 1];
}

for (const suite of [1, 2, 3]) {
  const alice = new Client(suite, utf8("alice"));
  const bob = new Client(suite, utf8("bob"));
  const group = alice.createGroup();
  const { welcome } = group.add([bob.keyPackage()]);
  group.mergeCommit();
  const bobGroup = bob.join(welcome);
  const kib = new Uint8Array(1024);
  const row = {
    "new Client": median(50, () => new Client(suite, utf8("x")).free()),
    keyPackage: median(50, () => bob.keyPackage()),
    "seal 1 KiB": median(500, () => group.seal(kib)),
    "seal + open 1 KiB": median(500, () => bobGroup.open(group.seal(kib))),
    "update (commit) + merge": median(50, () => {
      group.update();
      group.mergeCommit();
    }),
  };
  const ms = Object.entries(row).map(([k, v]) => `${k} ${v.toFixed(3)} ms`);
  console.log(`suite ${suite}: ${ms.join(", ")}`);
}

// Joining verifies every leaf's signature, one by one (no threads in the
// package, see docs/performance.md).
for (const members of [100, 1000]) {
  const alice = new Client(1, utf8("alice"));
  const group = alice.createGroup();
  group.add(Array.from({ length: members - 1 }, (_, i) => new Client(1, utf8(`m${i}`)).keyPackage()));
  group.mergeCommit();
  const times = [];
  for (let run = 0; run < 5; run++) {
    const joiner = new Client(1, utf8("joiner"));
    const { welcome } = group.add([joiner.keyPackage()]);
    group.mergeCommit();
    const t = performance.now();
    const joined = joiner.join(welcome);
    times.push(performance.now() - t);
    // Back to the same size for the next run.
    group.remove([joined.ownIndex]);
    group.mergeCommit();
    joined.free();
  }
  const join = times.sort((a, b) => a - b)[2];
  console.log(`suite 1: join of a group of ${members} + 1 members ${join.toFixed(1)} ms`);
}
