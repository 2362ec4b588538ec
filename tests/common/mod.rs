//! Helpers shared by the integration tests (`mod common;`).
#![allow(dead_code)]

pub mod alerting;
pub mod daemon;
pub mod every_family;
pub mod exporter;
pub mod fixture;
pub mod gate;
pub mod http;
pub mod mock;
pub mod moto;
pub mod prometheus;
pub mod synthetic;

use std::sync::{Mutex, MutexGuard};

/// Held by the tests that measure time or memory (faults, load), so that
/// they run one at a time in their test binary and one test's load does not
/// show up in another's figures.
pub fn exclusive() -> MutexGuard<'static, ()> {
    static EXCLUSIVE: Mutex<()> = Mutex::new(());
    EXCLUSIVE.lock().unwrap_or_else(|e| e.into_inner())
}
