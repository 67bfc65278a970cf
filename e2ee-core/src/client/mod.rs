//! The high-level API: a [`Client`] with one identity makes KeyPackages,
//! creates and joins [`Group`]s; a group seals application messages and
//! opens anything received as a list of [`Event`]s.
//!
//! Everything crosses this API as owned values and byte buffers (encoded
//! `MLSMessage`s), so the bindings wrap it one to one. It needs the `client`
//! feature (OS randomness); with `std` it also checks leaf lifetimes
//! against the clock.
//!
//! ```
//! use e2ee_core::{Client, Event};
//!
//! # fn main() -> Result<(), e2ee_core::Error> {
//! let mut alice = Client::new(1, b"alice")?; // cipher suite 1
//! let mut bob = Client::new(1, b"bob")?;
//! let mut carol = Client::new(1, b"carol")?;
//!
//! // Bob and Carol publish KeyPackages; Alice adds both in one Commit.
//! let mut alice_group = alice.create_group()?;
//! let added = alice_group.add(&[bob.key_package()?, carol.key_package()?])?;
//! alice_group.merge_commit()?; // once the Delivery Service accepted it
//! let mut bob_group = bob.join(added.welcome.as_ref().unwrap())?;
//! let mut carol_group = carol.join(added.welcome.as_ref().unwrap())?;
//!
//! let sealed = bob_group.seal(b"hi all", b"")?;
//! for group in [&mut alice_group, &mut carol_group] {
//!     let [Event::Message { sender, data, .. }] = &group.open(&sealed)?[..] else { panic!() };
//!     assert_eq!((&sender.identity[..], &data[..]), (&b"bob"[..], &b"hi all"[..]));
//! }
//!
//! // Carol removes Bob; the others follow her Commit.
//! let removed = carol_group.remove(&[bob_group.own_index()])?;
//! carol_group.merge_commit()?;
//! alice_group.open(&removed.commit)?;
//! let events = bob_group.open(&removed.commit)?;
//! assert!(matches!(events[..], [Event::EpochChanged { self_removed: true, .. }]));
//! assert_eq!(alice_group.epoch_authenticator(), carol_group.epoch_authenticator());
//! # Ok(()) }
//! ```

mod group;
mod inbox;
mod state;

use alloc::collections::BTreeSet;
use alloc::sync::Arc;
use alloc::vec::Vec;

pub use crate::group::ExternalJoins;
pub use group::{
    CommitBundle, Event, Group, GroupOptions, HandshakeFormat, Intent, Member, PendingProposal, ProposalKind,
};

use crate::Error;
use crate::codec::{decode_exact, encode};
use crate::crypto::Labelled;
use crate::crypto::{CipherSuite, CipherSuiteProvider, CryptoProvider, KeyPair, Secret, os_rng};
use crate::error::{FramingError, WelcomeError};
use crate::group::{self as low, Environment, ExternalJoinParams, GroupConfig, JoinKeys, OwnLeaf};
use crate::key_package::{KeyPackageParams, NewKeyPackage, create_key_package, default_capabilities, key_package_ref};
use crate::messages::{Credential, Lifetime, MlsMessage, MlsMessageBody, ProtocolVersion};
use crate::ratchet_tree::{BasicCredentialValidator, CredentialValidator};

/// The Authentication Service a client checks credentials with.
pub type Validator = Arc<dyn CredentialValidator + Send + Sync>;

/// The provider of the constructors that take none (see
/// [`default_provider`]).
#[cfg(feature = "rustcrypto")]
static DEFAULT_PROVIDER: once_cell::race::OnceBox<&'static dyn CryptoProvider> = once_cell::race::OnceBox::new();

/// How long a new KeyPackage is valid: 90 days, from an hour ago (clock skew).
const KEY_PACKAGE_LIFETIME: u64 = 90 * 24 * 3600;
const CLOCK_SKEW: u64 = 3600;

/// At most this many unused KeyPackages' private keys are kept; the oldest
/// go first.
pub const MAX_KEY_PACKAGES: usize = 1000;

/// One identity (a basic credential and a signature key pair) in one cipher
/// suite, with the private keys of the KeyPackages it published.
pub struct Client {
    cs: &'static dyn CipherSuiteProvider,
    identity: Vec<u8>,
    signer: KeyPair,
    /// Unused KeyPackages (slot, reference, keys), in creation order, so
    /// by increasing slot. A Vec, not a map: at most [`MAX_KEY_PACKAGES`],
    /// and less code in the WebAssembly build.
    key_packages: Vec<(u64, Vec<u8>, NewKeyPackage)>,
    /// The last-resort KeyPackage (reference, keys), used any number of times.
    last_resort: Option<(Vec<u8>, NewKeyPackage)>,
    next_key_package: u64,
    validator: Validator,
    options: GroupOptions,
}

impl core::fmt::Debug for Client {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client")
            .field("suite", &self.cs.cipher_suite())
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with a fresh signature key pair for `identity`, in cipher
    /// suite `suite` of the built-in provider (1 to 7, as built).
    #[cfg(feature = "rustcrypto")]
    pub fn new(suite: u16, identity: &[u8]) -> Result<Self, Error> {
        Self::new_in(default_provider(), suite, identity)
    }

    /// [`Client::new`] with the cryptography of `provider`.
    pub fn new_in(provider: &'static dyn CryptoProvider, suite: u16, identity: &[u8]) -> Result<Self, Error> {
        let cs = provider.cipher_suite(CipherSuite(suite))?;
        let signer = cs.signature_key_generate(&mut os_rng());
        Ok(Self::with_key_pair(cs, identity, signer))
    }

    /// A client for `identity` with an existing signature private key, on
    /// the built-in provider.
    #[cfg(feature = "rustcrypto")]
    pub fn with_signature_key(suite: u16, identity: &[u8], private_key: &[u8]) -> Result<Self, Error> {
        Self::with_signature_key_in(default_provider(), suite, identity, private_key)
    }

    /// [`Client::with_signature_key`] with the cryptography of `provider`.
    pub fn with_signature_key_in(
        provider: &'static dyn CryptoProvider,
        suite: u16,
        identity: &[u8],
        private_key: &[u8],
    ) -> Result<Self, Error> {
        let cs = provider.cipher_suite(CipherSuite(suite))?;
        let public = cs.signature_public_key(private_key)?;
        let signer = KeyPair {
            private: Secret::from_slice(private_key),
            public,
        };
        Ok(Self::with_key_pair(cs, identity, signer))
    }

    fn with_key_pair(cs: &'static dyn CipherSuiteProvider, identity: &[u8], signer: KeyPair) -> Self {
        Self {
            cs,
            identity: identity.to_vec(),
            signer,
            key_packages: Vec::new(),
            last_resort: None,
            next_key_package: 0,
            validator: Arc::new(BasicCredentialValidator),
            options: GroupOptions::default(),
        }
    }

    /// Checks credentials with `validator` (the application's
    /// Authentication Service) instead of accepting every basic credential.
    pub fn set_credential_validator(&mut self, validator: Validator) {
        self.validator = validator;
    }

    /// Options for the groups this client creates or joins from now on,
    /// once checked ([`GroupOptions::check`]).
    pub fn set_group_options(&mut self, options: GroupOptions) -> Result<(), Error> {
        options.check()?;
        self.options = options;
        Ok(())
    }

    /// The cipher suite's number.
    pub fn cipher_suite(&self) -> u16 {
        self.cs.cipher_suite().0
    }

    /// The identity in this client's basic credential.
    pub fn identity(&self) -> &[u8] {
        &self.identity
    }

    /// The public half of the signature key.
    pub fn signature_public_key(&self) -> &[u8] {
        &self.signer.public
    }

    /// The signature private key, e.g. to recreate the client.
    pub fn signature_private_key(&self) -> &[u8] {
        self.signer.private.as_bytes()
    }

    /// `SignWithLabel(signature key, label, content)` (RFC 9420 §5.1.2):
    /// proves possession of the signature key to a service, e.g. a Delivery
    /// Service login, under a label of the application's own (MLS's labels
    /// cannot be reused: they are prefixed with "MLS 1.0 " like all).
    pub fn sign_with_label(&self, label: &[u8], content: &[u8]) -> Result<Vec<u8>, Error> {
        Ok(self
            .cs
            .sign_with_label(self.signer.private.as_bytes(), label, content)?)
    }

    /// A fresh KeyPackage (an encoded `MLSMessage`) to publish; its private
    /// keys stay in the client until a Welcome uses them.
    pub fn key_package(&mut self) -> Result<Vec<u8>, Error> {
        let (bytes, reference, new) = self.new_key_package()?;
        self.key_packages.push((self.next_key_package, reference, new));
        self.next_key_package += 1;
        if self.key_packages.len() > MAX_KEY_PACKAGES {
            let excess = self.key_packages.len() - MAX_KEY_PACKAGES;
            self.key_packages.drain(..excess);
        }
        Ok(bytes)
    }

    /// How many published KeyPackages are still unused.
    pub fn unused_key_packages(&self) -> usize {
        self.key_packages.len()
    }

    /// A KeyPackage that serves any number of Welcomes: the "last resort"
    /// a Delivery Service hands out once the others are gone, so that
    /// whoever drains this client's KeyPackages cannot keep it out of
    /// groups. Its keys stay until the next call replaces it (replace it
    /// now and then: every group joined with it starts from the same keys).
    pub fn last_resort_key_package(&mut self) -> Result<Vec<u8>, Error> {
        let (bytes, reference, new) = self.new_key_package()?;
        self.last_resort = Some((reference, new));
        Ok(bytes)
    }

    /// A fresh KeyPackage: its encoding, reference and keys.
    fn new_key_package(&self) -> Result<(Vec<u8>, Vec<u8>, NewKeyPackage), Error> {
        let own = self.own_leaf();
        let params = KeyPackageParams {
            credential: own.credential,
            signature_public_key: own.signature_public_key,
            capabilities: own.capabilities,
            lifetime: own.lifetime,
            leaf_extensions: Vec::new(),
            extensions: Vec::new(),
        };
        let new = create_key_package(self.cs, params, self.signer.private.as_bytes(), &mut os_rng())?;
        let reference = key_package_ref(self.cs, &new.key_package)?;
        let bytes = encode(&mls_message(MlsMessageBody::KeyPackage(new.key_package.clone())))?;
        Ok((bytes, reference, new))
    }

    /// The KeyPackage of this client that a Welcome names: one of the
    /// single-use ones (with its position) or the last-resort one.
    fn named_key_package(&self, named: &BTreeSet<&[u8]>) -> Option<(Option<usize>, &NewKeyPackage)> {
        let single = (self.key_packages.iter().enumerate()).find(|(_, (_, r, _))| named.contains(r.as_slice()));
        match single {
            Some((position, (_, _, new))) => Some((Some(position), new)),
            None => (self.last_resort.as_ref())
                .filter(|(r, _)| named.contains(r.as_slice()))
                .map(|(_, new)| (None, new)),
        }
    }

    /// A new group with this client as its only member and a random id.
    pub fn create_group(&self) -> Result<Group, Error> {
        let mut id = vec![0; 16];
        rand_core::Rng::fill_bytes(&mut os_rng(), &mut id);
        self.create_group_with_id(&id)
    }

    /// A new group with this client as its only member and id `group_id`.
    pub fn create_group_with_id(&self, group_id: &[u8]) -> Result<Group, Error> {
        let inner = low::Group::create(
            &self.env(),
            group_id.to_vec(),
            self.own_leaf(),
            self.signer.private.clone(),
            Vec::new(),
            self.options.group_config,
            &mut os_rng(),
        )?;
        Ok(self.wrap(inner))
    }

    /// Joins a group from a Welcome (an encoded `MLSMessage`) for one of
    /// this client's KeyPackages, whose keys are then deleted (but the
    /// last-resort one's). The Welcome must carry the ratchet tree.
    pub fn join(&mut self, welcome: &[u8]) -> Result<Group, Error> {
        let message = decode_message(welcome)?;
        let MlsMessageBody::Welcome(welcome) = &message.body else {
            return Err(FramingError::NotAWelcome.into());
        };
        // A set, so a Welcome with many entries costs O((entries + ours) log n),
        // not entries × ours comparisons. Filled by `insert`, not `collect`:
        // the tree's key check has that code already, `collect` would add a
        // sort (WebAssembly size).
        let mut named = BTreeSet::new();
        for secrets in &welcome.secrets {
            named.insert(secrets.new_member.as_slice());
        }
        let (position, new) = self.named_key_package(&named).ok_or(WelcomeError::NotForUs)?;
        let keys = JoinKeys {
            key_package: &new.key_package,
            init_private_key: new.init_private_key.as_bytes(),
            encryption_private_key: new.encryption_private_key.clone(),
            signature_private_key: self.signer.private.clone(),
        };
        let inner = low::Group::join(&self.env(), welcome, keys, None, self.options.group_config)?;
        // A single-use KeyPackage's keys go; the last-resort one's stay.
        if let Some(position) = position {
            self.key_packages.remove(position);
        }
        Ok(self.wrap(inner))
    }

    /// Joins by external Commit (§12.4.3.2) from a GroupInfo (an encoded
    /// `MLSMessage` with the ratchet tree and `external_pub`). Returns the
    /// group, already in the new epoch, and the Commit to send to it; if the
    /// Delivery Service refuses the Commit, drop the group and try again
    /// with a newer GroupInfo.
    pub fn join_external(&self, group_info: &[u8]) -> Result<(Group, Vec<u8>), Error> {
        let message = decode_message(group_info)?;
        if !matches!(message.body, MlsMessageBody::GroupInfo(_)) {
            return Err(FramingError::NotAGroupInfo.into());
        }
        let params = ExternalJoinParams {
            group_info: &message,
            ratchet_tree: None,
            own: self.own_leaf(),
            signature_private_key: self.signer.private.clone(),
            resync: false,
            psks: Vec::new(),
        };
        let (inner, commit) = low::Group::join_external(&self.env(), params, self.options.group_config, &mut os_rng())?;
        Ok((self.wrap(inner), encode(&commit)?))
    }

    fn env(&self) -> Environment<'_> {
        environment(self.cs, &*self.validator, &self.options)
    }

    fn wrap(&self, inner: low::Group) -> Group {
        Group::new(inner, self.cs, self.validator.clone(), self.options)
    }

    fn own_leaf(&self) -> OwnLeaf {
        // Without a clock the KeyPackage never expires.
        let lifetime = match now() {
            Some(now) => Lifetime {
                not_before: now.saturating_sub(CLOCK_SKEW),
                not_after: now.saturating_add(KEY_PACKAGE_LIFETIME),
            },
            None => Lifetime {
                not_before: 0,
                not_after: u64::MAX,
            },
        };
        OwnLeaf {
            credential: Credential::Basic(self.identity.clone().into()),
            signature_public_key: self.signer.public.clone(),
            capabilities: default_capabilities(self.cs.cipher_suite()),
            extensions: Vec::new(),
            lifetime,
        }
    }
}

/// Makes `provider` the one the constructors without a provider use
/// ([`Client::new`], [`Client::with_signature_key`],
/// [`Client::restore_state`], [`Client::restore_sealed`]) instead of the
/// built-in one: for applications and bindings that want other
/// cryptography (say, keys in a hardware module) behind the simple
/// constructors. Once per process, before the first of them; gives
/// `provider` back if a provider is already in use.
#[cfg(feature = "rustcrypto")]
pub fn install_default_provider(provider: &'static dyn CryptoProvider) -> Result<(), &'static dyn CryptoProvider> {
    DEFAULT_PROVIDER
        .set(alloc::boxed::Box::new(provider))
        .map_err(|given| *given)
}

/// The provider the constructors without one use: the one given to
/// [`install_default_provider`], else the built-in one (from then on).
#[cfg(feature = "rustcrypto")]
pub fn default_provider() -> &'static dyn CryptoProvider {
    static BUILT_IN: crate::crypto::RustCryptoProvider = crate::crypto::RustCryptoProvider;
    *DEFAULT_PROVIDER.get_or_init(|| alloc::boxed::Box::new(&BUILT_IN))
}

/// What group operations need: the suite, no external PSKs, the
/// Authentication Service, the clock and the external-join policy.
fn environment<'a>(
    cs: &'a dyn CipherSuiteProvider,
    validator: &'a dyn CredentialValidator,
    options: &GroupOptions,
) -> Environment<'a> {
    Environment {
        cs,
        psks: &(),
        credential_validator: validator,
        now: now(),
        external_joins: options.external_joins,
    }
}

/// Seconds since the Unix epoch; `None` without std or where std has no
/// clock (wasm32-unknown-unknown), which skips lifetime checks.
fn now() -> Option<u64> {
    // Fuzz builds replay an input exactly: a fixed clock (2023-11-14).
    #[cfg(fuzzing)]
    return Some(1_700_000_000);
    #[cfg(all(
        feature = "std",
        not(fuzzing),
        not(all(target_arch = "wasm32", target_os = "unknown"))
    ))]
    return std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs());
    #[allow(unreachable_code)]
    None
}

/// Decodes an `MLSMessage` of the one version this crate speaks. Its
/// version field is covered by no signature and no encryption (a Delivery
/// Service can change it around a KeyPackage or a Welcome), so any other
/// is refused here, whatever the body.
pub(crate) fn decode_message(bytes: &[u8]) -> Result<MlsMessage, Error> {
    let message: MlsMessage = decode_exact(bytes)?;
    if message.version != ProtocolVersion::MLS10 {
        return Err(FramingError::UnsupportedVersion.into());
    }
    Ok(message)
}

fn mls_message(body: MlsMessageBody) -> MlsMessage {
    MlsMessage {
        version: ProtocolVersion::MLS10,
        body,
    }
}

// Keeps the defaults of the low-level group visible from here.
impl Default for GroupOptions {
    fn default() -> Self {
        Self {
            group_config: GroupConfig::default(),
            handshake_wire_format: HandshakeFormat::Public,
            padding: 0,
            max_buffered: 256,
            max_buffered_bytes: 8 << 20,
            max_epochs_ahead: 4,
            external_joins: ExternalJoins::Deny,
        }
    }
}
