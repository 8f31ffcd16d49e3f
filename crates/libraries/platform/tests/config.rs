//! Configuration loading: defaults → file → environment, and errors that name the key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use platform::config::{self, ConfigError, ServiceConfig};
use platform::http::HttpConfig;
use platform::postgres::PostgresConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Sample {
    http: HttpConfig,
    postgres: PostgresConfig,
}

impl ServiceConfig for Sample {
    const SERVICE: &'static str = "sample";

    fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate("http")?;
        self.postgres.validate()
    }
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn file(content: &str) -> (tempdir::Dir, std::path::PathBuf) {
    let dir = tempdir::Dir::new();
    let path = dir.0.join("sample.toml");
    std::fs::write(&path, content).unwrap();
    (dir, path)
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new() -> Self {
            let path = std::env::temp_dir().join(test_support::unique_name("config"));
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[test]
fn layers_apply_in_order_defaults_file_environment() {
    let (_dir, path) = file("[http]\nport = 9000\nworkers = 3\n");
    let loaded: Sample = config::load_from(Some(&path), env(&[("ORDERTRACK_HTTP__PORT", "9100")])).unwrap();
    assert_eq!(loaded.http.port, 9100, "environment wins over the file");
    assert_eq!(loaded.http.workers, 3, "the file wins over the defaults");
    assert_eq!(loaded.postgres.pool_size, PostgresConfig::default().pool_size, "defaults fill the rest");
}

#[test]
fn a_missing_file_leaves_the_defaults() {
    let loaded: Sample = config::load_from(Some(std::path::Path::new("/nonexistent/sample.toml")), env(&[])).unwrap();
    assert_eq!(loaded.http.port, 8080);
}

#[test]
fn an_unknown_key_in_the_file_is_named() {
    let (_dir, path) = file("[http]\nprot = 9000\n");
    let error = config::load_from::<Sample>(Some(&path), env(&[])).unwrap_err().to_string();
    assert!(error.contains("unknown field: found `prot`"), "{error}");
    assert!(error.contains("http"), "{error}");
    assert!(error.contains("sample.toml"), "{error}");
    assert!(!error.contains('\n'), "one line: {error}");
}

#[test]
fn a_wrong_type_in_the_environment_names_the_variable() {
    let error = config::load_from::<Sample>(None, env(&[("ORDERTRACK_HTTP__PORT", "eighty")])).unwrap_err().to_string();
    assert!(error.contains("http.port"), "{error}");
    assert!(error.contains("ORDERTRACK_HTTP__PORT"), "{error}");
    assert!(!error.contains('\n'), "one line: {error}");
}

#[test]
fn an_unknown_key_in_a_known_section_of_the_environment_is_named() {
    let error = config::load_from::<Sample>(None, env(&[("ORDERTRACK_POSTGRES__URI", "postgres://x")]))
        .unwrap_err()
        .to_string();
    assert!(error.contains("unknown field: found `uri`"), "{error}");
    assert!(error.contains("ORDERTRACK_POSTGRES__URI"), "{error}");
}

#[test]
fn sections_of_other_services_are_not_this_services_business() {
    let loaded: Sample = config::load_from(
        None,
        env(&[("ORDERTRACK_CDEK__CLIENT_ID", "x"), ("ORDERTRACK_CONFIG", "elsewhere.toml"), ("PATH", "/bin")]),
    )
    .unwrap();
    assert_eq!(loaded.http.port, 8080);
}

#[test]
fn semantic_validation_names_the_key() {
    let error = config::load_from::<Sample>(None, env(&[("ORDERTRACK_POSTGRES__URL", "mysql://nope")])).unwrap_err();
    assert!(matches!(&error, ConfigError::Invalid { key, .. } if key == "postgres.url"), "{error}");
    assert!(!error.to_string().contains("nope"), "the URL may hold a password: {error}");
}
