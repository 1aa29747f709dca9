//! Renders the network into a [`Plan`]: repo-relative path → bytes, for the
//! Kubernetes trees, the Argo CD Application, monitoring, docs and the Tailscale
//! policy. TODO(issue 3): the Plan and the Kubernetes renderers.
//!
//! This crate must not touch the disk: writing the plan is the binary's job.
#![deny(missing_docs)]

pub mod graph;
pub mod policy;
