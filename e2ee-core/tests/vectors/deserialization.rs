//! Runner for `deserialization*.json`: MLS variable-length vector headers
//! (RFC 9420 §2.1.2).

use serde_json::Value;

use e2ee_core::codec::read_varint_length;

use super::common::{Runner, hex_field, u64_field};

/// Decodes `vlbytes_header` and checks the announced `length`.
pub const RUNNER: Option<Runner> = Some(run);

fn run(case: &Value) -> Result<(), String> {
    let header = hex_field(case, "vlbytes_header")?;
    let want = u64_field(case, "length")?;
    let (len, header_len) = read_varint_length(&header).map_err(|e| format!("decoding failed: {e}"))?;
    if header_len != header.len() {
        return Err(format!("header used {header_len} of {} bytes", header.len()));
    }
    if len as u64 != want {
        return Err(format!("length: got {len}, want {want}"));
    }
    Ok(())
}
