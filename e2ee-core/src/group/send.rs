//! Sending in the current epoch (RFC 9420 §6, §12.1): application messages,
//! proposals, and the signing and protection every sent message shares.

use super::proposals::AppliedProposals;
use super::{Admission, Environment, Error, Group, PendingProposal};
use crate::codec::{VLBytes, encode};
use crate::crypto::Labelled;
use crate::crypto::{Rng, Secret};
use crate::error::{Refusal, WelcomeError};
use crate::framing::{self, PrivateKeys};
use crate::key_package::sign_leaf_node;
use crate::messages::{
    Add, AuthenticatedContent, Content, FramedContent, FramedContentAuthData, KeyPackage, LeafNodeSource, MlsMessage,
    MlsMessageBody, Proposal, ProposalRef, ProtocolVersion, Remove, Sender, Update, WireFormat,
};
use crate::ratchet_tree::RatchetTree;
use crate::tree_math::LeafIndex;
use crate::treekem::{TreeKemError, TreeKemPrivate};

impl Group {
    /// Encrypts application data as a PrivateMessage of the current epoch
    /// (§6.3), with `padding` zero bytes appended to the plaintext.
    pub fn seal(
        &mut self,
        env: &Environment<'_>,
        data: &[u8],
        authenticated_data: &[u8],
        padding: usize,
        rng: &mut Rng<'_>,
    ) -> Result<MlsMessage, Error> {
        self.check_active()?;
        let content = Content::Application(data.into());
        let signed = self.sign_content(content, authenticated_data, WireFormat::PRIVATE_MESSAGE)?;
        self.protect(env, signed, padding, rng)
    }

    /// Sends `proposal` as a PublicMessage or PrivateMessage (`wire_format`)
    /// and keeps it, like a received one, for a later Commit of this epoch
    /// (§12.1). An Update must come from [`Group::update_proposal`], which
    /// keeps its leaf's private key.
    pub fn propose(
        &mut self,
        env: &Environment<'_>,
        proposal: Proposal,
        wire_format: WireFormat,
        rng: &mut Rng<'_>,
    ) -> Result<(MlsMessage, ProposalRef), Error> {
        self.check_active()?;
        if self.pending.len() >= self.config.max_pending_proposals {
            return Err(Refusal::TooManyProposals.into());
        }
        if let Proposal::Update(update) = &proposal
            && self.own_update_key(&update.leaf_node.encryption_key).is_none()
        {
            return Err(self.no_leaf_key());
        }
        let sender = Sender::Member(self.own_leaf().0);
        // The others would refuse it.
        self.check_proposal(env, sender, &proposal)?;
        let signed = self.sign_content(Content::Proposal(proposal.clone()), &[], wire_format)?;
        // §5.2: the reference hashes the AuthenticatedContent.
        let reference: ProposalRef = env.cs.make_proposal_ref(&encode(&signed)?)?.into();
        let message = self.protect(env, signed, 0, rng)?;
        self.pending.push(PendingProposal {
            reference: reference.clone(),
            proposal,
            sender,
            // This member's own: its Commits may include it.
            admission: Admission::Accepted,
        });
        Ok((message, reference))
    }

    /// An Add proposal for `key_package` (§12.1.1).
    pub fn add_proposal(key_package: KeyPackage) -> Proposal {
        Proposal::Add(Add { key_package })
    }

    /// A Remove proposal for the member at `leaf` (§12.1.3).
    pub fn remove_proposal(leaf: LeafIndex) -> Proposal {
        Proposal::Remove(Remove { removed: leaf.0 })
    }

    /// An Update proposal (§12.1.2) of this member's leaf with a fresh
    /// encryption key, whose private key is kept until the epoch ends, for
    /// when another member commits it. Send it with [`Group::propose`].
    pub fn update_proposal(&mut self, env: &Environment<'_>, rng: &mut Rng<'_>) -> Result<Proposal, Error> {
        let max_pending = self.config.max_pending_proposals;
        if self.lifecycle.own_mut()?.update_keys.len() >= max_pending {
            return Err(Refusal::TooManyProposals.into());
        }
        let own = self.own_leaf();
        let mut leaf_node = self.tree.leaf(own).ok_or(WelcomeError::NotInTree)?.clone();
        let pair = env.cs.kem_key_generate(rng)?;
        leaf_node.encryption_key = pair.public.clone().into();
        leaf_node.leaf_node_source = LeafNodeSource::Update;
        let group = Some((&self.context.group_id, own.0));
        sign_leaf_node(env.cs, &mut leaf_node, self.signature_key.private().as_bytes(), group)?;
        self.lifecycle.own_mut()?.update_keys.push((pair.public, pair.private));
        Ok(Proposal::Update(Update { leaf_node }))
    }

    /// §12.1.2: when a Commit applies this member's own Update, its leaf now
    /// holds the Update's encryption key, and the private key kept by
    /// [`Group::update_proposal`] becomes the leaf key. The Update blanked
    /// the direct path, so no path key is lost. For `process_commit`, after
    /// `forget_blank` and before the UpdatePath is processed.
    pub(super) fn apply_own_update(
        &self,
        applied: &AppliedProposals,
        tree: &RatchetTree,
        private: &mut TreeKemPrivate,
    ) -> Result<(), Error> {
        let own = private.own_leaf();
        if !applied.updated.contains(&own) {
            return Ok(());
        }
        let leaf = tree.leaf(own).ok_or(WelcomeError::NotInTree)?;
        let key = self
            .own_update_key(&leaf.encryption_key)
            .ok_or_else(|| self.no_leaf_key())?;
        *private = TreeKemPrivate::new(own, key.clone());
        Ok(())
    }

    /// Fails with `NotAMember` once this member was removed, and with
    /// `Reinitialized` once a ReInit was committed (§11.2).
    pub(super) fn check_active(&self) -> Result<(), Error> {
        self.lifecycle.check_open()
    }

    /// The private key of this member's Update leaf with encryption key
    /// `public`, kept by [`Group::update_proposal`].
    fn own_update_key(&self, public: &[u8]) -> Option<&Secret> {
        self.lifecycle.own()?.update_key(public)
    }

    /// No private key is kept for an Update of this member's leaf.
    fn no_leaf_key(&self) -> Error {
        let node = self.own_leaf().to_node().map_or(u32::MAX, |x| x.0);
        Error::from(TreeKemError::NoPrivateKey { node })
    }

    /// FramedContent from this member in the current epoch, signed for
    /// `wire_format` under the current GroupContext (§6.1).
    pub(super) fn sign_content(
        &self,
        content: Content,
        authenticated_data: &[u8],
        wire_format: WireFormat,
    ) -> Result<AuthenticatedContent, Error> {
        let content = FramedContent {
            group_id: self.context.group_id.clone(),
            epoch: self.context.epoch,
            sender: Sender::Member(self.own_leaf().0),
            authenticated_data: VLBytes::from(authenticated_data),
            content,
        };
        let signature = framing::sign_content(self.signature_key.signer(), wire_format, &content, &self.context)?;
        let auth = FramedContentAuthData {
            signature,
            confirmation_tag: None,
        };
        Ok(AuthenticatedContent {
            wire_format,
            content,
            auth,
        })
    }

    /// Protects signed content with the current epoch's keys: the membership
    /// key for a PublicMessage (§6.2), the sender-data secret and secret tree
    /// for a PrivateMessage (§6.3).
    pub(super) fn protect(
        &mut self,
        env: &Environment<'_>,
        content: AuthenticatedContent,
        padding: usize,
        rng: &mut Rng<'_>,
    ) -> Result<MlsMessage, Error> {
        let body = if content.wire_format == WireFormat::PUBLIC_MESSAGE {
            let membership_key = self.epoch.membership_key.as_bytes();
            MlsMessageBody::PublicMessage(framing::protect_public(env.cs, membership_key, &self.context, content)?)
        } else {
            let keys = PrivateKeys {
                sender_data_secret: self.epoch.sender_data_secret.as_bytes(),
                secret_tree: &mut self.secret_tree,
            };
            MlsMessageBody::PrivateMessage(framing::protect_private(env.cs, keys, &content, padding, rng)?)
        };
        Ok(MlsMessage {
            version: ProtocolVersion::MLS10,
            body,
        })
    }
}
