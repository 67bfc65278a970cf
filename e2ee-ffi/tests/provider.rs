//! An application gives the bindings its own cryptographic provider through
//! e2ee-core's default provider: every Client they make, new or restored,
//! then uses it.

use e2ee_core::client::install_default_provider;
use e2ee_core::crypto::{CipherSuite, CipherSuiteProvider, CryptoError, CryptoProvider, RustCryptoProvider};
use e2ee_ffi::{Client, E2eeError};

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

/// The error code of a result that must be an error.
fn code<T>(result: Result<T, E2eeError>) -> String {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(E2eeError::Failed { code, .. }) => code,
    }
}

/// One process, one provider: this file holds a single test.
#[test]
fn clients_use_the_provider_they_are_given() {
    static MINE: OnlySuite3 = OnlySuite3;
    assert!(install_default_provider(&MINE).is_ok());
    assert!(
        install_default_provider(&RustCryptoProvider).is_err(),
        "the provider is set once"
    );

    assert_eq!(code(Client::new(1, b"alice".to_vec())), "unsupported_cipher_suite");
    let alice = Client::new(3, b"alice".to_vec()).unwrap();
    assert_eq!(alice.cipher_suite(), 3);
    let key = vec![7; 32];
    let sealed = alice.export_sealed(key.clone()).unwrap();
    assert_eq!(Client::restore_sealed(sealed, key).unwrap().cipher_suite(), 3);
    let state = alice.export_state().unwrap();
    assert_eq!(Client::restore_state(state).unwrap().cipher_suite(), 3);
}
