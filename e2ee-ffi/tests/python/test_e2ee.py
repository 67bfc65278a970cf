"""The Python bindings end to end: a three-member chat, add and remove,
state export and import, and typed errors for bad input."""

import threading
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

    def test_state_export_and_import(self):
        (alice_client, bob_client, _), (alice, bob, _) = chat()
        key = bytes(range(32))
        bob_client = e2ee.Client.restore_sealed(bob_client.export_sealed(key), key)
        bob = bob_client.restore_sealed_group(bob.export_sealed(key), key)
        alice = alice_client.restore_group(alice.export_state())
        sealed = bob.seal(b"after restart", b"")
        [event] = alice.open(sealed)
        self.assertEqual(event.data, b"after restart")
        restored = alice_client.restore_group(alice.export_state())
        with self.assertRaises(e2ee.E2eeError) as caught:
            restored.open(sealed)  # the key was used before the export
        self.assertEqual(caught.exception.code, "secret_tree_key_consumed")
        with self.assertRaises(e2ee.E2eeError) as caught:
            bob_client.restore_sealed_group(bob.export_sealed(key), bytes(32))
        self.assertEqual(caught.exception.code, "state_key")
        with self.assertRaises(e2ee.E2eeError) as caught:
            bob.export_sealed(b"short")
        self.assertEqual(caught.exception.code, "invalid_storage_key")

    def test_objects_are_shared_between_threads(self):
        (_, _, _), (alice, bob, _) = chat()
        sealed, lock = [], threading.Lock()

        def send(n):
            for i in range(20):
                message = bob.seal(f"{n}-{i}".encode(), b"")
                with lock:
                    sealed.append(message)

        threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        opened = {alice.open(m)[0].data for m in sealed}
        self.assertEqual(opened, {f"{n}-{i}".encode() for n in range(4) for i in range(20)})

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
