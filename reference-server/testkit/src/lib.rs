//! # e2ee-testkit
//!
//! What drives the reference delivery service (`reference-server`) from
//! outside, as its clients and operators would:
//!
//! - [`client`]: a client of the service's protocol, HTTP and WebSocket
//!   (the service's tests, `e2ee-load` and the CLI chat);
//! - [`testbed`]: the deployed topology as local processes on free loopback
//!   ports: redis-server, replicas and nginx;
//! - the `e2ee-load` binary: load and failover runs through the proxy.
//!
//! It is a crate of its own so that the service carries none of it.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod client;
pub mod testbed;
