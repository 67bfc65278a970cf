//! Pre-shared keys (RFC 9420 §8.4): combining the PSKs a Commit or a
//! Welcome's GroupSecrets lists into the `psk_secret` of the key schedule.
//!
//! This module works on encoded `PreSharedKeyID`s so it does not depend on
//! the wire types; finding each PSK's value (an application-provided
//! external PSK, or the `resumption_psk` of an earlier epoch) is the group
//! layer's job.

use alloc::vec::Vec;

use crate::crypto::Labelled;
use crate::crypto::{CipherSuiteProvider, CryptoError, Secret};
use crate::error::Error;
use crate::key_schedule::nh;

/// One PSK to inject: its identifier as sent on the wire and its value.
#[derive(Clone, Copy, Debug)]
pub struct PskInput<'a> {
    /// The TLS encoding of the PreSharedKeyID (§8.4), nonce included.
    pub id: &'a [u8],
    /// The PSK value.
    pub psk: &'a [u8],
}

/// Computes `psk_secret` from `psks`, in the order the Commit or
/// GroupSecrets lists them (§8.4). No PSKs gives the all-zero `KDF.Nh`
/// string, as the key schedule expects.
///
/// Fails with [`CryptoError::Encoding`] when there are more than 65535 PSKs,
/// since PSKLabel's `index` and `count` are `uint16`.
pub fn psk_secret(cs: &dyn CipherSuiteProvider, psks: &[PskInput<'_>]) -> Result<Secret, Error> {
    let count = u16::try_from(psks.len()).map_err(|_| CryptoError::Encoding)?;
    let zero = Secret::zero(cs.hash_len());
    let mut secret = zero.clone();
    // `count` fits in u16, so every index does too.
    for (index, input) in (0..count).zip(psks) {
        let extracted = cs.kdf_extract(zero.as_bytes(), input.psk);
        let label = psk_label(input.id, index, count);
        let psk_input = cs.expand_with_label(extracted.as_bytes(), b"derived psk", &label, nh(cs))?;
        // psk_secret_[i] = KDF.Extract(psk_input_[i-1], psk_secret_[i-1]): psk_input is the salt.
        secret = cs.kdf_extract(psk_input.as_bytes(), secret.as_bytes());
    }
    Ok(secret)
}

/// Encodes `struct { PreSharedKeyID id; uint16 index; uint16 count; } PSKLabel`.
fn psk_label(id: &[u8], index: u16, count: u16) -> Vec<u8> {
    let mut label = Vec::with_capacity(id.len() + 4);
    label.extend_from_slice(id);
    label.extend_from_slice(&index.to_be_bytes());
    label.extend_from_slice(&count.to_be_bytes());
    label
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key_schedule::tests::suite;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    fn psk<'a>(id: &'a [u8], psk: &'a [u8]) -> PskInput<'a> {
        PskInput { id, psk }
    }

    #[test]
    fn no_psks_is_the_zero_string() {
        assert_eq!(psk_secret(suite(1), &[]).unwrap(), Secret::zero(32));
    }

    #[test]
    fn matches_rfc_vector_with_one_external_psk() {
        // psk_secret.json, suite 1, one PSK.
        let id = [
            "0120",
            "55c388e0e99fba6c1633d6b70c50ec3def72563aec7ce787847574bc27ed9d71",
            "20",
            "66b25bdc9086da6e266ed0828040d7a9547d20ddcfd2988d48113a10afb5a23d",
        ];
        let id = hex(&id.concat());
        let value = hex("e0a059e7da3660c691b5accb5342a0940f0ac7ea4ae4c886186249698d845860");
        let want = hex("aa6ee4e7ac86bec0a39c185ad88995e9b86eea9ecca113691090c53bcc86344c");
        assert_eq!(psk_secret(suite(1), &[psk(&id, &value)]).unwrap().as_bytes(), want);
    }

    #[test]
    fn order_and_count_matter() {
        let (a, b) = (psk(b"id a", b"psk a"), psk(b"id b", b"psk b"));
        let ab = psk_secret(suite(1), &[a, b]).unwrap();
        assert_ne!(ab, psk_secret(suite(1), &[b, a]).unwrap());
        // The same PSK twice is not the same as once: PSKLabel carries index and count.
        assert_ne!(
            psk_secret(suite(1), &[a]).unwrap(),
            psk_secret(suite(1), &[a, a]).unwrap()
        );
    }

    #[test]
    fn too_many_psks_is_an_error() {
        let many = vec![psk(b"", b""); usize::from(u16::MAX) + 1];
        assert_eq!(psk_secret(suite(1), &many), Err(Error::from(CryptoError::Encoding)));
    }
}
