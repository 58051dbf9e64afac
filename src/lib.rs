//! sxsaudit: audit the WinSxS component store of an offline Windows image.
#![deny(missing_docs)]

pub mod audit;
pub mod cli;
pub mod codec;
pub mod compare;
pub mod demo;
pub mod error;
pub mod exit;
pub mod findings;
pub mod format;
pub mod hash;
pub mod info;
pub mod outputs;
pub mod progress;
pub mod repair;
pub mod report;
pub mod store;
pub mod waivers;
