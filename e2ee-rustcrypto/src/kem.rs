//! The KEM of each suite, as the HPKE of `hpke_base` uses it: Encap for
//! several recipients at once, Decap, DeriveKeyPair and the check of a
//! recipient's key (RFC 9180 §4.1, §7.1).
//!
//! DHKEM(X25519) and DHKEM(P-256) are our code (`dhkem`, `dhkem_p256`:
//! Encap batched, P-256 refusing compressed keys early, and no second
//! X25519 or HPKE key schedule in the npm package);
//! DHKEM(P-384) and DHKEM(P-521) are the `hpke` crate's; DHKEM(X448),
//! which that crate lacks, is composed here from the `x448` function and
//! the suite's HKDF. The RFC 9180 test vectors check every one of them.

use alloc::vec::Vec;

use e2ee_provider::{CipherSuiteProvider, CryptoError, KeyPair, Rng, Secret};
#[cfg(any(feature = "p384", feature = "p521"))]
use hpke::{Deserializable, Kem as CrateKem, Serializable};
use zeroize::Zeroizing;

use crate::dhkem::{self, Encapsulation};
use crate::dhkem_p256;

/// One suite's KEM. `cs` supplies the HKDF: in every MLS suite the KEM's
/// KDF is the suite's.
pub(crate) trait SuiteKem: 'static {
    /// The HPKE `kem_id`.
    const KEM_ID: u16;

    /// As `CipherSuiteProvider::kem_public_key_check`.
    fn check_public_key(public_key: &[u8]) -> Result<(), CryptoError>;

    /// `Encap(pkR)` of each of `public_keys`, in order.
    fn encap_each(
        cs: &dyn CipherSuiteProvider,
        public_keys: &[&[u8]],
        rng: &mut Rng<'_>,
    ) -> Result<Vec<Encapsulation>, CryptoError>;

    /// `Decap(enc, skR)`: the KEM shared secret.
    fn decap(cs: &dyn CipherSuiteProvider, private_key: &[u8], enc: &[u8]) -> Result<Secret, CryptoError>;

    /// `DeriveKeyPair(ikm)`.
    fn derive_key_pair(cs: &dyn CipherSuiteProvider, ikm: &[u8]) -> Result<KeyPair, CryptoError>;

    /// The public key of a private key.
    fn public_key(private_key: &[u8]) -> Result<Vec<u8>, CryptoError>;
}

/// A NIST-curve private key (a big-endian scalar) in its `len` bytes. A
/// P-521 scalar (521 bits) is also taken in 65 bytes when its top byte is
/// zero: some implementations, and the IETF MLS vectors, write it so.
/// Private keys come from the application, never from the network.
pub(crate) fn scalar_bytes(bytes: &[u8], len: usize) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let pad = match len.checked_sub(bytes.len()) {
        Some(0) => 0,
        Some(1) if len == 66 => 1,
        _ => return Err(CryptoError::InvalidKey),
    };
    let mut scalar = Zeroizing::new(alloc::vec![0; len]);
    scalar[pad..].copy_from_slice(bytes);
    Ok(scalar)
}

/// DeriveKeyPair of a KEM of the `hpke` crate.
#[cfg(any(feature = "p384", feature = "p521"))]
fn crate_derive_key_pair<K: CrateKem>(ikm: &[u8]) -> KeyPair {
    let (sk, pk) = K::derive_keypair(ikm);
    let private = Zeroizing::new(sk.to_bytes());
    KeyPair {
        private: Secret::from_slice(&private),
        public: pk.to_bytes().to_vec(),
    }
}

/// The public key of a private key of a KEM of the `hpke` crate.
#[cfg(any(feature = "p384", feature = "p521"))]
fn crate_public_key<K: CrateKem>(private_key: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let sk = K::PrivateKey::from_bytes(private_key).map_err(|_| CryptoError::InvalidKey)?;
    Ok(K::sk_to_pk(&sk).to_bytes().to_vec())
}

/// Decap of a KEM of the `hpke` crate.
#[cfg(any(feature = "p384", feature = "p521"))]
fn crate_decap<K: CrateKem>(private_key: &[u8], enc: &[u8]) -> Result<Secret, CryptoError> {
    let sk = K::PrivateKey::from_bytes(private_key).map_err(|_| CryptoError::InvalidKey)?;
    let enc = K::EncappedKey::from_bytes(enc).map_err(|_| CryptoError::DecryptionFailed)?;
    // `SharedSecret` zeroizes itself when dropped.
    let shared_secret = K::decap(&sk, None, &enc).map_err(|_| CryptoError::DecryptionFailed)?;
    Ok(Secret::from_slice(&shared_secret.0))
}

/// DHKEM(X25519, HKDF-SHA256): ours, Encap batched (see `dhkem`).
pub(crate) struct X25519;

impl SuiteKem for X25519 {
    const KEM_ID: u16 = 0x0020;

    fn check_public_key(public_key: &[u8]) -> Result<(), CryptoError> {
        dhkem::check_public_key(public_key)
    }

    fn encap_each(
        cs: &dyn CipherSuiteProvider,
        public_keys: &[&[u8]],
        rng: &mut Rng<'_>,
    ) -> Result<Vec<Encapsulation>, CryptoError> {
        dhkem::encap_each(cs, public_keys, rng)
    }

    fn decap(cs: &dyn CipherSuiteProvider, private_key: &[u8], enc: &[u8]) -> Result<Secret, CryptoError> {
        dhkem::decap(cs, private_key, enc)
    }

    fn derive_key_pair(cs: &dyn CipherSuiteProvider, ikm: &[u8]) -> Result<KeyPair, CryptoError> {
        dhkem::derive_key_pair(cs, ikm)
    }

    fn public_key(private_key: &[u8]) -> Result<Vec<u8>, CryptoError> {
        dhkem::public_key(private_key)
    }
}

/// DHKEM(P-256, HKDF-SHA256): ours (see `dhkem_p256`), uncompressed keys
/// only.
pub(crate) struct P256;

impl SuiteKem for P256 {
    const KEM_ID: u16 = 0x0010;

    fn check_public_key(public_key: &[u8]) -> Result<(), CryptoError> {
        dhkem_p256::public_key(public_key).map(drop)
    }

    fn encap_each(
        cs: &dyn CipherSuiteProvider,
        public_keys: &[&[u8]],
        rng: &mut Rng<'_>,
    ) -> Result<Vec<Encapsulation>, CryptoError> {
        dhkem_p256::encap_each(cs, public_keys, rng)
    }

    fn decap(cs: &dyn CipherSuiteProvider, private_key: &[u8], enc: &[u8]) -> Result<Secret, CryptoError> {
        dhkem_p256::decap(cs, private_key, enc)
    }

    fn derive_key_pair(cs: &dyn CipherSuiteProvider, ikm: &[u8]) -> Result<KeyPair, CryptoError> {
        dhkem_p256::derive_key_pair(cs, ikm)
    }

    fn public_key(private_key: &[u8]) -> Result<Vec<u8>, CryptoError> {
        dhkem_p256::public_key_of(private_key)
    }
}

/// A KEM of the `hpke` crate used as it is (P-384, P-521): its public keys
/// are uncompressed points of the right length, checked on the curve;
/// private keys are scalars of `$len` bytes.
macro_rules! crate_kem {
    ($(#[$meta:meta])* $name:ident = $kem:ty, $len:expr) => {
        $(#[$meta])*
        pub(crate) type $name = $kem;

        $(#[$meta])*
        impl SuiteKem for $name {
            const KEM_ID: u16 = <Self as CrateKem>::KEM_ID;

            fn check_public_key(public_key: &[u8]) -> Result<(), CryptoError> {
                <Self as CrateKem>::PublicKey::from_bytes(public_key)
                    .map(drop)
                    .map_err(|_| CryptoError::InvalidKey)
            }

            fn encap_each(
                _: &dyn CipherSuiteProvider,
                public_keys: &[&[u8]],
                rng: &mut Rng<'_>,
            ) -> Result<Vec<Encapsulation>, CryptoError> {
                let encap = |public_key: &&[u8]| {
                    let pk = <Self as CrateKem>::PublicKey::from_bytes(public_key).map_err(|_| CryptoError::InvalidKey)?;
                    let (shared_secret, enc) = <Self as CrateKem>::encap_with_rng(&pk, None, &mut &mut *rng)
                        .map_err(|_| CryptoError::EncryptionFailed)?;
                    Ok(Encapsulation {
                        shared_secret: Secret::from_slice(&shared_secret.0),
                        enc: enc.to_bytes().to_vec(),
                    })
                };
                public_keys.iter().map(encap).collect()
            }

            fn decap(_: &dyn CipherSuiteProvider, private_key: &[u8], enc: &[u8]) -> Result<Secret, CryptoError> {
                crate_decap::<Self>(&scalar_bytes(private_key, $len)?, enc)
            }

            fn derive_key_pair(_: &dyn CipherSuiteProvider, ikm: &[u8]) -> Result<KeyPair, CryptoError> {
                Ok(crate_derive_key_pair::<Self>(ikm))
            }

            fn public_key(private_key: &[u8]) -> Result<Vec<u8>, CryptoError> {
                crate_public_key::<Self>(&scalar_bytes(private_key, $len)?)
            }
        }
    };
}

crate_kem!(
    #[cfg(feature = "p384")]
    P384 = hpke::kem::DhP384HkdfSha384,
    48
);
crate_kem!(
    #[cfg(feature = "p521")]
    P521 = hpke::kem::DhP521HkdfSha512,
    66
);

/// DHKEM(X448, HKDF-SHA512) (RFC 9180 §4.1, §7.1): 56-byte keys and
/// DH results, `kem_id` 0x0021.
#[cfg(feature = "x448")]
pub(crate) struct X448;

#[cfg(feature = "x448")]
impl X448 {
    /// `Nsk`, `Npk` and `Ndh`.
    const LEN: usize = 56;
    /// `"KEM" || I2OSP(kem_id, 2)`.
    const SUITE_ID: [u8; 5] = *b"KEM\x00\x21";

    /// 0, 1, p - 1, p and p + 1, little-endian (p = 2^448 - 2^224 - 1).
    fn small_order() -> [[u8; Self::LEN]; 5] {
        let mut p = [0xff; Self::LEN];
        p[28] = 0xfe;
        let (mut one, mut minus_one, mut p_plus_one) = ([0; Self::LEN], p, [0xff; Self::LEN]);
        one[0] = 1;
        minus_one[0] = 0xfe;
        p_plus_one[..28].fill(0);
        [[0; Self::LEN], one, minus_one, p, p_plus_one]
    }

    fn key(bytes: &[u8]) -> Result<[u8; Self::LEN], CryptoError> {
        bytes.try_into().map_err(|_| CryptoError::InvalidKey)
    }

    /// `DH(sk, pk)`, the X448 function (RFC 7748 §5); `None` for an
    /// all-zero result (a point of small order), which RFC 9180 §7.1.4
    /// says must abort.
    fn dh(private_key: &[u8; Self::LEN], public_key: &[u8; Self::LEN]) -> Option<Zeroizing<[u8; Self::LEN]>> {
        let dh = Zeroizing::new(x448::x448_unchecked(*private_key, *public_key));
        (!e2ee_provider::ct_eq(&dh[..], &[0; Self::LEN])).then_some(dh)
    }

    /// `SerializePublicKey(pk(sk))`.
    fn public_of(private_key: &[u8; Self::LEN]) -> [u8; Self::LEN] {
        x448::x448_unchecked(*private_key, x448::X448_BASEPOINT_BYTES)
    }

    /// `ExtractAndExpand(DH(sk, pk), enc || pkRm)`.
    fn shared_secret(
        cs: &dyn CipherSuiteProvider,
        private_key: &[u8; Self::LEN],
        public_key: &[u8; Self::LEN],
        enc: &[u8],
        pk_rm: &[u8],
        failure: CryptoError,
    ) -> Result<Secret, CryptoError> {
        let dh = Self::dh(private_key, public_key).ok_or(failure)?;
        let kem_context = [enc, pk_rm].concat();
        crate::hpke_base::extract_and_expand(cs, &Self::SUITE_ID, &dh[..], &kem_context)
    }

    /// `DeriveKeyPair(ikm)`'s private key: `LabeledExpand(dkp_prk, "sk",
    /// "", Nsk)`, clamped as RFC 9180 §7.1.2 has SerializePrivateKey do
    /// (X448 clamps it anyway, so the key is the same).
    fn derive_private(cs: &dyn CipherSuiteProvider, ikm: &[u8]) -> Result<Zeroizing<[u8; Self::LEN]>, CryptoError> {
        use crate::hpke_base::{kem_labeled_extract, labeled_expand};
        let dkp_prk = kem_labeled_extract(cs, &Self::SUITE_ID, b"dkp_prk", ikm);
        let sk = labeled_expand(cs, &Self::SUITE_ID, &dkp_prk, b"sk", b"", Self::LEN)?;
        let mut key = Zeroizing::new([0; Self::LEN]);
        key.copy_from_slice(sk.as_bytes());
        key[0] &= 0xfc;
        key[Self::LEN - 1] |= 0x80;
        Ok(key)
    }
}

#[cfg(feature = "x448")]
impl SuiteKem for X448 {
    const KEM_ID: u16 = 0x0021;

    /// Refuses the points of small order in every encoding: u = 0, 1 and
    /// p - 1, and the non-canonical p and p + 1 (= 0 and 1; the `x448`
    /// crate's own check misses these two). Encap to any of them gives an
    /// all-zero DH result and fails.
    fn check_public_key(public_key: &[u8]) -> Result<(), CryptoError> {
        let key = Self::key(public_key)?;
        if Self::small_order().iter().any(|u| e2ee_provider::ct_eq(u, &key)) {
            return Err(CryptoError::InvalidKey);
        }
        x448::PublicKey::from_bytes(&key)
            .map(drop)
            .ok_or(CryptoError::InvalidKey)
    }

    /// Each ephemeral key is `DeriveKeyPair(random(Nsk))` (RFC 9180
    /// §7.1.3), as for the other DHKEMs here.
    fn encap_each(
        cs: &dyn CipherSuiteProvider,
        public_keys: &[&[u8]],
        rng: &mut Rng<'_>,
    ) -> Result<Vec<Encapsulation>, CryptoError> {
        let encap = |public_key: &&[u8]| {
            let pk_r = Self::key(public_key)?;
            let mut ikm = Zeroizing::new([0; Self::LEN]);
            rng.fill_bytes(&mut ikm[..]);
            let sk_e = Self::derive_private(cs, &ikm[..])?;
            let enc = Self::public_of(&sk_e);
            let shared_secret = Self::shared_secret(cs, &sk_e, &pk_r, &enc, &pk_r, CryptoError::EncryptionFailed)?;
            Ok(Encapsulation {
                shared_secret,
                enc: enc.to_vec(),
            })
        };
        public_keys.iter().map(encap).collect()
    }

    fn decap(cs: &dyn CipherSuiteProvider, private_key: &[u8], enc: &[u8]) -> Result<Secret, CryptoError> {
        let sk_r = Zeroizing::new(Self::key(private_key)?);
        let pk_e = Self::key(enc).map_err(|_| CryptoError::DecryptionFailed)?;
        let pk_rm = Self::public_of(&sk_r);
        Self::shared_secret(cs, &sk_r, &pk_e, enc, &pk_rm, CryptoError::DecryptionFailed)
    }

    fn derive_key_pair(cs: &dyn CipherSuiteProvider, ikm: &[u8]) -> Result<KeyPair, CryptoError> {
        let private = Self::derive_private(cs, ikm)?;
        Ok(KeyPair {
            public: Self::public_of(&private).to_vec(),
            private: Secret::from_slice(&private[..]),
        })
    }

    fn public_key(private_key: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Ok(Self::public_of(&Zeroizing::new(Self::key(private_key)?)).to_vec())
    }
}
