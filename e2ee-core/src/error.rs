//! The crate's one error type, [`Error`], grouped by who is at fault, so
//! an application can decide what to do with a failure by its top-level
//! variant alone:
//!
//! | variant | at fault | what to do |
//! |---|---|---|
//! | [`Error::Codec`] | the sender or the network: bytes that do not decode | drop the message |
//! | [`Error::Protocol`] | a peer or the Delivery Service: a message that breaks RFC 9420 | drop it; the group is unchanged |
//! | [`Error::Refused`] | nobody: the application's policy or limits say no | expected; the group is unchanged |
//! | [`Error::Usage`] | the application: a call the group's state does not allow | fix the call |
//! | [`Error::State`] | storage: a stored state that does not restore | restore another copy |
//! | [`Error::Crypto`] | the cryptographic provider | report it |
//!
//! Each failure has one route: a decode failure is always `Error::Codec`,
//! never wrapped in another kind. Below the top level, each kind says what
//! was wrong in detail. Every variant has a stable machine-readable
//! [`Error::code`] (e.g. `codec_truncated`) for the bindings and for logs.

use core::fmt;

// Every kind of failure, in one place.
pub use crate::codec::CodecError;
pub use crate::crypto::CryptoError;
pub use crate::framing::FramingError;
pub use crate::group::proposals::ProposalError;
pub use crate::key_package::KeyPackageError;
pub use crate::ratchet_tree::{CredentialError, LeafNodeError, TreeError};
pub use crate::secret_tree::SecretTreeError;
pub use crate::treekem::TreeKemError;
pub use crate::welcome::WelcomeError;

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Defines an error enum whose every variant states, in one place, its
/// documentation, its stable code and its message: `Variant => "code",
/// "message"` or `Variant { field: Type } => "code", "message {field}"`.
/// The code may be an expression of the fields (to pass on an inner
/// error's code), the message a format string with arguments.
macro_rules! error_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$variant_meta:meta])*
                $variant:ident $({
                    $( $(#[$field_meta:meta])* $field:ident : $field_type:ty ),+ $(,)?
                })? => $code:expr, $message:literal $(, $argument:expr)* ;
            )+
        }
    ) => {
        $(#[$meta])*
        pub enum $name {
            $(
                $(#[$variant_meta])*
                $variant $({ $( $(#[$field_meta])* $field: $field_type ),+ })?,
            )+
        }

        impl $name {
            /// A stable machine-readable code, for bindings and logs.
            pub fn code(&self) -> &'static str {
                match self {
                    $(
                        #[allow(unused_variables)]
                        Self::$variant $({ $($field),+ })? => $code,
                    )+
                }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self {
                    $(
                        #[allow(unused_variables)]
                        Self::$variant $({ $($field),+ })? => write!(f, $message $(, $argument)*),
                    )+
                }
            }
        }

        impl core::error::Error for $name {}
    };
}
pub(crate) use error_enum;

/// Any failure of this crate, grouped by who is at fault (see the
/// [module documentation](self)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Bytes that do not decode as the structure they should be (or a
    /// value of the application's too long to encode).
    Codec(CodecError),
    /// A message or structure from another member, a joiner or the
    /// Delivery Service breaks RFC 9420. It was rejected; nothing changed.
    Protocol(ProtocolError),
    /// A valid message that the application's policy, or a limit it set,
    /// does not take. Nothing changed.
    Refused(Refusal),
    /// The call does not fit the group's current state, or an argument is
    /// out of range.
    Usage(UsageError),
    /// A stored state does not restore.
    State(StateError),
    /// The cryptographic provider failed.
    Crypto(CryptoError),
}

impl Error {
    /// A stable machine-readable code (e.g. `codec_truncated`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Codec(e) => e.code(),
            Self::Protocol(e) => e.code(),
            Self::Refused(e) => e.code(),
            Self::Usage(e) => e.code(),
            Self::State(e) => e.code(),
            Self::Crypto(e) => e.code(),
        }
    }

    /// Who is at fault, as a stable string: `codec`, `protocol`,
    /// `refused`, `usage`, `state` or `crypto`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Codec(_) => "codec",
            Self::Protocol(_) => "protocol",
            Self::Refused(_) => "refused",
            Self::Usage(_) => "usage",
            Self::State(_) => "state",
            Self::Crypto(_) => "crypto",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Codec(e) => write!(f, "malformed input: {e}"),
            Self::Protocol(e) => write!(f, "protocol violation: {e}"),
            Self::Refused(e) => write!(f, "refused: {e}"),
            Self::Usage(e) => write!(f, "{e}"),
            Self::State(e) => write!(f, "stored state: {e}"),
            Self::Crypto(e) => write!(f, "cryptographic provider: {e}"),
        }
    }
}

impl core::error::Error for Error {}

/// What part of a received message broke RFC 9420.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The message, its framing or its sender (§6).
    Message(FramingError),
    /// The sender's message key for the generation: used already, or out
    /// of reach (§9).
    MessageKey(SecretTreeError),
    /// A proposal, or a Commit's list of them (§12.1–§12.4).
    Proposal(ProposalError),
    /// A ratchet tree or one of its nodes (§7).
    Tree(TreeError),
    /// A Commit's UpdatePath (§7.5, §7.6, §12.4.2).
    Path(TreeKemError),
    /// A KeyPackage (§10).
    KeyPackage(KeyPackageError),
    /// A Welcome or a GroupInfo (§12.4.3).
    Welcome(WelcomeError),
}

impl ProtocolError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Message(e) => e.code(),
            Self::MessageKey(e) => e.code(),
            Self::Proposal(e) => e.code(),
            Self::Tree(e) => e.code(),
            Self::Path(e) => e.code(),
            Self::KeyPackage(e) => e.code(),
            Self::Welcome(e) => e.code(),
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Message(e) => write!(f, "{e}"),
            Self::MessageKey(e) => write!(f, "{e}"),
            Self::Proposal(e) => write!(f, "{e}"),
            Self::Tree(e) => write!(f, "ratchet tree: {e}"),
            Self::Path(e) => write!(f, "update path: {e}"),
            Self::KeyPackage(e) => write!(f, "KeyPackage: {e}"),
            Self::Welcome(e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for ProtocolError {}

error_enum! {
    /// Why a valid message was not taken: the application's policy, or a
    /// limit that keeps a sender from using up this member's resources.
    #[derive(Clone, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum Refusal {
        /// An external Commit, which the group's
        /// [`ExternalJoins`](crate::group::ExternalJoins) policy does not
        /// accept.
        ExternalJoin => "external_join_refused", "external join refused by the group's policy";
        /// An external Commit removes this member. Its sender is no member
        /// and this member cannot derive the new epoch to check it, so it
        /// is not taken as a removal; if the group did accept it, another
        /// client with this member's credential took its place.
        ExternalCommitRemovesSelf => "external_commit_removes_self",
            "an external Commit removes this member";
        /// Too many proposals are pending in this epoch
        /// ([`GroupConfig::max_pending_proposals`](crate::group::GroupConfig::max_pending_proposals)).
        TooManyProposals => "too_many_proposals", "too many pending proposals";
        /// Too many messages of future epochs, or too many bytes of them,
        /// are waiting already (`GroupOptions::max_buffered`,
        /// `GroupOptions::max_buffered_bytes` of the high-level API).
        BufferFull => "buffer_full", "too many messages of future epochs are waiting";
        /// The message is of a future epoch that is not held: too far
        /// ahead (`GroupOptions::max_epochs_ahead`), or holding is off.
        FutureEpoch => "future_epoch", "the message is of a future epoch that is not held";
        /// The group is at the last epoch number: no Commit can follow.
        EpochExhausted => "epoch_exhausted", "the group is at the last epoch number";
    }
}

error_enum! {
    /// Why a call was refused: it does not fit the group's state, or an
    /// argument is out of range.
    #[derive(Clone, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum UsageError {
        /// This member has been removed from the group.
        NotAMember => "not_a_member", "no longer a member of the group";
        /// A ReInit was committed: the group takes no new messages (§11.2).
        Reinitialized => "group_reinitialized", "the group was reinitialized";
        /// This member's own Commit came back: merge the pending Commit
        /// instead of processing it.
        OwnCommit => "own_commit", "own Commit received: merge it instead";
        /// There is no pending Commit of this member's to merge.
        NoPendingCommit => "no_pending_commit", "no pending Commit to merge";
        /// The epoch has a pending Commit already: merge or discard it first.
        CommitPending => "commit_pending",
            "a Commit of this member is pending: merge or discard it first";
        /// The leaf index names no member.
        NoSuchMember => "no_such_member", "no member at that leaf";
        /// No pending proposal has that reference.
        NoSuchProposal => "no_such_proposal", "no pending proposal with that reference";
        /// A PSK named by a proposal or a Welcome is not in the PSK store:
        /// give it before processing.
        PskNotFound => "psk_not_found", "pre-shared key not found";
        /// More padding was asked for than
        /// [`MAX_PADDING`](crate::framing::MAX_PADDING).
        PaddingTooLarge => "padding_too_large", "padding above {} bytes", crate::framing::MAX_PADDING;
        /// A [`GroupConfig`](crate::group::GroupConfig) limit is out of range.
        InvalidConfig {
            /// The field.
            field: &'static str,
        } => "invalid_config", "group configuration: {field} out of range";
        /// A group option of the high-level API is out of range.
        InvalidOption {
            /// The option.
            option: &'static str,
        } => "invalid_option", "group option {option} out of range";
    }
}

error_enum! {
    /// Why a stored state (`export_state`) does not restore.
    #[derive(Clone, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum StateError {
        /// Not a stored state: wrong magic, truncated, undecodable, or
        /// inconsistent (keys that do not match the tree, limits exceeded,
        /// ...).
        Corrupt => "state_corrupt", "stored state is corrupt";
        /// A format version this library does not read.
        Version => "state_version", "stored state has an unknown format version";
        /// A sealed state did not open: wrong storage key or group id, or
        /// tampered with.
        Key => "state_key", "sealed state did not open: wrong key or tampered";
        /// A sealed state given to a plain restore, or a plain one to a
        /// sealed restore.
        Sealing => "state_sealing", "stored state is sealed and needs a key, or is not sealed";
    }
}

/// `From` conversions into [`Error`] for each kind of failure.
macro_rules! into_error {
    ($($kind:ty => $route:expr),* $(,)?) => {
        $(impl From<$kind> for Error {
            fn from(e: $kind) -> Self {
                $route(e)
            }
        })*
    };
}

into_error!(
    CodecError => Error::Codec,
    CryptoError => Error::Crypto,
    ProtocolError => Error::Protocol,
    Refusal => Error::Refused,
    UsageError => Error::Usage,
    StateError => Error::State,
    FramingError => |e| Error::Protocol(ProtocolError::Message(e)),
    SecretTreeError => |e| Error::Protocol(ProtocolError::MessageKey(e)),
    ProposalError => |e| Error::Protocol(ProtocolError::Proposal(e)),
    TreeError => |e| Error::Protocol(ProtocolError::Tree(e)),
    TreeKemError => |e| Error::Protocol(ProtocolError::Path(e)),
    KeyPackageError => |e| Error::Protocol(ProtocolError::KeyPackage(e)),
    WelcomeError => |e| Error::Protocol(ProtocolError::Welcome(e)),
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_messages_come_from_one_definition() {
        let e = Error::from(UsageError::InvalidConfig { field: "max_leaves" });
        assert_eq!((e.code(), e.kind()), ("invalid_config", "usage"));
        assert_eq!(
            alloc::string::ToString::to_string(&e),
            "group configuration: max_leaves out of range"
        );
        let e = Error::from(CodecError::Truncated);
        assert_eq!((e.code(), e.kind()), ("codec_truncated", "codec"));
        let e = Error::from(TreeError::TreeHashMismatch);
        assert_eq!(e, Error::Protocol(ProtocolError::Tree(TreeError::TreeHashMismatch)));
        assert_eq!(e.code(), "tree_hash_mismatch");
    }
}
