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
//! This crate does no I/O and makes no cross-reference checks (an unknown proxy
//! name is `check`'s business, not decoding's).
#![deny(missing_docs)]

pub mod decode;
pub mod defaults;
pub mod gluetun;
pub mod hujson;
pub mod layout;
pub mod names;
pub mod network;
pub mod rules;
pub mod schema;

pub use decode::{decode, decode_in, decodes};
pub use names::{Cidr, Name};
pub use network::*;
