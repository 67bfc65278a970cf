//! The requests of the protocol, one JSON object per line, as serde types.
//!
//! Field names and defaults follow the protocol table in the README; serde
//! reports a missing or mistyped field, an unknown `cmd` and bad hex.

use serde::de::{Deserialize, Deserializer, Error as _};

/// Bytes written as a hex string (either case accepted, lowercase sent).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hex(pub Vec<u8>);

impl<'de> Deserialize<'de> for Hex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        hex::decode(&text)
            .map(Hex)
            .map_err(|e| D::Error::custom(format_args!("bad hex: {e}")))
    }
}

/// The wire format of the handshake messages a client sends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Handshake {
    /// PublicMessage.
    #[default]
    Public,
    /// PrivateMessage.
    Private,
}

/// One request line; `cmd` names the variant.
#[derive(Debug, serde::Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    /// Creates a client named `name`.
    NewClient {
        /// The client's name in later requests.
        name: String,
        /// The basic credential's identity; the UTF-8 of `name` if absent.
        identity: Option<Hex>,
        /// The cipher suite; 1 if absent.
        suite: Option<u16>,
        /// How its handshake messages are sent; public if absent.
        handshake: Option<Handshake>,
    },
    /// A fresh KeyPackage of the client.
    KeyPackage {
        /// The client.
        name: String,
    },
    /// A new group with the client as its only member.
    CreateGroup {
        /// The client.
        name: String,
        /// The new group's id.
        group_id: Hex,
    },
    /// Adds the owners of KeyPackages by one Commit.
    Add {
        /// The committing client.
        name: String,
        /// The group.
        group_id: Hex,
        /// The KeyPackages (`MLSMessage`s).
        key_packages: Vec<Hex>,
        /// Whether the Commit carries an UpdatePath.
        #[serde(default)]
        path: bool,
    },
    /// A self-update: a Commit with an UpdatePath.
    Update {
        /// The committing client.
        name: String,
        /// The group.
        group_id: Hex,
    },
    /// Removes every member with one of `identities` by one Commit.
    Remove {
        /// The committing client.
        name: String,
        /// The group.
        group_id: Hex,
        /// The identities of the members to remove.
        identities: Vec<Hex>,
    },
    /// Joins a group from a Welcome.
    Join {
        /// The joining client.
        name: String,
        /// The Welcome (`MLSMessage`).
        welcome: Hex,
    },
    /// Joins a group by external Commit.
    ExternalJoin {
        /// The joining client.
        name: String,
        /// The GroupInfo (`MLSMessage`).
        group_info: Hex,
    },
    /// The group's current GroupInfo.
    GroupInfo {
        /// The client.
        name: String,
        /// The group.
        group_id: Hex,
    },
    /// Seals application data.
    Seal {
        /// The sending client.
        name: String,
        /// The group.
        group_id: Hex,
        /// The plaintext.
        data: Hex,
        /// Authenticated data sent in the clear; empty if absent.
        #[serde(default)]
        aad: Hex,
    },
    /// Processes a received message.
    Process {
        /// The receiving client.
        name: String,
        /// The group.
        group_id: Hex,
        /// The message (`MLSMessage`).
        message: Hex,
    },
    /// The current epoch and its authenticator.
    EpochAuthenticator {
        /// The client.
        name: String,
        /// The group.
        group_id: Hex,
    },
    /// The members in leaf order.
    Members {
        /// The client.
        name: String,
        /// The group.
        group_id: Hex,
    },
    /// `MLS-Exporter(label, context, length)` of the current epoch.
    ExportSecret {
        /// The client.
        name: String,
        /// The group.
        group_id: Hex,
        /// The label, as its UTF-8 bytes.
        label: String,
        /// The context.
        context: Hex,
        /// The secret's length in bytes.
        length: u16,
    },
}
