//! Decoders: arbitrary bytes decoded as a structure must not panic, and
//! whatever decodes must re-encode to the same bytes (encodings are
//! canonical, and `decode_exact` rejects trailing bytes).

use e2ee_core::codec::{self, Decode, Encode, VLBytes};
use e2ee_core::messages::{Commit, GroupInfo, KeyPackage, MlsMessage, Proposal, RatchetTree, Welcome};

fn round_trip<T: Decode + Encode>(data: &[u8]) {
    if let Ok(value) = codec::decode_exact::<T>(data) {
        let encoded = codec::encode(&value).expect("a decoded value re-encodes");
        assert_eq!(encoded, data, "decode/encode round trip changed the bytes");
    }
}

/// `opaque data<V>`: the variable-length header alone.
pub fn decode_vlbytes(data: &[u8]) {
    round_trip::<VLBytes>(data)
}

/// `MLSMessage` (RFC 9420 §6), any wire format.
pub fn decode_mls_message(data: &[u8]) {
    round_trip::<MlsMessage>(data)
}

/// `KeyPackage` (§10).
pub fn decode_key_package(data: &[u8]) {
    round_trip::<KeyPackage>(data)
}

/// `Welcome` (§12.4.3.1).
pub fn decode_welcome(data: &[u8]) {
    round_trip::<Welcome>(data)
}

/// `GroupInfo` (§12.4.3).
pub fn decode_group_info(data: &[u8]) {
    round_trip::<GroupInfo>(data)
}

/// The `ratchet_tree` extension's body (§12.4.3.3).
pub fn decode_ratchet_tree(data: &[u8]) {
    round_trip::<RatchetTree>(data)
}

/// `Commit` (§12.4).
pub fn decode_commit(data: &[u8]) {
    round_trip::<Commit>(data)
}

/// `Proposal` (§12.1).
pub fn decode_proposal(data: &[u8]) {
    round_trip::<Proposal>(data)
}
