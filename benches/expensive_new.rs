//! `expensive_new`. Filled in once the core lands.
mod common;

use criterion::{criterion_group, criterion_main, Criterion};

fn expensive_new(_c: &mut Criterion) {}

criterion_group! {
    name = benches;
    config = common::config();
    targets = expensive_new
}
criterion_main!(benches);
