#!/usr/bin/env python3
"""python-chat: a group chat on the e2ee reference server, in Python.

Speaks the server protocol of the web chat (docs/server-protocol.md), so its
users chat with web-chat users: every message is sealed and opened here with
the `e2ee` bindings (module `e2ee_ffi`); the server only stores and forwards
ciphertext. HTTP is the standard library's urllib; new messages are fetched
by polling `GET /v1/groups/{id}/messages?after=N` and `GET /v1/mailbox`.

Commands (one per line on stdin): `/create`, `/add NAME`, `/remove NAME`,
`/members`, `/groups`, `/switch ID`, `/quit`; any other line is a message to
the current group. With `--script`, what happens is printed as JSON lines
(for tests and other programs); otherwise as text for people.
"""
import argparse
import base64
import json
import sys
import threading
import time
import urllib.error
import urllib.request

import e2ee_ffi as e2ee

SUITE = 1
KEY_PACKAGES = 5


def b64(data):
    """Unpadded base64url, the server's encoding of bytes."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def name_of(member):
    return member.identity.decode("utf-8", "replace")


class ServerError(Exception):
    """A refusal of the server, with its stable `code`."""

    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code


class Server:
    """The HTTP part of the protocol (see examples/web-chat/src/lib/server.js)."""

    def __init__(self, base):
        self.base = base.rstrip("/")
        self.token = None

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("content-type", "application/json")
        if self.token:
            request.add_header("authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read()
        except urllib.error.HTTPError as e:
            try:
                error = json.loads(e.read() or b"{}").get("error", {})
            except ValueError:
                error = {}
            raise ServerError(error.get("code", f"http_{e.code}"), error.get("message", e.reason)) from None
        return json.loads(text) if text else {}

    def login(self, client):
        challenge = self.call("POST", "/v1/auth/challenge")["challenge"]
        # The signature covers challenge || identity, under the label "e2ee-ds login".
        signed = unb64(challenge) + client.identity()
        self.token = self.call("POST", "/v1/auth/login", {
            "identity": client.identity().decode(),
            "cipher_suite": client.cipher_suite(),
            "signature_key": b64(client.signature_public_key()),
            "challenge": challenge,
            "signature": b64(client.sign_with_label(b"e2ee-ds login", signed)),
        })["token"]

    def publish(self, key_packages, replace=False):
        self.call("POST", "/v1/key-packages", {"key_packages": [b64(k) for k in key_packages], "replace": replace})

    def claim(self, identity):
        return unb64(self.call("POST", "/v1/key-packages/claim", {"identity": identity})["key_package"])

    def create_group(self, group_id):
        self.call("POST", "/v1/groups", {"group_id": b64(group_id)})

    def post(self, group_id, message, welcome=None, group_info=None):
        body = {"message": b64(message)}
        if welcome:
            body["welcome"] = b64(welcome)
        if group_info:
            body["group_info"] = b64(group_info)
        return self.call("POST", f"/v1/groups/{b64(group_id)}/messages", body)["position"]

    def messages(self, group_id, after):
        return self.call("GET", f"/v1/groups/{b64(group_id)}/messages?after={after}")["messages"]

    def mailbox(self, after):
        return self.call("GET", f"/v1/mailbox?after={after}")["items"]


class Output:
    """Prints events: JSON lines for programs, text for people."""

    def __init__(self, script):
        self.script = script
        self.lock = threading.Lock()

    def emit(self, event, **fields):
        if self.script:
            line = json.dumps({"event": event, **fields})
        elif event == "message":
            line = f"[{fields['group'][:6]}] {fields['from']}: {fields['text']}"
        else:
            line = f"* {event} " + " ".join(
                f"{k}={', '.join(v) if isinstance(v, list) else v}" for k, v in fields.items()
            )
        with self.lock:
            print(line, flush=True)


class Conversation:
    """One group: its MLS state, the log position read, own messages in flight."""

    def __init__(self, group, after):
        self.group = group
        self.after = after
        self.sent = {}  # own sealed messages cannot be opened: remember their text
        self.active = True


class Chat:
    def __init__(self, server, name, out):
        self.server = server
        self.out = out
        self.me = name
        self.client = e2ee.Client(SUITE, name.encode())
        self.groups = {}  # base64url group id -> Conversation
        self.current = None
        self.mailbox_after = 0
        # Polling and commands change the same MLS state: one at a time.
        self.lock = threading.Lock()

    def start(self):
        self.server.login(self.client)
        self.server.publish([self.client.key_package() for _ in range(KEY_PACKAGES)], replace=True)
        self.out.emit("ready", name=self.me)

    def command(self, line):
        """Runs one input line; False once the user quits."""
        verb, _, arg = line.partition(" ")
        arg = arg.strip()
        with self.lock:
            if verb == "/quit":
                return False
            if verb == "/create":
                group = self.client.create_group()
                self.server.create_group(group.id())
                self.track(group, 0)
                self.out.emit("created", group=self.current)
            elif verb == "/groups":
                self.out.emit("groups", groups=list(self.groups), current=self.current)
            elif verb == "/switch" and arg:
                matches = [g for g in self.groups if g.startswith(arg)]
                if len(matches) != 1:
                    self.out.emit("error", code="no_such_group", message=f"no single group starts with {arg}")
                else:
                    self.current = matches[0]
            elif self.current is None:
                self.out.emit("error", code="no_group", message="/create a group, or wait to be added")
            elif verb == "/members":
                names = [name_of(m) for m in self.groups[self.current].group.members()]
                self.out.emit("members", group=self.current, members=names)
            elif verb in ("/add", "/remove") and arg:
                self.commit(verb, arg)
            elif verb.startswith("/"):
                self.out.emit("error", code="unknown_command", message=line)
            else:
                conversation = self.groups[self.current]
                sealed = conversation.group.seal(line.encode(), b"")
                conversation.sent[b64(sealed)] = line
                self.server.post(conversation.group.id(), sealed)
        return True

    def commit(self, verb, name):
        """Adds or removes `name`; the Commit is merged when its echo arrives."""
        group = self.groups[self.current].group
        if verb == "/add":
            bundle = group.add([self.server.claim(name)])
        else:
            leaves = [m.index for m in group.members() if name_of(m) == name]
            if not leaves:
                self.out.emit("error", code="not_member", message=f"{name} is not in the group")
                return
            bundle = group.remove(leaves)
        try:
            self.server.post(group.id(), bundle.commit, bundle.welcome, bundle.group_info)
        except ServerError:
            group.discard_commit()  # e.g. epoch_moved_on: another Commit won
            raise

    def track(self, group, after):
        self.groups[b64(group.id())] = Conversation(group, after)
        self.current = b64(group.id())

    def poll(self):
        """Fetches and processes new Welcomes and group messages."""
        with self.lock:
            for item in self.server.mailbox(self.mailbox_after):
                self.welcome(item)
            for gid, conversation in list(self.groups.items()):
                while conversation.active:
                    try:
                        page = self.server.messages(conversation.group.id(), conversation.after)
                    except ServerError as e:
                        if e.code != "not_member":
                            raise
                        # No longer readable for us. Normally we stop earlier: the
                        # Commit that removed us stays readable and closes the group.
                        conversation.active = False
                        self.out.emit("removed", group=gid)
                        break
                    for entry in page:
                        if conversation.active:  # nothing after the own removal opens
                            self.entry(gid, conversation, entry)
                    if not page:
                        break

    def welcome(self, item):
        self.mailbox_after = item["position"]
        if item["group_id"] not in self.groups:
            group = self.client.join(unb64(item["welcome"]))
            self.track(group, item["commit_position"])
            self.out.emit("joined", group=self.current, members=[name_of(m) for m in group.members()])
        self.server.publish([self.client.key_package()])  # replaces the one used

    def entry(self, gid, conversation, entry):
        conversation.after = entry["position"]
        own = conversation.sent.pop(entry["message"], None)
        if own is not None:
            self.out.emit("message", group=gid, **{"from": self.me}, text=own)
            return
        try:
            events = conversation.group.open(unb64(entry["message"]))
        except e2ee.E2eeError.Failed as e:
            self.out.emit("undecryptable", group=gid, code=e.code)
            return
        for event in events:
            self.event(gid, conversation, event)

    def event(self, gid, conversation, event):
        if event.is_message():
            self.out.emit("message", group=gid, **{"from": name_of(event.sender)}, text=event.data.decode("utf-8", "replace"))
        elif event.is_epoch_changed():
            self.out.emit(
                "epoch", group=gid, epoch=event.epoch,
                by=name_of(event.committer) if event.committer else None,
                added=[name_of(m) for m in event.added], removed=[name_of(m) for m in event.removed],
            )
            if event.self_removed:
                conversation.active = False
                self.out.emit("removed", group=gid)
        elif event.is_commit_lost():
            self.out.emit("error", group=gid, code="commit_lost", message="another change won: try again")
        elif event.is_rejected():
            self.out.emit("error", group=gid, code=event.code, message=event.detail)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="your name (the identity of your credential)")
    parser.add_argument("--server", default="http://127.0.0.1:8080", help="the reference server")
    parser.add_argument("--script", action="store_true", help="print events as JSON lines")
    parser.add_argument("--interval", type=float, default=0.3, help="seconds between polls")
    args = parser.parse_args()

    out = Output(args.script)
    chat = Chat(Server(args.server), args.name, out)
    chat.start()
    stop = threading.Event()

    def poll_forever():
        while not stop.wait(args.interval):
            try:
                chat.poll()
            except (ServerError, e2ee.E2eeError.Failed, OSError) as e:
                out.emit("error", code=getattr(e, "code", "network"), message=str(e))
                time.sleep(1)

    threading.Thread(target=poll_forever, daemon=True).start()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            if not chat.command(line):
                break
        except (ServerError, e2ee.E2eeError.Failed, OSError) as e:
            out.emit("error", code=getattr(e, "code", "network"), message=str(e))
    stop.set()
    with chat.lock:  # let a poll in progress finish its output
        pass


if __name__ == "__main__":
    main()
