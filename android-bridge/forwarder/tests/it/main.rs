//! Integration tests of the forwarder: the outbox and delivery rules against a scripted loopback server,
//! the `webqris-forward` command, and the whole path against the real `webqris` server.

mod cli;
mod delivery;
mod real_server;
mod support;
