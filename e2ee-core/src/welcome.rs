//! Welcome processing and creation (RFC 9420 §12.4.3.1): the GroupSecrets
//! encrypted to each joiner's init key, and the GroupInfo encrypted under
//! the welcome key and signed by the committer.

use alloc::vec::Vec;

use crate::codec::{Writer, decode_exact, encode};
use crate::crypto::Labelled;
use crate::crypto::encode_secret;
use crate::crypto::{self, CipherSuiteProvider, CryptoError, Rng, Secret};
use crate::error::Error;
use crate::key_schedule::{EpochSecrets, WelcomeSchedule};
use crate::messages::group_info::{GroupInfo, GroupInfoTbs};
use crate::messages::welcome::{EncryptedGroupSecrets, GroupSecrets, Welcome};
use crate::transcript;

const WELCOME_LABEL: &[u8] = b"Welcome";
const GROUP_INFO_LABEL: &[u8] = b"GroupInfoTBS";
/// Room after a GroupInfoTBS for what a Welcome appends to it, so the
/// buffer holding the tree is not reallocated (copied): the encoded
/// signature (a varint length and the longest signature of the suites we
/// support, P-256 ECDSA in DER, at most 72 bytes), then the AEAD tag of
/// the encryption in place (16 bytes in every suite).
const ROOM_AFTER_TBS: usize = 2 + 72 + 16;

crate::error::error_enum! {
    /// Why a Welcome, or a GroupInfo to join from, was rejected.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum WelcomeError {
        /// No entry of the Welcome is for a KeyPackage of this client's that
        /// is still unused.
        NotForUs => "no_matching_key_package", "the Welcome has no entry for an unused KeyPackage of this client";
        /// The Welcome's suite is not the KeyPackage's.
        CipherSuiteMismatch => "welcome_cipher_suite_mismatch", "the Welcome's cipher suite is not the KeyPackage's";
        /// The GroupInfo's signature does not verify.
        InvalidGroupInfoSignature => "invalid_group_info_signature", "GroupInfo signature does not verify";
        /// The GroupInfo's confirmation tag does not match the epoch's secrets.
        InvalidConfirmationTag => "group_info_invalid_confirmation_tag", "GroupInfo confirmation tag does not match";
        /// The Welcome's secrets did not decrypt for this KeyPackage.
        DecryptionFailed => "welcome_decryption_failed", "the Welcome did not decrypt";
        /// The GroupInfo carries no ratchet tree and none was supplied.
        MissingRatchetTree => "missing_ratchet_tree", "no ratchet tree in the GroupInfo and none supplied";
        /// The GroupInfo has no `external_pub`: the group does not take
        /// external joins.
        MissingExternalPub => "missing_external_pub", "the GroupInfo has no external_pub";
        /// The GroupInfo's `external_pub` is not a public key HPKE can
        /// encrypt to.
        InvalidExternalPub => "invalid_external_pub", "the GroupInfo's external_pub is not a usable KEM public key";
        /// This member's KeyPackage leaf is not in the Welcome's tree.
        NotInTree => "not_in_tree", "own leaf not found in the tree";
    }
}

/// Finds our entry by KeyPackageRef and decrypts its GroupSecrets with the
/// KeyPackage's `init_key` private key.
pub fn open_group_secrets(
    cs: &dyn CipherSuiteProvider,
    welcome: &Welcome,
    key_package_ref: &[u8],
    init_private_key: &[u8],
) -> Result<GroupSecrets, Error> {
    if welcome.cipher_suite != cs.cipher_suite() {
        return Err(WelcomeError::CipherSuiteMismatch.into());
    }
    let entry = welcome
        .secrets
        .iter()
        .find(|e| e.new_member.as_slice() == key_package_ref)
        .ok_or(WelcomeError::NotForUs)?;
    let plaintext = Secret::new(
        cs.decrypt_with_label(
            init_private_key,
            WELCOME_LABEL,
            &welcome.encrypted_group_info,
            &entry.encrypted_group_secrets,
        )
        .map_err(|_| WelcomeError::DecryptionFailed)?,
    );
    Ok(decode_exact(plaintext.as_bytes())?)
}

/// Decrypts the GroupInfo with the welcome key of `schedule`.
pub fn open_group_info(
    cs: &dyn CipherSuiteProvider,
    welcome: &Welcome,
    schedule: &WelcomeSchedule,
) -> Result<GroupInfo, Error> {
    let key = schedule.welcome_key(cs)?;
    let plaintext = cs
        .aead_open(
            key.key.as_bytes(),
            key.nonce.as_bytes(),
            &[],
            &welcome.encrypted_group_info,
        )
        .map_err(|_| WelcomeError::DecryptionFailed)?;
    Ok(decode_exact(&plaintext)?)
}

/// Encrypts `group_info` under the welcome key of `schedule`.
pub fn seal_group_info(
    cs: &dyn CipherSuiteProvider,
    group_info: &GroupInfo,
    schedule: &WelcomeSchedule,
) -> Result<Vec<u8>, Error> {
    let key = schedule.welcome_key(cs)?;
    Ok(cs.aead_seal(key.key.as_bytes(), key.nonce.as_bytes(), &[], &encode(group_info)?)?)
}

/// Encrypts `secrets` to a joiner's `init_key` (EncryptWithLabel, "Welcome").
pub fn seal_group_secrets(
    cs: &dyn CipherSuiteProvider,
    key_package_ref: &[u8],
    init_key: &[u8],
    encrypted_group_info: &[u8],
    secrets: &GroupSecrets,
    rng: &mut Rng<'_>,
) -> Result<EncryptedGroupSecrets, Error> {
    let context = crypto::encrypt_context(WELCOME_LABEL, encrypted_group_info)?;
    let joiner = Joiner {
        key_package_ref,
        init_key,
        secrets,
    };
    let mut sealed = seal_in_context(cs, &context, &[joiner], rng)?;
    sealed.pop().ok_or(CryptoError::EncryptionFailed.into())
}

/// A new member of a Welcome, as its GroupSecrets are sealed for it.
#[derive(Clone, Copy, Debug)]
pub struct Joiner<'a> {
    /// The reference of its KeyPackage: the entry's `new_member`.
    pub key_package_ref: &'a [u8],
    /// Its KeyPackage's `init_key`.
    pub init_key: &'a [u8],
    /// What it is sent.
    pub secrets: &'a GroupSecrets,
}

/// EncryptWithLabel of each joiner's secrets given the `EncryptContext`
/// they share (§5.1.3), in order: one HPKE call for all, so a provider
/// hashes that context (which holds the encrypted GroupInfo) once.
///
/// With the `parallel` feature, a Welcome to many joiners is sealed in one
/// share of them per available core (each share hashes the context once).
fn seal_in_context(
    cs: &dyn CipherSuiteProvider,
    encrypt_context: &[u8],
    joiners: &[Joiner<'_>],
    rng: &mut Rng<'_>,
) -> Result<Vec<EncryptedGroupSecrets>, Error> {
    // Below this per thread, starting threads costs more than it saves.
    const MIN_PER_THREAD: usize = 32;
    e2ee_provider::parallel::run_with_rngs(joiners, MIN_PER_THREAD, rng, |share, rng| {
        seal_share(cs, encrypt_context, share, rng)
    })
}

/// [`seal_in_context`] of `joiners`, on this thread.
fn seal_share(
    cs: &dyn CipherSuiteProvider,
    encrypt_context: &[u8],
    joiners: &[Joiner<'_>],
    rng: &mut Rng<'_>,
) -> Result<Vec<EncryptedGroupSecrets>, Error> {
    let mut plaintexts = Vec::with_capacity(joiners.len());
    for joiner in joiners {
        plaintexts.push(encode_secret(joiner.secrets)?);
    }
    let recipients: Vec<(&[u8], &[u8])> = joiners
        .iter()
        .zip(&plaintexts)
        .map(|(j, plaintext)| (j.init_key, plaintext.as_bytes()))
        .collect();
    let sealed = crypto::hpke_seal_all(cs, &recipients, encrypt_context, rng)?;
    Ok(joiners
        .iter()
        .zip(sealed)
        .map(|(j, encrypted_group_secrets)| EncryptedGroupSecrets {
            new_member: j.key_package_ref.into(),
            encrypted_group_secrets,
        })
        .collect())
}

/// Signs a GroupInfo (sets `signature`) with the signer's private key.
pub fn sign_group_info(
    cs: &dyn CipherSuiteProvider,
    group_info: &mut GroupInfo,
    signature_key: &[u8],
) -> Result<(), Error> {
    SignedGroupInfo::sign(cs, group_info, signature_key).map(drop)
}

/// A signed GroupInfo's encoding, kept in the buffer it was signed in.
///
/// A GroupInfo that carries the ratchet tree is as large as the tree, and
/// a Commit with a Welcome signs it, encrypts it and hashes the ciphertext
/// into each joiner's HPKE context. Here the GroupInfoTBS is written once,
/// signed where it lies (inside the `SignContent`, §5.1.2), encrypted in
/// place ([`Self::seal`]), and the HPKE context is built around the
/// ciphertext: the tree's bytes are copied twice (into the GroupInfoTBS,
/// and out as the Welcome's field), where encoding, signing, encrypting
/// and labelling separately copied them about eight times.
#[derive(Debug)]
pub struct SignedGroupInfo {
    buffer: Vec<u8>,
    start: usize,
}

impl SignedGroupInfo {
    /// Signs `group_info` (sets its `signature`) with the signer's private
    /// key (§12.4.3).
    pub fn sign(cs: &dyn CipherSuiteProvider, group_info: &mut GroupInfo, signature_key: &[u8]) -> Result<Self, Error> {
        let tbs = GroupInfoTbs(group_info);
        let (buffer, start) = crypto::sign_content_of(GROUP_INFO_LABEL, &tbs, ROOM_AFTER_TBS)?;
        group_info.signature = cs.sign(signature_key, &buffer)?.into();
        // GroupInfo = GroupInfoTBS fields || signature<V> (§12.4.3).
        let mut buffer = Writer::from_vec(buffer);
        buffer.opaque(group_info.signature.as_slice());
        Ok(Self {
            buffer: buffer.finish()?,
            start,
        })
    }

    /// The encoded GroupInfo.
    pub fn encoded(&self) -> &[u8] {
        &self.buffer[self.start..]
    }

    /// Encrypts the GroupInfo under the welcome key of `schedule`
    /// (§12.4.3.1), in place.
    pub fn seal(self, cs: &dyn CipherSuiteProvider, schedule: &WelcomeSchedule) -> Result<SealedGroupInfo, Error> {
        let Self { mut buffer, start } = self;
        let key = schedule.welcome_key(cs)?;
        cs.aead_seal_in_place(key.key.as_bytes(), key.nonce.as_bytes(), &[], &mut buffer, start)?;
        // The EncryptContext's header replaces the SignContent's before the
        // ciphertext. It is always the shorter: at most 1 + 15 + 4 bytes
        // ("MLS 1.0 Welcome"), against at least 1 + 20 + 1
        // ("MLS 1.0 GroupInfoTBS").
        // A provider's in-place seal leaves `start` bytes in front.
        let ciphertext_len = buffer.len().checked_sub(start).ok_or(CryptoError::InvalidLength)?;
        let header = crypto::encrypt_context_header(WELCOME_LABEL, ciphertext_len)?;
        let context_start = start.checked_sub(header.len()).ok_or(CryptoError::InvalidLength)?;
        buffer[context_start..start].copy_from_slice(&header);
        Ok(SealedGroupInfo {
            buffer,
            context_start,
            ciphertext_start: start,
        })
    }
}

/// A Welcome's `encrypted_group_info`, held after the header of the HPKE
/// context that each joiner's GroupSecrets are encrypted in (§5.1.3), so
/// that context is not copied per joiner.
#[derive(Debug)]
pub struct SealedGroupInfo {
    buffer: Vec<u8>,
    context_start: usize,
    ciphertext_start: usize,
}

impl SealedGroupInfo {
    /// Encrypts each joiner's GroupSecrets to its `init_key`
    /// (EncryptWithLabel, "Welcome", with the encrypted GroupInfo as
    /// context), in order: the Welcome's `secrets`.
    pub fn seal_group_secrets(
        &self,
        cs: &dyn CipherSuiteProvider,
        joiners: &[Joiner<'_>],
        rng: &mut Rng<'_>,
    ) -> Result<Vec<EncryptedGroupSecrets>, Error> {
        seal_in_context(cs, &self.buffer[self.context_start..], joiners, rng)
    }

    /// The Welcome's `encrypted_group_info`.
    pub fn into_encrypted_group_info(self) -> Vec<u8> {
        let mut buffer = self.buffer;
        buffer.drain(..self.ciphertext_start);
        buffer
    }
}

/// Verifies a GroupInfo's signature with the signer's public key.
pub fn verify_group_info(
    cs: &dyn CipherSuiteProvider,
    group_info: &GroupInfo,
    signer_public_key: &[u8],
) -> Result<(), Error> {
    let (message, _) = crypto::sign_content_of(GROUP_INFO_LABEL, &GroupInfoTbs(group_info), 0)?;
    cs.verify(signer_public_key, &message, &group_info.signature)
        .map_err(|_| WelcomeError::InvalidGroupInfoSignature.into())
}

/// Finishes the key schedule from the GroupInfo's context and checks the
/// confirmation tag against it: a joiner's proof that it reached the same
/// epoch as the members.
pub fn confirm_epoch(
    cs: &dyn CipherSuiteProvider,
    schedule: WelcomeSchedule,
    group_info: &GroupInfo,
) -> Result<EpochSecrets, Error> {
    let secrets = schedule.into_epoch_secrets(cs, &encode(&group_info.group_context)?)?;
    let context = &group_info.group_context;
    let key = secrets.confirmation_key.as_bytes();
    if !transcript::confirmation_tag_matches(
        cs,
        key,
        &context.confirmed_transcript_hash,
        &group_info.confirmation_tag,
    ) {
        return Err(WelcomeError::InvalidConfirmationTag.into());
    }
    Ok(secrets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::VLBytes;
    use crate::crypto::{CryptoProvider, RustCryptoProvider, os_rng};
    use crate::messages::welcome::EncryptedGroupSecrets;
    use crate::messages::{Extension, ExtensionType, GroupContext, ProtocolVersion};

    fn group_info(cs: &dyn CipherSuiteProvider) -> GroupInfo {
        GroupInfo {
            group_context: GroupContext {
                version: ProtocolVersion::MLS10,
                cipher_suite: cs.cipher_suite(),
                group_id: VLBytes::from(b"group"),
                epoch: 3,
                tree_hash: VLBytes::from(vec![1; 32]),
                confirmed_transcript_hash: VLBytes::from(vec![2; 32]),
                extensions: Vec::new(),
            },
            // Large enough for four-byte varint lengths, as with a tree.
            extensions: vec![Extension {
                extension_type: ExtensionType::RATCHET_TREE,
                extension_data: VLBytes::from(vec![3; 20_000]),
            }],
            confirmation_tag: VLBytes::from(vec![4; 32]),
            signer: 1,
            signature: VLBytes::default(),
        }
    }

    /// Signing, encrypting and labelling in one buffer gives what the
    /// separate steps give, and a joiner opens it.
    #[test]
    fn in_place_welcome_matches_the_separate_steps() {
        for suite in RustCryptoProvider.supported_cipher_suites() {
            let cs = RustCryptoProvider.cipher_suite(suite).unwrap();
            let signer = cs.signature_key_generate(&mut os_rng());
            let mut gi = group_info(cs);
            let signed = SignedGroupInfo::sign(cs, &mut gi, signer.private.as_bytes()).unwrap();
            verify_group_info(cs, &gi, &signer.public).unwrap();
            assert_eq!(signed.encoded(), encode(&gi).unwrap());

            let schedule = WelcomeSchedule::new(cs, &[5; 32], None).unwrap();
            // Sealing in place finds room for the tag: the buffer holding
            // the tree is not copied.
            let room = signed.buffer.capacity() - signed.buffer.len();
            let sealed = signed.seal(cs, &schedule).unwrap();
            assert!(room >= 16, "{suite:?}: {room} bytes of room");
            let init = cs.kem_key_generate(&mut os_rng()).unwrap();
            let secrets = GroupSecrets {
                joiner_secret: vec![5; 32].into(),
                path_secret: None,
                psks: Vec::new(),
            };
            let joiner = Joiner {
                key_package_ref: b"ref",
                init_key: &init.public,
                secrets: &secrets,
            };
            let entries: Vec<EncryptedGroupSecrets> = sealed.seal_group_secrets(cs, &[joiner], &mut os_rng()).unwrap();
            let welcome = Welcome {
                cipher_suite: suite,
                secrets: entries,
                encrypted_group_info: sealed.into_encrypted_group_info().into(),
            };
            assert_eq!(
                welcome.encrypted_group_info.as_slice(),
                seal_group_info(cs, &gi, &schedule).unwrap()
            );
            let opened = open_group_secrets(cs, &welcome, b"ref", init.private.as_bytes()).unwrap();
            assert_eq!(opened, secrets);
            assert_eq!(open_group_info(cs, &welcome, &schedule).unwrap(), gi);
        }
    }

    /// A Welcome to many joiners (in shares on several threads with the
    /// `parallel` feature): one entry per joiner, in order, each opened
    /// with its own key to its own secrets.
    #[test]
    fn many_joiners_each_open_their_own_entry() {
        let cs = RustCryptoProvider
            .cipher_suite(crate::messages::CipherSuite(1))
            .unwrap();
        let signer = cs.signature_key_generate(&mut os_rng());
        let signed = SignedGroupInfo::sign(cs, &mut group_info(cs), signer.private.as_bytes()).unwrap();
        let schedule = WelcomeSchedule::new(cs, &[5; 32], None).unwrap();
        let sealed = signed.seal(cs, &schedule).unwrap();
        let count: u8 = 100;
        let keys: Vec<_> = (0..count)
            .map(|_| cs.kem_key_generate(&mut os_rng()).unwrap())
            .collect();
        let refs: Vec<[u8; 1]> = (0..count).map(|i| [i]).collect();
        let secrets: Vec<_> = (0..count)
            .map(|i| GroupSecrets {
                joiner_secret: vec![5; 32].into(),
                path_secret: (i % 2 == 0).then(|| crate::messages::welcome::PathSecret {
                    path_secret: vec![i; 32].into(),
                }),
                psks: Vec::new(),
            })
            .collect();
        let joiners: Vec<_> = (0..usize::from(count))
            .map(|i| Joiner {
                key_package_ref: &refs[i],
                init_key: &keys[i].public,
                secrets: &secrets[i],
            })
            .collect();
        let entries = sealed.seal_group_secrets(cs, &joiners, &mut os_rng()).unwrap();
        let welcome = Welcome {
            cipher_suite: cs.cipher_suite(),
            secrets: entries,
            encrypted_group_info: sealed.into_encrypted_group_info().into(),
        };
        assert_eq!(welcome.secrets.len(), joiners.len());
        for (i, joiner) in joiners.iter().enumerate() {
            assert_eq!(welcome.secrets[i].new_member.as_slice(), joiner.key_package_ref);
            let opened = open_group_secrets(cs, &welcome, joiner.key_package_ref, keys[i].private.as_bytes());
            assert_eq!(&opened.unwrap(), joiner.secrets);
        }
    }
}
