//! End-to-end tests of `status`.
