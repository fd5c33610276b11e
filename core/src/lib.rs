//! The pure heart of webqris, shared by the server and the Android forwarder: the QRIS (EMV MPM) codec
//! and its static → dynamic conversion, e-wallet notification parsing, event hashing, webhook signing and
//! the wire types of the WebQRIS v3.6 API. No I/O, no async runtime, no database.
#![forbid(unsafe_code)]

pub mod device;
pub mod event;
pub mod notification;
pub mod qris;
pub mod secret;
pub mod signing;
pub mod timestamp;
pub mod wire;

pub use secret::SecretString;
pub use timestamp::Timestamp;
