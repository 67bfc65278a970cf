#!/usr/bin/env python3
"""Seed corpora for the fuzz targets from the IETF interop vectors.

Writes the byte strings of e2ee-core/tests/data/mls-test-vectors/*.json that
each decoder target decodes (messages, KeyPackages, Welcomes, GroupInfos,
ratchet trees, proposals, Commits, variable-length vectors) into
OUT/<target>/, one file per distinct input, named by its SHA-1 like
libFuzzer's own corpus files; the checked-in seeds of fuzz/seeds/<target>/
are copied beside them. OUT defaults to fuzz/corpus (git-ignored); it is
filled, never emptied, so what libFuzzer added there stays.

    python3 fuzz/seeds.py [OUT]
"""

import hashlib
import json
import os
import random
import sys

FUZZ = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(FUZZ, "..", "e2ee-core", "tests", "data", "mls-test-vectors")

# Proposal types (RFC 9420 §12.1): messages.json has the bodies alone.
PROPOSAL_TYPES = {
    "add_proposal": 1,
    "update_proposal": 2,
    "remove_proposal": 3,
    "pre_shared_key_proposal": 4,
    "re_init_proposal": 5,
    "external_init_proposal": 6,
    "group_context_extensions_proposal": 7,
}

# A VLBytes seed is its header followed by that many bytes; longer ones add
# nothing a short one does not.
MAX_VLBYTES_SEED = 4096


def load(name):
    with open(os.path.join(VECTORS, name + ".json")) as f:
        return json.load(f)


def hexes(cases, *fields):
    """The non-empty hex fields of every case, as bytes."""
    for case in cases:
        for field in fields:
            value = case.get(field)
            if value:
                yield bytes.fromhex(value)


def body(mls_message):
    """An MLSMessage without its version and wire format (2 + 2 bytes)."""
    return mls_message[4:]


def seeds():
    messages = load("messages")
    welcome = load("welcome")
    passive = load("passive-client-welcome") + load("passive-client-handling-commit")
    protection = load("message-protection")
    epochs = [epoch for case in passive for epoch in case["epochs"]]

    key_packages = list(hexes(messages, "mls_key_package")) + list(hexes(welcome, "key_package")) + list(
        hexes(passive, "key_package")
    )
    welcomes = list(hexes(messages, "mls_welcome")) + list(hexes(welcome, "welcome")) + list(
        hexes(passive, "welcome")
    )
    group_infos = list(hexes(messages, "mls_group_info"))
    group_messages = (
        list(hexes(messages, "public_message_application", "public_message_proposal", "public_message_commit"))
        + list(hexes(messages, "private_message"))
        + list(hexes(protection, "proposal_priv", "proposal_pub", "commit_priv", "commit_pub", "application_priv"))
        + list(hexes(epochs, "commit"))
        + [bytes.fromhex(p) for epoch in epochs for p in epoch["proposals"]]
    )
    trees = (
        list(hexes(messages, "ratchet_tree"))
        + list(hexes(load("tree-validation"), "tree"))
        + list(hexes(load("treekem"), "ratchet_tree"))
        + list(hexes(load("tree-operations"), "tree_before", "tree_after"))
        + list(hexes(passive, "ratchet_tree"))
    )
    proposals = (
        [t.to_bytes(2, "big") + p for field, t in PROPOSAL_TYPES.items() for p in hexes(messages, field)]
        + list(hexes(load("tree-operations"), "proposal"))
        + list(hexes(protection, "proposal"))
    )
    commits = list(hexes(messages, "commit")) + list(hexes(protection, "commit"))
    vlbytes = [
        bytes.fromhex(case["vlbytes_header"]) + bytes(case["length"])
        for case in load("deserialization")
        if case["length"] <= MAX_VLBYTES_SEED
    ]
    # The vectors' length-prefixed fields are VLBytes too: a GroupInfo's
    # group id, a tree's first encryption key.
    vlbytes += [m[8:][: 1 + m[8]] for m in group_infos if len(m) > 8 and m[8] < 0x40]

    return {
        "decode_vlbytes": vlbytes,
        "decode_mls_message": key_packages + welcomes + group_infos + group_messages,
        "decode_key_package": [body(m) for m in key_packages],
        "decode_welcome": [body(m) for m in welcomes],
        "decode_group_info": [body(m) for m in group_infos],
        "decode_ratchet_tree": trees,
        "decode_commit": commits,
        "decode_proposal": proposals,
        # Inputs are scripts of steps for a live group (see the target):
        # any bytes make one, and long ones from the start save libFuzzer
        # growing them a few bytes at a time.
        "open_in_live_group": [random.Random(i).randbytes(256 + 48 * i) for i in range(16)],
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(FUZZ, "corpus")
    for target, inputs in seeds().items():
        directory = os.path.join(out, target)
        os.makedirs(directory, exist_ok=True)
        checked_in = os.path.join(FUZZ, "seeds", target)
        if os.path.isdir(checked_in):
            for name in sorted(os.listdir(checked_in)):
                with open(os.path.join(checked_in, name), "rb") as f:
                    inputs.append(f.read())
        distinct = {hashlib.sha1(data).hexdigest(): data for data in inputs}
        for name, data in distinct.items():
            path = os.path.join(directory, name)
            if not os.path.exists(path):
                with open(path, "wb") as f:
                    f.write(data)
        print(f"{target}: {len(distinct)} seeds")


if __name__ == "__main__":
    main()
