"""The Python bindings end to end: a three-member chat, add and remove,
state export and import, and typed errors for bad input."""

import unittest

import e2ee_ffi as e2ee


def chat():
    """Alice's group with Bob and Carol, joined by one Welcome."""
    alice, bob, carol = (e2ee.Client(1, name) for name in (b"alice", b"bob", b"carol"))
    group = alice.create_group()
    bundle = group.add([bob.key_package(), carol.key_package()])
    group.merge_commit()
    return (alice, bob, carol), (group, bob.join(bundle.welcome), carol.join(bundle.welcome))


class ChatTest(unittest.TestCase):
    def test_three_members_talk_add_and_remove(self):
        (_, _, _), (alice, bob, carol) = chat()
        self.assertEqual([m.identity for m in alice.members()], [b"alice", b"bob", b"carol"])
        sealed = bob.seal(b"hello from python", b"meta")
        for group in (alice, carol):
            [event] = group.open(sealed)
            self.assertIsInstance(event, e2ee.Event.MESSAGE)
            self.assertEqual((event.sender.identity, event.data, event.authenticated_data),
                             (b"bob", b"hello from python", b"meta"))

        dave = e2ee.Client(1, b"dave")
        bundle = carol.add([dave.key_package()])
        [changed] = carol.open(bundle.commit)  # the echo from the server merges it
        self.assertEqual([m.identity for m in changed.added], [b"dave"])
        for group in (alice, bob):
            group.open(bundle.commit)
        dave_group = dave.join(bundle.welcome)

        removal = alice.remove([bob.own_index()])
        alice.merge_commit()
        for group in (carol, dave_group):
            [event] = group.open(removal.commit)
            self.assertEqual([m.identity for m in event.removed], [b"bob"])
        [event] = bob.open(removal.commit)
        self.assertTrue(event.self_removed)
        self.assertFalse(bob.is_active())
        for group in (carol, dave_group):
            self.assertEqual(group.epoch_authenticator(), alice.epoch_authenticator())
            self.assertEqual(group.export_secret(b"label", b"ctx", 32), alice.export_secret(b"label", b"ctx", 32))

    def test_errors_carry_a_code(self):
        client = e2ee.Client(1, b"erin")
        group = client.create_group()
        with self.assertRaises(e2ee.E2eeError.Failed) as caught:
            group.open(b"\xff\x00")
        self.assertTrue(caught.exception.code.startswith("codec_"))
        with self.assertRaises(e2ee.E2eeError) as caught:
            client.join(client.key_package())
        self.assertEqual(caught.exception.code, "not_a_welcome")
        with self.assertRaises(e2ee.E2eeError) as caught:
            e2ee.Client(42, b"x")
        self.assertEqual(caught.exception.code, "unsupported_cipher_suite")


if __name__ == "__main__":
    unittest.main()
