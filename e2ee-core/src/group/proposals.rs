//! Proposal-list validation (RFC 9420 §12.2) and application (§12.3).
//!
//! [`apply_proposals`] checks a Commit's proposals one by one (§12.1) and as
//! a list, for regular and external Commits, and applies them to a ratchet
//! tree in the order §12.3 fixes. The Commit's path, the key schedule and
//! the message-level checks (signatures, that an `external` sender is listed
//! in `external_senders`) are the caller's.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use crate::crypto::CipherSuiteProvider;
use crate::error::{Error, Refusal};
use crate::key_package::validate_key_package;
use crate::messages::{
    Extension, ExtensionType, GroupContext, KeyPackage, LeafNode, PreSharedKeyId, Proposal, ProposalRef, ProposalType,
    Psk, ReInit, RequiredCapabilities, ResumptionPskUsage, Sender,
};
use crate::ratchet_tree::leaf::{check_required_capabilities, supports_extension};
use crate::ratchet_tree::{CredentialValidator, LeafValidationContext, RatchetTree};
use crate::tree_math::LeafIndex;

/// One proposal of a Commit, with who proposed it.
#[derive(Clone, Debug)]
pub struct CommittedProposal {
    /// The proposal.
    pub proposal: Proposal,
    /// Its sender: the committer for proposals by value, the original
    /// sender for proposals by reference.
    pub sender: Sender,
    /// Its reference, for proposals committed by reference.
    pub reference: Option<ProposalRef>,
}

/// Who sent the Commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Committer {
    /// A member at this leaf.
    Member(LeafIndex),
    /// A new member joining by external Commit (§12.4.3.2).
    External,
}

/// What validation needs besides the proposals and the tree.
#[derive(Clone, Copy)]
pub struct ProposalContext<'a> {
    /// The group's cipher suite.
    pub cs: &'a dyn CipherSuiteProvider,
    /// The GroupContext of the epoch the Commit is in.
    pub group_context: &'a GroupContext,
    /// The Authentication Service hook.
    pub credential_validator: &'a dyn CredentialValidator,
    /// The current time (seconds since the Unix epoch), for KeyPackage
    /// lifetimes; `None` skips lifetime checks.
    pub now: Option<u64>,
}

impl<'a> ProposalContext<'a> {
    /// The context of a Commit in the epoch of `group_context`.
    pub fn new(env: &super::Environment<'a>, group_context: &'a GroupContext) -> Self {
        Self {
            cs: env.cs,
            group_context,
            credential_validator: env.credential_validator,
            now: env.now,
        }
    }
}

/// The effect of a validated proposal list on the group.
#[derive(Clone, Debug, Default)]
pub struct AppliedProposals {
    /// The new GroupContext extensions, from a GroupContextExtensions proposal.
    pub extensions: Option<Vec<Extension>>,
    /// Members updated by Update proposals.
    pub updated: Vec<LeafIndex>,
    /// Members removed, with their last leaf nodes.
    pub removed: Vec<(LeafIndex, LeafNode)>,
    /// Members added, with the leaves they were placed at, in list order.
    pub added: Vec<(LeafIndex, KeyPackage)>,
    /// The PSKs to mix into the key schedule, in list order.
    pub psks: Vec<PreSharedKeyId>,
    /// The `kem_output` of an ExternalInit proposal.
    pub external_init: Option<Vec<u8>>,
    /// A ReInit proposal's parameters.
    pub reinit: Option<ReInit>,
    /// Whether the Commit must carry an UpdatePath (§12.4): always, unless
    /// every proposal is an Add, PreSharedKey or ReInit (an empty Commit
    /// needs a path too).
    pub path_required: bool,
}

impl AppliedProposals {
    /// The next epoch's GroupContext as far as the proposals decide it:
    /// the epoch advanced and any new extensions; the tree hash and
    /// transcript hash are the Commit's to fill in.
    pub fn next_context(&self, current: &GroupContext) -> Result<GroupContext, super::Error> {
        let mut next = current.clone();
        // A peer's GroupInfo may start a group at any epoch, u64::MAX too.
        next.epoch = (current.epoch.checked_add(1)).ok_or(Refusal::EpochExhausted)?;
        if let Some(extensions) = &self.extensions {
            next.extensions = extensions.clone();
        }
        Ok(next)
    }
}

crate::error::error_enum! {
    /// Why a proposal list was rejected (§12.2) or could not be applied (§12.3).
    ///
    /// The variants are named after the rules of §12.1 and §12.2 they enforce.
    #[derive(Clone, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum ProposalError {
        /// A Commit refers to a proposal this member has not received.
        UnknownProposal => "unknown_proposal", "Commit refers to an unknown proposal";
        /// The proposal is pending already (a replayed message).
        DuplicateProposal => "duplicate_proposal", "the proposal is pending already";
        /// The Commit has no UpdatePath though its proposals need one.
        PathRequired => "path_required", "Commit lacks a required UpdatePath";
        /// The committer or a proposal's `member` sender is not a member: its
        /// leaf is blank or outside the tree.
        SenderNotMember {
            /// The sender's leaf.
            leaf: u32,
        } => "proposal_sender_not_member", "sender at leaf {leaf} is not a member";
        /// This sender type may not send this proposal type (§6.1, §12.1.8), or
        /// a proposal of an external Commit is not from the joiner
        /// (§12.4.3.2).
        SenderNotAllowed {
            /// The proposal's type.
            proposal_type: ProposalType,
            /// Its sender.
            sender: Sender,
        } => "proposal_sender_not_allowed", "sender {sender:?} may not send proposal type {}", proposal_type.0;
        /// An Update proposal generated by the committer (§12.2).
        UpdateByCommitter => "proposal_update_by_committer", "the committer may not commit its own Update";
        /// A Remove proposal that removes the committer (§12.2).
        RemoveOfCommitter => "proposal_remove_of_committer", "the committer may not remove itself";
        /// A Remove of a blank leaf or of a leaf outside the tree (§12.1.3).
        RemoveNonMember {
            /// The `removed` field.
            leaf: u32,
        } => "proposal_remove_non_member", "Remove of leaf {leaf}, which is not a member";
        /// Several Update and/or Remove proposals for the same leaf (§12.2).
        MultipleUpdateOrRemove {
            /// The leaf.
            leaf: u32,
        } => "proposal_multiple_update_or_remove", "several Updates/Removes for leaf {leaf}";
        /// Two Add proposals for the same client, i.e. the same signature key
        /// (§12.2).
        DuplicateAdd => "proposal_duplicate_add", "two Adds for the same client";
        /// An Add of a client already in the group (same signature key) that the
        /// list does not also remove (§12.2).
        AddOfExistingMember {
            /// The existing member's leaf.
            leaf: u32,
        } => "proposal_add_of_existing_member", "Add of the client already at leaf {leaf}";
        /// A resumption PSK with a usage other than `application` outside a
        /// reinitialization or branch (§12.1.4, §8.4).
        PskInvalidUsage => "proposal_psk_invalid_usage", "resumption PSK usage other than application";
        /// A `psk_nonce` that is not `KDF.Nh` bytes long (§12.1.4).
        PskNonceLength {
            /// `KDF.Nh` of the group's suite.
            expected: usize,
            /// The nonce's length.
            got: usize,
        } => "proposal_psk_nonce_length", "psk_nonce of {got} bytes, expected {expected}";
        /// Several PreSharedKey proposals with the same PreSharedKeyID (§12.2).
        DuplicatePsk => "proposal_duplicate_psk", "the same PreSharedKeyID twice";
        /// Several GroupContextExtensions proposals (§12.2).
        MultipleGroupContextExtensions => "proposal_multiple_group_context_extensions", "several GroupContextExtensions proposals";
        /// A GroupContextExtensions proposal lists an extension type twice
        /// (§13.4).
        DuplicateExtension {
            /// The repeated type.
            extension_type: ExtensionType,
        } => "proposal_duplicate_extension", "extension type {} listed twice", extension_type.0;
        /// A member of the next epoch (removed ones excluded, added ones
        /// included) does not support the group's new extensions or required
        /// capabilities (§12.1.7, §11.1, §13.4).
        ExtensionsUnsupported {
            /// The member's leaf after the Commit.
            leaf: u32,
        } => "proposal_extensions_unsupported", "member at leaf {leaf} does not support the group's extensions";
        /// A ReInit proposal together with any other proposal (§12.2).
        ReInitWithOtherProposals => "proposal_reinit_with_other_proposals", "ReInit together with other proposals";
        /// A ReInit proposal to a lower protocol version (§12.1.5).
        ReInitVersionDowngrade => "proposal_reinit_version_downgrade", "ReInit to a lower protocol version";
        /// An ExternalInit proposal in a regular Commit (§12.1.6, §12.2).
        ExternalInitInRegularCommit => "proposal_external_init_in_regular_commit", "ExternalInit in a regular Commit";
        /// An ExternalInit's `kem_output` does not decapsulate with the
        /// group's external key (§8.3).
        InvalidKemOutput => "proposal_external_init_invalid_kem_output", "the ExternalInit's kem_output does not decapsulate";
        /// An external Commit without exactly one ExternalInit (§12.2).
        ExternalCommitExternalInitCount {
            /// How many it has.
            count: usize,
        } => "proposal_external_commit_external_init_count", "external Commit with {count} ExternalInit proposals, expected 1";
        /// An external Commit with more than one Remove (§12.2).
        ExternalCommitMultipleRemoves => "proposal_external_commit_multiple_removes", "external Commit with several Removes";
        /// An external Commit with a proposal other than ExternalInit, Remove
        /// and PreSharedKey (§12.2).
        ExternalCommitDisallowedProposal {
            /// The proposal's type.
            proposal_type: ProposalType,
        } => "proposal_external_commit_disallowed_proposal", "proposal type {} not allowed in an external Commit", proposal_type.0;
        /// An external Commit with a proposal by reference (§12.4.3.2).
        ExternalCommitProposalByReference => "proposal_external_commit_by_reference", "external Commit with a proposal by reference";
        /// An external Commit removes a leaf that is not the joiner's own
        /// earlier one: the joiner's credential is no acceptable successor of
        /// that leaf's (§12.4.3.2).
        ExternalCommitRemovesOther {
            /// The removed leaf.
            leaf: u32,
        } => "proposal_external_commit_removes_other", "external Commit removes leaf {leaf}, which is not the joiner's own";
    }
}

/// Validates a Commit's proposal list (§12.2) and applies it to `tree`
/// (§12.3), returning what else the Commit changes.
///
/// Order of application: GroupContextExtensions (whose new extensions, and
/// their `required_capabilities`, are used to validate the other proposals),
/// Updates, Removes, then Adds in list order (the first Add takes the
/// leftmost blank leaf, possibly one just removed), then the PSKs in list
/// order, ExternalInit and ReInit are recorded.
///
/// For an external Commit (`committer` is [`Committer::External`]) the list
/// may hold exactly one ExternalInit, at most one Remove and any
/// PreSharedKeys, all by value; the joiner's own leaf is not added here but
/// from the Commit's path. Checking that path's leaf node against a removed
/// leaf (a "resync", §12.2) is also the caller's.
///
/// On error `tree` may be partly modified: work on a copy and discard it.
pub fn apply_proposals(
    ctx: &ProposalContext<'_>,
    tree: &mut RatchetTree,
    proposals: &[CommittedProposal],
    committer: Committer,
) -> Result<AppliedProposals, Error> {
    match committer {
        Committer::Member(leaf) => apply_regular(ctx, tree, proposals, leaf),
        Committer::External => apply_external(ctx, tree, proposals),
    }
}

/// Checks one proposal by `sender` on its own, as received (§12.1): all
/// that can be judged without the rest of a Commit, against the current
/// tree and GroupContext. A proposal that fails here could never be
/// committed, so it is refused on receipt rather than kept to spoil a later
/// Commit. External PSKs are the caller's to look up.
pub fn check_proposal(
    ctx: &ProposalContext<'_>,
    tree: &RatchetTree,
    sender: Sender,
    proposal: &Proposal,
) -> Result<(), Error> {
    check_sender(tree, sender, proposal)?;
    let required = Extension::find::<RequiredCapabilities>(&ctx.group_context.extensions)?;
    let leaf_ctx = LeafValidationContext {
        cs: ctx.cs,
        group_id: &ctx.group_context.group_id,
        required_capabilities: required.as_ref(),
        now: ctx.now,
        max_lifetime: None,
        credential_validator: ctx.credential_validator,
    };
    match (proposal, sender) {
        (Proposal::Add(add), _) => {
            validate_key_package(&leaf_ctx, &add.key_package)?;
            tree.check_new_leaf(&add.key_package.leaf_node, None)?;
        }
        (Proposal::Update(update), Sender::Member(leaf)) => {
            tree.check_update_leaf(&leaf_ctx, LeafIndex(leaf), &update.leaf_node)?;
        }
        (Proposal::Remove(remove), _) => check_remove_target(tree, LeafIndex(remove.removed))?,
        (Proposal::PreSharedKey(psk), _) => check_psk(ctx.cs, &psk.psk)?,
        (Proposal::ReInit(reinit), _) if reinit.version.0 < ctx.group_context.version.0 => {
            return Err(ProposalError::ReInitVersionDowngrade.into());
        }
        // Only ever by value in an external Commit (§12.1.6).
        (Proposal::ExternalInit(_), _) => return Err(ProposalError::ExternalInitInRegularCommit.into()),
        (Proposal::GroupContextExtensions(gce), _) => {
            let single = [CommittedProposal {
                proposal: proposal.clone(),
                sender,
                reference: None,
            }];
            check_gce(&single)?;
            let required = Extension::find::<RequiredCapabilities>(&gce.extensions)?;
            check_members_support(tree.leaves(), &gce.extensions, required.as_ref())?;
        }
        _ => {}
    }
    Ok(())
}

/// A regular Commit from the member at `committer`.
fn apply_regular(
    ctx: &ProposalContext<'_>,
    tree: &mut RatchetTree,
    proposals: &[CommittedProposal],
    committer: LeafIndex,
) -> Result<AppliedProposals, Error> {
    check_regular_list(ctx, tree, proposals, committer)?;
    let new_extensions = gce_extensions(proposals).next();
    // §12.3: the new extensions apply to the evaluation of the other proposals.
    let extensions = new_extensions.unwrap_or(&ctx.group_context.extensions);
    let required = Extension::find::<RequiredCapabilities>(extensions)?;
    let leaf_ctx = LeafValidationContext {
        cs: ctx.cs,
        group_id: &ctx.group_context.group_id,
        required_capabilities: required.as_ref(),
        now: ctx.now,
        max_lifetime: None,
        credential_validator: ctx.credential_validator,
    };
    let mut applied = AppliedProposals {
        extensions: new_extensions.map(<[Extension]>::to_vec),
        path_required: path_required(proposals),
        ..AppliedProposals::default()
    };
    apply_updates(&leaf_ctx, tree, proposals, &mut applied)?;
    apply_removes(tree, proposals, &mut applied)?;
    apply_adds(&leaf_ctx, tree, proposals, &mut applied)?;
    if new_extensions.is_some() {
        check_members_support(tree.leaves(), extensions, required.as_ref())?;
    } else {
        // Existing members already support the group's extensions; new ones
        // must too (§13.4). Their required capabilities were checked with
        // their KeyPackages.
        let added = applied.added.iter().map(|(leaf, kp)| (*leaf, &kp.leaf_node));
        check_members_support(added, extensions, None)?;
    }
    applied.psks = psk_ids(proposals).cloned().collect();
    applied.reinit = reinits(proposals).next().cloned();
    Ok(applied)
}

/// An external Commit (§12.4.3.2).
fn apply_external(
    ctx: &ProposalContext<'_>,
    tree: &mut RatchetTree,
    proposals: &[CommittedProposal],
) -> Result<AppliedProposals, Error> {
    check_external_list(ctx, tree, proposals)?;
    // An external Commit always carries a path: the joiner's leaf (§12.4.3.2).
    let mut applied = AppliedProposals {
        path_required: true,
        ..AppliedProposals::default()
    };
    apply_removes(tree, proposals, &mut applied)?;
    applied.psks = psk_ids(proposals).cloned().collect();
    applied.external_init = external_inits(proposals).next().map(|kem_output| kem_output.to_vec());
    Ok(applied)
}

/// The list-level rules of §12.2 for a regular Commit; the rules that need
/// the (partly) updated tree are checked while applying.
fn check_regular_list(
    ctx: &ProposalContext<'_>,
    tree: &RatchetTree,
    proposals: &[CommittedProposal],
    committer: LeafIndex,
) -> Result<(), ProposalError> {
    check_member(tree, committer)?;
    if external_inits(proposals).next().is_some() {
        return Err(ProposalError::ExternalInitInRegularCommit);
    }
    check_reinit(ctx, proposals)?;
    for p in proposals {
        check_sender(tree, p.sender, &p.proposal)?;
    }
    check_updates(proposals, committer)?;
    check_removes(tree, proposals, committer)?;
    check_unique_targets(proposals)?;
    check_adds(tree, proposals)?;
    check_psks(ctx.cs, proposals)?;
    // Every proposal type this library decodes is a default type, which all
    // members support, so the §12.2 rule on non-default types cannot fire.
    check_gce(proposals)
}

/// The rules of §12.2 (and §12.4.3.2) for an external Commit.
fn check_external_list(
    ctx: &ProposalContext<'_>,
    tree: &RatchetTree,
    proposals: &[CommittedProposal],
) -> Result<(), ProposalError> {
    for p in proposals {
        check_external_proposal(p)?;
    }
    let count = external_inits(proposals).count();
    if count != 1 {
        return Err(ProposalError::ExternalCommitExternalInitCount { count });
    }
    if removed_leaves(proposals).count() > 1 {
        return Err(ProposalError::ExternalCommitMultipleRemoves);
    }
    for leaf in removed_leaves(proposals) {
        check_remove_target(tree, leaf)?;
    }
    check_psks(ctx.cs, proposals)
}

/// One proposal of an external Commit: by value (the joiner cannot judge
/// the group's pending proposals, §12.4.3.2), hence from the joiner, and of
/// an allowed type (§12.2).
fn check_external_proposal(p: &CommittedProposal) -> Result<(), ProposalError> {
    if p.reference.is_some() {
        return Err(ProposalError::ExternalCommitProposalByReference);
    }
    let proposal_type = p.proposal.proposal_type();
    if !matches!(
        p.proposal,
        Proposal::ExternalInit(_) | Proposal::Remove(_) | Proposal::PreSharedKey(_)
    ) {
        return Err(ProposalError::ExternalCommitDisallowedProposal { proposal_type });
    }
    if p.sender != Sender::NewMemberCommit {
        return Err(ProposalError::SenderNotAllowed {
            proposal_type,
            sender: p.sender,
        });
    }
    Ok(())
}

/// `leaf` must hold a member.
fn check_member(tree: &RatchetTree, leaf: LeafIndex) -> Result<(), ProposalError> {
    match tree.leaf(leaf) {
        Some(_) => Ok(()),
        None => Err(ProposalError::SenderNotMember { leaf: leaf.0 }),
    }
}

/// Whether `sender` may send `proposal` in a regular Commit: `external`
/// senders all but Update and ExternalInit (§12.1.8), `new_member_proposal`
/// only Add (§6.1), `new_member_commit` only in external Commits. Members
/// may send anything (ExternalInit is rejected before).
fn sender_may_propose(sender: Sender, proposal: &Proposal) -> bool {
    match sender {
        Sender::Member(_) => true,
        Sender::External(_) => !matches!(proposal, Proposal::Update(_) | Proposal::ExternalInit(_)),
        Sender::NewMemberProposal => matches!(proposal, Proposal::Add(_)),
        Sender::NewMemberCommit => false,
    }
}

/// The sender's type fits the proposal and a member sender is a member.
fn check_sender(tree: &RatchetTree, sender: Sender, proposal: &Proposal) -> Result<(), ProposalError> {
    if !sender_may_propose(sender, proposal) {
        return Err(ProposalError::SenderNotAllowed {
            proposal_type: proposal.proposal_type(),
            sender,
        });
    }
    match sender {
        Sender::Member(leaf) => check_member(tree, LeafIndex(leaf)),
        _ => Ok(()),
    }
}

/// The committer updates through its path, not an Update (§12.2).
fn check_updates(proposals: &[CommittedProposal], committer: LeafIndex) -> Result<(), ProposalError> {
    if updates(proposals).any(|(leaf, _)| leaf == committer) {
        return Err(ProposalError::UpdateByCommitter);
    }
    Ok(())
}

/// Each Remove names a member other than the committer (§12.1.3, §12.2).
fn check_removes(
    tree: &RatchetTree,
    proposals: &[CommittedProposal],
    committer: LeafIndex,
) -> Result<(), ProposalError> {
    for leaf in removed_leaves(proposals) {
        if leaf == committer {
            return Err(ProposalError::RemoveOfCommitter);
        }
        check_remove_target(tree, leaf)?;
    }
    Ok(())
}

/// A Remove must identify a non-blank leaf (§12.1.3).
fn check_remove_target(tree: &RatchetTree, leaf: LeafIndex) -> Result<(), ProposalError> {
    match tree.leaf(leaf) {
        Some(_) => Ok(()),
        None => Err(ProposalError::RemoveNonMember { leaf: leaf.0 }),
    }
}

/// At most one Update or Remove per leaf (§12.2): the result of two would
/// depend on the order of application.
fn check_unique_targets(proposals: &[CommittedProposal]) -> Result<(), ProposalError> {
    let updated = updates(proposals).map(|(leaf, _)| leaf);
    // Sets of plain integers (here and below) share one instantiation of
    // the B-tree code: less WebAssembly.
    let mut seen = BTreeSet::new();
    for LeafIndex(leaf) in updated.chain(removed_leaves(proposals)) {
        if !seen.insert(leaf) {
            return Err(ProposalError::MultipleUpdateOrRemove { leaf });
        }
    }
    Ok(())
}

/// Adds bring new clients (§12.2): no two for one client, none for a
/// member staying in the group. A client is identified by its signature
/// key, which §7.3 requires to be unique among members anyway.
fn check_adds(tree: &RatchetTree, proposals: &[CommittedProposal]) -> Result<(), ProposalError> {
    if key_packages(proposals).next().is_none() {
        return Ok(());
    }
    // Filled by `extend` (inserts), not `collect` (a sort): less wasm code.
    let mut removed = BTreeSet::new();
    removed.extend(removed_leaves(proposals).map(|leaf| leaf.0));
    let mut seen = BTreeSet::new();
    for kp in key_packages(proposals) {
        let key = kp.leaf_node.signature_key.as_slice();
        if !seen.insert(key) {
            return Err(ProposalError::DuplicateAdd);
        }
        // The last staying member with the key (keys are unique anyway).
        let members = tree.members_with_signature_key(key);
        if let Some(leaf) = members.into_iter().rev().find(|leaf| !removed.contains(&leaf.0)) {
            return Err(ProposalError::AddOfExistingMember { leaf: leaf.0 });
        }
    }
    Ok(())
}

/// Each PSK is valid on its own (§12.1.4) and named once (§12.2).
fn check_psks(cs: &dyn CipherSuiteProvider, proposals: &[CommittedProposal]) -> Result<(), ProposalError> {
    let mut keys = Vec::new();
    for id in psk_ids(proposals) {
        check_psk(cs, id)?;
        keys.push(psk_key(id));
    }
    let mut seen = BTreeSet::new();
    match keys.iter().all(|key| seen.insert(key.as_slice())) {
        true => Ok(()),
        false => Err(ProposalError::DuplicatePsk),
    }
}

/// §12.1.4, §8.4: a normal Commit is neither a reinitialization nor a
/// branch, so resumption PSKs must have usage `application`; the nonce is
/// `KDF.Nh` bytes.
fn check_psk(cs: &dyn CipherSuiteProvider, id: &PreSharedKeyId) -> Result<(), ProposalError> {
    if let Psk::Resumption { usage, .. } = &id.psk
        && *usage != ResumptionPskUsage::Application
    {
        return Err(ProposalError::PskInvalidUsage);
    }
    let (expected, got) = (cs.hash_len(), id.psk_nonce.as_slice().len());
    if got != expected {
        return Err(ProposalError::PskNonceLength { expected, got });
    }
    Ok(())
}

/// Bytes equal exactly for equal PreSharedKeyIDs (the whole ID, nonce
/// included, as §12.2 compares them; variable fields length-prefixed), so
/// duplicates are found in O(n log n) with the byte-string set the tree's
/// key checks use already (one instantiation: less WebAssembly).
fn psk_key(id: &PreSharedKeyId) -> Vec<u8> {
    fn field(key: &mut Vec<u8>, bytes: &[u8]) {
        key.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
        key.extend_from_slice(bytes);
    }
    let mut key = Vec::new();
    match &id.psk {
        Psk::External { psk_id } => {
            key.push(1);
            field(&mut key, psk_id.as_slice());
        }
        Psk::Resumption {
            usage,
            psk_group_id,
            psk_epoch,
        } => {
            key.extend_from_slice(&[2, *usage as u8]);
            key.extend_from_slice(&psk_epoch.to_be_bytes());
            field(&mut key, psk_group_id.as_slice());
        }
    }
    field(&mut key, id.psk_nonce.as_slice());
    key
}

/// At most one GroupContextExtensions proposal (§12.2), listing each
/// extension type once (§13.4).
fn check_gce(proposals: &[CommittedProposal]) -> Result<(), ProposalError> {
    let mut all = gce_extensions(proposals);
    let Some(extensions) = all.next() else {
        return Ok(());
    };
    if all.next().is_some() {
        return Err(ProposalError::MultipleGroupContextExtensions);
    }
    let mut seen = BTreeSet::new();
    match extensions.iter().find(|e| !seen.insert(u32::from(e.extension_type.0))) {
        Some(e) => Err(ProposalError::DuplicateExtension {
            extension_type: e.extension_type,
        }),
        None => Ok(()),
    }
}

/// A ReInit ends the group, so it comes alone (§12.2) and may not lower
/// the protocol version (§12.1.5).
fn check_reinit(ctx: &ProposalContext<'_>, proposals: &[CommittedProposal]) -> Result<(), ProposalError> {
    let Some(reinit) = reinits(proposals).next() else {
        return Ok(());
    };
    if proposals.len() > 1 {
        return Err(ProposalError::ReInitWithOtherProposals);
    }
    if reinit.version.0 < ctx.group_context.version.0 {
        return Err(ProposalError::ReInitVersionDowngrade);
    }
    Ok(())
}

/// §12.1.7, §11.1, §13.4: each of `members` supports every extension type
/// of the group and, if given, the required capabilities.
fn check_members_support<'a>(
    members: impl Iterator<Item = (LeafIndex, &'a LeafNode)>,
    extensions: &[Extension],
    required: Option<&RequiredCapabilities>,
) -> Result<(), ProposalError> {
    for (leaf, node) in members {
        let caps = &node.capabilities;
        let extensions_ok = extensions.iter().all(|e| supports_extension(caps, e.extension_type));
        let required_ok = required.is_none_or(|r| check_required_capabilities(caps, r).is_ok());
        if !(extensions_ok && required_ok) {
            return Err(ProposalError::ExtensionsUnsupported { leaf: leaf.0 });
        }
    }
    Ok(())
}

/// §12.1.2: each Update's leaf node is validated against the tree as it is
/// when applied, so two Updates cannot introduce the same key.
fn apply_updates(
    leaf_ctx: &LeafValidationContext<'_>,
    tree: &mut RatchetTree,
    proposals: &[CommittedProposal],
    applied: &mut AppliedProposals,
) -> Result<(), Error> {
    for (leaf, leaf_node) in updates(proposals) {
        tree.check_update_leaf(leaf_ctx, leaf, leaf_node)?;
        tree.update_leaf(leaf, leaf_node.clone())?;
        applied.updated.push(leaf);
    }
    Ok(())
}

/// §12.1.3: blanks each removed leaf and its path, keeping its leaf node.
fn apply_removes(
    tree: &mut RatchetTree,
    proposals: &[CommittedProposal],
    applied: &mut AppliedProposals,
) -> Result<(), Error> {
    for leaf in removed_leaves(proposals) {
        let removed = tree.remove_leaf(leaf)?;
        applied.removed.push((leaf, removed));
    }
    Ok(())
}

/// §12.1.1: validates each KeyPackage (§10.1) and its leaf against the tree
/// after the Updates, Removes and earlier Adds (§7.3), then adds it at the
/// leftmost blank leaf.
fn apply_adds(
    leaf_ctx: &LeafValidationContext<'_>,
    tree: &mut RatchetTree,
    proposals: &[CommittedProposal],
    applied: &mut AppliedProposals,
) -> Result<(), Error> {
    // Each Add fills the leftmost blank leaf, so the next one is to its right.
    let mut next = LeafIndex(0);
    for kp in key_packages(proposals) {
        validate_key_package(leaf_ctx, kp)?;
        tree.check_new_leaf(&kp.leaf_node, None)?;
        let leaf = tree.add_leaf_from(kp.leaf_node.clone(), next)?;
        next = LeafIndex(leaf.0.saturating_add(1));
        applied.added.push((leaf, kp.clone()));
    }
    Ok(())
}

/// §12.4: a path is needed unless every proposal is of a type that needs
/// none (Add, PreSharedKey, ReInit); an empty Commit needs one.
fn path_required(proposals: &[CommittedProposal]) -> bool {
    proposals.is_empty()
        || proposals.iter().any(|p| {
            !matches!(
                p.proposal,
                Proposal::Add(_) | Proposal::PreSharedKey(_) | Proposal::ReInit(_)
            )
        })
}

/// The Updates' senders (only members may send Updates) and leaf nodes.
fn updates(proposals: &[CommittedProposal]) -> impl Iterator<Item = (LeafIndex, &LeafNode)> {
    proposals.iter().filter_map(|p| match (&p.proposal, p.sender) {
        (Proposal::Update(u), Sender::Member(leaf)) => Some((LeafIndex(leaf), &u.leaf_node)),
        _ => None,
    })
}

/// The leaves the Removes name.
fn removed_leaves(proposals: &[CommittedProposal]) -> impl Iterator<Item = LeafIndex> + '_ {
    proposals.iter().filter_map(|p| match &p.proposal {
        Proposal::Remove(r) => Some(LeafIndex(r.removed)),
        _ => None,
    })
}

/// The Adds' KeyPackages, in list order.
fn key_packages(proposals: &[CommittedProposal]) -> impl Iterator<Item = &KeyPackage> {
    proposals.iter().filter_map(|p| match &p.proposal {
        Proposal::Add(a) => Some(&a.key_package),
        _ => None,
    })
}

/// The PreSharedKey proposals' IDs, in list order.
fn psk_ids(proposals: &[CommittedProposal]) -> impl Iterator<Item = &PreSharedKeyId> {
    proposals.iter().filter_map(|p| match &p.proposal {
        Proposal::PreSharedKey(psk) => Some(&psk.psk),
        _ => None,
    })
}

/// The GroupContextExtensions proposals' extension lists.
fn gce_extensions(proposals: &[CommittedProposal]) -> impl Iterator<Item = &[Extension]> {
    proposals.iter().filter_map(|p| match &p.proposal {
        Proposal::GroupContextExtensions(gce) => Some(gce.extensions.as_slice()),
        _ => None,
    })
}

/// The ExternalInit proposals' `kem_output`s.
fn external_inits(proposals: &[CommittedProposal]) -> impl Iterator<Item = &[u8]> {
    proposals.iter().filter_map(|p| match &p.proposal {
        Proposal::ExternalInit(e) => Some(e.kem_output.as_slice()),
        _ => None,
    })
}

/// The ReInit proposals.
fn reinits(proposals: &[CommittedProposal]) -> impl Iterator<Item = &ReInit> {
    proposals.iter().filter_map(|p| match &p.proposal {
        Proposal::ReInit(r) => Some(r),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::VLBytes;
    use crate::crypto::{CipherSuite, CryptoProvider, KeyPair, RustCryptoProvider, os_rng};
    use crate::error::{KeyPackageError, ProtocolError, TreeError};
    use crate::key_package::{KeyPackageParams, create_key_package, default_capabilities, sign_leaf_node};
    use crate::messages::{
        Add, Capabilities, Credential, ExternalInit, GroupContextExtensions, LeafNodeSource, Lifetime, PreSharedKey,
        ProtocolVersion, Remove, Update,
    };
    use crate::ratchet_tree::BasicCredentialValidator;
    use crate::ratchet_tree::leaf::LeafNodeError;

    static PROVIDER: RustCryptoProvider = RustCryptoProvider;

    /// A custom extension type some test members support.
    const CUSTOM: ExtensionType = ExtensionType(0xff00);

    fn suite() -> &'static dyn CipherSuiteProvider {
        PROVIDER.cipher_suite(CipherSuite(1)).unwrap()
    }

    /// A client: its signature key pair and a KeyPackage.
    struct Client {
        signer: KeyPair,
        key_package: KeyPackage,
    }

    fn client(caps: Capabilities) -> Client {
        let signer = suite().signature_key_generate(&mut os_rng());
        let key_package = key_package(&signer, caps);
        Client { signer, key_package }
    }

    /// A fresh KeyPackage (new init and encryption keys) for `signer`.
    fn key_package(signer: &KeyPair, capabilities: Capabilities) -> KeyPackage {
        let params = KeyPackageParams {
            credential: Credential::Basic(VLBytes::from(b"client")),
            signature_public_key: signer.public.clone(),
            capabilities,
            lifetime: Lifetime {
                not_before: 0,
                not_after: u64::MAX,
            },
            leaf_extensions: Vec::new(),
            extensions: Vec::new(),
        };
        create_key_package(suite(), params, signer.private.as_bytes(), &mut os_rng())
            .unwrap()
            .key_package
    }

    fn default_caps() -> Capabilities {
        default_capabilities(CipherSuite(1))
    }

    fn custom_caps() -> Capabilities {
        Capabilities {
            extensions: vec![CUSTOM],
            ..default_caps()
        }
    }

    /// A group whose members are at leaves 0, 1, ... in order.
    struct Group {
        tree: RatchetTree,
        context: GroupContext,
        members: Vec<Client>,
    }

    fn group(n: usize) -> Group {
        group_with((0..n).map(|_| default_caps()).collect())
    }

    fn group_with(caps: Vec<Capabilities>) -> Group {
        let members: Vec<Client> = caps.into_iter().map(client).collect();
        let mut tree = RatchetTree::new();
        for m in &members {
            tree.add_leaf(m.key_package.leaf_node.clone()).unwrap();
        }
        let context = GroupContext {
            version: ProtocolVersion::MLS10,
            cipher_suite: CipherSuite(1),
            group_id: VLBytes::from(b"group"),
            epoch: 1,
            tree_hash: VLBytes::default(),
            confirmed_transcript_hash: VLBytes::default(),
            extensions: Vec::new(),
        };
        Group { tree, context, members }
    }

    impl Group {
        /// Applies `proposals` to a copy of the tree; returns the result and
        /// the copy.
        fn apply(
            &self,
            proposals: &[CommittedProposal],
            committer: Committer,
        ) -> (Result<AppliedProposals, Error>, RatchetTree) {
            let mut tree = self.tree.clone();
            let ctx = ProposalContext {
                cs: suite(),
                group_context: &self.context,
                credential_validator: &BasicCredentialValidator,
                now: None,
            };
            (apply_proposals(&ctx, &mut tree, proposals, committer), tree)
        }

        fn check(&self, proposals: &[CommittedProposal], committer: u32) -> Result<AppliedProposals, Error> {
            self.apply(proposals, Committer::Member(LeafIndex(committer))).0
        }

        fn check_external(&self, proposals: &[CommittedProposal]) -> Result<AppliedProposals, Error> {
            self.apply(proposals, Committer::External).0
        }

        /// An Update of member `leaf` signed for leaf `signed_for`.
        fn update_signed_for(&self, leaf: u32, signed_for: u32) -> Proposal {
            let member = &self.members[leaf as usize];
            let mut node = member.key_package.leaf_node.clone();
            node.encryption_key = suite().kem_key_generate(&mut os_rng()).unwrap().public.into();
            node.leaf_node_source = LeafNodeSource::Update;
            let group = Some((&self.context.group_id, signed_for));
            sign_leaf_node(suite(), &mut node, member.signer.private.as_bytes(), group).unwrap();
            Proposal::Update(Update { leaf_node: node })
        }

        fn update(&self, leaf: u32) -> Proposal {
            self.update_signed_for(leaf, leaf)
        }
    }

    /// A proposal by `sender`, as the Commit resolves it.
    fn from(sender: Sender, proposal: Proposal) -> CommittedProposal {
        CommittedProposal {
            proposal,
            sender,
            reference: None,
        }
    }

    /// A proposal from member `leaf`.
    fn by(leaf: u32, proposal: Proposal) -> CommittedProposal {
        from(Sender::Member(leaf), proposal)
    }

    fn add(key_package: &KeyPackage) -> Proposal {
        Proposal::Add(Add {
            key_package: key_package.clone(),
        })
    }

    fn remove(leaf: u32) -> Proposal {
        Proposal::Remove(Remove { removed: leaf })
    }

    fn psk_id(psk: Psk) -> PreSharedKeyId {
        PreSharedKeyId {
            psk,
            psk_nonce: vec![7; 32].into(),
        }
    }

    fn external_psk(id: &[u8]) -> Proposal {
        let psk = psk_id(Psk::External {
            psk_id: VLBytes::from(id),
        });
        Proposal::PreSharedKey(PreSharedKey { psk })
    }

    fn resumption_psk(usage: ResumptionPskUsage) -> Proposal {
        let psk = psk_id(Psk::Resumption {
            usage,
            psk_group_id: VLBytes::from(b"group"),
            psk_epoch: 0,
        });
        Proposal::PreSharedKey(PreSharedKey { psk })
    }

    fn gce(extensions: Vec<Extension>) -> Proposal {
        Proposal::GroupContextExtensions(GroupContextExtensions { extensions })
    }

    fn custom_extension() -> Extension {
        Extension {
            extension_type: CUSTOM,
            extension_data: VLBytes::default(),
        }
    }

    fn requiring(extension_types: Vec<ExtensionType>) -> Extension {
        let required = RequiredCapabilities {
            extension_types,
            ..RequiredCapabilities::default()
        };
        Extension::from_body(&required).unwrap()
    }

    fn reinit(version: u16) -> Proposal {
        Proposal::ReInit(ReInit {
            group_id: VLBytes::from(b"next group"),
            version: ProtocolVersion(version),
            cipher_suite: CipherSuite(1),
            extensions: Vec::new(),
        })
    }

    fn external_init() -> Proposal {
        Proposal::ExternalInit(ExternalInit {
            kem_output: VLBytes::from(b"kem output"),
        })
    }

    #[test]
    fn a_valid_list_is_applied_in_rfc_order() {
        let g = group(4);
        let (a, b) = (client(default_caps()), client(default_caps()));
        let update = g.update(1);
        let proposals = [
            by(0, add(&a.key_package)),
            by(3, remove(2)),
            by(1, update.clone()),
            by(0, external_psk(b"psk")),
            by(0, gce(Vec::new())),
            by(0, add(&b.key_package)),
        ];
        let (applied, tree) = g.apply(&proposals, Committer::Member(LeafIndex(0)));
        let applied = applied.unwrap();
        assert_eq!(applied.extensions, Some(Vec::new()));
        assert_eq!(applied.updated, [LeafIndex(1)]);
        let Proposal::Update(Update { leaf_node }) = update else {
            unreachable!()
        };
        assert_eq!(tree.leaf(LeafIndex(1)), Some(&leaf_node));
        assert_eq!(
            applied.removed,
            [(LeafIndex(2), g.members[2].key_package.leaf_node.clone())]
        );
        // Removes come before Adds: the first Add reuses the removed leaf,
        // the second extends the tree.
        let added: Vec<LeafIndex> = applied.added.iter().map(|(leaf, _)| *leaf).collect();
        assert_eq!(added, [LeafIndex(2), LeafIndex(4)]);
        assert_eq!(applied.added[0].1, a.key_package);
        assert_eq!(tree.leaf(LeafIndex(2)), Some(&a.key_package.leaf_node));
        assert_eq!(tree.leaf(LeafIndex(4)), Some(&b.key_package.leaf_node));
        assert_eq!(tree.n_leaves(), 8);
        let Proposal::PreSharedKey(PreSharedKey { psk }) = external_psk(b"psk") else {
            unreachable!()
        };
        assert_eq!(applied.psks, [psk]);
        assert_eq!((applied.external_init, applied.reinit), (None, None));
        assert!(applied.path_required);
    }

    #[test]
    fn adds_fill_the_leftmost_blank_leaves_in_list_order() {
        let mut g = group(4);
        g.tree.remove_leaf(LeafIndex(1)).unwrap();
        let clients: Vec<Client> = (0..3).map(|_| client(default_caps())).collect();
        let proposals: Vec<_> = clients.iter().map(|c| by(0, add(&c.key_package))).collect();
        let applied = g.check(&proposals, 0).unwrap();
        let added: Vec<LeafIndex> = applied.added.iter().map(|(leaf, _)| *leaf).collect();
        assert_eq!(added, [LeafIndex(1), LeafIndex(4), LeafIndex(5)]);
        for ((_, kp), c) in applied.added.iter().zip(&clients) {
            assert_eq!(kp, &c.key_package);
        }
    }

    #[test]
    fn path_required_depends_on_the_proposal_types() {
        let g = group(3);
        let c = client(default_caps());
        let required = |proposals: &[CommittedProposal]| g.check(proposals, 0).unwrap().path_required;
        assert!(required(&[]));
        assert!(!required(&[by(0, add(&c.key_package))]));
        assert!(!required(&[by(0, add(&c.key_package)), by(1, external_psk(b"p"))]));
        assert!(!required(&[by(1, reinit(1))]));
        assert!(required(&[by(0, add(&c.key_package)), by(0, remove(2))]));
        assert!(required(&[by(1, g.update(1))]));
        assert!(required(&[by(0, gce(Vec::new()))]));
        let external = g.check_external(&[from(Sender::NewMemberCommit, external_init())]);
        assert!(external.unwrap().path_required);
    }

    #[test]
    fn committer_rules() {
        let g = group(3);
        assert_eq!(
            g.check(&[by(0, g.update(0))], 0).unwrap_err(),
            Error::from(ProposalError::UpdateByCommitter)
        );
        assert_eq!(
            g.check(&[by(1, remove(0))], 0).unwrap_err(),
            Error::from(ProposalError::RemoveOfCommitter)
        );
        assert_eq!(
            g.check(&[], 5).unwrap_err(),
            Error::from(ProposalError::SenderNotMember { leaf: 5 })
        );
    }

    #[test]
    fn removes_must_name_members() {
        let mut g = group(4);
        assert_eq!(
            g.check(&[by(0, remove(9))], 0).unwrap_err(),
            Error::from(ProposalError::RemoveNonMember { leaf: 9 })
        );
        g.tree.remove_leaf(LeafIndex(1)).unwrap();
        assert_eq!(
            g.check(&[by(0, remove(1))], 0).unwrap_err(),
            Error::from(ProposalError::RemoveNonMember { leaf: 1 })
        );
    }

    #[test]
    fn one_update_or_remove_per_leaf() {
        let g = group(4);
        let error = Error::from(ProposalError::MultipleUpdateOrRemove { leaf: 2 });
        assert_eq!(
            g.check(&[by(2, g.update(2)), by(0, remove(2))], 0).unwrap_err(),
            error.clone()
        );
        assert_eq!(
            g.check(&[by(1, remove(2)), by(3, remove(2))], 0).unwrap_err(),
            error.clone()
        );
        assert_eq!(
            g.check(&[by(2, g.update(2)), by(2, g.update(2))], 0).unwrap_err(),
            error
        );
    }

    #[test]
    fn adds_must_bring_new_clients() {
        let g = group(3);
        let c = client(default_caps());
        let again = key_package(&c.signer, default_caps());
        let twice = [by(0, add(&c.key_package)), by(0, add(&again))];
        assert_eq!(
            g.check(&twice, 0).unwrap_err(),
            Error::from(ProposalError::DuplicateAdd)
        );
        let member_again = key_package(&g.members[2].signer, default_caps());
        assert_eq!(
            g.check(&[by(0, add(&member_again))], 0).unwrap_err(),
            Error::from(ProposalError::AddOfExistingMember { leaf: 2 })
        );
        // Removing the old appearance in the same Commit makes it a resync.
        let applied = g.check(&[by(0, add(&member_again)), by(0, remove(2))], 0).unwrap();
        assert_eq!(applied.added[0].0, LeafIndex(2));
    }

    #[test]
    fn psks_must_be_valid_and_distinct() {
        let g = group(2);
        let twice = [by(0, external_psk(b"a")), by(1, external_psk(b"a"))];
        assert_eq!(
            g.check(&twice, 0).unwrap_err(),
            Error::from(ProposalError::DuplicatePsk)
        );
        let distinct = [by(0, external_psk(b"a")), by(0, external_psk(b"b"))];
        assert_eq!(g.check(&distinct, 0).unwrap().psks.len(), 2);
        let application = resumption_psk(ResumptionPskUsage::Application);
        assert!(g.check(&[by(0, application)], 0).is_ok());
        for usage in [ResumptionPskUsage::Reinit, ResumptionPskUsage::Branch] {
            let list = [by(0, resumption_psk(usage))];
            assert_eq!(
                g.check(&list, 0).unwrap_err(),
                Error::from(ProposalError::PskInvalidUsage)
            );
        }
        let Proposal::PreSharedKey(mut short) = external_psk(b"a") else {
            unreachable!()
        };
        short.psk.psk_nonce = vec![7; 16].into();
        assert_eq!(
            g.check(&[by(0, Proposal::PreSharedKey(short))], 0).unwrap_err(),
            Error::from(ProposalError::PskNonceLength { expected: 32, got: 16 })
        );
    }

    #[test]
    fn group_context_extensions_rules() {
        let g = group_with(vec![custom_caps(), custom_caps(), custom_caps(), default_caps()]);
        let two = [by(0, gce(Vec::new())), by(1, gce(Vec::new()))];
        assert_eq!(
            g.check(&two, 0).unwrap_err(),
            Error::from(ProposalError::MultipleGroupContextExtensions)
        );
        let repeated = [by(0, gce(vec![custom_extension(), custom_extension()]))];
        assert_eq!(
            g.check(&repeated, 0).unwrap_err(),
            Error::from(ProposalError::DuplicateExtension { extension_type: CUSTOM })
        );
        // Member 3 supports neither the custom extension nor a requirement
        // of it, unless it is removed by the same Commit.
        let unsupported = Error::from(ProposalError::ExtensionsUnsupported { leaf: 3 });
        for extension in [custom_extension(), requiring(vec![CUSTOM])] {
            assert_eq!(
                g.check(&[by(0, gce(vec![extension.clone()]))], 0).unwrap_err(),
                unsupported.clone()
            );
            let applied = g
                .check(&[by(0, gce(vec![extension.clone()])), by(0, remove(3))], 0)
                .unwrap();
            assert_eq!(applied.extensions, Some(vec![extension]));
        }
        // Added members count too.
        let newcomer = client(default_caps());
        let list = [
            by(0, gce(vec![custom_extension()])),
            by(0, remove(3)),
            by(0, add(&newcomer.key_package)),
        ];
        assert_eq!(g.check(&list, 0).unwrap_err(), unsupported);
    }

    #[test]
    fn adds_are_validated_with_the_new_extensions() {
        let g = group_with(vec![custom_caps(), custom_caps()]);
        let plain = client(default_caps());
        let list = [
            by(0, gce(vec![requiring(vec![CUSTOM])])),
            by(0, add(&plain.key_package)),
        ];
        let error = KeyPackageError::LeafNode {
            error: LeafNodeError::MissingRequiredCapability,
        };
        assert_eq!(g.check(&list, 0).unwrap_err(), Error::from(error));
        let capable = client(custom_caps());
        let list = [
            by(0, gce(vec![requiring(vec![CUSTOM])])),
            by(0, add(&capable.key_package)),
        ];
        assert!(g.check(&list, 0).is_ok());
        // Without a GroupContextExtensions proposal, a new member must still
        // support the group's current extensions (§13.4).
        let mut g = g;
        g.context.extensions = vec![custom_extension()];
        assert_eq!(
            g.check(&[by(0, add(&plain.key_package))], 0).unwrap_err(),
            Error::from(ProposalError::ExtensionsUnsupported { leaf: 2 })
        );
        assert!(g.check(&[by(0, add(&capable.key_package))], 0).is_ok());
    }

    #[test]
    fn reinit_and_external_init_rules() {
        let g = group(2);
        let c = client(default_caps());
        let list = [by(1, reinit(1)), by(0, add(&c.key_package))];
        assert_eq!(
            g.check(&list, 0).unwrap_err(),
            Error::from(ProposalError::ReInitWithOtherProposals)
        );
        assert_eq!(
            g.check(&[by(1, reinit(0))], 0).unwrap_err(),
            Error::from(ProposalError::ReInitVersionDowngrade)
        );
        let applied = g.check(&[by(1, reinit(1))], 0).unwrap();
        assert_eq!(applied.reinit.map(|r| r.version), Some(ProtocolVersion(1)));
        assert_eq!(
            g.check(&[by(0, external_init())], 0).unwrap_err(),
            Error::from(ProposalError::ExternalInitInRegularCommit)
        );
    }

    #[test]
    fn senders_must_be_allowed_to_propose() {
        let g = group(3);
        let c = client(default_caps());
        let not_allowed = |proposal: &Proposal, sender| ProposalError::SenderNotAllowed {
            proposal_type: proposal.proposal_type(),
            sender,
        };
        let update = g.update(1);
        let list = [from(Sender::External(0), update.clone())];
        assert_eq!(
            g.check(&list, 0).unwrap_err(),
            Error::from(not_allowed(&update, Sender::External(0)))
        );
        let list = [from(Sender::NewMemberProposal, remove(1))];
        assert_eq!(
            g.check(&list, 0).unwrap_err(),
            Error::from(not_allowed(&remove(1), Sender::NewMemberProposal))
        );
        let list = [from(Sender::NewMemberCommit, remove(1))];
        assert_eq!(
            g.check(&list, 0).unwrap_err(),
            Error::from(not_allowed(&remove(1), Sender::NewMemberCommit))
        );
        let list = [by(7, remove(1))];
        assert_eq!(
            g.check(&list, 0).unwrap_err(),
            Error::from(ProposalError::SenderNotMember { leaf: 7 })
        );
        // Allowed: external Add/Remove/GCE/ReInit, new-member Add.
        assert!(g.check(&[from(Sender::External(0), remove(1))], 0).is_ok());
        assert!(g.check(&[from(Sender::External(0), gce(Vec::new()))], 0).is_ok());
        assert!(g.check(&[from(Sender::External(0), reinit(1))], 0).is_ok());
        assert!(
            g.check(&[from(Sender::NewMemberProposal, add(&c.key_package))], 0)
                .is_ok()
        );
    }

    #[test]
    fn invalid_leaf_nodes_and_key_packages_are_rejected() {
        let g = group(3);
        let moved = g.update_signed_for(1, 2);
        let error = LeafNodeError::InvalidSignature;
        assert_eq!(
            g.check(&[by(1, moved)], 0).unwrap_err(),
            Error::from(TreeError::InvalidLeafNode { leaf: 1, error })
        );
        let mut c = client(default_caps());
        c.key_package.cipher_suite = CipherSuite(2);
        let err = g.check(&[by(0, add(&c.key_package))], 0).unwrap_err();
        assert_eq!(err, Error::from(KeyPackageError::CipherSuiteMismatch));
        assert_eq!(err.code(), "key_package_cipher_suite_mismatch");
        c.key_package.cipher_suite = CipherSuite(1);
        c.key_package.extensions.push(custom_extension());
        let err = g.check(&[by(0, add(&c.key_package))], 0).unwrap_err();
        assert_eq!(err, Error::from(KeyPackageError::InvalidSignature));
    }

    #[test]
    fn external_commit_rules() {
        let g = group(3);
        let joiner = |proposal| from(Sender::NewMemberCommit, proposal);
        let (applied, tree) = g.apply(
            &[joiner(external_psk(b"p")), joiner(remove(1)), joiner(external_init())],
            Committer::External,
        );
        let applied = applied.unwrap();
        assert_eq!(applied.external_init.as_deref(), Some(&b"kem output"[..]));
        assert_eq!(applied.removed[0].0, LeafIndex(1));
        assert_eq!(applied.psks.len(), 1);
        assert!(applied.added.is_empty() && applied.path_required);
        assert!(tree.leaf(LeafIndex(1)).is_none());

        let count = |count| ProposalError::ExternalCommitExternalInitCount { count };
        assert_eq!(g.check_external(&[]).unwrap_err(), Error::from(count(0)));
        assert_eq!(
            g.check_external(&[joiner(external_psk(b"p"))]).unwrap_err(),
            Error::from(count(0))
        );
        let two = [joiner(external_init()), joiner(external_init())];
        assert_eq!(g.check_external(&two).unwrap_err(), Error::from(count(2)));
        let removes = [joiner(external_init()), joiner(remove(1)), joiner(remove(2))];
        assert_eq!(
            g.check_external(&removes).unwrap_err(),
            Error::from(ProposalError::ExternalCommitMultipleRemoves)
        );
        let c = client(default_caps());
        for proposal in [add(&c.key_package), g.update(1), gce(Vec::new()), reinit(1)] {
            let proposal_type = proposal.proposal_type();
            let list = [joiner(external_init()), joiner(proposal)];
            assert_eq!(
                g.check_external(&list).unwrap_err(),
                Error::from(ProposalError::ExternalCommitDisallowedProposal { proposal_type })
            );
        }
        let mut by_reference = joiner(external_psk(b"p"));
        by_reference.reference = Some(VLBytes::from(b"ref"));
        let list = [joiner(external_init()), by_reference];
        assert_eq!(
            g.check_external(&list).unwrap_err(),
            Error::from(ProposalError::ExternalCommitProposalByReference)
        );
        let list = [joiner(external_init()), by(0, remove(1))];
        assert!(matches!(
            g.check_external(&list).unwrap_err(),
            Error::Protocol(ProtocolError::Proposal(ProposalError::SenderNotAllowed {
                sender: Sender::Member(0),
                ..
            }))
        ));
        let list = [joiner(external_init()), joiner(remove(5))];
        assert_eq!(
            g.check_external(&list).unwrap_err(),
            Error::from(ProposalError::RemoveNonMember { leaf: 5 })
        );
        let list = [
            joiner(external_init()),
            joiner(resumption_psk(ResumptionPskUsage::Reinit)),
        ];
        assert_eq!(
            g.check_external(&list).unwrap_err(),
            Error::from(ProposalError::PskInvalidUsage)
        );
    }

    #[test]
    fn error_codes_are_stable() {
        assert_eq!(ProposalError::UpdateByCommitter.code(), "proposal_update_by_committer");
        assert_eq!(ProposalError::RemoveOfCommitter.code(), "proposal_remove_of_committer");
        assert_eq!(
            alloc::string::ToString::to_string(&ProposalError::DuplicatePsk),
            "the same PreSharedKeyID twice"
        );
    }
}
