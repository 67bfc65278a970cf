//! Processing received messages (RFC 9420 §6, §12.4.2): application data,
//! proposals (kept for a later Commit) and Commits (which advance the epoch).

use alloc::vec::Vec;

use super::external::{NewEpochSecrets, derive_epoch};
use super::history::PastEpoch;
use super::lifecycle::{EpochDraft, Lifecycle, StagedCommit};
use super::proposals::{
    self, AppliedProposals, CommittedProposal, Committer, ProposalContext, ProposalError, apply_proposals,
};
use super::{Admission, Environment, Error, ExternalJoins, Group, PendingProposal, leaf_context};
use crate::codec::{VLBytes, encode};
use crate::crypto::Labelled;
use crate::crypto::{CipherSuiteProvider, Secret, VerifierCache};
use crate::error::{Refusal, UsageError};
use crate::framing::{self, FramingError};
use crate::key_schedule::{self, EpochSchedule};
use crate::messages::{
    AuthenticatedContent, Commit, Content, ContentType, Extension, ExternalSenders, FramedContent, GroupContext,
    LeafNode, MlsMessage, MlsMessageBody, PrivateMessage, Proposal, ProposalOrRef, ProposalRef, ProtocolVersion,
    ReInit, RequiredCapabilities, Sender, WireFormat,
};
use crate::ratchet_tree::RatchetTree;
use crate::secret_tree::{KeyUse, SecretTree};
use crate::transcript;
use crate::tree_math::LeafIndex;
use crate::treekem;

/// What a processed message came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcessedMessage {
    /// Application data from a member.
    Application {
        /// The sender's leaf.
        sender: LeafIndex,
        /// The plaintext.
        data: Vec<u8>,
        /// The message's authenticated (unencrypted) data.
        authenticated_data: Vec<u8>,
    },
    /// A proposal, kept until a Commit covers it.
    Proposal {
        /// Who proposed it.
        sender: Sender,
        /// Its reference (§5.2).
        reference: ProposalRef,
    },
    /// A Commit that started a new epoch.
    Commit(CommitSummary),
}

/// The changes a Commit made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitSummary {
    /// The committer (`NewMemberCommit` for an external joiner).
    pub sender: Sender,
    /// The new epoch.
    pub epoch: u64,
    /// Leaves added (for an external Commit, the joiner's leaf too).
    pub added: Vec<LeafIndex>,
    /// Leaves removed, with their last leaf nodes.
    pub removed: Vec<(LeafIndex, LeafNode)>,
    /// Leaves updated by Update proposals or the committer's path.
    pub updated: Vec<LeafIndex>,
    /// Whether this member was removed (its group is then inactive).
    pub self_removed: bool,
    /// The parameters of a committed ReInit (§11.2): the group takes no
    /// further messages from this member; a new group is to be created.
    pub reinit: Option<ReInit>,
}

impl CommitSummary {
    /// The summary of a Commit from `sender` into `epoch` with `applied`
    /// proposals, as seen by the member at `own`.
    pub(super) fn new(sender: Sender, epoch: u64, applied: &AppliedProposals, own: LeafIndex) -> Self {
        Self {
            sender,
            epoch,
            added: applied.added.iter().map(|(i, _)| *i).collect(),
            removed: applied.removed.clone(),
            updated: applied.updated.clone(),
            self_removed: applied.removed.iter().any(|(i, _)| *i == own),
            reinit: applied.reinit.clone(),
        }
    }
}

impl Group {
    /// Processes a PublicMessage or PrivateMessage of the current epoch.
    pub fn process(&mut self, env: &Environment<'_>, message: &MlsMessage) -> Result<ProcessedMessage, Error> {
        self.check_member()?;
        if message.version != ProtocolVersion::MLS10 {
            return Err(FramingError::UnsupportedVersion.into());
        }
        if let MlsMessageBody::PrivateMessage(m) = &message.body
            && m.epoch < self.context.epoch
            && m.group_id == self.context.group_id
            && m.content_type == ContentType::Application
        {
            return self.process_past(env, m);
        }
        let (content, used) = self.unprotect(env, &message.body)?;
        self.verify_signature(env, &content)?;
        if let Some(used) = used {
            self.secret_tree.consume(used);
        }
        match content.content.content_type() {
            ContentType::Application => application(content),
            ContentType::Proposal => self.store_proposal(env, content),
            ContentType::Commit => self.process_commit(env, &content).map(ProcessedMessage::Commit),
        }
    }

    /// Opens an application message of a kept past epoch (§15.2); handshake
    /// messages of past epochs are refused like those of unknown epochs.
    fn process_past(&mut self, env: &Environment<'_>, m: &PrivateMessage) -> Result<ProcessedMessage, Error> {
        let position = self.history.position(m.epoch).ok_or(FramingError::WrongEpoch)?;
        let (content, used) = self.history.epochs[position].unprotect(env.cs, m)?;
        let (Sender::Member(leaf), ContentType::Application) = (content.content.sender, content.content.content_type())
        else {
            return Err(FramingError::WrongEpoch.into());
        };
        let key = &self
            .history
            .leaf(position, leaf, &self.tree)
            .ok_or(FramingError::InvalidSender)?
            .signature_key;
        let context = &self.history.epochs[position].context;
        verify_cached(&mut self.verifiers, env.cs, key, &content, context)?;
        self.history.epochs[position].secret_tree.consume(used);
        application(content)
    }

    /// The message's content, and for a PrivateMessage the use of its key,
    /// to consume once the signature verifies.
    fn unprotect(
        &mut self,
        env: &Environment<'_>,
        body: &MlsMessageBody,
    ) -> Result<(AuthenticatedContent, Option<KeyUse>), Error> {
        let cs = env.cs;
        match body {
            MlsMessageBody::PublicMessage(m) => {
                let membership_key = self.epoch.membership_key.as_bytes();
                Ok((
                    framing::unprotect_public(cs, membership_key, &self.context, m.clone())?,
                    None,
                ))
            }
            MlsMessageBody::PrivateMessage(m) => {
                let sender_data_secret = self.epoch.sender_data_secret.as_bytes();
                let (content, used) =
                    framing::open_private(cs, sender_data_secret, &mut self.secret_tree, &self.context, m)?;
                Ok((content, Some(used)))
            }
            _ => Err(FramingError::UnexpectedMessage.into()),
        }
    }

    /// Verifies the content's signature with the key its sender type names (§6.1).
    fn verify_signature(&mut self, env: &Environment<'_>, content: &AuthenticatedContent) -> Result<(), Error> {
        let key = self.sender_key(&content.content.sender, &content.content.content)?;
        verify_cached(&mut self.verifiers, env.cs, &key, content, &self.context)
    }

    fn sender_key(&self, sender: &Sender, content: &Content) -> Result<VLBytes, Error> {
        let key = match (sender, content) {
            (Sender::Member(i), _) => self.tree.leaf(LeafIndex(*i)).map(|l| l.signature_key.clone()),
            (Sender::NewMemberCommit, Content::Commit(c)) => c.path.as_ref().map(|p| p.leaf_node.signature_key.clone()),
            (Sender::NewMemberProposal, Content::Proposal(Proposal::Add(add))) => {
                Some(add.key_package.leaf_node.signature_key.clone())
            }
            (Sender::External(i), Content::Proposal(_)) => {
                let senders = Extension::find::<ExternalSenders>(&self.context.extensions)?;
                senders.and_then(|s| s.get(*i as usize).map(|e| e.signature_key.clone()))
            }
            _ => None,
        };
        key.ok_or(FramingError::InvalidSender.into())
    }

    fn store_proposal(
        &mut self,
        env: &Environment<'_>,
        content: AuthenticatedContent,
    ) -> Result<ProcessedMessage, Error> {
        if self.pending.len() >= self.config.max_pending_proposals {
            return Err(Refusal::TooManyProposals.into());
        }
        let reference: ProposalRef = env.cs.make_proposal_ref(&encode(&content)?)?.into();
        // A replay (by the Delivery Service, of a PublicMessage) is no new proposal.
        if self.pending_entry(&reference).is_some() {
            return Err(ProposalError::DuplicateProposal.into());
        }
        let sender = content.content.sender;
        let Content::Proposal(proposal) = content.content.content else {
            return Err(FramingError::UnexpectedMessage.into());
        };
        self.check_proposal(env, sender, &proposal)?;
        self.pending.push(PendingProposal {
            reference: reference.clone(),
            admission: Admission::of(sender, &proposal),
            proposal,
            sender,
        });
        Ok(ProcessedMessage::Proposal { sender, reference })
    }

    /// A received proposal must be valid on its own (§12.1), its PSK known.
    pub(super) fn check_proposal(
        &self,
        env: &Environment<'_>,
        sender: Sender,
        proposal: &Proposal,
    ) -> Result<(), Error> {
        let ctx = ProposalContext::new(env, &self.context);
        proposals::check_proposal(&ctx, &self.tree, sender, proposal)?;
        if let Proposal::PreSharedKey(psk) = proposal {
            self.psk_secret(env, core::slice::from_ref(&psk.psk))?;
        }
        Ok(())
    }

    /// Resolves the Commit's proposals: by value from the committer, by
    /// reference from the ones received this epoch.
    fn resolve_proposals(&self, commit: &Commit, sender: Sender) -> Result<Vec<CommittedProposal>, Error> {
        commit
            .proposals
            .iter()
            .map(|p| match p {
                ProposalOrRef::Proposal(proposal) => Ok(CommittedProposal {
                    proposal: proposal.clone(),
                    sender,
                    reference: None,
                }),
                ProposalOrRef::Reference(r) => {
                    let pending = self.pending_entry(r).ok_or(ProposalError::UnknownProposal)?;
                    Ok(pending.committed())
                }
            })
            .collect()
    }

    /// §12.4.2: validates and applies the Commit and moves to the next epoch.
    fn process_commit(
        &mut self,
        env: &Environment<'_>,
        content: &AuthenticatedContent,
    ) -> Result<CommitSummary, Error> {
        let Content::Commit(commit) = &content.content.content else {
            return Err(FramingError::UnexpectedMessage.into());
        };
        let sender = content.content.sender;
        let committer = match sender {
            Sender::Member(i) if LeafIndex(i) == self.own_leaf() => return Err(UsageError::OwnCommit.into()),
            Sender::Member(i) => Committer::Member(LeafIndex(i)),
            Sender::NewMemberCommit => Committer::External,
            _ => return Err(FramingError::InvalidSender.into()),
        };
        if committer == Committer::External {
            admit_external_join(env, commit)?;
        }
        let proposals = self.resolve_proposals(commit, sender)?;
        // Work on copies: a rejected Commit must leave the epoch untouched.
        let mut tree = self.tree.clone();
        let ctx = ProposalContext::new(env, &self.context);
        let applied = apply_proposals(&ctx, &mut tree, &proposals, committer)?;
        if committer == Committer::External {
            check_resync(env, commit, &applied)?;
        }
        let next = applied.next_context(&self.context)?;
        let summary = CommitSummary::new(sender, next.epoch, &applied, self.own_leaf());
        if summary.self_removed {
            self.accept_removal(env, commit, committer, &tree, &next)?;
            return Ok(summary);
        }
        let mut private = self.private.clone();
        private.forget_blank(&tree);
        self.apply_own_update(&applied, &tree, &mut private)?;
        let mut draft = EpochDraft {
            tree,
            private,
            context: next,
            summary,
        };
        let commit_secret = self.process_path(env, commit, committer, &applied, &mut draft)?;
        let staged = self.stage(env, content, &applied, draft, commit_secret)?;
        self.enter(staged)
    }

    /// Derives the epoch `draft` leads to and checks the Commit's
    /// confirmation tag against it (§8, §6.1).
    fn stage(
        &self,
        env: &Environment<'_>,
        content: &AuthenticatedContent,
        applied: &AppliedProposals,
        mut draft: EpochDraft,
        commit_secret: Option<Secret>,
    ) -> Result<StagedCommit, Error> {
        let init_secret = self.init_secret_for(env, applied)?;
        let psk_secret = self.psk_secret(env, &applied.psks)?;
        let next = &mut draft.context;
        let schedule = self.derive_next_epoch(env, content, next, &init_secret, commit_secret, psk_secret)?;
        let tag = content
            .auth
            .confirmation_tag
            .as_ref()
            .ok_or(FramingError::InvalidConfirmationTag)?;
        let key = schedule.epoch.confirmation_key.as_bytes();
        if !transcript::confirmation_tag_matches(env.cs, key, &next.confirmed_transcript_hash, tag) {
            return Err(FramingError::InvalidConfirmationTag.into());
        }
        let interim_transcript_hash =
            transcript::interim_transcript_hash(env.cs, &next.confirmed_transcript_hash, tag)?;
        Ok(StagedCommit {
            context: draft.context,
            tree: draft.tree,
            private: draft.private,
            schedule,
            interim_transcript_hash,
            confirmation_tag: tag.to_vec(),
            summary: draft.summary,
        })
    }

    /// A Commit that removes this member: this member cannot derive the new
    /// epoch (its leaf is gone from the tree the path encrypts to), so it
    /// checks what it can (the committer's leaf and path keys, against the
    /// tree after the proposals and the `next` GroupContext) and closes the
    /// group. An external Commit is not taken as a removal at all: its
    /// sender is no member, and without the new epoch nothing vouches for it
    /// (if the group accepted it, another client with this member's
    /// credential has taken its place).
    fn accept_removal(
        &mut self,
        env: &Environment<'_>,
        commit: &Commit,
        committer: Committer,
        tree: &RatchetTree,
        next: &GroupContext,
    ) -> Result<(), Error> {
        let Committer::Member(sender) = committer else {
            return Err(Refusal::ExternalCommitRemovesSelf.into());
        };
        if let Some(path) = &commit.path {
            // As the path is checked by the members who stay (`process_path`).
            let required = Extension::find::<RequiredCapabilities>(&next.extensions)?;
            let leaf_ctx = leaf_context(env, next, required.as_ref());
            tree.check_commit_leaf(&leaf_ctx, sender, &path.leaf_node)?;
            treekem::check_update_path_keys(env.cs, tree, sender, path)?;
        }
        self.close();
        Ok(())
    }

    /// The init secret of the next epoch: from an ExternalInit proposal's
    /// KEM output (§8.3), else the current epoch's.
    pub(super) fn init_secret_for(&self, env: &Environment<'_>, applied: &AppliedProposals) -> Result<Secret, Error> {
        match &applied.external_init {
            Some(kem_output) => {
                let external = self.epoch.external_key_pair(env.cs)?;
                key_schedule::external_init_receiver(env.cs, external.private.as_bytes(), kem_output)
                    .map_err(|_| ProposalError::InvalidKemOutput.into())
            }
            None => Ok(self.epoch.init_secret.clone()),
        }
    }

    /// The key schedule of the epoch `content` (a signed Commit) starts
    /// (§8): sets `next.confirmed_transcript_hash` from the interim hash and
    /// the Commit, then derives the epoch's secrets from `next`.
    pub(super) fn derive_next_epoch(
        &self,
        env: &Environment<'_>,
        content: &AuthenticatedContent,
        next: &mut GroupContext,
        init_secret: &Secret,
        commit_secret: Option<Secret>,
        psk_secret: Option<Secret>,
    ) -> Result<EpochSchedule, Error> {
        let secrets = NewEpochSecrets {
            init_secret: init_secret.clone(),
            commit_secret,
            psk_secret,
        };
        derive_epoch(env, &self.interim_transcript_hash, content, next, secrets)
    }

    /// Merges the Commit's UpdatePath (if any) into the draft's tree and
    /// returns the commit secret; without a path, only sets the new tree
    /// hash.
    fn process_path(
        &self,
        env: &Environment<'_>,
        commit: &Commit,
        committer: Committer,
        applied: &AppliedProposals,
        draft: &mut EpochDraft,
    ) -> Result<Option<Secret>, Error> {
        let EpochDraft {
            tree,
            private,
            context: next,
            summary,
        } = draft;
        let Some(path) = &commit.path else {
            if applied.path_required {
                return Err(ProposalError::PathRequired.into());
            }
            next.tree_hash = tree.tree_hash(env.cs)?.into();
            return Ok(None);
        };
        let required = Extension::find::<RequiredCapabilities>(&next.extensions)?;
        let leaf_ctx = leaf_context(env, next, required.as_ref());
        let sender = match committer {
            Committer::Member(i) => {
                tree.check_commit_leaf(&leaf_ctx, i, &path.leaf_node)?;
                i
            }
            // The joiner takes the leftmost free leaf (§12.4.3.2).
            Committer::External => {
                let leaf = tree.add_leaf(path.leaf_node.clone())?;
                tree.check_joiner_leaf(&leaf_ctx, leaf, &path.leaf_node)?;
                summary.added.push(leaf);
                leaf
            }
        };
        treekem::check_update_path_keys(env.cs, tree, sender, path)?;
        let added: Vec<LeafIndex> = applied.added.iter().map(|(i, _)| *i).collect();
        let processed = treekem::process_update_path(env.cs, tree, private, sender, path, next, &added)?;
        if committer != Committer::External {
            summary.updated.push(sender);
        }
        Ok(Some(processed.commit_secret))
    }

    /// Enters the staged Commit's epoch; the old epoch's resumption PSK is
    /// kept. Returns what the Commit changed.
    pub(super) fn enter(&mut self, staged: StagedCommit) -> Result<CommitSummary, Error> {
        let StagedCommit {
            context,
            tree,
            private,
            mut schedule,
            interim_transcript_hash: interim,
            confirmation_tag,
            summary,
        } = staged;
        let encryption_secret = core::mem::take(&mut schedule.epoch.encryption_secret);
        let secret_tree = SecretTree::with_config(encryption_secret, tree.n_leaves(), self.config.secret_tree)?;
        let old_secret_tree = core::mem::replace(&mut self.secret_tree, secret_tree);
        let old = core::mem::replace(&mut self.epoch, schedule.epoch);
        let old_context = core::mem::replace(&mut self.context, context);
        self.resumption_psks
            .insert(old_context.epoch, old.resumption_psk.clone());
        self.resumption_psks.keep_last(self.config.max_resumption_psks);
        if self.config.past_epochs > 0 {
            let sender_data_secret = old.sender_data_secret.clone();
            let past = PastEpoch::new(old_context, sender_data_secret, old_secret_tree, &self.tree, &tree);
            self.history.push(past, self.config.past_epochs);
        }
        self.tree = tree;
        self.private = private;
        self.interim_transcript_hash = interim;
        self.confirmation_tag = confirmation_tag;
        // Proposals, own Updates and any losing Commit of the old epoch are void now.
        self.pending.clear();
        self.lifecycle = Lifecycle::after(&summary);
        Ok(summary)
    }
}

/// Verifies `content`'s signature (§6.1) with `key`, decoded through the
/// group's cache of senders' keys.
fn verify_cached(
    verifiers: &mut VerifierCache,
    cs: &dyn CipherSuiteProvider,
    key: &[u8],
    content: &AuthenticatedContent,
    context: &GroupContext,
) -> Result<(), Error> {
    let verifier = verifiers.get(cs, key).map_err(|_| FramingError::InvalidSignature)?;
    framing::verify_content(verifier, content, context)
}

/// An application message's event, its data moved out of the content.
fn application(content: AuthenticatedContent) -> Result<ProcessedMessage, Error> {
    let Sender::Member(sender) = content.content.sender else {
        return Err(FramingError::InvalidSender.into());
    };
    // §6.2: application data is only ever sent as a PrivateMessage.
    if content.wire_format != WireFormat::PRIVATE_MESSAGE {
        return Err(FramingError::UnexpectedMessage.into());
    }
    let FramedContent {
        authenticated_data,
        content: Content::Application(data),
        ..
    } = content.content
    else {
        return Err(FramingError::UnexpectedMessage.into());
    };
    Ok(ProcessedMessage::Application {
        sender: LeafIndex(sender),
        data: data.into_vec(),
        authenticated_data: authenticated_data.into_vec(),
    })
}

/// The application's policy on external joins ([`ExternalJoins`]), checked
/// before any work is spent on the Commit.
fn admit_external_join(env: &Environment<'_>, commit: &Commit) -> Result<(), Error> {
    let resync = (commit.proposals.iter()).any(|p| matches!(p, ProposalOrRef::Proposal(Proposal::Remove(_))));
    match (env.external_joins, resync) {
        (ExternalJoins::Allow, _) | (ExternalJoins::Resync, true) => Ok(()),
        _ => Err(Refusal::ExternalJoin.into()),
    }
}

/// §12.4.3.2: a Remove in an external Commit may only take out the
/// joiner's own earlier leaf, whose credential the joiner's new leaf must
/// succeed as an Update's would (§12.1.2): by default, the same identity.
fn check_resync(env: &Environment<'_>, commit: &Commit, applied: &AppliedProposals) -> Result<(), Error> {
    let Some((leaf, old)) = applied.removed.first() else {
        return Ok(());
    };
    let path = commit.path.as_ref().ok_or(ProposalError::PathRequired)?;
    env.credential_validator
        .validate_successor(&old.credential, &path.leaf_node.credential)
        .map_err(|_| ProposalError::ExternalCommitRemovesOther { leaf: leaf.0 })?;
    Ok(())
}
