//! Storing a [`Client`] and each of its [`Group`]s separately, in the same
//! versioned, checksummed (optionally sealed) format as the protocol state
//! (see [`crate::group`]'s `export_state`): one blob per group, so that an
//! application with thousands of groups rewrites only the one that changed.
//!
//! What is stored is state, not configuration: the client's group options
//! and credential validator are set again after restoring; a group's
//! protocol limits ([`crate::group::GroupConfig`]) are part of its state.

use alloc::vec::Vec;

use super::Client;
use super::group::{Group, Intent};
use crate::Error;
use crate::codec::{Decode, Encode, Size, VLBytes};
use crate::crypto::{CipherSuite, CipherSuiteProvider, CryptoProvider, KeyPair, Secret, os_rng};
use crate::error::StateError;
use crate::group as low;
use crate::group::state::{self as stored, Stored};
use crate::key_package::NewKeyPackage;
use crate::messages::MlsMessage;

/// A [`Client`] as stored.
#[derive(Size, Encode, Decode)]
pub(crate) struct ClientState {
    suite: u16,
    identity: VLBytes,
    signature_key: Secret,
    next_key_package: u64,
    key_packages: Vec<StoredKeyPackage>,
    /// The last-resort KeyPackage (its slot unused).
    last_resort: Option<StoredKeyPackage>,
}

/// An unused KeyPackage: its slot, reference and private keys (a
/// [`NewKeyPackage`] export).
#[derive(Size, Encode, Decode)]
struct StoredKeyPackage {
    slot: u64,
    reference: VLBytes,
    key_package: VLBytes,
}

impl Stored for Client {
    const MAGIC: [u8; 4] = *b"E2Ec";
    type State = ClientState;
    type Context<'a> = &'static dyn CryptoProvider;

    fn suite_in<'a>(provider: Self::Context<'a>, suite: CipherSuite) -> Result<&'a dyn CipherSuiteProvider, Error> {
        Ok(provider.cipher_suite(suite)?)
    }

    fn to_state(&self) -> Result<ClientState, Error> {
        let stored = |slot: u64, reference: &[u8], new: &NewKeyPackage| {
            Ok(StoredKeyPackage {
                slot,
                reference: reference.into(),
                key_package: new.export_state(self.cs)?.into(),
            })
        };
        let key_packages = (self.key_packages.iter())
            .map(|(slot, reference, new)| stored(*slot, reference, new))
            .collect::<Result<_, Error>>()?;
        let last_resort = (self.last_resort.as_ref())
            .map(|(reference, new)| stored(0, reference, new))
            .transpose()?;
        Ok(ClientState {
            suite: self.cs.cipher_suite().0,
            identity: self.identity.as_slice().into(),
            signature_key: self.signer.private.clone(),
            next_key_package: self.next_key_package,
            key_packages,
            last_resort,
        })
    }

    fn from_state(provider: &'static dyn CryptoProvider, state: ClientState) -> Result<Self, Error> {
        let cs = provider.cipher_suite(CipherSuite(state.suite))?;
        let public = (cs.signature_public_key(state.signature_key.as_bytes())).map_err(|_| StateError::Corrupt)?;
        let signer = KeyPair {
            private: state.signature_key,
            public,
        };
        let mut client = Client::with_key_pair(cs, &state.identity, signer);
        if state.key_packages.len() > super::MAX_KEY_PACKAGES {
            return Err(StateError::Corrupt.into());
        }
        let mut key_packages: Vec<(u64, Vec<u8>, NewKeyPackage)> = Vec::with_capacity(state.key_packages.len());
        for kp in state.key_packages {
            let new = NewKeyPackage::restore_state(cs, &kp.key_package)?;
            // Slots are stored in creation order: strictly increasing, below the next one.
            let after_last = key_packages.last().is_none_or(|(last, _, _)| *last < kp.slot);
            if !after_last || kp.slot >= state.next_key_package {
                return Err(StateError::Corrupt.into());
            }
            key_packages.push((kp.slot, kp.reference.into_vec(), new));
        }
        client.key_packages = key_packages;
        client.next_key_package = state.next_key_package;
        if let Some(kp) = state.last_resort {
            let new = NewKeyPackage::restore_state(cs, &kp.key_package)?;
            client.last_resort = Some((kp.reference.into_vec(), new));
        }
        Ok(client)
    }
}

/// A high-level [`Group`] as stored.
#[derive(Size, Encode, Decode)]
pub(crate) struct GroupState {
    /// The protocol state (a [`low::Group`] export).
    inner: VLBytes,
    pending: Option<PendingState>,
    held: Vec<HeldMessage>,
}

/// The own Commit awaiting the Delivery Service.
#[derive(Size, Encode, Decode)]
struct PendingState {
    commit: VLBytes,
    intent: IntentState,
}

/// [`Intent`] as stored.
#[derive(Size, Encode, Decode)]
#[repr(u8)]
enum IntentState {
    #[codec(discriminant = 1)]
    Add(Vec<VLBytes>),
    #[codec(discriminant = 2)]
    Remove(Vec<u32>),
    #[codec(discriminant = 3)]
    Update,
    #[codec(discriminant = 4)]
    CommitProposals,
}

#[derive(Size, Encode, Decode)]
struct HeldMessage {
    epoch: u64,
    message: MlsMessage,
}

impl From<&Intent> for IntentState {
    fn from(intent: &Intent) -> Self {
        match intent {
            Intent::Add(kps) => Self::Add(kps.iter().map(|kp| kp.as_slice().into()).collect()),
            Intent::Remove(members) => Self::Remove(members.clone()),
            Intent::Update => Self::Update,
            Intent::CommitProposals => Self::CommitProposals,
        }
    }
}

impl From<IntentState> for Intent {
    fn from(state: IntentState) -> Self {
        match state {
            IntentState::Add(kps) => Self::Add(kps.into_iter().map(VLBytes::into_vec).collect()),
            IntentState::Remove(members) => Self::Remove(members),
            IntentState::Update => Self::Update,
            IntentState::CommitProposals => Self::CommitProposals,
        }
    }
}

impl Stored for Group {
    const MAGIC: [u8; 4] = *b"E2Eg";
    type State = GroupState;
    /// The client the group belongs to: its suite, validator and options.
    type Context<'a> = &'a Client;

    fn suite_in<'a>(client: Self::Context<'a>, suite: CipherSuite) -> Result<&'a dyn CipherSuiteProvider, Error> {
        stored::same_suite(client.cs, suite)
    }

    fn binding(&self) -> Vec<u8> {
        self.id().to_vec()
    }

    fn to_state(&self) -> Result<GroupState, Error> {
        let (inner, pending, held) = self.parts();
        Ok(GroupState {
            inner: inner.export_state(self.cs)?.into(),
            pending: pending.map(|(commit, intent)| PendingState {
                commit: commit.into(),
                intent: intent.into(),
            }),
            held: (held.iter())
                .map(|(epoch, message)| HeldMessage {
                    epoch: *epoch,
                    message: message.clone(),
                })
                .collect(),
        })
    }

    fn from_state(client: &Client, state: GroupState) -> Result<Self, Error> {
        let inner = low::Group::restore_state(client.cs, &state.inner)?;
        // A pending Commit here must match one in the protocol state.
        if state.pending.is_some() != inner.has_pending_commit() {
            return Err(StateError::Corrupt.into());
        }
        // A group of another client (another signature key) is refused.
        let own = inner.tree().leaf(inner.own_leaf()).map(|l| l.signature_key.as_slice());
        if own != Some(client.signer.public.as_slice()) {
            return Err(StateError::Corrupt.into());
        }
        let mut group = client.wrap(inner);
        let pending = state.pending.map(|p| (p.commit.into_vec(), p.intent.into()));
        let held = state.held.into_iter().map(|h| (h.epoch, h.message)).collect();
        group.restore_parts(pending, held);
        Ok(group)
    }
}

impl Client {
    /// This client's state: identity, signature key and the private keys of
    /// its unused KeyPackages. Protect it like the keys (see
    /// [`Client::export_sealed`]). Groups are stored separately.
    pub fn export_state(&self) -> Result<Vec<u8>, Error> {
        stored::export(self, self.cs)
    }

    /// The client stored by [`Client::export_state`] (with default options
    /// and validator: set them again), on the built-in provider.
    #[cfg(feature = "rustcrypto")]
    pub fn restore_state(bytes: &[u8]) -> Result<Self, Error> {
        Self::restore_state_in(super::default_provider(), bytes)
    }

    /// [`Client::restore_state`] with the cryptography of `provider`.
    pub fn restore_state_in(provider: &'static dyn CryptoProvider, bytes: &[u8]) -> Result<Self, Error> {
        stored::restore::<Self>(provider, bytes)
    }

    /// [`Client::export_state`] encrypted under a 32-byte storage key.
    pub fn export_sealed(&self, key: &[u8; 32]) -> Result<Vec<u8>, Error> {
        stored::export_sealed(self, self.cs, key, &mut os_rng())
    }

    /// The client stored by [`Client::export_sealed`] under `key`, on the
    /// built-in provider.
    #[cfg(feature = "rustcrypto")]
    pub fn restore_sealed(bytes: &[u8], key: &[u8; 32]) -> Result<Self, Error> {
        Self::restore_sealed_in(super::default_provider(), bytes, key)
    }

    /// [`Client::restore_sealed`] with the cryptography of `provider`.
    pub fn restore_sealed_in(
        provider: &'static dyn CryptoProvider,
        bytes: &[u8],
        key: &[u8; 32],
    ) -> Result<Self, Error> {
        stored::restore_sealed::<Self>(provider, bytes, key, &[])
    }

    /// A group of this client stored by [`Group::export_state`]. Restore
    /// only the latest export of a group: an older one brings back deleted
    /// keys and would reuse sending keys.
    pub fn restore_group(&self, bytes: &[u8]) -> Result<Group, Error> {
        stored::restore::<Group>(self, bytes)
    }

    /// The group `group_id` of this client stored by
    /// [`Group::export_sealed`] under `key`. Another group's state is
    /// refused (`state_key`), so storage cannot swap one group for another.
    pub fn restore_sealed_group(&self, bytes: &[u8], key: &[u8; 32], group_id: &[u8]) -> Result<Group, Error> {
        stored::restore_sealed::<Group>(self, bytes, key, group_id)
    }
}

impl Group {
    /// This member's state of the group, to store after every change (every
    /// `seal`, `open` and Commit) and restore with [`Client::restore_group`].
    pub fn export_state(&self) -> Result<Vec<u8>, Error> {
        stored::export(self, self.cs)
    }

    /// [`Group::export_state`] encrypted under a 32-byte storage key, bound
    /// to the group's id.
    pub fn export_sealed(&self, key: &[u8; 32]) -> Result<Vec<u8>, Error> {
        stored::export_sealed(self, self.cs, key, &mut os_rng())
    }
}
