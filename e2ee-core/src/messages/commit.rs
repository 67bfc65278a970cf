//! Commit (RFC 9420 §12.4).

use alloc::vec::Vec;

use super::{Proposal, ProposalRef, UpdatePath};
use crate::codec::{Decode, Encode, Size};

/// ProposalOrRefType (RFC 9420 §12.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Size, Encode, Decode)]
#[repr(u8)]
pub enum ProposalOrRefType {
    /// `proposal`.
    Proposal = 1,
    /// `reference`.
    Reference = 2,
}

/// ProposalOrRef (RFC 9420 §12.4): a proposal inline or by reference.
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
#[repr(u8)]
// Unboxed so the variants read like the RFC's `select`; leaf nodes are most
// of a tree anyway, and a commit's proposal list is short.
#[allow(clippy::large_enum_variant)]
pub enum ProposalOrRef {
    /// `proposal`: `Proposal proposal`.
    #[codec(discriminant = 1)]
    Proposal(Proposal),
    /// `reference`: `ProposalRef reference` (§5.2).
    #[codec(discriminant = 2)]
    Reference(ProposalRef),
}

impl ProposalOrRef {
    /// The `type` field.
    pub fn proposal_or_ref_type(&self) -> ProposalOrRefType {
        match self {
            Self::Proposal(_) => ProposalOrRefType::Proposal,
            Self::Reference(_) => ProposalOrRefType::Reference,
        }
    }
}

/// Commit (RFC 9420 §12.4).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct Commit {
    /// The proposals the commit applies, in order.
    pub proposals: Vec<ProposalOrRef>,
    /// The committer's update path, if any.
    pub path: Option<UpdatePath>,
}
