//! Stored state cannot be swapped between groups, and no secret shows in
//! debug output.

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
