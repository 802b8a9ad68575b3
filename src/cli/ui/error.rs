//! The API's errors: a status and one line, sent as `{"error": "..."}` and shown on the page.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use zczk_core::client::ClientError;
use zczk_core::message::short;
use zczk_core::store::Code;

use crate::cli::CliError;

/// Why a request failed.
#[derive(Debug)]
pub(super) struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into() }
    }

    /// Refused: the request is not one the page may make.
    pub(super) fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }

    /// The request itself is malformed.
    pub(super) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<ClientError> for ApiError {
    fn from(error: ClientError) -> ApiError {
        let status = match error.code() {
            Some(Code::NoNode) => StatusCode::NOT_FOUND,
            Some(Code::BadVersion) => StatusCode::CONFLICT,
            Some(Code::NoAuth) => StatusCode::FORBIDDEN,
            Some(Code::BadArguments) => StatusCode::BAD_REQUEST,
            _ if matches!(error, ClientError::NoNode { .. }) => StatusCode::NOT_FOUND,
            _ if matches!(
                error,
                ClientError::Path(_)
                    | ClientError::BadPropertyLink { .. }
                    | ClientError::BadProperties { .. }
            ) =>
            {
                StatusCode::BAD_REQUEST
            }
            _ => StatusCode::BAD_GATEWAY,
        };
        ApiError::new(status, error.to_string())
    }
}

impl From<CliError> for ApiError {
    fn from(error: CliError) -> ApiError {
        match error {
            CliError::Client(error) => error.into(),
            CliError::Parse { .. } | CliError::Usage(_) => ApiError::bad_request(error.to_string()),
            _ => ApiError::new(StatusCode::BAD_GATEWAY, error.to_string()),
        }
    }
}

impl From<zczk_core::import::ImportError> for ApiError {
    fn from(error: zczk_core::import::ImportError) -> ApiError {
        CliError::from(error).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // One line, as the CLI prints errors: a message never spans lines on the page.
        let line = short(&self.message.replace('\n', " ")).to_string();
        (self.status, Json(serde_json::json!({ "error": line }))).into_response()
    }
}
