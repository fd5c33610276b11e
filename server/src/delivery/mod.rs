//! Outbound webhooks: the delivery worker and the policy on which targets may be called.

pub mod target;
