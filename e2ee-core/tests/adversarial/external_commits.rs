//! External Commits: a non-member's word cannot admit it against the
//! application's policy, remove a member, or stall the group.

use e2ee_core::crypto::os_rng;
use e2ee_core::error::{Error, FramingError, Refusal, WelcomeError};
use e2ee_core::group::proposals::ProposalError;
use e2ee_core::group::{Environment, ExternalJoinParams, ExternalJoins, Group, GroupConfig};
use e2ee_core::messages::{Content, ExternalInit, MlsMessage, MlsMessageBody, Proposal, ProposalOrRef, Remove, Sender};

use crate::common::{Client, SUITES, suite, wire};
use crate::support::{Trio, framed, public, public_message, random};

fn with_policy(env: Environment<'_>, external_joins: ExternalJoins) -> Environment<'_> {
    Environment { external_joins, ..env }
}

/// `client` joins by external Commit from `group_info`.
fn join(
    env: &Environment<'_>,
    client: &Client,
    group_info: &MlsMessage,
    resync: bool,
) -> Result<(Group, MlsMessage), Error> {
    let group_info = wire(group_info);
    let params = ExternalJoinParams {
        group_info: &group_info,
        ratchet_tree: None,
        own: client.own_leaf(env.cs),
        signature_private_key: client.signer.private.clone(),
        resync,
        psks: Vec::new(),
    };
    Group::join_external(env, params, GroupConfig::default(), &mut os_rng())
}

/// The members refuse `message` and keep their epoch.
fn all_refuse(trio: &mut Trio, env: &Environment<'_>, message: &MlsMessage, check: impl Fn(usize, Error)) {
    let before = trio.epochs();
    for (i, g) in trio.groups.iter_mut().enumerate() {
        check(i, g.process(env, &wire(message)).map(|_| ()).unwrap_err());
        assert!(g.is_active(), "member {i} closed its group");
    }
    assert_eq!(trio.epochs(), before);
}

/// By default a group takes no external joins: its GroupInfo offers none,
/// and a valid external Commit built from a GroupInfo that did (a member
/// with another policy, or an old one the Delivery Service kept) is
/// refused by every member, who then carry on.
#[test]
fn an_outsiders_external_commit_is_refused_by_default() {
    for s in SUITES {
        let env = Environment::basic(suite(s));
        let allow = with_policy(env, ExternalJoins::Allow);
        let mut trio = Trio::new(&env);
        let erin = Client::new(env.cs, "erin");
        let info = trio.groups[0].group_info(&env, true).unwrap();
        assert_eq!(
            join(&allow, &erin, &info, false).unwrap_err(),
            Error::from(WelcomeError::MissingExternalPub)
        );

        let info = trio.groups[0].group_info(&allow, true).unwrap();
        let (_, commit) = join(&allow, &erin, &info, false).unwrap();
        all_refuse(&mut trio, &env, &commit, |_, e| {
            assert_eq!(e, Error::from(Refusal::ExternalJoin))
        });
        trio.advance(&env, 1);
    }
}

/// A non-member claims Bob's name and "resyncs" his leaf, with a Commit
/// whose confirmation tag is junk (it is not covered by the signature).
/// Bob cannot derive the new epoch to check it, so he does not take it
/// as his removal; the others find the tag wrong. Nobody moves, and the
/// next honest Commit goes through for all three.
#[test]
fn a_forged_resync_cannot_close_its_victim_or_stall_the_group() {
    for s in SUITES {
        let env = with_policy(Environment::basic(suite(s)), ExternalJoins::Resync);
        let mut trio = Trio::new(&env);
        let mallory = Client::new(env.cs, "bob");
        let info = trio.groups[0].group_info(&env, true).unwrap();
        let (_, commit) = join(&env, &mallory, &info, true).unwrap();
        let mut forged = public(&commit);
        forged.auth.confirmation_tag = Some(random(env.cs.hash_len()).into());
        let forged = MlsMessage {
            version: commit.version,
            body: MlsMessageBody::PublicMessage(forged),
        };
        all_refuse(&mut trio, &env, &forged, |i, e| match i {
            1 => assert_eq!(e, Error::from(Refusal::ExternalCommitRemovesSelf)),
            _ => assert_eq!(e, Error::from(FramingError::InvalidConfirmationTag)),
        });
        trio.advance(&env, 0);
        trio.advance(&env, 1);
    }
}

/// Mallory's valid external Commit into `trio`'s group, with its proposals
/// edited by `edit` and signed again by her (the confirmation tag is the
/// original's: the members refuse the Commit before they could check it).
fn edited_external_commit(
    trio: &Trio,
    env: &Environment<'_>,
    edit: impl FnOnce(&mut Vec<ProposalOrRef>),
) -> MlsMessage {
    let mallory = Client::new(env.cs, "mallory");
    let info = trio.groups[0].group_info(env, true).unwrap();
    let (_, commit) = join(env, &mallory, &info, false).unwrap();
    let original = public(&commit);
    let Content::Commit(mut body) = original.content.content.clone() else {
        panic!("not a Commit")
    };
    edit(&mut body.proposals);
    let context = trio.groups[0].context().clone();
    let content = framed(&context, Sender::NewMemberCommit, Content::Commit(body));
    let tag = original.auth.confirmation_tag.map(|t| t.to_vec());
    public_message(env.cs, mallory.signer.private.as_bytes(), content, &context, tag)
}

/// An external joiner adds a Remove of Bob to its own (otherwise valid)
/// Commit and signs it again: a Remove in an external Commit may only
/// take out the joiner's own earlier leaf, so everyone, Bob included,
/// refuses it before anything changes.
#[test]
fn an_external_commit_may_remove_only_the_joiners_own_leaf() {
    for s in SUITES {
        let env = with_policy(Environment::basic(suite(s)), ExternalJoins::Allow);
        let mut trio = Trio::new(&env);
        let forged = edited_external_commit(&trio, &env, |proposals| {
            proposals.push(ProposalOrRef::Proposal(Proposal::Remove(Remove { removed: 1 })))
        });
        let expected = Error::from(ProposalError::ExternalCommitRemovesOther { leaf: 1 });
        all_refuse(&mut trio, &env, &forged, |_, e| assert_eq!(e, expected));
        trio.advance(&env, 2);
    }
}

/// An external joiner signs a Commit whose ExternalInit carries a
/// kem_output that no KEM of the suite can decapsulate: the members find
/// it invalid as a proposal (the joiner's fault), not as a failure of
/// their own cryptography, and carry on.
#[test]
fn an_external_commit_with_a_junk_kem_output_is_refused() {
    for s in SUITES {
        let env = with_policy(Environment::basic(suite(s)), ExternalJoins::Allow);
        let mut trio = Trio::new(&env);
        let forged = edited_external_commit(&trio, &env, |proposals| {
            for p in proposals {
                if let ProposalOrRef::Proposal(Proposal::ExternalInit(init)) = p {
                    *init = ExternalInit {
                        kem_output: vec![0xff; 5].into(),
                    };
                }
            }
        });
        all_refuse(&mut trio, &env, &forged, |_, e| {
            assert_eq!(e, Error::from(ProposalError::InvalidKemOutput))
        });
        trio.advance(&env, 0);
    }
}
