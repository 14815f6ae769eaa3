//! Benchmarks only: `cargo bench -p trusted-cors-benches`. See `benches/cors.rs`.
