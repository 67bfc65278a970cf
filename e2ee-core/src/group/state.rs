//! Storing a member's [`Group`] state, and a [`NewKeyPackage`]'s private
//! keys, across restarts.
//!
//! An export is a header — a 4-byte magic naming what is stored, the format
//! version (`uint16`), a sealing byte (0 plain, 1 sealed) and the cipher
//! suite (`uint16`) — followed by the state in the TLS presentation
//! language ([`crate::codec`]) and a checksum of both with the suite's
//! hash, so that storage corruption is caught rather than restored. A
//! sealed export replaces everything after the header by a random nonce
//! and the encryption of the plain export's remainder with the suite's
//! AEAD, under a key derived with the suite's HKDF from a caller-given
//! 32-byte storage key, with the header as associated data; it is made
//! from the plain export, so both share one encoder and one decoder. The
//! primitives are the provider's, like everything else the protocol uses.
//!
//! **A plain export holds every secret of the member's epoch** (signature
//! key, epoch secrets, secret tree, TreeKEM private keys): the caller must
//! protect it like the keys themselves, e.g. by sealing it. Temporary
//! buffers made here are zeroized, and the encoder's buffer is zeroized
//! whenever it grows out of it.
//!
//! **Only the latest export may be restored.** A member's state changes with
//! every message it sends or opens: restoring an older one brings back keys
//! deleted since (§9.2) and would send with ratchet generations already
//! used, i.e. reuse AEAD nonces. Export after each change and replace the
//! stored copy.
//!
//! Restoring checks the decoded state for consistency (limits of the stored
//! configuration, secret lengths of the suite, the tree hash against the
//! GroupContext, the private keys against the tree's public keys), so a
//! damaged state fails here rather than later; it does not re-validate the
//! tree's signatures, which were checked when the tree was received.
//! Protection against deliberate tampering is what sealing is for.

use alloc::boxed::Box;
use alloc::vec::Vec;

use zeroize::Zeroizing;

use super::history::{History, PastEpoch};
use super::lifecycle::{Lifecycle, OwnPending, StagedCommit};
use super::process::CommitSummary;
use super::{Error, Group, GroupConfig, PendingProposal};
use crate::codec::{self, Decode, Encode, Size, VLBytes, Writer};
use crate::crypto::{CipherSuite, CipherSuiteProvider, Rng, Secret, SignatureKey, ct_eq};
use crate::error::{FramingError, StateError};
use crate::key_package::NewKeyPackage;
use crate::key_schedule::{EpochSchedule, EpochSecrets};
use crate::messages::{GroupContext, KeyPackage, LeafNode, ReInit, Sender};
use crate::ratchet_tree::RatchetTree;
use crate::secret_tree::{SecretTree, SecretTreeState};
use crate::tree_math::LeafIndex;
use crate::treekem::{TreeKemPrivate, TreeKemPrivateState};
use crate::vec_map::VecMap;

/// The format version written, and the only one read. Version 2 added the
/// pending proposals' admission and binds sealed group states to their
/// group; version 3 names the suite whose hash and AEAD protect the
/// export (before, SHA-256 and ChaCha20-Poly1305 whatever the suite).
const FORMAT_VERSION: u16 = 3;
/// Magic + version + sealing byte + suite.
const HEADER_LEN: usize = 9;
const PLAIN: u8 = 0;
const SEALED: u8 = 1;
/// The HKDF info of the key a storage key seals with.
const SEAL_KEY_INFO: &[u8] = b"e2ee sealed state";

/// The header of an export of `magic` with sealing byte `sealing`, in
/// `suite`.
fn header(magic: [u8; 4], sealing: u8, suite: CipherSuite) -> [u8; HEADER_LEN] {
    let [v0, v1] = FORMAT_VERSION.to_be_bytes();
    let [m0, m1, m2, m3] = magic;
    let [s0, s1] = suite.0.to_be_bytes();
    [m0, m1, m2, m3, v0, v1, sealing, s0, s1]
}

/// The suite and the part after a header of `magic` with sealing byte
/// `sealing`. The version is checked before the rest: a future version may
/// lay it out differently.
fn strip_header(bytes: &[u8], magic: [u8; 4], sealing: u8) -> Result<(CipherSuite, &[u8]), Error> {
    let (head, rest) = bytes.split_at_checked(HEADER_LEN).ok_or(StateError::Corrupt)?;
    if head[..4] != magic {
        return Err(StateError::Corrupt.into());
    }
    if u16::from_be_bytes([head[4], head[5]]) != FORMAT_VERSION {
        return Err(StateError::Version.into());
    }
    let suite = CipherSuite(u16::from_be_bytes([head[7], head[8]]));
    match head[6] {
        s if s == sealing => Ok((suite, rest)),
        PLAIN | SEALED => Err(StateError::Sealing.into()),
        _ => Err(StateError::Corrupt.into()),
    }
}

/// The AEAD key a 32-byte storage key seals with in suite `cs`: HKDF
/// (Extract, then Expand to the AEAD's key length) with the suite's hash.
fn seal_key(cs: &dyn CipherSuiteProvider, key: &[u8; 32]) -> Result<Secret, Error> {
    let prk = cs.kdf_extract(&[], key);
    Ok(cs.kdf_expand(prk.as_bytes(), SEAL_KEY_INFO, cs.aead_key_len())?)
}

/// Something stored with a header: its state type and how to get it back.
pub(crate) trait Stored: Sized {
    /// Names what is stored, so one kind cannot be restored as another.
    const MAGIC: [u8; 4];
    /// The encoded form.
    type State: Encode + Decode;
    /// What rebuilding needs besides the state (e.g. the suite).
    type Context<'a>: Copy;
    /// The primitives of `suite`, which the export names, in `context`.
    fn suite_in<'a>(context: Self::Context<'a>, suite: CipherSuite) -> Result<&'a dyn CipherSuiteProvider, Error>;
    fn to_state(&self) -> Result<Self::State, Error>;
    /// Rebuilds the value, checking the state against `context`.
    fn from_state(context: Self::Context<'_>, state: Self::State) -> Result<Self, Error>;
    /// What a sealed export is bound to besides its kind (authenticated
    /// with it): a group's id, so that storage cannot hand one group's
    /// state back as another's.
    fn binding(&self) -> Vec<u8> {
        Vec::new()
    }
}

/// The associated data of a sealed export: its header and binding.
fn sealed_aad(magic: [u8; 4], suite: CipherSuite, binding: &[u8]) -> Vec<u8> {
    let mut aad = header(magic, SEALED, suite).to_vec();
    aad.extend_from_slice(binding);
    aad
}

/// `value` stored in the suite `cs` (the value's own).
pub(crate) fn export<T: Stored>(value: &T, cs: &dyn CipherSuiteProvider) -> Result<Vec<u8>, Error> {
    let state = value.to_state()?;
    let mut w = Writer::for_secrets();
    w.put(&header(T::MAGIC, PLAIN, cs.cipher_suite()));
    state.encode_to(&mut w);
    let checksum = cs.hash(w.as_slice());
    w.put(&checksum);
    Ok(w.finish()?)
}

pub(crate) fn restore<T: Stored>(context: T::Context<'_>, bytes: &[u8]) -> Result<T, Error> {
    let (suite, rest) = strip_header(bytes, T::MAGIC, PLAIN)?;
    let cs = T::suite_in(context, suite)?;
    let body_len = rest.len().checked_sub(cs.hash_len()).ok_or(StateError::Corrupt)?;
    let (checked, checksum) = bytes.split_at(HEADER_LEN + body_len);
    ensure(ct_eq(&cs.hash(checked), checksum))?;
    let state = codec::decode_exact::<T::State>(&checked[HEADER_LEN..]).map_err(|_| StateError::Corrupt)?;
    T::from_state(context, state)
}

/// The AEAD tags of every suite are 16 bytes; room for them up front.
const TAG_ROOM: usize = 16;

/// `value` sealed under the storage `key`, in the suite `cs`.
pub(crate) fn export_sealed<T: Stored>(
    value: &T,
    cs: &dyn CipherSuiteProvider,
    key: &[u8; 32],
    rng: &mut Rng<'_>,
) -> Result<Vec<u8>, Error> {
    let plain = Zeroizing::new(export(value, cs)?);
    let body = &plain[HEADER_LEN..];
    let suite = cs.cipher_suite();
    let aad = sealed_aad(T::MAGIC, suite, &value.binding());
    let mut nonce = Zeroizing::new(alloc::vec![0u8; cs.aead_nonce_len()]);
    rng.fill_bytes(&mut nonce);
    // Encrypted in place in a buffer sized up front, so no plaintext copy is
    // left behind by a reallocation; zeroized should encryption fail.
    let start = HEADER_LEN + nonce.len();
    let mut out = Zeroizing::new(Vec::with_capacity(start + body.len() + TAG_ROOM));
    out.extend_from_slice(&header(T::MAGIC, SEALED, suite));
    out.extend_from_slice(&nonce);
    out.extend_from_slice(body);
    let key = seal_key(cs, key)?;
    (cs.aead_seal_in_place(key.as_bytes(), &nonce, &aad, &mut out, start)).map_err(|_| StateError::Corrupt)?;
    Ok(core::mem::take(&mut *out))
}

/// The value sealed in `bytes` under `key`, which must be bound to
/// `binding` (see [`Stored::binding`]).
pub(crate) fn restore_sealed<T: Stored>(
    context: T::Context<'_>,
    bytes: &[u8],
    key: &[u8; 32],
    binding: &[u8],
) -> Result<T, Error> {
    let (suite, sealed) = strip_header(bytes, T::MAGIC, SEALED)?;
    let cs = T::suite_in(context, suite)?;
    let (nonce, ciphertext) = sealed
        .split_at_checked(cs.aead_nonce_len())
        .ok_or(StateError::Corrupt)?;
    let aad = sealed_aad(T::MAGIC, suite, binding);
    let key = seal_key(cs, key)?;
    let opened = cs.aead_open(key.as_bytes(), nonce, &aad, ciphertext);
    let body = Zeroizing::new(opened.map_err(|_| StateError::Key)?);
    // Decrypted into a plain export, so that restoring has one path.
    let mut plain = Zeroizing::new(Vec::with_capacity(HEADER_LEN + body.len()));
    plain.extend_from_slice(&header(T::MAGIC, PLAIN, suite));
    plain.extend_from_slice(&body);
    restore(context, &plain)
}

/// `cs`, if it is `suite`: a group or KeyPackage restores only in its own
/// suite.
pub(crate) fn same_suite(cs: &dyn CipherSuiteProvider, suite: CipherSuite) -> Result<&dyn CipherSuiteProvider, Error> {
    if cs.cipher_suite() == suite {
        Ok(cs)
    } else {
        Err(FramingError::CipherSuiteMismatch.into())
    }
}

/// `Ok` if `condition` holds, else [`StateError::Corrupt`].
fn ensure(condition: bool) -> Result<(), Error> {
    if condition {
        Ok(())
    } else {
        Err(StateError::Corrupt.into())
    }
}

/// A `uint8` flag as stored.
fn flag(value: bool) -> u8 {
    u8::from(value)
}

fn from_flag(value: u8) -> Result<bool, Error> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(StateError::Corrupt.into()),
    }
}

/// A [`GroupConfig`] field's value as a stored `uint64`.
trait ConfigValue: Sized {
    fn to_u64(self) -> u64;
    fn from_u64(value: u64) -> Option<Self>;
}

macro_rules! config_value_int {
    ($($t:ty),*) => {$(
        impl ConfigValue for $t {
            fn to_u64(self) -> u64 {
                // Every value of these types fits (usize is at most 64 bits).
                self as u64
            }
            fn from_u64(value: u64) -> Option<Self> {
                Self::try_from(value).ok()
            }
        }
    )*};
}
config_value_int!(u32, u64, usize);

impl ConfigValue for bool {
    fn to_u64(self) -> u64 {
        u64::from(self)
    }
    fn from_u64(value: u64) -> Option<Self> {
        from_flag(u8::try_from(value).ok()?).ok()
    }
}

/// One stored [`GroupConfig`] field.
#[derive(Size, Encode, Decode)]
struct ConfigEntry {
    id: u16,
    value: u64,
}

/// Defines how [`GroupConfig`] is stored: as `(id, value)` entries in
/// increasing id order. A new field takes one line with a new id (and one
/// in the test `every_config_field_is_stored`, which fails to compile until
/// then); states stored before it restore with its default. An unknown id
/// is rejected.
macro_rules! config_fields {
    ($($id:literal => $($field:ident).+),* $(,)?) => {
        fn config_entries(config: &GroupConfig) -> Vec<ConfigEntry> {
            vec![$(ConfigEntry { id: $id, value: ConfigValue::to_u64(config.$($field).+) }),*]
        }

        fn config_from_entries(entries: &[ConfigEntry]) -> Result<GroupConfig, Error> {
            let mut config = GroupConfig::default();
            ensure(entries.windows(2).all(|pair| pair[0].id < pair[1].id))?;
            for &ConfigEntry { id, value } in entries {
                match id {
                    $($id => config.$($field).+ = ConfigValue::from_u64(value).ok_or(StateError::Corrupt)?,)*
                    _ => return Err(StateError::Corrupt.into()),
                }
            }
            Ok(config)
        }
    };
}

config_fields! {
    1 => secret_tree.max_forward_distance,
    2 => secret_tree.max_retained_keys,
    3 => max_resumption_psks,
    4 => max_pending_proposals,
    5 => past_epochs,
}

/// A [`Group`] as stored.
#[derive(Size, Encode, Decode)]
pub(crate) struct GroupState {
    config: Vec<ConfigEntry>,
    context: GroupContext,
    /// The `ratchet_tree` encoding (§12.4.3.3).
    tree: VLBytes,
    private: TreeKemPrivateState,
    signature_key: Secret,
    epoch: EpochSecrets,
    secret_tree: SecretTreeState,
    interim_transcript_hash: VLBytes,
    confirmation_tag: VLBytes,
    pending: Vec<PendingProposal>,
    resumption_psks: Vec<ResumptionPsk>,
    active: u8,
    reinit: Option<ReInit>,
    own_pending: OwnPendingState,
    history: Vec<PastEpochState>,
}

/// A kept past epoch ([`PastEpoch`]) as stored.
#[derive(Size, Encode, Decode)]
struct PastEpochState {
    context: GroupContext,
    sender_data_secret: Secret,
    secret_tree: SecretTreeState,
    changed_leaves: Vec<ChangedLeaf>,
}

#[derive(Size, Encode, Decode)]
struct ChangedLeaf {
    leaf: u32,
    node: Option<LeafNode>,
}

impl PastEpochState {
    fn new(past: &PastEpoch) -> Self {
        Self {
            context: past.context.clone(),
            sender_data_secret: past.sender_data_secret.clone(),
            secret_tree: past.secret_tree.to_state(),
            changed_leaves: (past.changed_leaves.iter())
                .map(|(leaf, node)| ChangedLeaf {
                    leaf: *leaf,
                    node: node.clone(),
                })
                .collect(),
        }
    }

    /// The past epoch, which must be of the group of `current` and older.
    fn into_past(
        self,
        cs: &dyn CipherSuiteProvider,
        current: &GroupContext,
        config: &GroupConfig,
    ) -> Result<PastEpoch, Error> {
        let context = self.context;
        ensure(context.group_id == current.group_id && context.cipher_suite == current.cipher_suite)?;
        ensure(context.epoch < current.epoch && self.sender_data_secret.len() == cs.hash_len())?;
        let secret_tree =
            SecretTree::from_state(cs, self.secret_tree, config.secret_tree).ok_or(StateError::Corrupt)?;
        let leaves = self.changed_leaves.into_iter().map(|c| (c.leaf, c.node));
        let changed_leaves = VecMap::from_sorted(leaves).ok_or(StateError::Corrupt)?;
        Ok(PastEpoch {
            context,
            sender_data_secret: self.sender_data_secret,
            secret_tree,
            changed_leaves,
        })
    }
}

/// The kept past epochs, oldest first, at most `config.past_epochs`.
fn restore_history(
    cs: &dyn CipherSuiteProvider,
    states: Vec<PastEpochState>,
    current: &GroupContext,
    config: &GroupConfig,
) -> Result<History, Error> {
    ensure(states.len() <= config.past_epochs)?;
    let mut history = History::default();
    for state in states {
        let past = state.into_past(cs, current, config)?;
        let newer = history
            .epochs
            .back()
            .is_none_or(|last| last.context.epoch < past.context.epoch);
        ensure(newer)?;
        history.epochs.push_back(past);
    }
    Ok(history)
}

#[derive(Size, Encode, Decode)]
struct ResumptionPsk {
    epoch: u64,
    psk: Secret,
}

/// [`OwnPending`] as stored (empty unless the group is open).
#[derive(Default, Size, Encode, Decode)]
struct OwnPendingState {
    commit: Option<PendingCommitState>,
    update_keys: Vec<UpdateKey>,
}

#[derive(Size, Encode, Decode)]
struct UpdateKey {
    public: VLBytes,
    private: Secret,
}

/// [`StagedCommit`] as stored.
#[derive(Size, Encode, Decode)]
struct PendingCommitState {
    context: GroupContext,
    tree: VLBytes,
    private: TreeKemPrivateState,
    schedule: EpochSchedule,
    interim_transcript_hash: VLBytes,
    confirmation_tag: VLBytes,
    summary: SummaryState,
}

/// [`CommitSummary`] as stored.
#[derive(Size, Encode, Decode)]
struct SummaryState {
    sender: Sender,
    epoch: u64,
    added: Vec<u32>,
    removed: Vec<RemovedLeaf>,
    updated: Vec<u32>,
    self_removed: u8,
    reinit: Option<ReInit>,
}

#[derive(Size, Encode, Decode)]
struct RemovedLeaf {
    leaf: u32,
    leaf_node: LeafNode,
}

fn leaves(indices: &[LeafIndex]) -> Vec<u32> {
    indices.iter().map(|i| i.0).collect()
}

fn leaf_indices(indices: Vec<u32>) -> Vec<LeafIndex> {
    indices.into_iter().map(LeafIndex).collect()
}

impl SummaryState {
    fn new(summary: &CommitSummary) -> Self {
        Self {
            sender: summary.sender,
            epoch: summary.epoch,
            added: leaves(&summary.added),
            removed: summary
                .removed
                .iter()
                .map(|(leaf, node)| RemovedLeaf {
                    leaf: leaf.0,
                    leaf_node: node.clone(),
                })
                .collect(),
            updated: leaves(&summary.updated),
            self_removed: flag(summary.self_removed),
            reinit: summary.reinit.clone(),
        }
    }

    fn into_summary(self) -> Result<CommitSummary, Error> {
        Ok(CommitSummary {
            sender: self.sender,
            epoch: self.epoch,
            added: leaf_indices(self.added),
            removed: self
                .removed
                .into_iter()
                .map(|r| (LeafIndex(r.leaf), r.leaf_node))
                .collect(),
            updated: leaf_indices(self.updated),
            self_removed: from_flag(self.self_removed)?,
            reinit: self.reinit,
        })
    }
}

/// The ratchet tree of `context` from its encoding, with the hash cache
/// filled (the next Commit needs it anyway), and the private keys, checked
/// against it: the tree hash must be the context's, the own leaf present,
/// and every private key that of the tree's public key.
fn restore_tree_and_keys(
    cs: &dyn CipherSuiteProvider,
    context: &GroupContext,
    tree: &[u8],
    private: TreeKemPrivateState,
    active: bool,
) -> Result<(RatchetTree, TreeKemPrivate), Error> {
    let mut tree = RatchetTree::decode(tree).map_err(|_| StateError::Corrupt)?;
    ensure(tree.tree_hash(cs).ok().as_deref() == Some(context.tree_hash.as_slice()))?;
    let private = TreeKemPrivate::from_state(private).ok_or(StateError::Corrupt)?;
    let own = tree
        .leaf_node_index(private.own_leaf())
        .map_err(|_| StateError::Corrupt)?;
    if !active {
        // A closed group keeps no private key.
        ensure(private.leaf_key().is_empty() && private.path_nodes().next().is_none())?;
        return Ok((tree, private));
    }
    for x in core::iter::once(own).chain(private.path_nodes()) {
        let node = tree.node(x).ok_or(StateError::Corrupt)?;
        let key = private.private_key(x).ok_or(StateError::Corrupt)?;
        check_key_pair(cs, key, node.encryption_key())?;
    }
    Ok((tree, private))
}

/// `private` must be the HPKE private key of `public`.
fn check_key_pair(cs: &dyn CipherSuiteProvider, private: &Secret, public: &[u8]) -> Result<(), Error> {
    ensure(cs.kem_public_key(private.as_bytes()).ok().as_deref() == Some(public))
}

/// Every epoch secret must have the suite's hash length; the encryption
/// secret may have been handed to the secret tree already (then empty).
fn check_epoch_secrets(cs: &dyn CipherSuiteProvider, epoch: &EpochSecrets) -> Result<(), Error> {
    let nh = cs.hash_len();
    let EpochSecrets {
        sender_data_secret,
        encryption_secret,
        exporter_secret,
        external_secret,
        confirmation_key,
        membership_key,
        resumption_psk,
        epoch_authenticator,
        init_secret,
    } = epoch;
    let full = [
        sender_data_secret,
        exporter_secret,
        external_secret,
        confirmation_key,
        membership_key,
        resumption_psk,
        epoch_authenticator,
        init_secret,
    ];
    ensure(full.iter().all(|s| s.len() == nh) && (encryption_secret.is_empty() || encryption_secret.len() == nh))
}

impl PendingCommitState {
    fn new(commit: &StagedCommit) -> Result<Self, Error> {
        Ok(Self {
            context: commit.context.clone(),
            tree: commit.tree.encode()?.into(),
            private: commit.private.to_state(),
            schedule: commit.schedule.clone(),
            interim_transcript_hash: commit.interim_transcript_hash.as_slice().into(),
            confirmation_tag: commit.confirmation_tag.as_slice().into(),
            summary: SummaryState::new(&commit.summary),
        })
    }

    /// The pending Commit, which must lead from `current` to the next epoch.
    fn into_commit(self, cs: &dyn CipherSuiteProvider, current: &GroupContext) -> Result<StagedCommit, Error> {
        let next_epoch = current.epoch.checked_add(1);
        ensure(Some(self.context.epoch) == next_epoch && self.context.group_id == current.group_id)?;
        ensure(self.context.cipher_suite == current.cipher_suite)?;
        let (tree, private) = restore_tree_and_keys(cs, &self.context, &self.tree, self.private, true)?;
        let nh = cs.hash_len();
        let EpochSchedule {
            joiner_secret,
            welcome_secret,
            epoch,
        } = &self.schedule;
        ensure(joiner_secret.len() == nh && welcome_secret.len() == nh && epoch.encryption_secret.len() == nh)?;
        check_epoch_secrets(cs, epoch)?;
        Ok(StagedCommit {
            context: self.context,
            tree,
            private,
            schedule: self.schedule,
            interim_transcript_hash: self.interim_transcript_hash.into_vec(),
            confirmation_tag: self.confirmation_tag.into_vec(),
            summary: self.summary.into_summary()?,
        })
    }
}

impl OwnPendingState {
    fn new(own: &OwnPending) -> Result<Self, Error> {
        Ok(Self {
            commit: own.commit.as_deref().map(PendingCommitState::new).transpose()?,
            update_keys: own
                .update_keys
                .iter()
                .map(|(public, private)| UpdateKey {
                    public: public.as_slice().into(),
                    private: private.clone(),
                })
                .collect(),
        })
    }

    fn into_own_pending(
        self,
        cs: &dyn CipherSuiteProvider,
        context: &GroupContext,
        config: &GroupConfig,
    ) -> Result<OwnPending, Error> {
        ensure(self.update_keys.len() <= config.max_pending_proposals)?;
        let mut update_keys = Vec::with_capacity(self.update_keys.len());
        for key in self.update_keys {
            check_key_pair(cs, &key.private, &key.public)?;
            update_keys.push((key.public.into_vec(), key.private));
        }
        Ok(OwnPending {
            commit: self
                .commit
                .map(|c| c.into_commit(cs, context).map(Box::new))
                .transpose()?,
            update_keys,
        })
    }
}

/// The lifecycle a stored state describes. Only an open group has
/// anything pending; a closed one may still name the ReInit it had.
fn restore_lifecycle(active: bool, reinit: Option<ReInit>, own: OwnPending) -> Result<Lifecycle, Error> {
    let nothing_pending = own.commit.is_none() && own.update_keys.is_empty();
    match (active, reinit) {
        (true, None) => Ok(Lifecycle::Open(own)),
        (true, Some(reinit)) => ensure(nothing_pending).map(|()| Lifecycle::Reinitialized(reinit)),
        (false, _) => ensure(nothing_pending).map(|()| Lifecycle::Closed),
    }
}

impl Stored for Group {
    const MAGIC: [u8; 4] = *b"MLSg";
    type State = GroupState;
    type Context<'a> = &'a dyn CipherSuiteProvider;

    fn suite_in<'a>(cs: Self::Context<'a>, suite: CipherSuite) -> Result<&'a dyn CipherSuiteProvider, Error> {
        same_suite(cs, suite)
    }

    fn binding(&self) -> Vec<u8> {
        self.context.group_id.to_vec()
    }

    fn to_state(&self) -> Result<GroupState, Error> {
        Ok(GroupState {
            config: config_entries(&self.config),
            context: self.context.clone(),
            tree: self.tree.encode()?.into(),
            private: self.private.to_state(),
            signature_key: self.signature_key.private().clone(),
            epoch: self.epoch.clone(),
            secret_tree: self.secret_tree.to_state(),
            interim_transcript_hash: self.interim_transcript_hash.as_slice().into(),
            confirmation_tag: self.confirmation_tag.as_slice().into(),
            pending: self.pending.clone(),
            resumption_psks: self
                .resumption_psks
                .iter()
                .map(|(epoch, psk)| ResumptionPsk {
                    epoch: *epoch,
                    psk: psk.clone(),
                })
                .collect(),
            active: flag(self.is_active()),
            reinit: self.reinit().cloned(),
            own_pending: self
                .lifecycle
                .own()
                .map(OwnPendingState::new)
                .transpose()?
                .unwrap_or_default(),
            history: self.history.epochs.iter().map(PastEpochState::new).collect(),
        })
    }

    fn from_state(cs: &dyn CipherSuiteProvider, state: GroupState) -> Result<Self, Error> {
        let config = config_from_entries(&state.config)?;
        config.check().map_err(|_| StateError::Corrupt)?;
        if state.context.cipher_suite != cs.cipher_suite() {
            return Err(FramingError::CipherSuiteMismatch.into());
        }
        let context = state.context;
        let active = from_flag(state.active)?;
        let (tree, private) = restore_tree_and_keys(cs, &context, &state.tree, state.private, active)?;
        let own_leaf = tree.leaf(private.own_leaf()).ok_or(StateError::Corrupt)?;
        let signature_public = cs.signature_public_key(state.signature_key.as_bytes()).ok();
        ensure(signature_public.as_deref() == Some(own_leaf.signature_key.as_slice()))?;
        match active {
            true => check_epoch_secrets(cs, &state.epoch)?,
            // A closed group keeps no secrets (see `Group::close`).
            false => ensure(
                state.epoch == EpochSecrets::default()
                    && state.secret_tree.is_empty()
                    && state.resumption_psks.is_empty()
                    && state.history.is_empty(),
            )?,
        }
        let secret_tree =
            SecretTree::from_state(cs, state.secret_tree, config.secret_tree).ok_or(StateError::Corrupt)?;
        ensure(secret_tree.n_leaves() == tree.n_leaves())?;
        ensure(state.pending.len() <= config.max_pending_proposals)?;
        let psks = state.resumption_psks.into_iter().map(|p| (p.epoch, p.psk));
        let resumption_psks = VecMap::from_sorted(psks).ok_or(StateError::Corrupt)?;
        ensure(resumption_psks.len() <= config.max_resumption_psks)?;
        ensure(
            resumption_psks
                .iter()
                .all(|(e, p)| *e < context.epoch && p.len() == cs.hash_len()),
        )?;
        let own_pending = state.own_pending.into_own_pending(cs, &context, &config)?;
        let lifecycle = restore_lifecycle(active, state.reinit, own_pending)?;
        let history = restore_history(cs, state.history, &context, &config)?;
        Ok(Group {
            config,
            context,
            tree,
            private,
            signature_key: SignatureKey::new(cs, state.signature_key)?,
            verifiers: Default::default(),
            epoch: state.epoch,
            secret_tree,
            interim_transcript_hash: state.interim_transcript_hash.into_vec(),
            confirmation_tag: state.confirmation_tag.into_vec(),
            pending: state.pending,
            resumption_psks,
            lifecycle,
            history,
        })
    }
}

impl Group {
    /// This member's complete state, to store and later continue from with
    /// [`Group::restore_state`]. The bytes hold all of the member's secrets
    /// for the epoch: protect them (see [`Group::export_sealed`]), and
    /// restore only the latest export — an older one would reuse keys.
    /// `cs` is the group's suite, whose hash checksums the export.
    pub fn export_state(&self, cs: &dyn CipherSuiteProvider) -> Result<Vec<u8>, Error> {
        export(self, same_suite(cs, self.context.cipher_suite)?)
    }

    /// The group stored by [`Group::export_state`], for suite `cs` (the
    /// group's). Fails with [`StateError::Corrupt`] on bytes that are
    /// not such a state, [`StateError::Version`] on an unknown format
    /// version, [`StateError::Sealing`] on a sealed export and
    /// [`FramingError::CipherSuiteMismatch`] on another suite's group.
    pub fn restore_state(cs: &dyn CipherSuiteProvider, bytes: &[u8]) -> Result<Group, Error> {
        restore(cs, bytes)
    }

    /// [`Group::export_state`] encrypted under the 32-byte storage `key`
    /// (the suite's AEAD under a key derived from it with the suite's
    /// HKDF, random nonce from `rng`, the header and the group id
    /// authenticated).
    pub fn export_sealed(
        &self,
        cs: &dyn CipherSuiteProvider,
        key: &[u8; 32],
        rng: &mut Rng<'_>,
    ) -> Result<Vec<u8>, Error> {
        export_sealed(self, same_suite(cs, self.context.cipher_suite)?, key, rng)
    }

    /// The group `group_id` stored by [`Group::export_sealed`] under `key`.
    /// Fails like [`Group::restore_state`], and with
    /// [`StateError::Key`] for a wrong key, altered bytes or another
    /// group's state.
    pub fn restore_sealed(
        cs: &dyn CipherSuiteProvider,
        bytes: &[u8],
        key: &[u8; 32],
        group_id: &[u8],
    ) -> Result<Group, Error> {
        restore_sealed(cs, bytes, key, group_id)
    }
}

/// A [`NewKeyPackage`] as stored.
#[derive(Size, Encode, Decode)]
pub(crate) struct KeyPackageState {
    key_package: KeyPackage,
    init_private_key: Secret,
    encryption_private_key: Secret,
}

impl Stored for NewKeyPackage {
    const MAGIC: [u8; 4] = *b"MLSk";
    type State = KeyPackageState;
    type Context<'a> = &'a dyn CipherSuiteProvider;

    fn suite_in<'a>(cs: Self::Context<'a>, suite: CipherSuite) -> Result<&'a dyn CipherSuiteProvider, Error> {
        same_suite(cs, suite)
    }

    fn to_state(&self) -> Result<KeyPackageState, Error> {
        Ok(KeyPackageState {
            key_package: self.key_package.clone(),
            init_private_key: self.init_private_key.clone(),
            encryption_private_key: self.encryption_private_key.clone(),
        })
    }

    fn from_state(cs: &dyn CipherSuiteProvider, state: KeyPackageState) -> Result<Self, Error> {
        let kp = &state.key_package;
        if kp.cipher_suite != cs.cipher_suite() {
            return Err(FramingError::CipherSuiteMismatch.into());
        }
        check_key_pair(cs, &state.init_private_key, &kp.init_key)?;
        check_key_pair(cs, &state.encryption_private_key, &kp.leaf_node.encryption_key)?;
        Ok(NewKeyPackage {
            key_package: state.key_package,
            init_private_key: state.init_private_key,
            encryption_private_key: state.encryption_private_key,
        })
    }
}

impl NewKeyPackage {
    /// The KeyPackage with its private keys, to keep an unused KeyPackage
    /// across restarts. The bytes hold the private keys: protect them (see
    /// [`NewKeyPackage::export_sealed`]). `cs` is the KeyPackage's suite.
    pub fn export_state(&self, cs: &dyn CipherSuiteProvider) -> Result<Vec<u8>, Error> {
        export(self, same_suite(cs, self.key_package.cipher_suite)?)
    }

    /// The KeyPackage stored by [`NewKeyPackage::export_state`], for suite
    /// `cs`; the private keys must match the public ones. Fails like
    /// [`Group::restore_state`].
    pub fn restore_state(cs: &dyn CipherSuiteProvider, bytes: &[u8]) -> Result<Self, Error> {
        restore(cs, bytes)
    }

    /// [`NewKeyPackage::export_state`] sealed like [`Group::export_sealed`].
    pub fn export_sealed(
        &self,
        cs: &dyn CipherSuiteProvider,
        key: &[u8; 32],
        rng: &mut Rng<'_>,
    ) -> Result<Vec<u8>, Error> {
        export_sealed(self, same_suite(cs, self.key_package.cipher_suite)?, key, rng)
    }

    /// The KeyPackage stored by [`NewKeyPackage::export_sealed`] under
    /// `key`. Fails like [`Group::restore_sealed`].
    pub fn restore_sealed(cs: &dyn CipherSuiteProvider, bytes: &[u8], key: &[u8; 32]) -> Result<Self, Error> {
        restore_sealed(cs, bytes, key, &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::os_rng;
    use crate::group::{CommitParams, Environment, OwnLeaf};
    use crate::key_package::{KeyPackageParams, create_key_package, default_capabilities};
    use crate::key_schedule::tests::suite;
    use crate::messages::{Credential, Lifetime};
    use crate::secret_tree::{RatchetKind, SecretTreeConfig, SecretTreeError};

    const KEY: [u8; 32] = [0x42; 32];

    /// Only an open group restores with something pending; a closed group
    /// restores closed whatever ReInit it names.
    #[test]
    fn only_an_open_group_restores_with_something_pending() {
        let reinit = ReInit {
            group_id: b"next".into(),
            version: crate::messages::ProtocolVersion::MLS10,
            cipher_suite: crate::messages::CipherSuite(1),
            extensions: Vec::new(),
        };
        let pending = || OwnPending {
            commit: None,
            update_keys: vec![(vec![1], Secret::new(vec![2]))],
        };
        let open = restore_lifecycle(true, None, pending()).unwrap();
        assert!(open.own().is_some_and(|own| own.update_keys.len() == 1));
        let restored = restore_lifecycle(true, Some(reinit.clone()), OwnPending::default()).unwrap();
        assert!(matches!(restored, Lifecycle::Reinitialized(r) if r == reinit));
        let closed = restore_lifecycle(false, Some(reinit.clone()), OwnPending::default()).unwrap();
        assert!(matches!(closed, Lifecycle::Closed));
        for (active, reinit) in [(true, Some(reinit)), (false, None)] {
            let restored = restore_lifecycle(active, reinit, pending());
            assert_eq!(restored.err(), Some(StateError::Corrupt.into()));
        }
    }

    fn own_leaf(cs: &dyn CipherSuiteProvider, public: Vec<u8>) -> OwnLeaf {
        OwnLeaf {
            credential: Credential::Basic(b"alice".into()),
            signature_public_key: public,
            capabilities: default_capabilities(cs.cipher_suite()),
            extensions: Vec::new(),
            lifetime: Lifetime {
                not_before: 0,
                not_after: u64::MAX,
            },
        }
    }

    /// A group of one in suite `id` that has sent a message and holds a
    /// pending Commit with a path.
    fn group(id: u16) -> Group {
        let cs = suite(id);
        let env = Environment::basic(cs);
        let signer = cs.signature_key_generate(&mut os_rng());
        let own = own_leaf(cs, signer.public.clone());
        let mut group = Group::create(
            &env,
            b"g".to_vec(),
            own,
            signer.private,
            Vec::new(),
            GroupConfig::default(),
            &mut os_rng(),
        )
        .unwrap();
        group.seal(&env, b"hi", b"", 0, &mut os_rng()).unwrap();
        let params = CommitParams {
            force_path: true,
            ..CommitParams::default()
        };
        group.commit(&env, params, &mut os_rng()).unwrap();
        group
    }

    #[test]
    fn export_restore_export_is_identical() {
        for id in 1..=7 {
            let cs = suite(id);
            let group = group(id);
            let bytes = group.export_state(cs).unwrap();
            let restored = Group::restore_state(cs, &bytes).unwrap();
            assert_eq!(restored.export_state(cs).unwrap(), bytes);
            assert!(restored.has_pending_commit());
            let sealed = group.export_sealed(cs, &KEY, &mut os_rng()).unwrap();
            let unsealed = Group::restore_sealed(cs, &sealed, &KEY, b"g").unwrap();
            assert_eq!(unsealed.export_state(cs).unwrap(), bytes);
        }
    }

    #[test]
    fn header_errors_are_typed() {
        let cs = suite(1);
        let bytes = group(1).export_state(suite(1)).unwrap();
        let with = |i: usize, v: u8| {
            let mut b = bytes.clone();
            b[i] = v;
            Group::restore_state(cs, &b).unwrap_err()
        };
        assert_eq!(with(0, b'X'), Error::from(StateError::Corrupt));
        assert_eq!(with(5, 1), Error::from(StateError::Version));
        assert_eq!(with(5, 4), Error::from(StateError::Version));
        // Another suite named in the header than the provider's.
        assert_eq!(with(8, 3), Error::from(FramingError::CipherSuiteMismatch));
        assert_eq!(with(6, SEALED), Error::from(StateError::Sealing));
        assert_eq!(with(6, 7), Error::from(StateError::Corrupt));
        assert_eq!(
            Group::restore_state(cs, &bytes[..3]).unwrap_err(),
            Error::from(StateError::Corrupt)
        );
        assert_eq!(
            Group::restore_sealed(cs, &bytes, &KEY, b"g").unwrap_err(),
            Error::from(StateError::Sealing)
        );
        assert_eq!(StateError::Version.code(), "state_version");
        // Another suite's provider, and another kind of export.
        assert_eq!(
            Group::restore_state(suite(3), &bytes).unwrap_err(),
            Error::from(FramingError::CipherSuiteMismatch)
        );
        assert_eq!(
            NewKeyPackage::restore_state(cs, &bytes).unwrap_err(),
            Error::from(StateError::Corrupt)
        );
    }

    #[test]
    fn sealed_state_needs_the_key_and_is_authenticated() {
        let cs = suite(1);
        let sealed = group(1).export_sealed(suite(1), &KEY, &mut os_rng()).unwrap();
        let wrong = Group::restore_sealed(cs, &sealed, &[0x43; 32], b"g").unwrap_err();
        assert_eq!(
            (wrong.clone(), wrong.code()),
            (Error::from(StateError::Key), "state_key")
        );
        for i in [HEADER_LEN, HEADER_LEN + cs.aead_nonce_len(), sealed.len() - 1] {
            let mut b = sealed.clone();
            b[i] ^= 1;
            assert_eq!(
                Group::restore_sealed(cs, &b, &KEY, b"g").unwrap_err(),
                Error::from(StateError::Key)
            );
        }
        // The header is authenticated too: a different one is another
        // export (here: the same bytes relabelled as a KeyPackage's).
        let mut b = sealed.clone();
        b[..4].copy_from_slice(b"MLSk");
        assert_eq!(
            NewKeyPackage::restore_sealed(cs, &b, &KEY).unwrap_err(),
            Error::from(StateError::Key)
        );
        assert_eq!(
            Group::restore_state(cs, &sealed).unwrap_err(),
            Error::from(StateError::Sealing)
        );
    }

    #[test]
    fn config_is_stored_by_field_id() {
        let config = GroupConfig {
            max_pending_proposals: 7,
            ..GroupConfig::default()
        };
        let entries = config_entries(&config);
        assert_eq!(config_from_entries(&entries).unwrap().max_pending_proposals, 7);
        // A missing field takes its default.
        let restored = config_from_entries(&entries[1..]).unwrap();
        assert_eq!(restored.secret_tree, SecretTreeConfig::default());
        let entry = |id, value| ConfigEntry { id, value };
        assert!(config_from_entries(&[entry(9, 1)]).is_err());
        assert!(config_from_entries(&[entry(4, 1), entry(3, 1)]).is_err());
        assert!(config_from_entries(&[entry(1, u64::MAX)]).is_err());
    }

    /// Stops compiling when `GroupConfig` gains a field, so that it is not
    /// forgotten in `config_fields!` (and silently restored as default).
    #[test]
    fn every_config_field_is_stored() {
        let GroupConfig {
            secret_tree:
                SecretTreeConfig {
                    max_forward_distance: _,
                    max_retained_keys: _,
                },
            max_resumption_psks: _,
            max_pending_proposals: _,
            past_epochs: _,
        } = GroupConfig::default();
        assert_eq!(config_entries(&GroupConfig::default()).len(), 5);
    }

    #[test]
    fn secret_tree_state_keeps_positions_and_consumed_keys() {
        let cs = suite(1);
        let config = SecretTreeConfig::default();
        let app = RatchetKind::Application;
        let mut sender = SecretTree::with_config(Secret::new(vec![7; 32]), 4, config).unwrap();
        let mut receiver = SecretTree::with_config(Secret::new(vec![7; 32]), 4, config).unwrap();
        let keys: Vec<_> = (0..4)
            .map(|_| sender.next_key(cs, LeafIndex(1), app).unwrap())
            .collect();
        receiver.key_for(cs, LeafIndex(1), app, 0).unwrap();
        receiver.key_for(cs, LeafIndex(1), app, 2).unwrap();
        let state = codec::encode(&receiver.to_state()).unwrap();
        let mut restored = SecretTree::from_state(cs, codec::decode_exact(&state).unwrap(), config).unwrap();
        for g in [0, 2] {
            let err = restored.key_for(cs, LeafIndex(1), app, g).unwrap_err();
            assert_eq!(err, Error::from(SecretTreeError::KeyConsumed));
        }
        for g in [1, 3] {
            let key = restored.key_for(cs, LeafIndex(1), app, g).unwrap();
            assert_eq!(key.key, keys[g as usize].key);
        }
        // Too many retained keys for a smaller limit.
        let tight = SecretTreeConfig {
            max_retained_keys: 0,
            ..config
        };
        assert!(SecretTree::from_state(cs, codec::decode_exact(&state).unwrap(), tight).is_none());
    }

    #[test]
    fn key_package_round_trip() {
        for id in 1..=7 {
            let cs = suite(id);
            let signer = cs.signature_key_generate(&mut os_rng());
            let own = own_leaf(cs, signer.public.clone());
            let params = KeyPackageParams {
                credential: own.credential,
                signature_public_key: own.signature_public_key,
                capabilities: own.capabilities,
                lifetime: own.lifetime,
                leaf_extensions: Vec::new(),
                extensions: Vec::new(),
            };
            let kp = create_key_package(cs, params, signer.private.as_bytes(), &mut os_rng()).unwrap();
            let bytes = kp.export_state(cs).unwrap();
            let restored = NewKeyPackage::restore_state(cs, &bytes).unwrap();
            assert_eq!(restored.key_package, kp.key_package);
            assert_eq!(restored.init_private_key, kp.init_private_key);
            assert_eq!(restored.encryption_private_key, kp.encryption_private_key);
            let sealed = kp.export_sealed(cs, &KEY, &mut os_rng()).unwrap();
            let unsealed = NewKeyPackage::restore_sealed(cs, &sealed, &KEY).unwrap();
            assert_eq!(unsealed.init_private_key, kp.init_private_key);
            // Private keys that do not match the KeyPackage are refused.
            let mut swapped = kp.to_state().unwrap();
            core::mem::swap(&mut swapped.init_private_key, &mut swapped.encryption_private_key);
            let err = NewKeyPackage::from_state(cs, swapped).unwrap_err();
            assert_eq!(err, Error::from(StateError::Corrupt));
            for len in 0..bytes.len() {
                assert!(NewKeyPackage::restore_state(cs, &bytes[..len]).is_err());
            }
        }
    }

    /// `bytes` (a plain export) with its checksum made to match again, so
    /// that a mutation reaches the decoder and the consistency checks.
    fn rechecksum(mut bytes: Vec<u8>) -> Vec<u8> {
        let end = bytes.len() - suite(1).hash_len();
        let checksum = suite(1).hash(&bytes[..end]);
        bytes[end..].copy_from_slice(&checksum);
        bytes
    }

    #[test]
    fn checksum_catches_any_change() {
        let cs = suite(1);
        let bytes = group(1).export_state(suite(1)).unwrap();
        for i in [HEADER_LEN, bytes.len() / 2, bytes.len() - 1] {
            let mut b = bytes.clone();
            b[i] ^= 0x80;
            assert_eq!(
                Group::restore_state(cs, &b).unwrap_err(),
                Error::from(StateError::Corrupt)
            );
        }
        assert!(Group::restore_state(cs, &rechecksum(bytes)).is_ok());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Past the checksum, mutated states never panic the decoder or the
        /// checks; whatever they accept must export again.
        #[test]
        fn mutated_body_never_panics(
            edits in proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), 1u8..), 1..4),
        ) {
            std::thread_local! {
                static BYTES: Vec<u8> = group(1).export_state(suite(1)).unwrap();
            }
            let mut bytes = BYTES.with(Clone::clone);
            let body = HEADER_LEN..bytes.len() - suite(1).hash_len();
            for (at, xor) in edits {
                bytes[body.start + at.index(body.len())] ^= xor;
            }
            if let Ok(group) = Group::restore_state(suite(1), &rechecksum(bytes)) {
                group.export_state(suite(1)).unwrap();
            }
        }
    }

    #[test]
    fn every_truncation_fails() {
        let cs = suite(1);
        let bytes = group(1).export_state(suite(1)).unwrap();
        for len in 0..bytes.len() {
            assert!(Group::restore_state(cs, &bytes[..len]).is_err(), "length {len}");
        }
    }
}
