//! Publishing a GroupInfo and joining by external Commit (RFC 9420
//! §12.4.3, §12.4.3.2, §8.3).
//!
//! A member publishes the current epoch's signed GroupInfo with the
//! `external_pub` extension ([`Group::group_info`]). A new client (or a
//! member that lost its state, a "resync") uses it to build an external
//! Commit on its own ([`Group::join_external`]): it encapsulates a fresh
//! `init_secret` to `external_pub` (ExternalInit, §12.1.6), takes the
//! leftmost free leaf, sends an UpdatePath and signs as
//! `new_member_commit`. The members process that Commit like any other
//! (process.rs).

use alloc::vec::Vec;

use super::create::OwnLeaf;
use super::join::{check_group_info, verified_tree};
use super::lifecycle::{Lifecycle, OwnPending};
use super::proposals::{CommittedProposal, Committer, ProposalContext, apply_proposals};
use super::{Environment, Error, ExternalJoins, Group, GroupConfig, leaf_context, resolve_psk_secret};
use crate::codec::{VLBytes, encode};
use crate::crypto::{CipherSuiteProvider, Rng, Secret, SignatureKey};
use crate::error::{FramingError, WelcomeError};
use crate::framing;
use crate::key_schedule::{EpochSchedule, EpochSecrets, external_init_sender};
use crate::messages::{
    AuthenticatedContent, Commit, Content, Extension, ExtensionType, ExternalInit, ExternalPub, FramedContent,
    FramedContentAuthData, GroupContext, GroupInfo, LeafNode, LeafNodeSource, MlsMessage, MlsMessageBody, Node,
    PreSharedKey, PreSharedKeyId, Proposal, ProposalOrRef, ProtocolVersion, Remove, RequiredCapabilities, Sender,
    WireFormat,
};
use crate::ratchet_tree::leaf::validate_leaf_node;
use crate::ratchet_tree::{LeafNodeOrigin, RatchetTree, TreeError};
use crate::secret_tree::SecretTree;
use crate::transcript;
use crate::tree_math::LeafIndex;
use crate::treekem::{CreatedUpdatePath, UpdatePathParams, create_update_path};
use crate::welcome::SignedGroupInfo;

/// What [`Group::join_external`] joins with.
#[derive(Clone, Debug)]
pub struct ExternalJoinParams<'a> {
    /// The group's published GroupInfo (an `MlsMessage` of type
    /// `mls_group_info`) with the `external_pub` extension.
    pub group_info: &'a MlsMessage,
    /// The ratchet tree, when the GroupInfo carries no `ratchet_tree`
    /// extension; checked against the GroupInfo's tree hash either way.
    pub ratchet_tree: Option<Vec<Option<Node>>>,
    /// The joiner's leaf. Its `lifetime` is unused: a leaf made by a Commit
    /// has source `commit` (§7.2).
    pub own: OwnLeaf,
    /// The private key of `own.signature_public_key`.
    pub signature_private_key: Secret,
    /// Remove this client's old leaf in the same Commit (a "resync",
    /// §12.4.3.2): the leaf with `own`'s signature key, else with its
    /// credential.
    pub resync: bool,
    /// External PSKs to inject (§8.4), looked up in the environment's store.
    pub psks: Vec<PreSharedKeyId>,
}

/// The current epoch as a GroupInfo describes it (§12.4.3): what a
/// GroupInfo is signed over, for the current or the next epoch.
pub(super) struct EpochView<'a> {
    /// The epoch's GroupContext.
    pub(super) context: &'a GroupContext,
    /// The epoch's ratchet tree.
    pub(super) tree: &'a RatchetTree,
    /// The epoch's secrets (for `external_pub`).
    pub(super) secrets: &'a EpochSecrets,
    /// The confirmation tag of the Commit that started the epoch.
    pub(super) confirmation_tag: &'a [u8],
}

/// The external Commit, signed, and the new epoch's tree and provisional
/// GroupContext (the confirmed transcript hash is still the old one).
struct ExternalCommit {
    content: AuthenticatedContent,
    tree: RatchetTree,
    next: GroupContext,
    path: CreatedUpdatePath,
}

impl Group {
    /// The current epoch's GroupInfo, signed by this member (§12.4.3), with
    /// the `external_pub` extension so that clients can join by external
    /// Commit (§12.4.3.2) if the environment's [`ExternalJoins`] policy
    /// lets any, and, if `with_ratchet_tree`, the `ratchet_tree`
    /// extension (§12.4.3.3). One GroupInfo serves one external join: the
    /// join ends the epoch.
    pub fn group_info(&self, env: &Environment<'_>, with_ratchet_tree: bool) -> Result<MlsMessage, Error> {
        self.check_active()?;
        let view = EpochView {
            context: &self.context,
            tree: &self.tree,
            secrets: &self.epoch,
            confirmation_tag: &self.confirmation_tag,
        };
        let (group_info, _) = self.signed_group_info(env, &view, with_ratchet_tree)?;
        Ok(MlsMessage {
            version: ProtocolVersion::MLS10,
            body: MlsMessageBody::GroupInfo(group_info),
        })
    }

    /// A GroupInfo of the epoch `view`, signed with this member's key at its
    /// leaf (§12.4.3): the one construction behind [`Group::group_info`] and
    /// the GroupInfo of a Commit (commit.rs).
    pub(super) fn signed_group_info(
        &self,
        env: &Environment<'_>,
        view: &EpochView<'_>,
        with_tree: bool,
    ) -> Result<(GroupInfo, SignedGroupInfo), Error> {
        let mut extensions = Vec::with_capacity(2);
        // Without `external_pub` no external Commit can be built from it.
        if env.external_joins != ExternalJoins::Deny {
            let external_pub = ExternalPub {
                external_pub: view.secrets.external_pub(env.cs)?.into(),
            };
            extensions.push(Extension::from_body(&external_pub)?);
        }
        if with_tree {
            // Encoded straight from the tree, without copying its nodes.
            extensions.push(Extension {
                extension_type: ExtensionType::RATCHET_TREE,
                extension_data: view.tree.encode()?.into(),
            });
        }
        let mut group_info = GroupInfo {
            group_context: view.context.clone(),
            extensions,
            confirmation_tag: view.confirmation_tag.into(),
            signer: self.own_leaf().0,
            signature: VLBytes::default(),
        };
        let signed = SignedGroupInfo::sign(env.cs, &mut group_info, self.signature_key.private().as_bytes())?;
        Ok((group_info, signed))
    }

    /// Joins the group of `params.group_info` by external Commit
    /// (§12.4.3.2). Returns the joiner's group, already in the new epoch,
    /// and the Commit (a PublicMessage) to send to the Delivery Service;
    /// if the DS rejects it, drop the group and retry with a newer
    /// GroupInfo.
    ///
    /// The GroupInfo is checked against the validated ratchet tree: its
    /// signature with the signer's leaf key, its tree hash. It cannot be
    /// checked further (the confirmation tag needs the epoch's secrets).
    pub fn join_external(
        env: &Environment<'_>,
        mut params: ExternalJoinParams<'_>,
        config: GroupConfig,
        rng: &mut Rng<'_>,
    ) -> Result<(Self, MlsMessage), Error> {
        config.check()?;
        let group_info = published_group_info(env, params.group_info)?;
        let tree = verified_tree(env, group_info, params.ratchet_tree.take())?;
        let external_pub = Extension::find::<ExternalPub>(&group_info.extensions)?
            // A GroupInfo without it is not meant for external joins.
            .ok_or(WelcomeError::MissingExternalPub)?;
        // §8.3: the new epoch's init_secret, sent to the members as kem_output.
        let (kem_output, init_secret) = external_init_sender(env.cs, &external_pub.external_pub, rng)
            .map_err(|_| WelcomeError::InvalidExternalPub)?;
        let proposals = external_proposals(&tree, &params, kem_output)?;
        let commit = build_external_commit(env, &group_info.group_context, tree, &proposals, &params, rng)?;
        let secrets = NewEpochSecrets {
            init_secret,
            commit_secret: Some(commit.path.commit_secret.clone()),
            psk_secret: resolve_psk_secret(env, &params.psks, None)?,
        };
        let joined = confirm_external(env, group_info, commit, secrets)?;
        // No membership tag for a `new_member_commit` sender (§6.2), so no
        // membership key is needed (the joiner has none).
        let message = framing::protect_public(env.cs, &[], &group_info.group_context, joined.commit.content.clone())?;
        let message = MlsMessage {
            version: ProtocolVersion::MLS10,
            body: MlsMessageBody::PublicMessage(message),
        };
        Ok((
            joined.into_group(env.cs, params.signature_private_key, config)?,
            message,
        ))
    }
}

/// The GroupInfo in a published `MlsMessage`, for our version and suite.
fn published_group_info<'m>(env: &Environment<'_>, message: &'m MlsMessage) -> Result<&'m GroupInfo, Error> {
    let MlsMessageBody::GroupInfo(group_info) = &message.body else {
        return Err(FramingError::UnexpectedMessage.into());
    };
    if message.version != ProtocolVersion::MLS10 {
        return Err(FramingError::UnsupportedVersion.into());
    }
    check_group_info(env, group_info)?;
    Ok(group_info)
}

/// The Commit's proposals, all by value (§12.4.3.2): the ExternalInit, the
/// Remove of the old leaf for a resync, the PSKs.
fn external_proposals(
    tree: &RatchetTree,
    params: &ExternalJoinParams<'_>,
    kem_output: Vec<u8>,
) -> Result<Vec<Proposal>, Error> {
    let mut proposals = vec![Proposal::ExternalInit(ExternalInit {
        kem_output: kem_output.into(),
    })];
    if params.resync {
        let old = old_leaf(tree, &params.own).ok_or(WelcomeError::NotInTree)?;
        proposals.push(Proposal::Remove(Remove { removed: old.0 }));
    }
    for psk in &params.psks {
        proposals.push(Proposal::PreSharedKey(PreSharedKey { psk: psk.clone() }));
    }
    Ok(proposals)
}

/// This client's earlier leaf: the one with its signature key, else the
/// first with its credential.
fn old_leaf(tree: &RatchetTree, own: &OwnLeaf) -> Option<LeafIndex> {
    let by_key = tree
        .leaves()
        .find(|(_, l)| l.signature_key.as_slice() == own.signature_public_key.as_slice());
    let by_credential = || tree.leaves().find(|(_, l)| l.credential == own.credential);
    by_key.or_else(by_credential).map(|(i, _)| i)
}

/// Applies the proposals as the members will (§12.4.2), adds the joiner at
/// the leftmost free leaf, creates its UpdatePath under the provisional
/// GroupContext (§12.4.1) and signs the Commit as `new_member_commit` under
/// the current one. The epoch is derived by the caller.
fn build_external_commit(
    env: &Environment<'_>,
    context: &GroupContext,
    mut tree: RatchetTree,
    proposals: &[Proposal],
    params: &ExternalJoinParams<'_>,
    rng: &mut Rng<'_>,
) -> Result<ExternalCommit, Error> {
    let committed: Vec<CommittedProposal> = proposals
        .iter()
        .map(|proposal| CommittedProposal {
            proposal: proposal.clone(),
            sender: Sender::NewMemberCommit,
            reference: None,
        })
        .collect();
    let ctx = ProposalContext::new(env, context);
    // Only Removes change the tree; an external Commit adds no one else.
    let applied = apply_proposals(&ctx, &mut tree, &committed, Committer::External)?;
    let mut next = applied.next_context(context)?;
    let path = joiner_path(env, &mut tree, &mut next, params, rng)?;
    let commit = Commit {
        proposals: proposals.iter().cloned().map(ProposalOrRef::Proposal).collect(),
        path: Some(path.update_path.clone()),
    };
    let content = sign_external(env, context, commit, params.signature_private_key.as_bytes())?;
    Ok(ExternalCommit {
        content,
        tree,
        next,
        path,
    })
}

/// Puts the joiner's leaf at the leftmost free leaf (after the Removes, as
/// the members do) and creates its UpdatePath from there (§12.4.3.2).
fn joiner_path(
    env: &Environment<'_>,
    tree: &mut RatchetTree,
    next: &mut GroupContext,
    params: &ExternalJoinParams<'_>,
    rng: &mut Rng<'_>,
) -> Result<CreatedUpdatePath, Error> {
    let leaf_node = unsigned_leaf(&params.own);
    let own = tree.add_leaf(leaf_node.clone())?;
    let path_params = UpdatePathParams {
        sender: own,
        leaf_node,
        signature_private_key: params.signature_private_key.as_bytes(),
        added_leaves: &[],
    };
    // Sets next.tree_hash; encrypts under the provisional context.
    let path = create_update_path(env.cs, tree, path_params, next, rng)?;
    // Fail here rather than at every member: a signature key that does not
    // match the private key, or missing required capabilities.
    let required = Extension::find::<RequiredCapabilities>(&next.extensions)?;
    let leaf = &path.update_path.leaf_node;
    validate_leaf_node(
        &leaf_context(env, next, required.as_ref()),
        leaf,
        LeafNodeOrigin::Commit(own),
    )
    .map_err(|error| TreeError::InvalidLeafNode { leaf: own.0, error })?;
    Ok(path)
}

/// The joiner's leaf before its UpdatePath: `create_update_path` sets the
/// encryption key, the source and the signature.
fn unsigned_leaf(own: &OwnLeaf) -> LeafNode {
    LeafNode {
        encryption_key: VLBytes::default(),
        signature_key: own.signature_public_key.as_slice().into(),
        credential: own.credential.clone(),
        capabilities: own.capabilities.clone(),
        leaf_node_source: LeafNodeSource::Commit(VLBytes::default()),
        extensions: own.extensions.clone(),
        signature: VLBytes::default(),
    }
}

/// The Commit as FramedContent of the current epoch from
/// `new_member_commit`, signed for a PublicMessage under the current
/// GroupContext (§6.1); the confirmation tag is added later.
fn sign_external(
    env: &Environment<'_>,
    context: &GroupContext,
    commit: Commit,
    signature_key: &[u8],
) -> Result<AuthenticatedContent, Error> {
    let content = FramedContent {
        group_id: context.group_id.clone(),
        epoch: context.epoch,
        sender: Sender::NewMemberCommit,
        authenticated_data: VLBytes::default(),
        content: Content::Commit(commit),
    };
    let wire_format = WireFormat::PUBLIC_MESSAGE;
    let signer = env.cs.signer(signature_key)?;
    let signature = framing::sign_content(&*signer, wire_format, &content, context)?;
    Ok(AuthenticatedContent {
        wire_format,
        content,
        auth: FramedContentAuthData {
            signature,
            confirmation_tag: None,
        },
    })
}

/// The inputs of the new epoch's key schedule (§8).
pub(super) struct NewEpochSecrets {
    pub(super) init_secret: Secret,
    pub(super) commit_secret: Option<Secret>,
    pub(super) psk_secret: Option<Secret>,
}

/// The key schedule of the epoch the signed Commit `content` starts (§8),
/// from the previous epoch's interim transcript hash `interim`; sets
/// `next.confirmed_transcript_hash` first, since the new GroupContext
/// feeds the schedule.
pub(super) fn derive_epoch(
    env: &Environment<'_>,
    interim: &[u8],
    content: &AuthenticatedContent,
    next: &mut GroupContext,
    secrets: NewEpochSecrets,
) -> Result<EpochSchedule, Error> {
    let input = transcript::confirmed_transcript_input(content)?;
    next.confirmed_transcript_hash = transcript::confirmed_transcript_hash(env.cs, interim, &input).into();
    EpochSchedule::derive(
        env.cs,
        secrets.init_secret.as_bytes(),
        secrets.commit_secret.as_ref().map(Secret::as_bytes),
        secrets.psk_secret.as_ref().map(Secret::as_bytes),
        &encode(&*next)?,
    )
}

/// Derives the new epoch from the members' interim transcript hash — which
/// the GroupInfo's confirmed transcript hash and confirmation tag give
/// (§8.2) — and adds the confirmation tag to the Commit (§12.4.1).
fn confirm_external(
    env: &Environment<'_>,
    group_info: &GroupInfo,
    mut commit: ExternalCommit,
    secrets: NewEpochSecrets,
) -> Result<Joined, Error> {
    let cs = env.cs;
    let context = &group_info.group_context;
    let interim =
        transcript::interim_transcript_hash(cs, &context.confirmed_transcript_hash, &group_info.confirmation_tag)?;
    let schedule = derive_epoch(env, &interim, &commit.content, &mut commit.next, secrets)?;
    let confirmed = &commit.next.confirmed_transcript_hash;
    let tag = transcript::confirmation_tag(cs, schedule.epoch.confirmation_key.as_bytes(), confirmed);
    let interim = transcript::interim_transcript_hash(cs, confirmed, &tag)?;
    commit.content.auth.confirmation_tag = Some(tag.as_slice().into());
    Ok(Joined {
        commit,
        schedule,
        interim,
        confirmation_tag: tag,
    })
}

/// The joiner's new epoch, complete.
struct Joined {
    commit: ExternalCommit,
    schedule: EpochSchedule,
    interim: Vec<u8>,
    confirmation_tag: Vec<u8>,
}

impl Joined {
    /// The joiner's group in the new epoch: it merges its own Commit at
    /// once, having no older epoch to stay in.
    fn into_group(
        self,
        cs: &dyn CipherSuiteProvider,
        signature_key: Secret,
        config: GroupConfig,
    ) -> Result<Group, Error> {
        let Joined {
            commit,
            mut schedule,
            interim,
            confirmation_tag,
        } = self;
        let encryption_secret = core::mem::take(&mut schedule.epoch.encryption_secret);
        let secret_tree = SecretTree::with_config(encryption_secret, commit.tree.n_leaves(), config.secret_tree)?;
        Ok(Group {
            config,
            context: commit.next,
            tree: commit.tree,
            private: commit.path.private,
            signature_key: SignatureKey::new(cs, signature_key)?,
            verifiers: Default::default(),
            epoch: schedule.epoch,
            secret_tree,
            interim_transcript_hash: interim,
            confirmation_tag,
            pending: Vec::new(),
            resumption_psks: Default::default(),
            lifecycle: Lifecycle::Open(OwnPending::default()),
            history: Default::default(),
        })
    }
}
