//! Renders the network into a Plan of files: Kubernetes, Argo CD, monitoring, docs; no I/O.
