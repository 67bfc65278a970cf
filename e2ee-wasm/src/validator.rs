//! The application's credential validator (its Authentication Service) as
//! the core's hook. The JavaScript functions stay in `js/validators.js`,
//! registered under a number: the core keeps its validator in state that
//! must be `Send + Sync`, which JavaScript values are not.

use e2ee_core::messages::Credential;
use e2ee_core::ratchet_tree::{CredentialError, CredentialValidator};
use wasm_bindgen::prelude::*;

use crate::convert::{self, Error, Result, u8s};

#[wasm_bindgen(raw_module = "./validators.js")]
extern "C" {
    #[wasm_bindgen(js_name = registerValidator)]
    fn register_validator(validate: &JsValue, validate_successor: &JsValue) -> u32;
    #[wasm_bindgen(js_name = unregisterValidator)]
    fn unregister_validator(id: u32);
    #[wasm_bindgen(js_name = callValidator)]
    fn call_validator(id: u32, credential: JsValue, signature_key: JsValue) -> bool;
    #[wasm_bindgen(js_name = callSuccessorValidator)]
    fn call_successor_validator(id: u32, old: JsValue, new: JsValue) -> bool;
}

/// A registered pair of callbacks.
pub(crate) struct JsValidator {
    id: u32,
    /// Whether the application gave `validateSuccessor`; if not, the
    /// core's default (the identity stays the same) applies.
    successor: bool,
}

impl JsValidator {
    pub(crate) fn new(validate: &JsValue, validate_successor: Option<&JsValue>) -> Result<Self> {
        let is_function = |v: &JsValue| v.is_function();
        if !is_function(validate) || validate_successor.is_some_and(|v| !is_function(v)) {
            return Err(Error::invalid("validate and validateSuccessor must be functions"));
        }
        let successor = validate_successor.cloned().unwrap_or(JsValue::UNDEFINED);
        Ok(Self {
            id: register_validator(validate, &successor),
            successor: validate_successor.is_some(),
        })
    }
}

impl Drop for JsValidator {
    fn drop(&mut self) {
        unregister_validator(self.id);
    }
}

fn verdict(accepted: bool) -> ::core::result::Result<(), CredentialError> {
    match accepted {
        true => Ok(()),
        false => Err(CredentialError::Rejected("rejected_by_application")),
    }
}

impl CredentialValidator for JsValidator {
    fn validate(&self, credential: &Credential, signature_key: &[u8]) -> ::core::result::Result<(), CredentialError> {
        verdict(call_validator(
            self.id,
            convert::credential(credential),
            u8s(signature_key).into(),
        ))
    }

    fn validate_successor(&self, old: &Credential, new: &Credential) -> ::core::result::Result<(), CredentialError> {
        if !self.successor {
            return verdict(old == new);
        }
        let (old, new) = (convert::credential(old), convert::credential(new));
        verdict(call_successor_validator(self.id, old, new))
    }
}
