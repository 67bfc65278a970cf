//! The provider against the conformance suite of `e2ee-provider`:
//! Wycheproof, RFC 9180 and RFC 8032 vectors, through the provider
//! interface. It also covers our own compositions: the RFC 9180 vectors
//! check the DHKEMs (`dhkem`, `dhkem_p256`, X448 in `kem`) and the HPKE key
//! schedule (`hpke_base`); Wycheproof's ECDSA vectors, malformed DER among
//! them, check `ecdsa_der`.

use e2ee_rustcrypto::RustCryptoProvider;

#[test]
fn independent_vectors() {
    let report = e2ee_provider::conformance::run(&RustCryptoProvider);
    println!("{report}");
    assert!(report.passed(), "some vectors failed:\n{report}");
}
