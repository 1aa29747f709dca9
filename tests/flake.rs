//! End-to-end tests of `flake`.
