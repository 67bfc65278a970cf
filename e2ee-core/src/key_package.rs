//! Creating and validating KeyPackages (RFC 9420 §10) and signing leaf
//! nodes (§7.2). The wire structures are in [`crate::messages`].

use alloc::vec::Vec;

use crate::codec::{VLBytes, encode};
use crate::crypto::Labelled;
use crate::crypto::{CipherSuite, CipherSuiteProvider, CryptoError, Rng, Secret};
use crate::error::Error;
use crate::messages::{
    Capabilities, Credential, CredentialType, Extension, KeyPackage, KeyPackageTbs, LeafNode, LeafNodeSource, Lifetime,
    ProtocolVersion,
};
use crate::ratchet_tree::leaf::{LeafNodeError, LeafNodeOrigin, LeafValidationContext, validate_leaf_node};

const KEY_PACKAGE_LABEL: &[u8] = b"KeyPackageTBS";
const LEAF_NODE_LABEL: &[u8] = b"LeafNodeTBS";

crate::error::error_enum! {
    /// Why a KeyPackage could not be created or was rejected.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum KeyPackageError {
        /// The protocol version is not `mls10`.
        UnsupportedVersion => "key_package_unsupported_version", "unsupported protocol version";
        /// The KeyPackage is for another cipher suite than the group's.
        CipherSuiteMismatch => "key_package_cipher_suite_mismatch", "KeyPackage cipher suite differs from the group's";
        /// The KeyPackage signature does not verify.
        InvalidSignature => "key_package_invalid_signature", "invalid KeyPackage signature";
        /// `init_key` equals the leaf's `encryption_key` (§10.1).
        InitKeyReused => "key_package_init_key_reused", "init_key equals the leaf encryption_key";
        /// `init_key` is not a public key HPKE can encrypt to
        /// ([`CipherSuiteProvider::kem_public_key_check`]).
        InvalidInitKey => "key_package_invalid_init_key", "init_key is not a usable KEM public key";
        /// The leaf node is invalid.
        LeafNode {
            /// What is wrong with it.
            error: LeafNodeError,
        } => error.code(), "{error}";
    }
}

/// The capabilities this library has: `mls10`, the given suite, basic
/// credentials, and no non-default extensions or proposals.
pub fn default_capabilities(suite: CipherSuite) -> Capabilities {
    Capabilities {
        versions: vec![ProtocolVersion::MLS10],
        cipher_suites: vec![suite],
        extensions: Vec::new(),
        proposals: Vec::new(),
        credentials: vec![CredentialType::BASIC],
    }
}

/// Signs `leaf` in place: `SignWithLabel(., "LeafNodeTBS", LeafNodeTBS)`;
/// `group` is `(group_id, leaf_index)` for `update` and `commit` sources.
pub fn sign_leaf_node(
    cs: &dyn CipherSuiteProvider,
    leaf: &mut LeafNode,
    signature_private_key: &[u8],
    group: Option<(&VLBytes, u32)>,
) -> Result<(), CryptoError> {
    let tbs = crate::ratchet_tree::leaf::encode_tbs(leaf, group).map_err(|_| CryptoError::Encoding)?;
    leaf.signature = cs.sign_with_label(signature_private_key, LEAF_NODE_LABEL, &tbs)?.into();
    Ok(())
}

/// What a client chooses for a new KeyPackage.
#[derive(Clone, Debug)]
pub struct KeyPackageParams {
    /// The client's credential.
    pub credential: Credential,
    /// The client's signature key pair's public half.
    pub signature_public_key: Vec<u8>,
    /// What the client supports.
    pub capabilities: Capabilities,
    /// When the KeyPackage is valid.
    pub lifetime: Lifetime,
    /// Extensions of the leaf node.
    pub leaf_extensions: Vec<Extension>,
    /// Extensions of the KeyPackage.
    pub extensions: Vec<Extension>,
}

/// A new KeyPackage and the private keys only its owner holds.
#[derive(Debug)]
pub struct NewKeyPackage {
    /// The public KeyPackage, to publish.
    pub key_package: KeyPackage,
    /// The private key of `init_key` (Welcome secrets are encrypted to it).
    pub init_private_key: Secret,
    /// The private key of the leaf's `encryption_key`.
    pub encryption_private_key: Secret,
}

/// Generates fresh init and encryption keys and signs a KeyPackage (§10).
pub fn create_key_package(
    cs: &dyn CipherSuiteProvider,
    params: KeyPackageParams,
    signature_private_key: &[u8],
    rng: &mut Rng<'_>,
) -> Result<NewKeyPackage, Error> {
    let init = cs.kem_key_generate(rng)?;
    let encryption = cs.kem_key_generate(rng)?;
    let mut leaf_node = LeafNode {
        encryption_key: encryption.public.into(),
        signature_key: params.signature_public_key.into(),
        credential: params.credential,
        capabilities: params.capabilities,
        leaf_node_source: LeafNodeSource::KeyPackage(params.lifetime),
        extensions: params.leaf_extensions,
        signature: VLBytes::default(),
    };
    sign_leaf_node(cs, &mut leaf_node, signature_private_key, None)?;
    let mut key_package = KeyPackage {
        version: ProtocolVersion::MLS10,
        cipher_suite: cs.cipher_suite(),
        init_key: init.public.into(),
        leaf_node,
        extensions: params.extensions,
        signature: VLBytes::default(),
    };
    let tbs = encode(&KeyPackageTbs(&key_package))?;
    key_package.signature = cs
        .sign_with_label(signature_private_key, KEY_PACKAGE_LABEL, &tbs)?
        .into();
    Ok(NewKeyPackage {
        key_package,
        init_private_key: init.private,
        encryption_private_key: encryption.private,
    })
}

/// Validates a received KeyPackage against the group (§10.1): version,
/// suite, signature, leaf node, distinct init and encryption keys, and an
/// init key HPKE can encrypt to.
pub fn validate_key_package(ctx: &LeafValidationContext<'_>, key_package: &KeyPackage) -> Result<(), Error> {
    if key_package.version != ProtocolVersion::MLS10 {
        return Err(KeyPackageError::UnsupportedVersion.into());
    }
    if key_package.cipher_suite != ctx.cs.cipher_suite() {
        return Err(KeyPackageError::CipherSuiteMismatch.into());
    }
    let tbs = encode(&KeyPackageTbs(key_package))?;
    let signature_key = key_package.leaf_node.signature_key.as_slice();
    ctx.cs
        .verify_with_label(signature_key, KEY_PACKAGE_LABEL, &tbs, &key_package.signature)
        .map_err(|_| KeyPackageError::InvalidSignature)?;
    validate_leaf_node(ctx, &key_package.leaf_node, LeafNodeOrigin::KeyPackage)
        .map_err(|error| KeyPackageError::LeafNode { error })?;
    if key_package.init_key == key_package.leaf_node.encryption_key {
        return Err(KeyPackageError::InitKeyReused.into());
    }
    ctx.cs
        .kem_public_key_check(key_package.init_key.as_slice())
        .map_err(|_| KeyPackageError::InvalidInitKey.into())
}

/// `MakeKeyPackageRef` of a KeyPackage (§5.2).
pub fn key_package_ref(cs: &dyn CipherSuiteProvider, key_package: &KeyPackage) -> Result<Vec<u8>, Error> {
    Ok(cs.make_key_package_ref(&encode(key_package)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{CryptoProvider, RustCryptoProvider, os_rng};
    use crate::ratchet_tree::leaf::BasicCredentialValidator;

    fn params(cs: &dyn CipherSuiteProvider, public: Vec<u8>) -> KeyPackageParams {
        KeyPackageParams {
            credential: Credential::Basic(b"alice".into()),
            signature_public_key: public,
            capabilities: default_capabilities(cs.cipher_suite()),
            lifetime: Lifetime {
                not_before: 100,
                not_after: 200,
            },
            leaf_extensions: Vec::new(),
            extensions: Vec::new(),
        }
    }

    #[test]
    fn created_key_packages_validate_and_tampering_is_caught() {
        for suite in RustCryptoProvider.supported_cipher_suites() {
            let cs = RustCryptoProvider.cipher_suite(suite).unwrap();
            let signer = cs.signature_key_generate(&mut os_rng());
            let new = create_key_package(
                cs,
                params(cs, signer.public.clone()),
                signer.private.as_bytes(),
                &mut os_rng(),
            )
            .unwrap();
            let group_id = VLBytes::default();
            let ctx = LeafValidationContext {
                cs,
                group_id: &group_id,
                required_capabilities: None,
                now: Some(150),
                max_lifetime: None,
                credential_validator: &BasicCredentialValidator,
            };
            validate_key_package(&ctx, &new.key_package).unwrap();
            assert_eq!(
                cs.kem_public_key(new.init_private_key.as_bytes()).unwrap(),
                new.key_package.init_key.as_slice()
            );

            let mut tampered = new.key_package.clone();
            tampered.extensions.push(Extension {
                extension_type: crate::messages::ExtensionType(0x0a0a),
                extension_data: VLBytes::default(),
            });
            assert_eq!(
                validate_key_package(&ctx, &tampered),
                Err(Error::from(KeyPackageError::InvalidSignature))
            );
            let late = LeafValidationContext { now: Some(201), ..ctx };
            assert_eq!(
                validate_key_package(&late, &new.key_package),
                Err(Error::from(KeyPackageError::LeafNode {
                    error: LeafNodeError::Expired
                }))
            );

            // Keys HPKE cannot encrypt to (all-zero: small order for X25519,
            // not a point for P-256), validly signed, are refused.
            let resign = |mut kp: KeyPackage| {
                let tbs = encode(&KeyPackageTbs(&kp)).unwrap();
                kp.signature = cs
                    .sign_with_label(signer.private.as_bytes(), KEY_PACKAGE_LABEL, &tbs)
                    .unwrap()
                    .into();
                kp
            };
            let zero = VLBytes::from(vec![0; 32]);
            let mut bad_init = new.key_package.clone();
            bad_init.init_key = zero.clone();
            assert_eq!(
                validate_key_package(&ctx, &resign(bad_init)),
                Err(Error::from(KeyPackageError::InvalidInitKey))
            );
            let mut bad_leaf = new.key_package.clone();
            bad_leaf.leaf_node.encryption_key = zero;
            sign_leaf_node(cs, &mut bad_leaf.leaf_node, signer.private.as_bytes(), None).unwrap();
            assert_eq!(
                validate_key_package(&ctx, &resign(bad_leaf)),
                Err(Error::from(KeyPackageError::LeafNode {
                    error: LeafNodeError::InvalidEncryptionKey
                }))
            );
        }
    }
}
