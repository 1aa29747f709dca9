//! The typed avalanche network and its decoding from an evaluated Nix [`Value`].
//!
//! [`decode`] turns the value of `avalanche.network` (or of a whole module that sets
//! it) into a [`Network`], reporting every problem at the offending attribute:
//! unknown attributes (with "did you mean"), wrong types, names that are not
//! DNS-1123 labels, invalid CIDRs, unknown enum values. The defaults of every option
//! live here and nowhere else (see [`defaults`]); the options themselves, with their
//! types and descriptions, are the one table of [`schema`], from which the Nix options
//! module is generated.
//!
//! [`Network::resolve`] (in [`resolve`]) checks every cross-reference between
//! declarations once (a client's proxy, an instance's provider and credentials);
//! `check` reports what it finds and `render` takes only a resolved network.
//! Decoding itself makes no cross-reference checks. This crate does no I/O.
#![deny(missing_docs)]

pub mod decode;
pub mod defaults;
pub mod gluetun;
pub mod hujson;
pub mod layout;
pub mod names;
pub mod network;
pub mod resolve;
pub mod rules;
pub mod schema;
pub mod words;

pub use decode::{decode, decode_in, decodes};
pub use names::{Cidr, Name};
pub use network::*;
pub use resolve::Resolved;
