//! A member's group in the high-level API: sealing, opening with events,
//! Commits that wait for the Delivery Service, and ordering (late messages,
//! messages of future epochs, lost Commit races).

use alloc::vec::Vec;

use super::inbox::{Inbox, Limits};
use super::{Validator, environment};
use crate::Error;
use crate::codec::encode;
use crate::crypto::{CipherSuiteProvider, os_rng};
use crate::error::{FramingError, ProposalError, UsageError};
use crate::group::{
    self as low, CommitParams, CommitSummary, Environment, ExternalJoins, GroupConfig, ProcessedMessage,
};
use crate::messages::{Credential, LeafNode, MlsMessage, MlsMessageBody, Proposal, Sender, WireFormat};
use crate::tree_math::LeafIndex;

/// How handshake messages (proposals and Commits) are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeFormat {
    /// As PublicMessages: the Delivery Service can see who is added and
    /// removed (and so enforce membership), but not the content of any
    /// application message.
    Public,
    /// As PrivateMessages: the Delivery Service sees only the sender's
    /// group, epoch and the content type.
    Private,
}

/// Policies of a group in the high-level API.
#[derive(Clone, Copy, Debug)]
pub struct GroupOptions {
    /// Limits of the protocol state: out-of-order window, past epochs kept
    /// for late messages, pending proposals.
    pub group_config: GroupConfig,
    /// How proposals and Commits are sent.
    pub handshake_wire_format: HandshakeFormat,
    /// Zero bytes appended to every application plaintext before sealing,
    /// to hide its length (at most [`crate::framing::MAX_PADDING`]).
    pub padding: usize,
    /// How many messages of future epochs are held until their epoch begins.
    pub max_buffered: usize,
    /// How many epochs ahead of the current one a message may be and still
    /// be held; messages further ahead are refused at once (`future_epoch`)
    /// and take no room from the ones that may be genuine.
    pub max_epochs_ahead: u64,
    /// How many bytes (encoded) those held messages may take together: they
    /// cannot be authenticated before their epoch begins, so this bounds
    /// the memory anyone able to inject messages can take.
    pub max_buffered_bytes: usize,
    /// Who may join by external Commit: nobody by default. Members of a
    /// group should agree on it (see [`ExternalJoins`]).
    pub external_joins: ExternalJoins,
}

impl GroupOptions {
    /// The largest [`Self::max_buffered`].
    pub const MAX_BUFFERED: usize = 10_000;
    /// The largest [`Self::max_buffered_bytes`].
    pub const MAX_BUFFERED_BYTES: usize = 256 << 20;
    /// The largest [`Self::max_epochs_ahead`].
    pub const MAX_EPOCHS_AHEAD: u64 = 64;

    /// Checks every option (`invalid_option`, `invalid_config`).
    pub fn check(&self) -> Result<(), Error> {
        self.group_config.check()?;
        let invalid = |option| Err(UsageError::InvalidOption { option }.into());
        if self.padding > crate::framing::MAX_PADDING {
            return invalid("padding");
        }
        if self.max_buffered > Self::MAX_BUFFERED {
            return invalid("max_buffered");
        }
        if self.max_buffered_bytes > Self::MAX_BUFFERED_BYTES {
            return invalid("max_buffered_bytes");
        }
        if self.max_epochs_ahead > Self::MAX_EPOCHS_AHEAD {
            return invalid("max_epochs_ahead");
        }
        Ok(())
    }

    fn hold_limits(&self) -> Limits {
        Limits {
            count: self.max_buffered,
            bytes: self.max_buffered_bytes,
            epochs_ahead: self.max_epochs_ahead,
        }
    }
}

/// A member of the group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Its leaf index, stable while it stays in the group.
    pub index: u32,
    /// The identity of its basic credential (for an X.509 credential, the
    /// DER of its end-entity certificate).
    pub identity: Vec<u8>,
    /// The public key it signs with.
    pub signature_key: Vec<u8>,
}

impl Member {
    fn new(index: u32, leaf: &LeafNode) -> Self {
        Self {
            index,
            identity: Self::identity_of(&leaf.credential),
            signature_key: leaf.signature_key.to_vec(),
        }
    }

    /// The identity a credential shows: a basic credential's identity, an
    /// X.509 credential's end-entity certificate (DER).
    pub fn identity_of(credential: &Credential) -> Vec<u8> {
        match credential {
            Credential::Basic(identity) => identity.to_vec(),
            Credential::X509(chain) => chain.first().map(|c| c.cert_data.to_vec()).unwrap_or_default(),
        }
    }
}

/// What a member meant to do with a Commit, so it can try again when
/// another member's Commit won the epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Intent {
    /// Add the owners of these KeyPackages.
    Add(Vec<Vec<u8>>),
    /// Remove the members at these leaves.
    Remove(Vec<u32>),
    /// Refresh own keys.
    Update,
    /// Commit the proposals received.
    CommitProposals,
}

/// What a proposal proposes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProposalKind {
    /// Add the identity of a KeyPackage.
    Add {
        /// The identity of the KeyPackage's credential.
        identity: Vec<u8>,
    },
    /// Remove a member (by itself: it leaves).
    Remove {
        /// The member's leaf index.
        index: u32,
    },
    /// The sender refreshes its keys.
    Update,
    /// Anything else (PSK, ReInit, external init, context extensions).
    Other,
}

/// What opening a message (or merging an own Commit) came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Application data from an authenticated member.
    Message {
        /// The sender, as it was in the message's epoch.
        sender: Member,
        /// The plaintext.
        data: Vec<u8>,
        /// The unencrypted, authenticated data sent along.
        authenticated_data: Vec<u8>,
        /// The epoch it was sent in.
        epoch: u64,
    },
    /// A proposal, kept for the next Commit (see [`Group::pending_proposals`]).
    Proposal {
        /// The proposing member, if a member proposed it.
        sender: Option<Member>,
        /// What it proposes.
        kind: ProposalKind,
        /// Its reference, to accept or reject it by.
        reference: Vec<u8>,
        /// Whether this member's next Commit includes it. A proposal from
        /// outside the group, or a ReInit, waits for
        /// [`Group::accept_proposal`].
        accepted: bool,
    },
    /// A Commit started a new epoch.
    EpochChanged {
        /// The new epoch.
        epoch: u64,
        /// Who committed (`None`: a new member joining by external Commit).
        committer: Option<Member>,
        /// Members added, the external joiner included.
        added: Vec<Member>,
        /// Members removed, as they were.
        removed: Vec<Member>,
        /// Members whose keys were refreshed.
        updated: Vec<Member>,
        /// This member was removed: the group is closed for it.
        self_removed: bool,
    },
    /// Another member's Commit won the epoch this member's pending Commit
    /// was for; the pending one is void. Retry with [`Group::retry`].
    CommitLost {
        /// What the lost Commit was to do.
        intent: Intent,
    },
    /// The message is for a future epoch; it is held and opened (and its
    /// events returned) once that epoch begins.
    Deferred {
        /// The message's epoch.
        epoch: u64,
    },
    /// A held message failed once its epoch began.
    Rejected {
        /// Why.
        error: Error,
    },
}

/// A proposal of the current epoch that no Commit has covered yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingProposal {
    /// Its reference, to accept or reject it by.
    pub reference: Vec<u8>,
    /// The proposing member; `None` for a proposal from outside the group
    /// (a client asking to be added, or an external sender).
    pub sender: Option<Member>,
    /// What it proposes.
    pub kind: ProposalKind,
    /// Whether this member's next Commit includes it.
    pub accepted: bool,
}

/// A Commit to send to the group, with the Welcome for new members and the
/// new epoch's GroupInfo (with the ratchet tree, for external joins).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitBundle {
    /// The Commit (encoded `MLSMessage`).
    pub commit: Vec<u8>,
    /// The Welcome for added members, if any.
    pub welcome: Option<Vec<u8>>,
    /// The GroupInfo of the epoch the Commit starts.
    pub group_info: Vec<u8>,
}

/// What a stored group consists of: the protocol state, the pending own
/// Commit and the held messages.
pub(super) type StoredParts<'a> = (&'a low::Group, Option<(&'a [u8], &'a Intent)>, &'a [(u64, MlsMessage)]);

/// One member's state of one group.
pub struct Group {
    inner: low::Group,
    pub(super) cs: &'static dyn CipherSuiteProvider,
    validator: Validator,
    options: GroupOptions,
    /// The own Commit sent and not yet merged: its bytes and purpose.
    pending: Option<(Vec<u8>, Intent)>,
    inbox: Inbox,
}

impl core::fmt::Debug for Group {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Group")
            .field("inner", &self.inner)
            .field("pending", &self.pending.as_ref().map(|(_, i)| i))
            .finish_non_exhaustive()
    }
}

impl Group {
    pub(super) fn new(
        inner: low::Group,
        cs: &'static dyn CipherSuiteProvider,
        validator: Validator,
        options: GroupOptions,
    ) -> Self {
        Self {
            inner,
            cs,
            validator,
            options,
            pending: None,
            inbox: Inbox::default(),
        }
    }

    /// The protocol state, the pending own Commit (bytes and purpose) and
    /// the held messages, for storing.
    pub(super) fn parts(&self) -> StoredParts<'_> {
        let pending = self.pending.as_ref().map(|(c, i)| (c.as_slice(), i));
        (&self.inner, pending, self.inbox.held())
    }

    /// Puts back what [`Group::parts`] gave, after restoring.
    pub(super) fn restore_parts(&mut self, pending: Option<(Vec<u8>, Intent)>, held: Vec<(u64, MlsMessage)>) {
        self.pending = pending;
        self.inbox = Inbox::from_held(held);
    }

    /// The options this group works with.
    pub fn options(&self) -> &GroupOptions {
        &self.options
    }

    /// The group's id.
    pub fn id(&self) -> &[u8] {
        &self.inner.context().group_id
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        self.inner.epoch()
    }

    /// This member's leaf index.
    pub fn own_index(&self) -> u32 {
        self.inner.own_leaf().0
    }

    /// Whether this member is still in the group.
    pub fn is_active(&self) -> bool {
        self.inner.is_active()
    }

    /// The members, by leaf index.
    pub fn members(&self) -> Vec<Member> {
        let tree = self.inner.tree();
        (0..tree.n_leaves())
            .filter_map(|i| tree.leaf(LeafIndex(i)).map(|l| Member::new(i, l)))
            .collect()
    }

    /// The member at `index`, if any.
    pub fn member(&self, index: u32) -> Option<Member> {
        self.inner.tree().leaf(LeafIndex(index)).map(|l| Member::new(index, l))
    }

    /// The epoch authenticator (§8.7): equal for all members in the same
    /// epoch; compare it out of band to detect a split view.
    pub fn epoch_authenticator(&self) -> Result<Vec<u8>, Error> {
        Ok(self.inner.epoch_authenticator()?.to_vec())
    }

    /// `MLS-Exporter(label, context, length)` of the current epoch (§8.5).
    pub fn export_secret(&self, label: &[u8], context: &[u8], length: u16) -> Result<Vec<u8>, Error> {
        Ok(self
            .inner
            .export_secret(self.cs, label, context, length)?
            .as_bytes()
            .to_vec())
    }

    /// A signed GroupInfo of the current epoch with the ratchet tree and
    /// `external_pub`, for joining by external Commit.
    pub fn group_info(&self) -> Result<Vec<u8>, Error> {
        Ok(encode(&self.inner.group_info(&self.env(), true)?)?)
    }

    /// Encrypts application data (and authenticates `authenticated_data`,
    /// which travels unencrypted) for the current epoch.
    pub fn seal(&mut self, data: &[u8], authenticated_data: &[u8]) -> Result<Vec<u8>, Error> {
        let env = environment(self.cs, &*self.validator, &self.options);
        let message = self
            .inner
            .seal(&env, data, authenticated_data, self.options.padding, &mut os_rng())?;
        Ok(encode(&message)?)
    }

    /// Opens any message for this group: application data, proposals,
    /// Commits (including this member's own, echoed by the Delivery
    /// Service, which merges it). Messages of a future epoch are held and
    /// opened when it begins; their events then follow that epoch change.
    ///
    /// Once this member was removed ([`Group::is_active`] is false) every
    /// message fails with `UsageError::NotAMember` (code `not_a_member`) and
    /// nothing is held: the epochs that follow are closed to it.
    pub fn open(&mut self, message: &[u8]) -> Result<Vec<Event>, Error> {
        if self.pending.as_ref().is_some_and(|(own, _)| own.as_slice() == message) {
            return self.merge_commit();
        }
        if !self.is_active() {
            return Err(UsageError::NotAMember.into());
        }
        let message = super::decode_message(message)?;
        let epoch = self.check_header(&message)?;
        if epoch > self.epoch() {
            self.inbox
                .hold(self.epoch(), epoch, message, self.options.hold_limits())?;
            return Ok(vec![Event::Deferred { epoch }]);
        }
        let mut events = self.process(&message)?;
        self.release(&mut events);
        Ok(events)
    }

    /// Adds the owners of `key_packages` (encoded `MLSMessage`s).
    pub fn add(&mut self, key_packages: &[Vec<u8>]) -> Result<CommitBundle, Error> {
        self.add_with_path(key_packages, false)
    }

    /// Adds the owners of `key_packages`; with `update_path`, the Commit also
    /// refreshes this member's keys (an UpdatePath, which an add alone does
    /// not need).
    pub fn add_with_path(&mut self, key_packages: &[Vec<u8>], update_path: bool) -> Result<CommitBundle, Error> {
        let proposals = key_packages
            .iter()
            .map(|kp| match super::decode_message(kp)?.body {
                MlsMessageBody::KeyPackage(kp) => Ok(low::Group::add_proposal(kp)),
                _ => Err(FramingError::NotAKeyPackage.into()),
            })
            .collect::<Result<_, Error>>()?;
        self.commit(proposals, update_path, Intent::Add(key_packages.to_vec()))
    }

    /// Removes the members at leaf indices `members`.
    pub fn remove(&mut self, members: &[u32]) -> Result<CommitBundle, Error> {
        if members.iter().any(|&i| self.member(i).is_none()) {
            return Err(UsageError::NoSuchMember.into());
        }
        let proposals = members
            .iter()
            .map(|&i| low::Group::remove_proposal(LeafIndex(i)))
            .collect();
        self.commit(proposals, false, Intent::Remove(members.to_vec()))
    }

    /// Refreshes this member's keys (a Commit with an UpdatePath), for
    /// post-compromise security.
    pub fn update(&mut self) -> Result<CommitBundle, Error> {
        self.commit(Vec::new(), true, Intent::Update)
    }

    /// Commits the accepted proposals of this epoch (e.g. a member's
    /// request to leave). Every Commit includes them anyway.
    pub fn commit_proposals(&mut self) -> Result<CommitBundle, Error> {
        self.commit(Vec::new(), false, Intent::CommitProposals)
    }

    /// Asks to leave: a proposal removing this member, which another member
    /// commits (a member cannot commit its own removal).
    pub fn leave(&mut self) -> Result<Vec<u8>, Error> {
        let env = environment(self.cs, &*self.validator, &self.options);
        let proposal = low::Group::remove_proposal(self.inner.own_leaf());
        let (message, _) = self.inner.propose(&env, proposal, self.wire_format(), &mut os_rng())?;
        Ok(encode(&message)?)
    }

    /// The proposals received (or sent) in this epoch, in arrival order.
    /// A Commit of this member includes the accepted ones that are valid
    /// together; the others wait for [`Group::accept_proposal`].
    pub fn pending_proposals(&self) -> Vec<PendingProposal> {
        (self.inner.pending_proposals().iter())
            .map(|p| PendingProposal {
                reference: p.reference.to_vec(),
                sender: self.sender_member(p.sender),
                kind: kind_of(&p.proposal),
                accepted: p.admission == low::Admission::Accepted,
            })
            .collect()
    }

    /// Lets this member's Commits include the pending proposal
    /// `reference`: the application's decision, e.g. to admit a client
    /// that asked to be added.
    pub fn accept_proposal(&mut self, reference: &[u8]) -> Result<(), Error> {
        let reference = reference.into();
        self.inner
            .accept_proposal(&reference)
            .map_err(|_| UsageError::NoSuchProposal.into())
    }

    /// Drops the pending proposal `reference` from this member's Commits.
    pub fn reject_proposal(&mut self, reference: &[u8]) -> Result<(), Error> {
        let reference = reference.into();
        self.inner
            .reject_proposal(&reference)
            .map_err(|_| UsageError::NoSuchProposal.into())
    }

    /// How many messages of future epochs are held.
    pub fn deferred(&self) -> usize {
        self.inbox.len()
    }

    /// Whether an own Commit waits for the Delivery Service's answer.
    pub fn has_pending_commit(&self) -> bool {
        self.pending.is_some()
    }

    /// Enters the epoch of this member's pending Commit, once the Delivery
    /// Service accepted it (opening the Commit's echo does the same).
    pub fn merge_commit(&mut self) -> Result<Vec<Event>, Error> {
        let summary = self.inner.merge_pending_commit()?;
        self.pending = None;
        let mut events = vec![self.epoch_changed(&summary)];
        self.release(&mut events);
        Ok(events)
    }

    /// Drops the pending Commit, when the Delivery Service refused it; then
    /// open the Commit that won and retry with [`Group::retry`].
    pub fn discard_commit(&mut self) -> Option<Intent> {
        self.inner.clear_pending_commit();
        self.pending.take().map(|(_, intent)| intent)
    }

    /// Commits `intent` again in the current epoch, leaving out members
    /// already removed. `None` when nothing is left to do.
    pub fn retry(&mut self, intent: &Intent) -> Result<Option<CommitBundle>, Error> {
        match intent {
            Intent::Add(key_packages) => self.add(key_packages).map(Some),
            Intent::Remove(members) => {
                let left: Vec<u32> = members.iter().copied().filter(|&i| self.member(i).is_some()).collect();
                if left.is_empty() {
                    return Ok(None);
                }
                self.remove(&left).map(Some)
            }
            Intent::Update => self.update().map(Some),
            Intent::CommitProposals => self.commit_proposals().map(Some),
        }
    }

    fn env(&self) -> Environment<'_> {
        environment(self.cs, &*self.validator, &self.options)
    }

    fn wire_format(&self) -> WireFormat {
        match self.options.handshake_wire_format {
            HandshakeFormat::Public => WireFormat::PUBLIC_MESSAGE,
            HandshakeFormat::Private => WireFormat::PRIVATE_MESSAGE,
        }
    }

    fn commit(&mut self, proposals: Vec<Proposal>, force_path: bool, intent: Intent) -> Result<CommitBundle, Error> {
        if self.pending.is_some() {
            return Err(UsageError::CommitPending.into());
        }
        let params = CommitParams {
            proposals,
            include_pending: true,
            force_path,
            wire_format: self.wire_format(),
            ratchet_tree_in_welcome: true,
        };
        let env = environment(self.cs, &*self.validator, &self.options);
        let out = self.inner.commit(&env, params, &mut os_rng())?;
        let bundle = CommitBundle {
            commit: encode(&out.commit)?,
            welcome: out.welcome.as_ref().map(encode).transpose()?,
            group_info: encode(&out.group_info)?,
        };
        self.pending = Some((bundle.commit.clone(), intent));
        Ok(bundle)
    }

    /// The epoch of a group message for this group.
    fn check_header(&self, message: &MlsMessage) -> Result<u64, Error> {
        let (group_id, epoch) = match &message.body {
            MlsMessageBody::PublicMessage(m) => (&m.content.group_id, m.content.epoch),
            MlsMessageBody::PrivateMessage(m) => (&m.group_id, m.epoch),
            _ => return Err(FramingError::NotAGroupMessage.into()),
        };
        if group_id.as_slice() != self.id() {
            return Err(FramingError::WrongGroup.into());
        }
        Ok(epoch)
    }

    fn process(&mut self, message: &MlsMessage) -> Result<Vec<Event>, Error> {
        let env = environment(self.cs, &*self.validator, &self.options);
        let epoch = self.check_header(message)?;
        let processed = self.inner.process(&env, message)?;
        Ok(match processed {
            ProcessedMessage::Application {
                sender,
                data,
                authenticated_data,
            } => {
                let leaf = self.inner.leaf_in_epoch(epoch, sender);
                let sender = Member::new(sender.0, leaf.ok_or(FramingError::InvalidSender)?);
                vec![Event::Message {
                    sender,
                    data,
                    authenticated_data,
                    epoch,
                }]
            }
            ProcessedMessage::Proposal { reference, .. } => {
                let pending = (self.pending_proposals().into_iter())
                    .find(|p| p.reference == reference.as_slice())
                    .ok_or(ProposalError::UnknownProposal)?;
                vec![Event::Proposal {
                    sender: pending.sender,
                    kind: pending.kind,
                    reference: pending.reference,
                    accepted: pending.accepted,
                }]
            }
            ProcessedMessage::Commit(summary) => {
                // A Commit of another member took the epoch: an own pending one is void.
                let lost = self.pending.take().map(|(_, intent)| Event::CommitLost { intent });
                lost.into_iter().chain([self.epoch_changed(&summary)]).collect()
            }
        })
    }

    /// Opens the held messages whose epoch has begun, appending their
    /// events; repeats while they start further epochs.
    fn release(&mut self, events: &mut Vec<Event>) {
        loop {
            if !self.is_active() {
                // Removed: the epochs the held messages wait for never begin here.
                self.inbox.clear();
                return;
            }
            let ready = self.inbox.take_ready(self.epoch());
            if ready.is_empty() {
                return;
            }
            for message in ready {
                match self.process(&message) {
                    Ok(more) => events.extend(more),
                    Err(error) => events.push(Event::Rejected { error }),
                }
            }
        }
    }

    fn sender_member(&self, sender: Sender) -> Option<Member> {
        match sender {
            Sender::Member(i) => self.member(i),
            _ => None,
        }
    }

    fn epoch_changed(&self, summary: &CommitSummary) -> Event {
        let members = |leaves: &[LeafIndex]| leaves.iter().filter_map(|l| self.member(l.0)).collect();
        Event::EpochChanged {
            epoch: summary.epoch,
            committer: self.sender_member(summary.sender),
            added: members(&summary.added),
            removed: summary.removed.iter().map(|(i, leaf)| Member::new(i.0, leaf)).collect(),
            updated: members(&summary.updated),
            self_removed: summary.self_removed,
        }
    }
}

fn kind_of(proposal: &Proposal) -> ProposalKind {
    match proposal {
        Proposal::Add(add) => ProposalKind::Add {
            identity: Member::new(0, &add.key_package.leaf_node).identity,
        },
        Proposal::Remove(remove) => ProposalKind::Remove { index: remove.removed },
        Proposal::Update(_) => ProposalKind::Update,
        _ => ProposalKind::Other,
    }
}
