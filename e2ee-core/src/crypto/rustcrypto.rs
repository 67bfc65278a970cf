//! The default backend: RustCrypto primitives and the `hpke` crate.

/// Suites 1, 2 and 3 on RustCrypto and `hpke`.
#[derive(Clone, Copy, Debug, Default)]
pub struct RustCryptoProvider;
