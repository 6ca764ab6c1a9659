//! Input parsers, each parsing the whole input before anything is recorded so that a bad line
//! refuses all of it with `line N: field: problem`: the ledger CSV and a ledger row given as
//! typed fields ([`ledger`]), the market data CSV ([`market`]), brokers' exports ([`broker`]: which broker, and what the formats share; [`schwab`], [`fidelity`], [`vanguard`], [`ibkr`], [`ofx`]), and what every CSV shares
//! (headers, editor line numbers, tickers: [`csv`], also read by the workers' market data
//! adapters).

pub mod broker;
pub mod csv;
pub mod fidelity;
pub mod ibkr;
pub mod ledger;
pub mod market;
pub mod ofx;
pub mod positions;
pub mod schwab;
pub mod vanguard;
