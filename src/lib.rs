pub use trusted_cors_core::*;
