//! The one error type of Keyport's server functions and consumer API.
//!
//! It crosses the wire as `{"code": "...", "message": "..."}` so scripts can
//! branch on `code`. Messages are written for the admin reading them; nothing
//! internal (SQL, paths, secrets) is ever put in one — see `From<sqlx::Error>`
//! in `server/store.rs`, which logs and returns a bare `Internal`.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum AppError {
    /// 401: not signed in, or the session ended.
    #[error("{message}")]
    Unauthorized { message: String },
    /// 403: the role does not allow this.
    #[error("{message}")]
    Forbidden { message: String },
    /// 403: the provider disabled the organisation's tokens.
    #[error("{message}")]
    TokenDisabled { message: String },
    /// 403: the subscription that gates this page expired.
    #[error("{message}")]
    SubscriptionExpired { message: String },
    /// 403: the organisation has no such subscription.
    #[error("{message}")]
    NoSubscription { message: String },
    /// 404
    #[error("{message}")]
    NotFound { message: String },
    /// 400: bad input; `fields` maps a form field to what is wrong with it.
    #[error("{message}")]
    Validation {
        message: String,
        fields: BTreeMap<String, String>,
    },
    /// 409: the request conflicts with the current state (limit, duplicate).
    #[error("{message}")]
    Conflict { message: String },
    /// 429: too many attempts; try later.
    #[error("{message}")]
    TooManyRequests { message: String },
    /// 503: the server is saturated (e.g. every password-hashing slot is
    /// busy); try again after `Retry-After`.
    #[error("{message}")]
    Busy { message: String },
    /// 500: something failed on our side; the details are in the server log.
    #[error("{message}")]
    Internal { message: String },
    /// The request did not reach the function, or its answer could not be read.
    #[error("{message}")]
    Transport { message: String },
}

impl AppError {
    pub fn unauthorized() -> Self {
        AppError::Unauthorized {
            message: "Please sign in.".into(),
        }
    }

    pub fn forbidden() -> Self {
        AppError::Forbidden {
            message: "Your role does not allow this action.".into(),
        }
    }

    pub fn no_subscription() -> Self {
        AppError::NoSubscription {
            message: "A valid subscription is required.".into(),
        }
    }

    pub fn not_found(what: &str) -> Self {
        AppError::NotFound {
            message: format!("{what} was not found."),
        }
    }

    pub fn busy() -> Self {
        AppError::Busy {
            message: "The server is busy. Please try again in a few seconds.".into(),
        }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        AppError::Conflict {
            message: message.into(),
        }
    }

    pub fn internal() -> Self {
        AppError::Internal {
            message: "Something went wrong on our side. Please try again.".into(),
        }
    }

    /// A single-field validation error.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        AppError::Validation {
            fields: BTreeMap::from([(field.to_owned(), message.clone())]),
            message,
        }
    }

    /// The short code scripts branch on (also the JSON `code`).
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthorized { .. } => "unauthorized",
            AppError::Forbidden { .. } => "forbidden",
            AppError::TokenDisabled { .. } => "token_disabled",
            AppError::SubscriptionExpired { .. } => "subscription_expired",
            AppError::NoSubscription { .. } => "no_subscription",
            AppError::NotFound { .. } => "not_found",
            AppError::Validation { .. } => "validation",
            AppError::Conflict { .. } => "conflict",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::Busy { .. } => "busy",
            AppError::Internal { .. } => "internal",
            AppError::Transport { .. } => "transport",
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthorized { .. } => 401,
            AppError::Forbidden { .. }
            | AppError::TokenDisabled { .. }
            | AppError::SubscriptionExpired { .. }
            | AppError::NoSubscription { .. } => 403,
            AppError::NotFound { .. } => 404,
            AppError::Validation { .. } | AppError::Transport { .. } => 400,
            AppError::Conflict { .. } => 409,
            AppError::TooManyRequests { .. } => 429,
            AppError::Busy { .. } => 503,
            AppError::Internal { .. } => 500,
        }
    }

    /// The message for one form field, if this is a validation error about it.
    pub fn field(&self, name: &str) -> Option<&str> {
        match self {
            AppError::Validation { fields, .. } => fields.get(name).map(String::as_str),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        // Argument errors are the caller's; the rest are transport failures.
        // Their text comes from serde/HTTP, never from our data.
        let message = match value {
            ServerFnErrorErr::Args(e) | ServerFnErrorErr::MissingArg(e) => {
                format!("The request was not understood: {e}")
            }
            ServerFnErrorErr::Request(_) => "The server could not be reached.".to_owned(),
            other => format!("The request failed: {other}"),
        };
        AppError::Transport { message }
    }

    /// Encoding happens on the server just before the error is sent: that is
    /// the one place every error passes, so it is where the HTTP status is set.
    /// A plain HTML form post (no WebAssembly) is left to the framework, which
    /// sends the browser back to the form with a redirect.
    fn ser(&self) -> leptos::server_fn::Bytes {
        #[cfg(feature = "ssr")]
        if let (Some(options), Ok(status), false) = (
            leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
            axum::http::StatusCode::from_u16(self.status()),
            crate::server::http::is_form_navigation(),
        ) {
            options.set_status(status);
            if matches!(
                self,
                AppError::Busy { .. } | AppError::TooManyRequests { .. }
            ) {
                options.insert_header(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from_static("5"),
                );
            }
        }
        serde_json::to_vec(self)
            .map(Into::into)
            .unwrap_or_else(|_| {
                leptos::server_fn::Bytes::from_static(
                    br#"{"code":"internal","message":"Something went wrong on our side."}"#,
                )
            })
    }
}
