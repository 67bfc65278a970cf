//! The one error type of the service: every refusal has a stable
//! machine-readable code (part of the protocol, see docs/server-protocol.md),
//! an HTTP status and a human-readable message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::wire::{ErrorBody, ErrorDetail};

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The request is not well-formed (JSON, base64, parameters).
    BadRequest,
    /// The MLS bytes do not decode, or are not the kind of message expected.
    MalformedMessage,
    /// The message names another group than the one it was posted to.
    WrongGroup,
    /// No valid login token (or a bad login).
    Unauthenticated,
    /// The client is authenticated but may not do this.
    Forbidden,
    /// The client is not a member of the group (as the service sees it).
    NotMember,
    /// The sender leaf of a PublicMessage is not the client's.
    SenderMismatch,
    /// No such group.
    NoSuchGroup,
    /// A group with that id exists already.
    GroupExists,
    /// A Commit for an epoch the group has left: another Commit won.
    EpochMovedOn,
    /// A message for an epoch the group has not reached.
    FutureEpoch,
    /// The Commit contradicts the group as the service sees it.
    InvalidCommit,
    /// A Welcome names a KeyPackage the Commit does not add.
    UnroutableWelcome,
    /// A GroupInfo of another group or epoch.
    InvalidGroupInfo,
    /// A KeyPackage of another identity or key, or not valid.
    InvalidKeyPackage,
    /// A proposal or Commit sent as a PrivateMessage: the service keeps
    /// the roster from handshakes, so it takes them only in public.
    PrivateHandshake,
    /// The epoch has the most pending proposals the service keeps.
    TooManyProposals,
    /// The client used up a quota (groups, bytes, KeyPackage claims).
    QuotaExceeded,
    /// The identity is registered with another signature key.
    KeyMismatch,
    /// The identity has no KeyPackage left.
    NoKeyPackage,
    /// The identity stores the most KeyPackages allowed already.
    TooManyKeyPackages,
    /// A message, body or list is larger than allowed.
    TooLarge,
    /// Too many requests from this client: slow down.
    RateLimited,
    /// Too many connections (per client or on this replica).
    TooManyConnections,
    /// The position asked for is older than the retention kept.
    PositionExpired,
    /// Nothing at that path.
    NotFound,
    /// The store is unreachable: try again (another replica may serve).
    StoreUnavailable,
    /// This replica is shutting down: reconnect (to another one).
    ShuttingDown,
    /// A bug on the server side.
    Internal,
}

impl ErrorCode {
    /// Every code.
    pub const ALL: [Self; 29] = [
        Self::BadRequest,
        Self::MalformedMessage,
        Self::WrongGroup,
        Self::Unauthenticated,
        Self::Forbidden,
        Self::NotMember,
        Self::SenderMismatch,
        Self::NoSuchGroup,
        Self::GroupExists,
        Self::EpochMovedOn,
        Self::FutureEpoch,
        Self::InvalidCommit,
        Self::UnroutableWelcome,
        Self::InvalidGroupInfo,
        Self::InvalidKeyPackage,
        Self::PrivateHandshake,
        Self::TooManyProposals,
        Self::QuotaExceeded,
        Self::KeyMismatch,
        Self::NoKeyPackage,
        Self::TooManyKeyPackages,
        Self::TooLarge,
        Self::RateLimited,
        Self::TooManyConnections,
        Self::PositionExpired,
        Self::NotFound,
        Self::StoreUnavailable,
        Self::ShuttingDown,
        Self::Internal,
    ];

    /// The stable code string sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::MalformedMessage => "malformed_message",
            Self::WrongGroup => "wrong_group",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::NotMember => "not_member",
            Self::SenderMismatch => "sender_mismatch",
            Self::NoSuchGroup => "no_such_group",
            Self::GroupExists => "group_exists",
            Self::EpochMovedOn => "epoch_moved_on",
            Self::FutureEpoch => "future_epoch",
            Self::InvalidCommit => "invalid_commit",
            Self::UnroutableWelcome => "unroutable_welcome",
            Self::InvalidGroupInfo => "invalid_group_info",
            Self::InvalidKeyPackage => "invalid_key_package",
            Self::PrivateHandshake => "private_handshake",
            Self::TooManyProposals => "too_many_proposals",
            Self::QuotaExceeded => "quota_exceeded",
            Self::KeyMismatch => "key_mismatch",
            Self::NoKeyPackage => "no_key_package",
            Self::TooManyKeyPackages => "too_many_key_packages",
            Self::TooLarge => "too_large",
            Self::RateLimited => "rate_limited",
            Self::TooManyConnections => "too_many_connections",
            Self::PositionExpired => "position_expired",
            Self::NotFound => "not_found",
            Self::StoreUnavailable => "store_unavailable",
            Self::ShuttingDown => "shutting_down",
            Self::Internal => "internal",
        }
    }

    /// The HTTP status the code is sent with.
    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest | Self::MalformedMessage | Self::WrongGroup => StatusCode::BAD_REQUEST,
            Self::InvalidCommit | Self::UnroutableWelcome | Self::InvalidGroupInfo | Self::InvalidKeyPackage => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::NotMember | Self::SenderMismatch | Self::KeyMismatch | Self::PrivateHandshake => {
                StatusCode::FORBIDDEN
            }
            Self::NoSuchGroup | Self::NoKeyPackage | Self::NotFound => StatusCode::NOT_FOUND,
            Self::GroupExists
            | Self::EpochMovedOn
            | Self::FutureEpoch
            | Self::TooManyKeyPackages
            | Self::TooManyProposals => StatusCode::CONFLICT,
            Self::PositionExpired => StatusCode::GONE,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RateLimited | Self::TooManyConnections | Self::QuotaExceeded => StatusCode::TOO_MANY_REQUESTS,
            Self::StoreUnavailable | Self::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A refused request: code, message and, for epoch errors, the group's
/// current epoch; for expired positions, the oldest position kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// What went wrong.
    pub code: ErrorCode,
    /// For people.
    pub message: String,
    /// The group's epoch, with `epoch_moved_on` and `future_epoch`.
    pub current_epoch: Option<u64>,
    /// The oldest position still kept, with `position_expired`.
    pub oldest: Option<u64>,
}

impl ApiError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            current_epoch: None,
            oldest: None,
        }
    }

    /// A `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    /// The error as sent in a body (HTTP and WebSocket).
    pub fn detail(&self) -> ErrorDetail {
        ErrorDetail {
            code: self.code.as_str().to_owned(),
            message: self.message.clone(),
            current_epoch: self.current_epoch,
            oldest: self.oldest,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        // The cause goes to the log, not to the client.
        tracing::warn!(error = %e, "store error");
        Self::new(ErrorCode::StoreUnavailable, "the store is unavailable, try again")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let mut response = (status, axum::Json(ErrorBody { error: self.detail() })).into_response();
        if self.code == ErrorCode::RateLimited {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_documented_with_its_status() {
        let protocol = include_str!("../../docs/server-protocol.md");
        let openapi = include_str!("../../docs/openapi.yaml");
        for code in ErrorCode::ALL {
            let name = code.as_str();
            assert!(openapi.contains(name), "{name} missing from docs/openapi.yaml");
            let row = protocol
                .lines()
                .find(|l| l.starts_with('|') && l.contains(&format!("`{name}`")))
                .unwrap_or_else(|| panic!("{name} missing from the table in docs/server-protocol.md"));
            assert!(
                row.contains(code.status().as_str()),
                "{name}: documented status differs"
            );
        }
    }
}
