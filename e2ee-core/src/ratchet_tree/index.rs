//! Indexes of the tree's members, so that checking one new leaf against
//! all members (§7.3: unique keys, credential types) costs O(log n)
//! instead of a scan of the tree.
//!
//! Both are derived data: [`super::RatchetTree`] updates them whenever it
//! sets a node, and answers are always checked against the nodes
//! themselves, so a stale entry can cost time but never change a result.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::messages::{CredentialType, LeafNode, Node};

/// What a key is used as.
#[derive(Clone, Copy)]
pub(crate) enum KeyUse {
    /// A node's `encryption_key` (leaf or parent).
    Encryption,
    /// A leaf's `signature_key`.
    Signature,
}

/// The nodes using a key, by a 32-bit fingerprint of the key.
///
/// Most entries sit in a sorted array shared between clones of the tree
/// (a Commit works on a clone); entries added since are kept in a short
/// unsorted list and merged into a new array once it grows. Entries are
/// never removed one by one: a node whose key changed or that became blank
/// keeps a stale entry until the next merge drops it, and lookups compare
/// the actual key of every candidate node.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyIndex {
    /// `(fingerprint, node)`, sorted.
    sorted: Arc<Vec<(u32, u32)>>,
    /// `(fingerprint, node)` added since the last merge.
    recent: Vec<(u32, u32)>,
}

/// How many entries may wait in [`KeyIndex::recent`] before a merge.
const MAX_RECENT: usize = 256;

impl KeyIndex {
    /// An index of `entries`.
    pub(crate) fn new(mut entries: Vec<(u32, u32)>) -> Self {
        entries.sort_unstable();
        Self {
            sorted: Arc::new(entries),
            recent: Vec::new(),
        }
    }

    /// Records that `node` uses the keys with fingerprints `fingerprints`.
    /// Returns true if the caller should [`Self::merge`] now.
    pub(crate) fn insert(&mut self, node: u32, fingerprints: impl Iterator<Item = u32>) -> bool {
        self.recent.extend(fingerprints.map(|f| (f, node)));
        self.recent.len() > MAX_RECENT
    }

    /// Merges the recent entries into the sorted ones, keeping only entries
    /// for which `current(fingerprint, node)` holds.
    pub(crate) fn merge(&mut self, current: impl Fn(u32, u32) -> bool) {
        let mut entries: Vec<(u32, u32)> = (self.sorted.iter().chain(&self.recent))
            .copied()
            .filter(|&(f, x)| current(f, x))
            .collect();
        entries.sort_unstable();
        entries.dedup();
        *self = Self {
            sorted: Arc::new(entries),
            recent: Vec::new(),
        };
    }

    /// The nodes of each fingerprint that two or more nodes have, each
    /// list sorted: every pair of nodes that might share a key.
    pub(crate) fn shared_fingerprints(&self) -> Vec<Vec<u32>> {
        let merged;
        let entries: &[(u32, u32)] = if self.recent.is_empty() {
            &self.sorted
        } else {
            let mut all: Vec<(u32, u32)> = self.sorted.iter().chain(&self.recent).copied().collect();
            all.sort_unstable();
            merged = all;
            &merged
        };
        entries
            .chunk_by(|a, b| a.0 == b.0)
            .filter(|same| same.len() > 1)
            .map(|same| {
                let mut nodes: Vec<u32> = same.iter().map(|&(_, x)| x).collect();
                nodes.dedup();
                nodes
            })
            .filter(|nodes| nodes.len() > 1)
            .collect()
    }

    /// The nodes that may use a key with fingerprint `fingerprint`
    /// (possibly repeated, in no particular order).
    pub(crate) fn candidates(&self, fingerprint: u32) -> impl Iterator<Item = u32> + '_ {
        let start = self.sorted.partition_point(|&(f, _)| f < fingerprint);
        let sorted = self.sorted[start..].iter().take_while(move |&&(f, _)| f == fingerprint);
        let recent = self.recent.iter().filter(move |&&(f, _)| f == fingerprint);
        sorted.chain(recent).map(|&(_, x)| x)
    }
}

/// The fingerprint of `key` used as `what`: 32-bit FNV-1a. Not
/// collision-resistant, and needs not be: a collision only adds a candidate
/// whose key is then compared in full.
pub(crate) fn fingerprint(what: KeyUse, key: &[u8]) -> u32 {
    let tag = match what {
        KeyUse::Encryption => 1u8,
        KeyUse::Signature => 2u8,
    };
    core::iter::once(&tag)
        .chain(key)
        .fold(0x811c_9dc5_u32, |h, &b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

/// The fingerprints of the keys `node` uses.
pub(crate) fn node_fingerprints(node: &Node) -> impl Iterator<Item = u32> + '_ {
    let encryption = fingerprint(KeyUse::Encryption, node.encryption_key().as_slice());
    let signature = match node {
        Node::Leaf(leaf) => Some(fingerprint(KeyUse::Signature, leaf.signature_key.as_slice())),
        Node::Parent(_) => None,
    };
    core::iter::once(encryption).chain(signature)
}

/// Per credential type, how many members use it and how many support it
/// (list it in their capabilities), so a new leaf's credential type can be
/// checked against all members at once (§7.3).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CredentialCounts {
    members: u32,
    in_use: BTreeMap<CredentialType, u32>,
    supported: BTreeMap<CredentialType, u32>,
}

impl CredentialCounts {
    /// Counts `leaf` in (`add`) or out.
    pub(crate) fn count(&mut self, leaf: &LeafNode, add: bool) {
        fn change(n: &mut u32, add: bool) {
            *n = if add { n.saturating_add(1) } else { n.saturating_sub(1) };
        }
        change(&mut self.members, add);
        change(self.in_use.entry(leaf.credential.credential_type()).or_default(), add);
        let supported = &leaf.capabilities.credentials;
        for (i, t) in supported.iter().enumerate() {
            // A type listed twice counts once.
            if !supported[..i].contains(t) {
                change(self.supported.entry(*t).or_default(), add);
            }
        }
    }

    /// Whether `leaf` supports every credential type in use and every
    /// member supports its type, not counting the member `replaced` (the
    /// leaf node `leaf` replaces, if any).
    pub(crate) fn compatible(&self, leaf: &LeafNode, replaced: Option<&LeafNode>) -> bool {
        let minus = |n: u32, here: bool| n.saturating_sub(u32::from(here));
        let own = leaf.credential.credential_type();
        let supports_all = self.in_use.iter().all(|(t, n)| {
            let used_by_replaced = replaced.is_some_and(|r| r.credential.credential_type() == *t);
            minus(*n, used_by_replaced) == 0 || leaf.capabilities.credentials.contains(t)
        });
        let supporting = self.supported.get(&own).copied().unwrap_or(0);
        let replaced_supports = replaced.is_some_and(|r| r.capabilities.credentials.contains(&own));
        let members = minus(self.members, replaced.is_some());
        supports_all && minus(supporting, replaced_supports) == members
    }
}
