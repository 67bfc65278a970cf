//! # e2ee-wasm
//!
//! WebAssembly bindings for the high-level API of [`e2ee_core::client`],
//! published to npm as `@e2ee/core` (built by `npm run build` in this
//! directory; see its README).
//!
//! Type conversion only: every capability lives in `e2ee-core`. Byte
//! buffers are `Uint8Array`s, events and bundles plain objects tagged by
//! `type` (declared in `src/types.d.ts`), and every error an `Error` with a
//! stable `code` property. Randomness comes from `crypto.getRandomValues`
//! on `globalThis`, so pages, Web Workers and Node 20 all work.
//!
//! ```js
//! import { Client } from "@e2ee/core";
//! const alice = new Client(1, new TextEncoder().encode("alice"));
//! const bob = new Client(1, new TextEncoder().encode("bob"));
//! const group = alice.createGroup();
//! const { welcome } = group.add([bob.keyPackage()]);
//! group.mergeCommit();
//! const bobGroup = bob.join(welcome);
//! const [event] = bobGroup.open(group.seal(new TextEncoder().encode("hi")));
//! // event.type === "message", event.sender.identity is "alice"
//! ```
#![cfg_attr(all(target_arch = "wasm32", target_os = "unknown"), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

mod convert;
mod validator;

use alloc::{
    string::{String, ToString},
    vec::Vec,
};

use e2ee_core::client as core;
use wasm_bindgen::prelude::*;

pub use convert::{Error, Result};
use convert::{Obj, bytes, u8s};

/// Without std, a panic (a bug: no input should cause one) traps at once.
/// std's panic machinery stays out of the package; the panic sites' own
/// arguments (message parts, locations) stay in, as core still stores them
/// before calling this.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
#[panic_handler]
fn panic(_: &::core::panic::PanicInfo<'_>) -> ! {
    ::core::arch::wasm32::unreachable()
}

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = include_str!("types.d.ts");

// Argument and result types as the `.d.ts` names them. They are plain
// JavaScript values; the functions in `convert` check and convert them.
#[wasm_bindgen]
extern "C" {
    /// A `Uint8Array` argument.
    #[wasm_bindgen(typescript_type = "Uint8Array")]
    pub type Bytes;
    /// An array of `Uint8Array`s.
    #[wasm_bindgen(typescript_type = "Uint8Array[]")]
    pub type BytesList;
    /// An array of leaf indices.
    #[wasm_bindgen(typescript_type = "number[]")]
    pub type Indices;
    /// A `GroupOptions` object, possibly partial.
    #[wasm_bindgen(typescript_type = "Partial<GroupOptions>")]
    pub type OptionsArg;
    /// A `GroupOptions` object.
    #[wasm_bindgen(typescript_type = "GroupOptions")]
    pub type Options;
    /// An `Intent` object.
    #[wasm_bindgen(typescript_type = "Intent")]
    pub type Intent;
    /// A list of `Event` objects.
    #[wasm_bindgen(typescript_type = "Event[]")]
    pub type Events;
    /// A `Member` object.
    #[wasm_bindgen(typescript_type = "Member")]
    pub type Member;
    /// A list of `Member` objects.
    #[wasm_bindgen(typescript_type = "Member[]")]
    pub type Members;
    /// A `CommitBundle` object.
    #[wasm_bindgen(typescript_type = "CommitBundle")]
    pub type CommitBundle;
    /// An `ExternalJoin` object.
    #[wasm_bindgen(typescript_type = "ExternalJoin")]
    pub type ExternalJoin;
    /// A list of `PendingProposal` objects.
    #[wasm_bindgen(typescript_type = "PendingProposal[]")]
    pub type PendingProposals;
    /// A credential validation callback.
    #[wasm_bindgen(typescript_type = "(credential: Credential, signatureKey: Uint8Array) => boolean")]
    pub type Validate;
    /// A credential succession callback.
    #[wasm_bindgen(typescript_type = "(oldCredential: Credential, newCredential: Credential) => boolean")]
    pub type ValidateSuccessor;
}

/// The version of this package, e.g. `"0.1.0"`.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// The library's default group options.
#[wasm_bindgen(js_name = defaultGroupOptions)]
pub fn default_group_options() -> Options {
    convert::options(&core::GroupOptions::default()).unchecked_into()
}

fn bundle(b: core::CommitBundle) -> CommitBundle {
    convert::bundle(b).unchecked_into()
}

fn events(list: Vec<core::Event>) -> Events {
    convert::events(list).unchecked_into()
}

/// One identity (a basic credential and a signature key pair) in one cipher
/// suite, with the private keys of the KeyPackages it published.
#[wasm_bindgen]
pub struct Client {
    inner: core::Client,
}

#[wasm_bindgen]
impl Client {
    /// A client with a fresh signature key pair for `identity`, in cipher
    /// suite `suite`: 1 (X25519, AES-128-GCM, Ed25519), 2 (P-256,
    /// AES-128-GCM) or 3 (X25519, ChaCha20-Poly1305, Ed25519); 4 to 7 in
    /// the `all-suites` build.
    #[wasm_bindgen(constructor)]
    pub fn new(suite: u16, identity: &Bytes) -> Result<Client> {
        let inner = core::Client::new(suite, &bytes(identity, "identity")?)?;
        Ok(Self { inner })
    }

    /// A client for `identity` with an existing signature private key.
    #[wasm_bindgen(js_name = withSignatureKey)]
    pub fn with_signature_key(
        suite: u16,
        identity: &Bytes,
        #[wasm_bindgen(js_name = privateKey)] private_key: &Bytes,
    ) -> Result<Client> {
        let identity = bytes(identity, "identity")?;
        let private_key = bytes(private_key, "privateKey")?;
        let inner = core::Client::with_signature_key(suite, &identity, &private_key)?;
        Ok(Self { inner })
    }

    /// The client stored by `exportState()` (with default group options:
    /// set them again).
    #[wasm_bindgen(js_name = restoreState)]
    pub fn restore_state(state: &Bytes) -> Result<Client> {
        let inner = core::Client::restore_state(&bytes(state, "state")?)?;
        Ok(Self { inner })
    }

    /// The client stored by `exportSealed(key)` under the same 32-byte key.
    #[wasm_bindgen(js_name = restoreSealed)]
    pub fn restore_sealed(state: &Bytes, key: &Bytes) -> Result<Client> {
        let inner = core::Client::restore_sealed(&bytes(state, "state")?, &convert::key(key)?)?;
        Ok(Self { inner })
    }

    /// This client's state: identity, signature key and the private keys of
    /// its unused KeyPackages (groups are stored separately). Protect it like
    /// a key, or use `exportSealed`.
    #[wasm_bindgen(js_name = exportState)]
    pub fn export_state(&self) -> Result<Vec<u8>> {
        Ok(self.inner.export_state()?)
    }

    /// `exportState()` encrypted under a 32-byte storage key.
    #[wasm_bindgen(js_name = exportSealed)]
    pub fn export_sealed(&self, key: &Bytes) -> Result<Vec<u8>> {
        Ok(self.inner.export_sealed(&convert::key(key)?)?)
    }

    /// A group of this client stored by `Group.exportState()`. Restore only
    /// the latest export of a group: an older one would reuse sending keys.
    #[wasm_bindgen(js_name = restoreGroup)]
    pub fn restore_group(&self, state: &Bytes) -> Result<Group> {
        Ok(Group::wrap(self.inner.restore_group(&bytes(state, "state")?)?))
    }

    /// The group `groupId` of this client stored by
    /// `Group.exportSealed(key)` (another group's state is refused).
    #[wasm_bindgen(js_name = restoreSealedGroup)]
    pub fn restore_sealed_group(
        &self,
        state: &Bytes,
        key: &Bytes,
        #[wasm_bindgen(js_name = groupId)] group_id: &Bytes,
    ) -> Result<Group> {
        let (state, key) = (bytes(state, "state")?, convert::key(key)?);
        let group = self
            .inner
            .restore_sealed_group(&state, &key, &bytes(group_id, "groupId")?)?;
        Ok(Group::wrap(group))
    }

    /// The cipher suite's number.
    #[wasm_bindgen(getter = cipherSuite)]
    pub fn cipher_suite(&self) -> u16 {
        self.inner.cipher_suite()
    }

    /// The identity in this client's credential.
    #[wasm_bindgen(getter)]
    pub fn identity(&self) -> Vec<u8> {
        self.inner.identity().to_vec()
    }

    /// The public half of the signature key.
    #[wasm_bindgen(getter = signaturePublicKey)]
    pub fn signature_public_key(&self) -> Vec<u8> {
        self.inner.signature_public_key().to_vec()
    }

    /// The signature private key, e.g. for `Client.withSignatureKey`.
    #[wasm_bindgen(js_name = signaturePrivateKey)]
    pub fn signature_private_key(&self) -> Vec<u8> {
        self.inner.signature_private_key().to_vec()
    }

    /// `SignWithLabel` (RFC 9420 §5.1.2) of `content` with this client's
    /// signature key, e.g. to log in to a Delivery Service.
    #[wasm_bindgen(js_name = signWithLabel)]
    pub fn sign_with_label(&self, label: &Bytes, content: &Bytes) -> Result<Vec<u8>> {
        let label = bytes(label, "label")?;
        Ok(self.inner.sign_with_label(&label, &bytes(content, "content")?)?)
    }

    /// Options for the groups this client creates or joins from now on;
    /// fields left out take the defaults.
    #[wasm_bindgen(js_name = setGroupOptions)]
    pub fn set_group_options(&mut self, options: &OptionsArg) -> Result<()> {
        Ok(self.inner.set_group_options(convert::options_from(options)?)?)
    }

    /// Checks credentials with the application's Authentication Service
    /// for the groups created or joined from now on: `validate(credential,
    /// signatureKey)` accepts a credential, `validateSuccessor(old, new)`
    /// (optional; by default the identity must stay the same) lets a
    /// member's credential change. Anything but `true` rejects.
    #[wasm_bindgen(js_name = setCredentialValidator)]
    pub fn set_credential_validator(
        &mut self,
        validate: &Validate,
        #[wasm_bindgen(js_name = validateSuccessor)] validate_successor: Option<ValidateSuccessor>,
    ) -> Result<()> {
        let validator = validator::JsValidator::new(validate, validate_successor.as_deref())?;
        self.inner.set_credential_validator(alloc::sync::Arc::new(validator));
        Ok(())
    }

    /// A fresh KeyPackage (an encoded MLSMessage) to publish; its private
    /// keys stay in the client until a Welcome uses them.
    #[wasm_bindgen(js_name = keyPackage)]
    pub fn key_package(&mut self) -> Result<Vec<u8>> {
        Ok(self.inner.key_package()?)
    }

    /// A KeyPackage that serves any number of Welcomes, for a Delivery
    /// Service to hand out once the others are gone (so that draining them
    /// cannot keep this client out of groups); it replaces the previous one.
    #[wasm_bindgen(js_name = lastResortKeyPackage)]
    pub fn last_resort_key_package(&mut self) -> Result<Vec<u8>> {
        Ok(self.inner.last_resort_key_package()?)
    }

    /// How many published KeyPackages are still unused.
    #[wasm_bindgen(getter = unusedKeyPackages)]
    pub fn unused_key_packages(&self) -> u32 {
        u32::try_from(self.inner.unused_key_packages()).unwrap_or(u32::MAX)
    }

    /// A new group with this client as its only member and a random id.
    #[wasm_bindgen(js_name = createGroup)]
    pub fn create_group(&self) -> Result<Group> {
        Ok(Group::wrap(self.inner.create_group()?))
    }

    /// A new group with this client as its only member and id `groupId`.
    #[wasm_bindgen(js_name = createGroupWithId)]
    pub fn create_group_with_id(&self, #[wasm_bindgen(js_name = groupId)] group_id: &Bytes) -> Result<Group> {
        Ok(Group::wrap(
            self.inner.create_group_with_id(&bytes(group_id, "groupId")?)?,
        ))
    }

    /// Joins a group from a Welcome for one of this client's KeyPackages
    /// (whose keys are then deleted). The Welcome must carry the ratchet tree.
    pub fn join(&mut self, welcome: &Bytes) -> Result<Group> {
        Ok(Group::wrap(self.inner.join(&bytes(welcome, "welcome")?)?))
    }

    /// Joins by external Commit from a GroupInfo (see `Group.groupInfo()`).
    /// Returns the group, already in the new epoch, and the Commit to send;
    /// if the Delivery Service refuses it, drop the group and try again with
    /// a newer GroupInfo.
    #[wasm_bindgen(js_name = joinExternal)]
    pub fn join_external(&self, #[wasm_bindgen(js_name = groupInfo)] group_info: &Bytes) -> Result<ExternalJoin> {
        let (group, commit) = self.inner.join_external(&bytes(group_info, "groupInfo")?)?;
        Ok(Obj::new()
            .set("group", Group::wrap(group))
            .set("commit", u8s(&commit))
            .into_js()
            .unchecked_into())
    }
}

/// One member's state of one group.
#[wasm_bindgen]
pub struct Group {
    inner: core::Group,
}

impl Group {
    fn wrap(inner: core::Group) -> Self {
        Self { inner }
    }
}

#[wasm_bindgen]
impl Group {
    /// The group's id.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> Vec<u8> {
        self.inner.id().to_vec()
    }

    /// The current epoch.
    #[wasm_bindgen(getter)]
    pub fn epoch(&self) -> f64 {
        self.inner.epoch() as f64
    }

    /// This member's leaf index.
    #[wasm_bindgen(getter = ownIndex)]
    pub fn own_index(&self) -> u32 {
        self.inner.own_index()
    }

    /// Whether this member is still in the group.
    #[wasm_bindgen(getter = isActive)]
    pub fn is_active(&self) -> bool {
        self.inner.is_active()
    }

    /// The options this group works with.
    #[wasm_bindgen(getter)]
    pub fn options(&self) -> Options {
        convert::options(self.inner.options()).unchecked_into()
    }

    /// The members, by leaf index.
    pub fn members(&self) -> Members {
        convert::members(self.inner.members()).unchecked_into()
    }

    /// The member at leaf `index`, if any.
    pub fn member(&self, index: u32) -> Option<Member> {
        self.inner.member(index).map(|m| convert::member(m).unchecked_into())
    }

    /// The epoch authenticator: equal for all members in the same epoch;
    /// compare it out of band to detect a split view. Throws
    /// `not_a_member` once this member was removed.
    #[wasm_bindgen(js_name = epochAuthenticator)]
    pub fn epoch_authenticator(&self) -> Result<Vec<u8>> {
        Ok(self.inner.epoch_authenticator()?)
    }

    /// The proposals of this epoch that no Commit has covered yet; a
    /// Commit of this member includes the accepted ones.
    #[wasm_bindgen(js_name = pendingProposals)]
    pub fn pending_proposals(&self) -> PendingProposals {
        convert::pending_proposals(self.inner.pending_proposals()).unchecked_into()
    }

    /// Lets this member's Commits include the pending proposal `reference`
    /// (e.g. to admit a client that asked to be added).
    #[wasm_bindgen(js_name = acceptProposal)]
    pub fn accept_proposal(&mut self, reference: &Bytes) -> Result<()> {
        Ok(self.inner.accept_proposal(&bytes(reference, "reference")?)?)
    }

    /// Drops the pending proposal `reference` from this member's Commits.
    #[wasm_bindgen(js_name = rejectProposal)]
    pub fn reject_proposal(&mut self, reference: &Bytes) -> Result<()> {
        Ok(self.inner.reject_proposal(&bytes(reference, "reference")?)?)
    }

    /// `MLS-Exporter(label, context, length)` of the current epoch.
    #[wasm_bindgen(js_name = exportSecret)]
    pub fn export_secret(&self, label: &Bytes, context: &Bytes, length: u16) -> Result<Vec<u8>> {
        let label = bytes(label, "label")?;
        let context = bytes(context, "context")?;
        Ok(self.inner.export_secret(&label, &context, length)?)
    }

    /// A signed GroupInfo of the current epoch, with the ratchet tree, for
    /// joining by external Commit.
    #[wasm_bindgen(js_name = groupInfo)]
    pub fn group_info(&self) -> Result<Vec<u8>> {
        Ok(self.inner.group_info()?)
    }

    /// Encrypts application data for the current epoch; `authenticatedData`
    /// travels unencrypted but authenticated.
    pub fn seal(
        &mut self,
        data: &Bytes,
        #[wasm_bindgen(js_name = authenticatedData)] authenticated_data: Option<Bytes>,
    ) -> Result<Vec<u8>> {
        let data = bytes(data, "data")?;
        let aad = match authenticated_data {
            Some(a) => bytes(&a, "authenticatedData")?,
            None => Vec::new(),
        };
        Ok(self.inner.seal(&data, &aad)?)
    }

    /// Opens any message of this group: application data, proposals,
    /// Commits (this member's own echoed Commit merges it). Messages of a
    /// future epoch are held and their events follow that epoch's change.
    /// Once this member was removed, throws `not_a_member` (holds nothing).
    pub fn open(&mut self, message: &Bytes) -> Result<Events> {
        Ok(events(self.inner.open(&bytes(message, "message")?)?))
    }

    /// Adds the owners of `keyPackages` (encoded MLSMessages).
    pub fn add(&mut self, #[wasm_bindgen(js_name = keyPackages)] key_packages: &BytesList) -> Result<CommitBundle> {
        let key_packages = convert::byte_list(key_packages, "keyPackages")?;
        Ok(bundle(self.inner.add(&key_packages)?))
    }

    /// Removes the members at leaf indices `members`.
    pub fn remove(&mut self, members: &Indices) -> Result<CommitBundle> {
        let members = convert::index_list(members, "members")?;
        Ok(bundle(self.inner.remove(&members)?))
    }

    /// Refreshes this member's keys, for post-compromise security.
    pub fn update(&mut self) -> Result<CommitBundle> {
        Ok(bundle(self.inner.update()?))
    }

    /// Commits the proposals received in this epoch (e.g. a request to leave).
    #[wasm_bindgen(js_name = commitProposals)]
    pub fn commit_proposals(&mut self) -> Result<CommitBundle> {
        Ok(bundle(self.inner.commit_proposals()?))
    }

    /// Asks to leave: a proposal removing this member, which another member
    /// commits.
    pub fn leave(&mut self) -> Result<Vec<u8>> {
        Ok(self.inner.leave()?)
    }

    /// Whether an own Commit waits for the Delivery Service's answer.
    #[wasm_bindgen(getter = hasPendingCommit)]
    pub fn has_pending_commit(&self) -> bool {
        self.inner.has_pending_commit()
    }

    /// Enters the epoch of this member's pending Commit, once the Delivery
    /// Service accepted it (opening the Commit's echo does the same).
    #[wasm_bindgen(js_name = mergeCommit)]
    pub fn merge_commit(&mut self) -> Result<Events> {
        Ok(events(self.inner.merge_commit()?))
    }

    /// Drops the pending Commit when the Delivery Service refused it, and
    /// returns what it was to do; then open the Commit that won and `retry`.
    #[wasm_bindgen(js_name = discardCommit)]
    pub fn discard_commit(&mut self) -> Option<Intent> {
        self.inner.discard_commit().map(|i| convert::intent(i).unchecked_into())
    }

    /// Commits `intent` again in the current epoch, leaving out members
    /// already removed; `undefined` when nothing is left to do.
    pub fn retry(&mut self, intent: &Intent) -> Result<Option<CommitBundle>> {
        let intent = convert::intent_from(intent)?;
        Ok(self.inner.retry(&intent)?.map(bundle))
    }

    /// How many messages of future epochs are held.
    #[wasm_bindgen(getter)]
    pub fn deferred(&self) -> u32 {
        u32::try_from(self.inner.deferred()).unwrap_or(u32::MAX)
    }

    /// This member's state of the group, to store after every change (every
    /// `seal`, `open` and Commit) and restore with `Client.restoreGroup`.
    #[wasm_bindgen(js_name = exportState)]
    pub fn export_state(&self) -> Result<Vec<u8>> {
        Ok(self.inner.export_state()?)
    }

    /// `exportState()` encrypted under a 32-byte storage key.
    #[wasm_bindgen(js_name = exportSealed)]
    pub fn export_sealed(&self, key: &Bytes) -> Result<Vec<u8>> {
        Ok(self.inner.export_sealed(&convert::key(key)?)?)
    }
}

// talc instead of the standard library's dlmalloc: as fast in the package's
// bench (`npm run bench`) and 2.9 KB smaller gzipped (the package's size
// budget).
#[cfg(all(target_arch = "wasm32", target_os = "unknown", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
