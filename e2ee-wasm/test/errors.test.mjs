// Bad input gives Error objects with stable codes, never a crash: the
// module keeps working afterwards.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Client, assertMessage, chat, throwsCode, utf8 } from "./helpers.mjs";

test("wrong bytes give typed errors", () => {
  throwsCode(() => new Client(9, utf8("x")), "unsupported_cipher_suite");
  const [[alice], [group, bob]] = chat(1);
  const keyPackage = alice.keyPackage();
  throwsCode(() => alice.join(keyPackage), "not_a_welcome");
  throwsCode(() => alice.joinExternal(keyPackage), "not_a_group_info");
  throwsCode(() => group.open(keyPackage), "not_a_group_message");
  throwsCode(() => group.open(new Uint8Array([0xff])), "codec_truncated");
  throwsCode(() => group.add([group.groupInfo()]), "not_a_key_package");
  throwsCode(() => group.remove([5]), "no_such_member");
  const other = new Client(1, utf8("x")).createGroup();
  throwsCode(() => group.open(other.seal(utf8("elsewhere"))), "wrong_group");

  // Flipped bits and junk: an error with a code (or, for a changed epoch,
  // a held message), never a wrong plaintext or an abort.
  const sealed = bob.seal(utf8("intact"));
  for (let i = 0; i < sealed.length; i += 7) {
    const broken = sealed.slice();
    broken[i] ^= 0x40;
    try {
      assert.deepEqual(group.open(broken).map((e) => e.type), ["deferred"]);
    } catch (e) {
      assert.ok(e instanceof Error && /^[a-z0-9_]+$/.test(e.code), e);
    }
  }
  for (let n = 0; n < 200; n += 13) {
    const junk = crypto.getRandomValues(new Uint8Array(n));
    assert.throws(() => group.open(junk), (e) => typeof e.code === "string" && e.kind === "codec");
  }
  assertMessage(group.open(sealed), "bob", "intact");
});

test("wrong argument types give invalid_argument", () => {
  const [[alice], [group]] = chat(1);
  throwsCode(() => new Client(1, "alice"), "invalid_argument");
  throwsCode(() => group.seal("text, not bytes"), "invalid_argument");
  throwsCode(() => group.open(null), "invalid_argument");
  throwsCode(() => group.open([1, 2, 3]), "invalid_argument");
  throwsCode(() => group.add(alice.keyPackage()), "invalid_argument");
  throwsCode(() => group.add([alice.keyPackage(), 7]), "invalid_argument");
  throwsCode(() => group.remove([1.5]), "invalid_argument");
  throwsCode(() => group.remove([-1]), "invalid_argument");
  throwsCode(() => group.exportSealed(new Uint8Array(31)), "invalid_argument");
  throwsCode(() => alice.setGroupOptions({ padding: "lots" }), "invalid_argument");
  throwsCode(() => alice.setGroupOptions({ privateHandshakes: 1 }), "invalid_argument");
  throwsCode(() => alice.setGroupOptions(null), "invalid_argument");
  throwsCode(() => group.retry({ type: "explode" }), "invalid_argument");
  // The error says what was wrong, for people.
  assert.throws(() => group.open("x"), /message must be a Uint8Array/);
});
