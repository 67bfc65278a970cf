//! The group layer's error.

use core::fmt;

use super::proposals::ProposalError;
use crate::codec::CodecError;
use crate::crypto::CryptoError;
use crate::framing::FramingError;
use crate::key_package::KeyPackageError;
use crate::ratchet_tree::TreeError;
use crate::secret_tree::SecretTreeError;
use crate::transcript::TranscriptError;
use crate::treekem::TreeKemError;
use crate::welcome::WelcomeError;

/// Why a group operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupError {
    /// The message's protocol version is not `mls10`.
    UnsupportedVersion,
    /// The message's cipher suite is not the group's.
    CipherSuiteMismatch,
    /// The message is not of a kind this operation takes (e.g. a Welcome
    /// given to `process`, or application data in a PublicMessage).
    UnexpectedMessage,
    /// The sender is not a (non-blank) member, or not allowed to send this.
    InvalidSender,
    /// A Commit refers to a proposal this member has not received.
    UnknownProposal,
    /// Too many proposals are pending in this epoch.
    TooManyProposals,
    /// The proposal is pending already (a replayed message).
    DuplicateProposal,
    /// The Commit has no UpdatePath though its proposals need one.
    PathRequired,
    /// A PSK named by a proposal or Welcome is not available.
    PskNotFound,
    /// The GroupInfo carries no ratchet tree and none was supplied.
    MissingRatchetTree,
    /// The GroupInfo has no `external_pub`: the group does not take external joins.
    MissingExternalPub,
    /// This member's KeyPackage leaf is not in the Welcome's tree.
    NotInTree,
    /// This member's own Commit came back; apply it instead of processing it.
    OwnCommit,
    /// There is no pending Commit of this member's to merge.
    NoPendingCommit,
    /// A ReInit was committed: the group takes no new messages (§11.2).
    Reinitialized,
    /// This member has been removed from the group.
    NotAMember,
    /// A confirmation tag did not match.
    InvalidConfirmationTag,
    /// The group is at the last epoch number: no Commit can follow.
    EpochExhausted,
    /// A [`super::GroupConfig`] limit is out of range.
    InvalidConfig {
        /// The field.
        field: &'static str,
    },
    /// An external Commit, which the group's [`super::ExternalJoins`]
    /// policy does not accept.
    ExternalJoinRefused,
    /// An external Commit removes this member. Its sender is no member and
    /// this member cannot derive the new epoch to check it, so it is not
    /// taken as a removal; if the group did accept it, another client with
    /// this member's credential took its place.
    ExternalCommitRemovesSelf,
    /// A stored state (`export_state`) is not one: wrong magic, truncated,
    /// undecodable, or inconsistent (keys that do not match the tree,
    /// limits exceeded, ...).
    StateCorrupt,
    /// A stored state has a format version this library does not read.
    StateVersion,
    /// A sealed state did not open: wrong storage key, or tampered with.
    StateKey,
    /// A sealed state was given to a plain restore, or a plain one to a
    /// sealed restore.
    StateSealing,
    /// A proposal list was invalid.
    Proposal(ProposalError),
    /// Message protection failed.
    Framing(FramingError),
    /// The ratchet tree was invalid.
    Tree(TreeError),
    /// An UpdatePath could not be processed.
    TreeKem(TreeKemError),
    /// A Welcome could not be processed.
    Welcome(WelcomeError),
    /// A KeyPackage was invalid.
    KeyPackage(KeyPackageError),
    /// The epoch's secret tree could not be set up.
    SecretTree(SecretTreeError),
    /// Bytes did not decode.
    Codec(CodecError),
    /// A cryptographic operation failed.
    Crypto(CryptoError),
}

impl GroupError {
    /// A stable machine-readable code for bindings.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedVersion => "unsupported_version",
            Self::CipherSuiteMismatch => "cipher_suite_mismatch",
            Self::UnexpectedMessage => "unexpected_message",
            Self::InvalidSender => "invalid_sender",
            Self::UnknownProposal => "unknown_proposal",
            Self::TooManyProposals => "too_many_proposals",
            Self::DuplicateProposal => "duplicate_proposal",
            Self::PathRequired => "path_required",
            Self::PskNotFound => "psk_not_found",
            Self::MissingRatchetTree => "missing_ratchet_tree",
            Self::MissingExternalPub => "missing_external_pub",
            Self::NotInTree => "not_in_tree",
            Self::OwnCommit => "own_commit",
            Self::NoPendingCommit => "no_pending_commit",
            Self::Reinitialized => "group_reinitialized",
            Self::NotAMember => "not_a_member",
            Self::InvalidConfirmationTag => "invalid_confirmation_tag",
            Self::EpochExhausted => "epoch_exhausted",
            Self::InvalidConfig { .. } => "invalid_config",
            Self::ExternalJoinRefused => "external_join_refused",
            Self::ExternalCommitRemovesSelf => "external_commit_removes_self",
            Self::StateCorrupt => "state_corrupt",
            Self::StateVersion => "state_version",
            Self::StateKey => "state_key",
            Self::StateSealing => "state_sealing",
            Self::Proposal(e) => e.code(),
            Self::Framing(e) => e.code(),
            Self::Tree(e) => e.code(),
            Self::TreeKem(e) => e.code(),
            Self::Welcome(e) => e.code(),
            Self::KeyPackage(e) => e.code(),
            Self::SecretTree(e) => e.code(),
            Self::Codec(e) => e.code(),
            Self::Crypto(e) => e.code(),
        }
    }
}

impl fmt::Display for GroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedVersion => f.write_str("unsupported protocol version"),
            Self::CipherSuiteMismatch => f.write_str("cipher suite differs from the group's"),
            Self::UnexpectedMessage => f.write_str("unexpected kind of message"),
            Self::InvalidSender => f.write_str("invalid sender"),
            Self::UnknownProposal => f.write_str("commit refers to an unknown proposal"),
            Self::TooManyProposals => f.write_str("too many pending proposals"),
            Self::DuplicateProposal => f.write_str("the proposal is pending already"),
            Self::PathRequired => f.write_str("commit lacks a required UpdatePath"),
            Self::PskNotFound => f.write_str("pre-shared key not found"),
            Self::MissingRatchetTree => f.write_str("no ratchet tree in the GroupInfo and none supplied"),
            Self::MissingExternalPub => f.write_str("the GroupInfo has no external_pub"),
            Self::NotInTree => f.write_str("own leaf not found in the tree"),
            Self::OwnCommit => f.write_str("own commit received"),
            Self::NoPendingCommit => f.write_str("no pending commit to merge"),
            Self::Reinitialized => f.write_str("the group was reinitialized"),
            Self::NotAMember => f.write_str("no longer a member of the group"),
            Self::InvalidConfirmationTag => f.write_str("confirmation tag does not match"),
            Self::EpochExhausted => f.write_str("the group is at the last epoch number"),
            Self::InvalidConfig { field } => write!(f, "group configuration: {field} out of range"),
            Self::ExternalJoinRefused => f.write_str("external join refused by the group's policy"),
            Self::ExternalCommitRemovesSelf => f.write_str("an external Commit removes this member: refused"),
            Self::StateCorrupt => f.write_str("stored state is corrupt"),
            Self::StateVersion => f.write_str("stored state has an unknown format version"),
            Self::StateKey => f.write_str("sealed state did not open: wrong key or tampered"),
            Self::StateSealing => f.write_str("stored state is sealed and needs a key, or is not sealed"),
            Self::Proposal(e) => write!(f, "{e}"),
            Self::Framing(e) => write!(f, "{e}"),
            Self::Tree(e) => write!(f, "{e}"),
            Self::TreeKem(e) => write!(f, "{e}"),
            Self::Welcome(e) => write!(f, "{e}"),
            Self::KeyPackage(e) => write!(f, "{e}"),
            Self::SecretTree(e) => write!(f, "{e}"),
            Self::Codec(e) => write!(f, "{e}"),
            Self::Crypto(e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for GroupError {}

macro_rules! from_errors {
    ($($variant:ident($ty:ty)),* $(,)?) => {
        $(impl From<$ty> for GroupError {
            fn from(e: $ty) -> Self {
                Self::$variant(e)
            }
        })*
    };
}

from_errors!(
    Proposal(ProposalError),
    Framing(FramingError),
    Tree(TreeError),
    TreeKem(TreeKemError),
    Welcome(WelcomeError),
    KeyPackage(KeyPackageError),
    SecretTree(SecretTreeError),
    Codec(CodecError),
    Crypto(CryptoError),
);

impl From<TranscriptError> for GroupError {
    fn from(_: TranscriptError) -> Self {
        Self::InvalidConfirmationTag
    }
}
