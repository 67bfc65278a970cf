//! The service's operations, shared by the HTTP routes and the WebSocket:
//! each takes the authenticated [`Principal`], checks access and limits,
//! reads the MLS framing and asks the store. Posting to a group, which
//! checks the most, has a module of its own: `post`.

mod post;

pub use post::MAX_WELCOME_RECIPIENTS;

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

use crate::auth::{Authenticator, CHALLENGE_TTL, Principal, key_record};
use crate::config::Config;
use crate::error::{ApiError, ErrorCode};
use crate::hub::Hub;
use crate::inspect::{self, Leaf};
use crate::limits::{Connections, RateLimiter};
use crate::metrics::Metrics;
use crate::store::{Access, Entry, EntryKind, GroupOptions, GroupState, KeyPackageUpload, Quota, Read, Store, Topic};
use crate::wire::{self, MailboxItem};

/// Most entries one read returns.
pub const MAX_PAGE: usize = 1000;

/// A Welcome as stored in a mailbox (its position is the entry's).
#[derive(serde::Serialize, serde::Deserialize)]
pub struct MailboxPayload {
    /// The group.
    #[serde(with = "wire::b64")]
    pub group_id: Vec<u8>,
    /// The adding Commit's position.
    pub commit_position: u64,
    /// The Welcome.
    #[serde(with = "wire::b64")]
    pub welcome: Vec<u8>,
}

impl MailboxPayload {
    /// The item at `position`, if the payload decodes.
    pub fn decode(position: u64, payload: &[u8]) -> Option<MailboxItem> {
        let p: Self = serde_json::from_slice(payload).ok()?;
        Some(MailboxItem {
            position,
            group_id: p.group_id,
            commit_position: p.commit_position,
            welcome: p.welcome,
        })
    }
}

/// Everything a replica shares between requests.
pub struct App {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Local fan-out.
    pub hub: Arc<Hub>,
    /// Challenges and tokens.
    pub auth: Authenticator,
    /// Request rate per client.
    pub rate: RateLimiter,
    /// WebSocket connection counts.
    pub connections: Arc<Connections>,
    /// Counters.
    pub metrics: Metrics,
    /// What each identity may use.
    pub quotas: Quotas,
    /// Settings.
    pub config: Config,
    /// Turns `true` when the replica starts shutting down.
    pub shutdown: watch::Receiver<bool>,
}

fn too_large(what: &str, limit: usize) -> ApiError {
    ApiError::new(ErrorCode::TooLarge, format!("{what} is larger than {limit} bytes"))
}

/// The quotas of every identity, shared by all replicas through the store
/// (unlike the request rate, which each replica keeps).
#[derive(Clone, Copy, Debug)]
pub struct Quotas {
    /// Groups created, in all.
    pub groups: Quota,
    /// Bytes posted (messages, Welcomes, GroupInfos) per hour.
    pub bytes: Quota,
    /// KeyPackages claimed per hour, of anyone.
    pub claims: Quota,
}

impl Quotas {
    fn new(config: &Config) -> Self {
        let quota = |name, limit, window_secs| Quota {
            name,
            limit,
            window_secs,
        };
        Self {
            groups: quota("groups", config.max_groups_per_client, None),
            bytes: quota("bytes", config.max_bytes_per_hour, Some(3600)),
            claims: quota("claims", config.max_claims_per_hour, Some(3600)),
        }
    }
}

/// The part of a group's log a client may read (see [`App::readable`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Readable {
    /// Entries after this position: the position asked for, or the one
    /// before the Commit that added the client if that is later.
    pub after: u64,
    /// For a removed client, the Commit that removed it: nothing after it.
    pub until: Option<u64>,
}

impl App {
    /// Builds the shared state around a store.
    pub async fn new(
        config: Config,
        store: Arc<dyn Store>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Arc<Self>, ApiError> {
        let secret = config.token_key()?;
        let hub = Arc::new(Hub::default());
        hub.spawn_dispatcher(&*store);
        Ok(Arc::new(Self {
            auth: Authenticator::new(secret, config.token_ttl),
            quotas: Quotas::new(&config),
            rate: RateLimiter::new(config.rate_per_second, config.rate_burst),
            connections: Arc::new(Connections::new(
                config.max_connections,
                config.max_connections_per_client,
            )),
            metrics: Metrics::default(),
            hub,
            store,
            config,
            shutdown,
        }))
    }

    /// Times a store call into the latency histogram.
    pub async fn timed<T>(&self, call: impl Future<Output = T>) -> T {
        let start = Instant::now();
        let out = call.await;
        self.metrics.store_latency(start.elapsed());
        out
    }

    fn check_size(&self, what: &str, bytes: &[u8]) -> Result<(), ApiError> {
        if bytes.len() > self.config.max_message_bytes {
            return Err(too_large(what, self.config.max_message_bytes));
        }
        Ok(())
    }

    /// Logs in: checks the signed challenge and binds the identity to its
    /// key on first use.
    pub async fn login(&self, login: &wire::Login) -> Result<wire::LoginToken, ApiError> {
        self.auth.verify_login(login)?;
        // Checked after the signature, so junk cannot use up challenges.
        if !self
            .timed(self.store.use_once(&login.challenge, CHALLENGE_TTL + 1))
            .await?
        {
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                "the challenge was answered already: ask for a new one",
            ));
        }
        let record = key_record(login.cipher_suite, &login.signature_key);
        let bound = self.timed(self.store.register(&login.identity, &record)).await?;
        if bound != record {
            return Err(ApiError::new(
                ErrorCode::KeyMismatch,
                "the identity is registered with another signature key",
            ));
        }
        Ok(wire::LoginToken {
            token: self.auth.token(&login.identity),
            expires_in: self.auth.token_ttl(),
        })
    }

    /// Stores the client's own KeyPackages.
    pub async fn publish_key_packages(
        &self,
        me: &Principal,
        request: wire::PublishKeyPackages,
    ) -> Result<wire::Published, ApiError> {
        self.rate.check(&me.identity)?;
        if request.key_packages.len() > self.config.max_key_packages {
            return Err(ApiError::new(
                ErrorCode::TooManyKeyPackages,
                "too many KeyPackages in one request",
            ));
        }
        let registered = self.timed(self.store.registered_key(&me.identity)).await?;
        for kp in request.key_packages.iter().chain(&request.last_resort) {
            self.check_size("a KeyPackage", kp)?;
            let info = inspect::inspect_key_package(kp)?;
            if info.identity != me.identity {
                return Err(ApiError::new(
                    ErrorCode::Forbidden,
                    "a KeyPackage is for another identity",
                ));
            }
            if registered.as_deref() != Some(&key_record(info.cipher_suite, &info.signature_key)[..]) {
                return Err(ApiError::new(
                    ErrorCode::KeyMismatch,
                    "a KeyPackage has another signature key than the login",
                ));
            }
        }
        let upload = KeyPackageUpload {
            key_packages: request.key_packages,
            last_resort: request.last_resort,
            replace: request.replace,
        };
        let stored = self.timed(
            self.store
                .add_key_packages(&me.identity, upload, self.config.max_key_packages),
        );
        match stored.await? {
            Some(stored) => Ok(wire::Published { stored }),
            None => Err(ApiError::new(
                ErrorCode::TooManyKeyPackages,
                format!(
                    "at most {} KeyPackages are stored per client",
                    self.config.max_key_packages
                ),
            )),
        }
    }

    /// Hands out one KeyPackage of `identity`.
    pub async fn claim(&self, me: &Principal, identity: &str) -> Result<wire::Claimed, ApiError> {
        self.rate.check(&me.identity)?;
        inspect::check_identity(identity)?;
        // Each claim takes a KeyPackage from its owner: bounded per
        // claimer, and the owner's last-resort one is never used up.
        self.take_quota(me, self.quotas.claims, 1).await?;
        match self.timed(self.store.claim_key_package(identity)).await? {
            Some((key_package, last_resort)) => Ok(wire::Claimed {
                key_package,
                last_resort,
            }),
            None => Err(ApiError::new(
                ErrorCode::NoKeyPackage,
                format!("{identity} has no KeyPackage left"),
            )),
        }
    }

    /// Creates a group with the client as its only member.
    pub async fn create_group(&self, me: &Principal, request: &wire::CreateGroup) -> Result<(), ApiError> {
        self.rate.check(&me.identity)?;
        inspect::check_group_id(&request.group_id)?;
        // The group's suite is its creator's (ProposalRefs hash with it),
        // and so is the key of leaf 0.
        let key = self
            .timed(self.store.registered_key(&me.identity))
            .await?
            .unwrap_or_default();
        let Some((suite, signature_key)) = key.split_first_chunk::<2>() else {
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                "the identity is not registered",
            ));
        };
        let creator = Leaf {
            identity: me.identity.clone(),
            key: signature_key.to_vec(),
        };
        let options = GroupOptions {
            external_join: request.external_join,
            cipher_suite: u16::from_be_bytes(*suite),
        };
        self.take_quota(me, self.quotas.groups, 1).await?;
        if !self
            .timed(self.store.create_group(&request.group_id, &creator, options))
            .await?
        {
            return Err(ApiError::new(ErrorCode::GroupExists, "a group with that id exists"));
        }
        Ok(())
    }

    async fn group_state(&self, group: &[u8]) -> Result<GroupState, ApiError> {
        self.timed(self.store.group(group))
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::NoSuchGroup, "no such group"))
    }

    /// Refuses a client that is not a member.
    pub async fn require_member(&self, me: &Principal, group: &[u8]) -> Result<(), ApiError> {
        inspect::check_group_id(group)?;
        if self.timed(self.store.is_member(group, &me.identity)).await? {
            return Ok(());
        }
        Err(self.not_member(group).await)
    }

    /// Why a non-member is refused: `not_member`, or `no_such_group`.
    async fn not_member(&self, group: &[u8]) -> ApiError {
        match self.timed(self.store.group(group)).await {
            Ok(Some(_)) => ApiError::new(ErrorCode::NotMember, "not a member of the group"),
            Ok(None) => ApiError::new(ErrorCode::NoSuchGroup, "no such group"),
            Err(e) => e.into(),
        }
    }

    /// What of the group's log after `after` the client may read: from the
    /// Commit that added it on (that Commit included), and for a client
    /// removed by the Commit at `p` up to and including that Commit.
    /// Refuses non-members, and a removed client that has read up to its
    /// removal.
    pub async fn readable(&self, me: &Principal, group: &[u8], after: u64) -> Result<Readable, ApiError> {
        inspect::check_group_id(group)?;
        let from = |joined: u64| after.max(joined.saturating_sub(1));
        match self.timed(self.store.access(group, &me.identity)).await? {
            Access::Member { joined } => Ok(Readable {
                after: from(joined),
                until: None,
            }),
            Access::RemovedAt { joined, removal } if after < removal => Ok(Readable {
                after: from(joined),
                until: Some(removal),
            }),
            Access::RemovedAt { removal, .. } => Err(ApiError::new(
                ErrorCode::NotMember,
                format!("removed from the group by the Commit at position {removal}"),
            )),
            Access::None => Err(self.not_member(group).await),
        }
    }

    /// Up to `limit` entries of a group after `after` that the client may
    /// read (see [`App::readable`]).
    pub async fn read_group(
        &self,
        me: &Principal,
        group: &[u8],
        after: u64,
        limit: usize,
    ) -> Result<Vec<Arc<Entry>>, ApiError> {
        let Readable { after, until } = self.readable(me, group, after).await?;
        let mut entries = self.read(&Topic::Group(group.to_vec()), after, limit).await?;
        // A member removed between the check and the read gets its removal
        // Commit, which is in this page, and nothing after it.
        let until = match until {
            None if entries.iter().any(|e| e.kind == EntryKind::Commit) => self.readable(me, group, after).await?.until,
            until => until,
        };
        if let Some(removal) = until {
            entries.retain(|e| e.position <= removal);
        }
        Ok(entries)
    }

    /// The group's epoch and members, for members.
    pub async fn group_status(&self, me: &Principal, group: &[u8]) -> Result<wire::GroupStatus, ApiError> {
        self.rate.check(&me.identity)?;
        self.require_member(me, group).await?;
        let state = self.group_state(group).await?;
        Ok(wire::GroupStatus {
            epoch: state.epoch,
            members: state.roster.members(),
        })
    }

    /// Counts `amount` against the client's `quota`, or refuses.
    async fn take_quota(&self, me: &Principal, quota: Quota, amount: u64) -> Result<(), ApiError> {
        if self.timed(self.store.take_quota(&me.identity, quota, amount)).await? {
            return Ok(());
        }
        let per = match quota.window_secs {
            Some(secs) => format!(" per {secs} s"),
            None => String::new(),
        };
        Err(ApiError::new(
            ErrorCode::QuotaExceeded,
            format!("at most {} {}{per} per client", quota.limit, quota.name),
        ))
    }

    /// Up to `limit` entries of a topic after `after`.
    pub async fn read(&self, topic: &Topic, after: u64, limit: usize) -> Result<Vec<Arc<Entry>>, ApiError> {
        match self
            .timed(self.store.read(topic, after, limit.clamp(1, MAX_PAGE)))
            .await?
        {
            Read::Entries(entries) => Ok(entries),
            Read::Expired { oldest } => {
                let mut e = ApiError::new(
                    ErrorCode::PositionExpired,
                    format!("messages after {after} are no longer kept; the oldest is {oldest}"),
                );
                e.oldest = Some(oldest);
                Err(e)
            }
        }
    }

    /// A group's messages after `after`, for members, and for a removed
    /// client up to the Commit that removed it.
    pub async fn messages(
        &self,
        me: &Principal,
        group: &[u8],
        after: u64,
        limit: usize,
    ) -> Result<wire::MessagePage, ApiError> {
        self.rate.check(&me.identity)?;
        let entries = self.read_group(me, group, after, limit).await?;
        let messages = entries
            .iter()
            .map(|e| wire::LogMessage {
                position: e.position,
                message: e.payload.clone(),
            })
            .collect();
        Ok(wire::MessagePage { messages })
    }

    /// The client's own Welcomes after `after`.
    pub async fn mailbox(&self, me: &Principal, after: u64, limit: usize) -> Result<wire::MailboxPage, ApiError> {
        self.rate.check(&me.identity)?;
        let entries = self.read(&Topic::Mailbox(me.identity.clone()), after, limit).await?;
        let items = entries
            .iter()
            .filter_map(|e| MailboxPayload::decode(e.position, &e.payload))
            .collect();
        Ok(wire::MailboxPage { items })
    }

    /// The group's latest GroupInfo: for members, or anyone if the group
    /// takes external joins.
    pub async fn group_info(&self, me: &Principal, group: &[u8]) -> Result<wire::GroupInfoBody, ApiError> {
        self.rate.check(&me.identity)?;
        let state = self.group_state(group).await?;
        if !state.external_join && !state.roster.contains(&me.identity) {
            return Err(ApiError::new(
                ErrorCode::NotMember,
                "the group does not take external joins",
            ));
        }
        match self.timed(self.store.group_info(group)).await? {
            Some(group_info) => Ok(wire::GroupInfoBody { group_info }),
            None => Err(ApiError::new(
                ErrorCode::NotFound,
                "no GroupInfo was published for the group",
            )),
        }
    }

    /// Replaces the GroupInfo with one of the current epoch, signed by the
    /// member whose Commit started it (only that member may).
    pub async fn put_group_info(&self, me: &Principal, group: &[u8], group_info: Vec<u8>) -> Result<(), ApiError> {
        self.rate.check(&me.identity)?;
        self.check_size("the GroupInfo", &group_info)?;
        self.require_member(me, group).await?;
        let gi = inspect::group_info(&group_info)?;
        let state = self.group_state(group).await?;
        inspect::check_group_info(&gi, group, state.epoch, &state.roster, state.cipher_suite)?;
        if state.roster.at(state.roster.committer) != Some(&me.identity) {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "only the member whose Commit started the epoch stores its GroupInfo",
            ));
        }
        if !self
            .timed(self.store.set_group_info(group, state.epoch, group_info))
            .await?
        {
            return Err(ApiError::new(
                ErrorCode::InvalidGroupInfo,
                "the GroupInfo is not of the group's current epoch",
            ));
        }
        Ok(())
    }
}
