//! A client of the delivery service: [`DsClient`] for the HTTP calls and
//! [`Live`] for the WebSocket, which reconnects by itself, resubscribes
//! with its positions (so it misses nothing and gets nothing twice) and
//! resends posts that had no answer (the service recognises resent bytes).
//! The tests, `e2ee-load` and the CLI chat all use it.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use e2ee_core::crypto::Labelled;
use reference_server::auth::{LOGIN_LABEL, login_content};
use reference_server::wire::{self, ClientFrame, ErrorDetail, MailboxItem, Post, ServerFrame, b64};

/// Why a call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The service refused, with its error code.
    #[error("{status}: {} ({})", .detail.code, .detail.message)]
    Api {
        /// HTTP status (0 over the WebSocket).
        status: u16,
        /// The service's error.
        detail: ErrorDetail,
    },
    /// The service could not be reached or answered nonsense.
    #[error("transport: {0}")]
    Transport(String),
    /// The MLS library refused (a local error).
    #[error("mls: {0}")]
    Mls(String),
}

impl From<e2ee_core::Error> for Error {
    fn from(e: e2ee_core::Error) -> Self {
        Self::Mls(format!("{} ({e})", e.code()))
    }
}

impl Error {
    /// The service's error code, if it refused.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { detail, .. } => Some(&detail.code),
            Self::Transport(_) | Self::Mls(_) => None,
        }
    }

    /// Whether trying again later may succeed (the service or the store
    /// was briefly unavailable, or the client was too fast).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport(_) => true,
            Self::Api { detail, .. } => is_retryable_code(&detail.code),
            Self::Mls(_) => false,
        }
    }
}

fn is_retryable_code(code: &str) -> bool {
    matches!(code, "store_unavailable" | "shutting_down" | "rate_limited")
}

fn transport(e: impl std::fmt::Display) -> Error {
    Error::Transport(e.to_string())
}

/// An authenticated HTTP client of one service (URL).
#[derive(Clone, Debug)]
pub struct DsClient {
    http: reqwest::Client,
    base: String,
    token: String,
    identity: String,
}

impl DsClient {
    /// Logs `mls`'s identity in at `base` (e.g. `http://127.0.0.1:8080`)
    /// by signing a challenge with its signature key.
    pub async fn login(base: &str, mls: &e2ee_core::Client) -> Result<Self, Error> {
        let identity = String::from_utf8(mls.identity().to_vec()).map_err(transport)?;
        let mut client = Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .map_err(transport)?,
            base: base.trim_end_matches('/').to_owned(),
            token: String::new(),
            identity,
        };
        let challenge: wire::Challenge = client
            .call(reqwest::Method::POST, "/v1/auth/challenge", None::<&()>)
            .await?;
        let cs = reference_server::inspect::suite(mls.cipher_suite()).map_err(transport)?;
        let content = login_content(&challenge.challenge, &client.identity);
        let signature = cs
            .sign_with_label(mls.signature_private_key(), LOGIN_LABEL, &content)
            .map_err(transport)?;
        let login = wire::Login {
            identity: client.identity.clone(),
            cipher_suite: mls.cipher_suite(),
            signature_key: mls.signature_public_key().to_vec(),
            challenge: challenge.challenge,
            signature,
        };
        let issued: wire::LoginToken = client
            .call(reqwest::Method::POST, "/v1/auth/login", Some(&login))
            .await?;
        client.token = issued.token;
        Ok(client)
    }

    /// The same service with another token (e.g. to test refusals).
    pub fn with_token(&self, token: &str) -> Self {
        Self {
            token: token.to_owned(),
            ..self.clone()
        }
    }

    /// The identity logged in.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The login token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The service's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Any call: `body` as JSON, the answer parsed as `T` (or an [`Error`]).
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, Error> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if !self.token.is_empty() {
            request = request.bearer_auth(&self.token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        if !status.is_success() {
            let detail = match serde_json::from_slice::<wire::ErrorBody>(&bytes) {
                Ok(body) => body.error,
                Err(_) => {
                    return Err(Error::Transport(format!(
                        "{status}: {}",
                        String::from_utf8_lossy(&bytes)
                    )));
                }
            };
            return Err(Error::Api {
                status: status.as_u16(),
                detail,
            });
        }
        // Empty answers (201, 204) parse as `()`.
        let bytes = if bytes.is_empty() { &b"null"[..] } else { &bytes[..] };
        serde_json::from_slice(bytes).map_err(transport)
    }

    /// Publishes own KeyPackages (and optionally the last-resort one).
    pub async fn publish_key_packages(
        &self,
        key_packages: Vec<Vec<u8>>,
        last_resort: Option<Vec<u8>>,
    ) -> Result<usize, Error> {
        let body = wire::PublishKeyPackages {
            key_packages,
            last_resort,
            replace: false,
        };
        self.upload_key_packages(&body).await
    }

    /// Publishes KeyPackages as `body` says (e.g. replacing the unclaimed
    /// ones, whose private keys this client no longer has).
    pub async fn upload_key_packages(&self, body: &wire::PublishKeyPackages) -> Result<usize, Error> {
        let published: wire::Published = self.call(reqwest::Method::POST, "/v1/key-packages", Some(body)).await?;
        Ok(published.stored)
    }

    /// Claims one KeyPackage of `identity`.
    pub async fn claim(&self, identity: &str) -> Result<Vec<u8>, Error> {
        let body = wire::Claim {
            identity: identity.to_owned(),
        };
        let claimed: wire::Claimed = self
            .call(reqwest::Method::POST, "/v1/key-packages/claim", Some(&body))
            .await?;
        Ok(claimed.key_package)
    }

    /// Creates a group with this client as its only member.
    pub async fn create_group(&self, group_id: &[u8], external_join: bool) -> Result<(), Error> {
        let body = wire::CreateGroup {
            group_id: group_id.to_vec(),
            external_join,
        };
        self.call(reqwest::Method::POST, "/v1/groups", Some(&body)).await
    }

    /// Posts a message (with Welcome and GroupInfo for a Commit).
    pub async fn post(&self, group_id: &[u8], post: &Post) -> Result<u64, Error> {
        let path = format!("/v1/groups/{}/messages", b64::encode(group_id));
        let accepted: wire::Accepted = self.call(reqwest::Method::POST, &path, Some(post)).await?;
        Ok(accepted.position)
    }

    /// A group's messages after `after`.
    pub async fn messages(&self, group_id: &[u8], after: u64, limit: usize) -> Result<Vec<wire::LogMessage>, Error> {
        let path = format!(
            "/v1/groups/{}/messages?after={after}&limit={limit}",
            b64::encode(group_id)
        );
        let page: wire::MessagePage = self.call(reqwest::Method::GET, &path, None::<&()>).await?;
        Ok(page.messages)
    }

    /// The group's epoch and members as the service sees them.
    pub async fn group_status(&self, group_id: &[u8]) -> Result<wire::GroupStatus, Error> {
        let path = format!("/v1/groups/{}", b64::encode(group_id));
        self.call(reqwest::Method::GET, &path, None::<&()>).await
    }

    /// Own Welcomes after `after`.
    pub async fn mailbox(&self, after: u64) -> Result<Vec<MailboxItem>, Error> {
        let page: wire::MailboxPage = self
            .call(reqwest::Method::GET, &format!("/v1/mailbox?after={after}"), None::<&()>)
            .await?;
        Ok(page.items)
    }

    /// The group's latest GroupInfo.
    pub async fn group_info(&self, group_id: &[u8]) -> Result<Vec<u8>, Error> {
        let path = format!("/v1/groups/{}/group-info", b64::encode(group_id));
        let body: wire::GroupInfoBody = self.call(reqwest::Method::GET, &path, None::<&()>).await?;
        Ok(body.group_info)
    }

    /// Publishes a GroupInfo of the group's current epoch.
    pub async fn put_group_info(&self, group_id: &[u8], group_info: Vec<u8>) -> Result<(), Error> {
        let path = format!("/v1/groups/{}/group-info", b64::encode(group_id));
        self.call(reqwest::Method::PUT, &path, Some(&wire::GroupInfoBody { group_info }))
            .await
    }

    /// The WebSocket URL (the token goes in a header, never the URL).
    pub fn ws_url(&self) -> String {
        let base = self
            .base
            .replacen("http://", "ws://", 1)
            .replacen("https://", "wss://", 1);
        format!("{base}/v1/ws")
    }

    /// The WebSocket handshake request: the URL (with `query`, if any) and
    /// the token in `Authorization`.
    pub fn ws_request(&self, query: &str) -> Result<Request, Error> {
        let url = match query {
            "" => self.ws_url(),
            query => format!("{}?{query}", self.ws_url()),
        };
        let mut request = url.into_client_request().map_err(transport)?;
        let bearer = format!("Bearer {}", self.token).parse().map_err(transport)?;
        request.headers_mut().insert(AUTHORIZATION, bearer);
        Ok(request)
    }

    /// Opens the live connection (it connects in the background and keeps
    /// reconnecting until dropped).
    pub fn live(&self) -> Live {
        self.live_with(false)
    }

    /// As [`DsClient::live`]; with `binary`, group messages come in binary
    /// frames of several records (`?framing=binary`), which costs both
    /// sides less than JSON and base64.
    pub fn live_with(&self, binary: bool) -> Live {
        let (commands, command_rx) = mpsc::channel(1024);
        let (event_tx, events) = mpsc::unbounded_channel();
        let query = if binary { "framing=binary" } else { "" };
        // A request the token cannot be put into fails at every connect.
        if let Ok(request) = self.ws_request(query) {
            tokio::spawn(live_task(request, command_rx, event_tx));
        }
        Live {
            sender: LiveSender { commands },
            events,
        }
    }
}

/// What the live connection reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiveEvent {
    /// A group message, in log order, each once.
    Message {
        /// The group.
        group: Vec<u8>,
        /// Its position.
        position: u64,
        /// The MLSMessage.
        message: Vec<u8>,
    },
    /// A Welcome.
    Welcome(MailboxItem),
    /// The service stopped pushing a group (e.g. removed from it).
    Unsubscribed {
        /// The group.
        group: Vec<u8>,
        /// Why.
        error: ErrorDetail,
    },
    /// A subscription is live (the group's, or the mailbox's: `None`).
    Subscribed(Option<Vec<u8>>),
    /// The connection was lost and is being re-established.
    Reconnecting,
    /// The connection is (re-)established and subscriptions are renewed.
    Connected,
    /// The service refused a frame that was not a `send`.
    Refused(ErrorDetail),
}

/// Where the answer to a post goes.
type Reply = oneshot::Sender<Result<u64, Error>>;

enum Command {
    Subscribe(Vec<u8>, u64),
    SubscribeMailbox(u64),
    Send(Vec<u8>, Post, Reply),
}

/// The live WebSocket of one client.
pub struct Live {
    sender: LiveSender,
    events: mpsc::UnboundedReceiver<LiveEvent>,
}

/// The sending half of a [`Live`] connection (cheap to clone, usable from
/// other tasks while the owner reads events).
#[derive(Clone)]
pub struct LiveSender {
    commands: mpsc::Sender<Command>,
}

impl LiveSender {
    /// Pushes the group's messages after `after` (now and after reconnects,
    /// from the last one received).
    pub async fn subscribe(&self, group: &[u8], after: u64) {
        let _ = self.commands.send(Command::Subscribe(group.to_vec(), after)).await;
    }

    /// Pushes the mailbox's Welcomes after `after`.
    pub async fn subscribe_mailbox(&self, after: u64) {
        let _ = self.commands.send(Command::SubscribeMailbox(after)).await;
    }

    /// Posts over the socket; waits for the answer, resending across
    /// reconnects and brief unavailability.
    pub async fn send(&self, group: &[u8], post: Post) -> Result<u64, Error> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Send(group.to_vec(), post, reply))
            .await
            .map_err(|_| Error::Transport("the live connection is closed".into()))?;
        answer
            .await
            .map_err(|_| Error::Transport("the live connection is closed".into()))?
    }
}

impl Live {
    /// The sending half.
    pub fn sender(&self) -> LiveSender {
        self.sender.clone()
    }

    /// See [`LiveSender::subscribe`].
    pub async fn subscribe(&self, group: &[u8], after: u64) {
        self.sender.subscribe(group, after).await
    }

    /// See [`LiveSender::subscribe_mailbox`].
    pub async fn subscribe_mailbox(&self, after: u64) {
        self.sender.subscribe_mailbox(after).await
    }

    /// See [`LiveSender::send`].
    pub async fn send(&self, group: &[u8], post: Post) -> Result<u64, Error> {
        self.sender.send(group, post).await
    }

    /// The next event (`None` once the connection task ended).
    pub async fn next(&mut self) -> Option<LiveEvent> {
        self.events.recv().await
    }

    /// The next event if one is ready.
    pub fn try_next(&mut self) -> Option<LiveEvent> {
        self.events.try_recv().ok()
    }
}

/// The state that outlives connections.
struct LiveState {
    request: Request,
    groups: BTreeMap<Vec<u8>, u64>,
    mailbox: Option<u64>,
    pending: BTreeMap<u64, (Vec<u8>, Post, Reply)>,
    next_id: u64,
    events: mpsc::UnboundedSender<LiveEvent>,
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn text(frame: &ClientFrame) -> Message {
    Message::Text(serde_json::to_string(frame).unwrap_or_default().into())
}

impl LiveState {
    fn send_frame(&self, id: u64) -> Option<Message> {
        let (group, post, _) = self.pending.get(&id)?;
        Some(text(&ClientFrame::Send {
            id,
            group: group.clone(),
            post: post.clone(),
        }))
    }

    /// Everything to send on a fresh connection.
    fn renewal(&self) -> Vec<Message> {
        let mut frames: Vec<Message> = self
            .groups
            .iter()
            .map(|(group, after)| {
                text(&ClientFrame::Subscribe {
                    group: group.clone(),
                    after: *after,
                })
            })
            .collect();
        frames.extend(self.mailbox.map(|after| text(&ClientFrame::SubscribeMailbox { after })));
        frames.extend(self.pending.keys().filter_map(|id| self.send_frame(*id)));
        frames
    }

    /// Applies a command; returns the frame to send, if any.
    fn command(&mut self, command: Command) -> Option<Message> {
        match command {
            Command::Subscribe(group, after) => {
                self.groups.insert(group.clone(), after);
                Some(text(&ClientFrame::Subscribe { group, after }))
            }
            Command::SubscribeMailbox(after) => {
                self.mailbox = Some(after);
                Some(text(&ClientFrame::SubscribeMailbox { after }))
            }
            Command::Send(group, post, reply) => {
                let id = self.next_id;
                self.next_id += 1;
                self.pending.insert(id, (group, post, reply));
                self.send_frame(id)
            }
        }
    }

    /// Applies a frame from the service; returns frames to send again later
    /// (retryable refusals).
    fn frame(&mut self, frame: ServerFrame) -> Vec<Message> {
        let mut retry = Vec::new();
        match frame {
            ServerFrame::Message {
                group,
                position,
                message,
            } => {
                // Positions only grow: anything at or below the cursor was
                // delivered already (a resubscription raced a push).
                if let Some(cursor) = self.groups.get_mut(&group)
                    && position > *cursor
                {
                    *cursor = position;
                    let _ = self.events.send(LiveEvent::Message {
                        group,
                        position,
                        message,
                    });
                }
            }
            ServerFrame::Welcome(item) => {
                if let Some(cursor) = &mut self.mailbox
                    && item.position > *cursor
                {
                    *cursor = item.position;
                    let _ = self.events.send(LiveEvent::Welcome(item));
                }
            }
            ServerFrame::Accepted { id, position } => {
                if let Some((_, _, reply)) = self.pending.remove(&id) {
                    let _ = reply.send(Ok(position));
                }
            }
            ServerFrame::Error { id: Some(id), error } if is_retryable_code(&error.code) => {
                retry.extend(self.send_frame(id));
            }
            ServerFrame::Error { id: Some(id), error } => {
                if let Some((_, _, reply)) = self.pending.remove(&id) {
                    let _ = reply.send(Err(Error::Api {
                        status: 0,
                        detail: error,
                    }));
                }
            }
            ServerFrame::Error { id: None, error } => {
                let _ = self.events.send(LiveEvent::Refused(error));
            }
            ServerFrame::Unsubscribed { group, error } if is_retryable_code(&error.code) => {
                if let Some(after) = self.groups.get(&group) {
                    retry.push(text(&ClientFrame::Subscribe { group, after: *after }));
                }
            }
            ServerFrame::Unsubscribed { group, error } => {
                self.groups.remove(&group);
                let _ = self.events.send(LiveEvent::Unsubscribed { group, error });
            }
            ServerFrame::Subscribed { group } => {
                let _ = self.events.send(LiveEvent::Subscribed(group));
            }
        }
        retry
    }
}

async fn connect(request: Request) -> Option<Socket> {
    let config = WebSocketConfig::default().read_buffer_size(wire::WS_READ_BUFFER);
    // TCP_NODELAY: a small post must not wait for the ACK of the one before.
    let attempt = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
    match tokio::time::timeout(Duration::from_secs(5), attempt).await {
        Ok(Ok((socket, _))) => Some(socket),
        _ => None,
    }
}

async fn live_task(request: Request, mut commands: mpsc::Receiver<Command>, events: mpsc::UnboundedSender<LiveEvent>) {
    let mut state = LiveState {
        request,
        groups: BTreeMap::new(),
        mailbox: None,
        pending: BTreeMap::new(),
        next_id: 1,
        events,
    };
    let mut backoff = Duration::from_millis(20);
    loop {
        let Some(mut socket) = connect(state.request.clone()).await else {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(1));
            if state.events.is_closed() && commands.is_closed() {
                return;
            }
            continue;
        };
        backoff = Duration::from_millis(20);
        let _ = state.events.send(LiveEvent::Connected);
        let mut ok = true;
        for frame in state.renewal() {
            ok &= socket.send(frame).await.is_ok();
        }
        let mut retries: Vec<Message> = Vec::new();
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        while ok {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(command) => if let Some(frame) = state.command(command) {
                        ok = socket.send(frame).await.is_ok();
                    },
                    None => {
                        let _ = socket.close(None).await;
                        return;
                    }
                },
                frame = socket.next() => match frame {
                    Some(Ok(Message::Text(t))) => match serde_json::from_str::<ServerFrame>(&t) {
                        Ok(frame) => retries.extend(state.frame(frame)),
                        Err(e) => tracing::warn!(error = %e, "unparsable frame from the service"),
                    },
                    Some(Ok(Message::Binary(b))) => match wire::parse_records(&b) {
                        Some(frames) => {
                            for frame in frames {
                                retries.extend(state.frame(frame));
                            }
                        }
                        None => tracing::warn!("malformed binary frame from the service"),
                    },
                    Some(Ok(Message::Close(_)) | Err(_)) | None => ok = false,
                    Some(Ok(_)) => {}
                },
                _ = tick.tick(), if !retries.is_empty() => {
                    for frame in retries.drain(..) {
                        ok &= socket.send(frame).await.is_ok();
                    }
                }
            }
        }
        let _ = state.events.send(LiveEvent::Reconnecting);
    }
}

/// An MLS client (cipher suite 1) logged in to the service: registration,
/// groups and adding members, the steps every user of the service repeats.
pub struct Peer {
    /// The MLS client.
    pub mls: e2ee_core::Client,
    /// The service.
    pub ds: DsClient,
}

impl Peer {
    /// A new identity `name` at `url`, with `key_packages` KeyPackages
    /// published.
    pub async fn register(url: &str, name: &str, key_packages: usize) -> Result<Self, Error> {
        Self::login(url, e2ee_core::Client::new(1, name.as_bytes())?, key_packages).await
    }

    /// Logs `mls` in at `url` and publishes `key_packages` KeyPackages.
    pub async fn login(url: &str, mut mls: e2ee_core::Client, key_packages: usize) -> Result<Self, Error> {
        let ds = DsClient::login(url, &mls).await?;
        if key_packages > 0 {
            let kps = (0..key_packages)
                .map(|_| mls.key_package())
                .collect::<Result<Vec<_>, _>>()?;
            ds.publish_key_packages(kps, None).await?;
        }
        Ok(Self { mls, ds })
    }

    /// Creates a group (random id) here and at the service.
    pub async fn create_group(&self, external_join: bool) -> Result<e2ee_core::Group, Error> {
        let group = self.mls.create_group()?;
        self.ds.create_group(group.id(), external_join).await?;
        Ok(group)
    }

    /// Claims a KeyPackage of each of `identities` and adds them in one
    /// Commit; once the service accepted it, merges it. Returns the
    /// Commit's position (the joiners read from there).
    pub async fn add(&self, group: &mut e2ee_core::Group, identities: &[&str]) -> Result<u64, Error> {
        let mut key_packages = Vec::new();
        for identity in identities {
            key_packages.push(self.ds.claim(identity).await?);
        }
        let bundle = group.add(&key_packages)?;
        self.commit(group, bundle).await
    }

    /// Posts a Commit bundle; merges it once accepted, discards it if refused.
    pub async fn commit(
        &self,
        group: &mut e2ee_core::Group,
        bundle: e2ee_core::client::CommitBundle,
    ) -> Result<u64, Error> {
        let post = Post {
            message: bundle.commit,
            welcome: bundle.welcome,
            group_info: Some(bundle.group_info),
        };
        match self.ds.post(group.id(), &post).await {
            Ok(position) => {
                group.merge_commit()?;
                Ok(position)
            }
            Err(e) => {
                group.discard_commit();
                Err(e)
            }
        }
    }

    /// Joins from a mailbox item; read the group after `item.commit_position`.
    pub fn join(&mut self, item: &MailboxItem) -> Result<e2ee_core::Group, Error> {
        Ok(self.mls.join(&item.welcome)?)
    }
}

#[cfg(test)]
mod tests {
    use tokio_tungstenite::MaybeTlsStream;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    #[tokio::test]
    async fn websockets_are_opened_with_nodelay() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let _socket = tokio_tungstenite::accept_async(tcp).await;
            std::future::pending::<()>().await;
        });
        let request = format!("ws://{addr}/").into_client_request().unwrap();
        let socket = super::connect(request).await.expect("connected");
        let MaybeTlsStream::Plain(tcp) = socket.get_ref() else {
            panic!("a ws:// URL gives a plain TCP stream");
        };
        assert!(tcp.nodelay().unwrap());
    }
}
