#!/usr/bin/env python3
"""The chat samples against the real reference server.

Starts `reference-server` (memory store) on a free 127.0.0.1 port, then three
clients in --script mode, driven line by line through stdin and read back as
JSON lines: the Python sample (alice), the Kotlin sample on the JVM (bob) and
web-peer.mjs (carol), which speaks the web chat's protocol with the web
chat's own server.js and @e2ee/core. Carol creates a group and adds Alice,
Alice adds Bob (three implementations, each committing once), everyone sends
a message and must read the other two; Bob removes Alice; Carol and Bob go
on talking, and Alice reads nothing after her removal. Fails on any missing
or unexpected event.

Usage: chat_test.py SERVER_BINARY -- PYTHON_CMD... -- KOTLIN_CMD... -- NODE_CMD...
(each client command gets `--name N --server URL --script` appended).
"""
import json
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

TIMEOUT = 30


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Peer:
    """A sample in --script mode: commands in, JSON events out."""

    def __init__(self, name, command, server):
        self.name = name
        self.events = []  # everything seen so far, for the final checks
        self.lines = queue.Queue()
        self.process = subprocess.Popen(
            [*command, "--name", name, "--server", server, "--script"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def send(self, line):
        print(f"  {self.name} < {line}")
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def wait(self, what, test):
        """The first event (seen before or arriving) that passes `test`."""
        for event in self.events:
            if test(event):
                return event
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                line = self.lines.get(timeout=max(0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                raise AssertionError(f"{self.name}: no {what} (events: {self.events})")
            try:
                event = json.loads(line)
            except ValueError:
                raise AssertionError(f"{self.name} printed a line that is not JSON: {line!r}") from None
            print(f"  {self.name} > {line.rstrip()}")
            if event["event"] in ("error", "undecryptable"):
                raise AssertionError(f"{self.name}: {event}")
            self.events.append(event)
            if test(event):
                return event

    def wait_epoch(self, epoch):
        return self.wait(f"epoch {epoch}", lambda e: e["event"] == "epoch" and e["epoch"] == epoch)

    def wait_message(self, sender, text):
        return self.wait(f"{text!r} from {sender}", lambda e: e["event"] == "message" and e["from"] == sender and e["text"] == text)

    def quit(self):
        self.send("/quit")
        code = self.process.wait(timeout=TIMEOUT)
        for line in iter(self.lines.get, None):  # what it printed while quitting
            self.events.append(json.loads(line))
        assert code == 0, f"{self.name} exited with {code}"


def main():
    binary, commands = sys.argv[1], [[]]
    for arg in sys.argv[3:]:  # after `SERVER_BINARY --`
        if arg == "--":
            commands.append([])
        else:
            commands[-1].append(arg)
    python, kotlin, node = commands
    url = f"http://127.0.0.1:{free_port()}"
    log = tempfile.TemporaryFile("w+")
    server = subprocess.Popen([binary, "--listen", url.removeprefix("http://")], stdout=log, stderr=log)
    peers = []
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                urllib.request.urlopen(url + "/healthz", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError("the reference server did not start")
                time.sleep(0.1)

        alice, bob, carol = peers[:] = [
            Peer("alice", python, url), Peer("bob", kotlin, url), Peer("carol", node, url)
        ]
        for p in peers:
            p.wait("ready", lambda e: e["event"] == "ready")

        print("- carol (web protocol) creates the group and adds alice (Python)")
        carol.send("/create")
        group = carol.wait("created", lambda e: e["event"] == "created")["group"]
        carol.send("/add alice")
        assert alice.wait("joined", lambda e: e["event"] == "joined")["group"] == group
        carol.wait_epoch(1)

        print("- alice adds bob (Kotlin)")
        alice.send("/add bob")
        joined = bob.wait("joined", lambda e: e["event"] == "joined")
        assert joined["group"] == group and sorted(joined["members"]) == ["alice", "bob", "carol"], joined
        for p in (alice, carol):
            assert p.wait_epoch(2)["added"] == ["bob"]

        print("- everyone says hello and reads the others")
        for p in peers:
            p.send(f"hello from {p.name}")
        for p in peers:
            for other in peers:
                p.wait_message(other.name, f"hello from {other.name}")

        print("- bob removes alice; carol and bob go on")
        bob.send("/remove alice")
        for p in (bob, carol):
            assert p.wait_epoch(3)["removed"] == ["alice"]
        alice.wait("removal", lambda e: e["event"] == "removed")
        for p in (bob, carol):
            p.send(f"after alice left, {p.name}")
        for p in (bob, carol):
            for other in (bob, carol):
                p.wait_message(other.name, f"after alice left, {other.name}")

        for p in peers:
            p.quit()
        late = [e for e in alice.events if e["event"] == "message" and e["text"].startswith("after alice left")]
        assert not late, f"alice read messages after her removal: {late}"
        print("samples chat: alice (Python), bob (Kotlin/JVM) and carol (web chat protocol, Node) chatted, "
              "added and removed each other through reference-server")
    except BaseException:
        log.seek(0)
        print("reference-server's log:\n" + log.read()[-4000:], file=sys.stderr)
        raise
    finally:
        for p in peers:
            if p.process.poll() is None:
                p.process.kill()
        server.terminate()
        server.wait(timeout=TIMEOUT)


if __name__ == "__main__":
    main()
