//! Joining a group from a Welcome (RFC 9420 §12.4.3.1).

use alloc::vec::Vec;

use super::lifecycle::{Lifecycle, OwnPending};
use super::{Environment, Error, Group, GroupConfig, leaf_context, resolve_psk_secret};
use crate::crypto::{Secret, SignatureKey};
use crate::error::{FramingError, WelcomeError};
use crate::key_package::key_package_ref;
use crate::key_schedule::WelcomeSchedule;
use crate::messages::{
    Extension, ExtensionType, GroupInfo, KeyPackage, Node, ProtocolVersion, RequiredCapabilities, Welcome,
};
use crate::ratchet_tree::{RatchetTree, TreeValidationParams};
use crate::secret_tree::SecretTree;
use crate::transcript;
use crate::tree_math::{LeafIndex, common_ancestor};
use crate::treekem::TreeKemPrivate;
use crate::welcome;

/// The joiner's KeyPackage and the private keys made with it.
pub struct JoinKeys<'a> {
    /// The KeyPackage the Welcome was made for.
    pub key_package: &'a KeyPackage,
    /// The private key of its `init_key`.
    pub init_private_key: &'a [u8],
    /// The private key of its leaf's `encryption_key`.
    pub encryption_private_key: Secret,
    /// The private key of its leaf's `signature_key`.
    pub signature_private_key: Secret,
}

impl Group {
    /// Joins from a Welcome: decrypts the GroupSecrets and GroupInfo,
    /// validates the ratchet tree (from the GroupInfo's `ratchet_tree`
    /// extension, or `ratchet_tree` when supplied out of band), checks the
    /// GroupInfo's signature and confirmation tag, and sets up the epoch.
    pub fn join(
        env: &Environment<'_>,
        welcome: &Welcome,
        keys: JoinKeys<'_>,
        ratchet_tree: Option<Vec<Option<Node>>>,
        config: GroupConfig,
    ) -> Result<Self, Error> {
        config.check()?;
        let cs = env.cs;
        let kp_ref = key_package_ref(cs, keys.key_package)?;
        let secrets = welcome::open_group_secrets(cs, welcome, &kp_ref, keys.init_private_key)?;
        let psk_secret = resolve_psk_secret(env, &secrets.psks, None)?;
        let schedule = WelcomeSchedule::new(cs, &secrets.joiner_secret, psk_secret.as_ref().map(Secret::as_bytes))?;
        let group_info = welcome::open_group_info(cs, welcome, &schedule)?;
        check_group_info(env, &group_info)?;

        let tree = verified_tree(env, &group_info, ratchet_tree)?;

        let own_leaf = tree
            .find_leaf(&keys.key_package.leaf_node)
            .ok_or(WelcomeError::NotInTree)?;
        let mut private = TreeKemPrivate::new(own_leaf, keys.encryption_private_key);
        if let Some(path_secret) = &secrets.path_secret {
            let start = lowest_common_ancestor(own_leaf, LeafIndex(group_info.signer))?;
            private.set_path_from(cs, &tree, start, &path_secret.path_secret)?;
        }
        let mut epoch = welcome::confirm_epoch(cs, schedule, &group_info)?;
        let context = group_info.group_context;
        let interim =
            transcript::interim_transcript_hash(cs, &context.confirmed_transcript_hash, &group_info.confirmation_tag)?;
        let secret_tree = SecretTree::with_config(
            core::mem::take(&mut epoch.encryption_secret),
            tree.n_leaves(),
            config.secret_tree,
        )?;
        Ok(Self {
            config,
            context,
            tree,
            private,
            signature_key: SignatureKey::new(cs, keys.signature_private_key)?,
            verifiers: Default::default(),
            epoch,
            secret_tree,
            interim_transcript_hash: interim,
            confirmation_tag: group_info.confirmation_tag.into_vec(),
            pending: Vec::new(),
            resumption_psks: Default::default(),
            lifecycle: Lifecycle::Open(OwnPending::default()),
            history: Default::default(),
        })
    }
}

/// The GroupInfo must be for our version and suite.
pub(super) fn check_group_info(env: &Environment<'_>, group_info: &GroupInfo) -> Result<(), Error> {
    let context = &group_info.group_context;
    if context.version != ProtocolVersion::MLS10 {
        return Err(FramingError::UnsupportedVersion.into());
    }
    if context.cipher_suite != env.cs.cipher_suite() {
        return Err(FramingError::CipherSuiteMismatch.into());
    }
    Ok(())
}

/// The group's tree — from the `ratchet_tree` extension, else `supplied` —
/// fully validated against the GroupInfo's tree hash (§12.4.3.1), and the
/// GroupInfo's signature verified with the signer's leaf key from it.
pub(super) fn verified_tree(
    env: &Environment<'_>,
    group_info: &GroupInfo,
    supplied: Option<Vec<Option<Node>>>,
) -> Result<RatchetTree, Error> {
    let extension = (group_info.extensions.iter()).find(|e| e.extension_type == ExtensionType::RATCHET_TREE);
    let mut tree = match (extension, supplied) {
        (Some(extension), _) => RatchetTree::decode(&extension.extension_data)?,
        (None, Some(nodes)) => RatchetTree::from_nodes(nodes)?,
        (None, None) => return Err(WelcomeError::MissingRatchetTree.into()),
    };
    let context = &group_info.group_context;
    let required = Extension::find::<RequiredCapabilities>(&context.extensions)?;
    let params = TreeValidationParams {
        leaf: leaf_context(env, context, required.as_ref()),
        expected_tree_hash: Some(&context.tree_hash),
    };
    tree.validate(&params)?;
    let signer = tree
        .leaf(LeafIndex(group_info.signer))
        .ok_or(FramingError::InvalidSender)?;
    welcome::verify_group_info(env.cs, group_info, &signer.signature_key)?;
    Ok(tree)
}

/// The node where the committer's path meets ours: where our path secret goes.
fn lowest_common_ancestor(a: LeafIndex, b: LeafIndex) -> Result<crate::tree_math::NodeIndex, Error> {
    match (a.to_node(), b.to_node()) {
        (Some(x), Some(y)) if x != y => Ok(common_ancestor(x, y)),
        _ => Err(FramingError::InvalidSender.into()),
    }
}
