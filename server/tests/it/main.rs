//! Integration tests of the webqris server, end to end: the real server (`run` on `127.0.0.1:0`, a
//! temporary SQLite file), a real webhook receiver and a real WebSocket client. One module per area.

mod callback;
mod cli;
mod dashboard;
mod delivery;
mod errors;
mod events;
mod hostile;
mod logs;
mod money;
mod multinode;
mod multinode_caps;
mod multinode_dashboard;
mod notification;
mod openapi;
mod ops;
mod outage;
mod page;
mod payment;
mod restart;
mod sandbox;
mod spoof;
mod support;
mod trust;
mod ws;
