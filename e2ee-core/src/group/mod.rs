//! The group state machine (RFC 9420 §11, §12): a member's view of one
//! epoch, joining by Welcome, and processing proposals, commits and
//! application messages.
//!
//! A [`Group`] holds everything one member needs for the current epoch: the
//! GroupContext, the ratchet tree, its TreeKEM private keys, the epoch's
//! secrets and secret tree, the interim transcript hash and the proposals
//! received so far. Each operation takes the suite's primitives as a
//! `&dyn CipherSuiteProvider`, like the layers below.

mod commit;
mod create;
mod external;
mod history;
mod join;
mod lifecycle;
mod process;
pub mod proposals;
mod send;
pub(crate) mod state;

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

pub use commit::{CommitOutput, CommitParams};
pub use create::OwnLeaf;
pub use external::ExternalJoinParams;
pub use join::JoinKeys;
pub use process::{CommitSummary, ProcessedMessage};

use crate::codec::{Decode, Encode, Size, encode};
use crate::crypto::{CipherSuiteProvider, Secret, SignatureKey, VerifierCache};
use crate::error::{Error, ProposalError, UsageError};
use crate::key_schedule::EpochSecrets;
use crate::messages::{GroupContext, PreSharedKeyId, Proposal, ProposalRef, Psk, ResumptionPskUsage, Sender};
use crate::psk::{PskInput, psk_secret};
use crate::ratchet_tree::{BasicCredentialValidator, CredentialValidator, RatchetTree};
use crate::secret_tree::{SecretTree, SecretTreeConfig};
use crate::tree_math::LeafIndex;
use crate::treekem::TreeKemPrivate;
use crate::vec_map::VecMap;

/// Limits and policies of a group. The defaults follow the RFC's
/// suggestions where it makes one.
#[derive(Clone, Copy, Debug)]
pub struct GroupConfig {
    /// Out-of-order window and retained keys of the secret tree.
    pub secret_tree: SecretTreeConfig,
    /// How many past epochs' resumption PSKs are kept (§8.6).
    pub max_resumption_psks: usize,
    /// How many proposals may be pending in one epoch.
    pub max_pending_proposals: usize,
    /// For how many past epochs application messages still open (the
    /// grace for messages sent just before a Commit); 0 deletes an epoch's
    /// keys as soon as the next begins.
    pub past_epochs: usize,
}

impl GroupConfig {
    /// The largest [`SecretTreeConfig::max_forward_distance`]: the number of
    /// hash steps one message may make a receiver compute.
    pub const MAX_FORWARD_DISTANCE: u32 = 100_000;
    /// The largest value of every other count of this configuration.
    pub const MAX_COUNT: usize = 10_000;

    /// Checks that every limit is within what this library can honour
    /// without letting one peer's messages take unbounded work or memory.
    pub fn check(&self) -> Result<(), Error> {
        let invalid = |field| Err(UsageError::InvalidConfig { field }.into());
        if self.secret_tree.max_forward_distance > Self::MAX_FORWARD_DISTANCE {
            return invalid("max_forward_distance");
        }
        let counts = [
            ("max_retained_keys", self.secret_tree.max_retained_keys as usize),
            ("max_resumption_psks", self.max_resumption_psks),
            ("max_pending_proposals", self.max_pending_proposals),
            ("past_epochs", self.past_epochs),
        ];
        match counts.into_iter().find(|(_, value)| *value > Self::MAX_COUNT) {
            Some((field, _)) => invalid(field),
            None => Ok(()),
        }
    }
}

impl Default for GroupConfig {
    fn default() -> Self {
        Self {
            secret_tree: SecretTreeConfig::default(),
            max_resumption_psks: 32,
            max_pending_proposals: 1000,
            past_epochs: 1,
        }
    }
}

/// Where external PSKs come from (§8.4); the application provisions them.
pub trait PskStore {
    /// The PSK with identifier `psk_id`, if known.
    fn external_psk(&self, psk_id: &[u8]) -> Option<Secret>;
}

/// No external PSKs.
impl PskStore for () {
    fn external_psk(&self, _: &[u8]) -> Option<Secret> {
        None
    }
}

impl PskStore for BTreeMap<Vec<u8>, Secret> {
    fn external_psk(&self, psk_id: &[u8]) -> Option<Secret> {
        self.get(psk_id).cloned()
    }
}

/// Who may join the group by external Commit (§12.4.3.2), an application
/// decision: the GroupInfo that makes such a join possible is public to
/// whoever holds it, and the joiner's signature vouches only for itself.
/// Every member should apply the same policy, or they will disagree on
/// which external Commits start the next epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExternalJoins {
    /// No external joins (the default).
    #[default]
    Deny,
    /// Only a client rejoining in place of its own earlier leaf (a
    /// "resync": the Commit removes that leaf, and the new credential must
    /// be an acceptable successor of the old one).
    Resync,
    /// Any client whose credential the Authentication Service accepts. Use
    /// only with a [`CredentialValidator`] that authenticates identities.
    Allow,
}

/// What a group operation needs from the application besides the message.
#[derive(Clone, Copy)]
pub struct Environment<'a> {
    /// The group's cipher suite.
    pub cs: &'a dyn CipherSuiteProvider,
    /// External PSKs.
    pub psks: &'a dyn PskStore,
    /// The Authentication Service: accepts or rejects credentials.
    pub credential_validator: &'a dyn CredentialValidator,
    /// The current time (seconds since the Unix epoch) for KeyPackage
    /// lifetimes; `None` skips lifetime checks.
    pub now: Option<u64>,
    /// Which external Commits are accepted.
    pub external_joins: ExternalJoins,
}

impl<'a> Environment<'a> {
    /// Suite `cs`, no external PSKs, basic credentials accepted, no clock,
    /// no external joins.
    pub fn basic(cs: &'a dyn CipherSuiteProvider) -> Self {
        Self {
            cs,
            psks: &(),
            credential_validator: &BasicCredentialValidator,
            now: None,
            external_joins: ExternalJoins::Deny,
        }
    }
}

/// Whether a pending proposal goes into this member's next Commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Size, Encode, Decode)]
#[repr(u8)]
pub enum Admission {
    /// Committed with the others: a member's proposal, but a ReInit.
    Accepted = 1,
    /// Waits for the application ([`Group::accept_proposal`]): a
    /// proposal from outside the group (a `new_member_proposal` Add, an
    /// external sender's), whose signature vouches only for itself, or a
    /// ReInit, which ends the group.
    Awaiting = 2,
}

impl PendingProposal {
    /// The proposal as a Commit by reference carries it.
    fn committed(&self) -> proposals::CommittedProposal {
        proposals::CommittedProposal {
            proposal: self.proposal.clone(),
            sender: self.sender,
            reference: Some(self.reference.clone()),
        }
    }
}

impl Admission {
    /// Where a proposal from `sender` starts.
    fn of(sender: Sender, proposal: &Proposal) -> Self {
        match (sender, proposal) {
            (Sender::Member(_), Proposal::ReInit(_)) => Self::Awaiting,
            (Sender::Member(_), _) => Self::Accepted,
            _ => Self::Awaiting,
        }
    }
}

/// A proposal received (or sent) in the current epoch, kept until a Commit
/// uses it or the epoch ends. Encodable for storing the state (state.rs).
#[derive(Clone, Debug, Size, Encode, Decode)]
pub struct PendingProposal {
    /// Its reference (§5.2).
    pub reference: ProposalRef,
    /// The proposal, checked on its own when received.
    pub proposal: Proposal,
    /// Who proposed it.
    pub sender: Sender,
    /// Whether this member's Commits include it.
    pub admission: Admission,
}

/// One member's state of a group in its current epoch.
pub struct Group {
    config: GroupConfig,
    context: GroupContext,
    tree: RatchetTree,
    private: TreeKemPrivate,
    signature_key: SignatureKey,
    /// Recent senders' signature keys, decoded (not stored).
    verifiers: VerifierCache,
    epoch: EpochSecrets,
    secret_tree: SecretTree,
    interim_transcript_hash: Vec<u8>,
    /// The confirmation tag of the Commit that started the epoch.
    confirmation_tag: Vec<u8>,
    pending: Vec<PendingProposal>,
    /// Resumption PSKs of past epochs, by epoch.
    resumption_psks: VecMap<u64, Secret>,
    /// Open (with this member's pending Commit and Update keys),
    /// reinitialized or closed.
    lifecycle: lifecycle::Lifecycle,
    /// Past epochs kept for late application messages.
    history: history::History,
}

impl core::fmt::Debug for Group {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Group")
            .field("group_id", &self.context.group_id)
            .field("epoch", &self.context.epoch)
            .field("own_leaf", &self.private.own_leaf())
            .finish_non_exhaustive()
    }
}

impl Group {
    /// The GroupContext of the current epoch.
    pub fn context(&self) -> &GroupContext {
        &self.context
    }

    /// The current epoch number.
    pub fn epoch(&self) -> u64 {
        self.context.epoch
    }

    /// The ratchet tree.
    pub fn tree(&self) -> &RatchetTree {
        &self.tree
    }

    /// This member's leaf.
    pub fn own_leaf(&self) -> LeafIndex {
        self.private.own_leaf()
    }

    /// Whether this member is still in the group.
    pub fn is_active(&self) -> bool {
        self.lifecycle.is_member()
    }

    /// Fails with [`UsageError::NotAMember`] once this member was removed.
    fn check_member(&self) -> Result<(), Error> {
        match self.is_active() {
            true => Ok(()),
            false => Err(UsageError::NotAMember.into()),
        }
    }

    /// Closes the group after this member's removal: every secret of the
    /// epoch, of past epochs and of the tree is deleted (§9.2), so neither
    /// memory nor a later export can open the epoch's remaining messages.
    fn close(&mut self) {
        self.lifecycle = lifecycle::Lifecycle::Closed;
        self.epoch = EpochSecrets::default();
        self.secret_tree.clear();
        self.private = TreeKemPrivate::new(self.private.own_leaf(), Secret::default());
        self.resumption_psks = VecMap::default();
        self.history.clear();
        self.pending.clear();
    }

    /// The parameters of a committed ReInit, once the group was closed by
    /// one (§11.2): its members are to move to a new group with them.
    pub fn reinit(&self) -> Option<&crate::messages::ReInit> {
        match &self.lifecycle {
            lifecycle::Lifecycle::Reinitialized(reinit) => Some(reinit),
            _ => None,
        }
    }

    /// The resumption PSK of `epoch` (the current or a kept past one), for
    /// linking a reinitialized or branched group (§8.6).
    pub fn resumption_psk(&self, epoch: u64) -> Option<&Secret> {
        if !self.is_active() {
            return None;
        }
        if epoch == self.context.epoch {
            Some(&self.epoch.resumption_psk)
        } else {
            self.resumption_psks.get(&epoch)
        }
    }

    /// The leaf at `leaf` in `epoch`: the current one or a kept past one
    /// (see [`GroupConfig::past_epochs`]), e.g. the sender of a late message.
    pub fn leaf_in_epoch(&self, epoch: u64, leaf: LeafIndex) -> Option<&crate::messages::LeafNode> {
        if epoch == self.context.epoch {
            return self.tree.leaf(leaf);
        }
        let position = self.history.position(epoch)?;
        self.history.leaf(position, leaf.0, &self.tree)
    }

    /// A proposal received (or sent) in this epoch, by reference.
    pub fn pending_proposal(&self, reference: &ProposalRef) -> Option<&Proposal> {
        self.pending_entry(reference).map(|p| &p.proposal)
    }

    /// The proposals received (or sent) in this epoch, in arrival order.
    pub fn pending_proposals(&self) -> &[PendingProposal] {
        &self.pending
    }

    /// Lets this member's Commits include the pending proposal `reference`
    /// (one that was [`Admission::Awaiting`] the application).
    pub fn accept_proposal(&mut self, reference: &ProposalRef) -> Result<(), Error> {
        let entry = self.pending.iter_mut().find(|p| p.reference == *reference);
        entry.ok_or(ProposalError::UnknownProposal)?.admission = Admission::Accepted;
        Ok(())
    }

    /// Drops the pending proposal `reference`: this member's Commits leave
    /// it out (another member's Commit may still include it).
    pub fn reject_proposal(&mut self, reference: &ProposalRef) -> Result<(), Error> {
        let position = self.pending.iter().position(|p| p.reference == *reference);
        self.pending.remove(position.ok_or(ProposalError::UnknownProposal)?);
        Ok(())
    }

    fn pending_entry(&self, reference: &ProposalRef) -> Option<&PendingProposal> {
        self.pending.iter().find(|p| p.reference == *reference)
    }

    /// The epoch authenticator (§8.7), for comparing epochs out of band.
    pub fn epoch_authenticator(&self) -> Result<&[u8], Error> {
        self.check_member()?;
        Ok(self.epoch.epoch_authenticator.as_bytes())
    }

    /// `MLS-Exporter(label, context, length)` of the current epoch (§8.5).
    pub fn export_secret(
        &self,
        cs: &dyn CipherSuiteProvider,
        label: &[u8],
        context: &[u8],
        len: u16,
    ) -> Result<Secret, Error> {
        self.check_member()?;
        Ok(self.epoch.export(cs, label, context, len)?)
    }

    /// The PSK secret for `ids` (§8.4): external PSKs from the store,
    /// resumption PSKs from this group's current or past epochs.
    fn psk_secret(&self, env: &Environment<'_>, ids: &[PreSharedKeyId]) -> Result<Option<Secret>, Error> {
        let group = Some((&self.context, &self.epoch, &self.resumption_psks));
        resolve_psk_secret(env, ids, group)
    }
}

/// The context leaf nodes of a group with `context` are validated in, with
/// its `required_capabilities` (decoded by the caller: `required`).
fn leaf_context<'a>(
    env: &Environment<'a>,
    context: &'a GroupContext,
    required: Option<&'a crate::messages::RequiredCapabilities>,
) -> crate::ratchet_tree::LeafValidationContext<'a> {
    crate::ratchet_tree::LeafValidationContext {
        cs: env.cs,
        group_id: &context.group_id,
        required_capabilities: required,
        now: env.now,
        max_lifetime: None,
        credential_validator: env.credential_validator,
    }
}

/// The current epoch's context and secrets, and the kept resumption PSKs.
type ResumptionSource<'a> = (&'a GroupContext, &'a EpochSecrets, &'a VecMap<u64, Secret>);

/// Looks up each PSK and derives `psk_secret`; `None` when there are none.
fn resolve_psk_secret(
    env: &Environment<'_>,
    ids: &[PreSharedKeyId],
    group: Option<ResumptionSource<'_>>,
) -> Result<Option<Secret>, Error> {
    if ids.is_empty() {
        return Ok(None);
    }
    let mut values = Vec::with_capacity(ids.len());
    let mut encoded = Vec::with_capacity(ids.len());
    for id in ids {
        values.push(lookup_psk(env, id, group)?);
        encoded.push(encode(id)?);
    }
    let inputs: Vec<PskInput<'_>> = encoded
        .iter()
        .zip(&values)
        .map(|(id, psk)| PskInput {
            id,
            psk: psk.as_bytes(),
        })
        .collect();
    Ok(Some(psk_secret(env.cs, &inputs)?))
}

fn lookup_psk(
    env: &Environment<'_>,
    id: &PreSharedKeyId,
    group: Option<ResumptionSource<'_>>,
) -> Result<Secret, Error> {
    match &id.psk {
        Psk::External { psk_id } => env.psks.external_psk(psk_id).ok_or(UsageError::PskNotFound.into()),
        Psk::Resumption {
            usage,
            psk_group_id,
            psk_epoch,
        } => {
            let (context, epoch, past) = group.ok_or(UsageError::PskNotFound)?;
            if *usage != ResumptionPskUsage::Application || *psk_group_id != context.group_id {
                return Err(UsageError::PskNotFound.into());
            }
            if *psk_epoch == context.epoch {
                return Ok(epoch.resumption_psk.clone());
            }
            past.get(psk_epoch).cloned().ok_or(UsageError::PskNotFound.into())
        }
    }
}
