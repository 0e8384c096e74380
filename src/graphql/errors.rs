//! `AppError` as a GraphQL error: the message is the error's fixed public text, and
//! `extensions.code` (plus `field`) what clients switch on. Internal detail goes to the log;
//! the HTTP layer adds the request id to `INTERNAL` errors.

use async_graphql::ErrorExtensions;

use crate::error::AppError;

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        self.log_if_internal();
        async_graphql::Error::new(self.to_string()).extend_with(|_, extensions| {
            extensions.set("code", self.code());
            if let Some(field) = self.field() {
                extensions.set("field", field);
            }
            if let Some(reason) = self.reason() {
                extensions.set("reason", reason);
            }
            if let Some(seconds) = self.retry_after() {
                extensions.set("retryAfter", seconds);
            }
            if let Some(rule) = self.rule() {
                extensions.set("rule", rule);
            }
        })
    }
}

/// `AppResult<T>` into `async_graphql::Result<T>`.
pub trait IntoGraphql<T> {
    fn graphql(self) -> async_graphql::Result<T>;
}

impl<T> IntoGraphql<T> for Result<T, AppError> {
    fn graphql(self) -> async_graphql::Result<T> {
        self.map_err(|err| err.extend())
    }
}
