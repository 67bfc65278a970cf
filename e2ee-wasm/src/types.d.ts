/**
 * Every error this library throws: an `Error` whose `code` is stable and
 * machine-readable (e.g. `"codec_truncated"`, `"wrong_epoch"`,
 * `"invalid_argument"`), so callers never match on the message.
 */
export interface E2eeError extends Error {
  /** The stable error code. */
  code: string;
}

/** A member of a group. */
export interface Member {
  /** Its leaf index, stable while it stays in the group. */
  index: number;
  /** The identity in its basic credential. */
  identity: Uint8Array;
  /** The public key it signs with. */
  signatureKey: Uint8Array;
}

/**
 * Policies for the groups a client creates or joins. Every field is optional
 * in `Client.setGroupOptions`; left-out fields take the defaults of
 * `defaultGroupOptions()`.
 */
export interface GroupOptions {
  /**
   * Send proposals and Commits as PrivateMessages, hiding membership changes
   * from the Delivery Service (default `false`).
   */
  privateHandshakes: boolean;
  /** Zero bytes appended to every plaintext before sealing, to hide its length. */
  padding: number;
  /** How many messages of future epochs are held until their epoch begins (0: refuse them). */
  maxBuffered: number;
  /**
   * How many bytes those held messages may take together (default 8 MiB):
   * they cannot be authenticated before their epoch begins.
   */
  maxBufferedBytes: number;
  /** For how many past epochs late application messages still open. */
  pastEpochs: number;
  /** How far ahead of a sender's ratchet a message may be (out-of-order window). */
  maxForwardDistance: number;
  /**
   * How many epochs ahead of the current one a message may be and still be
   * held; further ones are refused at once (`future_epoch`).
   */
  maxEpochsAhead: number;
  /**
   * Who may join by external Commit: nobody (`"deny"`, the default), only a
   * client rejoining in place of its own earlier leaf (`"resync"`), or anyone
   * the credential validator accepts (`"allow"`). Members of a group should
   * agree on it.
   */
  externalJoins: "deny" | "resync" | "allow";
}

/** A credential, as `Client.setCredentialValidator`'s callbacks see it. */
export interface Credential {
  /** The credential type. */
  type: "basic" | "x509";
  /** A basic credential's identity; an X.509 credential's end-entity certificate (DER). */
  identity: Uint8Array;
}

/** A proposal of the current epoch that no Commit has covered yet. */
export interface PendingProposal {
  /** Its reference, for `Group.acceptProposal` and `Group.rejectProposal`. */
  reference: Uint8Array;
  /** The proposing member; absent for a proposal from outside the group. */
  sender?: Member;
  /** What it proposes. */
  kind: ProposalKind;
  /**
   * Whether this member's next Commit includes it. Proposals from outside the
   * group (and ReInits) wait for `Group.acceptProposal`.
   */
  accepted: boolean;
}

/**
 * A Commit to send to the group, the Welcome for new members and the new
 * epoch's GroupInfo (with the ratchet tree, for external joins). Until the
 * Delivery Service accepts the Commit, call `mergeCommit()` (or open its echo)
 * to enter the new epoch; if it refuses, `discardCommit()`.
 */
export interface CommitBundle {
  /** The Commit (an encoded MLSMessage). */
  commit: Uint8Array;
  /** The Welcome for added members, if any were added. */
  welcome?: Uint8Array;
  /** The GroupInfo of the epoch the Commit starts. */
  groupInfo: Uint8Array;
}

/** What a lost Commit was to do; pass it to `Group.retry`. */
export type Intent =
  | { type: "add"; keyPackages: Uint8Array[] }
  | { type: "remove"; members: number[] }
  | { type: "update" }
  | { type: "commitProposals" };

/** What a proposal proposes. */
export type ProposalKind =
  | { type: "add"; identity: Uint8Array }
  | { type: "remove"; index: number }
  | { type: "update" }
  | { type: "other" };

/** What opening a message (or merging an own Commit) came to. */
export type Event =
  /** Application data from an authenticated member. */
  | {
      type: "message";
      /** The sender, as it was in the message's epoch. */
      sender: Member;
      /** The plaintext. */
      data: Uint8Array;
      /** The unencrypted, authenticated data sent along. */
      authenticatedData: Uint8Array;
      /** The epoch it was sent in. */
      epoch: number;
    }
  /** A proposal, kept for the next Commit (see `Group.pendingProposals`). */
  | { type: "proposal"; sender?: Member; kind: ProposalKind; reference: Uint8Array; accepted: boolean }
  /** A Commit started a new epoch. */
  | {
      type: "epochChanged";
      /** The new epoch. */
      epoch: number;
      /** Who committed (absent: a new member joining by external Commit). */
      committer?: Member;
      /** Members added, an external joiner included. */
      added: Member[];
      /** Members removed, as they were. */
      removed: Member[];
      /** Members whose keys were refreshed. */
      updated: Member[];
      /** This member was removed: the group is closed for it. */
      selfRemoved: boolean;
    }
  /** Another member's Commit won the epoch this member's pending Commit was for. */
  | { type: "commitLost"; intent: Intent }
  /** The message is of a future epoch: held, and opened once that epoch begins. */
  | { type: "deferred"; epoch: number }
  /** A held message failed once its epoch began. */
  | { type: "rejected"; error: E2eeError };

/** A group joined by external Commit and the Commit to send to it. */
export interface ExternalJoin {
  /** The group, already in the epoch the Commit starts. */
  group: Group;
  /** The Commit to send to the group. */
  commit: Uint8Array;
}
