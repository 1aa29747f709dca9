//! End-to-end tests of `build`.
