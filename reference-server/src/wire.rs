//! The JSON shapes of the protocol (docs/server-protocol.md), shared by the
//! server and the client in [`crate::client`]. Every byte string travels as
//! unpadded base64url.

use serde::{Deserialize, Serialize};

/// How much a WebSocket end (server or client) reads per call. tungstenite
/// zero-fills this much of its read buffer before every read (default
/// 128 KiB): with the small frames of a chat, a memset that large takes
/// about 5 % of all CPU in a load run. Larger frames just take a few reads.
pub const WS_READ_BUFFER: usize = 16 * 1024;

/// Serde helpers for `Vec<u8>` as unpadded base64url.
pub mod b64 {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Encodes bytes as unpadded base64url.
    pub fn encode(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Decodes unpadded base64url.
    pub fn decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
        URL_SAFE_NO_PAD.decode(text)
    }

    /// Serializes bytes as base64url.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode(bytes))
    }

    /// Deserializes base64url into bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        decode(&text).map_err(serde::de::Error::custom)
    }

    /// The same for `Option<Vec<u8>>` (absent or null is `None`).
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};

        /// Serializes optional bytes.
        pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
            match bytes {
                Some(b) => super::serialize(b, s),
                None => s.serialize_none(),
            }
        }

        /// Deserializes optional bytes.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
            let text = <Option<std::borrow::Cow<'de, str>>>::deserialize(d)?;
            text.map(|t| super::decode(&t).map_err(serde::de::Error::custom))
                .transpose()
        }
    }

    /// The same for `Vec<Vec<u8>>`.
    pub mod list {
        use serde::{Deserialize, Deserializer, Serializer};

        /// Serializes a list of byte strings.
        pub fn serialize<S: Serializer>(items: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(items.iter().map(|i| super::encode(i)))
        }

        /// Deserializes a list of byte strings.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
            let texts = <Vec<std::borrow::Cow<'de, str>>>::deserialize(d)?;
            texts
                .iter()
                .map(|t| super::decode(t).map_err(serde::de::Error::custom))
                .collect()
        }
    }
}

/// An error as sent in bodies and WebSocket frames.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// The stable code, e.g. `epoch_moved_on`.
    pub code: String,
    /// For people.
    pub message: String,
    /// The group's current epoch (epoch errors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_epoch: Option<u64>,
    /// The oldest position kept (`position_expired`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest: Option<u64>,
}

/// The body of every HTTP error response.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// `POST /v1/auth/challenge` response.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Challenge {
    /// The challenge to sign (base64url of 40 bytes, valid two minutes).
    #[serde(with = "b64")]
    pub challenge: Vec<u8>,
}

/// `POST /v1/auth/login` request: the challenge signed with the key of the
/// identity's credential.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Login {
    /// The identity of the client's basic credential.
    pub identity: String,
    /// The cipher suite of the signature key.
    pub cipher_suite: u16,
    /// The signature public key.
    #[serde(with = "b64")]
    pub signature_key: Vec<u8>,
    /// The challenge received.
    #[serde(with = "b64")]
    pub challenge: Vec<u8>,
    /// `SignWithLabel(key, "e2ee-ds login", challenge || identity)`.
    #[serde(with = "b64")]
    pub signature: Vec<u8>,
}

/// `POST /v1/auth/login` response.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoginToken {
    /// The bearer token for every other request.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// `POST /v1/key-packages` request.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PublishKeyPackages {
    /// KeyPackages (encoded MLSMessages), each claimed at most once.
    #[serde(with = "b64::list", default)]
    pub key_packages: Vec<Vec<u8>>,
    /// A KeyPackage handed out when none is left (replaces the previous).
    #[serde(with = "b64::option", default, skip_serializing_if = "Option::is_none")]
    pub last_resort: Option<Vec<u8>>,
    /// Drop the identity's unclaimed KeyPackages first (their private keys
    /// are gone, e.g. after a reinstall).
    #[serde(default)]
    pub replace: bool,
}

/// `POST /v1/key-packages` response.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Published {
    /// How many single-use KeyPackages the identity has stored now.
    pub stored: usize,
}

/// `POST /v1/key-packages/claim` request.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claim {
    /// Whose KeyPackage.
    pub identity: String,
}

/// `POST /v1/key-packages/claim` response.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claimed {
    /// The KeyPackage (an encoded MLSMessage).
    #[serde(with = "b64")]
    pub key_package: Vec<u8>,
    /// Whether it is the last-resort package (it may be handed out again).
    pub last_resort: bool,
}

/// `POST /v1/groups` request.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CreateGroup {
    /// The MLS group id.
    #[serde(with = "b64")]
    pub group_id: Vec<u8>,
    /// Whether clients that are not members may fetch the GroupInfo and
    /// join by external Commit.
    #[serde(default)]
    pub external_join: bool,
}

/// A message to a group: `POST /v1/groups/{id}/messages` and the WebSocket
/// `send` frame.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Post {
    /// A PublicMessage or PrivateMessage (encoded MLSMessage).
    #[serde(with = "b64")]
    pub message: Vec<u8>,
    /// With a Commit that adds members: their Welcome.
    #[serde(with = "b64::option", default, skip_serializing_if = "Option::is_none")]
    pub welcome: Option<Vec<u8>>,
    /// With a Commit: the GroupInfo of the epoch it starts.
    #[serde(with = "b64::option", default, skip_serializing_if = "Option::is_none")]
    pub group_info: Option<Vec<u8>>,
}

/// A message accepted: its position in the group's log.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Accepted {
    /// Position (1, 2, ...), the same for every member.
    pub position: u64,
}

/// One message of a group's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogMessage {
    /// Its position.
    pub position: u64,
    /// The MLSMessage.
    #[serde(with = "b64")]
    pub message: Vec<u8>,
}

/// `GET /v1/groups/{id}/messages` response.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MessagePage {
    /// Messages after the position asked for, in order.
    pub messages: Vec<LogMessage>,
}

/// `GET /v1/groups/{id}` response.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GroupStatus {
    /// The epoch the service saw last.
    pub epoch: u64,
    /// The members as the service sees them.
    pub members: Vec<String>,
}

/// A Welcome in a client's mailbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxItem {
    /// Its position in the mailbox.
    pub position: u64,
    /// The group it is for.
    #[serde(with = "b64")]
    pub group_id: Vec<u8>,
    /// The position of the Commit that added the client: read the group
    /// from there on.
    pub commit_position: u64,
    /// The Welcome (encoded MLSMessage).
    #[serde(with = "b64")]
    pub welcome: Vec<u8>,
}

/// `GET /v1/mailbox` response.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MailboxPage {
    /// Welcomes after the position asked for.
    pub items: Vec<MailboxItem>,
}

/// `GET /v1/groups/{id}/group-info` response and `PUT` request.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GroupInfoBody {
    /// The GroupInfo (encoded MLSMessage, with the ratchet tree).
    #[serde(with = "b64")]
    pub group_info: Vec<u8>,
}

/// A frame from client to server on the WebSocket.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Push the group's messages after `after`, then live.
    Subscribe {
        /// The group.
        #[serde(with = "b64")]
        group: Vec<u8>,
        /// The last position the client has.
        #[serde(default)]
        after: u64,
    },
    /// Push the mailbox's Welcomes after `after`, then live.
    SubscribeMailbox {
        /// The last mailbox position the client has.
        #[serde(default)]
        after: u64,
    },
    /// Stop pushing a group.
    Unsubscribe {
        /// The group.
        #[serde(with = "b64")]
        group: Vec<u8>,
    },
    /// Post a message (as `POST /v1/groups/{id}/messages`).
    Send {
        /// Echoed in the answer.
        id: u64,
        /// The group.
        #[serde(with = "b64")]
        group: Vec<u8>,
        /// The message and, with a Commit, Welcome and GroupInfo.
        #[serde(flatten)]
        post: Post,
    },
}

/// A frame from server to client on the WebSocket.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// A message of a subscribed group.
    Message {
        /// The group.
        #[serde(with = "b64")]
        group: Vec<u8>,
        /// Its position.
        position: u64,
        /// The MLSMessage.
        #[serde(with = "b64")]
        message: Vec<u8>,
    },
    /// A Welcome from the mailbox.
    Welcome(MailboxItem),
    /// A subscription is live.
    Subscribed {
        /// The group, absent for the mailbox.
        #[serde(with = "b64::option", default, skip_serializing_if = "Option::is_none")]
        group: Option<Vec<u8>>,
    },
    /// A subscription ended (the client left the group, or an error).
    Unsubscribed {
        /// The group.
        #[serde(with = "b64")]
        group: Vec<u8>,
        /// Why.
        error: ErrorDetail,
    },
    /// A `send` was accepted.
    Accepted {
        /// The `id` of the `send`.
        id: u64,
        /// The message's position.
        position: u64,
    },
    /// A frame was refused.
    Error {
        /// The `id` of the `send`, if it was one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        /// Why.
        error: ErrorDetail,
    },
}

/// Appends one record of a binary push frame (`?framing=binary` on the
/// WebSocket): the group id's length (u16, big-endian), the group id, the
/// position (u64), the message's length (u32) and the message. A binary
/// frame holds one or more records, in log order.
pub fn push_record(out: &mut Vec<u8>, group: &[u8], position: u64, message: &[u8]) {
    // Group ids are at most 255 bytes here (`inspect` refuses longer ones)
    // and messages are limited far below 4 GiB, so the casts never cut.
    out.extend_from_slice(&(group.len() as u16).to_be_bytes());
    out.extend_from_slice(group);
    out.extend_from_slice(&position.to_be_bytes());
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
}

/// The records of a binary push frame as `message` frames, or `None` if it
/// is malformed.
pub fn parse_records(mut frame: &[u8]) -> Option<Vec<ServerFrame>> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, rest) = bytes.split_at_checked(n)?;
        *bytes = rest;
        Some(head)
    }
    let mut frames = Vec::new();
    while !frame.is_empty() {
        let group_len = u16::from_be_bytes(take(&mut frame, 2)?.try_into().ok()?);
        let group = take(&mut frame, group_len.into())?.to_vec();
        let position = u64::from_be_bytes(take(&mut frame, 8)?.try_into().ok()?);
        let message_len = u32::from_be_bytes(take(&mut frame, 4)?.try_into().ok()?);
        let message = take(&mut frame, usize::try_from(message_len).ok()?)?.to_vec();
        frames.push(ServerFrame::Message {
            group,
            position,
            message,
        });
    }
    Some(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_records_parse_back_in_order() {
        let mut frame = Vec::new();
        push_record(&mut frame, b"group-a", 7, b"first");
        push_record(&mut frame, b"g", u64::MAX, b"");
        let parsed = parse_records(&frame).unwrap();
        assert_eq!(parsed.len(), 2);
        assert!(
            matches!(&parsed[0], ServerFrame::Message { group, position: 7, message }
            if group == b"group-a" && message == b"first")
        );
        assert!(
            matches!(&parsed[1], ServerFrame::Message { group, position: u64::MAX, message }
            if group == b"g" && message.is_empty())
        );
    }

    #[test]
    fn truncated_records_are_refused() {
        let mut frame = Vec::new();
        push_record(&mut frame, b"group", 1, b"message");
        for cut in 1..frame.len() {
            assert!(parse_records(&frame[..cut]).is_none(), "cut at {cut}");
        }
    }
}
