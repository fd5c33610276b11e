//! The error of the forwarder's calls.

/// What went wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A setting is unusable (server URL, empty secret, database path…).
    #[error("invalid setting {setting}: {detail}")]
    Config {
        /// Which setting.
        setting: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The on-device database failed.
    #[error("on-device outbox: {detail}")]
    Storage {
        /// What SQLite or the file system said.
        detail: String,
    },
    /// The server refused the callback secret or the request (401, 403), or redirected it (the URL is
    /// wrong).
    #[error("{detail}")]
    Unauthorized {
        /// HTTP status.
        status: u16,
        /// What to tell the user.
        detail: String,
    },
    /// The server could not be reached or did not answer in time.
    #[error("{detail}")]
    Network {
        /// What failed.
        detail: String,
    },
    /// The server answered with an error.
    #[error("server answered HTTP {status}: {detail}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The answer's message.
        detail: String,
    },
    /// The forwarder was shut down.
    #[error("the forwarder has been shut down")]
    ShutDown,
}

impl From<crate::outbox::StoreError> for Error {
    fn from(e: crate::outbox::StoreError) -> Self {
        Self::Storage {
            detail: e.to_string(),
        }
    }
}
