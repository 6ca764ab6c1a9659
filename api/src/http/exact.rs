//! Amounts and quantities in JSON bodies: a decimal string (`"12.50"`) or a JSON number
//! (`12.5`, `1e3`), read from the number's JSON text, never through `f64`, so
//! `0.1` is exactly 0.1 and `123456789012.3456789` keeps every digit.

use std::borrow::Cow;
use std::str::FromStr as _;

use rust_decimal::Decimal;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

/// A decimal as the client wrote it: the text of a JSON string, or a JSON number's text in
/// plain decimal notation (an exponent is applied exactly).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DecimalText(pub String);

/// What a decimal string must look like (the ledger's parser accepts it).
pub const DECIMAL_PATTERN: &str = r"^-?[0-9]{1,15}(\.[0-9]{1,10})?$";

impl<'de> Deserialize<'de> for DecimalText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <Box<RawValue>>::deserialize(d)?;
        let text = raw.get();
        if text.starts_with('"') {
            let s: String = serde_json::from_str(text).map_err(|_| D::Error::custom("not a valid JSON string"))?;
            return Ok(Self(s));
        }
        number(text).map(Self).ok_or_else(|| {
            D::Error::custom(format!("expected a decimal (a string such as \"12.50\", or a number), got {text}"))
        })
    }
}

/// A JSON number's text as a plain decimal (`1e3` → `1000`, `2.50` → `2.50`), exact to 28
/// decimal places (a [`Decimal`]'s precision; digits beyond are rounded half to even, so a
/// number such as `5e-324` reads as 0). Numbers of 10^15 or more are refused.
fn number(text: &str) -> Option<String> {
    let first = text.bytes().next()?;
    if !(first == b'-' || first.is_ascii_digit()) {
        return None;
    }
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.trim_start_matches('+').parse::<i64>().ok()?),
        None => (text, 0),
    };
    let mantissa = Decimal::from_str(mantissa).ok()?;
    let ten = Decimal::TEN;
    let mut value = mantissa;
    if exponent > 0 {
        for _ in 0..exponent.min(30) {
            value = value.checked_mul(ten)?;
        }
    } else if exponent < -60 {
        value = Decimal::ZERO;
    } else {
        for _ in 0..-exponent {
            value = value.checked_div(ten)?;
        }
    }
    if value.abs() >= Decimal::from(1_000_000_000_000_000_i64) {
        return None;
    }
    let value = if exponent == 0 { value } else { value.normalize() };
    Some(value.to_string())
}

impl DecimalText {
    /// The value as a [`Decimal`], naming `field` when it is not one.
    pub fn decimal(&self, field: &str) -> Result<Decimal, String> {
        self.0.trim().parse().map_err(|_| format!("{field}: {:?} is not a decimal number", self.0))
    }
}

impl JsonSchema for DecimalText {
    fn schema_name() -> Cow<'static, str> {
        "Decimal".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A decimal: a string such as \"12.50\" (exact), or a JSON number (read from its text, exactly).",
            "anyOf": [
                { "type": "string", "pattern": DECIMAL_PATTERN },
                { "type": "number", "exclusiveMinimum": -1e15, "exclusiveMaximum": 1e15 },
            ],
        })
    }
}

/// A [`Decimal`] field of a body, accepting strings and numbers exactly (`deserialize_with`).
pub fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    let Some(text) = <Option<DecimalText>>::deserialize(d)? else { return Ok(None) };
    text.0.trim().parse().map(Some).map_err(|_| D::Error::custom(format!("{:?} is not a decimal number", text.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct B {
        q: Option<DecimalText>,
        #[serde(default, deserialize_with = "decimal")]
        p: Option<Decimal>,
    }

    fn read(json: &str) -> Result<B, String> {
        // The way axum's `Json` reads a body.
        let d = &mut serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(d).map_err(|e| format!("{}: {}", e.path(), e.inner()))
    }

    #[test]
    fn numbers_keep_their_digits() {
        let b = read(r#"{"q": 123456789012.3456789, "p": 0.1}"#).unwrap();
        assert_eq!(b.q.unwrap().0, "123456789012.3456789");
        assert_eq!(b.p.unwrap().to_string(), "0.1");
        let b = read(r#"{"q": "12.50", "p": 1e3}"#).unwrap();
        assert_eq!(b.q.unwrap().0, "12.50");
        assert_eq!(b.p.unwrap().to_string(), "1000");
        let b = read(r#"{"q": null}"#).unwrap();
        assert!(b.q.is_none() && b.p.is_none());
        assert_eq!(read(r#"{"q": 2.5E-1}"#).unwrap().q.unwrap().0, "0.25");
        assert_eq!(read(r#"{"q": 8.639317250495921e-169}"#).unwrap().q.unwrap().0, "0");
        assert_eq!(read(r#"{"q": 0.30000000000000004}"#).unwrap().q.unwrap().0, "0.30000000000000004");
        assert!(read(r#"{"q": 1.080522270424165e+278}"#).is_err());
        assert!(read(r#"{"q": 1e15}"#).is_err());
    }

    #[test]
    fn other_values_name_the_field() {
        let e = read(r#"{"q": true}"#).unwrap_err();
        assert!(e.starts_with("q: expected a decimal"), "{e}");
        let e = read(r#"{"p": "x"}"#).unwrap_err();
        assert!(e.starts_with("p: \"x\" is not a decimal"), "{e}");
    }
}
