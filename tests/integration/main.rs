//! The integration tests: one binary (see Cargo.toml `[[test]]`), whose modules build
//! temporary images with the crate's builder and run the real `sxsaudit` binary on them.

mod audit;
mod bad_input;
mod dcm;
mod realdata;
mod repair;
mod reports;
mod servicing;
mod util;
mod wim;
