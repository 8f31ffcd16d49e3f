//! Secrets never in logs (docs/security.md): the logs of a local stack's run are searched
//! for every secret it was configured with and for every credential it handed out.
//!
//! A state folder (`.state`, `.state/faults`, `.state/web-test`) holds `secrets.env` (the
//! stack's secrets, `NAME=value` a line) and `logs/*.log`. The rules:
//!
//! - each secret of `secrets.env`, and the CDEK client secret, in any log;
//! - each tracking token the demo was handed (the `/track/<token>` links it prints in
//!   `demo.log`), in the services' logs;
//! - credentials of any run by their shape, in the services' logs: WebSocket tickets and
//!   courier tokens (base64url of `live:…` / `courier:…`), CDEK access tokens (JWTs), a
//!   tracking token or webhook secret in a logged path, `?ticket=`, `?token=`, `?key=`.
//!
//! `demo.log` prints its tracking links on purpose, so it is searched for the configured
//! secrets only. A line that breaks a rule is reported with its file and number, every
//! credential in it masked.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use platform::Secret;
use regex::Regex;

/// The demo's own output, searched for the configured secrets only.
pub const DEMO_LOG: &str = "demo.log";
/// How much of a reported line is printed.
const SHOWN_CHARS: usize = 300;

/// Credentials by their shape. `bGl2ZT` and `Y291cmllcj` are base64url of `live:` and
/// `courier:` (the payloads of WebSocket tickets and courier tokens); `eyJ…​.eyJ…` is a
/// JWT (CDEK's access tokens); a tracking token or the webhook secret in a path; a
/// credential in a query string.
const SHAPES: &str = concat!(
    r"bGl2ZT[o-r][A-Za-z0-9_.-]{8,}",
    r"|Y291cmllcj[o-r][A-Za-z0-9_.-]{8,}",
    r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_.-]{8,}",
    r"|/track/[A-Za-z0-9_-]{20,}",
    r"|/webhooks/cdek/[A-Za-z0-9_-]{4,}",
    r#"|[?&](ticket|token|key)=[^&" ]{8,}"#,
);
/// A tracking link the demo prints: the token is 32 random bytes in base64url (43 characters).
const TRACKING_LINK: &str = r"/track/([A-Za-z0-9_-]{43})";

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("no {0}: not the state folder of a stack that ran")]
    Missing(PathBuf),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("a search pattern: {0}")]
    Pattern(#[from] regex::Error),
}

impl ScanError {
    fn io(path: &Path) -> impl FnOnce(io::Error) -> ScanError + '_ {
        move |source| ScanError::Io { path: path.to_owned(), source }
    }
}

/// A configured secret: the variable that set it and its value.
#[derive(Debug, Clone)]
pub struct NamedSecret {
    pub name: String,
    pub value: Secret,
}

impl NamedSecret {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self { name: name.into(), value: Secret::new(value) }
    }

    /// What is printed in its place: the name and the first three characters.
    fn mask(&self) -> String {
        let start: String = self.value.expose().chars().take(3).collect();
        format!("<{}: {start}***>", self.name)
    }
}

/// The secrets of a `secrets.env`: `NAME=value` lines; blank lines, comments and empty
/// values are skipped.
pub fn read_secrets_env(text: &str) -> Vec<NamedSecret> {
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .filter(|(name, value)| !name.trim().is_empty() && !value.is_empty())
        .map(|(name, value)| NamedSecret::new(name.trim(), value))
        .collect()
}

/// The CDEK client secret the stack ran with: ORDERTRACK_CDEK__CLIENT_SECRET when it is
/// set (`from_env`), else logistics-adapter's own default (CDEK's public test account).
pub fn cdek_client_secret(from_env: Option<String>) -> NamedSecret {
    let value = from_env
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| logistics_adapter::config::CdekConfig::default().client_secret.expose().to_owned());
    NamedSecret::new("ORDERTRACK_CDEK__CLIENT_SECRET", value)
}

/// One line that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
    /// The line with every secret and credential in it masked, at most 300 characters.
    pub masked: String,
}

/// Which rules apply to a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rules {
    /// The configured secrets, the issued tracking tokens and the shapes (a service's log).
    All,
    /// The configured secrets only (demo.log).
    SecretsOnly,
}

/// The rules, ready to search lines.
pub struct Scanner {
    secrets: Vec<NamedSecret>,
    tokens: BTreeSet<String>,
    /// The secrets' values, one alternative each (longest first).
    secret_pattern: Option<Regex>,
    /// The issued tracking tokens, one alternative each.
    token_pattern: Option<Regex>,
    shapes: Regex,
}

impl Scanner {
    pub fn new(secrets: Vec<NamedSecret>, tokens: BTreeSet<String>) -> Result<Self, regex::Error> {
        let secrets: Vec<NamedSecret> = secrets.into_iter().filter(|s| !s.value.is_empty()).collect();
        let secret_pattern = literals(secrets.iter().map(|s| s.value.expose()))?;
        let token_pattern = literals(tokens.iter().map(String::as_str))?;
        Ok(Self { secrets, tokens, secret_pattern, token_pattern, shapes: Regex::new(SHAPES)? })
    }

    pub fn secrets(&self) -> usize {
        self.secrets.len()
    }

    pub fn tokens(&self) -> usize {
        self.tokens.len()
    }

    /// The line masked, if it breaks one of `rules`; None if it is clean.
    pub fn check_line(&self, line: &str, rules: Rules) -> Option<String> {
        // (start, end, what replaces it)
        let mut hits: Vec<(usize, usize, String)> = Vec::new();
        if let Some(pattern) = &self.secret_pattern {
            for found in pattern.find_iter(line) {
                let mask = self
                    .secrets
                    .iter()
                    .find(|s| s.value.expose() == found.as_str())
                    .map_or_else(|| "<a secret>".to_owned(), NamedSecret::mask);
                hits.push((found.start(), found.end(), mask));
            }
        }
        if rules == Rules::All {
            if let Some(pattern) = &self.token_pattern {
                hits.extend(pattern.find_iter(line).map(|m| (m.start(), m.end(), "<a tracking token>".to_owned())));
            }
            hits.extend(self.shapes.find_iter(line).map(|m| (m.start(), m.end(), "<a credential>".to_owned())));
        }
        if hits.is_empty() {
            return None;
        }
        Some(mask(line, hits).chars().take(SHOWN_CHARS).collect())
    }
}

/// A pattern matching any of `values` literally, the longest first (so that a value that
/// contains another is found whole); None for no values.
fn literals<'a>(values: impl Iterator<Item = &'a str>) -> Result<Option<Regex>, regex::Error> {
    let mut values: Vec<&str> = values.filter(|v| !v.is_empty()).collect();
    if values.is_empty() {
        return Ok(None);
    }
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    values.dedup();
    let alternatives: Vec<String> = values.into_iter().map(regex::escape).collect();
    Regex::new(&alternatives.join("|")).map(Some)
}

/// `line` with each hit replaced by its mask; overlapping hits become one, masked as the
/// first of them.
fn mask(line: &str, mut hits: Vec<(usize, usize, String)>) -> String {
    hits.sort_by_key(|&(start, end, _)| (start, std::cmp::Reverse(end)));
    let mut out = String::with_capacity(line.len());
    let mut at = 0;
    for (start, end, replacement) in hits {
        if end <= at {
            continue;
        }
        if start >= at {
            out.push_str(line.get(at..start).unwrap_or_default());
            out.push_str(&replacement);
        }
        at = end;
    }
    out.push_str(line.get(at..).unwrap_or_default());
    out
}

/// Adds the tracking tokens in the links of `text` (lines of a demo log) to `tokens`.
pub fn collect_tracking_tokens(link: &Regex, text: &str, tokens: &mut BTreeSet<String>) {
    tokens.extend(link.captures_iter(text).filter_map(|c| c.get(1)).map(|m| m.as_str().to_owned()));
}

/// The pattern of a demo's tracking link; the token is its first group.
pub fn tracking_link() -> Result<Regex, regex::Error> {
    Regex::new(TRACKING_LINK)
}

/// What one scan of a state folder searches: its logs and the rules.
pub struct Scan {
    logs: Vec<PathBuf>,
    bytes: u64,
    scanner: Scanner,
}

impl Scan {
    /// Reads `<state_dir>/secrets.env`, lists `<state_dir>/logs/*.log` and collects the
    /// tracking tokens of its demo.log. `extra` are secrets configured elsewhere (the CDEK
    /// client secret).
    pub fn of_state_dir(state_dir: &Path, extra: Vec<NamedSecret>) -> Result<Self, ScanError> {
        let logs_dir = state_dir.join("logs");
        let secrets_env = state_dir.join("secrets.env");
        for required in [&logs_dir, &secrets_env] {
            if !required.exists() {
                return Err(ScanError::Missing(required.clone()));
            }
        }
        let mut secrets = read_secrets_env(&fs::read_to_string(&secrets_env).map_err(ScanError::io(&secrets_env))?);
        secrets.extend(extra);

        let mut logs = Vec::new();
        let mut bytes = 0;
        for entry in fs::read_dir(&logs_dir).map_err(ScanError::io(&logs_dir))? {
            let path = entry.map_err(ScanError::io(&logs_dir))?.path();
            let meta = fs::metadata(&path).map_err(ScanError::io(&path))?;
            if meta.is_file() && path.extension().is_some_and(|e| e == "log") {
                bytes += meta.len();
                logs.push(path);
            }
        }
        logs.sort();

        let mut tokens = BTreeSet::new();
        let demo_log = logs_dir.join(DEMO_LOG);
        if demo_log.is_file() {
            let link = tracking_link()?;
            for_each_line(&demo_log, |_, line| collect_tracking_tokens(&link, line, &mut tokens))?;
        }
        Ok(Self { logs, bytes, scanner: Scanner::new(secrets, tokens)? })
    }

    /// One line saying what is about to be searched.
    pub fn describe(&self) -> String {
        format!(
            "searching {} logs ({}) for {} secrets, {} tracking tokens and the shapes of tickets, courier tokens \
             and CDEK tokens",
            self.logs.len(),
            human_size(self.bytes),
            self.scanner.secrets(),
            self.scanner.tokens()
        )
    }

    /// Every line of every log that breaks a rule, in file and line order.
    pub fn run(&self) -> Result<Vec<Finding>, ScanError> {
        let mut findings = Vec::new();
        for log in &self.logs {
            let rules = if log.file_name().is_some_and(|n| n == DEMO_LOG) { Rules::SecretsOnly } else { Rules::All };
            for_each_line(log, |number, line| {
                if let Some(masked) = self.scanner.check_line(line, rules) {
                    findings.push(Finding { file: log.clone(), line: number, masked });
                }
            })?;
        }
        Ok(findings)
    }
}

/// Calls `f` with each line of the file (1-based number, text without its line end;
/// bytes that are not UTF-8 are replaced).
fn for_each_line(path: &Path, mut f: impl FnMut(usize, &str)) -> Result<(), ScanError> {
    let mut reader = BufReader::new(File::open(path).map_err(ScanError::io(path))?);
    let mut buffer = Vec::new();
    let mut number = 0;
    loop {
        buffer.clear();
        if reader.read_until(b'\n', &mut buffer).map_err(ScanError::io(path))? == 0 {
            return Ok(());
        }
        number += 1;
        let text = String::from_utf8_lossy(&buffer);
        f(number, text.trim_end_matches(['\n', '\r']));
    }
}

fn human_size(bytes: u64) -> String {
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    for unit in ["KB", "MB"] {
        if value < 1024.0 {
            return format!("{value:.1} {unit}");
        }
        value /= 1024.0;
    }
    format!("{value:.1} GB")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICKET_SECRET: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
    const STORE_KEY: &str = "demo-0123456789abcdef0123456789abcdef";
    const TOKEN: &str = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-AbCdE";

    fn scanner() -> Scanner {
        let secrets = vec![
            NamedSecret::new("ORDERTRACK_TRACKING__TICKET_SECRET", TICKET_SECRET),
            NamedSecret::new("ORDERTRACK_AUTH__STOREFRONT_KEYS__DEMO_SHOP", STORE_KEY),
            cdek_client_secret(None),
        ];
        Scanner::new(secrets, BTreeSet::from([TOKEN.to_owned()])).unwrap()
    }

    fn service_line(text: &str) -> Option<String> {
        scanner().check_line(text, Rules::All)
    }

    #[test]
    fn a_clean_line_passes() {
        let line = r#"{"msg":"request","method":"GET","path":"/track/{token}","status":200,"ms":3}"#;
        assert_eq!(service_line(line), None);
        assert_eq!(scanner().check_line(line, Rules::SecretsOnly), None);
    }

    #[test]
    fn a_configured_secret_is_found_and_masked_with_its_name() {
        let line = format!(r#"{{"msg":"config","ticket_secret":"{TICKET_SECRET}"}}"#);
        let masked = service_line(&line).unwrap();
        assert_eq!(masked, r#"{"msg":"config","ticket_secret":"<ORDERTRACK_TRACKING__TICKET_SECRET: 0f1***>"}"#);
    }

    #[test]
    fn a_storefront_key_in_the_demo_log_is_found() {
        let line = format!("using key {STORE_KEY} against http://127.0.0.1:8080");
        let masked = scanner().check_line(&line, Rules::SecretsOnly).unwrap();
        assert_eq!(
            masked,
            "using key <ORDERTRACK_AUTH__STOREFRONT_KEYS__DEMO_SHOP: dem***> against http://127.0.0.1:8080"
        );
    }

    #[test]
    fn the_cdek_client_secret_is_the_adapters_default_unless_set() {
        let default = cdek_client_secret(None);
        assert_eq!(default.value.expose(), logistics_adapter::config::CdekConfig::default().client_secret.expose());
        assert_eq!(cdek_client_secret(Some(String::new())).value, default.value);
        assert_eq!(cdek_client_secret(Some("own-account-secret".into())).value.expose(), "own-account-secret");

        let line = format!("POST /v2/oauth/token client_secret={}", default.value.expose());
        let masked = service_line(&line).unwrap();
        assert!(masked.contains("<ORDERTRACK_CDEK__CLIENT_SECRET: "), "{masked}");
        assert!(!masked.contains(default.value.expose()), "{masked}");
    }

    #[test]
    fn an_issued_tracking_token_is_found_in_a_service_log_not_in_the_demo_log() {
        let line = format!(r#"{{"msg":"lookup","token":"{TOKEN}"}}"#);
        assert_eq!(service_line(&line).unwrap(), r#"{"msg":"lookup","token":"<a tracking token>"}"#);
        assert_eq!(
            scanner().check_line(&format!("link: http://127.0.0.1:8080/track/{TOKEN}"), Rules::SecretsOnly),
            None
        );
    }

    #[test]
    fn the_tokens_of_the_demos_links_are_collected() {
        let log = format!("order 1: http://127.0.0.1:8080/track/{TOKEN}\nprogress: 1 delivered\n/track/short\n");
        let mut tokens = BTreeSet::new();
        collect_tracking_tokens(&tracking_link().unwrap(), &log, &mut tokens);
        assert_eq!(tokens, BTreeSet::from([TOKEN.to_owned()]));
    }

    #[test]
    fn each_credential_shape_is_found_and_masked() {
        let cases = [
            // base64url of "live:..." (a WebSocket ticket)
            ("ticket bGl2ZTpvcmRlci0xMjM0NTY3ODkw.sig", "ticket <a credential>"),
            // base64url of "courier:..." (a courier token)
            ("auth Y291cmllcjpjLTEyMzQ1Njc4OTA.sig", "auth <a credential>"),
            // a JWT (a CDEK access token)
            ("bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl", "bearer <a credential>"),
            // a tracking token in a path (one the demo did not print)
            (r#""path":"/track/Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2""#, r#""path":"<a credential>""#),
            // the webhook secret in a path
            (r#""path":"/webhooks/cdek/s3cr3t-webhook""#, r#""path":"<a credential>""#),
            // credentials in query strings
            (r#""uri":"/ws?ticket=abcdefgh123""#, r#""uri":"/ws<a credential>""#),
            ("GET /x?a=1&token=abcdefgh123 HTTP/1.1", "GET /x?a=1<a credential> HTTP/1.1"),
            ("GET /x?key=abcdefgh123&b=2", "GET /x<a credential>&b=2"),
        ];
        for (line, want) in cases {
            assert_eq!(service_line(line).as_deref(), Some(want), "{line}");
            assert_eq!(
                scanner().check_line(line, Rules::SecretsOnly),
                None,
                "{line}: demo.log is not searched for shapes"
            );
        }
    }

    #[test]
    fn route_patterns_and_short_values_are_not_credentials() {
        for line in [
            r#""path":"/webhooks/cdek/{secret}""#,
            r#""path":"/track/{token}""#,
            "GET /orders?key=short",
            r#""url":"http://127.0.0.1:8083/webhooks/cdek/***""#,
        ] {
            assert_eq!(service_line(line), None, "{line}");
        }
    }

    #[test]
    fn overlapping_finds_are_masked_once_and_nothing_leaks() {
        let line = format!("GET /track/{TOKEN}?ticket={TICKET_SECRET}");
        let masked = service_line(&line).unwrap();
        assert!(!masked.contains(TOKEN) && !masked.contains(TICKET_SECRET), "{masked}");
        assert!(masked.starts_with("GET <a credential>"), "{masked}");
    }

    #[test]
    fn a_reported_line_is_cut_at_300_characters() {
        let line = format!("{STORE_KEY} {}", "é".repeat(400));
        assert_eq!(service_line(&line).unwrap().chars().count(), SHOWN_CHARS);
    }

    #[test]
    fn secrets_env_lines_are_read_and_empty_values_skipped() {
        let secrets = read_secrets_env("A=one\n# a comment\n\nB=\nC=two=three\n");
        let read: Vec<(&str, &str)> = secrets.iter().map(|s| (s.name.as_str(), s.value.expose())).collect();
        assert_eq!(read, [("A", "one"), ("C", "two=three")]);
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(2048), "2.0 KB");
        assert_eq!(human_size(5 * 1024 * 1024 + 1024 * 512), "5.5 MB");
    }

    /// A state folder with a service log and a demo log: each planted leak is named by file
    /// and line, and a clean folder passes.
    #[test]
    fn a_state_folder_is_scanned_file_by_file() {
        let dir = std::env::temp_dir().join(format!("ordertrack-scan-logs-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("logs")).unwrap();
        fs::write(dir.join("secrets.env"), format!("ORDERTRACK_TRACKING__TICKET_SECRET={TICKET_SECRET}\n")).unwrap();
        fs::write(dir.join("logs/demo.log"), format!("link http://127.0.0.1:8080/track/{TOKEN}\n")).unwrap();
        fs::write(dir.join("logs/order-api.log"), "{\"msg\":\"started\"}\n{\"msg\":\"request\",\"status\":200}\n")
            .unwrap();
        fs::write(dir.join("logs/notes.txt"), format!("{TICKET_SECRET}\n")).unwrap();

        let clean = Scan::of_state_dir(&dir, vec![cdek_client_secret(None)]).unwrap();
        assert!(clean.describe().starts_with("searching 2 logs ("), "{}", clean.describe());
        assert!(clean.describe().contains("for 2 secrets, 1 tracking tokens"), "{}", clean.describe());
        assert_eq!(clean.run().unwrap(), []);

        fs::write(
            dir.join("logs/order-api.log"),
            format!("{{\"msg\":\"started\"}}\n{{\"token\":\"{TOKEN}\"}}\nsecret {TICKET_SECRET}\n"),
        )
        .unwrap();
        let findings = Scan::of_state_dir(&dir, Vec::new()).unwrap().run().unwrap();
        let found: Vec<(String, usize, &str)> = findings
            .iter()
            .map(|f| (f.file.file_name().unwrap().to_string_lossy().into_owned(), f.line, f.masked.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("order-api.log".to_owned(), 2, r#"{"token":"<a tracking token>"}"#),
                ("order-api.log".to_owned(), 3, "secret <ORDERTRACK_TRACKING__TICKET_SECRET: 0f1***>"),
            ]
        );

        fs::remove_file(dir.join("secrets.env")).unwrap();
        assert!(matches!(Scan::of_state_dir(&dir, Vec::new()), Err(ScanError::Missing(_))));
        fs::remove_dir_all(&dir).unwrap();
    }
}
