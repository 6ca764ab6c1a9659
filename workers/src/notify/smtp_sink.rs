//! A minimal SMTP server (RFC 5321) on 127.0.0.1 that keeps every session, for tests of the
//! e-mail channel and of alert delivery end to end: the envelope, the message as stored, and
//! helpers to read its headers and MIME parts back.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// What one SMTP session left: the envelope and the message as the server stored it.
#[derive(Debug, Clone, Default)]
pub struct Session {
    pub hello: String,
    /// `AUTH PLAIN`'s decoded `user:password`.
    pub auth: Option<String>,
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message, dot-unstuffed, lines joined by CRLF.
    pub data: String,
    pub quit: bool,
}

/// How the test server answers.
#[derive(Clone, Copy)]
pub enum Behaviour {
    Accept,
    /// This reply to every `RCPT TO`.
    RefuseRecipient(&'static str),
    /// `535`, echoing the credentials it was sent (as a careless server might).
    RefuseAuth,
}

/// A minimal SMTP server (RFC 5321) on 127.0.0.1: greeting, `EHLO`/`HELO`, `AUTH PLAIN`,
/// `MAIL`, `RCPT`, `DATA` (dot-terminated, dot-unstuffed), `RSET`, `NOOP`, `QUIT`.
pub async fn smtp_server(behaviour: Behaviour) -> (SocketAddr, Arc<Mutex<Vec<Session>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sessions = Arc::new(Mutex::new(Vec::new()));
    let log = sessions.clone();
    tokio::spawn(async move {
        let mut queued = 0;
        while let Ok((stream, _)) = listener.accept().await {
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            let mut session = Session::default();
            write.write_all(b"220 mx.test ESMTP cairn-test\r\n").await.unwrap();
            while let Ok(Some(line)) = lines.next_line().await {
                let upper = line.to_ascii_uppercase();
                let reply = if upper.starts_with("EHLO ") {
                    session.hello = line[5..].to_owned();
                    format!(
                        "250-mx.test greets {}\r\n250-8BITMIME\r\n250-AUTH PLAIN\r\n250 SIZE 10240000\r\n",
                        &line[5..]
                    )
                } else if upper.starts_with("HELO ") {
                    session.hello = line[5..].to_owned();
                    "250 mx.test\r\n".to_owned()
                } else if upper.starts_with("AUTH PLAIN ") {
                    let decoded = base64::engine::general_purpose::STANDARD.decode(line[11..].trim()).unwrap();
                    // authzid NUL authcid NUL passwd
                    let parts: Vec<String> =
                        decoded.split(|b| *b == 0).map(|p| String::from_utf8_lossy(p).into_owned()).collect();
                    let credentials = format!("{}:{}", parts[1], parts[2]);
                    session.auth = Some(credentials.clone());
                    match behaviour {
                        Behaviour::RefuseAuth => {
                            format!("535 5.7.8 Authentication credentials invalid: {credentials}\r\n")
                        }
                        _ => "235 2.7.0 Authentication successful\r\n".to_owned(),
                    }
                } else if upper.starts_with("MAIL FROM:") {
                    session.mail_from = line[10..].to_owned();
                    "250 2.1.0 Ok\r\n".to_owned()
                } else if upper.starts_with("RCPT TO:") {
                    match behaviour {
                        Behaviour::RefuseRecipient(reply) => format!("{reply}\r\n"),
                        _ => {
                            session.rcpt_to.push(line[8..].to_owned());
                            "250 2.1.5 Ok\r\n".to_owned()
                        }
                    }
                } else if upper == "DATA" {
                    write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await.unwrap();
                    let mut data = Vec::new();
                    while let Ok(Some(line)) = lines.next_line().await {
                        if line == "." {
                            break;
                        }
                        data.push(line.strip_prefix('.').map(str::to_owned).unwrap_or(line));
                    }
                    session.data = data.join("\r\n");
                    queued += 1;
                    format!("250 2.0.0 Ok: queued as Q{queued}\r\n")
                } else if upper == "RSET" || upper == "NOOP" {
                    "250 2.0.0 Ok\r\n".to_owned()
                } else if upper == "QUIT" {
                    session.quit = true;
                    write.write_all(b"221 2.0.0 Bye\r\n").await.unwrap();
                    break;
                } else {
                    "500 5.5.2 Error: command not recognized\r\n".to_owned()
                };
                write.write_all(reply.as_bytes()).await.unwrap();
            }
            log.lock().unwrap().push(session);
        }
    });
    (addr, sessions)
}

/// The sessions once `n` of them have ended (the server logs one when its connection closes).
pub async fn ended(sessions: &Arc<Mutex<Vec<Session>>>, n: usize) -> Vec<Session> {
    for _ in 0..200 {
        if sessions.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let sessions = sessions.lock().unwrap().clone();
    assert!(sessions.len() >= n, "{sessions:?}");
    sessions
}

/// The message's headers, unfolded (RFC 5322 §2.2.3), and its body.
pub fn split(raw: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            headers.last_mut().unwrap().1.push_str(line);
        } else {
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
    }
    (headers, body)
}

pub fn header<'h>(headers: &'h [(String, String)], name: &str) -> &'h str {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).unwrap()
}

/// Quoted-printable (RFC 2045 §6.7) decoded: soft line breaks and `=XX`.
pub fn unquote(text: &str) -> String {
    let text = text.replace("=\r\n", "");
    let mut bytes = Vec::new();
    let mut rest = text.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'=' {
            bytes.push(u8::from_str_radix(std::str::from_utf8(&tail[..2]).unwrap(), 16).unwrap());
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).unwrap()
}

/// The parts of a multipart body: each one's `Content-Type` and decoded text.
pub fn parts(content_type: &str, body: &str) -> Vec<(String, String)> {
    let boundary = content_type.split("boundary=").nth(1).unwrap().trim_matches('"');
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    for chunk in body.split(delimiter.as_str()).skip(1) {
        if chunk.starts_with("--") {
            break;
        }
        let (headers, body) = split(chunk.trim_start_matches("\r\n"));
        let body = body.strip_suffix("\r\n").unwrap_or(body);
        let text = match header(&headers, "Content-Transfer-Encoding") {
            "quoted-printable" => unquote(body),
            "7bit" | "8bit" => body.to_owned(),
            other => panic!("{other}"),
        };
        parts.push((header(&headers, "Content-Type").to_owned(), text));
    }
    parts
}
