//! Layered configuration: defaults in code → `config/<service>.toml` →
//! `ORDERTRACK_<SECTION>__<KEY>` environment variables, then validation. Any problem is
//! reported as one line that names the key and where the bad value came from.
//!
//! The TOML file is read from `ORDERTRACK_CONFIG` when set, else from
//! `config/<service>.toml` under the working directory; a missing file is not an error
//! (the defaults and the environment may be all a deployment needs).
//!
//! Environment variables are shared by all services of a deployment, so a service only
//! reads the variables of the sections it has (`ORDERTRACK_POSTGRES__URL` means nothing
//! to the notifier). Inside its own sections, an unknown key is an error.

use std::path::{Path, PathBuf};

use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Prefix of every environment variable ordertrack reads.
pub const ENV_PREFIX: &str = "ORDERTRACK_";

/// A service's configuration: a serde struct whose `Default` holds the defaults in code.
/// Its top-level fields are sections (`http`, `postgres`, ...), each a struct with
/// `#[serde(deny_unknown_fields)]`.
pub trait ServiceConfig: Serialize + DeserializeOwned + Default {
    /// The service's name, which is also its config file name.
    const SERVICE: &'static str;

    /// Checks what serde cannot: ranges, non-empty lists, consistent values.
    fn validate(&self) -> Result<(), ConfigError>;
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value could not be read (unknown key, wrong type, unreadable file).
    #[error("{0}")]
    Load(String),
    /// A value was read but is not acceptable.
    #[error("invalid value for key `{key}`: {message}")]
    Invalid { key: String, message: String },
}

impl ConfigError {
    pub fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { key: key.into(), message: message.into() }
    }

    /// Checks that each setting `(key, value)` is at least 1: the counts, sizes and
    /// durations for which 0 would mean "never" or "nothing".
    pub fn require_at_least_one<'a>(settings: impl IntoIterator<Item = (&'a str, u64)>) -> Result<(), Self> {
        match settings.into_iter().find(|(_, value)| *value == 0) {
            Some((key, _)) => Err(Self::invalid(key, "must be at least 1")),
            None => Ok(()),
        }
    }

    /// Checks that `value` (the setting `key`) is a finite number above zero.
    pub fn require_positive(key: &str, value: f64) -> Result<(), Self> {
        if value.is_finite() && value > 0.0 { Ok(()) } else { Err(Self::invalid(key, "must be a positive number")) }
    }
}

/// Loads the configuration of service `C` from the file and the process environment.
pub fn load<C: ServiceConfig>() -> Result<C, ConfigError> {
    let path = std::env::var_os(format!("{ENV_PREFIX}CONFIG"))
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new("config").join(format!("{}.toml", C::SERVICE)));
    load_from::<C>(Some(&path), std::env::vars())
}

/// Loads the configuration from an optional TOML file and the given environment
/// variables (the whole environment, unfiltered). Tests use this to build their own.
pub fn load_from<C: ServiceConfig>(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<C, ConfigError> {
    let defaults = Figment::from(Serialized::defaults(C::default()));
    let sections: Vec<String> = defaults
        .find_value("")
        .ok()
        .and_then(|value| value.into_dict())
        .map(|dict| dict.into_keys().collect())
        .unwrap_or_default();

    let mut figment = defaults;
    if let Some(path) = file {
        if path.exists() {
            figment = figment.merge(Toml::file_exact(path));
        }
    }
    for var in env_vars(&sections, env) {
        figment = figment.merge(var);
    }

    let config: C = figment.extract().map_err(|error| {
        let lines: Vec<String> = error.into_iter().map(|e| e.to_string()).collect();
        ConfigError::Load(lines.join("; "))
    })?;
    config.validate()?;
    Ok(config)
}

/// One `ORDERTRACK_<SECTION>__<KEY>` variable as a figment provider, so that an error
/// names the variable it came from.
struct EnvVar {
    name: String,
    key_path: String,
    value: Value,
}

impl Provider for EnvVar {
    fn metadata(&self) -> Metadata {
        Metadata::named(format!("environment variable {}", self.name))
            .interpolater(|_: &Profile, keys: &[&str]| keys.join("."))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Serialized::default(&self.key_path, &self.value).data()
    }
}

/// The variables of this service's sections, in a stable order.
fn env_vars(sections: &[String], env: impl IntoIterator<Item = (String, String)>) -> Vec<EnvVar> {
    let mut vars: Vec<EnvVar> = env
        .into_iter()
        .filter_map(|(name, raw)| {
            let rest = name.strip_prefix(ENV_PREFIX)?;
            let (section, _) = rest.split_once("__")?;
            if !sections.iter().any(|s| s.eq_ignore_ascii_case(section)) {
                return None;
            }
            let key_path = rest.to_ascii_lowercase().replace("__", ".");
            // figment's lenient parse: numbers, booleans, arrays `[a, b]`, else a string.
            let value = raw.parse::<Value>().unwrap_or(Value::from(raw));
            Some(EnvVar { name, key_path, value })
        })
        .collect();
    vars.sort_by(|a, b| a.name.cmp(&b.name));
    vars
}

#[cfg(test)]
mod tests {
    use super::ConfigError;

    #[test]
    fn the_first_setting_at_zero_is_named() {
        assert!(ConfigError::require_at_least_one([("a", 1), ("b", 7)]).is_ok());
        let error = ConfigError::require_at_least_one([("a", 1), ("b", 0), ("c", 0)]).unwrap_err();
        assert_eq!(error.to_string(), "invalid value for key `b`: must be at least 1");
    }
}
