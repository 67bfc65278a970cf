// Storing and restoring clients and groups (as for IndexedDB), plain and
// sealed under a storage key.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Client, SUITES, assertAgree, assertMessage, throwsCode, utf8 } from "./helpers.mjs";

const KEY = new Uint8Array(32).fill(7);

for (const suite of SUITES) {
  test(`suite ${suite}: clients and groups are stored and continue`, () => {
    const alice = new Client(suite, utf8("alice"));
    let bob = new Client(suite, utf8("bob"));
    const bobKeyPackage = bob.keyPackage();
    // Bob restarts between publishing his KeyPackage and being added.
    bob = Client.restoreSealed(bob.exportSealed(KEY), KEY);
    throwsCode(() => Client.restoreSealed(bob.exportSealed(KEY), new Uint8Array(32).fill(8)), "state_key");
    assert.equal(bob.unusedKeyPackages, 1);

    let aliceGroup = alice.createGroup();
    const added = aliceGroup.add([bobKeyPackage]);
    aliceGroup.mergeCommit();
    let bobGroup = bob.join(added.welcome);
    bob = Client.restoreState(bob.exportState());
    assert.equal(bob.unusedKeyPackages, 0);
    assert.deepEqual(bob.identity, utf8("bob"));

    // Alice's state holds a pending Commit, Bob's a message of a future epoch.
    const seen = bobGroup.seal(utf8("seen"));
    const skipped = bobGroup.seal(utf8("skipped"));
    aliceGroup.open(seen);
    const update = aliceGroup.update();
    const stored = aliceGroup.exportState();
    assert.ok(stored instanceof Uint8Array);
    aliceGroup.free(); // the old object is gone, as after a page reload
    aliceGroup = alice.restoreGroup(stored);
    assert.equal(aliceGroup.hasPendingCommit, true);
    aliceGroup.open(update.commit); // the echo merges it
    const early = aliceGroup.seal(utf8("early"));
    assert.deepEqual(bobGroup.open(early), [{ type: "deferred", epoch: 2 }]);
    bobGroup = bob.restoreSealedGroup(bobGroup.exportSealed(KEY), KEY, bobGroup.id);
    assert.equal(bobGroup.deferred, 1);
    assert.deepEqual(bobGroup.open(update.commit).map((e) => e.type), ["epochChanged", "message"]);
    assertAgree(aliceGroup, bobGroup);

    // Consumed keys stay deleted; a message skipped before storing opens.
    const restored = alice.restoreGroup(aliceGroup.exportState());
    throwsCode(() => restored.open(seen), "secret_tree_key_consumed");
    assertMessage(restored.open(skipped), "bob", "skipped");
    throwsCode(() => bob.restoreGroup(restored.exportState()), "state_corrupt");
    throwsCode(() => alice.restoreGroup(new Uint8Array([1, 2, 3])), "state_corrupt");
  });
}

test("a client recreated from its signature key keeps its public key", () => {
  const alice = new Client(1, utf8("alice"));
  const again = Client.withSignatureKey(1, utf8("alice"), alice.signaturePrivateKey());
  assert.deepEqual(again.signaturePublicKey, alice.signaturePublicKey);
  assert.equal(again.cipherSuite, 1);
});
