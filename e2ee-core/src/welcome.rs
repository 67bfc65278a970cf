//! Welcome processing and creation (RFC 9420 §12.4.3.1): the GroupSecrets
//! encrypted to each joiner's init key, and the GroupInfo encrypted under
//! the welcome key and signed by the committer.

use alloc::vec::Vec;

use crate::codec::{CodecError, decode_exact, encode};
use crate::crypto::{CipherSuiteProvider, CryptoError, Rng, Secret};
use crate::key_schedule::{EpochSecrets, WelcomeSchedule};
use crate::messages::group_info::{GroupInfo, GroupInfoTbs};
use crate::messages::welcome::{EncryptedGroupSecrets, GroupSecrets, Welcome};
use crate::transcript::{self, TranscriptError};

const WELCOME_LABEL: &[u8] = b"Welcome";
const GROUP_INFO_LABEL: &[u8] = b"GroupInfoTBS";

/// Why a Welcome could not be processed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WelcomeError {
    /// No entry of the Welcome is for our KeyPackage.
    NotForUs,
    /// The Welcome's suite is not the KeyPackage's.
    CipherSuiteMismatch,
    /// The GroupInfo's signature does not verify.
    InvalidGroupInfoSignature,
    /// The GroupInfo's confirmation tag does not match the epoch's secrets.
    InvalidConfirmationTag,
    /// A decrypted structure did not decode.
    Codec(CodecError),
    /// Decryption or key derivation failed.
    Crypto(CryptoError),
}

impl WelcomeError {
    /// A stable machine-readable code for bindings.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotForUs => "welcome_not_for_us",
            Self::CipherSuiteMismatch => "welcome_cipher_suite_mismatch",
            Self::InvalidGroupInfoSignature => "invalid_group_info_signature",
            Self::InvalidConfirmationTag => "invalid_confirmation_tag",
            Self::Codec(e) => e.code(),
            Self::Crypto(e) => e.code(),
        }
    }
}

impl core::fmt::Display for WelcomeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotForUs => f.write_str("the Welcome has no entry for this KeyPackage"),
            Self::CipherSuiteMismatch => f.write_str("the Welcome's cipher suite is not the KeyPackage's"),
            Self::InvalidGroupInfoSignature => f.write_str("GroupInfo signature does not verify"),
            Self::InvalidConfirmationTag => f.write_str("GroupInfo confirmation tag does not match"),
            Self::Codec(e) => write!(f, "{e}"),
            Self::Crypto(e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for WelcomeError {}

impl From<CodecError> for WelcomeError {
    fn from(e: CodecError) -> Self {
        Self::Codec(e)
    }
}

impl From<CryptoError> for WelcomeError {
    fn from(e: CryptoError) -> Self {
        Self::Crypto(e)
    }
}

impl From<TranscriptError> for WelcomeError {
    fn from(_: TranscriptError) -> Self {
        Self::InvalidConfirmationTag
    }
}

/// Finds our entry by KeyPackageRef and decrypts its GroupSecrets with the
/// KeyPackage's `init_key` private key.
pub fn open_group_secrets(
    cs: &dyn CipherSuiteProvider,
    welcome: &Welcome,
    key_package_ref: &[u8],
    init_private_key: &[u8],
) -> Result<GroupSecrets, WelcomeError> {
    if welcome.cipher_suite != cs.cipher_suite() {
        return Err(WelcomeError::CipherSuiteMismatch);
    }
    let entry = welcome
        .secrets
        .iter()
        .find(|e| e.new_member.as_slice() == key_package_ref)
        .ok_or(WelcomeError::NotForUs)?;
    let plaintext = Secret::new(cs.decrypt_with_label(
        init_private_key,
        WELCOME_LABEL,
        &welcome.encrypted_group_info,
        &entry.encrypted_group_secrets,
    )?);
    Ok(decode_exact(plaintext.as_bytes())?)
}

/// Decrypts the GroupInfo with the welcome key of `schedule`.
pub fn open_group_info(
    cs: &dyn CipherSuiteProvider,
    welcome: &Welcome,
    schedule: &WelcomeSchedule,
) -> Result<GroupInfo, WelcomeError> {
    let key = schedule.welcome_key(cs)?;
    let plaintext = cs.aead_open(
        key.key.as_bytes(),
        key.nonce.as_bytes(),
        &[],
        &welcome.encrypted_group_info,
    )?;
    Ok(decode_exact(&plaintext)?)
}

/// Encrypts `group_info` under the welcome key of `welcome_secret`.
pub fn seal_group_info(
    cs: &dyn CipherSuiteProvider,
    group_info: &GroupInfo,
    schedule: &WelcomeSchedule,
) -> Result<Vec<u8>, WelcomeError> {
    seal_encoded_group_info(cs, &encode(group_info)?, schedule)
}

/// Like [`seal_group_info`], for a GroupInfo already encoded (e.g. by
/// [`sign_and_encode_group_info`]).
pub fn seal_encoded_group_info(
    cs: &dyn CipherSuiteProvider,
    encoded_group_info: &[u8],
    schedule: &WelcomeSchedule,
) -> Result<Vec<u8>, WelcomeError> {
    let key = schedule.welcome_key(cs)?;
    Ok(cs.aead_seal(key.key.as_bytes(), key.nonce.as_bytes(), &[], encoded_group_info)?)
}

/// Encrypts `secrets` to a joiner's `init_key` (EncryptWithLabel, "Welcome").
pub fn seal_group_secrets(
    cs: &dyn CipherSuiteProvider,
    key_package_ref: &[u8],
    init_key: &[u8],
    encrypted_group_info: &[u8],
    secrets: &GroupSecrets,
    rng: &mut Rng<'_>,
) -> Result<EncryptedGroupSecrets, WelcomeError> {
    let plaintext = Secret::new(encode(secrets)?);
    let encrypted_group_secrets =
        cs.encrypt_with_label(init_key, WELCOME_LABEL, encrypted_group_info, plaintext.as_bytes(), rng)?;
    Ok(EncryptedGroupSecrets {
        new_member: key_package_ref.into(),
        encrypted_group_secrets,
    })
}

/// Signs a GroupInfo (sets `signature`) with the signer's private key.
pub fn sign_group_info(
    cs: &dyn CipherSuiteProvider,
    group_info: &mut GroupInfo,
    signature_key: &[u8],
) -> Result<(), WelcomeError> {
    sign_and_encode_group_info(cs, group_info, signature_key).map(drop)
}

/// Signs `group_info` as [`sign_group_info`] does and returns its
/// encoding, which is the signed GroupInfoTBS followed by the signature:
/// a GroupInfo holding a large tree is encoded once, not twice.
pub fn sign_and_encode_group_info(
    cs: &dyn CipherSuiteProvider,
    group_info: &mut GroupInfo,
    signature_key: &[u8],
) -> Result<Vec<u8>, WelcomeError> {
    let mut encoded = encode(&GroupInfoTbs(group_info))?;
    group_info.signature = cs.sign_with_label(signature_key, GROUP_INFO_LABEL, &encoded)?.into();
    // GroupInfo = GroupInfoTBS fields || signature<V> (§12.4.3).
    encoded.extend_from_slice(&encode(&group_info.signature)?);
    Ok(encoded)
}

/// Verifies a GroupInfo's signature with the signer's public key.
pub fn verify_group_info(
    cs: &dyn CipherSuiteProvider,
    group_info: &GroupInfo,
    signer_public_key: &[u8],
) -> Result<(), WelcomeError> {
    let tbs = encode(&GroupInfoTbs(group_info))?;
    cs.verify_with_label(signer_public_key, GROUP_INFO_LABEL, &tbs, &group_info.signature)
        .map_err(|_| WelcomeError::InvalidGroupInfoSignature)
}

/// Finishes the key schedule from the GroupInfo's context and checks the
/// confirmation tag against it: a joiner's proof that it reached the same
/// epoch as the members.
pub fn confirm_epoch(
    cs: &dyn CipherSuiteProvider,
    schedule: WelcomeSchedule,
    group_info: &GroupInfo,
) -> Result<EpochSecrets, WelcomeError> {
    let secrets = schedule.into_epoch_secrets(cs, &encode(&group_info.group_context)?)?;
    transcript::verify_confirmation_tag(
        cs,
        secrets.confirmation_key.as_bytes(),
        &group_info.group_context.confirmed_transcript_hash,
        &group_info.confirmation_tag,
    )?;
    Ok(secrets)
}
