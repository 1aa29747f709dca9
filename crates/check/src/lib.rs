//! Validation rules over the network and the repository facts: diagnostics, no I/O.
