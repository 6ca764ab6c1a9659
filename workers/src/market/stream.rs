//! Live quotes over a vendor's WebSocket: [`QuoteStream`] connects, authenticates, subscribes,
//! reads frames and hands each frame's quotes to a [`QuoteSink`] as one batch, reconnecting
//! with [`Backoff`] when the connection drops. Two documented protocols are spoken.
//!
//! **Polygon.io stocks** (<https://polygon.io/docs/stocks/ws_getting-started>), at
//! [`POLYGON_URL`] (real time) or [`POLYGON_DELAYED_URL`] (15 minutes late). Every frame the
//! server sends is a JSON array of messages, each with its kind in `ev`:
//!
//! - on connect: `[{"ev":"status","status":"connected","message":"Connected Successfully"}]`;
//! - the client sends `{"action":"auth","params":"<KEY>"}`, the server answers status
//!   `auth_success` (`"authenticated"`) or `auth_failed` (`"authentication failed"`);
//! - the client sends `{"action":"subscribe","params":"Q.AAPL,T.AAPL"}` (comma-separated
//!   channels: `Q.` quotes, `T.` trades, `AM.` minute aggregates), the server answers status
//!   `success` (`"subscribed to: Q.AAPL"`);
//! - quote `{"ev":"Q","sym":"AAPL","bx":4,"bp":114.125,"bs":100,"ax":7,"ap":114.128,"as":160,"c":0,"t":1536036818784,"q":50385480,"z":3}`
//!   → `bid` = `bp`, `ask` = `ap`, at `t` (Unix milliseconds);
//! - trade `{"ev":"T","sym":"MSFT","x":4,"i":"12345","z":3,"p":114.125,"s":100,"c":[0,12],"t":1536036818784,"q":3681328}`
//!   → `last` = `p`, `size` = `s`, at `t`;
//! - minute aggregate `{"ev":"AM","sym":"GTE","v":4110,"av":9470157,"op":0.4372,"vw":0.4488,"o":0.4488,"c":0.4486,"h":0.4489,"l":0.4486,"a":0.4352,"z":685,"s":1610144640000,"e":1610144700000}`
//!   → `last` = `c` (the close), at `e` (the end of the minute, Unix milliseconds).
//!
//! Other statuses (`max_connections`, …) are logged and kept as the last error; the server
//! closes the connection after those that end it.
//!
//! **Alpaca market data v2** (<https://docs.alpaca.markets/docs/real-time-stock-pricing-data>),
//! at [`ALPACA_IEX_URL`] (the free IEX feed) or [`ALPACA_SIP_URL`] (all exchanges). Frames are
//! JSON arrays of messages, each with its kind in `T`:
//!
//! - on connect: `[{"T":"success","msg":"connected"}]`;
//! - the client sends `{"action":"auth","key":"<KEY_ID>","secret":"<SECRET>"}`, the server
//!   answers `[{"T":"success","msg":"authenticated"}]` or an error,
//!   `[{"T":"error","code":402,"msg":"auth failed"}]`;
//! - the client sends `{"action":"subscribe","trades":["AAPL"],"quotes":["AAPL"],"bars":[]}`,
//!   the server answers `[{"T":"subscription","trades":["AAPL"],"quotes":["AAPL"],"bars":[]}]`;
//! - quote `{"T":"q","S":"AMD","bx":"U","bp":87.66,"bs":1,"ax":"Q","ap":87.68,"as":4,"t":"2021-02-22T15:51:45.335689322Z","c":["R"],"z":"C"}`
//!   → `bid` = `bp`, `ask` = `ap`, at `t` (RFC 3339, nanoseconds);
//! - trade `{"T":"t","S":"AAPL","i":96921,"x":"D","p":126.55,"s":1,"t":"2021-02-22T15:51:44.208Z","c":["@","I"],"z":"C"}`
//!   → `last` = `p`, `size` = `s`, at `t`;
//! - minute bar `{"T":"b","S":"SPY","o":388.985,"h":389.13,"l":388.975,"c":389.12,"v":49378,"t":"2021-02-22T19:15:00Z"}`
//!   → `last` = `c`, at the end of the minute (`t`, its start, plus 60 s), as Polygon's `e`.
//!
//! Error codes: 401 (not authenticated), 402 (auth failed) and 409 (insufficient
//! subscription) refuse the key or its plan: [`StreamError::Unauthorized`]. The others (400
//! invalid syntax, 404 auth timeout, 405 symbol limit exceeded, 406 connection limit
//! exceeded, 407 slow client, 500 internal error, …) are logged and kept as the last error;
//! where the server closes the connection after one, the stream reconnects with its backoff.
//!
//! **Quotes**: the symbol upper-case, `source` the configured stream name, prices read from
//! the frame's text into `Decimal` (never through `f64`); `size` is a trade's size only (a
//! quote's bid and ask sizes and a bar's volume are not a trade's size). A status,
//! authentication or subscription message is the client's business, never delivered. A
//! message of another kind (Polygon's `XQ`, Alpaca's `d`, `u`, `l`, …) is skipped and
//! counted ([`StreamStats::skipped`]). A frame that is not JSON, or a data message in it
//! without its symbol, its time or its price (or with one that does not read), is logged and
//! counted ([`StreamStats::malformed`]) and the stream goes on; the rest of a frame with one
//! bad message is delivered. [`parse_frame`] reads a frame without a socket, in one pass:
//! each message is read as it is parsed (no vector of messages in between), every field
//! borrowed from the frame's text as raw JSON, prices read from that text (plain numerals
//! directly, others through `providers::num`), and nothing allocated but the quotes
//! themselves (their vector, symbol and source).
//!
//! **The connection**: [`QuoteStream::run`] waits for the server's greeting, authenticates,
//! subscribes to every symbol the stream holds (the configured ones and those added with
//! [`QuoteStream::subscribe`], which are also sent at once while connected), answers pings,
//! and pings the server itself after [`StreamConfig::keepalive`] without a message from it,
//! giving the connection up after twice that. When the connection drops or fails it waits
//! ([`Backoff`]: exponential with jitter, back to its start after a connection that
//! authenticated and received data) and connects again, authenticating and subscribing to all
//! its symbols anew. A refused key ends the run with [`StreamError::Unauthorized`] after that
//! one connection: no loop of retries against the vendor. The run ends with `Ok(())` when the
//! stop signal turns `true` (or its sender is dropped), closing the socket with a close frame.
//! Every change of state is logged (`tracing`) with the stream's name; keys never are.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, TimeDelta, Utc};
use futures::{SinkExt, StreamExt};
use rust_decimal::Decimal;
use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::market::provider::{ApiKey, Quote, QuoteSink};
use crate::market::providers::num::decimal;

/// Polygon.io's real-time stocks stream.
pub const POLYGON_URL: &str = "wss://socket.polygon.io/stocks";
/// Polygon.io's stocks stream, 15 minutes late.
pub const POLYGON_DELAYED_URL: &str = "wss://delayed.polygon.io/stocks";
/// Alpaca's stream of the IEX exchange (the free plan).
pub const ALPACA_IEX_URL: &str = "wss://stream.data.alpaca.markets/v2/iex";
/// Alpaca's stream of all US exchanges (a paid plan).
pub const ALPACA_SIP_URL: &str = "wss://stream.data.alpaca.markets/v2/sip";

/// How long the TCP, TLS and WebSocket handshakes may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long after connecting the server has to greet and accept the key.
const AUTH_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a polite close waits for the server's answering close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How much of an unreadable frame a log line shows.
const EXCERPT: usize = 200;

/// Which vendor's protocol a stream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Polygon.io's stocks stream.
    Polygon,
    /// Alpaca's market data v2 stream.
    Alpaca,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Polygon => "polygon",
            Self::Alpaca => "alpaca",
        }
    }
}

/// Which of a symbol's channels a stream subscribes to (Polygon's `Q.`/`T.`/`AM.`, Alpaca's
/// `quotes`/`trades`/`bars`). Quotes and trades unless set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Channels {
    pub quotes: bool,
    pub trades: bool,
    /// Minute bars (aggregates).
    pub bars: bool,
}

impl Default for Channels {
    fn default() -> Self {
        Self { quotes: true, trades: true, bars: false }
    }
}

/// The wait before connecting again: the `n`th wait (from 0) is at most
/// `initial × multiplier^n`, capped at `max`, and at least that less its `jitter` share (0:
/// always the ceiling; 1: anywhere from zero to it, "full jitter").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    /// At least 1 (a smaller or non-finite one is read as 1).
    pub multiplier: f64,
    /// From 0 to 1 (clamped; a non-finite one is read as 0).
    pub jitter: f64,
}

impl Default for Backoff {
    /// 500 ms, doubling up to 30 s, each wait from half its ceiling to all of it.
    fn default() -> Self {
        Self { initial: Duration::from_millis(500), max: Duration::from_secs(30), multiplier: 2.0, jitter: 0.5 }
    }
}

impl Backoff {
    /// The longest the `attempt`th wait (from 0) can be: `initial × multiplier^attempt`, at
    /// most `max`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let multiplier = if self.multiplier.is_finite() && self.multiplier >= 1.0 { self.multiplier } else { 1.0 };
        let secs = self.initial.as_secs_f64() * multiplier.powi(i32::try_from(attempt).unwrap_or(i32::MAX));
        if secs.is_finite() && secs < self.max.as_secs_f64() {
            Duration::from_secs_f64(secs)
        } else {
            self.max
        }
    }

    /// The `attempt`th wait for a draw `unit` from `[0, 1)`: the ceiling less `jitter × unit`
    /// of it, so within `[ceiling × (1 − jitter), ceiling]`.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let jitter = if self.jitter.is_finite() { self.jitter.clamp(0.0, 1.0) } else { 0.0 };
        let unit = if unit.is_finite() { unit.clamp(0.0, 1.0) } else { 0.0 };
        self.ceiling(attempt).mul_f64(1.0 - jitter * unit)
    }
}

/// Draws in `[0, 1)` for the jitter: xorshift64*, seeded from the clock. Not for secrets.
struct Draws(u64);

impl Draws {
    fn seeded() -> Self {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        // splitmix64 of the clock, so that seeds a nanosecond apart draw apart; never zero.
        let mut z = (nanos as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self((z ^ (z >> 31)) | 1)
    }

    fn unit(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        // The top 53 bits as a fraction of 2^53: exactly representable, below 1.
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// What a stream connects to and how.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// The configured name: the `source` of its quotes and the `stream` of its log lines.
    pub name: String,
    pub protocol: Protocol,
    /// `ws://` or `wss://` ([`POLYGON_URL`], [`ALPACA_IEX_URL`], …).
    pub url: String,
    /// Polygon's API key, or Alpaca's key id.
    pub key: Option<ApiKey>,
    /// Alpaca's secret key (Polygon has none).
    pub secret: Option<ApiKey>,
    /// The symbols to subscribe to from the start (upper-cased; more with
    /// [`QuoteStream::subscribe`]).
    pub symbols: Vec<String>,
    pub channels: Channels,
    pub backoff: Backoff,
    /// After this long without a message from the server the client pings it, and gives the
    /// connection up after twice this long; zero never pings. 30 s unless set.
    pub keepalive: Duration,
}

impl StreamConfig {
    /// A stream without keys or symbols, quotes and trades, the default backoff, a 30 s
    /// keepalive.
    pub fn new(name: impl Into<String>, protocol: Protocol, url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            protocol,
            url: url.into(),
            key: None,
            secret: None,
            symbols: Vec::new(),
            channels: Channels::default(),
            backoff: Backoff::default(),
            keepalive: Duration::from_secs(30),
        }
    }
}

/// How a run ended other than by its stop signal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// The vendor refused the key (or its plan), or none is configured: connecting again
    /// would be refused again.
    #[error("{stream}: the key was refused: {message}")]
    Unauthorized { stream: String, message: String },
    /// The configuration cannot work (a URL that is not `ws://` or `wss://`).
    #[error("{stream}: {message}")]
    Config { stream: String, message: String },
    /// [`QuoteStream::run`] was called while the same stream was running.
    #[error("{stream}: already running")]
    AlreadyRunning { stream: String },
}

/// A snapshot of a stream's counters ([`QuoteStream::stats`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// WebSocket connections opened.
    pub connects: u64,
    /// Tries to connect again after a connection dropped or failed.
    pub reconnects: u64,
    /// Frames read (text or binary).
    pub frames: u64,
    /// Quotes delivered.
    pub quotes: u64,
    /// Frames that are not JSON messages, and data messages that do not read.
    pub malformed: u64,
    /// Messages of kinds the stream does not read.
    pub skipped: u64,
    /// Authenticated now.
    pub connected: bool,
    /// Why the last connection ended, or what the vendor last complained about.
    pub last_error: Option<String>,
}

/// What a frame holds: its quotes, in the vendor's order, and its other messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frame {
    pub quotes: Vec<Quote>,
    pub control: Vec<Control>,
    /// Messages of kinds not read (counted, not kept).
    pub skipped: u64,
    /// Why each data message that did not read did not.
    pub errors: Vec<String>,
}

/// A message about the connection rather than the market.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// The server's greeting: time to authenticate.
    Connected,
    /// The key was accepted.
    Authenticated,
    /// The key (or its plan) was refused: Polygon's `auth_failed`, Alpaca's errors 401, 402
    /// and 409.
    AuthFailed { code: Option<u32>, message: String },
    /// A subscription was confirmed: Polygon's status `success` message, or Alpaca's lists
    /// (`trades=["AAPL"] quotes=["AAPL"] bars=[]`).
    Subscribed { message: String },
    /// Another Alpaca error (`406 connection limit exceeded`, …).
    Error { code: Option<u32>, message: String },
    /// Another status (Polygon's `max_connections`, …, Alpaca's `success` with another `msg`).
    Status { status: String, message: String },
}

/// The quotes and control messages of one frame of `protocol`, quotes with `source` as their
/// source. An error only where the frame is not a JSON array of objects (a lone object is
/// read as an array of one); a data message that does not read is left out and named in
/// [`Frame::errors`], an unknown kind counted in [`Frame::skipped`].
pub fn parse_frame(protocol: Protocol, source: &str, text: &str) -> Result<Frame, String> {
    match protocol {
        Protocol::Polygon => read_frame::<PolygonMessage<'_>>(source, text),
        Protocol::Alpaca => read_frame::<AlpacaMessage<'_>>(source, text),
    }
}

/// What one message of a frame is.
enum Read {
    Quote(Quote),
    Control(Control),
    Skip,
}

/// A vendor's message, every field borrowed from the frame as its raw JSON text.
trait WireMessage<'a>: Deserialize<'a> {
    fn read(&self, source: &str) -> Result<Read, String>;
}

/// Reads the frame in one pass: each message is read as soon as it is parsed, without a
/// vector of parsed messages in between.
fn read_frame<'a, M: WireMessage<'a>>(source: &str, text: &'a str) -> Result<Frame, String> {
    let mut frame = Frame { quotes: Vec::with_capacity(text.len() / 128 + 1), ..Frame::default() };
    let mut de = serde_json::Deserializer::from_str(text);
    Messages::<M> { source, frame: &mut frame, message: PhantomData }
        .deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| format!("not a JSON array of messages: {e}"))?;
    Ok(frame)
}

/// The messages of a frame (an array of them, or a lone one), each read into `frame`.
struct Messages<'f, M> {
    source: &'f str,
    frame: &'f mut Frame,
    message: PhantomData<M>,
}

impl<M> Messages<'_, M> {
    fn add(&mut self, read: Result<Read, String>) {
        match read {
            Ok(Read::Quote(quote)) => self.frame.quotes.push(quote),
            Ok(Read::Control(control)) => self.frame.control.push(control),
            Ok(Read::Skip) => self.frame.skipped += 1,
            Err(e) => self.frame.errors.push(e),
        }
    }
}

impl<'de, M: WireMessage<'de>> DeserializeSeed<'de> for Messages<'_, M> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, M: WireMessage<'de>> Visitor<'de> for Messages<'_, M> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON array of messages")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        while let Some(message) = seq.next_element::<M>()? {
            let read = message.read(self.source);
            self.add(read);
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, map: A) -> Result<(), A::Error> {
        let message = M::deserialize(MapAccessDeserializer::new(map))?;
        let read = message.read(self.source);
        self.add(read);
        Ok(())
    }
}

type Raw<'a> = Option<&'a RawValue>;

/// A Polygon message: the fields of every kind read, as raw text (`c` is a quote's condition,
/// a trade's conditions, an aggregate's close; `s` a trade's size, an aggregate's start).
#[derive(Deserialize)]
struct PolygonMessage<'a> {
    #[serde(borrow)]
    ev: Raw<'a>,
    #[serde(borrow)]
    sym: Raw<'a>,
    #[serde(borrow)]
    bp: Raw<'a>,
    #[serde(borrow)]
    ap: Raw<'a>,
    #[serde(borrow)]
    p: Raw<'a>,
    #[serde(borrow)]
    s: Raw<'a>,
    #[serde(borrow)]
    c: Raw<'a>,
    #[serde(borrow)]
    t: Raw<'a>,
    #[serde(borrow)]
    e: Raw<'a>,
    #[serde(borrow)]
    status: Raw<'a>,
    #[serde(borrow)]
    message: Raw<'a>,
}

impl<'a> WireMessage<'a> for PolygonMessage<'a> {
    fn read(&self, source: &str) -> Result<Read, String> {
        let Some(kind) = self.ev.and_then(text) else {
            return Err("a message without its kind (`ev`)".to_owned());
        };
        let read = Fields { kind: &kind, symbol: self.sym };
        match &*kind {
            "Q" => Ok(Read::Quote(Quote::bid_ask(
                read.symbol()?,
                read.millis("t", self.t)?,
                read.price("bp", self.bp)?,
                read.price("ap", self.ap)?,
                source,
            ))),
            "T" => Ok(Read::Quote(Quote::trade(
                read.symbol()?,
                read.millis("t", self.t)?,
                read.price("p", self.p)?,
                read.optional("s", self.s)?,
                source,
            ))),
            "AM" => Ok(Read::Quote(Quote::trade(
                read.symbol()?,
                read.millis("e", self.e)?,
                read.price("c", self.c)?,
                None,
                source,
            ))),
            "status" => {
                let status = self.status.and_then(text).unwrap_or_default();
                let message = self.message.and_then(text).unwrap_or_default().into_owned();
                Ok(Read::Control(match &*status {
                    "connected" => Control::Connected,
                    "auth_success" => Control::Authenticated,
                    "auth_failed" => Control::AuthFailed { code: None, message },
                    "success" => Control::Subscribed { message },
                    _ => Control::Status { status: status.into_owned(), message },
                }))
            }
            _ => Ok(Read::Skip),
        }
    }
}

/// An Alpaca message: the fields of every kind read, as raw text (`c` is a bar's close and
/// the conditions of quotes and trades).
#[derive(Deserialize)]
struct AlpacaMessage<'a> {
    #[serde(borrow, rename = "T")]
    kind: Raw<'a>,
    #[serde(borrow, rename = "S")]
    symbol: Raw<'a>,
    #[serde(borrow)]
    bp: Raw<'a>,
    #[serde(borrow)]
    ap: Raw<'a>,
    #[serde(borrow)]
    p: Raw<'a>,
    #[serde(borrow)]
    s: Raw<'a>,
    #[serde(borrow)]
    c: Raw<'a>,
    #[serde(borrow)]
    t: Raw<'a>,
    #[serde(borrow)]
    msg: Raw<'a>,
    #[serde(borrow)]
    code: Raw<'a>,
    #[serde(borrow)]
    trades: Raw<'a>,
    #[serde(borrow)]
    quotes: Raw<'a>,
    #[serde(borrow)]
    bars: Raw<'a>,
}

impl<'a> WireMessage<'a> for AlpacaMessage<'a> {
    fn read(&self, source: &str) -> Result<Read, String> {
        let Some(kind) = self.kind.and_then(text) else {
            return Err("a message without its kind (`T`)".to_owned());
        };
        let read = Fields { kind: &kind, symbol: self.symbol };
        match &*kind {
            "q" => Ok(Read::Quote(Quote::bid_ask(
                read.symbol()?,
                read.rfc3339("t", self.t)?,
                read.price("bp", self.bp)?,
                read.price("ap", self.ap)?,
                source,
            ))),
            "t" => Ok(Read::Quote(Quote::trade(
                read.symbol()?,
                read.rfc3339("t", self.t)?,
                read.price("p", self.p)?,
                read.optional("s", self.s)?,
                source,
            ))),
            "b" => Ok(Read::Quote(Quote::trade(
                read.symbol()?,
                read.rfc3339("t", self.t)?
                    .checked_add_signed(TimeDelta::minutes(1))
                    .ok_or_else(|| read.fail("t is out of range"))?,
                read.price("c", self.c)?,
                None,
                source,
            ))),
            "success" => {
                let msg = self.msg.and_then(text).unwrap_or_default();
                Ok(Read::Control(match &*msg {
                    "connected" => Control::Connected,
                    "authenticated" => Control::Authenticated,
                    _ => Control::Status { status: "success".to_owned(), message: msg.into_owned() },
                }))
            }
            "error" => {
                let code = self.code.and_then(|c| u32::from_str(c.get()).ok());
                let message = self.msg.and_then(text).unwrap_or_default().into_owned();
                Ok(Read::Control(match code {
                    Some(401 | 402 | 409) => Control::AuthFailed { code, message },
                    _ => Control::Error { code, message },
                }))
            }
            "subscription" => {
                let lists = [("trades", self.trades), ("quotes", self.quotes), ("bars", self.bars)];
                let message = lists
                    .iter()
                    .filter_map(|(name, list)| list.map(|l| format!("{name}={}", l.get())))
                    .collect::<Vec<_>>()
                    .join(" ");
                Ok(Read::Control(Control::Subscribed { message }))
            }
            _ => Ok(Read::Skip),
        }
    }
}

/// The reading of one data message's fields, each error naming the kind and the symbol.
struct Fields<'m, 'a> {
    kind: &'m str,
    symbol: Raw<'a>,
}

impl Fields<'_, '_> {
    fn fail(&self, what: impl std::fmt::Display) -> String {
        match self.symbol.and_then(text) {
            Some(symbol) if !symbol.is_empty() => format!("{} {symbol}: {what}", self.kind),
            _ => format!("{}: {what}", self.kind),
        }
    }

    fn symbol(&self) -> Result<String, String> {
        match self.symbol.and_then(text) {
            Some(symbol) if !symbol.is_empty() => Ok(symbol.to_ascii_uppercase()),
            _ => Err(self.fail("no symbol")),
        }
    }

    fn optional(&self, name: &str, raw: Raw<'_>) -> Result<Option<Decimal>, String> {
        match raw {
            None => Ok(None),
            Some(raw) if raw.get() == "null" => Ok(None),
            Some(raw) => number(raw).map(Some).ok_or_else(|| self.fail(format_args!("{name} {} is not a number", raw))),
        }
    }

    fn price(&self, name: &str, raw: Raw<'_>) -> Result<Decimal, String> {
        self.optional(name, raw)?.ok_or_else(|| self.fail(format_args!("no {name}")))
    }

    /// Unix milliseconds.
    fn millis(&self, name: &str, raw: Raw<'_>) -> Result<DateTime<Utc>, String> {
        let raw = raw.ok_or_else(|| self.fail(format_args!("no {name}")))?;
        i64::from_str(raw.get())
            .ok()
            .and_then(DateTime::from_timestamp_millis)
            .ok_or_else(|| self.fail(format_args!("{name} {raw} is not a time in Unix milliseconds")))
    }

    /// An RFC 3339 string.
    fn rfc3339(&self, name: &str, raw: Raw<'_>) -> Result<DateTime<Utc>, String> {
        let raw = raw.ok_or_else(|| self.fail(format_args!("no {name}")))?;
        text(raw)
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| self.fail(format_args!("{name} {raw} is not an RFC 3339 time")))
    }
}

/// A JSON string's text: borrowed where it has no escapes; `None` for anything else.
fn text(raw: &RawValue) -> Option<Cow<'_, str>> {
    let quoted = raw.get().strip_prefix('"')?.strip_suffix('"')?;
    if quoted.contains('\\') {
        serde_json::from_str::<String>(raw.get()).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(quoted))
    }
}

/// A JSON number (or a string holding one) read exactly from its text.
fn number(raw: &RawValue) -> Option<Decimal> {
    let text = raw.get();
    let text = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
    plain(text).or_else(|| decimal(text))
}

/// The common numeral, `[-]digits[.digits]` in at most 18 characters, read in one pass; `None`
/// for anything else (which [`decimal`] then reads, or refuses). The same value and scale as
/// `decimal` gives.
fn plain(text: &str) -> Option<Decimal> {
    let (negative, digits) = match text.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        rest => (false, rest),
    };
    if digits.len() > 18 {
        return None;
    }
    let (mut mantissa, mut scale, mut any) = (0i64, None, false);
    for (i, &b) in digits.iter().enumerate() {
        match b {
            b'0'..=b'9' => {
                // At most 18 digits: below 10^18, no overflow.
                mantissa = mantissa * 10 + i64::from(b - b'0');
                any = true;
            }
            b'.' if scale.is_none() => scale = Some(digits.len() - i - 1),
            _ => return None,
        }
    }
    if !any {
        return None;
    }
    let scale = u32::try_from(scale.unwrap_or(0)).ok()?;
    let mut value = Decimal::try_from_i128_with_scale(i128::from(mantissa), scale).ok()?;
    value.set_sign_negative(negative && mantissa != 0);
    Some(value)
}

/// The start of `text`, at most [`EXCERPT`] bytes, cut on a character boundary.
fn excerpt(text: &str) -> &str {
    let mut end = text.len().min(EXCERPT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `text` with every key in `secrets` replaced by `***`.
fn scrub(text: &str, secrets: &[&ApiKey]) -> String {
    secrets.iter().filter(|k| !k.expose().is_empty()).fold(text.to_owned(), |t, k| t.replace(k.expose(), "***"))
}

/// Symbols as the vendors want them: trimmed and upper-case; empty ones and those with a
/// comma (Polygon's separator) dropped.
fn normalized(symbols: &[String]) -> Vec<String> {
    symbols
        .iter()
        .filter_map(|s| {
            let s = s.trim();
            if s.is_empty() || s.contains(',') {
                tracing::warn!(symbol = %s, "a symbol that is empty or holds a comma is not subscribed to");
                None
            } else {
                Some(s.to_ascii_uppercase())
            }
        })
        .collect()
}

/// A vendor's live quotes over its WebSocket: see the module's documentation. Share it
/// (`Arc<QuoteStream>`) to [`subscribe`](Self::subscribe) or read [`stats`](Self::stats) while
/// it runs.
#[derive(Debug)]
pub struct QuoteStream {
    config: StreamConfig,
    /// Every symbol subscribed to, in the order added; only ever grows, so a connection that
    /// has sent the first `n` sends the rest when it changes.
    symbols: watch::Sender<Vec<String>>,
    running: AtomicBool,
    counters: Counters,
}

#[derive(Debug, Default)]
struct Counters {
    connects: AtomicU64,
    reconnects: AtomicU64,
    frames: AtomicU64,
    quotes: AtomicU64,
    malformed: AtomicU64,
    skipped: AtomicU64,
    connected: AtomicBool,
    last_error: Mutex<Option<String>>,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn error(&self, error: String) {
        *self.last_error.lock().unwrap_or_else(PoisonError::into_inner) = Some(error);
    }
}

/// How one connection ended, other than with a fatal error.
enum Ended {
    /// The stop signal: the socket was closed politely.
    Stopped,
    /// The connection dropped or failed; `healthy` if it authenticated and received data.
    Lost { reason: String, healthy: bool },
}

fn lost(reason: impl Into<String>, healthy: bool) -> Ended {
    Ended::Lost { reason: reason.into(), healthy }
}

/// Where a connection is in the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the server's greeting.
    Greeting,
    /// The key is sent; waiting for the answer.
    Authenticating,
    /// Authenticated and subscribed.
    Streaming,
}

/// What woke a connection's loop.
enum Event {
    Stop,
    Message(Option<Result<Message, tungstenite::Error>>),
    Symbols,
    AuthTimeout,
    Idle,
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Resolves when the stop signal is `true` or its sender is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Sends a close frame and waits (a little) for the server's.
async fn close(ws: &mut Socket) {
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        if ws.close(None).await.is_ok() {
            while let Some(Ok(_)) = ws.next().await {}
        }
    })
    .await;
}

/// Resets the running flag however a run ends (returned or dropped).
struct Running<'a>(&'a AtomicBool);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl QuoteStream {
    pub fn new(config: StreamConfig) -> Self {
        let mut symbols = Vec::new();
        for symbol in normalized(&config.symbols) {
            if !symbols.contains(&symbol) {
                symbols.push(symbol);
            }
        }
        Self {
            config,
            symbols: watch::Sender::new(symbols),
            running: AtomicBool::new(false),
            counters: Counters::default(),
        }
    }

    pub fn config(&self) -> &StreamConfig {
        &self.config
    }

    /// Every symbol subscribed to, in the order added.
    pub fn symbols(&self) -> Vec<String> {
        self.symbols.borrow().clone()
    }

    pub fn stats(&self) -> StreamStats {
        let c = &self.counters;
        StreamStats {
            connects: c.connects.load(Ordering::Relaxed),
            reconnects: c.reconnects.load(Ordering::Relaxed),
            frames: c.frames.load(Ordering::Relaxed),
            quotes: c.quotes.load(Ordering::Relaxed),
            malformed: c.malformed.load(Ordering::Relaxed),
            skipped: c.skipped.load(Ordering::Relaxed),
            connected: c.connected.load(Ordering::Relaxed),
            last_error: c.last_error.lock().unwrap_or_else(PoisonError::into_inner).clone(),
        }
    }

    /// Adds `symbols` (upper-cased; those held already are ignored): subscribed to at once
    /// where the stream is connected and authenticated, and on every connection after.
    pub fn subscribe(&self, symbols: &[String]) {
        let added = normalized(symbols);
        self.symbols.send_if_modified(|held| {
            let before = held.len();
            for symbol in added {
                if !held.contains(&symbol) {
                    held.push(symbol);
                }
            }
            held.len() > before
        });
    }

    /// Streams quotes into `sink` until `stop` turns `true` (or its sender is dropped):
    /// `Ok(())` then. Connections that drop or fail are made again after the backoff; a
    /// refused key ends the run with [`StreamError::Unauthorized`]. One run at a time.
    pub async fn run(&self, sink: Arc<dyn QuoteSink>, mut stop: watch::Receiver<bool>) -> Result<(), StreamError> {
        let name = self.config.name.as_str();
        self.check()?;
        if self.running.swap(true, Ordering::AcqRel) {
            return Err(StreamError::AlreadyRunning { stream: name.to_owned() });
        }
        let _running = Running(&self.running);
        let mut draws = Draws::seeded();
        let mut attempt = 0u32;
        loop {
            let ended = self.connection(&*sink, &mut stop).await;
            self.counters.connected.store(false, Ordering::Relaxed);
            match ended {
                Err(e) => {
                    tracing::error!(stream = name, error = %e, "quote stream stopped");
                    self.counters.error(e.to_string());
                    return Err(e);
                }
                Ok(Ended::Stopped) => {
                    tracing::info!(stream = name, "quote stream stopped");
                    return Ok(());
                }
                Ok(Ended::Lost { reason, healthy }) => {
                    if healthy {
                        attempt = 0;
                    }
                    let wait = self.config.backoff.delay(attempt, draws.unit());
                    attempt = attempt.saturating_add(1);
                    tracing::warn!(
                        stream = name,
                        reason = %reason,
                        wait_ms = wait.as_millis() as u64,
                        "quote stream connection lost; connecting again"
                    );
                    self.counters.error(reason);
                    tokio::select! {
                        biased;
                        () = stopped(&mut stop) => {
                            tracing::info!(stream = name, "quote stream stopped");
                            return Ok(());
                        }
                        () = tokio::time::sleep(wait) => {}
                    }
                    Counters::add(&self.counters.reconnects, 1);
                }
            }
        }
    }

    /// What must hold before connecting at all.
    fn check(&self) -> Result<(), StreamError> {
        let stream = self.config.name.clone();
        let url = self.config.url.as_str();
        if !(url.starts_with("ws://") || url.starts_with("wss://")) {
            return Err(StreamError::Config {
                stream,
                message: format!("{} is not a ws:// or wss:// URL", shown(url)),
            });
        }
        let missing = match self.config.protocol {
            Protocol::Polygon => self.config.key.is_none(),
            Protocol::Alpaca => self.config.key.is_none() || self.config.secret.is_none(),
        };
        if missing {
            let message = match self.config.protocol {
                Protocol::Polygon => "no API key is configured",
                Protocol::Alpaca => "no key id and secret are configured",
            };
            return Err(StreamError::Unauthorized { stream, message: message.to_owned() });
        }
        Ok(())
    }

    /// One connection, from connecting until it ends.
    async fn connection(&self, sink: &dyn QuoteSink, stop: &mut watch::Receiver<bool>) -> Result<Ended, StreamError> {
        let name = self.config.name.as_str();
        let url = shown(&self.config.url);
        tracing::debug!(stream = name, url = %url, "connecting");
        let connecting =
            tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(self.config.url.as_str()));
        let mut ws = tokio::select! {
            biased;
            () = stopped(stop) => return Ok(Ended::Stopped),
            connected = connecting => match connected {
                Err(_) => return Ok(lost(format!("no connection to {url} within {CONNECT_TIMEOUT:?}"), false)),
                Ok(Err(tungstenite::Error::Url(e))) => {
                    return Err(StreamError::Config { stream: name.to_owned(), message: format!("{url}: {e}") });
                }
                Ok(Err(e)) => return Ok(lost(format!("connecting to {url} failed: {e}"), false)),
                Ok(Ok((ws, _))) => ws,
            },
        };
        Counters::add(&self.counters.connects, 1);
        tracing::info!(stream = name, url = %url, "quote stream connected; waiting for the greeting");

        let mut symbols = self.symbols.subscribe();
        let mut phase = Phase::Greeting;
        let mut sent = 0usize;
        let mut healthy = false;
        let auth_deadline = Instant::now() + AUTH_TIMEOUT;
        let keepalive = self.config.keepalive;
        let mut heard = Instant::now();
        let mut pinged = false;
        loop {
            let idle = heard + if pinged { keepalive.saturating_mul(2) } else { keepalive };
            let event = tokio::select! {
                biased;
                () = stopped(stop) => Event::Stop,
                message = ws.next() => Event::Message(message),
                Ok(()) = symbols.changed(), if phase == Phase::Streaming => Event::Symbols,
                () = tokio::time::sleep_until(auth_deadline), if phase != Phase::Streaming => Event::AuthTimeout,
                () = tokio::time::sleep_until(idle), if !keepalive.is_zero() => Event::Idle,
            };
            let message = match event {
                Event::Stop => {
                    close(&mut ws).await;
                    return Ok(Ended::Stopped);
                }
                Event::AuthTimeout => {
                    return Ok(lost(format!("not authenticated within {AUTH_TIMEOUT:?} of connecting"), false));
                }
                Event::Idle if pinged => {
                    return Ok(lost(
                        format!("no message from the server for {:?}", keepalive.saturating_mul(2)),
                        healthy,
                    ));
                }
                Event::Idle => {
                    pinged = true;
                    tracing::debug!(stream = name, "the server is quiet; pinging it");
                    if let Err(e) = ws.send(Message::Ping(Default::default())).await {
                        return Ok(lost(format!("pinging failed: {e}"), healthy));
                    }
                    continue;
                }
                Event::Symbols => {
                    let new: Vec<String> = symbols.borrow_and_update().get(sent..).unwrap_or_default().to_vec();
                    sent += new.len();
                    if let Err(e) = self.send_subscribe(&mut ws, &new).await {
                        return Ok(lost(e, healthy));
                    }
                    continue;
                }
                Event::Message(None) => return Ok(lost("the server closed the connection", healthy)),
                Event::Message(Some(Err(e))) => return Ok(lost(format!("reading failed: {e}"), healthy)),
                Event::Message(Some(Ok(message))) => message,
            };
            heard = Instant::now();
            pinged = false;
            let text = match &message {
                Message::Text(text) => text.as_str(),
                Message::Binary(bytes) => match std::str::from_utf8(bytes) {
                    Ok(text) => text,
                    Err(_) => {
                        Counters::add(&self.counters.frames, 1);
                        Counters::add(&self.counters.malformed, 1);
                        tracing::warn!(stream = name, "a binary frame that is not UTF-8 was skipped");
                        continue;
                    }
                },
                Message::Ping(_) => {
                    // tungstenite queued the pong; send it now.
                    if let Err(e) = ws.flush().await {
                        return Ok(lost(format!("answering a ping failed: {e}"), healthy));
                    }
                    continue;
                }
                Message::Close(frame) => {
                    tracing::info!(stream = name, frame = ?frame, "the server is closing the connection");
                    continue;
                }
                Message::Pong(_) | Message::Frame(_) => continue,
            };
            let (controls, delivered) = self.frame(text, sink);
            if delivered && phase == Phase::Streaming {
                healthy = true;
            }
            for control in controls {
                match control {
                    Control::Connected if phase == Phase::Greeting => {
                        tracing::debug!(stream = name, "greeted; authenticating");
                        if let Err(e) = ws.send(Message::text(self.auth_message())).await {
                            return Ok(lost(format!("sending the key failed: {e}"), healthy));
                        }
                        phase = Phase::Authenticating;
                    }
                    Control::Authenticated if phase != Phase::Streaming => {
                        phase = Phase::Streaming;
                        self.counters.connected.store(true, Ordering::Relaxed);
                        let all = symbols.borrow_and_update().clone();
                        sent = all.len();
                        tracing::info!(stream = name, symbols = all.len(), "quote stream authenticated; subscribing");
                        if let Err(e) = self.send_subscribe(&mut ws, &all).await {
                            return Ok(lost(e, healthy));
                        }
                    }
                    Control::AuthFailed { code, message } => {
                        close(&mut ws).await;
                        let said = match code {
                            Some(code) => format!("{code} {message}"),
                            None => message,
                        };
                        return Err(StreamError::Unauthorized {
                            stream: name.to_owned(),
                            message: self.scrubbed(&said),
                        });
                    }
                    Control::Subscribed { message } => {
                        tracing::info!(stream = name, said = %message, "subscription confirmed");
                    }
                    Control::Error { code, message } => {
                        let said = format!("{} {message}", code.map_or_else(|| "error".to_owned(), |c| c.to_string()));
                        tracing::warn!(stream = name, said = %said, "the server reported an error");
                        self.counters.error(self.scrubbed(&said));
                    }
                    Control::Status { status, message } => {
                        tracing::warn!(stream = name, status = %status, said = %message, "the server reported a status");
                        self.counters.error(self.scrubbed(&format!("{status}: {message}")));
                    }
                    other @ (Control::Connected | Control::Authenticated) => {
                        tracing::debug!(stream = name, control = ?other, "a repeated greeting or authentication");
                    }
                }
            }
        }
    }

    /// Reads a frame, delivers its quotes as one batch, counts; its control messages back,
    /// and whether it delivered any quote.
    fn frame(&self, text: &str, sink: &dyn QuoteSink) -> (Vec<Control>, bool) {
        let name = self.config.name.as_str();
        let c = &self.counters;
        Counters::add(&c.frames, 1);
        match parse_frame(self.config.protocol, name, text) {
            Err(e) => {
                Counters::add(&c.malformed, 1);
                tracing::warn!(stream = name, error = %e, frame = %excerpt(text), "an unreadable frame was skipped");
                (Vec::new(), false)
            }
            Ok(Frame { quotes, control, skipped, errors }) => {
                Counters::add(&c.skipped, skipped);
                Counters::add(&c.malformed, errors.len() as u64);
                for error in &errors {
                    tracing::warn!(stream = name, error = %error, "an unreadable message was skipped");
                }
                let delivered = !quotes.is_empty();
                if delivered {
                    Counters::add(&c.quotes, quotes.len() as u64);
                    sink.deliver(quotes);
                }
                (control, delivered)
            }
        }
    }

    fn auth_message(&self) -> String {
        fn expose(key: &Option<ApiKey>) -> &str {
            key.as_ref().map_or("", ApiKey::expose)
        }
        match self.config.protocol {
            Protocol::Polygon => serde_json::json!({ "action": "auth", "params": expose(&self.config.key) }),
            Protocol::Alpaca => serde_json::json!({
                "action": "auth",
                "key": expose(&self.config.key),
                "secret": expose(&self.config.secret),
            }),
        }
        .to_string()
    }

    /// The subscribe message for `symbols` on the configured channels; `None` where there is
    /// nothing to ask for.
    fn subscribe_message(&self, symbols: &[String]) -> Option<String> {
        let ch = self.config.channels;
        if symbols.is_empty() || !(ch.quotes || ch.trades || ch.bars) {
            return None;
        }
        Some(match self.config.protocol {
            Protocol::Polygon => {
                let prefixes: Vec<&str> = [(ch.quotes, "Q."), (ch.trades, "T."), (ch.bars, "AM.")]
                    .into_iter()
                    .filter_map(|(on, prefix)| on.then_some(prefix))
                    .collect();
                let params: Vec<String> =
                    symbols.iter().flat_map(|s| prefixes.iter().map(move |p| format!("{p}{s}"))).collect();
                serde_json::json!({ "action": "subscribe", "params": params.join(",") }).to_string()
            }
            Protocol::Alpaca => {
                let on = |on: bool| if on { symbols } else { &[] };
                serde_json::json!({
                    "action": "subscribe",
                    "trades": on(ch.trades),
                    "quotes": on(ch.quotes),
                    "bars": on(ch.bars),
                })
                .to_string()
            }
        })
    }

    async fn send_subscribe(&self, ws: &mut Socket, symbols: &[String]) -> Result<(), String> {
        let Some(message) = self.subscribe_message(symbols) else { return Ok(()) };
        tracing::info!(stream = self.config.name.as_str(), symbols = ?symbols, "subscribing");
        ws.send(Message::text(message)).await.map_err(|e| format!("subscribing failed: {e}"))
    }

    /// `text` without the configured keys.
    fn scrubbed(&self, text: &str) -> String {
        let keys: Vec<&ApiKey> = [&self.config.key, &self.config.secret].into_iter().flatten().collect();
        scrub(text, &keys)
    }
}

/// A URL as logged: without its query.
fn shown(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::sync::atomic::AtomicUsize;

    use tokio::net::TcpListener;
    use tokio::sync::Notify;

    use super::*;

    const KEY: &str = "pgK3yS3cr3t";
    const KEY_ID: &str = "AKID123";
    const SECRET: &str = "alpacaS3cr3t";
    const WAIT: Duration = Duration::from_secs(5);

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn quote(source: &str, symbol: &str, time: &str, prices: [Option<&str>; 4]) -> Quote {
        let [last, bid, ask, size] = prices.map(|p| p.map(d));
        Quote { symbol: symbol.to_owned(), at: at(time), last, bid, ask, size, source: source.to_owned() }
    }

    // ---- parse_frame ----

    #[test]
    fn polygon_frames_mix_kinds_and_symbols() {
        let text = r#"[{"ev":"status","status":"success","message":"subscribed to: Q.AAPL"},
            {"ev":"Q","sym":"AAPL","bx":4,"bp":114.125,"bs":100,"ax":7,"ap":114.128,"as":160,"c":0,"t":1536036818784,"q":50385480,"z":3},
            {"ev":"T","sym":"msft","x":4,"i":"12345","z":3,"p":114.125,"s":100,"c":[0,12],"t":1536036818784,"q":3681328},
            {"ev":"XQ","pair":"BTC-USD","bp":1},
            {"ev":"AM","sym":"GTE","v":4110,"av":9470157,"op":0.4372,"vw":0.4488,"o":0.4488,"c":0.4486,"h":0.4489,"l":0.4486,"a":0.4352,"z":685,"s":1610144640000,"e":1610144700000}]"#;
        let frame = parse_frame(Protocol::Polygon, "polygon-live", text).unwrap();
        assert_eq!(
            frame.quotes,
            vec![
                quote(
                    "polygon-live",
                    "AAPL",
                    "2018-09-04T04:53:38.784Z",
                    [None, Some("114.125"), Some("114.128"), None]
                ),
                quote("polygon-live", "MSFT", "2018-09-04T04:53:38.784Z", [Some("114.125"), None, None, Some("100")]),
                quote("polygon-live", "GTE", "2021-01-08T22:25:00Z", [Some("0.4486"), None, None, None]),
            ]
        );
        assert_eq!(frame.control, vec![Control::Subscribed { message: "subscribed to: Q.AAPL".to_owned() }]);
        assert_eq!((frame.skipped, frame.errors.len()), (1, 0));
        // Exactly the text's digits: no binary float on the way.
        assert_eq!(frame.quotes[0].ask.unwrap().to_string(), "114.128");
    }

    #[test]
    fn polygon_statuses_are_control_messages() {
        let text = r#"[{"ev":"status","status":"connected","message":"Connected Successfully"},
            {"ev":"status","status":"auth_success","message":"authenticated"},
            {"ev":"status","status":"auth_failed","message":"authentication failed"},
            {"ev":"status","status":"max_connections","message":"Maximum number of websocket connections exceeded."}]"#;
        let frame = parse_frame(Protocol::Polygon, "p", text).unwrap();
        assert_eq!(
            frame.control,
            vec![
                Control::Connected,
                Control::Authenticated,
                Control::AuthFailed { code: None, message: "authentication failed".to_owned() },
                Control::Status {
                    status: "max_connections".to_owned(),
                    message: "Maximum number of websocket connections exceeded.".to_owned()
                },
            ]
        );
        assert!(frame.quotes.is_empty());
        // A lone object is a frame of one.
        let lone = parse_frame(Protocol::Polygon, "p", r#"{"ev":"status","status":"connected","message":"x"}"#);
        assert_eq!(lone.unwrap().control, vec![Control::Connected]);
    }

    #[test]
    fn alpaca_frames_mix_kinds_and_symbols() {
        let text = r#"[{"T":"subscription","trades":["AAPL"],"quotes":["AMD"],"bars":["SPY"]},
            {"T":"q","S":"AMD","bx":"U","bp":87.66,"bs":1,"ax":"Q","ap":87.68,"as":4,"t":"2021-02-22T15:51:45.335689322Z","c":["R"],"z":"C"},
            {"T":"t","S":"AAPL","i":96921,"x":"D","p":126.55,"s":1,"t":"2021-02-22T15:51:44.208Z","c":["@","I"],"z":"C"},
            {"T":"b","S":"spy","o":388.985,"h":389.13,"l":388.975,"c":389.12,"v":49378,"t":"2021-02-22T19:15:00Z"},
            {"T":"d","S":"SPY","o":1,"h":1,"l":1,"c":1,"v":1,"t":"2021-02-22T05:00:00Z"},
            {"T":"error","code":406,"msg":"connection limit exceeded"},
            {"T":"error","code":409,"msg":"insufficient subscription"}]"#;
        let frame = parse_frame(Protocol::Alpaca, "alpaca-iex", text).unwrap();
        assert_eq!(
            frame.quotes,
            vec![
                quote(
                    "alpaca-iex",
                    "AMD",
                    "2021-02-22T15:51:45.335689322Z",
                    [None, Some("87.66"), Some("87.68"), None]
                ),
                quote("alpaca-iex", "AAPL", "2021-02-22T15:51:44.208Z", [Some("126.55"), None, None, Some("1")]),
                quote("alpaca-iex", "SPY", "2021-02-22T19:16:00Z", [Some("389.12"), None, None, None]),
            ]
        );
        assert_eq!(frame.quotes[0].at.timestamp_subsec_nanos(), 335_689_322);
        assert_eq!(
            frame.control,
            vec![
                Control::Subscribed { message: r#"trades=["AAPL"] quotes=["AMD"] bars=["SPY"]"#.to_owned() },
                Control::Error { code: Some(406), message: "connection limit exceeded".to_owned() },
                Control::AuthFailed { code: Some(409), message: "insufficient subscription".to_owned() },
            ]
        );
        assert_eq!((frame.skipped, frame.errors.len()), (1, 0));
    }

    #[test]
    fn alpaca_greetings_and_refusals() {
        let text = r#"[{"T":"success","msg":"connected"},{"T":"success","msg":"authenticated"},{"T":"error","code":402,"msg":"auth failed"}]"#;
        let frame = parse_frame(Protocol::Alpaca, "a", text).unwrap();
        assert_eq!(
            frame.control,
            vec![
                Control::Connected,
                Control::Authenticated,
                Control::AuthFailed { code: Some(402), message: "auth failed".to_owned() },
            ]
        );
    }

    #[test]
    fn a_bad_message_is_left_out_and_the_rest_read() {
        let text = r#"[{"ev":"Q","sym":"AAPL","bp":"x","ap":1,"t":1},{"ev":"T","sym":"AAPL","s":1,"t":1},
            {"ev":"T","p":1,"t":1},{"ev":"T","sym":"A\u0042C","p":"2.50","t":1e3},{"sym":"X"},
            {"ev":"T","sym":"A\u0042C","p":"2.50","t":1000}]"#;
        let frame = parse_frame(Protocol::Polygon, "p", text).unwrap();
        assert_eq!(frame.quotes, vec![quote("p", "ABC", "1970-01-01T00:00:01Z", [Some("2.50"), None, None, None])]);
        assert_eq!(
            frame.errors,
            vec![
                r#"Q AAPL: bp "x" is not a number"#,
                "T AAPL: no p",
                "T: no symbol",
                "T ABC: t 1e3 is not a time in Unix milliseconds",
                "a message without its kind (`ev`)",
            ]
        );
        let bad_time = r#"[{"T":"t","S":"AAPL","p":1,"t":"yesterday"}]"#;
        let frame = parse_frame(Protocol::Alpaca, "a", bad_time).unwrap();
        assert_eq!(frame.errors, vec![r#"t AAPL: t "yesterday" is not an RFC 3339 time"#]);

        for text in ["not json", "", "[1, 2]", r#"[{"ev":"Q"}"#, "42"] {
            assert!(parse_frame(Protocol::Polygon, "p", text).is_err(), "{text}");
            assert!(parse_frame(Protocol::Alpaca, "a", text).is_err(), "{text}");
        }
        assert_eq!(parse_frame(Protocol::Alpaca, "a", " [] ").unwrap(), Frame::default());
    }

    #[test]
    fn the_fast_numeral_reader_agrees_with_the_exact_one() {
        let numerals = [
            "0",
            "-0",
            "7",
            "114.125",
            "114.128",
            "-3.5",
            "2.50",
            "0.0001",
            ".5",
            "-.5",
            "5.",
            "100",
            "389.12",
            "123456789012345678",
            "12345678901234567.8",
            "-999999999999999999",
            "1234567890123456789",
            "1e3",
            "1.5E-2",
            "+1",
            "",
            "-",
            ".",
            "1.2.3",
            "1-2",
            "12a",
            "0x10",
            "NaN",
        ];
        for text in numerals {
            let exact = decimal(text);
            match plain(text) {
                Some(fast) => {
                    assert_eq!(Some(fast), exact, "{text}");
                    assert_eq!(fast.scale(), exact.unwrap().scale(), "{text}");
                    assert_eq!(fast.to_string(), exact.unwrap().to_string(), "{text}");
                }
                None => assert!(text.len() > 18 || text.contains(['e', 'E', '+']) || exact.is_none(), "{text}"),
            }
        }
        assert_eq!(plain("114.125"), Some(d("114.125")));
    }

    // ---- backoff ----

    #[test]
    fn backoff_grows_and_is_capped() {
        let b = Backoff::default();
        let ceilings: Vec<u64> = (0..9).map(|n| b.ceiling(n).as_millis() as u64).collect();
        assert_eq!(ceilings, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(30));
        assert_eq!(b.delay(3, 0.0), Duration::from_secs(4));
        assert_eq!(b.delay(3, 1.0), Duration::from_secs(2));
        // A shrinking multiplier, a NaN jitter, a start above the cap: read sanely.
        let odd = Backoff {
            initial: Duration::from_secs(60),
            max: Duration::from_secs(5),
            multiplier: 0.1,
            jitter: f64::NAN,
        };
        assert_eq!((odd.delay(0, 0.7), odd.delay(9, 0.7)), (Duration::from_secs(5), Duration::from_secs(5)));
        let flat = Backoff { multiplier: f64::NAN, jitter: 0.0, ..Backoff::default() };
        assert_eq!(flat.delay(20, 0.9), Duration::from_millis(500));
    }

    #[test]
    fn jitter_stays_inside_its_bounds() {
        let mut draws = Draws::seeded();
        for jitter in [0.0, 0.25, 0.5, 1.0] {
            let b = Backoff { jitter, ..Backoff::default() };
            let mut seen = (Duration::MAX, Duration::ZERO);
            for attempt in 0..12 {
                let ceiling = b.ceiling(attempt);
                for _ in 0..500 {
                    let unit = draws.unit();
                    assert!((0.0..1.0).contains(&unit), "{unit}");
                    let wait = b.delay(attempt, unit);
                    assert!(wait <= ceiling && wait >= ceiling.mul_f64(1.0 - jitter), "{wait:?} of {ceiling:?}");
                    if attempt == 0 {
                        seen = (seen.0.min(wait), seen.1.max(wait));
                    }
                }
            }
            // The draws spread over the range rather than sitting at one end.
            let spread = seen.1 - seen.0;
            assert!(spread >= Duration::from_millis(500).mul_f64(jitter * 0.8), "{jitter}: {seen:?}");
        }
    }

    // ---- against a local vendor ----

    /// A sink that keeps every quote and wakes whoever waits for them.
    #[derive(Default)]
    struct Collect {
        quotes: Mutex<Vec<Quote>>,
        batches: Mutex<Vec<usize>>,
        arrived: Notify,
    }

    impl QuoteSink for Collect {
        fn deliver(&self, batch: Vec<Quote>) {
            self.batches.lock().unwrap().push(batch.len());
            self.quotes.lock().unwrap().extend(batch);
            self.arrived.notify_one();
        }
    }

    impl Collect {
        /// The quotes once there are at least `n`.
        async fn wait_for(&self, n: usize) -> Vec<Quote> {
            let waiting = async {
                loop {
                    {
                        let quotes = self.quotes.lock().unwrap();
                        if quotes.len() >= n {
                            return quotes.clone();
                        }
                    }
                    self.arrived.notified().await;
                }
            };
            match tokio::time::timeout(WAIT, waiting).await {
                Ok(quotes) => quotes,
                Err(_) => panic!("fewer than {n} quotes: {:?}", self.quotes.lock().unwrap()),
            }
        }
    }

    /// Every text message a server read: (connection, text).
    type Seen = Arc<Mutex<Vec<(usize, String)>>>;

    /// One connection to the test server, speaking as the vendor.
    struct Peer {
        n: usize,
        ws: WebSocketStream<TcpStream>,
        seen: Seen,
    }

    impl Peer {
        async fn send(&mut self, text: &str) {
            let _ = self.ws.send(Message::text(text)).await;
        }

        /// The next text message, or `None` once the client is gone.
        async fn recv(&mut self) -> Option<String> {
            while let Some(Ok(message)) = self.ws.next().await {
                match message {
                    Message::Text(text) => {
                        self.seen.lock().unwrap().push((self.n, text.to_string()));
                        return Some(text.to_string());
                    }
                    Message::Close(_) => return None,
                    _ => {}
                }
            }
            None
        }

        async fn recv_json(&mut self) -> serde_json::Value {
            let text = self.recv().await.unwrap_or_default();
            serde_json::from_str(&text).unwrap_or_default()
        }

        /// Reads (answering pings) until the client closes.
        async fn until_closed(mut self) {
            while self.recv().await.is_some() {}
        }
    }

    struct Server {
        url: String,
        seen: Seen,
        connections: Arc<AtomicUsize>,
    }

    impl Server {
        fn seen(&self) -> Vec<(usize, serde_json::Value)> {
            let seen = self.seen.lock().unwrap();
            seen.iter().map(|(n, text)| (*n, serde_json::from_str(text).unwrap())).collect()
        }
    }

    /// A vendor on 127.0.0.1: each connection is handed to `script`, numbered from 0.
    async fn serve<F, Fut>(script: F) -> Server
    where
        F: Fn(Peer) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/stocks", listener.local_addr().unwrap());
        let seen = Seen::default();
        let connections = Arc::new(AtomicUsize::new(0));
        let (s, c) = (seen.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let n = c.fetch_add(1, Ordering::SeqCst);
                if let Ok(ws) = tokio_tungstenite::accept_async(tcp).await {
                    tokio::spawn(script(Peer { n, ws, seen: s.clone() }));
                }
            }
        });
        Server { url, seen, connections }
    }

    /// Polygon's side of connecting: the greeting, the key checked, the subscription
    /// confirmed. `false` where the key was refused.
    async fn polygon_handshake(peer: &mut Peer) -> bool {
        peer.send(r#"[{"ev":"status","status":"connected","message":"Connected Successfully"}]"#).await;
        let auth = peer.recv_json().await;
        if auth["action"] != "auth" || auth["params"] != KEY {
            peer.send(r#"[{"ev":"status","status":"auth_failed","message":"authentication failed"}]"#).await;
            return false;
        }
        peer.send(r#"[{"ev":"status","status":"auth_success","message":"authenticated"}]"#).await;
        let subscribe = peer.recv_json().await;
        let params = subscribe["params"].as_str().unwrap_or_default().to_owned();
        peer.send(&format!(r#"[{{"ev":"status","status":"success","message":"subscribed to: {params}"}}]"#)).await;
        true
    }

    fn config(protocol: Protocol, url: &str, symbols: &[&str]) -> StreamConfig {
        let (key, secret) = match protocol {
            Protocol::Polygon => (KEY, None),
            Protocol::Alpaca => (KEY_ID, Some(ApiKey::new(SECRET))),
        };
        StreamConfig {
            key: Some(ApiKey::new(key)),
            secret,
            symbols: symbols.iter().map(|s| s.to_string()).collect(),
            backoff: Backoff {
                initial: Duration::from_millis(10),
                max: Duration::from_millis(40),
                multiplier: 2.0,
                jitter: 0.5,
            },
            ..StreamConfig::new(format!("{}-test", protocol.as_str()), protocol, url)
        }
    }

    /// A stream running in a task, with its stop signal.
    struct Live {
        stream: Arc<QuoteStream>,
        sink: Arc<Collect>,
        stop: watch::Sender<bool>,
        task: tokio::task::JoinHandle<Result<(), StreamError>>,
    }

    fn start(config: StreamConfig) -> Live {
        let stream = Arc::new(QuoteStream::new(config));
        let sink = Arc::new(Collect::default());
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn({
            let (stream, sink) = (stream.clone(), sink.clone());
            async move { stream.run(sink, stopped).await }
        });
        Live { stream, sink, stop, task }
    }

    impl Live {
        /// What `run` returned, stopped or not.
        async fn finished(self) -> Result<(), StreamError> {
            let _ = self.stop.send(true);
            tokio::time::timeout(WAIT, self.task).await.expect("run did not return").unwrap()
        }
    }

    const POLYGON_FIRST: &str = r#"[{"ev":"Q","sym":"AAPL","bx":4,"bp":114.125,"bs":100,"ax":7,"ap":114.128,"as":160,"c":0,"t":1536036818784,"q":50385480,"z":3},
        {"ev":"T","sym":"MSFT","x":4,"i":"12345","z":3,"p":114.125,"s":100,"c":[0,12],"t":1536036818784,"q":3681328}]"#;
    const POLYGON_SECOND: &str =
        r#"[{"ev":"T","sym":"AAPL","x":4,"i":"12346","z":3,"p":114.13,"s":25,"c":[0],"t":1536036819001,"q":3681329}]"#;

    #[tokio::test]
    async fn polygon_reconnects_after_a_drop_and_subscribes_again() {
        let server = serve(|mut peer: Peer| async move {
            if !polygon_handshake(&mut peer).await {
                return;
            }
            if peer.n == 0 {
                peer.send(POLYGON_FIRST).await;
                // Dropped mid-stream: no close frame.
            } else {
                peer.send(POLYGON_SECOND).await;
                peer.until_closed().await;
            }
        })
        .await;
        let running = start(config(Protocol::Polygon, &server.url, &["aapl", "MSFT"]));
        let quotes = running.sink.wait_for(3).await;
        let source = "polygon-test";
        assert_eq!(
            quotes,
            vec![
                quote(source, "AAPL", "2018-09-04T04:53:38.784Z", [None, Some("114.125"), Some("114.128"), None]),
                quote(source, "MSFT", "2018-09-04T04:53:38.784Z", [Some("114.125"), None, None, Some("100")]),
                quote(source, "AAPL", "2018-09-04T04:53:39.001Z", [Some("114.13"), None, None, Some("25")]),
            ]
        );
        assert_eq!(*running.sink.batches.lock().unwrap(), [2, 1]);
        let stats = running.stream.stats();
        assert!(stats.connected);
        assert_eq!((stats.connects, stats.reconnects, stats.quotes, stats.malformed), (2, 1, 3, 0));
        assert!(stats.last_error.is_some());

        let stream = running.stream.clone();
        assert_eq!(running.finished().await, Ok(()));
        assert!(!stream.stats().connected);
        let auth = serde_json::json!({"action": "auth", "params": KEY});
        let subscribe = serde_json::json!({"action": "subscribe", "params": "Q.AAPL,T.AAPL,Q.MSFT,T.MSFT"});
        assert_eq!(server.seen(), vec![(0, auth.clone()), (0, subscribe.clone()), (1, auth), (1, subscribe)]);
    }

    #[tokio::test]
    async fn symbols_added_while_running_are_sent_at_once_and_after_a_reconnect() {
        let server = serve(|mut peer: Peer| async move {
            if !polygon_handshake(&mut peer).await {
                return;
            }
            if peer.n == 0 {
                // The subscription the client adds while connected, then a drop.
                peer.recv().await;
                peer.send(r#"[{"ev":"Q","sym":"NVDA","bp":1.5,"ap":1.75,"t":1000}]"#).await;
            } else {
                peer.send(r#"[{"ev":"Q","sym":"NVDA","bp":2,"ap":2.25,"t":2000}]"#).await;
                peer.until_closed().await;
            }
        })
        .await;
        let running = start(config(Protocol::Polygon, &server.url, &["AAPL"]));
        // Wait until the client has read the subscription's confirmation (its third frame),
        // so the new symbol goes out by itself.
        tokio::time::timeout(WAIT, async {
            while running.stream.stats().frames < 3 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .unwrap();
        running.stream.subscribe(&[" nvda ".to_owned(), "AAPL".to_owned()]);
        let quotes = running.sink.wait_for(2).await;
        assert_eq!((quotes[0].bid, quotes[1].ask), (Some(d("1.5")), Some(d("2.25"))));
        assert_eq!(running.stream.symbols(), ["AAPL", "NVDA"]);
        assert_eq!(running.finished().await, Ok(()));

        let subscribes: Vec<(usize, serde_json::Value)> =
            server.seen().into_iter().filter(|(_, m)| m["action"] == "subscribe").collect();
        let params = |p: &str| serde_json::json!({"action": "subscribe", "params": p});
        assert_eq!(
            subscribes,
            vec![
                (0, params("Q.AAPL,T.AAPL")),
                (0, params("Q.NVDA,T.NVDA")),
                (1, params("Q.AAPL,T.AAPL,Q.NVDA,T.NVDA"))
            ]
        );
    }

    #[tokio::test]
    async fn malformed_frames_are_counted_and_the_stream_goes_on() {
        let server = serve(|mut peer: Peer| async move {
            if polygon_handshake(&mut peer).await {
                peer.send("this is not json").await;
                peer.send(
                    r#"[{"ev":"Q","sym":"AAPL","bp":"x","ap":1,"t":1},{"ev":"T","sym":"AAPL","p":3.5,"s":2,"t":1000}]"#,
                )
                .await;
                peer.send(r#"[{"ev":"XQ","pair":"BTC-USD"}]"#).await;
                peer.send(r#"[{"ev":"T","sym":"AAPL","p":3.75,"t":2000}]"#).await;
                peer.until_closed().await;
            }
        })
        .await;
        let running = start(config(Protocol::Polygon, &server.url, &["AAPL"]));
        let quotes = running.sink.wait_for(2).await;
        assert_eq!(quotes.iter().map(|q| q.last).collect::<Vec<_>>(), [Some(d("3.5")), Some(d("3.75"))]);
        let stats = running.stream.stats();
        assert_eq!(
            (stats.connects, stats.reconnects, stats.frames, stats.quotes, stats.malformed, stats.skipped),
            (1, 0, 7, 2, 2, 1)
        );
        assert!(stats.connected);
        assert_eq!(running.finished().await, Ok(()));
    }

    #[tokio::test]
    async fn a_refused_polygon_key_ends_the_run_after_one_connection() {
        let server = serve(|mut peer: Peer| async move {
            polygon_handshake(&mut peer).await;
            peer.until_closed().await;
        })
        .await;
        let config =
            StreamConfig { key: Some(ApiKey::new("wrong")), ..config(Protocol::Polygon, &server.url, &["AAPL"]) };
        let running = start(config);
        let result = tokio::time::timeout(WAIT, running.task).await.unwrap().unwrap();
        assert_eq!(
            result,
            Err(StreamError::Unauthorized {
                stream: "polygon-test".to_owned(),
                message: "authentication failed".to_owned()
            })
        );
        assert_eq!(server.connections.load(Ordering::SeqCst), 1);
        assert_eq!(running.stream.stats().connects, 1);
    }

    #[tokio::test]
    async fn alpaca_authenticates_with_key_and_secret_and_maps_quotes_trades_and_bars() {
        let server = serve(|mut peer: Peer| async move {
            peer.send(r#"[{"T":"success","msg":"connected"}]"#).await;
            let auth = peer.recv_json().await;
            if auth["key"] != KEY_ID || auth["secret"] != SECRET {
                peer.send(r#"[{"T":"error","code":402,"msg":"auth failed"}]"#).await;
                return;
            }
            peer.send(r#"[{"T":"success","msg":"authenticated"}]"#).await;
            let sub = peer.recv_json().await;
            peer.send(&format!(
                r#"[{{"T":"subscription","trades":{},"quotes":{},"bars":{}}}]"#,
                sub["trades"], sub["quotes"], sub["bars"]
            ))
            .await;
            peer.send(
                r#"[{"T":"q","S":"AMD","bx":"U","bp":87.66,"bs":1,"ax":"Q","ap":87.68,"as":4,"t":"2021-02-22T15:51:45.335689322Z","c":["R"],"z":"C"},
                {"T":"t","S":"AAPL","i":96921,"x":"D","p":126.55,"s":1,"t":"2021-02-22T15:51:44.208Z","c":["@","I"],"z":"C"}]"#,
            )
            .await;
            peer.send(r#"[{"T":"b","S":"SPY","o":388.985,"h":389.13,"l":388.975,"c":389.12,"v":49378,"t":"2021-02-22T19:15:00Z"}]"#)
                .await;
            peer.until_closed().await;
        })
        .await;
        let mut config = config(Protocol::Alpaca, &server.url, &["AAPL", "amd", "SPY"]);
        config.channels.bars = true;
        let running = start(config);
        let quotes = running.sink.wait_for(3).await;
        let source = "alpaca-test";
        assert_eq!(
            quotes,
            vec![
                quote(source, "AMD", "2021-02-22T15:51:45.335689322Z", [None, Some("87.66"), Some("87.68"), None]),
                quote(source, "AAPL", "2021-02-22T15:51:44.208Z", [Some("126.55"), None, None, Some("1")]),
                quote(source, "SPY", "2021-02-22T19:16:00Z", [Some("389.12"), None, None, None]),
            ]
        );
        assert_eq!(*running.sink.batches.lock().unwrap(), [2, 1]);
        assert_eq!(running.finished().await, Ok(()));
        let all = serde_json::json!(["AAPL", "AMD", "SPY"]);
        assert_eq!(
            server.seen(),
            vec![
                (0, serde_json::json!({"action": "auth", "key": KEY_ID, "secret": SECRET})),
                (0, serde_json::json!({"action": "subscribe", "trades": all, "quotes": all, "bars": all})),
            ]
        );
    }

    #[tokio::test]
    async fn a_refused_alpaca_key_ends_the_run_after_one_connection() {
        let server = serve(|mut peer: Peer| async move {
            peer.send(r#"[{"T":"success","msg":"connected"}]"#).await;
            peer.recv().await;
            peer.send(r#"[{"T":"error","code":402,"msg":"auth failed"}]"#).await;
            // Alpaca closes the connection after refusing.
        })
        .await;
        let running = start(config(Protocol::Alpaca, &server.url, &["AAPL"]));
        let result = tokio::time::timeout(WAIT, running.task).await.unwrap().unwrap();
        assert_eq!(
            result,
            Err(StreamError::Unauthorized { stream: "alpaca-test".to_owned(), message: "402 auth failed".to_owned() })
        );
        assert_eq!(server.connections.load(Ordering::SeqCst), 1);
        let stats = running.stream.stats();
        assert_eq!((stats.connects, stats.reconnects, stats.connected), (1, 0, false));
        assert_eq!(stats.last_error.as_deref(), Some("alpaca-test: the key was refused: 402 auth failed"));
        let seen = server.seen();
        assert_eq!(seen, vec![(0, serde_json::json!({"action": "auth", "key": KEY_ID, "secret": SECRET}))]);
    }

    #[tokio::test]
    async fn a_silent_server_is_pinged_then_given_up() {
        let server = serve(|mut peer: Peer| async move {
            if polygon_handshake(&mut peer).await {
                if peer.n == 0 {
                    // Neither reads (so never answers the ping) nor writes.
                    tokio::time::sleep(Duration::from_secs(30)).await;
                } else {
                    peer.send(r#"[{"ev":"T","sym":"AAPL","p":1,"t":1000}]"#).await;
                    peer.until_closed().await;
                }
            }
        })
        .await;
        let config =
            StreamConfig { keepalive: Duration::from_millis(50), ..config(Protocol::Polygon, &server.url, &["AAPL"]) };
        let running = start(config);
        running.sink.wait_for(1).await;
        let stats = running.stream.stats();
        assert_eq!((stats.connects, stats.reconnects), (2, 1));
        assert!(stats.last_error.unwrap().starts_with("no message from the server"));
        assert_eq!(running.finished().await, Ok(()));
    }

    #[tokio::test]
    async fn runs_that_cannot_work_fail_before_connecting() {
        let sink: Arc<dyn QuoteSink> = Arc::new(Collect::default());
        let (_stop, stopped) = watch::channel(false);
        let no_key = QuoteStream::new(StreamConfig::new("p", Protocol::Polygon, "wss://example.invalid/stocks"));
        assert!(matches!(no_key.run(sink.clone(), stopped.clone()).await, Err(StreamError::Unauthorized { .. })));
        let no_secret = StreamConfig {
            key: Some(ApiKey::new(KEY_ID)),
            ..StreamConfig::new("a", Protocol::Alpaca, "wss://example.invalid/v2/iex")
        };
        let no_secret = QuoteStream::new(no_secret);
        assert!(matches!(no_secret.run(sink.clone(), stopped.clone()).await, Err(StreamError::Unauthorized { .. })));
        let http = QuoteStream::new(config(Protocol::Polygon, "https://socket.polygon.io/stocks?apiKey=x", &[]));
        let err = http.run(sink, stopped).await.unwrap_err();
        assert_eq!(err.to_string(), "polygon-test: https://socket.polygon.io/stocks is not a ws:// or wss:// URL");
        assert_eq!(http.stats().connects, 0);
    }

    #[tokio::test]
    async fn a_stop_during_the_backoff_ends_the_run() {
        // Nothing listens: every connection fails, and the stop comes while waiting.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/stocks", listener.local_addr().unwrap());
        drop(listener);
        let running = start(config(Protocol::Polygon, &url, &["AAPL"]));
        tokio::time::timeout(WAIT, async {
            while running.stream.stats().reconnects < 2 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .unwrap();
        let stream = running.stream.clone();
        assert_eq!(running.finished().await, Ok(()));
        let stats = stream.stats();
        assert_eq!(stats.connects, 0);
        assert!(stats.last_error.unwrap().starts_with("connecting to ws://127.0.0.1"));
    }
}
