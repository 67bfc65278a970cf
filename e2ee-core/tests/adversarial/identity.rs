//! A member's identity stays its own: nobody can take another member's
//! name, unless the application's Authentication Service allows it.

use e2ee_core::crypto::os_rng;
use e2ee_core::group::Environment;
use e2ee_core::key_package::sign_leaf_node;
use e2ee_core::messages::{Credential, Proposal, WireFormat};
use e2ee_core::ratchet_tree::{CredentialError, CredentialValidator};

use crate::common::{SUITES, suite, wire};
use crate::support::Trio;

/// An Authentication Service that lets credentials change: what a
/// compromised or malicious member's own client would run.
struct AnythingGoes;

impl CredentialValidator for AnythingGoes {
    fn validate(&self, _: &Credential, _: &[u8]) -> Result<(), CredentialError> {
        Ok(())
    }

    fn validate_successor(&self, _: &Credential, _: &Credential) -> Result<(), CredentialError> {
        Ok(())
    }
}

fn names(trio: &Trio, member: usize) -> Vec<Vec<u8>> {
    let tree = trio.groups[member].tree();
    (tree.leaves())
        .map(|(_, leaf)| match &leaf.credential {
            Credential::Basic(identity) => identity.to_vec(),
            other => panic!("{other:?}"),
        })
        .collect()
}

/// Bob signs an Update of his leaf that names him "alice". The others
/// refuse it on receipt, the names stay as they were, and the next Commit
/// goes through.
#[test]
fn a_member_cannot_take_another_members_name_by_update() {
    for s in SUITES {
        let cs = suite(s);
        let env = Environment::basic(cs);
        let bobs_env = Environment {
            credential_validator: &AnythingGoes,
            ..env
        };
        let mut trio = Trio::new(&env);
        let before = names(&trio, 0);
        let Proposal::Update(mut update) = trio.groups[1].update_proposal(&bobs_env, &mut os_rng()).unwrap() else {
            panic!("not an Update")
        };
        update.leaf_node.credential = Credential::Basic(b"alice".as_slice().into());
        let group = Some((&trio.groups[1].context().group_id, 1));
        sign_leaf_node(cs, &mut update.leaf_node, trio.ids[1].signer.private.as_bytes(), group).unwrap();
        let (message, _) = trio.groups[1]
            .propose(
                &bobs_env,
                Proposal::Update(update),
                WireFormat::PUBLIC_MESSAGE,
                &mut os_rng(),
            )
            .unwrap();
        for i in [0, 2] {
            let error = trio.groups[i].process(&env, &wire(&message)).unwrap_err();
            assert_eq!(error.code(), "leaf_node_credential_rejected", "{error}");
            assert!(trio.groups[i].pending_proposals().is_empty());
        }
        trio.advance(&env, 0);
        assert_eq!(names(&trio, 2), before);
    }
}

/// The default Authentication Service keeps identities stable; one that
/// allows a change is the application's explicit choice.
#[test]
fn the_default_validator_refuses_any_change_of_credential() {
    let validator = e2ee_core::ratchet_tree::BasicCredentialValidator;
    let bob = Credential::Basic(b"bob".as_slice().into());
    let alice = Credential::Basic(b"alice".as_slice().into());
    assert!(validator.validate_successor(&bob, &bob).is_ok());
    assert!(validator.validate_successor(&bob, &alice).is_err());
}
