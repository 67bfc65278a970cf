//! Creating a Commit and its Welcome (RFC 9420 §12.4.1, §12.4.3.1).
//!
//! [`Group::commit`] computes the next epoch but does not enter it: the
//! Delivery Service may accept another member's Commit instead. The result
//! waits in the group as a pending Commit until the caller either merges it
//! ([`Group::merge_pending_commit`], once the DS accepted it) or drops it
//! ([`Group::clear_pending_commit`], when another Commit won and is then
//! processed). Only one Commit is pending at a time.

use alloc::boxed::Box;
use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use super::external::EpochView;
use super::lifecycle::StagedCommit;
use super::process::CommitSummary;
use super::proposals::{AppliedProposals, CommittedProposal, Committer, ProposalContext, apply_proposals};
use super::{Admission, Environment, Error, Group, PendingProposal};
use crate::crypto::{Rng, Secret};
use crate::error::{UsageError, WelcomeError};
use crate::key_package::key_package_ref;
use crate::key_schedule::{EpochSchedule, WelcomeSchedule};
use crate::messages::{
    AuthenticatedContent, Commit, Content, GroupContext, GroupInfo, GroupSecrets, MlsMessage, MlsMessageBody,
    PathSecret, Proposal, ProposalOrRef, ProtocolVersion, Sender, Welcome, WireFormat,
};
use crate::ratchet_tree::RatchetTree;
use crate::transcript;
use crate::tree_math::LeafIndex;
use crate::treekem::{CreatedUpdatePath, UpdatePathParams, create_update_path};
use crate::welcome::{Joiner, SignedGroupInfo};

/// What [`Group::commit`] commits, and how it is sent.
#[derive(Clone, Debug)]
pub struct CommitParams {
    /// Proposals committed by value, after those by reference.
    pub proposals: Vec<Proposal>,
    /// Also commit, by reference, the proposals received (or sent) in this
    /// epoch: all but this member's own Updates and Removes of itself, and
    /// per leaf one Update or Remove — a Remove if any, else the latest
    /// Update (§12.2, §12.4).
    pub include_pending: bool,
    /// Send an UpdatePath even if no proposal requires one (§12.4).
    pub force_path: bool,
    /// [`WireFormat::PUBLIC_MESSAGE`] or [`WireFormat::PRIVATE_MESSAGE`].
    pub wire_format: WireFormat,
    /// Put the ratchet tree into the GroupInfo (`ratchet_tree` extension,
    /// §12.4.3.3), so joiners need not fetch it.
    pub ratchet_tree_in_welcome: bool,
}

impl Default for CommitParams {
    /// Commits the pending proposals, as a PrivateMessage, with a path only
    /// if required and the ratchet tree in the Welcome.
    fn default() -> Self {
        Self {
            proposals: Vec::new(),
            include_pending: true,
            force_path: false,
            wire_format: WireFormat::PRIVATE_MESSAGE,
            ratchet_tree_in_welcome: true,
        }
    }
}

/// The messages of a Commit. The group stays in its epoch until
/// [`Group::merge_pending_commit`].
#[derive(Clone, Debug)]
pub struct CommitOutput {
    /// The Commit, protected with the current epoch's keys, for the group.
    pub commit: MlsMessage,
    /// A Welcome for the members the Commit adds, if any.
    pub welcome: Option<MlsMessage>,
    /// The signed GroupInfo of the new epoch, with the `external_pub`
    /// extension if the [`super::ExternalJoins`] policy lets external
    /// joins in (and the tree, if asked for), e.g. to publish for them.
    pub group_info: MlsMessage,
}

/// The proposals a Commit carries, applied to a copy of the tree.
struct Selected {
    proposals: Vec<ProposalOrRef>,
    tree: RatchetTree,
    applied: AppliedProposals,
}

/// A Commit with its proposals applied and its path made, before the new
/// epoch is derived (§12.4.1).
struct Prepared {
    commit: Commit,
    applied: AppliedProposals,
    /// The new tree.
    tree: RatchetTree,
    /// The provisional GroupContext; the new one once the epoch is derived.
    next: GroupContext,
    path: Option<CreatedUpdatePath>,
    psk_secret: Option<Secret>,
}

/// The new epoch's key schedule and transcript state.
struct NextEpoch {
    schedule: EpochSchedule,
    confirmation_tag: Vec<u8>,
    interim_transcript_hash: Vec<u8>,
}

impl Group {
    /// Creates a Commit (§12.4.1) of `params.proposals` and, if asked, the
    /// pending proposals, with the Welcome for any new members
    /// (§12.4.3.1). The new epoch is kept as this group's pending Commit,
    /// replacing any earlier one; the group stays in the current epoch.
    pub fn commit(
        &mut self,
        env: &Environment<'_>,
        params: CommitParams,
        rng: &mut Rng<'_>,
    ) -> Result<CommitOutput, Error> {
        self.check_active()?;
        let mut prepared = self.prepare_commit(env, &params, rng)?;
        let (content, epoch) = self.sign_commit(env, &mut prepared, params.wire_format)?;
        let (group_info, signed_group_info) =
            self.next_group_info(env, &prepared, &epoch, params.ratchet_tree_in_welcome)?;
        let welcome = if prepared.applied.added.is_empty() {
            None
        } else {
            Some(welcome(env, &prepared, &epoch.schedule, signed_group_info, rng)?)
        };
        // §12.4.1: protected with the old epoch's keys.
        let commit = self.protect(env, content, 0, rng)?;
        self.keep_pending_commit(prepared, epoch)?;
        Ok(CommitOutput {
            commit,
            welcome: welcome.map(|w| mls_message(MlsMessageBody::Welcome(w))),
            group_info: mls_message(MlsMessageBody::GroupInfo(group_info)),
        })
    }

    /// Whether a Commit of this member awaits merging.
    pub fn has_pending_commit(&self) -> bool {
        self.lifecycle.own().is_some_and(|own| own.commit.is_some())
    }

    /// Enters the epoch of this member's pending Commit, once the Delivery
    /// Service accepted it. Fails if there is none, or if it was made for an
    /// epoch the group has left since.
    pub fn merge_pending_commit(&mut self) -> Result<CommitSummary, Error> {
        let own = self.lifecycle.own_mut().ok();
        let staged = own.and_then(|own| own.commit.take()).ok_or_else(no_pending_commit)?;
        if staged.context.epoch != self.context.epoch + 1 {
            return Err(no_pending_commit());
        }
        self.enter(*staged)
    }

    /// Drops the pending Commit (the Delivery Service accepted another one,
    /// which is then processed as usual).
    pub fn clear_pending_commit(&mut self) {
        if let Ok(own) = self.lifecycle.own_mut() {
            own.commit = None;
        }
    }

    /// Resolves and applies the proposals on a copy of the tree and, if
    /// required or forced, creates the UpdatePath; sets the provisional
    /// GroupContext's epoch, extensions and tree hash (§12.4.1).
    fn prepare_commit(
        &self,
        env: &Environment<'_>,
        params: &CommitParams,
        rng: &mut Rng<'_>,
    ) -> Result<Prepared, Error> {
        let own = self.own_leaf();
        let Selected {
            proposals,
            mut tree,
            applied,
        } = self.select_proposals(env, params)?;
        let mut next = applied.next_context(&self.context)?;
        let path = if applied.path_required || params.force_path {
            let added: Vec<LeafIndex> = applied.added.iter().map(|(i, _)| *i).collect();
            let leaf_node = tree.leaf(own).ok_or(WelcomeError::NotInTree)?.clone();
            let path_params = UpdatePathParams {
                sender: own,
                leaf_node,
                signature_private_key: self.signature_key.private().as_bytes(),
                added_leaves: &added,
            };
            // Sets next.tree_hash; encrypts under the provisional context.
            Some(create_update_path(env.cs, &mut tree, path_params, &mut next, rng)?)
        } else {
            next.tree_hash = tree.tree_hash(env.cs)?.into();
            None
        };
        let commit = Commit {
            proposals,
            path: path.as_ref().map(|p| p.update_path.clone()),
        };
        let psk_secret = self.psk_secret(env, &applied.psks)?;
        Ok(Prepared {
            commit,
            applied,
            tree,
            next,
            path,
            psk_secret,
        })
    }

    /// The Commit's proposals: the accepted pending ones (if asked for) by
    /// reference, then `params.proposals` by value; applied to a copy of
    /// the tree. Pending proposals that do not fit with the others are
    /// left out (§12.4), so that no proposal, from anyone, can keep members
    /// from committing; invalid `params.proposals` are the caller's error.
    fn select_proposals(&self, env: &Environment<'_>, params: &CommitParams) -> Result<Selected, Error> {
        let own = self.own_leaf();
        let by_value: Vec<CommittedProposal> = (params.proposals.iter())
            .map(|proposal| CommittedProposal {
                proposal: proposal.clone(),
                sender: Sender::Member(own.0),
                reference: None,
            })
            .collect();
        let candidates = match params.include_pending {
            true => select_pending(&self.pending, own, &by_value),
            false => Vec::new(),
        };
        let ctx = ProposalContext::new(env, &self.context);
        let attempt = |pending: &[&PendingProposal]| {
            let mut list: Vec<CommittedProposal> = pending.iter().map(|p| p.committed()).collect();
            list.extend(by_value.iter().cloned());
            let mut tree = self.tree.clone();
            apply_proposals(&ctx, &mut tree, &list, Committer::Member(own)).map(|applied| (list, tree, applied))
        };
        let (list, tree, applied) = match attempt(&candidates) {
            Ok(all) => all,
            // Each pending proposal in turn, kept if it fits with those kept before.
            Err(_) if !candidates.is_empty() => {
                let mut kept = Vec::with_capacity(candidates.len());
                for candidate in candidates {
                    kept.push(candidate);
                    if attempt(&kept).is_err() {
                        kept.pop();
                    }
                }
                attempt(&kept)?
            }
            Err(e) => return Err(e),
        };
        let proposals = (list.into_iter())
            .map(|p| match p.reference {
                Some(reference) => ProposalOrRef::Reference(reference),
                None => ProposalOrRef::Proposal(p.proposal),
            })
            .collect();
        Ok(Selected {
            proposals,
            tree,
            applied,
        })
    }

    /// §12.4.1: signs the Commit under the old GroupContext for
    /// `wire_format`, derives the new epoch from it (which completes
    /// `prepared.next`) and adds the confirmation tag.
    fn sign_commit(
        &self,
        env: &Environment<'_>,
        prepared: &mut Prepared,
        wire_format: WireFormat,
    ) -> Result<(AuthenticatedContent, NextEpoch), Error> {
        let cs = env.cs;
        let commit = Content::Commit(prepared.commit.clone());
        let mut content = self.sign_content(commit, &[], wire_format)?;
        let init_secret = self.init_secret_for(env, &prepared.applied)?;
        let commit_secret = prepared.path.as_ref().map(|p| p.commit_secret.clone());
        let psk_secret = prepared.psk_secret.clone();
        let next = &mut prepared.next;
        let schedule = self.derive_next_epoch(env, &content, next, &init_secret, commit_secret, psk_secret)?;
        let confirmed = &next.confirmed_transcript_hash;
        let confirmation_tag = transcript::confirmation_tag(cs, schedule.epoch.confirmation_key.as_bytes(), confirmed);
        let interim_transcript_hash = transcript::interim_transcript_hash(cs, confirmed, &confirmation_tag)?;
        content.auth.confirmation_tag = Some(confirmation_tag.clone().into());
        Ok((
            content,
            NextEpoch {
                schedule,
                confirmation_tag,
                interim_transcript_hash,
            },
        ))
    }

    /// The signed GroupInfo of the new epoch (§12.4.3): its GroupContext,
    /// the `external_pub` for external joins (§12.4.3.2), the tree if asked
    /// for, and the Commit's confirmation tag; with its encoding.
    fn next_group_info(
        &self,
        env: &Environment<'_>,
        prepared: &Prepared,
        epoch: &NextEpoch,
        with_tree: bool,
    ) -> Result<(GroupInfo, SignedGroupInfo), Error> {
        let view = EpochView {
            context: &prepared.next,
            tree: &prepared.tree,
            secrets: &epoch.schedule.epoch,
            confirmation_tag: &epoch.confirmation_tag,
        };
        self.signed_group_info(env, &view, with_tree)
    }

    /// Keeps the new epoch as the pending Commit.
    fn keep_pending_commit(&mut self, prepared: Prepared, epoch: NextEpoch) -> Result<(), Error> {
        let summary = self.summary(&prepared.next, &prepared.applied, prepared.path.is_some());
        let private = match prepared.path {
            Some(path) => path.private,
            None => {
                let mut private = self.private.clone();
                private.forget_blank(&prepared.tree);
                private
            }
        };
        self.lifecycle.own_mut()?.commit = Some(Box::new(StagedCommit {
            context: prepared.next,
            tree: prepared.tree,
            private,
            schedule: epoch.schedule,
            interim_transcript_hash: epoch.interim_transcript_hash,
            confirmation_tag: epoch.confirmation_tag,
            summary,
        }));
        Ok(())
    }

    /// What the Commit changed, as processing it reports (the committer's
    /// leaf counts as updated when it sent a path).
    fn summary(&self, next: &GroupContext, applied: &AppliedProposals, with_path: bool) -> CommitSummary {
        let mut summary = CommitSummary::new(Sender::Member(self.own_leaf().0), next.epoch, applied, self.own_leaf());
        if with_path {
            summary.updated.push(self.own_leaf());
        }
        summary
    }
}

/// The pending proposals a Commit by `own` with `by_value` may cover
/// (§12.2): those accepted, not its own Updates nor Removes of itself, and
/// one Update or Remove per leaf that `by_value` does not remove already —
/// the first Remove if any, else the latest Update.
fn select_pending<'a>(
    pending: &'a [PendingProposal],
    own: LeafIndex,
    by_value: &[CommittedProposal],
) -> Vec<&'a PendingProposal> {
    // The leaf an Update or Remove is about, and whether it is a Remove.
    let target = |p: &PendingProposal| match (&p.proposal, p.sender) {
        (Proposal::Update(_), Sender::Member(leaf)) => Some((leaf, false)),
        (Proposal::Remove(r), _) => Some((r.removed, true)),
        _ => None,
    };
    // Sets of plain integers, as the proposal checks use: less WebAssembly.
    let mut removed = BTreeSet::new();
    removed.extend(by_value.iter().filter_map(|p| match &p.proposal {
        Proposal::Remove(r) => Some(r.removed),
        _ => None,
    }));
    let mut keep: Vec<bool> = (pending.iter())
        .map(|p| match target(p) {
            _ if p.admission != Admission::Accepted => false,
            None => true,
            Some((leaf, true)) => leaf != own.0 && removed.insert(leaf),
            Some((_, false)) => false,
        })
        .collect();
    // The latest Update of each leaf not removed: scanning from the end.
    let mut updated = BTreeSet::new();
    for (k, p) in pending.iter().enumerate().rev() {
        if let (Some((leaf, false)), Admission::Accepted) = (target(p), p.admission) {
            keep[k] = leaf != own.0 && !removed.contains(&leaf) && updated.insert(leaf);
        }
    }
    pending.iter().zip(keep).filter_map(|(p, k)| k.then_some(p)).collect()
}

/// The Welcome (§12.4.3.1): the GroupInfo encrypted under the welcome key,
/// and per new member the GroupSecrets — joiner secret, the path secret of
/// its lowest common ancestor with the committer (if a path was sent), the
/// PSK ids — encrypted to its KeyPackage's `init_key`.
fn welcome(
    env: &Environment<'_>,
    prepared: &Prepared,
    schedule: &EpochSchedule,
    group_info: SignedGroupInfo,
    rng: &mut Rng<'_>,
) -> Result<Welcome, Error> {
    let cs = env.cs;
    let joiner_secret = schedule.joiner_secret.as_bytes();
    let psk_secret = prepared.psk_secret.as_ref().map(Secret::as_bytes);
    let key_schedule = WelcomeSchedule::new(cs, joiner_secret, psk_secret)?;
    let sealed = group_info.seal(cs, &key_schedule)?;
    let added = &prepared.applied.added;
    let mut group_secrets = Vec::with_capacity(added.len());
    let mut refs = Vec::with_capacity(added.len());
    for (leaf, key_package) in added {
        let path_secret = prepared.path.as_ref().and_then(|p| p.path_secret_for(*leaf));
        group_secrets.push(GroupSecrets {
            joiner_secret: joiner_secret.into(),
            path_secret: path_secret.map(|s| PathSecret {
                path_secret: s.as_bytes().into(),
            }),
            psks: prepared.applied.psks.clone(),
        });
        refs.push(key_package_ref(cs, key_package)?);
    }
    let joiners: Vec<_> = (added.iter().zip(&refs).zip(&group_secrets))
        .map(|(((_, key_package), kp_ref), secrets)| Joiner {
            key_package_ref: kp_ref,
            init_key: key_package.init_key.as_slice(),
            secrets,
        })
        .collect();
    let secrets = sealed.seal_group_secrets(cs, &joiners, rng)?;
    Ok(Welcome {
        cipher_suite: cs.cipher_suite(),
        secrets,
        encrypted_group_info: sealed.into_encrypted_group_info().into(),
    })
}

fn mls_message(body: MlsMessageBody) -> MlsMessage {
    MlsMessage {
        version: ProtocolVersion::MLS10,
        body,
    }
}

/// There is no pending Commit for the current epoch.
fn no_pending_commit() -> Error {
    UsageError::NoPendingCommit.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{GroupContextExtensions, Remove, Update};
    use crate::ratchet_tree::test_utils::kp_leaf;

    /// A pending proposal named `name` (its reference) from member `from`.
    fn pending(name: &[u8], from: u32, proposal: Proposal) -> PendingProposal {
        PendingProposal {
            reference: name.into(),
            proposal,
            sender: Sender::Member(from),
            admission: Admission::Accepted,
        }
    }

    fn update(name: &[u8], leaf: u32) -> PendingProposal {
        pending(
            name,
            leaf,
            Proposal::Update(Update {
                leaf_node: kp_leaf(leaf),
            }),
        )
    }

    fn remove(name: &[u8], leaf: u32) -> PendingProposal {
        pending(name, 1, Proposal::Remove(Remove { removed: leaf }))
    }

    #[test]
    fn selects_the_first_remove_else_the_latest_update_per_leaf() {
        let gce = Proposal::GroupContextExtensions(GroupContextExtensions { extensions: Vec::new() });
        let all = [
            update(b"u1 old", 1),
            remove(b"r2 first", 2),
            update(b"u2", 2),
            pending(b"gce", 3, gce),
            update(b"u1 new", 1),
            remove(b"r2 again", 2),
            remove(b"r0 own", 0),
            update(b"u0 own", 0),
            remove(b"r3", 3),
            update(b"u3 after its remove", 3),
        ];
        let chosen: Vec<&[u8]> = (select_pending(&all, LeafIndex(0), &[]).iter())
            .map(|p| p.reference.as_slice())
            .collect();
        let expected: [&[u8]; 4] = [b"r2 first", b"gce", b"u1 new", b"r3"];
        assert_eq!(chosen, expected);
    }
}
