//! Attacks on the portal from outside the happy path, one module per theme
//! under `tests/adversarial/`.

mod common;

// A crate root's modules resolve next to it (`tests/`), where cargo would
// take each file for a test crate of its own; `#[path]` keeps them apart.
#[path = "adversarial/storage.rs"]
mod storage;

#[path = "adversarial/ssrf.rs"]
mod ssrf;

#[path = "adversarial/lockout.rs"]
mod lockout;

#[path = "adversarial/consumer.rs"]
mod consumer;

#[path = "adversarial/proxy.rs"]
mod proxy;

#[path = "adversarial/fuzz.rs"]
mod fuzz;
