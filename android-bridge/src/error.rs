//! The error the forwarder's methods raise in Kotlin (`ForwarderException`): the forwarder's own error,
//! variant for variant.

use webqris_forwarder::Error;

/// What went wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum ForwarderError {
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
    /// The server refused the callback secret or the request, or redirected it.
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

impl From<Error> for ForwarderError {
    fn from(e: Error) -> Self {
        match e {
            Error::Config { setting, detail } => Self::Config { setting, detail },
            Error::Storage { detail } => Self::Storage { detail },
            Error::Unauthorized { status, detail } => Self::Unauthorized { status, detail },
            Error::Network { detail } => Self::Network { detail },
            Error::Server { status, detail } => Self::Server { status, detail },
            Error::ShutDown => Self::ShutDown,
        }
    }
}
