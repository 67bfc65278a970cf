//! Access control by signed challenge (RFC 9750 §5.2: the DS authenticates
//! clients). A client proves it holds the signature private key of its
//! credential; the first login binds the identity to that key, and every
//! later login and KeyPackage of the identity must use the same key.
//!
//! Challenges and login tokens are stateless (HMAC under a secret all
//! replicas share through the store), so a client may log in at one replica
//! and use the token at another.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::error::{ApiError, ErrorCode};
use crate::inspect;
use crate::wire::{self, b64};
use e2ee_core::crypto::Labelled;

/// The label of the login signature: `SignWithLabel(key, LOGIN_LABEL,
/// challenge || identity)`.
pub const LOGIN_LABEL: &[u8] = b"e2ee-ds login";
/// How long a challenge may be answered, in seconds.
pub const CHALLENGE_TTL: u64 = 120;
/// Length of a challenge: 8 bytes of time, 16 random, 16 of MAC.
pub const CHALLENGE_LEN: usize = 40;
const TOKEN_MAC_LEN: usize = 32;

/// An authenticated client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Its identity.
    pub identity: String,
}

/// Issues and checks challenges and tokens.
pub struct Authenticator {
    secret: Vec<u8>,
    token_ttl: u64,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn unauthenticated(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, message)
}

/// What the login signature covers.
pub fn login_content(challenge: &[u8], identity: &str) -> Vec<u8> {
    [challenge, identity.as_bytes()].concat()
}

/// The stored form of an identity's key: cipher suite then signature key.
pub fn key_record(cipher_suite: u16, signature_key: &[u8]) -> Vec<u8> {
    [&cipher_suite.to_be_bytes()[..], signature_key].concat()
}

impl Authenticator {
    /// An authenticator with the replicas' shared `secret`; tokens last
    /// `token_ttl` seconds.
    pub fn new(secret: Vec<u8>, token_ttl: u64) -> Self {
        Self { secret, token_ttl }
    }

    fn mac(&self, domain: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(domain);
        for p in parts {
            mac.update(&(p.len() as u32).to_be_bytes());
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }

    /// A fresh challenge.
    pub fn challenge(&self) -> Result<Vec<u8>, ApiError> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|_| ApiError::new(ErrorCode::Internal, "no OS randomness"))?;
        let time = now().to_be_bytes();
        let tag = self.mac(b"challenge", &[&time, &nonce]);
        Ok([&time[..], &nonce, &tag[..16]].concat())
    }

    fn check_challenge(&self, challenge: &[u8]) -> Result<(), ApiError> {
        if challenge.len() != CHALLENGE_LEN {
            return Err(unauthenticated("malformed challenge"));
        }
        let (time, rest) = challenge.split_at(8);
        let (nonce, tag) = rest.split_at(16);
        let expected = self.mac(b"challenge", &[time, nonce]);
        if !bool::from(subtle_eq(tag, &expected[..16])) {
            return Err(unauthenticated("the challenge was not issued by this service"));
        }
        let issued = u64::from_be_bytes(time.try_into().unwrap_or_default());
        if now().saturating_sub(issued) > CHALLENGE_TTL {
            return Err(unauthenticated("the challenge has expired"));
        }
        Ok(())
    }

    /// Checks a login's challenge and signature (not yet the binding of the
    /// identity to the key: the caller asks the store).
    pub fn verify_login(&self, login: &wire::Login) -> Result<(), ApiError> {
        inspect::check_identity(&login.identity)?;
        self.check_challenge(&login.challenge)?;
        let cs = inspect::suite(login.cipher_suite)?;
        cs.verify_with_label(
            &login.signature_key,
            LOGIN_LABEL,
            &login_content(&login.challenge, &login.identity),
            &login.signature,
        )
        .map_err(|_| unauthenticated("the signature does not verify"))
    }

    /// A login token for `identity`.
    pub fn token(&self, identity: &str) -> String {
        let expires = now().saturating_add(self.token_ttl).to_be_bytes();
        let tag = self.mac(b"token", &[&expires, identity.as_bytes()]);
        b64::encode(&[&expires[..], &tag, identity.as_bytes()].concat())
    }

    /// How long tokens last, in seconds.
    pub fn token_ttl(&self) -> u64 {
        self.token_ttl
    }

    /// The client a token was issued to, if it is genuine and unexpired.
    pub fn verify_token(&self, token: &str) -> Result<Principal, ApiError> {
        let bytes = b64::decode(token).map_err(|_| unauthenticated("malformed token"))?;
        if bytes.len() <= 8 + TOKEN_MAC_LEN {
            return Err(unauthenticated("malformed token"));
        }
        let (expires, rest) = bytes.split_at(8);
        let (tag, identity) = rest.split_at(TOKEN_MAC_LEN);
        let expected = self.mac(b"token", &[expires, identity]);
        if !bool::from(subtle_eq(tag, &expected)) {
            return Err(unauthenticated("invalid token"));
        }
        if u64::from_be_bytes(expires.try_into().unwrap_or_default()) < now() {
            return Err(unauthenticated("the token has expired: log in again"));
        }
        let identity = String::from_utf8(identity.to_vec()).map_err(|_| unauthenticated("malformed token"))?;
        Ok(Principal { identity })
    }
}

/// Constant-time comparison (a MAC check must not leak how much matched).
fn subtle_eq(a: &[u8], b: &[u8]) -> subtle::Choice {
    use subtle::ConstantTimeEq;
    a.ct_eq(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use e2ee_core::Client;

    fn login(auth: &Authenticator, client: &Client, identity: &str) -> wire::Login {
        let challenge = auth.challenge().unwrap();
        let cs = inspect::suite(client.cipher_suite()).unwrap();
        let signature = cs
            .sign_with_label(
                client.signature_private_key(),
                LOGIN_LABEL,
                &login_content(&challenge, identity),
            )
            .unwrap();
        wire::Login {
            identity: identity.to_owned(),
            cipher_suite: client.cipher_suite(),
            signature_key: client.signature_public_key().to_vec(),
            challenge,
            signature,
        }
    }

    #[test]
    fn login_and_tokens() {
        let auth = Authenticator::new(b"secret".to_vec(), 60);
        let alice = Client::new(1, b"alice").unwrap();
        let good = login(&auth, &alice, "alice");
        auth.verify_login(&good).unwrap();

        let mut other_identity = good.clone();
        other_identity.identity = "mallory".into();
        assert_eq!(
            auth.verify_login(&other_identity).unwrap_err().code,
            ErrorCode::Unauthenticated
        );
        let mut forged = good.clone();
        forged.challenge[10] ^= 1;
        assert_eq!(auth.verify_login(&forged).unwrap_err().code, ErrorCode::Unauthenticated);
        let elsewhere = Authenticator::new(b"other".to_vec(), 60);
        assert!(elsewhere.verify_login(&good).is_err(), "a challenge of another service");

        let token = auth.token("alice");
        assert_eq!(auth.verify_token(&token).unwrap().identity, "alice");
        assert!(elsewhere.verify_token(&token).is_err());
        let mut bytes = b64::decode(&token).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(auth.verify_token(&b64::encode(&bytes)).is_err(), "identity changed");
        for junk in ["", "!!", "AAAA", &b64::encode(&[0; 41])] {
            assert!(auth.verify_token(junk).is_err());
        }
        let expired = Authenticator::new(b"secret".to_vec(), 0);
        let old = {
            let expires = 1u64.to_be_bytes();
            let tag = expired.mac(b"token", &[&expires, b"alice"]);
            b64::encode(&[&expires[..], &tag, b"alice"].concat())
        };
        assert!(auth.verify_token(&old).unwrap_err().message.contains("expired"));
    }
}
