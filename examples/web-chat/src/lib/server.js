// The reference server's protocol (reference-server/docs/server-protocol.md):
// HTTP under /v1 for login, KeyPackages, groups and posting; one WebSocket
// for live pushes. Byte strings travel as unpadded base64url. The server
// only ever sees MLS ciphertext and public framing.

/** Unpadded base64url of `bytes`. */
export function b64(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The bytes of unpadded base64url `text`. */
export function unb64(text) {
  const s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** A refusal of the server, with its stable `code` (and `current_epoch`, ...). */
export class ServerError extends Error {
  constructor(body, status) {
    super(body?.message ?? `HTTP ${status}`);
    Object.assign(this, body, { status });
  }
}

const utf8 = new TextEncoder();

/** A logged-in connection to the server. */
export class Server {
  #token = null;

  /** Logs in as `client` (an @e2ee/core Client) by signing a challenge. */
  async login(client) {
    const { challenge } = await this.#call("POST", "/v1/auth/challenge");
    // The signature covers challenge || identity, under the label "e2ee-ds login".
    const signed = new Uint8Array([...unb64(challenge), ...client.identity]);
    const { token } = await this.#call("POST", "/v1/auth/login", {
      identity: new TextDecoder().decode(client.identity),
      cipher_suite: client.cipherSuite,
      signature_key: b64(client.signaturePublicKey),
      challenge,
      signature: b64(client.signWithLabel(utf8.encode("e2ee-ds login"), signed)),
    });
    this.#token = token;
  }

  /** Publishes KeyPackages; `replace` drops the unclaimed ones first. */
  publish(keyPackages, replace = false) {
    return this.#call("POST", "/v1/key-packages", { key_packages: keyPackages.map(b64), replace });
  }

  /** Claims one KeyPackage of `identity` (each is handed out once). */
  async claim(identity) {
    return unb64((await this.#call("POST", "/v1/key-packages/claim", { identity })).key_package);
  }

  /** Registers a new group (the caller is its only member). */
  createGroup(groupId) {
    return this.#call("POST", "/v1/groups", { group_id: b64(groupId) });
  }

  /** Posts a message (and the Welcome and GroupInfo of a Commit); returns its position. */
  async post(groupId, message, welcome, groupInfo) {
    const body = { message: b64(message) };
    if (welcome) body.welcome = b64(welcome);
    if (groupInfo) body.group_info = b64(groupInfo);
    return (await this.#call("POST", `/v1/groups/${b64(groupId)}/messages`, body)).position;
  }

  /** The WebSocket URL (no token in it: URLs end up in logs and history). */
  socketUrl() {
    const url = new URL("/v1/ws", location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return url.href;
  }

  /**
   * The WebSocket subprotocols to offer: browsers cannot set headers on a
   * WebSocket, so the token goes as "e2ee.bearer.<token>" beside "e2ee.v1",
   * which the service selects (it never echoes the token).
   */
  socketProtocols() {
    return ["e2ee.v1", `e2ee.bearer.${this.#token}`];
  }

  async #call(method, path, body) {
    const headers = { "content-type": "application/json" };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    const json = text ? JSON.parse(text) : {};
    if (!res.ok) throw new ServerError(json.error, res.status);
    return json;
  }
}
