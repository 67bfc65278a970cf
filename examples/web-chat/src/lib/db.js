// IndexedDB storage of one user: the client's state and, per group, the
// group's state, the log position processed and the conversation. A group's
// record is written in one transaction after every change, so a reload
// resumes exactly where the page stopped (MLS keys are used once: the
// conversation cannot be decrypted again later, it must be kept).

const request = (r) =>
  new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });

export class Store {
  /** @param {IDBDatabase} db */
  constructor(db) {
    this.db = db;
  }

  /** The store of user `name`. */
  static async open(name) {
    const r = indexedDB.open(`e2ee-chat:${name}`, 1);
    r.onupgradeneeded = () => {
      r.result.createObjectStore("kv");
      r.result.createObjectStore("groups", { keyPath: "id" });
    };
    return new Store(await request(r));
  }

  #store(name, mode) {
    return this.db.transaction(name, mode).objectStore(name);
  }

  /** A value of the key-value store (the client's record). */
  get(key) {
    return request(this.#store("kv", "readonly").get(key));
  }

  put(key, value) {
    return request(this.#store("kv", "readwrite").put(value, key));
  }

  /** Every group record: `{ id, state, after, log }`. */
  groups() {
    return request(this.#store("groups", "readonly").getAll());
  }

  putGroup(record) {
    return request(this.#store("groups", "readwrite").put(record));
  }
}
