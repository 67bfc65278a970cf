//! Runner for `welcome.json` (RFC 9420 §12.4.3.1): decrypt a Welcome with the
//! joiner's init key, check the GroupInfo's signature and confirmation tag.

use e2ee_core::codec::{decode_exact, encode};
use e2ee_core::crypto::CryptoProvider;
use e2ee_core::key_schedule::WelcomeSchedule;
use e2ee_core::messages::framing::{MlsMessage, MlsMessageBody};
use e2ee_core::welcome;
use e2ee_rustcrypto::RustCryptoProvider;
use serde_json::Value;

use super::common::{Runner, hex_field, suite_of};
use e2ee_core::crypto::Labelled;

/// Processes the Welcome of each case.
pub const RUNNER: Option<Runner> = Some(run);

fn run(case: &Value) -> Result<(), String> {
    let cs = RustCryptoProvider
        .cipher_suite(suite_of(case)?)
        .map_err(|e| e.to_string())?;
    let e = |e: e2ee_core::Error| e.to_string();
    let key_package = match decode_exact::<MlsMessage>(&hex_field(case, "key_package")?)
        .map_err(|e| e.to_string())?
        .body
    {
        MlsMessageBody::KeyPackage(kp) => kp,
        _ => return Err("key_package is not a KeyPackage".into()),
    };
    let MlsMessageBody::Welcome(w) = decode_exact::<MlsMessage>(&hex_field(case, "welcome")?)
        .map_err(|e| e.to_string())?
        .body
    else {
        return Err("welcome is not a Welcome".into());
    };
    let kp_ref = cs
        .make_key_package_ref(&encode(&key_package).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let secrets = welcome::open_group_secrets(cs, &w, &kp_ref, &hex_field(case, "init_priv")?).map_err(e)?;
    if !secrets.psks.is_empty() {
        return Err("unexpected PSKs".into());
    }
    let schedule = WelcomeSchedule::new(cs, &secrets.joiner_secret, None).map_err(|e| e.to_string())?;
    let group_info = welcome::open_group_info(cs, &w, &schedule).map_err(e)?;
    welcome::verify_group_info(cs, &group_info, &hex_field(case, "signer_pub")?).map_err(e)?;
    welcome::confirm_epoch(cs, schedule, &group_info).map_err(e)?;
    Ok(())
}
