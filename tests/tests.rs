//! End-to-end tests: they drive the real `avalanche-net` binary in temporary
//! repositories. One module per area; `support` holds the shared harness.

mod support;

mod adopt;
mod build;
mod check;
mod check_real;
mod eval;
mod flake;
mod flake_hosts;
mod flux;
mod gateway;
mod gateway_check;
mod gateway_monitoring;
mod gateway_switch;
mod gluetun;
mod hardening;
mod model;
mod multidoc;
mod reliability;
mod secrets;
mod status;
mod tailnet;
