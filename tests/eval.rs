//! End-to-end tests of `eval`.
