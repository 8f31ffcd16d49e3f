//! Named API keys, configured as a map `name = key` and compared in constant time.

use std::collections::BTreeMap;

use crate::Secret;
use crate::config::ConfigError;

/// The `[ops]` section: ops dashboards' keys, name → key (shared by the courier tracker
/// and the notifier).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpsConfig {
    pub keys: BTreeMap<String, Secret>,
}

impl OpsConfig {
    pub fn key_set(&self) -> Result<KeySet, ConfigError> {
        KeySet::from_config("ops.keys", &self.keys)
    }
}

/// The `[auth]` section shared by the two front doors of the orders context: order-api
/// uses the storefront keys, order-grpc the service keys.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// Storefront API keys: store id → key (16+ characters). The store id is recorded on
    /// the orders a key creates, and a key sees only its store's orders.
    pub storefront_keys: BTreeMap<String, Secret>,
    /// Keys of the internal services allowed to call order-grpc: name → key (16+ characters).
    pub service_keys: BTreeMap<String, Secret>,
}

impl AuthSettings {
    /// The storefront keys; at least one is required. A key's name is its store id.
    pub fn storefront_keys(&self) -> Result<KeySet, ConfigError> {
        for name in self.storefront_keys.keys() {
            domain::ids::StoreId::parse(name)
                .map_err(|e| ConfigError::invalid(format!("auth.storefront_keys.{name}"), e.message))?;
        }
        KeySet::from_config("auth.storefront_keys", &self.storefront_keys)
    }

    /// The service keys; at least one is required.
    pub fn service_keys(&self) -> Result<KeySet, ConfigError> {
        KeySet::from_config("auth.service_keys", &self.service_keys)
    }
}

/// The least length of a configured key.
pub const MIN_KEY_LENGTH: usize = 16;

/// `Debug` shows the names only (a `Secret` prints as `***`).
#[derive(Clone, Debug, Default)]
pub struct KeySet(Vec<(String, Secret)>);

impl KeySet {
    /// Checks a configured map (at least one key, each 16+ characters); `section` names
    /// it in errors, e.g. `auth.storefront_keys`.
    pub fn from_config(section: &str, keys: &BTreeMap<String, Secret>) -> Result<Self, ConfigError> {
        if keys.is_empty() {
            return Err(ConfigError::invalid(section, "configure at least one key"));
        }
        keys.iter()
            .map(|(name, key)| {
                if key.expose().len() < MIN_KEY_LENGTH {
                    return Err(ConfigError::invalid(
                        format!("{section}.{name}"),
                        format!("must be at least {MIN_KEY_LENGTH} characters"),
                    ));
                }
                Ok((name.clone(), key.clone()))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// The name of the key `presented` is. Every key is compared, so the time taken does
    /// not depend on which one (if any) matches.
    pub fn find(&self, presented: &str) -> Option<&str> {
        let mut found = None;
        for (name, key) in &self.0 {
            if key.matches(presented) {
                found = Some(name.as_str());
            }
        }
        found
    }
}

/// The key of an `Authorization: Bearer <key>` header value. The scheme's name is
/// case-insensitive (RFC 9110 §11.1: `bearer` and `BEARER` are `Bearer`).
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, key) = header.split_once(' ')?;
    Some(key.trim()).filter(|key| scheme.eq_ignore_ascii_case("Bearer") && !key.is_empty())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_are_found_by_value_and_checked_when_configured() {
        let config = BTreeMap::from([
            ("a".to_owned(), Secret::new("key-a-0123456789")),
            ("b".to_owned(), Secret::new("key-b-0123456789")),
        ]);
        let keys = KeySet::from_config("ops.keys", &config).unwrap();
        assert_eq!(keys.find("key-b-0123456789"), Some("b"));
        assert_eq!(keys.find("key-b-012345678"), None);
        assert_eq!(keys.find(""), None);
        let short = BTreeMap::from([("a".to_owned(), Secret::new("short"))]);
        assert!(KeySet::from_config("ops.keys", &short).unwrap_err().to_string().contains("ops.keys.a"));
        assert!(KeySet::from_config("ops.keys", &BTreeMap::new()).is_err());
        assert_eq!(bearer("Bearer abc "), Some("abc"));
        assert_eq!(bearer("bearer abc"), Some("abc"));
        assert_eq!(bearer("BEARER  abc"), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("Bearerabc"), None);
        assert_eq!(bearer("abc"), None);
    }
}
