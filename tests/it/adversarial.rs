//! Attacks on the portal from outside the happy path, one module per theme
//! under `tests/it/adversarial/`.

mod consumer;
mod fuzz;
mod lockout;
mod proxy;
mod ssrf;
mod storage;
