// The chat's logic: one @e2ee/core Client per user, one Group per
// conversation, the reference server as Delivery Service, IndexedDB as
// memory. Everything is sealed and opened here, in the page; the server
// stores and forwards ciphertext only.
//
// Every change to MLS state (and the log position it belongs to) is stored
// before anything is sent, and all work runs one step at a time (`#run`),
// so WebSocket pushes never interleave with a Commit in flight.
import { Client } from "@e2ee/core";

import { Store } from "./db.js";
import { Server, ServerError, b64, unb64 } from "./server.js";

const SUITE = 1;
const KEY_PACKAGES = 5;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const nameOf = (member) => decoder.decode(member.identity);
const names = (members) => members.map(nameOf).join(", ");

export class Chat {
  /** The user's name, once started. */
  me = $state("");
  /** The conversations: `{ id, title, members, log, active }`. */
  groups = $state([]);
  /** The id of the conversation shown. */
  selected = $state(null);
  /** A line for the user: connection state or the last error. */
  status = $state("");

  #client = null;
  #server = new Server();
  #store = null;
  #socket = null;
  /** Group id → { group: the @e2ee/core Group, record: what IndexedDB holds }. */
  #live = new Map();
  #mailboxAfter = 0;
  #work = Promise.resolve();

  /** The name used last in this browser, to resume after a reload. */
  static lastName() {
    return localStorage.getItem("e2ee-chat:name");
  }

  /** Starts as `name`: restores the stored client and groups, or makes new ones. */
  start(name) {
    return this.#run(async () => {
      this.#store = await Store.open(name);
      const stored = await this.#store.get("client");
      this.#client = stored ? Client.restoreState(stored.state) : new Client(SUITE, encoder.encode(name));
      this.#mailboxAfter = stored?.mailboxAfter ?? 0;
      await this.#server.login(this.#client);
      if (!stored) await this.#publishKeyPackages(KEY_PACKAGES, true);
      for (const record of await this.#store.groups()) {
        this.#live.set(record.id, { group: this.#client.restoreGroup(record.state), record });
        this.#show(record.id);
      }
      this.selected ??= this.groups[0]?.id ?? null;
      localStorage.setItem("e2ee-chat:name", name);
      this.me = name;
      this.#connect();
    });
  }

  /** A new conversation with only this user in it. */
  createGroup() {
    return this.#run(async () => {
      const group = this.#client.createGroup();
      await this.#server.createGroup(group.id);
      const record = { id: b64(group.id), after: 0, log: [], sent: {}, active: true };
      this.#live.set(record.id, { group, record });
      this.#note(record, `${this.me} created the group`);
      await this.#save(record.id);
      this.#subscribe(record);
      this.selected = record.id;
    });
  }

  /** Adds `name` (by one of the KeyPackages they published). */
  add(id, name) {
    return this.#commit(id, async (group) => group.add([await this.#server.claim(name)]));
  }

  /** Removes the member at leaf `index`. */
  remove(id, index) {
    return this.#commit(id, async (group) => group.remove([index]));
  }

  /** Sends `text` to the conversation; it shows when the server echoes it. */
  send(id, text) {
    return this.#run(async () => {
      const { group, record } = this.#live.get(id);
      const sealed = group.seal(encoder.encode(text));
      record.sent[b64(sealed)] = text; // own messages cannot be opened: remember them
      await this.#save(id); // the sending key is used up: store that first
      await this.#server.post(group.id, sealed);
    });
  }

  // A Commit: made, stored (it is pending), posted. The server's echo of it
  // merges it; if another Commit won the epoch, it is dropped.
  #commit(id, make) {
    return this.#run(async () => {
      const { group } = this.#live.get(id);
      const bundle = await make(group);
      await this.#save(id);
      try {
        await this.#server.post(group.id, bundle.commit, bundle.welcome, bundle.groupInfo);
      } catch (e) {
        group.discardCommit();
        await this.#save(id);
        throw e;
      }
    });
  }

  // Runs `step` after the previous one; errors go to the status line.
  #run(step) {
    this.#work = this.#work.then(step).catch((e) => {
      this.status = e instanceof ServerError && e.code === "epoch_moved_on"
        ? "someone else changed the group first: try again"
        : `${e.code ?? "error"}: ${e.message}`;
    });
    return this.#work;
  }

  async #publishKeyPackages(n, replace = false) {
    const keyPackages = Array.from({ length: n }, () => this.#client.keyPackage());
    await this.#saveClient(); // their private keys must be stored before anyone can claim them
    await this.#server.publish(keyPackages, replace);
  }

  #saveClient() {
    return this.#store.put("client", { state: this.#client.exportState(), mailboxAfter: this.#mailboxAfter });
  }

  // Stores the group's state with its position and conversation, and shows it.
  async #save(id) {
    const { group, record } = this.#live.get(id);
    record.state = group.exportState();
    await this.#store.putGroup(record);
    this.#show(id);
  }

  // The view of one conversation, for the component.
  #show(id) {
    const { group, record } = this.#live.get(id);
    const view = {
      id,
      title: `group ${id.slice(0, 6)}`,
      members: record.active ? group.members().map((m) => ({ index: m.index, name: nameOf(m) })) : [],
      log: [...record.log],
      active: record.active,
    };
    const i = this.groups.findIndex((g) => g.id === id);
    if (i < 0) this.groups.push(view);
    else this.groups[i] = view;
  }

  #note(record, text) {
    record.log.push({ kind: "info", text });
  }

  #connect() {
    const socket = new WebSocket(this.#server.socketUrl(), this.#server.socketProtocols());
    this.#socket = socket;
    socket.onopen = () => {
      this.status = "connected";
      socket.send(JSON.stringify({ type: "subscribe_mailbox", after: this.#mailboxAfter }));
      for (const { record } of this.#live.values()) if (record.active) this.#subscribe(record);
    };
    socket.onmessage = (e) => this.#run(() => this.#receive(JSON.parse(e.data)));
    socket.onclose = () => {
      if (this.#socket !== socket) return;
      this.status = "reconnecting…";
      // Log in again (the token may have expired), then resubscribe from the stored positions.
      setTimeout(() => this.#run(async () => {
        await this.#server.login(this.#client);
        this.#connect();
      }), 1000);
    };
  }

  #subscribe(record) {
    if (this.#socket?.readyState === WebSocket.OPEN) {
      this.#socket.send(JSON.stringify({ type: "subscribe", group: record.id, after: record.after }));
    }
  }

  async #receive(frame) {
    switch (frame.type) {
      case "welcome":
        return this.#welcome(frame);
      case "message":
        return this.#entry(frame);
      case "unsubscribed":
      case "error":
        if (frame.error?.code !== "not_member") this.status = `${frame.error?.code}: ${frame.error?.message}`;
    }
  }

  // A Welcome in the mailbox: join, then follow the group from its Commit on.
  async #welcome(frame) {
    this.#mailboxAfter = frame.position;
    if (!this.#live.has(frame.group_id)) {
      const group = this.#client.join(unb64(frame.welcome));
      const record = { id: frame.group_id, after: frame.commit_position, log: [], sent: {}, active: true };
      this.#live.set(record.id, { group, record });
      this.#note(record, `${this.me} joined; members: ${names(group.members())}`);
      await this.#save(record.id);
      this.#subscribe(record);
      this.selected ??= record.id;
    }
    await this.#publishKeyPackages(1); // replaces the one used; also stores the client
  }

  // An entry of a group's log, in order: open it and record what it meant.
  async #entry(frame) {
    const live = this.#live.get(frame.group);
    if (!live || frame.position <= live.record.after) return; // pushed again after a reconnect
    const { group, record } = live;
    const own = record.sent[frame.message];
    if (own !== undefined) {
      record.log.push({ kind: "message", from: this.me, text: own });
      delete record.sent[frame.message];
    } else {
      try {
        for (const event of group.open(unb64(frame.message))) this.#event(record, event);
      } catch (e) {
        // E.g. a message of an epoch this member has left: nothing to show.
        if (record.active) this.#note(record, `a message could not be opened (${e.code})`);
      }
    }
    record.after = frame.position;
    await this.#save(record.id);
  }

  #event(record, event) {
    switch (event.type) {
      case "message":
        record.log.push({ kind: "message", from: nameOf(event.sender), text: decoder.decode(event.data) });
        break;
      case "epochChanged": {
        const by = event.committer ? nameOf(event.committer) : "someone";
        if (event.added.length) this.#note(record, `${by} added ${names(event.added)}`);
        if (event.removed.length) this.#note(record, `${by} removed ${names(event.removed)}`);
        if (event.selfRemoved) {
          record.active = false;
          this.#note(record, "you were removed from the group");
        }
        break;
      }
      case "commitLost":
        this.#note(record, "your change lost to another one: try again");
        break;
      case "rejected":
        this.#note(record, `a held message was rejected (${event.error.code})`);
        break;
    }
  }
}
