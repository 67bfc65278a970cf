//! The Redis store: a stream per group and per mailbox, shared by any
//! number of stateless replicas.
//!
//! Every key of a group carries the hash tag `{g:<id>}` and every key of a
//! client `{c:<identity>}`, so each Lua script touches one hash slot only
//! and the layout works on Redis Cluster. A group's Commit check, append,
//! epoch, roster, removal positions and GroupInfo change in one script
//! (atomic). Stream entry ids are `0-<position>`, so positions are plain
//! integers in both stores.
//! Accepted entries are also PUBLISHed on one channel that every replica
//! subscribes to; a replica that loses the subscription resyncs from the
//! streams.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, IntoConnectionInfo, Script};
use tokio::sync::broadcast;

use super::{
    Access, Append, AppendKind, AppendOutcome, DEDUP_WINDOW_SECS, Entry, EntryKind, FeedEvent, GroupLog, GroupOptions,
    GroupState, KeyDirectory, KeyPackageUpload, LiveFeed, MAX_PROPOSALS, Quota, Read, Store, StoreError, Topic,
};
use crate::inspect::{Leaf, Roster};
use crate::wire::b64;

const FEED_CAPACITY: usize = 16 * 1024;

const APPEND: &str = r#"
-- KEYS: meta, members, log, info, seen (this message's digest key), props,
--       removed (removal position per identity), next (scratch members set),
--       joined (join position per identity)
-- ARGV: 1 sender, 2 member_check, 3 epoch, 4 message, 5 is_commit,
--       6 dedup window (s), 7 has_effects, 8 roster, 9 group_info,
--       10 retention, 11 channel, 12 topic tag, 13 proposal ref ('' if none),
--       14 proposal effect, 15 max proposals, 16 member count, 17.. members
local cur = redis.call('HGET', KEYS[1], 'epoch')
if not cur then return {0} end
cur = tonumber(cur)
if ARGV[2] == '1' and redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return {3} end
local seen = redis.call('GET', KEYS[5])
if seen then return {2, tonumber(seen)} end
local epoch = tonumber(ARGV[3])
local is_commit = ARGV[5] == '1'
if is_commit then
  if epoch ~= cur then return {4, cur} end
  if ARGV[7] ~= '1' then return {6} end
elseif epoch > cur then
  return {5, cur}
elseif ARGV[13] ~= '' and epoch == cur and redis.call('HLEN', KEYS[6]) >= tonumber(ARGV[15]) then
  return {7}
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local kind = '0'
if is_commit then kind = '1' end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[10], '0-' .. seq, 'k', kind, 'm', ARGV[4])
redis.call('SET', KEYS[5], seq, 'EX', ARGV[6])
if ARGV[13] ~= '' and epoch == cur then
  redis.call('HSET', KEYS[6], ARGV[13], ARGV[14])
end
if is_commit then
  redis.call('HINCRBY', KEYS[1], 'epoch', 1)
  redis.call('DEL', KEYS[6])
  if ARGV[7] == '1' then
    redis.call('HSET', KEYS[1], 'roster', ARGV[8])
    local n = tonumber(ARGV[16])
    -- Calls f(i, j) for the members ARGV[i..j], in chunks (unpack's limit).
    local function chunks(f)
      local i = 17
      while i <= 16 + n do
        local j = math.min(i + 999, 16 + n)
        f(i, j)
        i = j + 1
      end
    end
    local function add_members(key)
      local added = 0
      chunks(function(i, j) added = added + redis.call('SADD', key, unpack(ARGV, i, j)) end)
      return added
    end
    -- Whoever is new reads the log from this Commit on.
    chunks(function(i, j)
      for k, known in ipairs(redis.call('SMISMEMBER', KEYS[2], unpack(ARGV, i, j))) do
        if known == 0 then redis.call('HSET', KEYS[9], ARGV[i + k - 1], seq) end
      end
    end)
    -- Most Commits remove nobody: adding the new members to the set then
    -- leaves exactly n in it. Otherwise the set is rebuilt aside, and whoever
    -- left may still read the log up to this Commit.
    local before = redis.call('SCARD', KEYS[2])
    if before + add_members(KEYS[2]) > n then
      redis.call('DEL', KEYS[8])
      add_members(KEYS[8])
      for _, gone in ipairs(redis.call('SDIFF', KEYS[2], KEYS[8])) do
        redis.call('HSET', KEYS[7], gone, seq)
      end
      if n > 0 then
        redis.call('RENAME', KEYS[8], KEYS[2])
      else
        redis.call('DEL', KEYS[2])
      end
    end
    if ARGV[9] ~= '' then redis.call('SET', KEYS[4], ARGV[9]) end
  end
end
redis.call('PUBLISH', ARGV[11], kind .. ':' .. seq .. ':' .. ARGV[12] .. ':' .. ARGV[4])
return {1, seq}
"#;

const DELIVER: &str = r#"
-- KEYS: mailbox stream, mailbox counter; ARGV: item, retention, channel, topic tag
local seq = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '0-' .. seq, 'k', '0', 'm', ARGV[1])
redis.call('PUBLISH', ARGV[3], '0:' .. seq .. ':' .. ARGV[4] .. ':' .. ARGV[1])
return seq
"#;

const CREATE_GROUP: &str = r#"
-- KEYS: meta, members; ARGV: roster, external_join, creator, cipher suite
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'epoch', 0, 'seq', 0, 'roster', ARGV[1], 'ext', ARGV[2], 'suite', ARGV[4])
redis.call('SADD', KEYS[2], ARGV[3])
return 1
"#;

const SET_GROUP_INFO: &str = r#"
-- KEYS: meta, info; ARGV: epoch, group info
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1
"#;

const ADD_KEY_PACKAGES: &str = r#"
-- KEYS: list, last resort; ARGV: max, last resort or '', replace, key packages...
local n = #ARGV - 3
local kept = redis.call('LLEN', KEYS[1])
if ARGV[3] == '1' then kept = 0 end
if kept + n > tonumber(ARGV[1]) then return -1 end
if ARGV[3] == '1' then redis.call('DEL', KEYS[1]) end
if n > 0 then redis.call('RPUSH', KEYS[1], unpack(ARGV, 4)) end
if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2]) end
return redis.call('LLEN', KEYS[1])
"#;

const TAKE_QUOTA: &str = r#"
-- KEYS: counter; ARGV: amount, limit, window in seconds (0: none)
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return 0 end
redis.call('INCRBY', KEYS[1], ARGV[1])
if used == 0 and ARGV[3] ~= '0' then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return 1
"#;

const CLAIM: &str = r#"
-- KEYS: list, last resort
local kp = redis.call('LPOP', KEYS[1])
if kp then return {kp, 0} end
kp = redis.call('GET', KEYS[2])
if kp then return {kp, 1} end
return {}
"#;

/// Where and how to reach Redis.
#[derive(Clone, Debug)]
pub struct RedisConfig {
    /// `redis://host:port/`; with `cluster`, seed nodes separated by commas.
    pub url: String,
    /// Talk to a Redis Cluster (commands routed by hash slot).
    pub cluster: bool,
    /// Prefix of every key and of the feed channel.
    pub prefix: String,
}

/// One node (reconnecting by itself) or a cluster (routing each command
/// and script by the hash slot of its keys).
#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    Cluster(redis::cluster_async::ClusterConnection),
}

impl redis::aio::ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

struct Scripts {
    append: Script,
    deliver: Script,
    create_group: Script,
    set_group_info: Script,
    add_key_packages: Script,
    claim: Script,
    take_quota: Script,
}

/// The Redis [`Store`].
pub struct RedisStore {
    conn: Conn,
    prefix: String,
    channel: String,
    scripts: Scripts,
    feed: broadcast::Sender<FeedEvent>,
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl RedisStore {
    /// Connects (retrying in the background when Redis goes away) and
    /// starts listening for entries accepted by any replica.
    pub async fn connect(config: RedisConfig) -> Result<Self, StoreError> {
        let seeds: Vec<&str> = config.url.split(',').map(str::trim).filter(|u| !u.is_empty()).collect();
        // Without TCP_NODELAY a pipelined request waits for the ACK of the
        // one before it (Nagle), which adds a round trip under load.
        let tcp = || redis::io::tcp::TcpSettings::default().set_nodelay(true);
        let first = seeds.first().ok_or_else(|| StoreError::new("no Redis URL"))?;
        // The feed listens on one node: a cluster forwards every PUBLISH
        // to all its nodes.
        let client = redis::Client::open(first.into_connection_info()?.set_tcp_settings(tcp()))?;
        let conn = if config.cluster {
            let cluster = redis::cluster::ClusterClient::builder(seeds)
                .tcp_settings(tcp())
                .connection_timeout(Duration::from_secs(2))
                .response_timeout(Duration::from_secs(5))
                .build()?;
            Conn::Cluster(cluster.get_async_connection().await?)
        } else {
            let manager_config = redis::aio::ConnectionManagerConfig::new()
                .set_connection_timeout(Some(Duration::from_secs(2)))
                .set_response_timeout(Some(Duration::from_secs(5)))
                .set_number_of_retries(2)
                .set_max_delay(Duration::from_millis(500));
            Conn::Single(ConnectionManager::new_with_config(client.clone(), manager_config).await?)
        };
        let channel = format!("{}:feed", config.prefix);
        let feed = broadcast::channel(FEED_CAPACITY).0;
        let listener = tokio::spawn(listen(client, channel.clone(), feed.clone()));
        let scripts = Scripts {
            append: Script::new(APPEND),
            deliver: Script::new(DELIVER),
            create_group: Script::new(CREATE_GROUP),
            set_group_info: Script::new(SET_GROUP_INFO),
            add_key_packages: Script::new(ADD_KEY_PACKAGES),
            claim: Script::new(CLAIM),
            take_quota: Script::new(TAKE_QUOTA),
        };
        Ok(Self {
            conn,
            prefix: config.prefix,
            channel,
            scripts,
            feed,
            listener,
        })
    }

    fn group_key(&self, group: &[u8], part: &str) -> String {
        format!("{}:{{g:{}}}:{part}", self.prefix, b64::encode(group))
    }

    fn client_key(&self, identity: &str, part: &str) -> String {
        format!("{}:{{c:{}}}:{part}", self.prefix, b64::encode(identity.as_bytes()))
    }

    /// Sets `key` to `value` unless it is set; returns what it holds after.
    async fn set_once(&self, key: String, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        let old: Option<Vec<u8>> = redis::cmd("SET")
            .arg(key)
            .arg(value)
            .arg("NX")
            .arg("GET")
            .query_async(&mut self.conn())
            .await?;
        Ok(old.unwrap_or_else(|| value.to_vec()))
    }

    fn topic_key(&self, topic: &Topic) -> String {
        match topic {
            Topic::Group(g) => self.group_key(g, "log"),
            Topic::Mailbox(c) => self.client_key(c, "mbox"),
        }
    }

    fn conn(&self) -> Conn {
        // A cheap handle onto one multiplexed connection: concurrent
        // requests are pipelined.
        self.conn.clone()
    }
}

/// `g:<id>` or `c:<identity>`, as in the feed's messages.
fn topic_tag(topic: &Topic) -> String {
    match topic {
        Topic::Group(g) => format!("g:{}", b64::encode(g)),
        Topic::Mailbox(c) => format!("c:{}", b64::encode(c.as_bytes())),
    }
}

/// Parses a feed message `kind:position:g|c:<b64>:payload`.
fn parse_feed(bytes: &[u8]) -> Option<std::sync::Arc<Entry>> {
    let mut parts = bytes.splitn(5, |&b| b == b':');
    let kind = std::str::from_utf8(parts.next()?).ok()?.parse::<u8>().ok()?;
    let position = std::str::from_utf8(parts.next()?).ok()?.parse::<u64>().ok()?;
    let which = parts.next()?;
    let id = b64::decode(std::str::from_utf8(parts.next()?).ok()?).ok()?;
    let payload = parts.next()?.to_vec();
    let topic = match which {
        b"g" => Topic::Group(id),
        b"c" => Topic::Mailbox(String::from_utf8(id).ok()?),
        _ => return None,
    };
    Some(Entry::new(topic, position, EntryKind::from_u8(kind), payload))
}

/// Forwards the feed channel into `feed`, reconnecting forever; after each
/// (re)subscription a `Resync` makes pushers catch up from the streams.
async fn listen(client: redis::Client, channel: String, feed: broadcast::Sender<FeedEvent>) {
    use futures_util::StreamExt;
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                Ok(()) => {
                    let _ = feed.send(FeedEvent::Resync);
                    let mut messages = pubsub.into_on_message();
                    while let Some(message) = messages.next().await {
                        match parse_feed(message.get_payload_bytes()) {
                            Some(entry) => {
                                let _ = feed.send(FeedEvent::Entry(entry));
                            }
                            None => tracing::warn!("unparsable feed message ignored"),
                        }
                    }
                    tracing::warn!("redis feed subscription ended; reconnecting");
                }
                Err(e) => tracing::warn!(error = %e, "redis subscribe failed"),
            },
            Err(e) => tracing::warn!(error = %e, "redis pubsub connection failed"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What `?` makes of a failed Redis call.
impl From<redis::RedisError> for StoreError {
    fn from(e: redis::RedisError) -> Self {
        Self::new(e)
    }
}

/// What the append script answered.
fn append_outcome(reply: &[u64]) -> Result<AppendOutcome, StoreError> {
    Ok(match reply {
        [0] => AppendOutcome::NoGroup,
        [1, position] => AppendOutcome::Accepted(*position),
        [2, position] => AppendOutcome::Duplicate(*position),
        [3] => AppendOutcome::NotMember,
        [4, current] => AppendOutcome::EpochMovedOn { current: *current },
        [5, current] => AppendOutcome::FutureEpoch { current: *current },
        [6] => AppendOutcome::Stale,
        [7] => AppendOutcome::TooManyProposals,
        _ => return Err(StoreError::new("unexpected append reply")),
    })
}

fn roster_json(roster: &Roster) -> Result<String, StoreError> {
    serde_json::to_string(roster).map_err(StoreError::new)
}

#[async_trait]
impl Store for RedisStore {
    async fn ping(&self) -> Result<(), StoreError> {
        let _: String = redis::cmd("PING").query_async(&mut self.conn()).await?;
        Ok(())
    }
}

#[async_trait]
impl KeyDirectory for RedisStore {
    async fn use_once(&self, token: &[u8], ttl_secs: u64) -> Result<bool, StoreError> {
        let set: Option<String> = redis::cmd("SET")
            .arg(format!("{}:used:{}", self.prefix, hex::encode(token)))
            .arg(1)
            .arg("NX")
            .arg("EX")
            .arg(ttl_secs.max(1))
            .query_async(&mut self.conn())
            .await?;
        Ok(set.is_some())
    }

    async fn take_quota(&self, identity: &str, quota: Quota, amount: u64) -> Result<bool, StoreError> {
        let taken: i64 = self
            .scripts
            .take_quota
            .key(self.client_key(identity, &format!("quota:{}", quota.name)))
            .arg(amount)
            .arg(quota.limit)
            .arg(quota.window_secs.unwrap_or(0))
            .invoke_async(&mut self.conn())
            .await?;
        Ok(taken == 1)
    }

    async fn register(&self, identity: &str, key: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.set_once(self.client_key(identity, "key"), key).await
    }

    async fn registered_key(&self, identity: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.conn().get(self.client_key(identity, "key")).await?)
    }

    async fn add_key_packages(
        &self,
        identity: &str,
        add: KeyPackageUpload,
        max: usize,
    ) -> Result<Option<usize>, StoreError> {
        let mut call = self.scripts.add_key_packages.key(self.client_key(identity, "kps"));
        call.key(self.client_key(identity, "kplast"))
            .arg(max)
            .arg(add.last_resort.unwrap_or_default())
            .arg(u8::from(add.replace));
        for kp in add.key_packages {
            call.arg(kp);
        }
        let stored: i64 = call.invoke_async(&mut self.conn()).await?;
        Ok(usize::try_from(stored).ok())
    }

    async fn claim_key_package(&self, identity: &str) -> Result<Option<(Vec<u8>, bool)>, StoreError> {
        let reply: Vec<redis::Value> = self
            .scripts
            .claim
            .key(self.client_key(identity, "kps"))
            .key(self.client_key(identity, "kplast"))
            .invoke_async(&mut self.conn())
            .await?;
        match reply.as_slice() {
            [redis::Value::BulkString(kp), redis::Value::Int(last)] => Ok(Some((kp.clone(), *last == 1))),
            [] => Ok(None),
            _ => Err(StoreError::new("unexpected claim reply")),
        }
    }
}

#[async_trait]
impl GroupLog for RedisStore {
    async fn create_group(&self, group: &[u8], creator: &Leaf, options: GroupOptions) -> Result<bool, StoreError> {
        let created: i64 = self
            .scripts
            .create_group
            .key(self.group_key(group, "meta"))
            .key(self.group_key(group, "members"))
            .arg(roster_json(&Roster::new(creator.clone()))?)
            .arg(u8::from(options.external_join))
            .arg(&creator.identity)
            .arg(options.cipher_suite)
            .invoke_async(&mut self.conn())
            .await?;
        Ok(created == 1)
    }

    async fn group(&self, group: &[u8]) -> Result<Option<GroupState>, StoreError> {
        type Meta = (Option<u64>, Option<String>, Option<u8>, Option<u16>);
        let ((epoch, roster, ext, suite), props): (Meta, Vec<(Vec<u8>, String)>) = redis::pipe()
            .cmd("HMGET")
            .arg(self.group_key(group, "meta"))
            .arg(&["epoch", "roster", "ext", "suite"])
            .cmd("HGETALL")
            .arg(self.group_key(group, "props"))
            .query_async(&mut self.conn())
            .await?;
        let (Some(epoch), Some(roster)) = (epoch, roster) else {
            return Ok(None);
        };
        let bad = |e: serde_json::Error| StoreError::new(format!("bad group state: {e}"));
        let roster = serde_json::from_str(&roster).map_err(bad)?;
        let proposals = props
            .into_iter()
            .map(|(r, effect)| Ok((r, serde_json::from_str(&effect).map_err(bad)?)))
            .collect::<Result<_, StoreError>>()?;
        Ok(Some(GroupState {
            epoch,
            roster,
            external_join: ext == Some(1),
            cipher_suite: suite.unwrap_or(1),
            proposals,
        }))
    }

    async fn is_member(&self, group: &[u8], identity: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn()
            .sismember(self.group_key(group, "members"), identity)
            .await?)
    }

    async fn access(&self, group: &[u8], identity: &str) -> Result<Access, StoreError> {
        let (member, removed_at, joined): (bool, Option<u64>, Option<u64>) = redis::pipe()
            .atomic()
            .sismember(self.group_key(group, "members"), identity)
            .hget(self.group_key(group, "removed"), identity)
            .hget(self.group_key(group, "joined"), identity)
            .query_async(&mut self.conn())
            .await?;
        let joined = joined.unwrap_or(0);
        Ok(match (member, removed_at) {
            (true, _) => Access::Member { joined },
            (false, Some(removal)) => Access::RemovedAt { joined, removal },
            (false, None) => Access::None,
        })
    }

    async fn append(&self, group: &[u8], append: Append, retention: u64) -> Result<AppendOutcome, StoreError> {
        let effects = append.kind.effects();
        let mut call = self.scripts.append.key(self.group_key(group, "meta"));
        call.key(self.group_key(group, "members"))
            .key(self.group_key(group, "log"))
            .key(self.group_key(group, "info"))
            .key(self.group_key(group, &format!("seen:{}", hex::encode(append.digest))))
            .key(self.group_key(group, "props"))
            .key(self.group_key(group, "removed"))
            .key(self.group_key(group, "next"))
            .key(self.group_key(group, "joined"))
            .arg(&append.sender)
            .arg(u8::from(append.kind.needs_member()))
            .arg(append.epoch)
            .arg(&append.message)
            .arg(u8::from(append.kind.is_commit()))
            .arg(DEDUP_WINDOW_SECS)
            .arg(u8::from(effects.is_some()));
        let members = effects.map(|e| e.roster.members()).unwrap_or_default();
        match effects {
            Some(e) => call
                .arg(roster_json(&e.roster)?)
                .arg(e.group_info.clone().unwrap_or_default()),
            None => call.arg("").arg(""),
        };
        call.arg(retention.max(1))
            .arg(&self.channel)
            .arg(topic_tag(&Topic::Group(group.to_vec())));
        match &append.kind {
            AppendKind::Proposal { reference, effect } => {
                let effect = serde_json::to_string(effect).map_err(StoreError::new)?;
                call.arg(reference.as_slice()).arg(effect)
            }
            _ => call.arg("").arg(""),
        };
        call.arg(MAX_PROPOSALS).arg(members.len());
        for m in &members {
            call.arg(m);
        }
        let reply: Vec<u64> = call.invoke_async(&mut self.conn()).await?;
        append_outcome(&reply)
    }

    async fn deliver(&self, identity: &str, item: Vec<u8>, retention: u64) -> Result<u64, StoreError> {
        Ok(self
            .scripts
            .deliver
            .key(self.client_key(identity, "mbox"))
            .key(self.client_key(identity, "mseq"))
            .arg(item)
            .arg(retention.max(1))
            .arg(&self.channel)
            .arg(topic_tag(&Topic::Mailbox(identity.to_owned())))
            .invoke_async(&mut self.conn())
            .await?)
    }

    async fn read(&self, topic: &Topic, after: u64, limit: usize) -> Result<Read, StoreError> {
        type Raw = Vec<(String, Vec<Vec<u8>>)>;
        let raw: Raw = redis::cmd("XRANGE")
            .arg(self.topic_key(topic))
            .arg(format!("(0-{after}"))
            .arg("+")
            .arg("COUNT")
            .arg(limit.max(1))
            .query_async(&mut self.conn())
            .await?;
        let mut entries = Vec::with_capacity(raw.len());
        for (id, fields) in raw {
            let position = id
                .strip_prefix("0-")
                .and_then(|p| p.parse::<u64>().ok())
                .ok_or_else(|| StoreError::new(format!("unexpected stream id {id}")))?;
            let (mut kind, mut payload) = (EntryKind::Plain, None);
            for pair in fields.chunks_exact(2) {
                match pair[0].as_slice() {
                    b"k" => kind = EntryKind::from_u8(if pair[1] == b"1" { 1 } else { 0 }),
                    b"m" => payload = Some(pair[1].clone()),
                    _ => {}
                }
            }
            let payload = payload.ok_or_else(|| StoreError::new("stream entry without payload"))?;
            entries.push(Entry::new(topic.clone(), position, kind, payload));
        }
        if let Some(first) = entries.first()
            && first.position > after + 1
        {
            return Ok(Read::Expired { oldest: first.position });
        }
        Ok(Read::Entries(entries))
    }

    async fn group_info(&self, group: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.conn().get(self.group_key(group, "info")).await?)
    }

    async fn set_group_info(&self, group: &[u8], epoch: u64, group_info: Vec<u8>) -> Result<bool, StoreError> {
        let set: i64 = self
            .scripts
            .set_group_info
            .key(self.group_key(group, "meta"))
            .key(self.group_key(group, "info"))
            .arg(epoch)
            .arg(group_info)
            .invoke_async(&mut self.conn())
            .await?;
        Ok(set == 1)
    }
}

impl LiveFeed for RedisStore {
    fn feed(&self) -> broadcast::Receiver<FeedEvent> {
        self.feed.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_messages_parse_and_garbage_does_not() {
        let tag = topic_tag(&Topic::Group(b"g1".to_vec()));
        let entry = parse_feed(format!("1:42:{tag}:pay:load").as_bytes()).unwrap();
        assert_eq!(
            (entry.position, entry.kind, entry.payload.as_slice()),
            (42, EntryKind::Commit, &b"pay:load"[..])
        );
        assert_eq!(entry.topic, Topic::Group(b"g1".to_vec()));
        for bad in [&b""[..], b"1:x:g:AA:p", b"0:1:z:AA:p", b"0:1:g:!!:p", b"0:1:g"] {
            assert!(parse_feed(bad).is_none());
        }
    }
}
