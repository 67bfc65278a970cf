//! Runner for `psk_secret*.json`: `psk_secret` from a list of external PSKs
//! (RFC 9420 §8.4).

use e2ee_core::codec::Writer;
use e2ee_core::crypto::CryptoProvider;
use e2ee_core::psk::{PskInput, psk_secret};
use e2ee_rustcrypto::RustCryptoProvider;
use serde_json::Value;

use super::common::{Runner, check_eq, hex_field, suite_of};

/// Checks `psk_secret` for one case.
pub const RUNNER: Option<Runner> = Some(run);

/// One vector PSK: its encoded PreSharedKeyID and its value.
struct Psk {
    id: Vec<u8>,
    psk: Vec<u8>,
}

fn run(case: &Value) -> Result<(), String> {
    let provider = RustCryptoProvider;
    let cs = provider.cipher_suite(suite_of(case)?).map_err(|e| e.to_string())?;
    let psks = case["psks"]
        .as_array()
        .ok_or("missing array psks")?
        .iter()
        .map(parse_psk)
        .collect::<Result<Vec<_>, _>>()?;
    let inputs: Vec<PskInput<'_>> = psks.iter().map(|p| PskInput { id: &p.id, psk: &p.psk }).collect();
    let got = psk_secret(cs, &inputs).map_err(|e| e.to_string())?;
    check_eq("psk_secret", got.as_bytes(), &hex_field(case, "psk_secret")?)
}

fn parse_psk(entry: &Value) -> Result<Psk, String> {
    // PreSharedKeyID { psktype = external(1); opaque psk_id<V>; opaque psk_nonce<V> }.
    let mut id = Writer::new();
    id.put(&[1]);
    for field in ["psk_id", "psk_nonce"] {
        id.opaque(&hex_field(entry, field)?);
    }
    Ok(Psk {
        id: id.finish().map_err(|e| e.to_string())?,
        psk: hex_field(entry, "psk")?,
    })
}
