"""The Python bindings end to end: a three-member chat, add and remove,
state export and import, the application's credential validator and its
decisions on proposals and external joins, and typed errors for bad
input."""

import threading
import unittest

import e2ee_ffi as e2ee


def chat(suite=1):
    """Alice's group with Bob and Carol, joined by one Welcome."""
    alice, bob, carol = (e2ee.Client(suite, name) for name in (b"alice", b"bob", b"carol"))
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
        with self.assertRaises(e2ee.E2eeError) as caught:  # nothing of the group is left
            bob.epoch_authenticator()
        self.assertEqual(caught.exception.code, "not_a_member")
        for group in (carol, dave_group):
            self.assertEqual(group.epoch_authenticator(), alice.epoch_authenticator())
            self.assertEqual(group.export_secret(b"label", b"ctx", 32), alice.export_secret(b"label", b"ctx", 32))

    def test_every_suite(self):
        for suite in range(1, 8):
            with self.subTest(suite=suite):
                (alice_client, _, _), (alice, bob, carol) = chat(suite)
                self.assertEqual(alice_client.cipher_suite(), suite)
                sealed = carol.seal(b"in suite %d" % suite, b"")
                for group in (alice, bob):
                    [event] = group.open(sealed)
                    self.assertEqual(event.data, b"in suite %d" % suite)
                update = bob.update()
                bob.merge_commit()
                for group in (alice, carol):
                    group.open(update.commit)
                    self.assertEqual(group.epoch_authenticator(), bob.epoch_authenticator())

    def test_state_export_and_import(self):
        (alice_client, bob_client, _), (alice, bob, _) = chat()
        key = bytes(range(32))
        bob_client = e2ee.Client.restore_sealed(bob_client.export_sealed(key), key)
        bob = bob_client.restore_sealed_group(bob.export_sealed(key), key, bob.id())
        alice = alice_client.restore_group(alice.export_state())
        sealed = bob.seal(b"after restart", b"")
        [event] = alice.open(sealed)
        self.assertEqual(event.data, b"after restart")
        restored = alice_client.restore_group(alice.export_state())
        with self.assertRaises(e2ee.E2eeError) as caught:
            restored.open(sealed)  # the key was used before the export
        self.assertEqual(caught.exception.code, "secret_tree_key_consumed")
        with self.assertRaises(e2ee.E2eeError) as caught:
            bob_client.restore_sealed_group(bob.export_sealed(key), bytes(32), bob.id())
        self.assertEqual(caught.exception.code, "state_key")
        other = bob_client.create_group()
        with self.assertRaises(e2ee.E2eeError) as caught:  # another group's state
            bob_client.restore_sealed_group(other.export_sealed(key), key, bob.id())
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
        self.assertEqual(caught.exception.kind, "codec")
        with self.assertRaises(e2ee.E2eeError) as caught:
            client.join(client.key_package())
        self.assertEqual(caught.exception.code, "not_a_welcome")
        with self.assertRaises(e2ee.E2eeError) as caught:
            e2ee.Client(42, b"x")
        self.assertEqual(caught.exception.code, "unsupported_cipher_suite")


class Directory(e2ee.CredentialValidator):
    """An Authentication Service: identities bound to signature keys."""

    def __init__(self, bound, renames=False):
        self.bound, self.renames, self.asked = bound, renames, 0

    def validate(self, credential, signature_key):
        self.asked += 1
        return credential.credential_type == 1 and self.bound.get(credential.identity) == signature_key

    def validate_successor(self, old, new):
        return self.renames or old == new


class PolicyTest(unittest.TestCase):
    def test_the_validator_decides_who_may_be_added(self):
        alice, bob, mallory = (e2ee.Client(1, name) for name in (b"alice", b"bob", b"bob"))
        directory = Directory({b"alice": alice.signature_public_key(), b"bob": bob.signature_public_key()})
        alice.set_credential_validator(directory)
        group = alice.create_group()
        with self.assertRaises(e2ee.E2eeError) as caught:  # "bob" with Mallory's key
            group.add([mallory.key_package()])
        self.assertIn("credential", caught.exception.code)
        self.assertFalse(group.has_pending_commit())
        group.add([bob.key_package()])
        group.merge_commit()
        self.assertEqual([m.identity for m in group.members()], [b"alice", b"bob"])
        self.assertGreater(directory.asked, 0)

    def test_a_validator_that_raises_rejects(self):
        class Broken(e2ee.CredentialValidator):
            def validate(self, credential, signature_key):
                raise RuntimeError("directory down")

            def validate_successor(self, old, new):
                return True

        alice = e2ee.Client(1, b"alice")
        alice.set_credential_validator(Broken())
        with self.assertRaises(e2ee.E2eeError) as caught:
            alice.create_group()
        self.assertIn("credential", caught.exception.code)

    def test_pending_proposals_are_the_applications_to_accept_or_reject(self):
        (_, _, _), (alice, _, carol) = chat()
        [event] = alice.open(carol.leave())
        self.assertIsInstance(event, e2ee.Event.PROPOSAL)
        self.assertTrue(event.accepted)
        [pending] = alice.pending_proposals()
        self.assertEqual(pending.kind, e2ee.ProposalKind.REMOVE(index=2))
        self.assertEqual(pending.reference, event.reference)
        alice.reject_proposal(pending.reference)
        self.assertEqual(alice.pending_proposals(), [])
        with self.assertRaises(e2ee.E2eeError) as caught:
            alice.accept_proposal(pending.reference)
        self.assertEqual(caught.exception.code, "no_such_proposal")

    def test_external_joins_need_the_groups_consent(self):
        (_, _, _), (alice, _, _) = chat()
        self.assertEqual(alice.group_info() is not None, True)
        erin = e2ee.Client(1, b"erin")
        with self.assertRaises(e2ee.E2eeError) as caught:
            erin.join_external(alice.group_info())
        self.assertEqual(caught.exception.code, "missing_external_pub")

        options = e2ee.default_group_options()
        self.assertEqual(options.external_joins, e2ee.ExternalJoins.DENY)
        options.external_joins = e2ee.ExternalJoins.ALLOW
        frank = e2ee.Client(1, b"frank")
        frank.set_group_options(options)
        joined = erin.join_external(frank.create_group().group_info())
        self.assertEqual([m.identity for m in joined.group.members()], [b"frank", b"erin"])

    def test_options_out_of_range_are_refused(self):
        client = e2ee.Client(1, b"x")
        options = e2ee.default_group_options()
        options.max_epochs_ahead = 10**6
        with self.assertRaises(e2ee.E2eeError) as caught:
            client.set_group_options(options)
        self.assertEqual(caught.exception.code, "invalid_option")


if __name__ == "__main__":
    unittest.main()
