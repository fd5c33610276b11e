//! The on-device forwarder: a uniffi surface of `webqris-core` for the Android app, and the durable outbox
//! that carries notifications to the server. (Skeleton: filled by the forwarder work.)
