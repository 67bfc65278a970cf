//! Creating a group (RFC 9420 §11): a one-member group in epoch 0.

use alloc::vec::Vec;

use super::lifecycle::{Lifecycle, OwnPending};
use super::{Environment, Error, Group, GroupConfig};
use crate::codec::{VLBytes, encode};
use crate::crypto::{Secret, SignatureKey};
use crate::key_package::sign_leaf_node;
use crate::key_schedule::EpochSchedule;
use crate::messages::{
    Capabilities, Credential, Extension, GroupContext, LeafNode, LeafNodeSource, Lifetime, ProtocolVersion,
    RequiredCapabilities,
};
use crate::ratchet_tree::{LeafNodeOrigin, LeafValidationContext, RatchetTree, TreeError, leaf::validate_leaf_node};
use crate::secret_tree::SecretTree;
use crate::transcript;
use crate::tree_math::LeafIndex;
use crate::treekem::TreeKemPrivate;

/// What the creator puts into its own leaf node (§7.2); the encryption key
/// is generated and the leaf signed by [`Group::create`].
#[derive(Clone, Debug)]
pub struct OwnLeaf {
    /// The creator's credential.
    pub credential: Credential,
    /// The public half of the creator's signature key pair.
    pub signature_public_key: Vec<u8>,
    /// What the creator's client supports.
    pub capabilities: Capabilities,
    /// The leaf node's extensions.
    pub extensions: Vec<Extension>,
    /// The lifetime of the leaf, which has source `key_package` as a
    /// KeyPackage's leaf would (§7.2).
    pub lifetime: Lifetime,
}

impl Group {
    /// Creates a group with this client as its only member (§11): a
    /// one-leaf tree, epoch 0, empty confirmed transcript hash, a random
    /// `init_secret` run through the key schedule with no commit secret,
    /// and the interim transcript hash from the epoch's confirmation tag.
    pub fn create(
        env: &Environment<'_>,
        group_id: Vec<u8>,
        own: OwnLeaf,
        signature_private_key: Secret,
        extensions: Vec<Extension>,
        config: GroupConfig,
        rng: &mut crate::crypto::Rng<'_>,
    ) -> Result<Self, Error> {
        config.check()?;
        let cs = env.cs;
        let group_id = VLBytes::from(group_id);
        let encryption = cs.kem_key_generate(rng)?;
        let leaf = creator_leaf(
            env,
            own,
            encryption.public,
            &signature_private_key,
            &group_id,
            &extensions,
        )?;
        let mut tree = RatchetTree::with_creator(leaf);
        let context = GroupContext {
            version: ProtocolVersion::MLS10,
            cipher_suite: cs.cipher_suite(),
            group_id,
            epoch: 0,
            tree_hash: tree.tree_hash(cs)?.into(),
            confirmed_transcript_hash: VLBytes::default(),
            extensions,
        };
        let init_secret = cs.random_secret(rng);
        let mut schedule = EpochSchedule::derive(cs, init_secret.as_bytes(), None, None, &encode(&context)?)?;
        // §11: the confirmation tag over the empty confirmed transcript hash
        // seeds the interim transcript hash.
        let tag = transcript::confirmation_tag(cs, schedule.epoch.confirmation_key.as_bytes(), &[]);
        let interim = transcript::interim_transcript_hash(cs, &[], &tag)?;
        let encryption_secret = core::mem::take(&mut schedule.epoch.encryption_secret);
        let secret_tree = SecretTree::with_config(encryption_secret, tree.n_leaves(), config.secret_tree)?;
        Ok(Self {
            config,
            context,
            tree,
            private: TreeKemPrivate::new(LeafIndex(0), encryption.private),
            signature_key: SignatureKey::new(cs, signature_private_key)?,
            verifiers: Default::default(),
            epoch: schedule.epoch,
            secret_tree,
            interim_transcript_hash: interim,
            confirmation_tag: tag,
            pending: Vec::new(),
            resumption_psks: Default::default(),
            lifecycle: Lifecycle::Open(OwnPending::default()),
            history: Default::default(),
        })
    }
}

/// The creator's signed leaf, validated like any KeyPackage leaf against
/// the group's required capabilities (§7.3, §11.1).
fn creator_leaf(
    env: &Environment<'_>,
    own: OwnLeaf,
    encryption_key: Vec<u8>,
    signature_private_key: &Secret,
    group_id: &VLBytes,
    extensions: &[Extension],
) -> Result<LeafNode, Error> {
    let mut leaf = LeafNode {
        encryption_key: encryption_key.into(),
        signature_key: own.signature_public_key.into(),
        credential: own.credential,
        capabilities: own.capabilities,
        leaf_node_source: LeafNodeSource::KeyPackage(own.lifetime),
        extensions: own.extensions,
        signature: VLBytes::default(),
    };
    sign_leaf_node(env.cs, &mut leaf, signature_private_key.as_bytes(), None)?;
    let required = Extension::find::<RequiredCapabilities>(extensions)?;
    let ctx = LeafValidationContext {
        cs: env.cs,
        group_id,
        required_capabilities: required.as_ref(),
        now: env.now,
        max_lifetime: None,
        credential_validator: env.credential_validator,
    };
    // A signature key that does not match the private key fails here too.
    validate_leaf_node(&ctx, &leaf, LeafNodeOrigin::KeyPackage)
        .map_err(|error| TreeError::InvalidLeafNode { leaf: 0, error })?;
    Ok(leaf)
}
