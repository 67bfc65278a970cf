//! Unit tests of the hand-written codecs, the encode-only TBS views and the
//! handling of unknown values.

use alloc::vec::Vec;

use super::*;
use crate::codec::{CodecError, Decode, Encode, VLBytes, decode_exact, encode};

fn bytes(b: &[u8]) -> VLBytes {
    b.into()
}

fn leaf(source: LeafNodeSource) -> LeafNode {
    LeafNode {
        encryption_key: bytes(&[1; 4]),
        signature_key: bytes(&[2; 4]),
        credential: Credential::Basic(bytes(b"alice")),
        capabilities: Capabilities::default(),
        leaf_node_source: source,
        extensions: Vec::new(),
        signature: bytes(&[3; 4]),
    }
}

fn key_package_leaf() -> LeafNode {
    leaf(LeafNodeSource::KeyPackage(Lifetime {
        not_before: 1,
        not_after: 2,
    }))
}

fn framed(sender: Sender, content: Content) -> FramedContent {
    FramedContent {
        group_id: bytes(b"group"),
        epoch: 7,
        sender,
        authenticated_data: bytes(&[]),
        content,
    }
}

fn auth(confirmation_tag: Option<&[u8]>) -> FramedContentAuthData {
    auth_with(&[9; 8], confirmation_tag)
}

fn commit() -> Content {
    Content::Commit(Commit {
        proposals: Vec::new(),
        path: None,
    })
}

fn context() -> GroupContext {
    GroupContext {
        version: ProtocolVersion::MLS10,
        cipher_suite: CipherSuite(1),
        group_id: bytes(b"group"),
        epoch: 7,
        tree_hash: bytes(&[4; 4]),
        confirmed_transcript_hash: bytes(&[5; 4]),
        extensions: Vec::new(),
    }
}

/// Encodes then decodes `value`, requiring equality.
fn round_trip<T: Decode + Encode + PartialEq + core::fmt::Debug>(value: &T) -> Vec<u8> {
    let encoded = encode(value).unwrap();
    assert_eq!(&decode_exact::<T>(&encoded).unwrap(), value);
    encoded
}

#[test]
fn unknown_select_tags_are_typed_errors() {
    let invalid = Err(CodecError::InvalidValue);
    assert_eq!(decode_exact::<Proposal>(&[0, 8]).map(|_| ()), invalid);
    assert_eq!(decode_exact::<Credential>(&[0, 3, 0]).map(|_| ()), invalid);
    assert_eq!(decode_exact::<MlsMessage>(&[0, 1, 0, 6]).map(|_| ()), invalid);
    assert_eq!(decode_exact::<Sender>(&[5, 0, 0, 0, 0]).map(|_| ()), invalid);
    assert_eq!(decode_exact::<ContentType>(&[0]).map(|_| ()), invalid);
    assert_eq!(decode_exact::<Node>(&[3]).map(|_| ()), invalid);
    assert_eq!(decode_exact::<LeafNodeSource>(&[4]).map(|_| ()), invalid);
    assert_eq!(decode_exact::<Psk>(&[3, 0]).map(|_| ()), invalid);
    assert_eq!(decode_exact::<ProposalOrRef>(&[0]).map(|_| ()), invalid);
}

#[test]
fn grease_values_decode_in_type_lists() {
    // RFC 9420 §13.5: GREASE values 0x0A0A, 0x1A1A, ...
    let caps = Capabilities {
        versions: vec![ProtocolVersion::MLS10],
        cipher_suites: vec![CipherSuite(1), CipherSuite(0x0A0A)],
        extensions: vec![ExtensionType(0x1A1A)],
        proposals: vec![ProposalType(0x2A2A)],
        credentials: vec![CredentialType::BASIC, CredentialType(0x3A3A)],
    };
    round_trip(&caps);
    round_trip(&RequiredCapabilities {
        extension_types: vec![ExtensionType(0x4A4A)],
        proposal_types: vec![ProposalType(0x5A5A)],
        credential_types: vec![CredentialType(0x6A6A)],
    });
}

#[test]
fn confirmation_tag_follows_content_type() {
    let ok = AuthenticatedContent {
        wire_format: WireFormat::PUBLIC_MESSAGE,
        content: framed(Sender::Member(0), commit()),
        auth: auth(Some(&[6; 4])),
    };
    let encoded = round_trip(&ok);
    assert_eq!(encoded.last(), Some(&6));
    let missing = AuthenticatedContent {
        auth: auth(None),
        ..ok.clone()
    };
    assert_eq!(encode(&missing), Err(CodecError::InvalidValue));
    let extra = AuthenticatedContent {
        content: framed(Sender::Member(0), Content::Application(bytes(b"hi"))),
        ..ok
    };
    assert_eq!(encode(&extra), Err(CodecError::InvalidValue));
}

#[test]
fn membership_tag_only_for_members() {
    let application = Content::Application(bytes(b"hi"));
    let member = PublicMessage {
        content: framed(Sender::Member(1), application.clone()),
        auth: auth(None),
        membership_tag: Some(bytes(&[8; 4])),
    };
    round_trip(&member);
    let external = PublicMessage {
        content: framed(Sender::External(0), application),
        ..member.clone()
    };
    assert_eq!(encode(&external), Err(CodecError::InvalidValue));
    round_trip(&PublicMessage {
        membership_tag: None,
        ..external
    });
    assert_eq!(
        encode(&PublicMessage {
            membership_tag: None,
            ..member
        }),
        Err(CodecError::InvalidValue)
    );
}

#[test]
fn framed_content_tbs_covers_context_for_members_only() {
    let ctx = context();
    let member = framed(Sender::Member(0), commit());
    let tbs = |content, context| {
        encode(&FramedContentTbs {
            wire_format: WireFormat::PUBLIC_MESSAGE,
            content,
            context,
        })
    };
    let head = [
        encode(&ProtocolVersion::MLS10).unwrap(),
        encode(&WireFormat::PUBLIC_MESSAGE).unwrap(),
    ]
    .concat();
    let with_ctx = [&head[..], &encode(&member).unwrap(), &encode(&ctx).unwrap()].concat();
    assert_eq!(tbs(&member, Some(&ctx)).unwrap(), with_ctx);
    assert_eq!(tbs(&member, None), Err(CodecError::InvalidValue));
    let external = framed(Sender::External(0), commit());
    let without = [&head[..], &encode(&external).unwrap()].concat();
    assert_eq!(tbs(&external, Some(&ctx)).unwrap(), without);
    assert_eq!(tbs(&external, None).unwrap(), without);
    // Every content type, with authenticated data: the writer's bytes are
    // the derived encoding's.
    for content in [
        Content::Application(bytes(&[7; 300])),
        Content::Proposal(Proposal::Remove(Remove { removed: 5 })),
        commit(),
    ] {
        let mut content = framed(Sender::Member(3), content);
        content.authenticated_data = bytes(b"aad");
        let expected = [&head[..], &encode(&content).unwrap(), &encode(&ctx).unwrap()].concat();
        let written = encode(&FramedContentTbs {
            wire_format: WireFormat::PUBLIC_MESSAGE,
            content: &content,
            context: Some(&ctx),
        });
        assert_eq!(written.unwrap(), expected);
    }
}

#[test]
fn leaf_node_tbs_adds_group_for_update_and_commit() {
    let group_id = bytes(b"group");
    let kp_leaf = key_package_leaf();
    let unsigned = |l: &LeafNode| {
        let full = encode(l).unwrap();
        full[..full.len() - encode(&l.signature).unwrap().len()].to_vec()
    };
    let kp_tbs = LeafNodeTbs {
        leaf_node: &kp_leaf,
        group: Some((&group_id, 3)),
    };
    assert_eq!(encode(&kp_tbs).unwrap(), unsigned(&kp_leaf));
    let update = leaf(LeafNodeSource::Update);
    let tbs = LeafNodeTbs {
        leaf_node: &update,
        group: Some((&group_id, 3)),
    };
    let want = [unsigned(&update), encode(&group_id).unwrap(), vec![0, 0, 0, 3]].concat();
    assert_eq!(encode(&tbs).unwrap(), want);
    let no_group = LeafNodeTbs {
        leaf_node: &update,
        group: None,
    };
    assert_eq!(encode(&no_group), Err(CodecError::InvalidValue));
}

#[test]
fn key_package_and_group_info_tbs_drop_the_signature() {
    let kp = KeyPackage {
        version: ProtocolVersion::MLS10,
        cipher_suite: CipherSuite(1),
        init_key: bytes(&[1; 4]),
        leaf_node: key_package_leaf(),
        extensions: Vec::new(),
        signature: bytes(&[0xee; 4]),
    };
    let full = round_trip(&kp);
    assert_eq!(encode(&KeyPackageTbs(&kp)).unwrap(), full[..full.len() - 5]);
    // The TBS writes its extensions in place; a large one (the tree) too.
    let gi = GroupInfo {
        group_context: context(),
        extensions: vec![
            Extension {
                extension_type: ExtensionType::RATCHET_TREE,
                extension_data: bytes(&[3; 20_000]),
            },
            Extension {
                extension_type: ExtensionType::EXTERNAL_PUB,
                extension_data: bytes(&[4; 3]),
            },
        ],
        confirmation_tag: bytes(&[6; 4]),
        signer: 2,
        signature: bytes(&[0xee; 4]),
    };
    let full = round_trip(&gi);
    assert_eq!(encode(&GroupInfoTbs(&gi)).unwrap(), full[..full.len() - 5]);
}

#[test]
fn extension_bodies_by_type() {
    let external = ExternalPub {
        external_pub: bytes(&[1; 4]),
    };
    let exts = vec![
        Extension::from_body(&ApplicationId {
            application_id: bytes(b"app"),
        })
        .unwrap(),
        Extension::from_body(&external).unwrap(),
    ];
    assert_eq!(exts[1].extension_type, ExtensionType::EXTERNAL_PUB);
    assert_eq!(Extension::find::<ExternalPub>(&exts), Ok(Some(external)));
    assert_eq!(Extension::find::<RatchetTree>(&exts), Ok(None));
    let bad = Extension {
        extension_type: ExtensionType::EXTERNAL_PUB,
        extension_data: bytes(&[5]),
    };
    assert_eq!(Extension::find::<ExternalPub>(&[bad]), Err(CodecError::Truncated));
}

#[test]
fn content_body_without_content_type() {
    let proposal = Content::Proposal(Proposal::Remove(Remove { removed: 5 }));
    let body = proposal.encode_body().unwrap();
    assert_eq!(body, [0, 3, 0, 0, 0, 5]);
    let input = [&body[..], &[1]].concat();
    let (decoded, rest) = Content::decode_body(ContentType::Proposal, &input).unwrap();
    assert_eq!((decoded, rest.to_vec()), (proposal, vec![1]));
    assert!(Content::decode_body(ContentType::Commit, &body).is_err());
    let (tagged, _) = FramedContentAuthData::decode(&[1, 9, 2, 6, 6], ContentType::Commit).unwrap();
    assert_eq!(tagged, auth_with(&[9], Some(&[6, 6])));
}

fn auth_with(signature: &[u8], tag: Option<&[u8]>) -> FramedContentAuthData {
    FramedContentAuthData {
        signature: bytes(signature),
        confirmation_tag: tag.map(bytes),
    }
}
