//! Conversions between JavaScript values and the core's types. Inputs are
//! checked here, so a wrong argument becomes an `invalid_argument` error
//! instead of silently wrong bytes (wasm-bindgen's `&[u8]` accepts any
//! array-like).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use e2ee_core::client as core;
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

// The few JavaScript built-ins the conversions use, declared here rather
// than through js-sys, whose futures support and closure glue would come
// along (1.2 KB of the package, gzipped).
#[wasm_bindgen]
extern "C" {
    /// `Uint8Array`.
    #[wasm_bindgen(js_name = Uint8Array)]
    pub type Uint8Array;
    /// A copy of bytes in the module's memory (which wasm-bindgen passes
    /// as a view for the call).
    #[wasm_bindgen(constructor, js_class = Uint8Array)]
    fn copied(bytes: &[u8]) -> Uint8Array;
    /// A view of the same bytes, which wasm-bindgen then copies into the
    /// module's memory: one copy.
    #[wasm_bindgen(method, js_name = subarray)]
    fn to_vec(this: &Uint8Array) -> Vec<u8>;

    /// `Array`.
    #[wasm_bindgen(js_name = Array, is_type_of = is_array)]
    type Array;
    #[wasm_bindgen(constructor, js_class = Array)]
    fn new() -> Array;
    #[wasm_bindgen(method)]
    fn push(this: &Array, value: &JsValue) -> u32;
    #[wasm_bindgen(method, getter)]
    fn length(this: &Array) -> u32;
    #[wasm_bindgen(method, indexing_getter)]
    fn at(this: &Array, index: u32) -> JsValue;

    #[wasm_bindgen(js_name = Object)]
    type Object;
    #[wasm_bindgen(constructor, js_class = Object)]
    fn new() -> Object;

    #[wasm_bindgen(js_name = Error)]
    type JsError;
    #[wasm_bindgen(constructor, js_class = Error)]
    fn new(message: &str) -> JsError;

    #[wasm_bindgen(js_namespace = Reflect, js_name = get, catch)]
    fn reflect_get(target: &JsValue, key: &JsValue) -> ::core::result::Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = Reflect, js_name = set, catch)]
    fn reflect_set(target: &JsValue, key: &JsValue, value: &JsValue) -> ::core::result::Result<bool, JsValue>;
}

// `Array`'s type check (`dyn_into`), in a block of its own: the macro
// does not make it callable from the block that declares `Array`.
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Array, js_name = isArray)]
    fn is_array(value: &JsValue) -> bool;
}

/// An error on its way to JavaScript, where it becomes an `Error` with a
/// stable `code` property.
#[derive(Debug)]
pub struct Error {
    code: &'static str,
    kind: &'static str,
    message: String,
}

/// The code of errors in the arguments themselves (not in their content).
const INVALID_ARGUMENT: &str = "invalid_argument";

impl Error {
    /// A wrong argument: `what` should have been something else.
    pub(crate) fn invalid(what: &str) -> Self {
        Self {
            code: INVALID_ARGUMENT,
            kind: "usage",
            message: what.to_string(),
        }
    }
}

impl From<e2ee_core::Error> for Error {
    fn from(e: e2ee_core::Error) -> Self {
        Self {
            code: e.code(),
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

impl From<Error> for JsValue {
    fn from(e: Error) -> Self {
        let error = JsError::new(&e.message);
        // A fresh Error is an ordinary extensible object: setting cannot fail.
        let _ = reflect_set(&error, &"code".into(), &e.code.into());
        let _ = reflect_set(&error, &"kind".into(), &e.kind.into());
        error.into()
    }
}

/// Results of the bindings.
pub type Result<T> = ::core::result::Result<T, Error>;

/// Builds a plain JavaScript object.
pub(crate) struct Obj(Object);

impl Obj {
    pub(crate) fn new() -> Self {
        Self(Object::new())
    }

    /// Sets `key`; `None` leaves it out (absent, as the `.d.ts` says).
    pub(crate) fn set(self, key: &str, value: impl Into<JsValue>) -> Self {
        // Defining a property of a fresh plain object cannot fail.
        let _ = reflect_set(&self.0, &key.into(), &value.into());
        self
    }

    pub(crate) fn opt(self, key: &str, value: Option<impl Into<JsValue>>) -> Self {
        match value {
            Some(v) => self.set(key, v),
            None => self,
        }
    }

    pub(crate) fn into_js(self) -> JsValue {
        self.0.into()
    }
}

/// A copy of `bytes` as a `Uint8Array`.
pub(crate) fn u8s(bytes: &[u8]) -> Uint8Array {
    Uint8Array::copied(bytes)
}

fn array<T>(items: impl IntoIterator<Item = T>, f: impl Fn(T) -> JsValue) -> JsValue {
    let array = Array::new();
    for item in items {
        array.push(&f(item));
    }
    array.into()
}

/// Epochs, counts and indices as JavaScript numbers: they never come near
/// 2^53, and `number` is what applications compare and display.
pub(crate) fn num(n: u64) -> JsValue {
    JsValue::from_f64(n as f64)
}

/// The bytes of a `Uint8Array` argument named `what`.
pub(crate) fn bytes(value: &JsValue, what: &str) -> Result<Vec<u8>> {
    value
        .dyn_ref::<Uint8Array>()
        .map(Uint8Array::to_vec)
        .ok_or_else(|| Error::invalid(&format!("{what} must be a Uint8Array")))
}

/// A 32-byte storage key.
pub(crate) fn key(value: &JsValue) -> Result<[u8; 32]> {
    bytes(value, "key")?
        .try_into()
        .map_err(|_| Error::invalid("key must be 32 bytes"))
}

/// The elements of an array argument named `what`.
fn elements(value: &JsValue, what: &str) -> Result<Array> {
    value
        .clone()
        .dyn_into::<Array>()
        .ok()
        .ok_or_else(|| Error::invalid(&format!("{what} must be an array")))
}

/// An array of `Uint8Array`s.
pub(crate) fn byte_list(value: &JsValue, what: &str) -> Result<Vec<Vec<u8>>> {
    let list = elements(value, what)?;
    (0..list.length()).map(|i| bytes(&list.at(i), what)).collect()
}

/// A non-negative integer that fits in `u32`.
fn index(value: &JsValue, what: &str) -> Result<u32> {
    match value.as_f64() {
        // In range, the cast truncates: equal back only for an integer.
        Some(n) if (0.0..=f64::from(u32::MAX)).contains(&n) && f64::from(n as u32) == n => Ok(n as u32),
        _ => Err(Error::invalid(&format!("{what} must be integers from 0 to 2^32-1"))),
    }
}

/// An array of leaf indices.
pub(crate) fn index_list(value: &JsValue, what: &str) -> Result<Vec<u32>> {
    let list = elements(value, what)?;
    (0..list.length()).map(|i| index(&list.at(i), what)).collect()
}

fn get(object: &JsValue, key: &str) -> JsValue {
    // Reading a property throws only for proxies and getters that throw;
    // treat that like a missing property.
    reflect_get(object, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

pub(crate) fn member(m: core::Member) -> JsValue {
    Obj::new()
        .set("index", m.index)
        .set("identity", u8s(&m.identity))
        .set("signatureKey", u8s(&m.signature_key))
        .into_js()
}

pub(crate) fn members(list: Vec<core::Member>) -> JsValue {
    array(list, member)
}

pub(crate) fn options(o: &core::GroupOptions) -> JsValue {
    Obj::new()
        .set(
            "privateHandshakes",
            o.handshake_wire_format == core::HandshakeFormat::Private,
        )
        .set("padding", num(o.padding as u64))
        .set("maxBuffered", num(o.max_buffered as u64))
        .set("maxBufferedBytes", num(o.max_buffered_bytes as u64))
        .set("pastEpochs", num(o.group_config.past_epochs as u64))
        .set("maxForwardDistance", o.group_config.secret_tree.max_forward_distance)
        .set("maxEpochsAhead", num(o.max_epochs_ahead))
        .set("externalJoins", external_joins(o.external_joins))
        .into_js()
}

const EXTERNAL_JOINS: [(&str, core::ExternalJoins); 3] = [
    ("deny", core::ExternalJoins::Deny),
    ("resync", core::ExternalJoins::Resync),
    ("allow", core::ExternalJoins::Allow),
];

fn external_joins(policy: core::ExternalJoins) -> &'static str {
    EXTERNAL_JOINS
        .iter()
        .find(|(_, p)| *p == policy)
        .map_or("deny", |(name, _)| name)
}

/// Options from a (partial) `GroupOptions` object; missing fields keep the
/// defaults.
pub(crate) fn options_from(value: &JsValue) -> Result<core::GroupOptions> {
    if !value.is_object() {
        return Err(Error::invalid("options must be an object"));
    }
    let mut o = core::GroupOptions::default();
    let field = |name: &str| -> Result<Option<u32>> {
        let v = get(value, name);
        if v.is_undefined() {
            Ok(None)
        } else {
            index(&v, name).map(Some)
        }
    };
    match get(value, "privateHandshakes") {
        v if v.is_undefined() => {}
        v => match v.as_bool() {
            Some(true) => o.handshake_wire_format = core::HandshakeFormat::Private,
            Some(false) => o.handshake_wire_format = core::HandshakeFormat::Public,
            None => return Err(Error::invalid("privateHandshakes must be a boolean")),
        },
    }
    if let Some(n) = field("padding")? {
        o.padding = n as usize;
    }
    if let Some(n) = field("maxBuffered")? {
        o.max_buffered = n as usize;
    }
    if let Some(n) = field("maxBufferedBytes")? {
        o.max_buffered_bytes = n as usize;
    }
    if let Some(n) = field("pastEpochs")? {
        o.group_config.past_epochs = n as usize;
    }
    if let Some(n) = field("maxForwardDistance")? {
        o.group_config.secret_tree.max_forward_distance = n;
    }
    if let Some(n) = field("maxEpochsAhead")? {
        o.max_epochs_ahead = u64::from(n);
    }
    match get(value, "externalJoins") {
        v if v.is_undefined() => {}
        v => {
            let name = v.as_string().unwrap_or_default();
            let policy = EXTERNAL_JOINS.iter().find(|(n, _)| *n == name);
            o.external_joins = policy
                .ok_or_else(|| Error::invalid("externalJoins must be deny, resync or allow"))?
                .1;
        }
    }
    Ok(o)
}

pub(crate) fn bundle(b: core::CommitBundle) -> JsValue {
    Obj::new()
        .set("commit", u8s(&b.commit))
        .opt("welcome", b.welcome.as_deref().map(u8s))
        .set("groupInfo", u8s(&b.group_info))
        .into_js()
}

fn tagged(kind: &str) -> Obj {
    Obj::new().set("type", kind)
}

pub(crate) fn intent(i: core::Intent) -> JsValue {
    match i {
        core::Intent::Add(key_packages) => tagged("add").set("keyPackages", array(key_packages, |k| u8s(&k).into())),
        core::Intent::Remove(members) => tagged("remove").set("members", array(members, JsValue::from)),
        core::Intent::Update => tagged("update"),
        core::Intent::CommitProposals => tagged("commitProposals"),
    }
    .into_js()
}

pub(crate) fn intent_from(value: &JsValue) -> Result<core::Intent> {
    match get(value, "type").as_string().as_deref() {
        Some("add") => Ok(core::Intent::Add(byte_list(&get(value, "keyPackages"), "keyPackages")?)),
        Some("remove") => Ok(core::Intent::Remove(index_list(&get(value, "members"), "members")?)),
        Some("update") => Ok(core::Intent::Update),
        Some("commitProposals") => Ok(core::Intent::CommitProposals),
        _ => Err(Error::invalid(
            "intent.type must be add, remove, update or commitProposals",
        )),
    }
}

fn proposal_kind(k: core::ProposalKind) -> JsValue {
    match k {
        core::ProposalKind::Add { identity } => tagged("add").set("identity", u8s(&identity)),
        core::ProposalKind::Remove { index } => tagged("remove").set("index", index),
        core::ProposalKind::Update => tagged("update"),
        core::ProposalKind::Other => tagged("other"),
    }
    .into_js()
}

fn event(e: core::Event) -> JsValue {
    match e {
        core::Event::Message {
            sender,
            data,
            authenticated_data,
            epoch,
        } => tagged("message")
            .set("sender", member(sender))
            .set("data", u8s(&data))
            .set("authenticatedData", u8s(&authenticated_data))
            .set("epoch", num(epoch)),
        core::Event::Proposal {
            sender,
            kind,
            reference,
            accepted,
        } => tagged("proposal")
            .opt("sender", sender.map(member))
            .set("kind", proposal_kind(kind))
            .set("reference", u8s(&reference))
            .set("accepted", accepted),
        core::Event::EpochChanged {
            epoch,
            committer,
            added,
            removed,
            updated,
            self_removed,
        } => tagged("epochChanged")
            .set("epoch", num(epoch))
            .opt("committer", committer.map(member))
            .set("added", members(added))
            .set("removed", members(removed))
            .set("updated", members(updated))
            .set("selfRemoved", self_removed),
        core::Event::CommitLost { intent: i } => tagged("commitLost").set("intent", intent(i)),
        core::Event::Deferred { epoch } => tagged("deferred").set("epoch", num(epoch)),
        core::Event::Rejected { error } => tagged("rejected").set("error", Error::from(error)),
    }
    .into_js()
}

pub(crate) fn events(list: Vec<core::Event>) -> JsValue {
    array(list, event)
}

pub(crate) fn pending_proposals(list: Vec<core::PendingProposal>) -> JsValue {
    array(list, |p| {
        Obj::new()
            .set("reference", u8s(&p.reference))
            .opt("sender", p.sender.map(member))
            .set("kind", proposal_kind(p.kind))
            .set("accepted", p.accepted)
            .into_js()
    })
}

/// A credential as the application's validator sees it.
pub(crate) fn credential(c: &e2ee_core::messages::Credential) -> JsValue {
    let kind = match c {
        e2ee_core::messages::Credential::Basic(_) => "basic",
        e2ee_core::messages::Credential::X509(_) => "x509",
    };
    tagged(kind)
        .set("identity", u8s(&core::Member::identity_of(c)))
        .into_js()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Only the parts that need no JavaScript engine run on the host; the
    // rest is tested through the package (`npm test` in e2ee-wasm/).
    #[test]
    fn errors_keep_the_core_code_and_message() {
        let core_error = e2ee_core::Client::new(9, b"x").unwrap_err();
        let e = Error::from(core_error.clone());
        assert_eq!((e.code, e.kind), (core_error.code(), core_error.kind()));
        assert_eq!(e.message, core_error.to_string());
        assert_eq!(Error::invalid("key must be 32 bytes").code, "invalid_argument");
    }

    #[test]
    fn version_is_the_package_version() {
        assert_eq!(crate::version(), env!("CARGO_PKG_VERSION"));
    }
}
