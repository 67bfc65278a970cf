//! Stored state cannot be swapped between groups or relabelled with
//! another cipher suite, and no secret shows in debug output.

use e2ee_core::client::Client;
use e2ee_core::messages::{GroupSecrets, PathSecret};

const KEY: [u8; 32] = [9; 32];

/// Storage hands group A's sealed state back when group B's is asked for:
/// refused with `state_key`, as a wrong key would be.
#[test]
fn one_groups_sealed_state_does_not_restore_as_anothers() {
    let alice = Client::new(1, b"alice").unwrap();
    let (a, b) = (alice.create_group().unwrap(), alice.create_group().unwrap());
    let sealed = a.export_sealed(&KEY).unwrap();
    let swapped = alice.restore_sealed_group(&sealed, &KEY, b.id()).unwrap_err();
    assert_eq!(swapped.code(), "state_key");
    let restored = alice.restore_sealed_group(&sealed, &KEY, a.id()).unwrap();
    assert_eq!(restored.id(), a.id());
}

/// Storage relabels a state with another cipher suite (the header names
/// the suite whose primitives open it; suite 2 has suite 1's AEAD and
/// hash): a sealed one is refused, the suite being authenticated, and a
/// plain one fails its checksum.
#[test]
fn a_state_relabelled_with_another_suite_is_refused() {
    const SUITE_AT: usize = 7;
    let alice = Client::new(1, b"alice").unwrap();
    let group = alice.create_group().unwrap();
    for other in [2u16, 3, 7] {
        let mut sealed = alice.export_sealed(&KEY).unwrap();
        sealed[SUITE_AT..SUITE_AT + 2].copy_from_slice(&other.to_be_bytes());
        assert_eq!(Client::restore_sealed(&sealed, &KEY).unwrap_err().code(), "state_key");
        let mut plain = alice.export_state().unwrap();
        plain[SUITE_AT..SUITE_AT + 2].copy_from_slice(&other.to_be_bytes());
        assert_eq!(Client::restore_state(&plain).unwrap_err().code(), "state_corrupt");
        let mut sealed = group.export_sealed(&KEY).unwrap();
        sealed[SUITE_AT..SUITE_AT + 2].copy_from_slice(&other.to_be_bytes());
        let refused = alice.restore_sealed_group(&sealed, &KEY, group.id()).unwrap_err();
        assert_eq!(refused.code(), "cipher_suite_mismatch");
    }
    assert!(Client::restore_sealed(&alice.export_sealed(&KEY).unwrap(), &KEY).is_ok());
}

/// `Debug` of the structures that carry secrets prints none of them.
#[test]
fn debug_output_shows_no_secrets() {
    let secret = [0xa5u8; 32];
    let group_secrets = GroupSecrets {
        joiner_secret: secret.as_slice().into(),
        path_secret: Some(PathSecret {
            path_secret: secret.as_slice().into(),
        }),
        psks: Vec::new(),
    };
    let printed = format!("{group_secrets:?} {:?}", group_secrets.path_secret);
    for shown in ["a5a5", "A5A5", "165, 165"] {
        assert!(!printed.contains(shown), "{printed}");
    }
    let alice = Client::new(1, b"alice").unwrap();
    let group = alice.create_group().unwrap();
    let printed = format!("{alice:?} {group:?}");
    let hex: String = group
        .epoch_authenticator()
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(!printed.contains(&hex[..16]), "{printed}");
}
