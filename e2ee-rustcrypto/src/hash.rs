//! The hash-based parts of a suite: hash, HMAC and HKDF on one SHA-2
//! function, with its HPKE KDF id (RFC 9180 §7.2).

use alloc::vec::Vec;

use e2ee_provider::{CryptoError, Secret};

pub(crate) trait HashFunction: 'static {
    /// `Nh`.
    const LEN: usize;
    /// The HPKE `kdf_id` of HKDF on this hash.
    const KDF_ID: u16;
    fn hash(data: &[u8]) -> Vec<u8>;
    fn mac(key: &[u8], data: &[u8]) -> Vec<u8>;
    fn extract(salt: &[u8], ikm: &[u8]) -> Secret;
    fn expand(prk: &[u8], info: &[u8], len: usize) -> Result<Secret, CryptoError>;
}

macro_rules! sha2_hash {
    ($(#[$meta:meta])* $hash:ty, $len:expr, $kdf_id:expr) => {
        $(#[$meta])*
        impl HashFunction for $hash {
            const LEN: usize = $len;
            const KDF_ID: u16 = $kdf_id;

            fn hash(data: &[u8]) -> Vec<u8> {
                <$hash as sha2::Digest>::digest(data).to_vec()
            }

            fn mac(key: &[u8], data: &[u8]) -> Vec<u8> {
                use hmac::{KeyInit, Mac};
                // HMAC accepts keys of any length, so this cannot fail.
                let mut m = <hmac::Hmac<$hash> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }

            fn extract(salt: &[u8], ikm: &[u8]) -> Secret {
                let (prk, _) = hkdf::Hkdf::<$hash>::extract(Some(salt), ikm);
                Secret::from_slice(&prk)
            }

            fn expand(prk: &[u8], info: &[u8], len: usize) -> Result<Secret, CryptoError> {
                let hk = hkdf::Hkdf::<$hash>::from_prk(prk).map_err(|_| CryptoError::InvalidKey)?;
                let mut out = Secret::zero(len);
                hk.expand(info, out.as_mut_bytes())
                    .map_err(|_| CryptoError::InvalidLength)?;
                Ok(out)
            }
        }
    };
}

sha2_hash!(sha2::Sha256, 32, 0x0001);
sha2_hash!(
    #[cfg(feature = "p384")]
    sha2::Sha384,
    48,
    0x0002
);
sha2_hash!(
    #[cfg(any(feature = "x448", feature = "p521"))]
    sha2::Sha512,
    64,
    0x0003
);
