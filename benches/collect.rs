//! `collect` (gcpool only: no peer has a collection). Filled in once the core lands.
mod common;

use criterion::{criterion_group, criterion_main, Criterion};

fn collect(_c: &mut Criterion) {}

criterion_group! {
    name = benches;
    config = common::config();
    targets = collect
}
criterion_main!(benches);
