//! End-to-end tests of `secrets`.
