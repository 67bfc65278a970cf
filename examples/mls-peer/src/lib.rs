//! A scriptable MLS peer: named clients and their groups, driven by one JSON
//! request per line, answered by one JSON reply per line (protocol in the
//! crate's README). It only maps requests onto `e2ee_core::client`; all MLS
//! logic stays in the library.

#![forbid(unsafe_code)]

mod request;

use std::collections::BTreeMap;
use std::fmt;

use e2ee_core::Error;
use e2ee_core::client::{Client, CommitBundle, Event, ExternalJoins, Group, GroupOptions, HandshakeFormat, Member};
use serde_json::{Value, json};

use request::{Handshake, Hex, Request};

/// Why a request failed: a stable code (the library's for MLS errors) and
/// a sentence, sent as `"code: sentence"`.
#[derive(Debug)]
struct Failure {
    code: &'static str,
    detail: String,
}

impl Failure {
    fn new(code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self::new(e.code(), e.to_string())
    }
}

/// The fields of a reply, sent in this order (serde_json's own map would
/// sort them unless its `preserve_order` feature were switched on for the
/// whole workspace).
#[derive(Default)]
struct Fields(Vec<(&'static str, Value)>);

impl serde::Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// One client and its groups by group id.
struct Named {
    client: Client,
    groups: BTreeMap<Vec<u8>, Group>,
}

impl Named {
    /// Keeps `group` under its id. A group of the same id may be replaced
    /// only once this client is no longer in it (it was removed and
    /// rejoins), so a script cannot silently lose a live group.
    fn adopt(&mut self, group: Group) -> Result<Vec<u8>, Failure> {
        let id = group.id().to_vec();
        if self.groups.get(&id).is_some_and(Group::is_active) {
            return Err(Failure::new(
                "group_exists",
                format!("the client is in group {} already", hex::encode(&id)),
            ));
        }
        self.groups.insert(id.clone(), group);
        Ok(id)
    }
}

/// The peer's state: clients by name.
#[derive(Default)]
pub struct Peer {
    clients: BTreeMap<String, Named>,
}

impl Peer {
    /// A peer without clients.
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers one input line (without or with its line end): the reply
    /// line without line end, or `None` for a blank line. Never panics;
    /// every failure is an `{"ok":false,"error":...}` reply.
    pub fn handle_line(&mut self, line: &[u8]) -> Option<String> {
        let reply = match std::str::from_utf8(line) {
            Ok(text) if text.trim().is_empty() => return None,
            Ok(text) => parse(text).and_then(|request| self.handle(request)),
            Err(e) => Err(Failure::new("bad_request", format!("the line is not UTF-8: {e}"))),
        };
        let reply = match reply {
            Ok(mut fields) => {
                fields.0.insert(0, ("ok", true.into()));
                fields
            }
            Err(failure) => fields([("ok", false.into()), ("error", failure.to_string().into())]),
        };
        // Serializing strings, numbers and arrays cannot fail; still no panic.
        let line = serde_json::to_string(&reply)
            .unwrap_or_else(|e| json!({ "ok": false, "error": format!("internal: {e}") }).to_string());
        Some(line)
    }

    fn handle(&mut self, request: Request) -> Result<Fields, Failure> {
        match request {
            Request::NewClient {
                name,
                identity,
                suite,
                handshake,
            } => {
                if self.clients.contains_key(&name) {
                    return Err(Failure::new("client_exists", format!("a client named {name:?} exists")));
                }
                let identity = identity.map_or_else(|| name.as_bytes().to_vec(), |h| h.0);
                let mut client = Client::new(suite.unwrap_or(1), &identity)?;
                client.set_group_options(options(handshake.unwrap_or_default()))?;
                let groups = BTreeMap::new();
                self.clients.insert(name, Named { client, groups });
                Ok(Fields::default())
            }
            Request::KeyPackage { name } => {
                let key_package = self.client(&name)?.client.key_package()?;
                Ok(fields([("key_package", hex(&key_package))]))
            }
            Request::CreateGroup { name, group_id } => {
                let named = self.client(&name)?;
                let group = named.client.create_group_with_id(&group_id.0)?;
                named.adopt(group)?;
                Ok(Fields::default())
            }
            Request::Add {
                name,
                group_id,
                key_packages,
                path,
            } => {
                non_empty("key_packages", &key_packages)?;
                let key_packages: Vec<Vec<u8>> = key_packages.into_iter().map(|h| h.0).collect();
                let group = self.group(&name, &group_id)?;
                let bundle = commit_now(group, |g| g.add_with_path(&key_packages, path))?;
                let welcome = bundle.welcome.as_deref().map_or(Value::Null, hex);
                Ok(fields([("commit", hex(&bundle.commit)), ("welcome", welcome)]))
            }
            Request::Update { name, group_id } => {
                let bundle = commit_now(self.group(&name, &group_id)?, Group::update)?;
                Ok(fields([("commit", hex(&bundle.commit))]))
            }
            Request::Remove {
                name,
                group_id,
                identities,
            } => {
                non_empty("identities", &identities)?;
                let group = self.group(&name, &group_id)?;
                let leaves = leaves_of(group, &identities)?;
                let bundle = commit_now(group, |g| g.remove(&leaves))?;
                Ok(fields([("commit", hex(&bundle.commit))]))
            }
            Request::Join { name, welcome } => {
                let named = self.client(&name)?;
                let group = named.client.join(&welcome.0)?;
                let id = named.adopt(group)?;
                Ok(fields([("group_id", hex(&id))]))
            }
            Request::ExternalJoin { name, group_info } => {
                let named = self.client(&name)?;
                let (group, commit) = named.client.join_external(&group_info.0)?;
                let id = named.adopt(group)?;
                Ok(fields([("group_id", hex(&id)), ("commit", hex(&commit))]))
            }
            Request::GroupInfo { name, group_id } => {
                let group_info = self.group(&name, &group_id)?.group_info()?;
                Ok(fields([("group_info", hex(&group_info))]))
            }
            Request::Seal {
                name,
                group_id,
                data,
                aad,
            } => {
                let message = self.group(&name, &group_id)?.seal(&data.0, &aad.0)?;
                Ok(fields([("message", hex(&message))]))
            }
            Request::Process {
                name,
                group_id,
                message,
            } => {
                let events = self.group(&name, &group_id)?.open(&message.0)?;
                processed(&events)
            }
            Request::EpochAuthenticator { name, group_id } => {
                let group = self.group(&name, &group_id)?;
                let authenticator = hex(&group.epoch_authenticator()?);
                Ok(fields([
                    ("epoch", group.epoch().into()),
                    ("authenticator", authenticator),
                ]))
            }
            Request::Members { name, group_id } => {
                let members = self.group(&name, &group_id)?.members();
                let members = members
                    .iter()
                    .map(|m| json!({ "index": m.index, "identity": hex(&m.identity) }))
                    .collect();
                Ok(fields([("members", Value::Array(members))]))
            }
            Request::ExportSecret {
                name,
                group_id,
                label,
                context,
                length,
            } => {
                let group = self.group(&name, &group_id)?;
                let secret = group.export_secret(label.as_bytes(), &context.0, length)?;
                Ok(fields([("secret", hex(&secret))]))
            }
        }
    }

    fn client(&mut self, name: &str) -> Result<&mut Named, Failure> {
        self.clients
            .get_mut(name)
            .ok_or_else(|| Failure::new("unknown_client", format!("no client named {name:?}")))
    }

    fn group(&mut self, name: &str, group_id: &Hex) -> Result<&mut Group, Failure> {
        self.client(name)?.groups.get_mut(&group_id.0).ok_or_else(|| {
            let detail = format!("client {name:?} has no group {}", hex::encode(&group_id.0));
            Failure::new("unknown_group", detail)
        })
    }
}

/// The request on a line. Broken JSON (`bad_json`) is told apart from
/// well-formed JSON that is no valid request (`bad_request`).
fn parse(text: &str) -> Result<Request, Failure> {
    serde_json::from_str(text).map_err(|e| {
        let code = if e.is_syntax() || e.is_eof() {
            "bad_json"
        } else {
            "bad_request"
        };
        Failure::new(code, e.to_string())
    })
}

/// Group options for a client: the handshake wire format, and no holding of
/// messages of future epochs. Holding would let one `process` release the
/// events of earlier ones, which a one-reply-per-request protocol cannot
/// express; such a message is refused instead (`future_epoch`).
fn options(handshake: Handshake) -> GroupOptions {
    GroupOptions {
        handshake_wire_format: match handshake {
            Handshake::Public => HandshakeFormat::Public,
            Handshake::Private => HandshakeFormat::Private,
        },
        max_buffered: 0,
        // A driver for interop tests: the test decides who joins, by
        // external Commit too.
        external_joins: ExternalJoins::Allow,
        ..GroupOptions::default()
    }
}

/// Makes a Commit and merges it at once: the peer's own Commits are never
/// fed back to it. A Commit that cannot be merged is dropped, so the group
/// can commit again.
fn commit_now(
    group: &mut Group,
    make: impl FnOnce(&mut Group) -> Result<CommitBundle, Error>,
) -> Result<CommitBundle, Failure> {
    let bundle = make(group)?;
    if let Err(e) = group.merge_commit() {
        group.discard_commit();
        return Err(e.into());
    }
    Ok(bundle)
}

/// The leaves of the members with these identities (every leaf of an
/// identity that has several). An identity without a member is an error.
fn leaves_of(group: &Group, identities: &[Hex]) -> Result<Vec<u32>, Failure> {
    let members = group.members();
    let mut leaves = Vec::new();
    for identity in identities {
        let before = leaves.len();
        leaves.extend(members.iter().filter(|m| m.identity == identity.0).map(|m| m.index));
        if leaves.len() == before {
            let detail = format!("no member has identity {}", hex::encode(&identity.0));
            return Err(Failure::new("unknown_member", detail));
        }
    }
    leaves.sort_unstable();
    leaves.dedup();
    Ok(leaves)
}

/// The reply to `process`. The peer leaves no Commit pending and holds no
/// messages, so opening yields one message, one proposal, or one epoch
/// change (after which a lost own Commit could only precede it).
fn processed(events: &[Event]) -> Result<Fields, Failure> {
    match events {
        [
            Event::Message {
                sender,
                data,
                authenticated_data,
                ..
            },
        ] => Ok(fields([
            ("kind", "application".into()),
            ("data", hex(data)),
            ("sender_identity", hex(&sender.identity)),
            ("aad", hex(authenticated_data)),
        ])),
        [Event::Proposal { sender, .. }] => Ok(fields([
            ("kind", "proposal".into()),
            ("sender_identity", identity(sender.as_ref())),
        ])),
        [
            ..,
            Event::EpochChanged {
                epoch,
                committer,
                added,
                removed,
                self_removed,
                ..
            },
        ] => {
            // An external Commit has no committing member: its joiner, the
            // only one it adds, sent it.
            let sender = committer.as_ref().or(added.first());
            Ok(fields([
                ("kind", "commit".into()),
                ("epoch", (*epoch).into()),
                ("added", identities(added)),
                ("removed", identities(removed)),
                ("self_removed", (*self_removed).into()),
                ("sender_identity", identity(sender)),
            ]))
        }
        other => Err(Failure::new("unexpected_events", format!("{other:?}"))),
    }
}

fn non_empty<T>(field: &str, list: &[T]) -> Result<(), Failure> {
    if list.is_empty() {
        return Err(Failure::new("bad_request", format!("`{field}` is empty")));
    }
    Ok(())
}

fn fields<const N: usize>(pairs: [(&'static str, Value); N]) -> Fields {
    Fields(pairs.into())
}

fn hex(bytes: &[u8]) -> Value {
    hex::encode(bytes).into()
}

/// A member's identity, or `null` for a sender that is no member.
fn identity(member: Option<&Member>) -> Value {
    member.map_or(Value::Null, |m| hex(&m.identity))
}

fn identities(members: &[Member]) -> Value {
    members.iter().map(|m| hex(&m.identity)).collect()
}
