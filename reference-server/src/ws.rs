//! One WebSocket per client: it subscribes to its groups and mailbox with
//! the last position it has, gets everything after it and then everything
//! new, live, in log order, each entry once; and it may post over the same
//! socket. After a reconnect — to any replica — it subscribes again with
//! its positions and misses nothing.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::http::header::SEC_WEBSOCKET_PROTOCOL;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

use crate::auth::Principal;
use crate::error::{ApiError, ErrorCode};
use crate::hub::{HubEvent, Outgoing};
use crate::service::{App, MailboxPayload};
use crate::store::{Entry, EntryKind, Topic};
use crate::wire::{self, ClientFrame, ServerFrame, push_record};

/// Frames queued for one socket before its pushers wait (and, waiting
/// long, fall back to reading the store).
const OUTBOX: usize = 1024;
/// Entries read from the store per catch-up step.
const CATCH_UP_PAGE: usize = 500;
/// WebSocket close code "going away" (RFC 6455 §7.4.1).
const GOING_AWAY: u16 = 1001;
/// Group entries packed into one binary frame, at most (bytes, roughly:
/// the last record may go over).
const BATCH_BYTES: usize = 64 * 1024;

/// How group entries are pushed on one socket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Framing {
    /// Every frame is JSON text (the default).
    #[default]
    Json,
    /// Group entries go in binary frames of one or more records (see
    /// [`crate::wire::push_record`]); everything else stays JSON text.
    Binary,
}

/// The query of `GET /v1/ws`.
#[derive(serde::Deserialize)]
pub struct WsOptions {
    /// `?framing=binary` to opt in to binary group pushes.
    #[serde(default)]
    framing: Framing,
}

/// The subprotocol the service speaks, offered by every client and
/// selected by the service.
pub const PROTOCOL: &str = "e2ee.v1";
/// Browsers cannot set headers on a WebSocket, and a token in the URL ends
/// up in access logs: they offer the token as a second subprotocol
/// `e2ee.bearer.<token>`, which the service never selects (nor echoes).
pub const BEARER_PROTOCOL_PREFIX: &str = "e2ee.bearer.";

/// The token offered as a subprotocol, if any.
fn protocol_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(','))
        .find_map(|p| p.trim().strip_prefix(BEARER_PROTOCOL_PREFIX))
}

/// `GET /v1/ws`: checks the token (`Authorization` header, or the bearer
/// subprotocol) and the connection limits, then upgrades.
pub async fn upgrade(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(options): Query<WsOptions>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let token = crate::http::bearer(&headers)
        .or_else(|| protocol_token(&headers))
        .ok_or_else(crate::http::no_token)?;
    let me = app.auth.verify_token(token)?;
    let ws = ws.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if *app.shutdown.borrow() {
        return Err(ApiError::new(ErrorCode::ShuttingDown, "this replica is shutting down"));
    }
    let slot = app.connections.clone().acquire(&me.identity)?;
    let max = app.config.max_message_bytes.saturating_mul(4) + 64 * 1024;
    Ok(ws
        .protocols([PROTOCOL])
        .max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(wire::WS_READ_BUFFER)
        .on_upgrade(move |socket| async move {
            app.metrics.connected.fetch_add(1, Relaxed);
            Connection::new(app.clone(), me).run(socket, options.framing).await;
            app.metrics.connected.fetch_sub(1, Relaxed);
            drop(slot);
        }))
}

fn frame_text(frame: &ServerFrame) -> Utf8Bytes {
    // Serializing these types cannot fail (no maps with non-string keys).
    serde_json::to_string(frame).unwrap_or_default().into()
}

/// The JSON frame an entry is pushed as, encoded once per [`Outgoing`].
fn entry_frame(out: &Outgoing) -> Utf8Bytes {
    out.text.get_or_init(|| frame_text(&server_frame(&out.entry))).clone()
}

/// What pushes `entry` to a client.
fn server_frame(entry: &Entry) -> ServerFrame {
    match &entry.topic {
        Topic::Group(group) => ServerFrame::Message {
            group: group.clone(),
            position: entry.position,
            message: entry.payload.clone(),
        },
        Topic::Mailbox(_) => match MailboxPayload::decode(entry.position, &entry.payload) {
            Some(item) => ServerFrame::Welcome(item),
            None => ServerFrame::Error {
                id: None,
                error: ApiError::new(ErrorCode::Internal, "an undecodable mailbox item").detail(),
            },
        },
    }
}

/// What waits in a socket's outbox.
enum Out {
    /// A JSON frame.
    Text(Utf8Bytes),
    /// A log entry, framed as the socket asked.
    Entry(Arc<Outgoing>),
}

/// Sends the records in `batch` as one binary frame (if any).
async fn flush_batch(sink: &mut futures_util::stream::SplitSink<WebSocket, Message>, batch: &mut Vec<u8>) -> bool {
    if batch.is_empty() {
        return true;
    }
    let frame = std::mem::take(batch);
    sink.feed(Message::Binary(frame.into())).await.is_ok()
}

struct Connection {
    app: Arc<App>,
    me: Principal,
    out: mpsc::Sender<Out>,
    outbox: Option<mpsc::Receiver<Out>>,
    pushers: HashMap<Topic, JoinHandle<()>>,
}

impl Connection {
    fn new(app: Arc<App>, me: Principal) -> Self {
        let (out, outbox) = mpsc::channel(OUTBOX);
        Self {
            app,
            me,
            out,
            outbox: Some(outbox),
            pushers: HashMap::new(),
        }
    }

    async fn run(mut self, socket: WebSocket, framing: Framing) {
        let (mut sink, mut stream) = socket.split();
        let mut outbox = self.outbox.take().expect("run once");
        let shutdown = self.app.shutdown.clone();
        // Sends until every sender is gone (the reader ended and the
        // pushers stopped), so answers already queued still go out.
        let writer = tokio::spawn(async move {
            let mut batch = Vec::new();
            while let Some(first) = outbox.recv().await {
                // Everything queued goes out in one write: one syscall for
                // a burst instead of one per frame; with binary framing,
                // consecutive group entries also share one frame.
                let mut next = Some(first);
                let mut ok = true;
                while let Some(out) = next.take() {
                    match out {
                        Out::Entry(ref out)
                            if framing == Framing::Binary
                                && let Topic::Group(group) = &out.entry.topic =>
                        {
                            push_record(&mut batch, group, out.entry.position, &out.entry.payload);
                            if batch.len() >= BATCH_BYTES {
                                ok &= flush_batch(&mut sink, &mut batch).await;
                            }
                        }
                        other => {
                            // Records queued before this frame go first.
                            ok &= flush_batch(&mut sink, &mut batch).await;
                            let text = match other {
                                Out::Entry(e) => entry_frame(&e),
                                Out::Text(text) => text,
                            };
                            ok &= sink.feed(Message::Text(text)).await.is_ok();
                        }
                    }
                    next = outbox.try_recv().ok().filter(|_| ok);
                }
                ok &= flush_batch(&mut sink, &mut batch).await;
                if !ok || sink.flush().await.is_err() {
                    return;
                }
            }
            // Going away: the client resumes from its positions elsewhere.
            let close = CloseFrame {
                code: if *shutdown.borrow() { GOING_AWAY } else { 1000 },
                reason: Utf8Bytes::from_static("bye"),
            };
            let _ = sink.send(Message::Close(Some(close))).await;
        });
        let mut shutdown = self.app.shutdown.clone();
        loop {
            let message = tokio::select! {
                m = stream.next() => m,
                _ = shutdown.wait_for(|down| *down) => break,
            };
            match message {
                Some(Ok(Message::Text(text))) => self.handle(&text).await,
                Some(Ok(Message::Binary(_))) => self.refuse(None, ApiError::bad_request("frames are JSON text")).await,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
            }
            if self.out.is_closed() {
                break;
            }
        }
        for (_, pusher) in self.pushers.drain() {
            pusher.abort();
        }
        drop(self.out);
        let _ = writer.await;
    }

    async fn send(&self, frame: ServerFrame) {
        let _ = self.out.send(Out::Text(frame_text(&frame))).await;
    }

    async fn refuse(&self, id: Option<u64>, error: ApiError) {
        self.app.metrics.refused.fetch_add(1, Relaxed);
        self.send(ServerFrame::Error {
            id,
            error: error.detail(),
        })
        .await;
    }

    async fn handle(&mut self, text: &str) {
        let frame: ClientFrame = match serde_json::from_str(text) {
            Ok(frame) => frame,
            Err(e) => {
                // Junk costs a token too (a `send` pays in `App::post`).
                let refusal = match self.app.rate.check(&self.me.identity) {
                    Ok(()) => ApiError::bad_request(format!("bad frame: {e}")),
                    Err(limited) => limited,
                };
                return self.refuse(None, refusal).await;
            }
        };
        if !matches!(frame, ClientFrame::Send { .. })
            && let Err(limited) = self.app.rate.check(&self.me.identity)
        {
            return self.refuse(None, limited).await;
        }
        match frame {
            ClientFrame::Send { id, group, post } => match self.app.post(&self.me, &group, post).await {
                Ok(position) => self.send(ServerFrame::Accepted { id, position }).await,
                Err(e) => {
                    self.send(ServerFrame::Error {
                        id: Some(id),
                        error: e.detail(),
                    })
                    .await
                }
            },
            // The cursor starts where the client may read from, so live
            // entries after it never look like a gap to catch up on.
            ClientFrame::Subscribe { group, after } => match self.app.readable(&self.me, &group, after).await {
                Ok(readable) => self.subscribe(Topic::Group(group), readable.after).await,
                Err(e) => self.refuse(None, e).await,
            },
            ClientFrame::SubscribeMailbox { after } => {
                self.subscribe(Topic::Mailbox(self.me.identity.clone()), after).await
            }
            ClientFrame::Unsubscribe { group } => {
                if let Some(pusher) = self.pushers.remove(&Topic::Group(group)) {
                    pusher.abort();
                }
            }
        }
    }

    async fn subscribe(&mut self, topic: Topic, after: u64) {
        self.pushers.retain(|_, p| !p.is_finished());
        if !self.pushers.contains_key(&topic) && self.pushers.len() >= self.app.config.max_subscriptions {
            let e = ApiError::new(ErrorCode::TooLarge, "too many subscriptions on one connection");
            return self.refuse(None, e).await;
        }
        let group = match &topic {
            Topic::Group(g) => Some(g.clone()),
            Topic::Mailbox(_) => None,
        };
        // Subscribe to the hub before reading the store, so nothing
        // accepted in between is missed.
        let events = self.app.hub.subscribe(&topic);
        let pusher = Pusher {
            app: self.app.clone(),
            me: self.me.clone(),
            out: self.out.clone(),
            cursor: after,
            topic: topic.clone(),
        };
        // Confirm first so the client sees `subscribed` before the backlog.
        self.send(ServerFrame::Subscribed { group }).await;
        if let Some(old) = self.pushers.insert(topic, tokio::spawn(pusher.run(events))) {
            old.abort();
        }
    }
}

/// Pushes one topic to one socket, in order, each entry once.
struct Pusher {
    app: Arc<App>,
    me: Principal,
    out: mpsc::Sender<Out>,
    cursor: u64,
    topic: Topic,
}

/// Why a pusher stops.
enum Stop {
    /// The socket is gone.
    Closed,
    /// Tell the client why.
    Refused(ApiError),
}

impl Pusher {
    async fn run(mut self, mut events: broadcast::Receiver<HubEvent>) {
        let mut result = self.catch_up().await;
        while result.is_ok() {
            result = match events.recv().await {
                Ok(HubEvent::Entry(out)) if out.entry.position <= self.cursor => Ok(()),
                Ok(HubEvent::Entry(out)) if Some(out.entry.position) == self.cursor.checked_add(1) => {
                    self.push(out).await
                }
                // A gap, a lag or a resync: the store has everything.
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => self.catch_up().await,
                Err(broadcast::error::RecvError::Closed) => Err(Stop::Closed),
            };
        }
        if let (Err(Stop::Refused(e)), Topic::Group(group)) = (result, &self.topic) {
            let frame = ServerFrame::Unsubscribed {
                group: group.clone(),
                error: e.detail(),
            };
            let _ = self.out.send(Out::Text(frame_text(&frame))).await;
        }
    }

    async fn catch_up(&mut self) -> Result<(), Stop> {
        loop {
            let entries = match &self.topic {
                Topic::Group(group) => self.app.read_group(&self.me, group, self.cursor, CATCH_UP_PAGE).await,
                Topic::Mailbox(_) => self.app.read(&self.topic, self.cursor, CATCH_UP_PAGE).await,
            };
            let entries = entries.map_err(Stop::Refused)?;
            let full = entries.len() == CATCH_UP_PAGE;
            for entry in entries {
                self.push(Outgoing::new(entry)).await?;
            }
            if !full {
                return Ok(());
            }
        }
    }

    async fn push(&mut self, out: Arc<Outgoing>) -> Result<(), Stop> {
        let (position, kind) = (out.entry.position, out.entry.kind);
        self.out.send(Out::Entry(out)).await.map_err(|_| Stop::Closed)?;
        self.cursor = position;
        self.app.metrics.delivered.fetch_add(1, Relaxed);
        if let (EntryKind::Commit, Topic::Group(group)) = (kind, &self.topic) {
            // The Commit may have removed this client: it gets that
            // Commit, and nothing after (refused from its position on).
            self.app
                .readable(&self.me, group, position)
                .await
                .map_err(Stop::Refused)?;
        }
        Ok(())
    }
}
