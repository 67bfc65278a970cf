//! Applications derive the codec of their own structures (here the body
//! of an extension of their own) with e2ee-core's derives, outside the
//! crate.

use e2ee_core::codec::{Decode, Encode, Size, VLBytes, decode_exact, encode};
use e2ee_core::messages::{Extension, ExtensionBody, ExtensionType};

/// How the group's name is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Size, Encode, Decode)]
#[repr(u8)]
enum Style {
    Plain = 1,
    Bold = 2,
}

/// A group's name, as an application keeps it in the GroupContext.
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
struct GroupName {
    name: VLBytes,
    style: Style,
    topics: Vec<VLBytes>,
}

impl ExtensionBody for GroupName {
    const EXTENSION_TYPE: ExtensionType = ExtensionType(0xff01);
}

#[test]
fn an_applications_extension_round_trips() {
    let body = GroupName {
        name: b"lunch".as_slice().into(),
        style: Style::Bold,
        topics: vec![b"pizza".as_slice().into()],
    };
    let bytes = encode(&body).unwrap();
    assert_eq!(bytes.len(), body.encoded_len());
    assert_eq!(decode_exact::<GroupName>(&bytes).unwrap(), body);
    let extensions = [Extension::from_body(&body).unwrap()];
    assert_eq!(Extension::find::<GroupName>(&extensions).unwrap(), Some(body));
    // An unknown style is refused, not guessed.
    let mut bad = bytes.clone();
    bad[1 + 5] = 3;
    assert!(decode_exact::<GroupName>(&bad).is_err());
}
