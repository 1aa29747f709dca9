//! End-to-end tests of `check`.
