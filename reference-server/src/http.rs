//! The HTTP routes (docs/openapi.yaml) on axum, with typed JSON errors for
//! every refusal, including malformed bodies, paths and queries.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::auth::Principal;
use crate::error::{ApiError, ErrorCode};
use crate::service::App;
use crate::wire::{self, b64};

/// A JSON body whose rejections are [`ApiError`]s.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(JsonRejection::BytesRejection(e)) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::new(ErrorCode::TooLarge, "the request body is too large"))
            }
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

/// The bearer token of `Authorization: Bearer <token>`, never of the URL
/// (URLs end up in access logs and browser history).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// The refusal of a request without a token.
pub fn no_token() -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, "no bearer token: log in first")
}

impl FromRequestParts<Arc<App>> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        app.auth.verify_token(bearer(&parts.headers).ok_or_else(no_token)?)
    }
}

/// `?after=N&limit=M` of reads.
#[derive(Deserialize)]
pub struct Page {
    #[serde(default)]
    after: u64,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    100
}

fn page(query: Result<Query<Page>, axum::extract::rejection::QueryRejection>) -> Result<Page, ApiError> {
    query.map(|q| q.0).map_err(|e| ApiError::bad_request(e.body_text()))
}

fn group_id(path: Result<Path<String>, axum::extract::rejection::PathRejection>) -> Result<Vec<u8>, ApiError> {
    let Path(text) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    b64::decode(&text).map_err(|_| ApiError::bad_request("the group id in the path is not base64url"))
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(app): State<Arc<App>>) -> Response {
    if *app.shutdown.borrow() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response();
    }
    match app.timed(app.store.ping()).await {
        Ok(()) => "ready\n".into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("store unavailable: {e}\n")).into_response(),
    }
}

/// `GET /metrics`, on the internal listener only.
async fn metrics(State(app): State<Arc<App>>) -> Response {
    let content_type = [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")];
    (content_type, app.metrics.render()).into_response()
}

async fn challenge(State(app): State<Arc<App>>) -> Result<Json<wire::Challenge>, ApiError> {
    Ok(Json(wire::Challenge {
        challenge: app.auth.challenge()?,
    }))
}

async fn login(
    State(app): State<Arc<App>>,
    Body(login): Body<wire::Login>,
) -> Result<Json<wire::LoginToken>, ApiError> {
    app.login(&login).await.map(Json)
}

async fn publish_key_packages(
    State(app): State<Arc<App>>,
    me: Principal,
    Body(request): Body<wire::PublishKeyPackages>,
) -> Result<Json<wire::Published>, ApiError> {
    app.publish_key_packages(&me, request).await.map(Json)
}

async fn claim(
    State(app): State<Arc<App>>,
    me: Principal,
    Body(request): Body<wire::Claim>,
) -> Result<Json<wire::Claimed>, ApiError> {
    app.claim(&me, &request.identity).await.map(Json)
}

async fn create_group(
    State(app): State<Arc<App>>,
    me: Principal,
    Body(request): Body<wire::CreateGroup>,
) -> Result<StatusCode, ApiError> {
    app.create_group(&me, &request).await.map(|()| StatusCode::CREATED)
}

async fn group_status(
    State(app): State<Arc<App>>,
    me: Principal,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Json<wire::GroupStatus>, ApiError> {
    app.group_status(&me, &group_id(path)?).await.map(Json)
}

async fn post_message(
    State(app): State<Arc<App>>,
    me: Principal,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    Body(post): Body<wire::Post>,
) -> Result<Json<wire::Accepted>, ApiError> {
    let position = app.post(&me, &group_id(path)?, post).await?;
    Ok(Json(wire::Accepted { position }))
}

async fn messages(
    State(app): State<Arc<App>>,
    me: Principal,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    query: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<wire::MessagePage>, ApiError> {
    let page = page(query)?;
    app.messages(&me, &group_id(path)?, page.after, page.limit)
        .await
        .map(Json)
}

async fn get_group_info(
    State(app): State<Arc<App>>,
    me: Principal,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Json<wire::GroupInfoBody>, ApiError> {
    app.group_info(&me, &group_id(path)?).await.map(Json)
}

async fn put_group_info(
    State(app): State<Arc<App>>,
    me: Principal,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    Body(body): Body<wire::GroupInfoBody>,
) -> Result<StatusCode, ApiError> {
    app.put_group_info(&me, &group_id(path)?, body.group_info).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn mailbox(
    State(app): State<Arc<App>>,
    me: Principal,
    query: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<wire::MailboxPage>, ApiError> {
    let page = page(query)?;
    app.mailbox(&me, page.after, page.limit).await.map(Json)
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such route")
}

/// The internal listener's routes: `/metrics` (counters that tell an
/// observer how busy the service is and who is refused; not for the public).
pub fn internal_router(app: Arc<App>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .with_state(app)
}

/// The service's routes, and the static directory (if any) at `/`.
pub fn router(app: Arc<App>) -> Router {
    // Three base64 fields of at most max_message_bytes each, and JSON.
    let body_limit = app.config.max_message_bytes.saturating_mul(4) + 64 * 1024;
    let api = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/v1/auth/challenge", post(challenge))
        .route("/v1/auth/login", post(login))
        .route("/v1/key-packages", post(publish_key_packages))
        .route("/v1/key-packages/claim", post(claim))
        .route("/v1/groups", post(create_group))
        .route("/v1/groups/{id}", get(group_status))
        .route("/v1/groups/{id}/messages", post(post_message).get(messages))
        .route("/v1/groups/{id}/group-info", get(get_group_info).put(put_group_info))
        .route("/v1/mailbox", get(mailbox))
        .route("/v1/ws", get(crate::ws::upgrade))
        .layer(DefaultBodyLimit::max(body_limit));
    let api = match app.config.static_dir() {
        Some(dir) => api.fallback_service(tower_http::services::ServeDir::new(dir)),
        None => api.fallback(not_found),
    };
    api.with_state(app)
}
