//! Helpers shared by the integration tests (`mod common;`).
#![allow(dead_code)]

pub mod exporter;
pub mod http;
pub mod moto;
pub mod synthetic;
