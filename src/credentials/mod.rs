//! The families of what every source reads (the credential report, the key
//! API, or both merged): users, their access keys and their signing
//! certificates, one table each.

mod keys;
mod signing_certificates;
mod users;

use crate::exposition::Table;
use crate::model::AccountData;

/// The report's tables, in exposition order.
pub const TABLES: [&Table<AccountData>; 3] =
    [&keys::TABLE, &signing_certificates::TABLE, &users::TABLE];
