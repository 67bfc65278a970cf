//! What the service reads of MLS messages: only the public framing (RFC
//! 9750 §5: the Delivery Service orders and routes, it never decrypts).
//!
//! From a PublicMessage it learns the group, epoch, content type and sender
//! leaf; from a public Commit, which members it adds (by the KeyPackages
//! inline) and removes (by leaf) and which signature keys leaves take on
//! (added KeyPackages, Updates, the committer's path), so it can keep the
//! group's roster — identity and signature key per leaf — that access
//! control rests on. From a PrivateMessage it learns the group, epoch and
//! content type only: the service takes application messages that way,
//! never handshakes, or it could not follow the roster.

use e2ee_core::codec::{VLBytes, decode_exact, encode};
use e2ee_core::crypto::{CipherSuiteProvider, CryptoProvider, RustCryptoProvider};
use e2ee_core::key_package::{key_package_ref, validate_key_package};
use e2ee_core::messages::{
    AuthenticatedContent, Commit, Content, ContentType, Credential, GroupInfo, GroupInfoTbs, KeyPackage, LeafNode,
    MlsMessage, MlsMessageBody, Proposal, ProposalOrRef, ProtocolVersion, PublicMessage, Sender, WireFormat,
};
use e2ee_core::ratchet_tree::{BasicCredentialValidator, LeafValidationContext};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorCode};
use e2ee_core::crypto::Labelled;

/// The longest identity accepted, in bytes.
pub const MAX_IDENTITY_LEN: usize = 128;
/// The longest group id accepted, in bytes.
pub const MAX_GROUP_ID_LEN: usize = 255;
/// The most leaves a group's roster may have.
pub const MAX_ROSTER_LEAVES: usize = 100_000;
/// The label of a GroupInfo's signature (RFC 9420 §12.4.3).
const GROUP_INFO_LABEL: &[u8] = b"GroupInfoTBS";

static PROVIDER: RustCryptoProvider = RustCryptoProvider;

/// The signature scheme of a cipher suite the service supports.
pub fn suite(suite: u16) -> Result<&'static dyn CipherSuiteProvider, ApiError> {
    PROVIDER
        .cipher_suite(e2ee_core::crypto::CipherSuite(suite))
        .map_err(|_| ApiError::bad_request(format!("unsupported cipher suite {suite}")))
}

/// Checks an identity: 1 to [`MAX_IDENTITY_LEN`] bytes of UTF-8 without
/// control characters (identities appear in logs and keys).
pub fn check_identity(identity: &str) -> Result<(), ApiError> {
    if identity.is_empty() || identity.len() > MAX_IDENTITY_LEN || identity.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "an identity is 1 to {MAX_IDENTITY_LEN} bytes of UTF-8 without control characters"
        )));
    }
    Ok(())
}

/// Checks a group id's length.
pub fn check_group_id(group_id: &[u8]) -> Result<(), ApiError> {
    if group_id.is_empty() || group_id.len() > MAX_GROUP_ID_LEN {
        return Err(ApiError::bad_request(format!(
            "a group id is 1 to {MAX_GROUP_ID_LEN} bytes"
        )));
    }
    Ok(())
}

/// The identity of a basic credential, if it is a valid one.
fn credential_identity(credential: &Credential) -> Option<String> {
    match credential {
        Credential::Basic(id) => {
            let id = std::str::from_utf8(id.as_slice()).ok()?;
            check_identity(id).ok()?;
            Some(id.to_owned())
        }
        Credential::X509(_) => None,
    }
}

fn malformed(what: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::MalformedMessage, what)
}

/// Decodes an MLSMessage of version mls10.
pub fn decode_message(bytes: &[u8]) -> Result<MlsMessage, ApiError> {
    let message: MlsMessage = decode_exact(bytes).map_err(|e| malformed(format!("not an MLSMessage: {e}")))?;
    if message.version != ProtocolVersion::MLS10 {
        return Err(malformed("only MLS 1.0 is supported"));
    }
    Ok(message)
}

/// A published KeyPackage: its owner and signature key, checked.
#[derive(Debug)]
pub struct KeyPackageInfo {
    /// The identity of its credential.
    pub identity: String,
    /// Its cipher suite.
    pub cipher_suite: u16,
    /// The leaf's signature key.
    pub signature_key: Vec<u8>,
}

/// Decodes a KeyPackage MLSMessage and verifies its signature.
pub fn inspect_key_package(bytes: &[u8]) -> Result<KeyPackageInfo, ApiError> {
    let MlsMessageBody::KeyPackage(kp) = decode_message(bytes)?.body else {
        return Err(ApiError::new(ErrorCode::InvalidKeyPackage, "not a KeyPackage"));
    };
    check_key_package(&kp, ErrorCode::InvalidKeyPackage)
}

/// Verifies a decoded KeyPackage (signatures, lifetime, credential);
/// refusals carry `code`.
fn check_key_package(kp: &KeyPackage, code: ErrorCode) -> Result<KeyPackageInfo, ApiError> {
    let invalid = |m: &str| ApiError::new(code, m);
    let ctx = LeafValidationContext {
        cs: suite(kp.cipher_suite.0)?,
        group_id: &VLBytes::new(Vec::new()),
        required_capabilities: None,
        now: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs()),
        max_lifetime: None,
        credential_validator: &BasicCredentialValidator,
    };
    validate_key_package(&ctx, kp).map_err(|e| invalid(&format!("invalid KeyPackage: {e}")))?;
    let identity = credential_identity(&kp.leaf_node.credential)
        .ok_or_else(|| invalid("KeyPackage credential is not a basic credential with a valid identity"))?;
    Ok(KeyPackageInfo {
        identity,
        cipher_suite: kp.cipher_suite.0,
        signature_key: kp.leaf_node.signature_key.to_vec(),
    })
}

/// A leaf as the service tracks it: whose it is and the signature key it
/// signs with (the GroupInfo of an epoch is checked against its signer's).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Leaf {
    /// The identity of its basic credential.
    pub identity: String,
    /// Its signature public key.
    #[serde(with = "crate::wire::b64")]
    pub key: Vec<u8>,
}

impl Leaf {
    /// The identity and key of a leaf node, if its credential is a valid
    /// basic one.
    fn of(node: &LeafNode) -> Option<Self> {
        Some(Self {
            identity: credential_identity(&node.credential)?,
            key: node.signature_key.to_vec(),
        })
    }
}

/// Who sent a group message, as far as the framing tells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SenderView {
    /// A member at this leaf (PublicMessage).
    Leaf(u32),
    /// A new member joining by external Commit, with its path's leaf.
    NewMember(Leaf),
    /// Hidden (PrivateMessage).
    Hidden,
}

/// A member added by a KeyPackage, already verified (signatures, lifetime).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Added {
    /// Its leaf.
    pub leaf: Leaf,
    /// The KeyPackage's cipher suite.
    pub cipher_suite: u16,
    /// The KeyPackageRef, which its Welcome names.
    #[serde(with = "crate::wire::b64")]
    pub reference: Vec<u8>,
}

/// What a proposal changes in the roster.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ProposalEffect {
    /// Removes the member at this leaf.
    Remove(u32),
    /// Adds a member.
    Add(Added),
    /// The member at this leaf takes a new leaf node.
    Update(u32, Leaf),
    /// Changes no membership.
    Other,
}

/// The parts of a Commit that change the roster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RosterChange {
    /// Leaves removed.
    pub removes: Vec<u32>,
    /// Members added.
    pub adds: Vec<Added>,
    /// Leaves that take a new leaf node (committed Update proposals).
    pub updates: Vec<(u32, Leaf)>,
    /// ProposalRefs of the proposals committed by reference.
    pub references: Vec<Vec<u8>>,
    /// The committer's new leaf node (the Commit's path), if any.
    pub path: Option<Leaf>,
}

impl RosterChange {
    /// Adds the effects of the proposals committed by reference. The
    /// service sees every proposal (it refuses private ones), so a
    /// reference it does not know is refused, never skipped: skipping
    /// would let its roster drift from the members'.
    pub fn resolve(&mut self, pending: &[(Vec<u8>, ProposalEffect)]) -> Result<(), ApiError> {
        for reference in std::mem::take(&mut self.references) {
            let Some((_, effect)) = pending.iter().find(|(r, _)| *r == reference) else {
                return Err(ApiError::new(
                    ErrorCode::InvalidCommit,
                    "the Commit names a proposal the service has not seen in this epoch",
                ));
            };
            self.push(effect.clone());
        }
        Ok(())
    }

    /// Adds one proposal's effect.
    pub fn push(&mut self, effect: ProposalEffect) {
        match effect {
            ProposalEffect::Remove(leaf) => self.removes.push(leaf),
            ProposalEffect::Add(added) => self.adds.push(added),
            ProposalEffect::Update(leaf, node) => self.updates.push((leaf, node)),
            ProposalEffect::Other => {}
        }
    }
}

/// What a group message is, as the service sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMessage {
    /// The epoch it was sent in.
    pub epoch: u64,
    /// Application, proposal or commit.
    pub content_type: ContentType,
    /// Its sender.
    pub sender: SenderView,
    /// For a public Commit: what it changes in the roster.
    pub change: Option<RosterChange>,
    /// For a public proposal: its AuthenticatedContent (encoded, to compute
    /// its ProposalRef) and what it would change.
    pub proposal: Option<(Vec<u8>, ProposalEffect)>,
}

impl GroupMessage {
    /// Whether it is a Commit.
    pub fn is_commit(&self) -> bool {
        self.content_type == ContentType::Commit
    }
}

/// Reads the framing of a group message posted to `group_id`.
pub fn inspect_group_message(bytes: &[u8], group_id: &[u8]) -> Result<GroupMessage, ApiError> {
    let message = decode_message(bytes)?;
    let (id, view) = match message.body {
        MlsMessageBody::PublicMessage(m) => {
            let proposal = match (&m.content.content, &m.content.sender) {
                (Content::Proposal(p), Sender::Member(leaf)) => Some(public_proposal(&m, p, *leaf)?),
                _ => None,
            };
            let content = m.content;
            let (sender, change) = match (&content.sender, &content.content) {
                (Sender::Member(leaf), Content::Commit(commit)) => {
                    (SenderView::Leaf(*leaf), Some(roster_change(commit)?))
                }
                (Sender::Member(leaf), _) => (SenderView::Leaf(*leaf), None),
                (Sender::NewMemberCommit, Content::Commit(commit)) => {
                    let change = roster_change(commit)?;
                    let joiner = change
                        .path
                        .clone()
                        .ok_or_else(|| malformed("an external Commit needs a path"))?;
                    (SenderView::NewMember(joiner), Some(change))
                }
                _ => {
                    return Err(ApiError::new(
                        ErrorCode::Forbidden,
                        "only members and external joiners may post (no external senders)",
                    ));
                }
            };
            let view = GroupMessage {
                epoch: content.epoch,
                content_type: content.content.content_type(),
                sender,
                change,
                proposal,
            };
            (content.group_id, view)
        }
        MlsMessageBody::PrivateMessage(m) => {
            let view = GroupMessage {
                epoch: m.epoch,
                content_type: m.content_type,
                sender: SenderView::Hidden,
                change: None,
                proposal: None,
            };
            (m.group_id, view)
        }
        _ => return Err(malformed("not a PublicMessage or PrivateMessage")),
    };
    if id.as_slice() != group_id {
        return Err(ApiError::new(
            ErrorCode::WrongGroup,
            "the message belongs to another group",
        ));
    }
    Ok(view)
}

fn roster_change(commit: &Commit) -> Result<RosterChange, ApiError> {
    let mut change = RosterChange::default();
    for p in &commit.proposals {
        match p {
            // An Update is only ever committed by reference (§12.2).
            ProposalOrRef::Proposal(Proposal::Update(_)) => {
                return Err(ApiError::new(
                    ErrorCode::InvalidCommit,
                    "a Commit may not carry an Update by value",
                ));
            }
            ProposalOrRef::Proposal(p) => change.push(effect(p, None)?),
            ProposalOrRef::Reference(r) => change.references.push(r.to_vec()),
        }
    }
    if let Some(path) = &commit.path {
        change.path = Some(leaf_of(&path.leaf_node)?);
    }
    Ok(change)
}

fn leaf_of(node: &LeafNode) -> Result<Leaf, ApiError> {
    Leaf::of(node).ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidCommit,
            "a leaf node's credential is not a basic one with a valid identity",
        )
    })
}

/// What `proposal` changes; `sender` is the proposer's leaf, for an Update.
fn effect(proposal: &Proposal, sender: Option<u32>) -> Result<ProposalEffect, ApiError> {
    Ok(match (proposal, sender) {
        (Proposal::Remove(r), _) => ProposalEffect::Remove(r.removed),
        (Proposal::Add(add), _) => ProposalEffect::Add(added(&add.key_package)?),
        (Proposal::Update(update), Some(leaf)) => ProposalEffect::Update(leaf, leaf_of(&update.leaf_node)?),
        _ => ProposalEffect::Other,
    })
}

/// The AuthenticatedContent a public proposal's ProposalRef is made from
/// (RFC 9420 §5.2), and its effect.
fn public_proposal(m: &PublicMessage, proposal: &Proposal, sender: u32) -> Result<(Vec<u8>, ProposalEffect), ApiError> {
    let content = AuthenticatedContent {
        wire_format: WireFormat::PUBLIC_MESSAGE,
        content: m.content.clone(),
        auth: m.auth.clone(),
    };
    let bytes = encode(&content).map_err(|e| malformed(format!("proposal does not encode: {e}")))?;
    Ok((bytes, effect(proposal, Some(sender))?))
}

/// The ProposalRef of a public proposal, in the group's cipher suite.
pub fn proposal_ref(cipher_suite: u16, authenticated_content: &[u8]) -> Result<Vec<u8>, ApiError> {
    suite(cipher_suite)?
        .make_proposal_ref(authenticated_content)
        .map_err(|_| ApiError::new(ErrorCode::Internal, "hashing failed"))
}

/// An added KeyPackage, verified as an upload is: a Commit must not bring
/// in a member whose KeyPackage its owner never signed.
fn added(kp: &KeyPackage) -> Result<Added, ApiError> {
    let info = check_key_package(kp, ErrorCode::InvalidCommit)?;
    let reference = key_package_ref(suite(kp.cipher_suite.0)?, kp)
        .map_err(|_| ApiError::new(ErrorCode::InvalidCommit, "an added KeyPackage does not encode"))?;
    Ok(Added {
        leaf: Leaf {
            identity: info.identity,
            key: info.signature_key,
        },
        cipher_suite: info.cipher_suite,
        reference,
    })
}

/// The KeyPackageRefs a Welcome is for.
pub fn welcome_recipients(bytes: &[u8]) -> Result<Vec<Vec<u8>>, ApiError> {
    match decode_message(bytes)?.body {
        MlsMessageBody::Welcome(w) => Ok(w.secrets.iter().map(|s| s.new_member.to_vec()).collect()),
        _ => Err(malformed("the welcome is not a Welcome")),
    }
}

/// A decoded GroupInfo MLSMessage.
pub fn group_info(bytes: &[u8]) -> Result<GroupInfo, ApiError> {
    match decode_message(bytes)?.body {
        MlsMessageBody::GroupInfo(gi) => Ok(gi),
        _ => Err(ApiError::new(ErrorCode::InvalidGroupInfo, "not a GroupInfo")),
    }
}

/// Checks that `gi` is of `group` at `epoch` and signed by the leaf that
/// made the epoch (`roster.committer`) with that leaf's key: only the
/// member whose Commit started an epoch speaks for it to joiners.
pub fn check_group_info(
    gi: &GroupInfo,
    group: &[u8],
    epoch: u64,
    roster: &Roster,
    suite_id: u16,
) -> Result<(), ApiError> {
    let invalid = |m: &str| ApiError::new(ErrorCode::InvalidGroupInfo, m);
    if gi.group_context.group_id.as_slice() != group {
        return Err(invalid("the GroupInfo is of another group"));
    }
    if gi.group_context.epoch != epoch {
        return Err(invalid("the GroupInfo is not of the group's current epoch"));
    }
    if gi.signer != roster.committer {
        return Err(invalid(
            "the GroupInfo is not signed by the member whose Commit started the epoch",
        ));
    }
    let key = roster.leaf(gi.signer).map(|l| l.key.as_slice()).unwrap_or_default();
    let tbs = encode(&GroupInfoTbs(gi)).map_err(|_| invalid("the GroupInfo does not encode"))?;
    suite(suite_id)?
        .verify_with_label(key, GROUP_INFO_LABEL, &tbs, gi.signature.as_slice())
        .map_err(|_| invalid("the GroupInfo's signature does not verify with its signer's key"))
}

/// The group's members as the service sees them: the leaf at each index
/// (`None`: blank), kept the way MLS fills and empties leaves (§7.7,
/// §12.3), and the leaf whose Commit started the current epoch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roster {
    /// The leaves, by leaf index.
    pub leaves: Vec<Option<Leaf>>,
    /// The leaf that made the current epoch (the creator's at epoch 0):
    /// the one signer of its GroupInfo.
    pub committer: u32,
}

impl Roster {
    /// A group with its creator at leaf 0.
    pub fn new(creator: Leaf) -> Self {
        Self {
            leaves: vec![Some(creator)],
            committer: 0,
        }
    }

    /// Whether `identity` holds a leaf.
    pub fn contains(&self, identity: &str) -> bool {
        self.leaves.iter().flatten().any(|m| m.identity == identity)
    }

    /// The leaf at `index`, if not blank.
    pub fn leaf(&self, index: u32) -> Option<&Leaf> {
        self.leaves.get(index as usize)?.as_ref()
    }

    /// The identity at `leaf`.
    pub fn at(&self, leaf: u32) -> Option<&str> {
        self.leaf(leaf).map(|l| l.identity.as_str())
    }

    /// The distinct identities, sorted.
    pub fn members(&self) -> Vec<String> {
        let mut members: Vec<String> = self.leaves.iter().flatten().map(|l| l.identity.clone()).collect();
        members.sort();
        members.dedup();
        members
    }

    /// The identities of `self` that `next` no longer holds, sorted.
    pub fn left_in(&self, next: &Roster) -> Vec<String> {
        let kept: std::collections::HashSet<&str> = next.leaves.iter().flatten().map(|l| l.identity.as_str()).collect();
        let mut left: Vec<String> = self
            .leaves
            .iter()
            .flatten()
            .filter(|m| !kept.contains(m.identity.as_str()))
            .map(|l| l.identity.clone())
            .collect();
        left.sort();
        left.dedup();
        left
    }

    /// Applies a Commit sent by the member at `sender`, or by an external
    /// joiner (`None`) whose leaf is the Commit's path: Updates, then
    /// removes, then adds into the leftmost blank leaves (RFC 9420 §12.3),
    /// then the joiner, then the committer's path; trailing blank leaves
    /// are dropped (the tree truncates, §7.8). On error the roster is
    /// unchanged.
    pub fn apply(&mut self, change: &RosterChange, sender: Option<u32>) -> Result<(), ApiError> {
        let mut next = self.clone();
        next.apply_in_place(change, sender)?;
        *self = next;
        Ok(())
    }

    fn apply_in_place(&mut self, change: &RosterChange, sender: Option<u32>) -> Result<(), ApiError> {
        let invalid = |m: &str| ApiError::new(ErrorCode::InvalidCommit, m);
        for (index, node) in &change.updates {
            *self
                .slot(*index)
                .ok_or_else(|| invalid("an Update names a blank leaf"))? = node.clone();
        }
        for &index in &change.removes {
            let slot = self.leaves.get_mut(index as usize).and_then(Option::take);
            slot.ok_or_else(|| invalid("a Remove names a blank leaf"))?;
        }
        for added in &change.adds {
            self.place(added.leaf.clone())?;
        }
        self.committer = match sender {
            Some(index) => index,
            None => self.place(
                change
                    .path
                    .clone()
                    .ok_or_else(|| invalid("an external Commit needs a path"))?,
            )?,
        };
        let committer = self
            .slot(self.committer)
            .ok_or_else(|| invalid("a Commit may not remove its sender"))?;
        if let Some(path) = &change.path {
            *committer = path.clone();
        }
        while matches!(self.leaves.last(), Some(None)) {
            self.leaves.pop();
        }
        Ok(())
    }

    /// The non-blank leaf at `index`, to change.
    fn slot(&mut self, index: u32) -> Option<&mut Leaf> {
        self.leaves.get_mut(index as usize)?.as_mut()
    }

    /// Puts `leaf` into the leftmost blank leaf, or a new one; returns its index.
    fn place(&mut self, leaf: Leaf) -> Result<u32, ApiError> {
        let index = match self.leaves.iter().position(Option::is_none) {
            Some(blank) => blank,
            None if self.leaves.len() < MAX_ROSTER_LEAVES => {
                self.leaves.push(None);
                self.leaves.len() - 1
            }
            None => {
                return Err(ApiError::new(
                    ErrorCode::TooLarge,
                    "the group has the most members allowed",
                ));
            }
        };
        self.leaves[index] = Some(leaf);
        // MAX_ROSTER_LEAVES is far below u32::MAX.
        Ok(index as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(name: &str) -> Leaf {
        Leaf {
            identity: name.to_owned(),
            key: name.as_bytes().to_vec(),
        }
    }

    fn change(removes: &[u32], adds: &[&str]) -> RosterChange {
        RosterChange {
            removes: removes.to_vec(),
            adds: adds
                .iter()
                .map(|a| Added {
                    leaf: leaf(a),
                    cipher_suite: 1,
                    reference: vec![],
                })
                .collect(),
            ..RosterChange::default()
        }
    }

    fn identities(r: &Roster) -> Vec<Option<&str>> {
        r.leaves
            .iter()
            .map(|l| l.as_ref().map(|l| l.identity.as_str()))
            .collect()
    }

    #[test]
    fn roster_follows_mls_leaf_placement() {
        let mut r = Roster::new(leaf("a"));
        r.apply(&change(&[], &["b", "c", "d"]), Some(0)).unwrap();
        r.apply(&change(&[1, 3], &["e"]), Some(0)).unwrap();
        assert_eq!(identities(&r), vec![Some("a"), Some("e"), Some("c")]);
        let mut join = change(&[], &[]);
        join.path = Some(leaf("f"));
        r.apply(&join, None).unwrap();
        assert_eq!((r.at(3), r.committer), (Some("f"), 3));
        assert!(r.apply(&change(&[7], &[]), Some(0)).is_err());
        assert!(r.apply(&change(&[0], &[]), Some(0)).is_err(), "the committer removed");
        assert_eq!(r.members(), vec!["a", "c", "e", "f"]);
    }

    #[test]
    fn updates_and_paths_change_a_leaf_key() {
        let mut r = Roster::new(leaf("a"));
        r.apply(&change(&[], &["b"]), Some(0)).unwrap();
        let mut update = change(&[], &[]);
        update.updates.push((
            1,
            Leaf {
                identity: "b".into(),
                key: vec![9],
            },
        ));
        update.path = Some(Leaf {
            identity: "a".into(),
            key: vec![8],
        });
        r.apply(&update, Some(0)).unwrap();
        assert_eq!(
            (r.leaf(0).unwrap().key.as_slice(), r.leaf(1).unwrap().key.as_slice()),
            (&[8][..], &[9][..])
        );
        assert_eq!(r.committer, 0);
    }

    #[test]
    fn unknown_proposal_references_are_refused() {
        let mut c = RosterChange {
            references: vec![vec![1]],
            ..RosterChange::default()
        };
        assert_eq!(c.clone().resolve(&[]).unwrap_err().code, ErrorCode::InvalidCommit);
        c.resolve(&[(vec![1], ProposalEffect::Remove(2))]).unwrap();
        assert_eq!(c.removes, [2]);
    }

    #[test]
    fn identities_are_checked() {
        assert!(check_identity("alice").is_ok());
        assert!(check_identity("").is_err());
        assert!(check_identity("a\nb").is_err());
        assert!(check_identity(&"x".repeat(MAX_IDENTITY_LEN + 1)).is_err());
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for bytes in [&b""[..], &[0, 1], &[0, 1, 0, 1, 0xff, 0xff, 0xff], &[0; 64]] {
            assert!(inspect_group_message(bytes, b"g").is_err());
            assert!(inspect_key_package(bytes).is_err());
            assert!(welcome_recipients(bytes).is_err());
            assert!(group_info(bytes).is_err());
        }
    }
}
