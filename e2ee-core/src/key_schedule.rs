//! The epoch key schedule of RFC 9420 §8: joiner, welcome and epoch secrets,
//! the epoch-derived secrets, the exporter (§8.5), external initialisation
//! (§8.3) and the Welcome key and nonce (§12.4.3.1).
//!
//! The schedule is split where Welcome processing needs it: a committer runs
//! [`EpochSchedule::derive`] from the previous `init_secret`, while a joiner
//! starts from the `joiner_secret` of its GroupSecrets with
//! [`WelcomeSchedule::new`], decrypts the GroupInfo with
//! [`WelcomeSchedule::welcome_key`], and only then — once it knows the
//! GroupContext — finishes with [`WelcomeSchedule::into_epoch_secrets`].
//!
//! Every operation fails only where the cipher suite does, so errors are
//! [`CryptoError`]s.

use alloc::vec::Vec;

use crate::codec::{Decode, Encode, Size};
use crate::crypto::Labelled;
use crate::crypto::{CipherSuiteProvider, CryptoError, KeyPair, Rng, Secret};
use crate::error::Error;

/// The HPKE exporter context of external initialisation (§8.3).
const EXTERNAL_INIT_LABEL: &[u8] = b"MLS 1.0 external init secret";

/// `KDF.Nh` as the `u16` length ExpandWithLabel takes. MLS hashes are at
/// most 64 bytes, so the conversion cannot truncate.
pub(crate) fn nh(cs: &dyn CipherSuiteProvider) -> u16 {
    cs.hash_len() as u16
}

/// `value`, or the all-zero `KDF.Nh` string the key schedule uses for an
/// absent commit or PSK secret (§8).
fn or_zero(cs: &dyn CipherSuiteProvider, value: Option<&[u8]>) -> Secret {
    value.map_or_else(|| Secret::zero(cs.hash_len()), Secret::from_slice)
}

/// The secrets derived from one epoch's `epoch_secret` (§8, table
/// "Epoch-Derived Secrets"), plus the `init_secret` of the next epoch.
///
/// The `epoch_secret` itself is not kept: nothing needs it after these are
/// derived, and dropping it early limits what a state compromise reveals.
///
/// Encodable (as its secrets in order, each `opaque<V>`) so a group's state
/// can be stored (`Group::export_state`).
/// The default holds only empty secrets: what a closed group keeps.
#[derive(Clone, Debug, Default, PartialEq, Eq, Size, Encode, Decode)]
pub struct EpochSecrets {
    /// "sender data": keys the sender-data encryption of PrivateMessage.
    pub sender_data_secret: Secret,
    /// "encryption": the root of the secret tree (§9).
    pub encryption_secret: Secret,
    /// "exporter": input to [`EpochSecrets::export`] (§8.5).
    pub exporter_secret: Secret,
    /// "external": seeds the group's external HPKE key pair (§8.3).
    pub external_secret: Secret,
    /// "confirm": the MAC key of this epoch's confirmation tag (§8.2).
    pub confirmation_key: Secret,
    /// "membership": the MAC key of PublicMessage membership tags (§6.2).
    pub membership_key: Secret,
    /// "resumption": this epoch's resumption PSK (§8.6).
    pub resumption_psk: Secret,
    /// "authentication": the epoch authenticator (§8.7).
    pub epoch_authenticator: Secret,
    /// "init": the `init_secret` the next epoch's schedule starts from.
    pub init_secret: Secret,
}

impl EpochSecrets {
    /// Derives every epoch secret from `epoch_secret` (§8).
    pub fn from_epoch_secret(cs: &dyn CipherSuiteProvider, epoch_secret: &[u8]) -> Result<Self, CryptoError> {
        let derive = |label: &[u8]| cs.derive_secret(epoch_secret, label);
        Ok(Self {
            sender_data_secret: derive(b"sender data")?,
            encryption_secret: derive(b"encryption")?,
            exporter_secret: derive(b"exporter")?,
            external_secret: derive(b"external")?,
            confirmation_key: derive(b"confirm")?,
            membership_key: derive(b"membership")?,
            resumption_psk: derive(b"resumption")?,
            epoch_authenticator: derive(b"authentication")?,
            init_secret: derive(b"init")?,
        })
    }

    /// `MLS-Exporter(Label, Context, Length)` (§8.5): a secret for use outside
    /// MLS, bound to this epoch.
    pub fn export(
        &self,
        cs: &dyn CipherSuiteProvider,
        label: &[u8],
        context: &[u8],
        len: u16,
    ) -> Result<Secret, CryptoError> {
        let derived = cs.derive_secret(self.exporter_secret.as_bytes(), label)?;
        cs.expand_with_label(derived.as_bytes(), b"exported", &cs.hash(context), len)
    }

    /// The group's external key pair, `KEM.DeriveKeyPair(external_secret)`
    /// (§8). Members use its private key to process external commits.
    pub fn external_key_pair(&self, cs: &dyn CipherSuiteProvider) -> Result<KeyPair, CryptoError> {
        cs.kem_derive_key_pair(self.external_secret.as_bytes())
    }

    /// `external_pub`, the public half of [`EpochSecrets::external_key_pair`],
    /// as published in the GroupInfo's `external_pub` extension.
    pub fn external_pub(&self, cs: &dyn CipherSuiteProvider) -> Result<Vec<u8>, CryptoError> {
        Ok(self.external_key_pair(cs)?.public)
    }
}

/// The schedule from `joiner_secret` up to the GroupContext-dependent step:
/// what a new member can compute from its GroupSecrets alone (§8, §12.4.3.1).
#[derive(Clone, Debug)]
pub struct WelcomeSchedule {
    /// `KDF.Extract(joiner_secret, psk_secret)`, the common parent of
    /// `welcome_secret` and `epoch_secret`; the RFC leaves it unnamed.
    member_secret: Secret,
    /// `DeriveSecret(member_secret, "welcome")`.
    pub welcome_secret: Secret,
}

impl WelcomeSchedule {
    /// Mixes `psk_secret` (`None` = no PSKs, the zero string) into
    /// `joiner_secret` and derives the `welcome_secret`.
    pub fn new(
        cs: &dyn CipherSuiteProvider,
        joiner_secret: &[u8],
        psk_secret: Option<&[u8]>,
    ) -> Result<Self, CryptoError> {
        // The diagram of §8 puts joiner_secret on top (salt), psk_secret left (IKM).
        let member_secret = cs.kdf_extract(joiner_secret, or_zero(cs, psk_secret).as_bytes());
        let welcome_secret = cs.derive_secret(member_secret.as_bytes(), b"welcome")?;
        Ok(Self {
            member_secret,
            welcome_secret,
        })
    }

    /// The AEAD key and nonce that protect the Welcome's GroupInfo.
    pub fn welcome_key(&self, cs: &dyn CipherSuiteProvider) -> Result<WelcomeKey, Error> {
        WelcomeKey::derive(cs, self.welcome_secret.as_bytes())
    }

    /// Finishes the schedule once the new epoch's GroupContext is known.
    pub fn into_epoch_secrets(self, cs: &dyn CipherSuiteProvider, group_context: &[u8]) -> Result<EpochSecrets, Error> {
        let epoch_secret = cs.expand_with_label(self.member_secret.as_bytes(), b"epoch", group_context, nh(cs))?;
        Ok(EpochSecrets::from_epoch_secret(cs, epoch_secret.as_bytes())?)
    }
}

/// The full schedule of one epoch, as the committer (or any existing member)
/// runs it: the Welcome-related secrets alongside the epoch secrets.
///
/// Encodable like [`EpochSecrets`], for storing a pending Commit.
#[derive(Clone, Debug, Size, Encode, Decode)]
pub struct EpochSchedule {
    /// Sent to new members in GroupSecrets.
    pub joiner_secret: Secret,
    /// Derives the key that encrypts the Welcome's GroupInfo.
    pub welcome_secret: Secret,
    /// The new epoch's secrets.
    pub epoch: EpochSecrets,
}

impl EpochSchedule {
    /// Runs the key schedule of §8.
    ///
    /// `init_secret` is the previous epoch's (for a group's first epoch, `Nh`
    /// fresh random bytes — see [`CipherSuiteProvider::random_secret`] — or
    /// the secret of an external init, [`external_init_sender`]);
    /// `commit_secret` and `psk_secret` are `None` when the commit has no path
    /// or no PSKs; `group_context` is the encoded GroupContext of the new epoch.
    pub fn derive(
        cs: &dyn CipherSuiteProvider,
        init_secret: &[u8],
        commit_secret: Option<&[u8]>,
        psk_secret: Option<&[u8]>,
        group_context: &[u8],
    ) -> Result<Self, Error> {
        let joiner_secret = joiner_secret(cs, init_secret, commit_secret, group_context)?;
        let welcome = WelcomeSchedule::new(cs, joiner_secret.as_bytes(), psk_secret)?;
        let welcome_secret = welcome.welcome_secret.clone();
        let epoch = welcome.into_epoch_secrets(cs, group_context)?;
        Ok(Self {
            joiner_secret,
            welcome_secret,
            epoch,
        })
    }

    /// The AEAD key and nonce that protect the Welcome's GroupInfo.
    pub fn welcome_key(&self, cs: &dyn CipherSuiteProvider) -> Result<WelcomeKey, Error> {
        WelcomeKey::derive(cs, self.welcome_secret.as_bytes())
    }
}

/// `joiner_secret = ExpandWithLabel(KDF.Extract(init_secret, commit_secret),
/// "joiner", GroupContext, Nh)` (§8); `commit_secret` `None` is the zero string.
pub fn joiner_secret(
    cs: &dyn CipherSuiteProvider,
    init_secret: &[u8],
    commit_secret: Option<&[u8]>,
    group_context: &[u8],
) -> Result<Secret, CryptoError> {
    let extracted = cs.kdf_extract(init_secret, or_zero(cs, commit_secret).as_bytes());
    cs.expand_with_label(extracted.as_bytes(), b"joiner", group_context, nh(cs))
}

/// The AEAD key and nonce of a Welcome's `encrypted_group_info` (§12.4.3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WelcomeKey {
    /// `ExpandWithLabel(welcome_secret, "key", "", AEAD.Nk)`.
    pub key: Secret,
    /// `ExpandWithLabel(welcome_secret, "nonce", "", AEAD.Nn)`.
    pub nonce: Secret,
}

impl WelcomeKey {
    /// Derives the key and nonce from `welcome_secret`.
    pub fn derive(cs: &dyn CipherSuiteProvider, welcome_secret: &[u8]) -> Result<Self, Error> {
        // AEAD key and nonce lengths are at most 32 bytes: no truncation.
        Ok(Self {
            key: cs.expand_with_label(welcome_secret, b"key", &[], cs.aead_key_len() as u16)?,
            nonce: cs.expand_with_label(welcome_secret, b"nonce", &[], cs.aead_nonce_len() as u16)?,
        })
    }
}

/// The joiner's half of external initialisation (§8.3): encapsulates to the
/// group's `external_pub` and returns `(kem_output, init_secret)`. The
/// `kem_output` goes into the ExternalInit proposal.
pub fn external_init_sender(
    cs: &dyn CipherSuiteProvider,
    external_pub: &[u8],
    rng: &mut Rng<'_>,
) -> Result<(Vec<u8>, Secret), CryptoError> {
    cs.hpke_export_sender(external_pub, &[], EXTERNAL_INIT_LABEL, cs.hash_len(), rng)
}

/// The members' half of external initialisation (§8.3): recovers the
/// joiner's `init_secret` from an ExternalInit proposal's `kem_output`, with
/// the private key of [`EpochSecrets::external_key_pair`].
pub fn external_init_receiver(
    cs: &dyn CipherSuiteProvider,
    external_priv: &[u8],
    kem_output: &[u8],
) -> Result<Secret, CryptoError> {
    cs.hpke_export_receiver(external_priv, kem_output, &[], EXTERNAL_INIT_LABEL, cs.hash_len())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::crypto::{CipherSuite, CryptoProvider, RustCryptoProvider, os_rng};

    const SUITES: [u16; 7] = [1, 2, 3, 4, 5, 6, 7];

    /// A suite of the default backend, for this crate's unit tests.
    pub(crate) fn suite(id: u16) -> &'static dyn CipherSuiteProvider {
        static PROVIDER: RustCryptoProvider = RustCryptoProvider;
        PROVIDER.cipher_suite(CipherSuite(id)).unwrap()
    }

    fn schedule(cs: &dyn CipherSuiteProvider, psk: Option<&[u8]>) -> EpochSchedule {
        EpochSchedule::derive(cs, &[7; 32], Some(&[9; 32]), psk, b"group context").unwrap()
    }

    #[test]
    fn joiner_split_matches_full_schedule() {
        for id in SUITES {
            let cs = suite(id);
            let full = schedule(cs, Some(&[3; 32]));
            let joiner = WelcomeSchedule::new(cs, full.joiner_secret.as_bytes(), Some(&[3; 32])).unwrap();
            assert_eq!(joiner.welcome_secret, full.welcome_secret);
            assert_eq!(joiner.welcome_key(cs).unwrap(), full.welcome_key(cs).unwrap());
            assert_eq!(joiner.into_epoch_secrets(cs, b"group context").unwrap(), full.epoch);
        }
    }

    #[test]
    fn absent_secrets_are_the_zero_string() {
        let cs = suite(1);
        let zero = [0u8; 32];
        let implicit = EpochSchedule::derive(cs, &[7; 32], None, None, b"gc").unwrap();
        let explicit = EpochSchedule::derive(cs, &[7; 32], Some(&zero), Some(&zero), b"gc").unwrap();
        assert_eq!(implicit.epoch, explicit.epoch);
        assert_ne!(schedule(cs, None).epoch, schedule(cs, Some(&[1; 32])).epoch);
    }

    #[test]
    fn group_context_binds_the_epoch() {
        let cs = suite(1);
        let a = EpochSchedule::derive(cs, &[7; 32], None, None, b"context a").unwrap();
        let b = EpochSchedule::derive(cs, &[7; 32], None, None, b"context b").unwrap();
        assert_ne!(a.joiner_secret, b.joiner_secret);
        assert_ne!(a.epoch.epoch_authenticator, b.epoch.epoch_authenticator);
    }

    #[test]
    fn welcome_key_has_aead_lengths() {
        for id in SUITES {
            let cs = suite(id);
            let key = schedule(cs, None).welcome_key(cs).unwrap();
            assert_eq!(
                (key.key.len(), key.nonce.len()),
                (cs.aead_key_len(), cs.aead_nonce_len())
            );
        }
    }

    #[test]
    fn exporter_depends_on_label_context_and_length() {
        let cs = suite(1);
        let epoch = schedule(cs, None).epoch;
        let base = epoch.export(cs, b"label", b"ctx", 32).unwrap();
        assert_eq!(base.len(), 32);
        assert_ne!(base, epoch.export(cs, b"other", b"ctx", 32).unwrap());
        assert_ne!(base, epoch.export(cs, b"label", b"other", 32).unwrap());
        assert_eq!(epoch.export(cs, b"label", b"ctx", 100).unwrap().len(), 100);
        // HKDF-SHA256 cannot expand beyond 255 * 32 bytes.
        assert_eq!(
            epoch.export(cs, b"label", b"ctx", 255 * 32 + 1),
            Err(CryptoError::InvalidLength)
        );
    }

    #[test]
    fn external_init_round_trip() {
        for id in SUITES {
            let cs = suite(id);
            let epoch = schedule(cs, None).epoch;
            let pair = epoch.external_key_pair(cs).unwrap();
            assert_eq!(epoch.external_pub(cs).unwrap(), pair.public);
            let (kem_output, sent) = external_init_sender(cs, &pair.public, &mut os_rng()).unwrap();
            assert_eq!(sent.len(), cs.hash_len());
            let received = external_init_receiver(cs, pair.private.as_bytes(), &kem_output).unwrap();
            assert_eq!(sent, received);
            let other = schedule(cs, Some(&[1; 32])).epoch.external_key_pair(cs).unwrap();
            let wrong = external_init_receiver(cs, other.private.as_bytes(), &kem_output);
            assert!(wrong.map_or(true, |s| s != sent));
        }
    }
}
