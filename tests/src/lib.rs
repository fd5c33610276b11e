//! Helpers shared by the end-to-end tests in `tests/it` (the whole chain: forwarder, server, receiver).
