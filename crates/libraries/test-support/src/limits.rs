//! Clients that misbehave on purpose, for the tests of the HTTP limits
//! (`docs/bad-input.md`, "Limits"): headers sent a byte at a time, connections that never
//! say anything, request heads that are too big. They assert outcomes (the server closed
//! the connection, answered with a code), never how fast: the deadlines only stop a hang.
#![allow(clippy::expect_used, clippy::panic)]

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a misbehaving connection may stay open before the test gives up on the server.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(60);

/// A slow-loris client on `address` (`host:port`): sends a request head one byte every
/// `pause` and never finishes it. Returns what the server wrote before it closed the
/// connection (actix-web writes a 408); panics if it is still open after [`GIVE_UP_AFTER`].
pub async fn slow_loris(address: &str, pause: Duration) -> String {
    let mut stream = TcpStream::connect(address).await.expect("the server accepts a connection");
    let head = b"POST /orders HTTP/1.1\r\nHost: limits.test\r\nContent-Type: application/json\r\nX-Padding: ";
    let mut bytes = head.iter().copied().chain(std::iter::repeat(b'a'));
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(GIVE_UP_AFTER, async {
        loop {
            let byte = bytes.next().unwrap_or(b'a');
            if stream.write_all(&[byte]).await.is_err() {
                return;
            }
            let mut buffer = [0_u8; 1024];
            match tokio::time::timeout(pause, stream.read(&mut buffer)).await {
                Err(_) => {}
                Ok(Ok(0) | Err(_)) => return,
                Ok(Ok(read)) => answer.extend_from_slice(buffer.get(..read).unwrap_or_default()),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server kept a slow-loris connection open for {GIVE_UP_AFTER:?}");
    String::from_utf8_lossy(&answer).into_owned()
}

/// Opens `count` connections to `address` that never send a byte, and returns once the
/// server has closed every one; panics if one is still open after [`GIVE_UP_AFTER`].
pub async fn silent_connections_are_closed(address: &str, count: usize) {
    let mut streams = Vec::with_capacity(count);
    for _ in 0..count {
        streams.push(TcpStream::connect(address).await.expect("the server accepts a connection"));
    }
    let all_closed = tokio::time::timeout(GIVE_UP_AFTER, async {
        for mut stream in streams {
            let mut buffer = [0_u8; 1024];
            // What it writes before closing (a 408) is read and dropped.
            while matches!(stream.read(&mut buffer).await, Ok(read) if read > 0) {}
        }
    })
    .await;
    assert!(all_closed.is_ok(), "the server kept silent connections open for {GIVE_UP_AFTER:?}");
}

/// Sends `GET path` to `base` (`http://host:port`) with `total` bytes of extra headers
/// (in headers of 1000 bytes); returns the status and the JSON body (`null` when none).
pub async fn with_big_headers(
    base: &str,
    method: reqwest::Method,
    path: &str,
    total: usize,
) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new().request(method, format!("{base}{path}"));
    for index in 0..total.div_ceil(1000) {
        request = request.header(format!("x-padding-{index}"), "p".repeat(1000 - 16));
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

/// Sends `head` (a request head without its final empty line; `Connection: close` and
/// `Transfer-Encoding: chunked` are added) and then `body` in chunks of 8 KiB, the way a
/// client streams a body of unknown length, to `address` (`host:port`). Returns the status
/// and the JSON body of the answer (`null` when none). The server may answer before the
/// whole body is sent.
pub async fn post_chunked(address: &str, head: &str, body: &[u8]) -> (u16, serde_json::Value) {
    let mut stream = TcpStream::connect(address).await.expect("the server accepts a connection");
    let head = format!("{head}\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n");
    let sent = async {
        stream.write_all(head.as_bytes()).await?;
        for chunk in body.chunks(8 * 1024) {
            stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await?;
            stream.write_all(chunk).await?;
            stream.write_all(b"\r\n").await?;
        }
        stream.write_all(b"0\r\n\r\n").await
    };
    // A server that refuses early may close its side before the body is all sent.
    let _ = sent.await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(GIVE_UP_AFTER, stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "no answer within {GIVE_UP_AFTER:?}");
    let text = String::from_utf8_lossy(&answer);
    let status = text.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    let json = text.split_once("\r\n\r\n").and_then(|(_, body)| serde_json::from_str(body).ok());
    (status, json.unwrap_or(serde_json::Value::Null))
}

/// A request framed two ways (`Content-Length` and `Transfer-Encoding: chunked`) with a
/// second request hidden after its chunked body, sent to `path` on `address`. The server
/// must answer the first with 400 `ambiguous_framing`, close the connection (RFC 9112
/// §6.1), and never serve the hidden one (refusing it alike is fine). Panics otherwise.
pub async fn assert_ambiguous_framing_is_refused_and_closes(address: &str, path: &str) {
    let mut stream = TcpStream::connect(address).await.expect("the server accepts a connection");
    let hidden = "GET /healthz HTTP/1.1\r\nHost: smuggled.test\r\n\r\n";
    let body = format!("0\r\n\r\n{hidden}");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: framing.test\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("send the request");
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(GIVE_UP_AFTER, stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    assert!(closed.is_ok(), "the server kept the connection of an ambiguously framed request open: {answer}");
    // actix-web may have parsed the hidden request before the first answer was written:
    // then it is refused alike, never served.
    let statuses = answer.matches("HTTP/1.1 ").count();
    assert!(statuses >= 1, "{answer}");
    assert_eq!(answer.matches("HTTP/1.1 400").count(), statuses, "the hidden request was served: {answer}");
    assert_eq!(answer.matches("\"ambiguous_framing\"").count(), statuses, "{answer}");
}

/// A keep-alive client sends `head` (request line and headers, without `Content-Length`)
/// with a body of `size` bytes to `address`. The server must answer 413 `body_too_large`
/// with `Connection: close` and then close: a client that is told so opens a new
/// connection for its next request instead of writing it into a closed one. Panics
/// otherwise.
pub async fn assert_too_large_says_close(address: &str, head: &str, size: usize) {
    let mut stream = TcpStream::connect(address).await.expect("the server accepts a connection");
    let head = format!("{head}\r\nConnection: keep-alive\r\nContent-Length: {size}\r\n\r\n");
    let sent = async {
        stream.write_all(head.as_bytes()).await?;
        let chunk = vec![b' '; 8 * 1024];
        let mut left = size;
        while left > 0 {
            let n = left.min(chunk.len());
            stream.write_all(chunk.get(..n).unwrap_or_default()).await?;
            left -= n;
        }
        Ok::<(), std::io::Error>(())
    };
    // The server answers and closes before the body is all sent.
    let _ = sent.await;
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(GIVE_UP_AFTER, stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    assert!(closed.is_ok(), "the server kept the connection open after a 413: {answer}");
    let (head, _) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    assert!(head.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"body_too_large\""), "{answer}");
    assert!(
        head.lines().any(|line| line.eq_ignore_ascii_case("connection: close")),
        "a 413 that closes the connection must say so: {head}"
    );
}
