// The package end to end in Node: a 3-member chat in every suite, adding
// and removing, out-of-order and early delivery, lost Commit races.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Client, SUITES, assertAgree, assertMessage, chat, names, text, throwsCode, utf8 } from "./helpers.mjs";

for (const suite of SUITES) {
  test(`suite ${suite}: three members chat`, () => {
    const [, [alice, bob, carol]] = chat(suite);
    assertAgree(alice, bob, carol);
    assert.deepEqual(names(alice.members()), ["alice", "bob", "carol"]);
    assert.deepEqual([alice.ownIndex, bob.ownIndex, carol.ownIndex], [0, 1, 2]);

    for (const [from, to, word] of [
      [alice, [bob, carol], "hello from alice"],
      [bob, [alice, carol], "hi, bob here"],
      [carol, [alice, bob], "carol too"],
    ]) {
      const sealed = from.seal(utf8(word), utf8("meta"));
      assert.ok(!text(sealed).includes(word), "the plaintext does not show");
      for (const g of to) {
        const events = g.open(sealed);
        assertMessage(events, text(from.members()[from.ownIndex].identity), word);
        assert.equal(text(events[0].authenticatedData), "meta");
        assert.equal(events[0].epoch, 1);
      }
    }
  });
}

test("add and remove members; the removed one reads nothing more", () => {
  const [, [alice, bob, carol]] = chat(1);
  const dave = new Client(1, utf8("dave"));

  // Bob adds Dave; the others follow Bob's Commit, Dave joins by Welcome.
  const added = bob.add([dave.keyPackage()]);
  assert.ok(bob.hasPendingCommit);
  bob.mergeCommit();
  for (const g of [alice, carol]) {
    const [e] = g.open(added.commit);
    assert.equal(e.type, "epochChanged");
    assert.equal(text(e.committer.identity), "bob");
    assert.deepEqual(names(e.added), ["dave"]);
  }
  const daveGroup = dave.join(added.welcome);
  assertAgree(alice, bob, carol, daveGroup);

  // Alice removes Bob.
  const removed = alice.remove([bob.ownIndex]);
  assert.equal(removed.welcome, undefined);
  alice.mergeCommit();
  for (const g of [carol, daveGroup]) {
    const [e] = g.open(removed.commit);
    assert.deepEqual(names(e.removed), ["bob"]);
    assert.equal(e.selfRemoved, false);
  }
  const [bobEvent] = bob.open(removed.commit);
  assert.equal(bobEvent.selfRemoved, true);
  assert.equal(bob.isActive, false);
  // A removed member keeps no secret of the group.
  throwsCode(() => bob.epochAuthenticator(), "not_a_member");
  throwsCode(() => bob.exportSecret(utf8("label"), utf8("context"), 16), "not_a_member");
  assertAgree(alice, carol, daveGroup);
  assert.deepEqual(names(alice.members()), ["alice", "carol", "dave"]);

  const secret = alice.seal(utf8("bob is gone"));
  assertMessage(carol.open(secret), "alice", "bob is gone");
  // Bob's group is closed: every message fails and nothing is held.
  throwsCode(() => bob.open(secret), "not_a_member");
  assert.equal(bob.deferred, 0);
  throwsCode(() => bob.seal(utf8("still here?")), "not_a_member");
});

test("leaving: a proposal another member commits", () => {
  const [, [alice, bob, carol]] = chat(2);
  const proposal = carol.leave();
  for (const g of [alice, bob]) {
    const [e] = g.open(proposal);
    assert.equal(e.type, "proposal");
    assert.deepEqual(e.kind, { type: "remove", index: 2 });
    assert.equal(text(e.sender.identity), "carol");
  }
  const commit = bob.commitProposals();
  bob.mergeCommit();
  alice.open(commit.commit);
  assert.equal(carol.open(commit.commit)[0].selfRemoved, true);
  assertAgree(alice, bob);
});

test("out-of-order, late and replayed messages", () => {
  const [, [alice, bob]] = chat(1);
  const sealed = ["one", "two", "three"].map((w) => bob.seal(utf8(w)));
  assertMessage(alice.open(sealed[2]), "bob", "three");
  assertMessage(alice.open(sealed[0]), "bob", "one");
  assertMessage(alice.open(sealed[1]), "bob", "two");
  throwsCode(() => alice.open(sealed[2]), "secret_tree_key_consumed");
});

test("messages of the next epoch wait for its Commit", () => {
  const [, [alice, bob, carol]] = chat(3);
  const update = alice.update();
  alice.mergeCommit();
  const early = alice.seal(utf8("from epoch 2"));
  assert.deepEqual(bob.open(early), [{ type: "deferred", epoch: 2 }]);
  assert.equal(bob.deferred, 1);
  const events = bob.open(update.commit);
  assert.deepEqual(events.map((e) => e.type), ["epochChanged", "message"]);
  assert.equal(text(events[1].data), "from epoch 2");
  assert.equal(events[0].updated.length, 1);
  carol.open(update.commit);
  assertAgree(alice, bob, carol);

  // Holding off: a message of a future epoch is refused.
  const [, [a2, b2]] = chat(1, { maxBuffered: 0 });
  a2.update();
  a2.mergeCommit();
  throwsCode(() => b2.open(a2.seal(utf8("too early"))), "future_epoch");
});

test("a lost Commit race is reported and retried", () => {
  const [, [alice, bob, carol]] = chat(1);
  const dave = new Client(1, utf8("dave"));
  const aliceAdd = alice.add([dave.keyPackage()]);
  throwsCode(() => alice.update(), "commit_pending");
  const bobUpdate = bob.update(); // the Delivery Service orders Bob's first
  bob.mergeCommit();
  carol.open(bobUpdate.commit);
  const events = alice.open(bobUpdate.commit);
  const lost = events.find((e) => e.type === "commitLost");
  assert.equal(lost.intent.type, "add");
  assert.equal(alice.hasPendingCommit, false);
  assert.notEqual(aliceAdd, undefined);

  const retried = alice.retry(lost.intent);
  alice.mergeCommit();
  bob.open(retried.commit);
  carol.open(retried.commit);
  const daveGroup = dave.join(retried.welcome);
  assertAgree(alice, bob, carol, daveGroup);
});

test("discardCommit returns the intent; retry of a done removal is undefined", () => {
  const [, [alice, bob]] = chat(1);
  alice.remove([2]);
  assert.deepEqual(alice.discardCommit(), { type: "remove", members: [2] });
  assert.equal(alice.discardCommit(), undefined);
  const removal = bob.remove([2]);
  bob.mergeCommit();
  alice.open(removal.commit);
  assert.equal(alice.retry({ type: "remove", members: [2] }), undefined);
});

test("external joins are refused by default", () => {
  const [, [alice]] = chat(1);
  assert.equal(alice.options.externalJoins, "deny");
  const erin = new Client(1, utf8("erin"));
  // The GroupInfo carries no external_pub: no external Commit can be built.
  throwsCode(() => erin.joinExternal(alice.groupInfo()), "missing_external_pub");
});

test("join by external Commit where the group allows it", () => {
  const [, [alice, bob]] = chat(1, { externalJoins: "allow" });
  const erin = new Client(1, utf8("erin"));
  const { group, commit } = erin.joinExternal(alice.groupInfo());
  const [e] = alice.open(commit);
  assert.equal(e.committer, undefined);
  assert.deepEqual(names(e.added), ["erin"]);
  bob.open(commit);
  assertAgree(alice, bob, group);
  assertMessage(bob.open(group.seal(utf8("hello, I'm erin"))), "erin", "hello, I'm erin");
});

test("group options: private handshakes and padding", () => {
  const [, [alice, bob, carol]] = chat(1, { privateHandshakes: true, padding: 64 });
  assert.equal(alice.options.privateHandshakes, true);
  assert.equal(bob.options.padding, 64);
  const short = alice.seal(utf8("a")).length;
  assert.equal(alice.seal(utf8("a longer message")).length, short + 15);
  const commit = alice.update();
  alice.mergeCommit();
  bob.open(commit.commit);
  carol.open(commit.commit);
  assertAgree(alice, bob, carol);
});

/** Equal bytes. */
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

test("the application's credential validator decides who may be added", () => {
  const [alice, bob, mallory] = ["alice", "bob", "bob"].map((n) => new Client(1, utf8(n)));
  // The application's directory binds each identity to one signature key.
  const directory = new Map([
    ["alice", alice.signaturePublicKey],
    ["bob", bob.signaturePublicKey],
  ]);
  const seen = [];
  alice.setCredentialValidator((credential, signatureKey) => {
    seen.push(credential.type);
    const bound = directory.get(text(credential.identity));
    return bound !== undefined && same(bound, signatureKey);
  });
  const group = alice.createGroup();
  // Mallory's KeyPackage claims "bob" with her own key: refused.
  assert.throws(() => group.add([mallory.keyPackage()]), (e) => e.code.includes("credential"));
  assert.equal(group.hasPendingCommit, false);
  group.add([bob.keyPackage()]);
  group.mergeCommit();
  assert.deepEqual(names(group.members()), ["alice", "bob"]);
  assert.ok(seen.length > 0 && seen.every((t) => t === "basic"));
});

test("a validator that throws or answers anything but true rejects", () => {
  for (const answer of [() => { throw new Error("directory down"); }, () => 1, () => "yes"]) {
    const alice = new Client(1, utf8("alice"));
    alice.setCredentialValidator(answer);
    assert.throws(() => alice.createGroup(), (e) => e.code.includes("credential"));
  }
  const alice = new Client(1, utf8("alice"));
  throwsCode(() => alice.setCredentialValidator("yes"), "invalid_argument");
  throwsCode(() => alice.setCredentialValidator(() => true, 7), "invalid_argument");
});

test("pending proposals can be listed, accepted and rejected", () => {
  const [, [alice, , carol]] = chat(1);
  const [e] = alice.open(carol.leave());
  assert.equal(e.type, "proposal");
  assert.equal(e.accepted, true);
  const [pending] = alice.pendingProposals();
  assert.deepEqual(pending.kind, { type: "remove", index: 2 });
  assert.ok(same(pending.reference, e.reference));
  alice.rejectProposal(pending.reference);
  assert.deepEqual(alice.pendingProposals(), []);
  throwsCode(() => alice.acceptProposal(pending.reference), "no_such_proposal");
  // The rejected leave is not in Alice's next Commit: Carol stays.
  alice.update();
  const [changed] = alice.mergeCommit();
  assert.deepEqual(changed.removed, []);
});

test("group options out of range are refused", () => {
  const alice = new Client(1, utf8("alice"));
  throwsCode(() => alice.setGroupOptions({ padding: 2 ** 31 }), "invalid_option");
  throwsCode(() => alice.setGroupOptions({ maxEpochsAhead: 1000 }), "invalid_option");
  throwsCode(() => alice.setGroupOptions({ maxForwardDistance: 2 ** 31 }), "invalid_config");
  throwsCode(() => alice.setGroupOptions({ pastEpochs: 2 ** 31 }), "invalid_config");
  throwsCode(() => alice.setGroupOptions({ externalJoins: "everyone" }), "invalid_argument");
  alice.setGroupOptions({ externalJoins: "resync" });
  assert.equal(alice.createGroup().options.externalJoins, "resync");
});
