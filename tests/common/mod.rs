//! Helpers shared by the integration tests (`mod common;`).
#![allow(dead_code)]

pub mod alerting;
pub mod every_family;
pub mod exporter;
pub mod fixture;
pub mod gate;
pub mod http;
pub mod mock;
pub mod moto;
pub mod prometheus;
pub mod synthetic;
