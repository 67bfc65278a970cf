//! What the service reads of MLS messages: only the public framing (RFC
//! 9750 §5: the Delivery Service orders and routes, it never decrypts).
//!
//! From a PublicMessage it learns the group, epoch, content type and sender
//! leaf; from a public Commit, which members it adds (by the KeyPackages
//! inline) and removes (by leaf), so it can keep the group's roster —
//! identity per leaf — that access control rests on. From a
//! PrivateMessage it learns the group, epoch and content type only.

use e2ee_core::codec::VLBytes;
use e2ee_core::codec::decode_exact;
use e2ee_core::crypto::{CipherSuiteProvider, CryptoProvider, RustCryptoProvider};
use e2ee_core::key_package::{key_package_ref, validate_key_package};
use e2ee_core::messages::{
    AuthenticatedContent, Commit, Content, ContentType, Credential, KeyPackage, MlsMessage, MlsMessageBody, Proposal,
    ProposalOrRef, ProtocolVersion, PublicMessage, Sender, WireFormat,
};
use e2ee_core::ratchet_tree::{BasicCredentialValidator, LeafValidationContext};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorCode};

/// The longest identity accepted, in bytes.
pub const MAX_IDENTITY_LEN: usize = 128;
/// The longest group id accepted, in bytes.
pub const MAX_GROUP_ID_LEN: usize = 255;
/// The most leaves a group's roster may have.
pub const MAX_ROSTER_LEAVES: usize = 100_000;

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
    let invalid = |m: &str| ApiError::new(ErrorCode::InvalidKeyPackage, m);
    let MlsMessageBody::KeyPackage(kp) = decode_message(bytes)?.body else {
        return Err(invalid("not a KeyPackage"));
    };
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
    validate_key_package(&ctx, &kp).map_err(|e| invalid(&format!("invalid KeyPackage: {e}")))?;
    let identity = credential_identity(&kp.leaf_node.credential)
        .ok_or_else(|| invalid("KeyPackage credential is not a basic credential with a valid identity"))?;
    Ok(KeyPackageInfo {
        identity,
        cipher_suite: kp.cipher_suite.0,
        signature_key: kp.leaf_node.signature_key.to_vec(),
    })
}

/// Who sent a group message, as far as the framing tells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SenderView {
    /// A member at this leaf (PublicMessage).
    Leaf(u32),
    /// A new member joining by external Commit, with its identity.
    NewMember(String),
    /// Hidden (PrivateMessage).
    Hidden,
}

/// What a proposal changes in the roster.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ProposalEffect {
    /// Removes the member at this leaf.
    Remove(u32),
    /// Adds this identity, with its KeyPackageRef.
    Add(String, Vec<u8>),
    /// Changes no membership.
    Other,
}

/// The parts of a Commit that change the roster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RosterChange {
    /// Leaves removed.
    pub removes: Vec<u32>,
    /// Identities added, with the KeyPackageRef of each.
    pub adds: Vec<(String, Vec<u8>)>,
    /// ProposalRefs of the proposals committed by reference.
    pub references: Vec<Vec<u8>>,
}

impl RosterChange {
    /// Adds the effects of the proposals committed by reference that the
    /// service saw (public proposals of the epoch); others (private ones)
    /// it cannot know and leaves out.
    pub fn resolve(&mut self, pending: &[(Vec<u8>, ProposalEffect)]) {
        for reference in &self.references {
            match pending.iter().find(|(r, _)| r == reference).map(|(_, e)| e) {
                Some(ProposalEffect::Remove(leaf)) => self.removes.push(*leaf),
                Some(ProposalEffect::Add(identity, kp_ref)) => self.adds.push((identity.clone(), kp_ref.clone())),
                Some(ProposalEffect::Other) | None => {}
            }
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
            let proposal = match &m.content.content {
                Content::Proposal(p) => Some(public_proposal(&m, p)?),
                _ => None,
            };
            let content = m.content;
            let (sender, change) = match (&content.sender, &content.content) {
                (Sender::Member(leaf), Content::Commit(commit)) => {
                    (SenderView::Leaf(*leaf), Some(roster_change(commit)?))
                }
                (Sender::Member(leaf), _) => (SenderView::Leaf(*leaf), None),
                (Sender::NewMemberCommit, Content::Commit(commit)) => {
                    let leaf = commit
                        .path
                        .as_ref()
                        .ok_or_else(|| malformed("an external Commit needs a path"))?;
                    let identity = credential_identity(&leaf.leaf_node.credential)
                        .ok_or_else(|| malformed("the joiner's credential is not a basic one with a valid identity"))?;
                    (SenderView::NewMember(identity), Some(roster_change(commit)?))
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
            ProposalOrRef::Proposal(p) => match effect(p)? {
                ProposalEffect::Remove(leaf) => change.removes.push(leaf),
                ProposalEffect::Add(identity, kp_ref) => change.adds.push((identity, kp_ref)),
                ProposalEffect::Other => {}
            },
            ProposalOrRef::Reference(r) => change.references.push(r.to_vec()),
        }
    }
    Ok(change)
}

fn effect(proposal: &Proposal) -> Result<ProposalEffect, ApiError> {
    Ok(match proposal {
        Proposal::Remove(r) => ProposalEffect::Remove(r.removed),
        Proposal::Add(add) => {
            let (identity, kp_ref) = added(&add.key_package)?;
            ProposalEffect::Add(identity, kp_ref)
        }
        _ => ProposalEffect::Other,
    })
}

/// The AuthenticatedContent a public proposal's ProposalRef is made from
/// (RFC 9420 §5.2), and its effect.
fn public_proposal(m: &PublicMessage, proposal: &Proposal) -> Result<(Vec<u8>, ProposalEffect), ApiError> {
    let content = AuthenticatedContent {
        wire_format: WireFormat::PUBLIC_MESSAGE,
        content: m.content.clone(),
        auth: m.auth.clone(),
    };
    let bytes = e2ee_core::codec::encode(&content).map_err(|e| malformed(format!("proposal does not encode: {e}")))?;
    Ok((bytes, effect(proposal)?))
}

/// The ProposalRef of a public proposal, in the group's cipher suite.
pub fn proposal_ref(cipher_suite: u16, authenticated_content: &[u8]) -> Result<Vec<u8>, ApiError> {
    suite(cipher_suite)?
        .make_proposal_ref(authenticated_content)
        .map_err(|_| ApiError::new(ErrorCode::Internal, "hashing failed"))
}

fn added(kp: &KeyPackage) -> Result<(String, Vec<u8>), ApiError> {
    let identity = credential_identity(&kp.leaf_node.credential).ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidCommit,
            "an added credential is not a basic one with a valid identity",
        )
    })?;
    let reference = key_package_ref(suite(kp.cipher_suite.0)?, kp)
        .map_err(|_| ApiError::new(ErrorCode::InvalidCommit, "an added KeyPackage does not encode"))?;
    Ok((identity, reference))
}

/// The KeyPackageRefs a Welcome is for.
pub fn welcome_recipients(bytes: &[u8]) -> Result<Vec<Vec<u8>>, ApiError> {
    match decode_message(bytes)?.body {
        MlsMessageBody::Welcome(w) => Ok(w.secrets.iter().map(|s| s.new_member.to_vec()).collect()),
        _ => Err(malformed("the welcome is not a Welcome")),
    }
}

/// The group id and epoch of a GroupInfo MLSMessage.
pub fn group_info_epoch(bytes: &[u8]) -> Result<(Vec<u8>, u64), ApiError> {
    match decode_message(bytes)?.body {
        MlsMessageBody::GroupInfo(gi) => Ok((gi.group_context.group_id.to_vec(), gi.group_context.epoch)),
        _ => Err(ApiError::new(ErrorCode::InvalidGroupInfo, "not a GroupInfo")),
    }
}

/// The group's members as the service sees them: the identity at each leaf
/// (`None`: blank), kept the way MLS fills and empties leaves (§7.7, §12.3).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roster(pub Vec<Option<String>>);

impl Roster {
    /// A group with its creator at leaf 0.
    pub fn new(creator: &str) -> Self {
        Self(vec![Some(creator.to_owned())])
    }

    /// Whether `identity` holds a leaf.
    pub fn contains(&self, identity: &str) -> bool {
        self.0.iter().flatten().any(|m| m == identity)
    }

    /// The identity at `leaf`.
    pub fn at(&self, leaf: u32) -> Option<&str> {
        self.0.get(leaf as usize)?.as_deref()
    }

    /// The distinct identities, sorted.
    pub fn members(&self) -> Vec<String> {
        let mut members: Vec<String> = self.0.iter().flatten().cloned().collect();
        members.sort();
        members.dedup();
        members
    }

    /// The identities of `self` that `next` no longer holds, sorted.
    pub fn left_in(&self, next: &Roster) -> Vec<String> {
        let kept: std::collections::HashSet<&str> = next.0.iter().flatten().map(String::as_str).collect();
        let mut left: Vec<String> = self
            .0
            .iter()
            .flatten()
            .filter(|m| !kept.contains(m.as_str()))
            .cloned()
            .collect();
        left.sort();
        left.dedup();
        left
    }

    /// Applies a Commit: removes first, then adds into the leftmost blank
    /// leaves (RFC 9420 §12.3), then the external joiner; trailing blank
    /// leaves are dropped (the tree truncates, §7.8). On error the roster
    /// is unchanged.
    pub fn apply(&mut self, change: &RosterChange, joiner: Option<&str>) -> Result<(), ApiError> {
        let mut next = self.clone();
        next.apply_in_place(change, joiner)?;
        *self = next;
        Ok(())
    }

    fn apply_in_place(&mut self, change: &RosterChange, joiner: Option<&str>) -> Result<(), ApiError> {
        let invalid = |m: &str| ApiError::new(ErrorCode::InvalidCommit, m);
        for &leaf in &change.removes {
            let slot = self
                .0
                .get_mut(leaf as usize)
                .ok_or_else(|| invalid("a Remove names a blank leaf"))?;
            if slot.take().is_none() {
                return Err(invalid("a Remove names a blank leaf"));
            }
        }
        let adds = change.adds.iter().map(|(identity, _)| identity.as_str());
        for identity in adds.chain(joiner) {
            match self.0.iter().position(Option::is_none) {
                Some(blank) => self.0[blank] = Some(identity.to_owned()),
                None if self.0.len() < MAX_ROSTER_LEAVES => self.0.push(Some(identity.to_owned())),
                None => {
                    return Err(ApiError::new(
                        ErrorCode::TooLarge,
                        "the group has the most members allowed",
                    ));
                }
            }
        }
        while matches!(self.0.last(), Some(None)) {
            self.0.pop();
        }
        if self.0.is_empty() {
            return Err(invalid("a Commit may not remove every member"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(removes: &[u32], adds: &[&str]) -> RosterChange {
        RosterChange {
            removes: removes.to_vec(),
            adds: adds.iter().map(|a| (a.to_string(), vec![])).collect(),
            references: vec![],
        }
    }

    #[test]
    fn roster_follows_mls_leaf_placement() {
        let mut r = Roster::new("a");
        r.apply(&change(&[], &["b", "c", "d"]), None).unwrap();
        r.apply(&change(&[1, 3], &["e"]), None).unwrap();
        assert_eq!(r.0, vec![Some("a".into()), Some("e".into()), Some("c".into())]);
        r.apply(&change(&[], &[]), Some("f")).unwrap();
        assert_eq!(r.at(3), Some("f"));
        assert!(r.apply(&change(&[7], &[]), None).is_err());
        assert!(r.apply(&change(&[0, 1, 2, 3], &[]), None).is_err());
        assert_eq!(r.members(), vec!["a", "c", "e", "f"]);
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
            assert!(group_info_epoch(bytes).is_err());
        }
    }
}
