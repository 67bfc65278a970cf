//! Posting to a group: the checks that need no group state (rate, size,
//! framing, quota), then those of a Commit or of any other message against
//! the group as the store has it, then what the store's answer to the
//! append means for the client.

use std::sync::atomic::Ordering::Relaxed;

use e2ee_core::messages::ContentType;

use super::{App, MailboxPayload};
use crate::auth::{Principal, key_record};
use crate::error::{ApiError, ErrorCode};
use crate::inspect::{self, GroupMessage, Leaf, ProposalEffect, Roster, RosterChange, SenderView};
use crate::store::{Append, AppendKind, AppendOutcome, CommitEffects, GroupState, MAX_PROPOSALS, digest};
use crate::wire;

/// Most members one Welcome may be delivered to (each gets a copy).
pub const MAX_WELCOME_RECIPIENTS: usize = 1000;

/// Most tries of one post while the group keeps moving on between the
/// check of a Commit and its append.
const COMMIT_TRIES: usize = 4;

/// A message as its checks left it.
struct Checked {
    /// What to append.
    kind: AppendKind,
    /// Who the Commit's Welcome goes to.
    welcome_to: Vec<String>,
}

impl Checked {
    /// Anything but a Commit of the group's epoch: no Welcome to deliver.
    fn plain(kind: AppendKind) -> Self {
        Self {
            kind,
            welcome_to: Vec::new(),
        }
    }
}

/// Who commits.
#[derive(Clone, Copy)]
enum Committer {
    /// The client, at this leaf.
    Member(u32),
    /// The client, joining by external Commit.
    Joiner,
}

impl Committer {
    fn leaf(self) -> Option<u32> {
        match self {
            Self::Member(leaf) => Some(leaf),
            Self::Joiner => None,
        }
    }
}

/// What an append that was not refused means for the post.
enum Appended {
    /// Appended now, at this position.
    New(u64),
    /// Sent before and appended then, at this position.
    Resent(u64),
    /// The group moved on since it was read: check again.
    Stale,
}

impl App {
    /// Posts a message to a group; a Commit only if the group is still at
    /// its epoch. Returns the position.
    pub async fn post(&self, me: &Principal, group: &[u8], post: wire::Post) -> Result<u64, ApiError> {
        let result = self.post_checked(me, group, &post).await;
        let counter = match &result {
            Ok(_) => &self.metrics.accepted,
            Err(e) if e.code == ErrorCode::EpochMovedOn => &self.metrics.commit_conflicts,
            Err(_) => &self.metrics.refused,
        };
        counter.fetch_add(1, Relaxed);
        result
    }

    async fn post_checked(&self, me: &Principal, group: &[u8], post: &wire::Post) -> Result<u64, ApiError> {
        let view = self.admit(me, group, post).await?;
        // A Commit whose effects were computed from a state that moved on
        // meanwhile is computed again (rare: only when racing Commits).
        for _ in 0..COMMIT_TRIES {
            if let Some(position) = self.post_once(me, group, post, &view).await? {
                return Ok(position);
            }
        }
        Err(ApiError::new(
            ErrorCode::StoreUnavailable,
            "the group changes too fast: try again",
        ))
    }

    /// The checks that need no group state: rate, sizes, framing and the
    /// bytes quota. Returns what the service reads of the message.
    async fn admit(&self, me: &Principal, group: &[u8], post: &wire::Post) -> Result<GroupMessage, ApiError> {
        self.rate.check(&me.identity)?;
        inspect::check_group_id(group)?;
        self.check_size("the message", &post.message)?;
        for extra in post.welcome.iter().chain(&post.group_info) {
            self.check_size("the Welcome or GroupInfo", extra)?;
        }
        let view = inspect::inspect_group_message(&post.message, group)?;
        check_public_handshake(&view)?;
        self.take_quota(me, self.quotas.bytes, posted_bytes(post)).await?;
        Ok(view)
    }

    /// Checks and appends once; `None` when the group moved on since its
    /// state was read.
    async fn post_once(
        &self,
        me: &Principal,
        group: &[u8],
        post: &wire::Post,
        view: &GroupMessage,
    ) -> Result<Option<u64>, ApiError> {
        let checked = self.check(me, group, post, view).await?;
        let append = Append {
            sender: me.identity.clone(),
            epoch: view.epoch,
            digest: digest(&post.message),
            message: post.message.clone(),
            kind: checked.kind,
        };
        let outcome = self
            .timed(self.store.append(group, append, self.config.retention))
            .await?;
        match appended(outcome, view.epoch)? {
            Appended::New(position) => {
                let welcome = post.welcome.as_deref();
                self.deliver_welcome(group, position, welcome, checked.welcome_to)
                    .await?;
                Ok(Some(position))
            }
            // The first post of these bytes delivered their Welcome; a
            // repost, by anyone, delivers nothing (its Welcome is unchecked
            // and would crowd the real one out of the joiners' mailboxes).
            Appended::Resent(position) => Ok(Some(position)),
            Appended::Stale => Ok(None),
        }
    }

    /// Checks the message against the group as the store has it.
    async fn check(
        &self,
        me: &Principal,
        group: &[u8],
        post: &wire::Post,
        view: &GroupMessage,
    ) -> Result<Checked, ApiError> {
        if view.is_commit() {
            return self.check_commit(me, group, post, view).await;
        }
        Ok(Checked::plain(self.check_message(me, group, post, view).await?))
    }

    /// Checks a Commit of the group's epoch: who commits, the leaves it
    /// brings in, the roster after it, the GroupInfo sent along and who
    /// its Welcome goes to. A Commit of another epoch is left to the
    /// store, which refuses it or recognises a resend.
    async fn check_commit(
        &self,
        me: &Principal,
        group: &[u8],
        post: &wire::Post,
        view: &GroupMessage,
    ) -> Result<Checked, ApiError> {
        let state = self.group_state(group).await?;
        if view.epoch != state.epoch {
            return Ok(Checked::plain(AppendKind::OtherEpochCommit));
        }
        let mut change = view.change.clone().unwrap_or_default();
        let committer = committer(me, &state, &view.sender, &change)?;
        change.resolve(&state.proposals)?;
        self.check_leaves(&state, &change, committer.leaf()).await?;
        let mut roster = state.roster.clone();
        roster.apply(&change, committer.leaf())?;
        if let Some(group_info) = &post.group_info {
            check_next_group_info(group_info, group, &state, &roster)?;
        }
        let effects = CommitEffects {
            roster,
            group_info: post.group_info.clone(),
        };
        let kind = match committer {
            Committer::Member(_) => AppendKind::Commit(effects),
            Committer::Joiner => AppendKind::ExternalCommit(effects),
        };
        let welcome_to = welcome_recipients(post.welcome.as_deref(), &change)?;
        Ok(Checked { kind, welcome_to })
    }

    /// Checks a proposal or application message: no Welcome or GroupInfo
    /// comes with it, and one that names its sender names the client.
    /// Returns a public proposal of the group's epoch as one to keep.
    async fn check_message(
        &self,
        me: &Principal,
        group: &[u8],
        post: &wire::Post,
        view: &GroupMessage,
    ) -> Result<AppendKind, ApiError> {
        if post.welcome.is_some() || post.group_info.is_some() {
            return Err(ApiError::bad_request("only a Commit carries a Welcome or GroupInfo"));
        }
        let SenderView::Leaf(leaf) = view.sender else {
            return Ok(AppendKind::Message);
        };
        // Checked at the epoch the service knows; older epochs' leaves may
        // differ, and their proposals are not kept.
        let state = self.group_state(group).await?;
        if view.epoch != state.epoch {
            return Ok(AppendKind::Message);
        }
        check_own_leaf(me, &state, leaf)?;
        match &view.proposal {
            Some((content, effect)) => self.proposal_to_keep(&state, leaf, content, effect).await,
            None => Ok(AppendKind::Message),
        }
    }

    /// A public proposal of the group's epoch, kept by reference: a Commit
    /// naming it changes the roster too, so the leaves it brings in are
    /// checked as a Commit's would be.
    async fn proposal_to_keep(
        &self,
        state: &GroupState,
        sender: u32,
        content: &[u8],
        effect: &ProposalEffect,
    ) -> Result<AppendKind, ApiError> {
        let mut change = RosterChange::default();
        change.push(effect.clone());
        self.check_leaves(state, &change, Some(sender)).await?;
        Ok(AppendKind::Proposal {
            reference: inspect::proposal_ref(state.cipher_suite, content)?,
            effect: effect.clone(),
        })
    }

    /// Refuses a leaf node that brings in a key its identity is not bound
    /// to, as an upload of its KeyPackage would be: added members,
    /// Updates (which keep their leaf's identity) and the committer's path
    /// (which keeps the committer's, or names the external joiner).
    async fn check_leaves(
        &self,
        state: &GroupState,
        change: &RosterChange,
        sender: Option<u32>,
    ) -> Result<(), ApiError> {
        let invalid = |m: &str| ApiError::new(ErrorCode::InvalidCommit, m);
        for added in &change.adds {
            if added.cipher_suite != state.cipher_suite {
                return Err(invalid("an added KeyPackage is of another cipher suite than the group"));
            }
            self.check_bound(&added.leaf, state.cipher_suite).await?;
        }
        for (index, leaf) in &change.updates {
            if state.roster.at(*index) != Some(&leaf.identity) {
                return Err(invalid("an Update changes its leaf's identity"));
            }
            self.check_bound(leaf, state.cipher_suite).await?;
        }
        if let (Some(path), Some(index)) = (&change.path, sender)
            && state.roster.at(index) != Some(&path.identity)
        {
            return Err(invalid("a Commit's path changes the committer's identity"));
        }
        if let Some(path) = &change.path {
            self.check_bound(path, state.cipher_suite).await?;
        }
        Ok(())
    }

    /// Refuses `leaf` unless its key is the one its identity is bound to.
    async fn check_bound(&self, leaf: &Leaf, cipher_suite: u16) -> Result<(), ApiError> {
        let bound = self.timed(self.store.registered_key(&leaf.identity)).await?;
        if bound.as_deref() == Some(&key_record(cipher_suite, &leaf.key)[..]) {
            return Ok(());
        }
        Err(ApiError::new(
            ErrorCode::KeyMismatch,
            format!(
                "a leaf names {} with another signature key than the one it is registered with",
                leaf.identity
            ),
        ))
    }

    /// Puts a Commit's Welcome, if it has one, into the mailbox of each
    /// member it adds.
    async fn deliver_welcome(
        &self,
        group: &[u8],
        position: u64,
        welcome: Option<&[u8]>,
        recipients: Vec<String>,
    ) -> Result<(), ApiError> {
        let Some(welcome) = welcome else {
            return Ok(());
        };
        let payload = MailboxPayload {
            group_id: group.to_vec(),
            commit_position: position,
            welcome: welcome.to_vec(),
        };
        let payload = serde_json::to_vec(&payload).map_err(|_| ApiError::new(ErrorCode::Internal, "encoding"))?;
        for identity in recipients {
            let deliver = self
                .store
                .deliver(&identity, payload.clone(), self.config.mailbox_retention);
            self.timed(deliver).await?;
            self.metrics.welcomes.fetch_add(1, Relaxed);
        }
        Ok(())
    }
}

/// Refuses a proposal or Commit sent as a PrivateMessage: the service
/// keeps the roster from them.
fn check_public_handshake(view: &GroupMessage) -> Result<(), ApiError> {
    if view.sender == SenderView::Hidden && view.content_type != ContentType::Application {
        return Err(ApiError::new(
            ErrorCode::PrivateHandshake,
            "proposals and Commits must be PublicMessages: the service keeps the roster from them",
        ));
    }
    Ok(())
}

/// The bytes a post counts against the quota: message, Welcome, GroupInfo.
fn posted_bytes(post: &wire::Post) -> u64 {
    [Some(&post.message), post.welcome.as_ref(), post.group_info.as_ref()]
        .into_iter()
        .flatten()
        .map(|b| b.len() as u64)
        .sum()
}

/// Refuses a sender leaf that is not the client's.
fn check_own_leaf(me: &Principal, state: &GroupState, leaf: u32) -> Result<(), ApiError> {
    if state.roster.at(leaf) == Some(&me.identity) {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::SenderMismatch,
        "the sender leaf is not the client's",
    ))
}

/// Who commits: the client at its own leaf, or the client joining by an
/// external Commit that keeps the rules.
fn committer(
    me: &Principal,
    state: &GroupState,
    sender: &SenderView,
    change: &RosterChange,
) -> Result<Committer, ApiError> {
    match sender {
        SenderView::Leaf(leaf) => check_own_leaf(me, state, *leaf).map(|()| Committer::Member(*leaf)),
        SenderView::NewMember(joiner) => {
            check_joiner(me, state, joiner)?;
            check_external_change(me, state, change)?;
            Ok(Committer::Joiner)
        }
        SenderView::Hidden => Err(ApiError::new(ErrorCode::PrivateHandshake, "a private Commit")),
    }
}

/// The joiner of an external Commit (RFC 9420 §12.4.3.2) is the client,
/// and the group takes external joins (or the client is a member
/// rejoining).
fn check_joiner(me: &Principal, state: &GroupState, joiner: &Leaf) -> Result<(), ApiError> {
    if joiner.identity != me.identity {
        return Err(ApiError::new(
            ErrorCode::SenderMismatch,
            "the joiner's credential is not the client's",
        ));
    }
    if !state.external_join && !state.roster.contains(&me.identity) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "the group does not take external joins",
        ));
    }
    Ok(())
}

/// What an external Commit may change, as far as the service can check:
/// no proposal by reference, no Add, and at most one Remove — of the
/// joiner's own earlier leaf.
fn check_external_change(me: &Principal, state: &GroupState, change: &RosterChange) -> Result<(), ApiError> {
    if !change.references.is_empty() || !change.adds.is_empty() || change.removes.len() > 1 {
        return Err(ApiError::new(
            ErrorCode::InvalidCommit,
            "an external Commit carries no proposal by reference, no Add and at most one Remove",
        ));
    }
    if change
        .removes
        .iter()
        .any(|leaf| state.roster.at(*leaf) != Some(&me.identity))
    {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "an external Commit may remove only the joiner's own earlier leaf",
        ));
    }
    Ok(())
}

/// Refuses a GroupInfo sent along with a Commit unless it is of the group,
/// of the epoch the Commit starts and of the roster after it.
fn check_next_group_info(group_info: &[u8], group: &[u8], state: &GroupState, roster: &Roster) -> Result<(), ApiError> {
    let group_info = inspect::group_info(group_info)?;
    inspect::check_group_info(&group_info, group, state.epoch + 1, roster, state.cipher_suite)
}

/// The identities a Commit's Welcome goes to: each KeyPackage it names
/// must be one the Commit adds.
fn welcome_recipients(welcome: Option<&[u8]>, change: &RosterChange) -> Result<Vec<String>, ApiError> {
    let Some(welcome) = welcome else {
        return Ok(Vec::new());
    };
    let names = inspect::welcome_recipients(welcome)?;
    if names.len() > MAX_WELCOME_RECIPIENTS {
        let message = format!("a Welcome may name at most {MAX_WELCOME_RECIPIENTS} new members");
        return Err(ApiError::new(ErrorCode::TooLarge, message));
    }
    let recipient = |reference: &Vec<u8>| {
        let added = change.adds.iter().find(|a| a.reference == *reference);
        added.map(|a| a.leaf.identity.clone()).ok_or_else(|| {
            ApiError::new(
                ErrorCode::UnroutableWelcome,
                "the Welcome names a KeyPackage the Commit does not add",
            )
        })
    };
    names.iter().map(recipient).collect()
}

/// What the store's answer to the append of a message of `epoch` means
/// for the post: a position, a new try, or the client's refusal.
fn appended(outcome: AppendOutcome, epoch: u64) -> Result<Appended, ApiError> {
    match outcome {
        AppendOutcome::Accepted(position) => Ok(Appended::New(position)),
        AppendOutcome::Duplicate(position) => Ok(Appended::Resent(position)),
        AppendOutcome::Stale => Ok(Appended::Stale),
        AppendOutcome::NoGroup => Err(ApiError::new(ErrorCode::NoSuchGroup, "no such group")),
        AppendOutcome::NotMember => Err(ApiError::new(ErrorCode::NotMember, "not a member of the group")),
        AppendOutcome::EpochMovedOn { current } => Err(at_epoch(
            ErrorCode::EpochMovedOn,
            format!("epoch moved on: another Commit won epoch {epoch}; process it and retry"),
            current,
        )),
        AppendOutcome::FutureEpoch { current } => Err(at_epoch(
            ErrorCode::FutureEpoch,
            format!("the group is at epoch {current}"),
            current,
        )),
        AppendOutcome::TooManyProposals => Err(ApiError::new(
            ErrorCode::TooManyProposals,
            format!("the epoch has {MAX_PROPOSALS} proposals pending: commit them first"),
        )),
    }
}

/// A refusal that tells the client the group's epoch, to catch up to.
fn at_epoch(code: ErrorCode, message: String, current: u64) -> ApiError {
    let mut e = ApiError::new(code, message);
    e.current_epoch = Some(current);
    e
}
