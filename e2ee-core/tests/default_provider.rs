//! The default provider: the constructors without a provider use the one
//! installed, once per process, else the built-in one.

use e2ee_core::client::{Client, default_provider, install_default_provider};
use e2ee_core::crypto::{CipherSuite, CipherSuiteProvider, CryptoError, CryptoProvider, RustCryptoProvider};

/// The built-in provider with suite 3 only, standing in for another one.
struct OnlySuite3;

impl CryptoProvider for OnlySuite3 {
    fn cipher_suite(&self, suite: CipherSuite) -> Result<&dyn CipherSuiteProvider, CryptoError> {
        match suite.0 {
            3 => RustCryptoProvider.cipher_suite(suite),
            other => Err(CryptoError::UnsupportedCipherSuite { suite: other }),
        }
    }

    fn supported_cipher_suites(&self) -> Vec<CipherSuite> {
        vec![CipherSuite(3)]
    }
}

/// One process, one default provider: this file holds a single test.
#[test]
fn the_provider_installed_is_the_one_in_use() {
    static MINE: OnlySuite3 = OnlySuite3;
    assert!(install_default_provider(&MINE).is_ok());
    assert!(install_default_provider(&RustCryptoProvider).is_err());
    assert_eq!(default_provider().supported_cipher_suites(), [CipherSuite(3)]);
    assert_eq!(Client::new(1, b"alice").unwrap_err().code(), "unsupported_cipher_suite");
    let alice = Client::new(3, b"alice").unwrap();
    let restored = Client::restore_state(&alice.export_state().unwrap()).unwrap();
    assert_eq!(restored.cipher_suite(), 3);
}
