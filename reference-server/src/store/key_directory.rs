//! Identities and what hangs off them: the signature key each is bound to,
//! its KeyPackages, its quotas, and the sign-in challenges answered.

use async_trait::async_trait;

use super::StoreError;

/// KeyPackages to store for one identity.
#[derive(Clone, Debug, Default)]
pub struct KeyPackageUpload {
    /// Single-use KeyPackages.
    pub key_packages: Vec<Vec<u8>>,
    /// The new last-resort KeyPackage.
    pub last_resort: Option<Vec<u8>>,
    /// Drop the unclaimed single-use ones first.
    pub replace: bool,
}

/// How much of something an identity may use: `limit` per `window_secs`
/// (a fixed window from the first use), or in all if `window_secs` is
/// `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// What is counted (part of the store key).
    pub name: &'static str,
    /// The most allowed.
    pub limit: u64,
    /// The window's length, in seconds.
    pub window_secs: Option<u64>,
}

/// Keys, KeyPackages, quotas and sign-in challenges, by identity.
#[async_trait]
pub trait KeyDirectory: Send + Sync {
    /// Marks `token` used for `ttl_secs`; `false` if it was already (a
    /// sign-in challenge is answered once, at whichever replica).
    async fn use_once(&self, token: &[u8], ttl_secs: u64) -> Result<bool, StoreError>;

    /// Counts `amount` against `identity`'s `quota`; `false` (and nothing
    /// counted) if that would go over its limit.
    async fn take_quota(&self, identity: &str, quota: Quota, amount: u64) -> Result<bool, StoreError>;

    /// Binds `identity` to `key` (suite and signature key) on first use and
    /// returns the key it is bound to.
    async fn register(&self, identity: &str, key: &[u8]) -> Result<Vec<u8>, StoreError>;

    /// The key `identity` is bound to.
    async fn registered_key(&self, identity: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Adds single-use KeyPackages (after dropping the unclaimed ones if
    /// `replace`; and replaces the last-resort one if given) unless that
    /// would store more than `max`; returns how many are stored, or `None`
    /// when over `max` (nothing changed).
    async fn add_key_packages(
        &self,
        identity: &str,
        add: KeyPackageUpload,
        max: usize,
    ) -> Result<Option<usize>, StoreError>;

    /// Takes one KeyPackage (atomically: each is handed out once), else the
    /// last-resort one (`true`).
    async fn claim_key_package(&self, identity: &str) -> Result<Option<(Vec<u8>, bool)>, StoreError>;
}
