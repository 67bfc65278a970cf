//! An mls-rs client as the tests and the peer bench use it (included in
//! both with `#[path]`).

use mls_rs::CipherSuiteProvider as _;
use mls_rs::client_builder::MlsConfig;
use mls_rs::identity::SigningIdentity;
use mls_rs::identity::basic::{BasicCredential, BasicIdentityProvider};
use mls_rs::mls_rules::{CommitOptions, DefaultMlsRules, EncryptionOptions};
use mls_rs_crypto_rustcrypto::RustCryptoProvider as RsCrypto;

/// An mls-rs client for `suite` on mls-rs's RustCrypto provider (suites 1
/// to 3), with a basic credential, the ratchet tree in its Welcomes, and
/// handshake messages encrypted if `private`.
pub fn rs_client(name: &str, suite: u16, private: bool) -> mls_rs::Client<impl MlsConfig + use<>> {
    client_on(RsCrypto::new(), name, suite, private)
}

/// [`rs_client`] on mls-rs's OpenSSL provider (suites 1 to 7).
#[allow(dead_code)] // The bench uses the RustCrypto one only.
pub fn rs_openssl_client(name: &str, suite: u16, private: bool) -> mls_rs::Client<impl MlsConfig + use<>> {
    client_on(
        mls_rs_crypto_openssl::OpensslCryptoProvider::new(),
        name,
        suite,
        private,
    )
}

fn client_on<P>(crypto: P, name: &str, suite: u16, private: bool) -> mls_rs::Client<impl MlsConfig + use<P>>
where
    P: mls_rs::CryptoProvider + Clone,
{
    let suite = mls_rs::CipherSuite::from(suite);
    let (secret, public) = crypto
        .cipher_suite_provider(suite)
        .unwrap()
        .signature_key_generate()
        .unwrap();
    let identity = SigningIdentity::new(BasicCredential::new(name.as_bytes().to_vec()).into_credential(), public);
    let mut encryption = EncryptionOptions::default();
    encryption.encrypt_control_messages = private;
    let rules = DefaultMlsRules::new()
        .with_commit_options(CommitOptions::new().with_ratchet_tree_extension(true))
        .with_encryption_options(encryption);
    mls_rs::Client::builder()
        .identity_provider(BasicIdentityProvider)
        .crypto_provider(crypto)
        .mls_rules(rules)
        .signing_identity(identity, secret, suite)
        .build()
}
