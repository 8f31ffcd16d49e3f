//! The responses saved under idempotency keys, sealed. A create's response carries the
//! order's live tracking link, which the orders table keeps only as a SHA-256 hash; the
//! idempotency table keeps the response encrypted (AES-256-GCM under a key derived from
//! `[orders] saved_response_key`) and bound to its store and idempotency key, so reading
//! the table (a backup, a replica, a leaked dump) opens no order's page and shows no
//! customer's details. A replay opens it again and answers exactly what was answered.
//!
//! Rotation: responses are sealed under the current key and opened with it or with
//! `previous_saved_response_key`; keys live 24 hours (`idempotency_key_ttl_hours`), so
//! the previous key can be dropped a day after a rotation (docs/security.md).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};

use platform::Secret;

use crate::error::OrdersError;

/// What a sealed response looks like in `idempotency_keys.response_body`: a JSON string
/// with this prefix, then base64url(nonce, ciphertext and tag).
const PREFIX: &str = "sealed.v1.";
const SALT: &[u8] = b"ordertrack saved responses v1";

#[derive(Clone)]
pub struct ResponseSeal {
    current: Arc<LessSafeKey>,
    previous: Option<Arc<LessSafeKey>>,
    random: SystemRandom,
}

impl std::fmt::Debug for ResponseSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseSeal").field("previous", &self.previous.is_some()).finish_non_exhaustive()
    }
}

impl ResponseSeal {
    pub fn new(current: &Secret, previous: Option<&Secret>) -> anyhow::Result<Self> {
        let previous = match previous.filter(|key| !key.is_empty()) {
            Some(key) => Some(Arc::new(derive(key)?)),
            None => None,
        };
        Ok(Self { current: Arc::new(derive(current)?), previous, random: SystemRandom::new() })
    }

    /// `body`, encrypted and bound to the store and the idempotency key.
    pub(crate) fn seal(
        &self,
        store_id: &str,
        key: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, OrdersError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random.fill(&mut nonce).map_err(|_| anyhow::anyhow!("no randomness for a nonce"))?;
        let mut sealed = serde_json::to_vec(body).map_err(anyhow::Error::new)?;
        self.current
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(bound_to(store_id, key)),
                &mut sealed,
            )
            .map_err(|_| anyhow::anyhow!("sealing a saved response failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(serde_json::Value::String(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(out))))
    }

    /// The response `seal` made for this store and key. A body saved before responses
    /// were sealed (an object: the migration that brought sealing took the tracking
    /// link out of those) is answered as it is.
    pub(crate) fn open(
        &self,
        store_id: &str,
        key: &str,
        saved: serde_json::Value,
    ) -> Result<serde_json::Value, OrdersError> {
        let serde_json::Value::String(text) = &saved else {
            return Ok(saved);
        };
        let Some(encoded) = text.strip_prefix(PREFIX) else {
            return Err(OrdersError::SavedResponseUnreadable);
        };
        let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| OrdersError::SavedResponseUnreadable)?;
        if bytes.len() < NONCE_LEN {
            return Err(OrdersError::SavedResponseUnreadable);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        for candidate in std::iter::once(&self.current).chain(self.previous.as_ref()) {
            let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OrdersError::SavedResponseUnreadable)?;
            let mut buffer = sealed.to_vec();
            if let Ok(plain) = candidate.open_in_place(nonce, Aad::from(bound_to(store_id, key)), &mut buffer) {
                return serde_json::from_slice(plain).map_err(|_| OrdersError::SavedResponseUnreadable);
            }
        }
        Err(OrdersError::SavedResponseUnreadable)
    }
}

/// The AES-256 key of a configured secret (HKDF-SHA256; any length of secret gives a
/// full-strength key only if the secret itself has that entropy: 32+ random characters,
/// which `OrdersSettings::validate` asks for).
fn derive(secret: &Secret) -> anyhow::Result<LessSafeKey> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, SALT).extract(secret.expose().as_bytes());
    let okm =
        prk.expand(&[b"aes-256-gcm"], &AES_256_GCM).map_err(|_| anyhow::anyhow!("HKDF refused an AES-256 key"))?;
    Ok(LessSafeKey::new(UnboundKey::from(okm)))
}

/// The associated data: the store and the key, each length-prefixed, so a sealed body
/// moved to another store's or another key's row does not open.
fn bound_to(store_id: &str, key: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(16 + store_id.len() + key.len());
    for part in [store_id, key] {
        aad.extend_from_slice(&(part.len() as u64).to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal(key: &str) -> ResponseSeal {
        ResponseSeal::new(&Secret::new(key), None).unwrap()
    }

    #[test]
    fn a_sealed_response_opens_to_what_was_sealed_and_shows_nothing_of_it() {
        let seal = seal("k".repeat(32).as_str());
        let body = serde_json::json!({ "tracking": { "token": "tok_secret_value" }, "customer": "Ann" });
        let sealed = seal.seal("shop-a", "key-1", &body).unwrap();
        let text = sealed.as_str().unwrap();
        assert!(text.starts_with(PREFIX));
        assert!(!text.contains("tok_secret_value") && !text.contains("Ann"), "{text}");
        assert_eq!(seal.open("shop-a", "key-1", sealed.clone()).unwrap(), body);
        // Each seal has its own nonce.
        assert_ne!(seal.seal("shop-a", "key-1", &body).unwrap(), sealed);
    }

    #[test]
    fn a_sealed_response_opens_only_for_its_store_and_key_and_under_a_known_key() {
        let seal = seal(&"k".repeat(32));
        let sealed = seal.seal("shop-a", "key-1", &serde_json::json!({ "a": 1 })).unwrap();
        for (store, key) in [("shop-b", "key-1"), ("shop-a", "key-2"), ("shop-akey-1", ""), ("", "shop-akey-1")] {
            assert!(matches!(seal.open(store, key, sealed.clone()), Err(OrdersError::SavedResponseUnreadable)));
        }
        let other = self::seal(&"o".repeat(32));
        assert!(matches!(other.open("shop-a", "key-1", sealed.clone()), Err(OrdersError::SavedResponseUnreadable)));
        // After a rotation, the previous key still opens what it sealed.
        let rotated = ResponseSeal::new(&Secret::new("o".repeat(32)), Some(&Secret::new("k".repeat(32)))).unwrap();
        assert_eq!(rotated.open("shop-a", "key-1", sealed.clone()).unwrap(), serde_json::json!({ "a": 1 }));
        // Tampering is refused, as are strings that were never sealed.
        let tampered = {
            let mut text = sealed.as_str().unwrap().to_owned();
            let last = text.pop().unwrap();
            text.push(if last == 'A' { 'B' } else { 'A' });
            serde_json::Value::String(text)
        };
        for bad in
            [tampered, serde_json::json!("sealed.v1.!!"), serde_json::json!("sealed.v1."), serde_json::json!("plain")]
        {
            assert!(matches!(seal.open("shop-a", "key-1", bad), Err(OrdersError::SavedResponseUnreadable)));
        }
    }

    #[test]
    fn a_body_saved_before_sealing_is_answered_as_it_is() {
        let legacy = serde_json::json!({ "order": { "id": "x" } });
        assert_eq!(seal(&"k".repeat(32)).open("s", "k", legacy.clone()).unwrap(), legacy);
    }
}
