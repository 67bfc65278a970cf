//! Errors of the high-level API itself; everything below it reports
//! through [`crate::Error`]'s other variants.

use core::fmt;

/// Why a high-level operation was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// The bytes are not a Welcome.
    NotAWelcome,
    /// The bytes are not a GroupInfo.
    NotAGroupInfo,
    /// The bytes are not a KeyPackage.
    NotAKeyPackage,
    /// The message is not a PublicMessage or PrivateMessage.
    NotAGroupMessage,
    /// The message belongs to another group.
    WrongGroup,
    /// No unused KeyPackage of this client is named in the Welcome.
    NoMatchingKeyPackage,
    /// Too many messages of future epochs, or too many bytes of them, are
    /// waiting already ([`super::GroupOptions::max_buffered`],
    /// [`super::GroupOptions::max_buffered_bytes`]).
    BufferFull,
    /// The message is of a future epoch that is not held: too far ahead
    /// ([`super::GroupOptions::max_epochs_ahead`]), or holding is off
    /// ([`super::GroupOptions::max_buffered`] is 0).
    FutureEpoch,
    /// The epoch has a pending Commit already: merge or discard it first.
    CommitPending,
    /// The leaf index names no member.
    NoSuchMember,
    /// No pending proposal has that reference.
    NoSuchProposal,
    /// A [`super::GroupOptions`] value is out of range.
    InvalidOption {
        /// The option.
        option: &'static str,
    },
}

impl ClientError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAWelcome => "not_a_welcome",
            Self::NotAGroupInfo => "not_a_group_info",
            Self::NotAKeyPackage => "not_a_key_package",
            Self::NotAGroupMessage => "not_a_group_message",
            Self::WrongGroup => "wrong_group",
            Self::NoMatchingKeyPackage => "no_matching_key_package",
            Self::BufferFull => "buffer_full",
            Self::FutureEpoch => "future_epoch",
            Self::CommitPending => "commit_pending",
            Self::NoSuchMember => "no_such_member",
            Self::NoSuchProposal => "no_such_proposal",
            Self::InvalidOption { .. } => "invalid_option",
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotAWelcome => "the message is not a Welcome",
            Self::NotAGroupInfo => "the message is not a GroupInfo",
            Self::NotAKeyPackage => "the message is not a KeyPackage",
            Self::NotAGroupMessage => "the message is not a PublicMessage or PrivateMessage",
            Self::WrongGroup => "the message belongs to another group",
            Self::NoMatchingKeyPackage => "the Welcome is for none of this client's KeyPackages",
            Self::BufferFull => "too many messages of future epochs are waiting",
            Self::FutureEpoch => "the message is of a future epoch that is not held",
            Self::CommitPending => "a Commit of this member is pending: merge or discard it first",
            Self::NoSuchMember => "no member at that leaf",
            Self::NoSuchProposal => "no pending proposal with that reference",
            Self::InvalidOption { option } => return write!(f, "group option {option} out of range"),
        })
    }
}
