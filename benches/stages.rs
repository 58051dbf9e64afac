//! Criterion benches of each audit stage on in-memory inputs (being written).
fn main() {}
