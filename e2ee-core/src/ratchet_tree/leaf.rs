//! Leaf node validation (RFC 9420 §7.3) and the credential-validation hook
//! (§5.3.1), the Authentication Service role of RFC 9750.
//!
//! [`validate_leaf_node`] checks what can be checked from one leaf node and
//! the group's parameters. The checks that compare a leaf with the other
//! members (unique keys, credential types supported by everyone) need the
//! tree: see [`RatchetTree::check_new_leaf`](super::RatchetTree::check_new_leaf)
//! and [`RatchetTree::validate`](super::RatchetTree::validate).

use alloc::vec::Vec;
use core::fmt;

use crate::codec::{Encode, VLBytes};
use crate::crypto::{self, CipherSuiteProvider};
use crate::messages::{
    Capabilities, Credential, CredentialType, ExtensionType, LeafNode, LeafNodeSource, LeafNodeTbs, ProposalType,
    RequiredCapabilities,
};
use crate::tree_math::LeafIndex;

/// Why an Authentication Service rejected a credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialError {
    /// The validator does not accept credentials of this type.
    UnsupportedCredentialType(CredentialType),
    /// The credential is not valid for the signature key, or its identity is
    /// not acceptable, by the application's policy; the string is a stable
    /// reason code of the application's choosing.
    Rejected(&'static str),
}

impl fmt::Display for CredentialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedCredentialType(t) => write!(f, "credential type {} not accepted", t.0),
            Self::Rejected(why) => write!(f, "credential rejected: {why}"),
        }
    }
}

/// The Authentication Service (RFC 9420 §5.3.1; RFC 9750 §5): decides
/// whether a credential legitimately binds its identity to a signature key.
///
/// MLS itself only checks signatures; which identities a member accepts is
/// the application's policy, plugged in here. Every credential a client
/// learns (key packages, Add/Update proposals, UpdatePaths, the tree of a
/// group it joins) goes through [`CredentialValidator::validate`].
pub trait CredentialValidator {
    /// Accepts `credential` as presented together with `signature_key`, or
    /// says why not.
    fn validate(&self, credential: &Credential, signature_key: &[u8]) -> Result<(), CredentialError>;

    /// Accepts `new` as a successor of `old` for the same member: an
    /// Update, a Commit's path, an external Commit replacing the member's
    /// earlier leaf (§5.3.1, §12.1.2, §12.4.3.2). `validate` has accepted
    /// `new` already. The default keeps identities stable: `new` must be
    /// `old`, so no member can take another's name; override it to allow
    /// e.g. a renewed certificate for the same subject.
    fn validate_successor(&self, old: &Credential, new: &Credential) -> Result<(), CredentialError> {
        match old == new {
            true => Ok(()),
            false => Err(CredentialError::Rejected("identity_changed")),
        }
    }
}

/// The default [`CredentialValidator`]: accepts every `basic` credential and
/// nothing else. A basic credential is only a claimed identity, so this
/// suits tests and applications that authenticate members out of band.
#[derive(Clone, Copy, Debug, Default)]
pub struct BasicCredentialValidator;

impl CredentialValidator for BasicCredentialValidator {
    fn validate(&self, credential: &Credential, _signature_key: &[u8]) -> Result<(), CredentialError> {
        match credential {
            Credential::Basic(_) => Ok(()),
            other => Err(CredentialError::UnsupportedCredentialType(other.credential_type())),
        }
    }
}

crate::error::error_enum! {
    /// Why a leaf node is invalid (§7.3).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum LeafNodeError {
        /// The credential was rejected by the [`CredentialValidator`].
        Credential {
            /// The validator's verdict.
            error: CredentialError,
        } => "leaf_node_credential_rejected", "{error}";
        /// The signature over LeafNodeTBS does not verify with `signature_key`.
        InvalidSignature => "leaf_node_invalid_signature", "invalid leaf node signature";
        /// `leaf_node_source` does not fit where the leaf node appeared.
        WrongSource => "leaf_node_wrong_source", "leaf_node_source does not fit the context";
        /// The current time is outside `lifetime`.
        Expired => "leaf_node_expired", "current time outside the leaf node's lifetime";
        /// `lifetime` is longer than the application allows.
        LifetimeTooLong => "leaf_node_lifetime_too_long", "leaf node lifetime too long";
        /// The leaf does not list its own credential type in its capabilities.
        CredentialTypeNotInCapabilities => "leaf_node_credential_type_not_in_capabilities", "own credential type not in capabilities";
        /// An extension of the leaf is not listed in its capabilities.
        ExtensionNotInCapabilities {
            /// The extension's type.
            extension_type: ExtensionType,
        } => "leaf_node_extension_not_in_capabilities", "extension {} not in capabilities", extension_type.0;
        /// The group's `required_capabilities` are not all supported.
        MissingRequiredCapability => "leaf_node_missing_required_capability", "required capabilities not supported";
        /// The leaf does not support a credential type used by another member,
        /// or another member does not support the leaf's credential type.
        CredentialTypeNotSupportedByGroup {
            /// The credential type.
            credential_type: CredentialType,
        } => "leaf_node_credential_type_not_supported_by_group", "credential type {} not supported across the group", credential_type.0;
        /// An Update's leaf node reuses the encryption key it replaces (§7.3).
        EncryptionKeyNotUpdated => "leaf_node_encryption_key_not_updated", "update does not change the encryption key";
        /// `encryption_key` is not a public key HPKE can encrypt to
        /// ([`CipherSuiteProvider::kem_public_key_check`]).
        InvalidEncryptionKey => "leaf_node_invalid_encryption_key", "the encryption key is not a usable KEM public key";
    }
}

/// Where a leaf node appeared, which fixes its allowed `leaf_node_source`
/// and the leaf index its signature is bound to (§7.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeafNodeOrigin {
    /// In a KeyPackage (source must be `key_package`).
    KeyPackage,
    /// In an Update proposal from the member at this leaf (source `update`).
    Update(LeafIndex),
    /// In the UpdatePath of a Commit from the member at this leaf (source
    /// `commit`).
    Commit(LeafIndex),
    /// At this leaf of a received ratchet tree (any source).
    Tree(LeafIndex),
}

/// The group parameters a leaf node is validated against.
#[derive(Clone, Copy)]
pub struct LeafValidationContext<'a> {
    /// The group's cipher suite.
    pub cs: &'a dyn CipherSuiteProvider,
    /// The group's id, signed by `update` and `commit` leaf nodes.
    pub group_id: &'a VLBytes,
    /// The GroupContext's `required_capabilities` extension, if any.
    pub required_capabilities: Option<&'a RequiredCapabilities>,
    /// The current time in seconds since the Unix epoch; `None` skips the
    /// lifetime check (optional for received leaves, §7.3).
    pub now: Option<u64>,
    /// The longest `not_after - not_before` the application accepts (§7.2);
    /// `None` for no limit.
    pub max_lifetime: Option<u64>,
    /// The Authentication Service.
    pub credential_validator: &'a dyn CredentialValidator,
}

/// Validates `leaf` on its own (§7.3): credential, signature, source,
/// encryption key, lifetime, own capabilities and the group's required
/// capabilities.
pub fn validate_leaf_node(
    ctx: &LeafValidationContext<'_>,
    leaf: &LeafNode,
    origin: LeafNodeOrigin,
) -> Result<(), LeafNodeError> {
    validate_all_but_signature(ctx, leaf, origin)?;
    verify_signature(ctx, leaf, origin)
}

/// The checks of [`validate_leaf_node`] before the signature, in the same
/// order: for leaves whose signatures were verified together beforehand
/// (`verify_many`).
pub(crate) fn validate_all_but_signature(
    ctx: &LeafValidationContext<'_>,
    leaf: &LeafNode,
    origin: LeafNodeOrigin,
) -> Result<(), LeafNodeError> {
    check_source(leaf, origin)?;
    ctx.cs
        .kem_public_key_check(leaf.encryption_key.as_slice())
        .map_err(|_| LeafNodeError::InvalidEncryptionKey)?;
    check_lifetime(ctx, leaf)?;
    check_own_capabilities(leaf)?;
    if let Some(required) = ctx.required_capabilities {
        check_required_capabilities(&leaf.capabilities, required)?;
    }
    ctx.credential_validator
        .validate(&leaf.credential, leaf.signature_key.as_slice())
        .map_err(|error| LeafNodeError::Credential { error })
}

/// The encoding of the LeafNodeTBS of `leaf` (§7.2). `group` is
/// `(group_id, leaf_index)`, required for `update` and `commit` sources.
pub(crate) fn encode_tbs(leaf: &LeafNode, group: Option<(&VLBytes, u32)>) -> Result<Vec<u8>, crate::codec::CodecError> {
    let mut tbs = crate::codec::Writer::with_capacity(TBS_CAPACITY);
    LeafNodeTbs { leaf_node: leaf, group }.encode_to(&mut tbs);
    tbs.finish()
}

/// Room for a typical LeafNodeTBS (keys, a short basic credential, the
/// default capabilities, group id and index) without reallocating.
const TBS_CAPACITY: usize = 256;

/// The message the leaf node's signature signs: the SignContent of its
/// LeafNodeTBS (§5.1.2, §7.2).
pub(crate) fn signed_message(
    ctx: &LeafValidationContext<'_>,
    leaf: &LeafNode,
    origin: LeafNodeOrigin,
) -> Result<Vec<u8>, LeafNodeError> {
    let group = match origin {
        LeafNodeOrigin::KeyPackage => None,
        LeafNodeOrigin::Update(i) | LeafNodeOrigin::Commit(i) | LeafNodeOrigin::Tree(i) => Some((ctx.group_id, i.0)),
    };
    // Only a non-key_package leaf without group context fails to encode, and
    // its signature could not verify anyway.
    let tbs = encode_tbs(leaf, group).map_err(|_| LeafNodeError::InvalidSignature)?;
    crypto::sign_content(b"LeafNodeTBS", &tbs).map_err(|_| LeafNodeError::InvalidSignature)
}

/// Verifies `SignWithLabel(., "LeafNodeTBS", LeafNodeTBS)` (§7.2); the TBS
/// carries `group_id` and `leaf_index` for `update` and `commit` sources.
pub fn verify_signature(
    ctx: &LeafValidationContext<'_>,
    leaf: &LeafNode,
    origin: LeafNodeOrigin,
) -> Result<(), LeafNodeError> {
    let message = signed_message(ctx, leaf, origin)?;
    ctx.cs
        .verify(leaf.signature_key.as_slice(), &message, leaf.signature.as_slice())
        .map_err(|_| LeafNodeError::InvalidSignature)
}

/// The source must match where the leaf appeared (§7.3).
fn check_source(leaf: &LeafNode, origin: LeafNodeOrigin) -> Result<(), LeafNodeError> {
    let ok = matches!(
        (origin, &leaf.leaf_node_source),
        (LeafNodeOrigin::KeyPackage, LeafNodeSource::KeyPackage(_))
            | (LeafNodeOrigin::Update(_), LeafNodeSource::Update)
            | (LeafNodeOrigin::Commit(_), LeafNodeSource::Commit(_))
            | (LeafNodeOrigin::Tree(_), _)
    );
    if ok { Ok(()) } else { Err(LeafNodeError::WrongSource) }
}

/// Checks `lifetime` (key_package sources only carry one) against the
/// current time and the application's maximum.
fn check_lifetime(ctx: &LeafValidationContext<'_>, leaf: &LeafNode) -> Result<(), LeafNodeError> {
    let LeafNodeSource::KeyPackage(lifetime) = &leaf.leaf_node_source else {
        return Ok(());
    };
    if ctx
        .now
        .is_some_and(|now| now < lifetime.not_before || now > lifetime.not_after)
    {
        return Err(LeafNodeError::Expired);
    }
    let span = lifetime.not_after.saturating_sub(lifetime.not_before);
    if ctx.max_lifetime.is_some_and(|max| span > max) {
        return Err(LeafNodeError::LifetimeTooLong);
    }
    Ok(())
}

/// The leaf's own credential type and non-default extensions must be in its
/// capabilities (§7.2).
fn check_own_capabilities(leaf: &LeafNode) -> Result<(), LeafNodeError> {
    let caps = &leaf.capabilities;
    if !caps.credentials.contains(&leaf.credential.credential_type()) {
        return Err(LeafNodeError::CredentialTypeNotInCapabilities);
    }
    match leaf
        .extensions
        .iter()
        .find(|e| !supports_extension(caps, e.extension_type))
    {
        Some(e) => Err(LeafNodeError::ExtensionNotInCapabilities {
            extension_type: e.extension_type,
        }),
        None => Ok(()),
    }
}

/// Every required extension, proposal and credential type must be
/// supported (§11.1). Default types are supported without being listed.
pub fn check_required_capabilities(caps: &Capabilities, required: &RequiredCapabilities) -> Result<(), LeafNodeError> {
    let extensions = required.extension_types.iter().all(|&t| supports_extension(caps, t));
    let proposals = required.proposal_types.iter().all(|&t| supports_proposal(caps, t));
    let credentials = required.credential_types.iter().all(|t| caps.credentials.contains(t));
    if extensions && proposals && credentials {
        Ok(())
    } else {
        Err(LeafNodeError::MissingRequiredCapability)
    }
}

/// Whether `caps` supports extension type `t`; the default types (§7.2)
/// are not listed and always supported.
pub fn supports_extension(caps: &Capabilities, t: ExtensionType) -> bool {
    t.is_default() || caps.extensions.contains(&t)
}

/// Whether `caps` supports proposal type `t`; the default types (§7.2) are
/// not listed and always supported.
pub fn supports_proposal(caps: &Capabilities, t: ProposalType) -> bool {
    t.is_default() || caps.proposals.contains(&t)
}

#[cfg(test)]
mod tests {
    use super::super::test_utils::{group_id, kp_leaf, sign, suite, update_leaf};
    use super::*;
    use crate::messages::{Certificate, Extension, Lifetime};

    fn check(leaf: &LeafNode, origin: LeafNodeOrigin, now: Option<u64>) -> Result<(), LeafNodeError> {
        let gid = group_id();
        let ctx = LeafValidationContext {
            cs: suite(),
            group_id: &gid,
            required_capabilities: None,
            now,
            max_lifetime: None,
            credential_validator: &BasicCredentialValidator,
        };
        validate_leaf_node(&ctx, leaf, origin)
    }

    #[test]
    fn valid_leaves_pass() {
        assert_eq!(
            check(&kp_leaf(1), LeafNodeOrigin::KeyPackage, Some(1_700_000_000)),
            Ok(())
        );
        assert_eq!(check(&kp_leaf(1), LeafNodeOrigin::Tree(LeafIndex(5)), None), Ok(()));
        assert_eq!(
            check(&update_leaf(1, 3, 0), LeafNodeOrigin::Update(LeafIndex(3)), None),
            Ok(())
        );
        assert_eq!(
            check(&update_leaf(1, 3, 0), LeafNodeOrigin::Tree(LeafIndex(3)), None),
            Ok(())
        );
    }

    #[test]
    fn signature_binds_contents_group_and_leaf_index() {
        let leaf = update_leaf(1, 3, 0);
        let moved = check(&leaf, LeafNodeOrigin::Update(LeafIndex(4)), None);
        assert_eq!(moved, Err(LeafNodeError::InvalidSignature));
        let mut tampered = kp_leaf(1);
        tampered.encryption_key = vec![7; 32].into();
        assert_eq!(
            check(&tampered, LeafNodeOrigin::KeyPackage, None),
            Err(LeafNodeError::InvalidSignature)
        );
        let gid = VLBytes::from(b"other group");
        let ctx = LeafValidationContext {
            cs: suite(),
            group_id: &gid,
            required_capabilities: None,
            now: None,
            max_lifetime: None,
            credential_validator: &BasicCredentialValidator,
        };
        let other_group = validate_leaf_node(&ctx, &leaf, LeafNodeOrigin::Update(LeafIndex(3)));
        assert_eq!(other_group, Err(LeafNodeError::InvalidSignature));
        // Key-package leaves sign no group context.
        assert_eq!(
            validate_leaf_node(&ctx, &kp_leaf(2), LeafNodeOrigin::KeyPackage),
            Ok(())
        );
    }

    #[test]
    fn source_must_fit_the_origin() {
        let wrong = check(&kp_leaf(1), LeafNodeOrigin::Update(LeafIndex(0)), None);
        assert_eq!(wrong, Err(LeafNodeError::WrongSource));
        let wrong = check(&update_leaf(1, 0, 0), LeafNodeOrigin::Commit(LeafIndex(0)), None);
        assert_eq!(wrong, Err(LeafNodeError::WrongSource));
        let wrong = check(&update_leaf(1, 0, 0), LeafNodeOrigin::KeyPackage, None);
        assert_eq!(wrong, Err(LeafNodeError::WrongSource));
    }

    #[test]
    fn lifetime_is_checked() {
        let mut leaf = kp_leaf(1);
        leaf.leaf_node_source = LeafNodeSource::KeyPackage(Lifetime {
            not_before: 100,
            not_after: 200,
        });
        sign(&mut leaf, 1, 0);
        assert_eq!(check(&leaf, LeafNodeOrigin::KeyPackage, Some(150)), Ok(()));
        assert_eq!(
            check(&leaf, LeafNodeOrigin::KeyPackage, Some(99)),
            Err(LeafNodeError::Expired)
        );
        assert_eq!(
            check(&leaf, LeafNodeOrigin::KeyPackage, Some(201)),
            Err(LeafNodeError::Expired)
        );
        assert_eq!(check(&leaf, LeafNodeOrigin::KeyPackage, None), Ok(()));
        let gid = group_id();
        let ctx = LeafValidationContext {
            cs: suite(),
            group_id: &gid,
            required_capabilities: None,
            now: None,
            max_lifetime: Some(50),
            credential_validator: &BasicCredentialValidator,
        };
        let too_long = validate_leaf_node(&ctx, &leaf, LeafNodeOrigin::KeyPackage);
        assert_eq!(too_long, Err(LeafNodeError::LifetimeTooLong));
    }

    #[test]
    fn capabilities_are_checked() {
        let mut leaf = kp_leaf(1);
        leaf.capabilities.credentials.clear();
        let missing = check(&leaf, LeafNodeOrigin::KeyPackage, None);
        assert_eq!(missing, Err(LeafNodeError::CredentialTypeNotInCapabilities));

        let mut leaf = kp_leaf(1);
        let unknown = ExtensionType(0x0a0a);
        leaf.extensions.push(Extension {
            extension_type: unknown,
            extension_data: VLBytes::default(),
        });
        let unlisted = check(&leaf, LeafNodeOrigin::KeyPackage, None);
        assert_eq!(
            unlisted,
            Err(LeafNodeError::ExtensionNotInCapabilities {
                extension_type: unknown
            })
        );
        leaf.capabilities.extensions.push(unknown);
        // Default extension types need not be listed.
        let app_id = ExtensionType::APPLICATION_ID;
        leaf.extensions.push(Extension {
            extension_type: app_id,
            extension_data: VLBytes::default(),
        });
        sign(&mut leaf, 1, 0);
        assert_eq!(check(&leaf, LeafNodeOrigin::KeyPackage, None), Ok(()));

        let caps = &kp_leaf(1).capabilities;
        let mut required = RequiredCapabilities {
            extension_types: vec![ExtensionType::RATCHET_TREE],
            proposal_types: vec![ProposalType::REMOVE],
            credential_types: vec![CredentialType::BASIC],
        };
        assert_eq!(check_required_capabilities(caps, &required), Ok(()));
        required.proposal_types.push(ProposalType(0x0b0b));
        let unsupported = check_required_capabilities(caps, &required);
        assert_eq!(unsupported, Err(LeafNodeError::MissingRequiredCapability));
    }

    #[test]
    fn credentials_go_through_the_validator() {
        let mut leaf = kp_leaf(1);
        leaf.credential = Credential::X509(vec![Certificate {
            cert_data: vec![0x30].into(),
        }]);
        leaf.capabilities.credentials.push(CredentialType::X509);
        sign(&mut leaf, 1, 0);
        let err = check(&leaf, LeafNodeOrigin::KeyPackage, None);
        let rejected = LeafNodeError::Credential {
            error: CredentialError::UnsupportedCredentialType(CredentialType::X509),
        };
        assert_eq!(err, Err(rejected));
        assert_eq!(rejected.code(), "leaf_node_credential_rejected");

        struct AcceptAll;
        impl CredentialValidator for AcceptAll {
            fn validate(&self, _: &Credential, _: &[u8]) -> Result<(), CredentialError> {
                Ok(())
            }
        }
        let gid = group_id();
        let ctx = LeafValidationContext {
            cs: suite(),
            group_id: &gid,
            required_capabilities: None,
            now: None,
            max_lifetime: None,
            credential_validator: &AcceptAll,
        };
        assert_eq!(validate_leaf_node(&ctx, &leaf, LeafNodeOrigin::KeyPackage), Ok(()));
    }
}
