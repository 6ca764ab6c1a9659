//! Vendor numbers read exactly from their text into [`Decimal`]: never through a binary
//! float, so `185.64` is `185.64`.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::{Deserialize, Deserializer, Error as _};
use serde_json::value::RawValue;

/// The exact value of a decimal numeral (`185.64`, `-3`, `+0.5`, `7.0655e+07`, `1E-4`), or
/// `None` for anything else (empty, `NaN`, `null`, too many digits for a `Decimal`).
pub(crate) fn decimal(text: &str) -> Option<Decimal> {
    let text = text.trim();
    let plain = |s: &str| {
        let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
        !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && digits.bytes().filter(|b| *b == b'.').count() <= 1
            && digits.bytes().any(|b| b.is_ascii_digit())
    };
    match text.split_once(['e', 'E']) {
        None if plain(text) => Decimal::from_str_exact(text).ok(),
        Some((mantissa, exponent))
            if plain(mantissa)
                && !exponent.is_empty()
                && exponent.strip_prefix(['-', '+']).unwrap_or(exponent).bytes().all(|b| b.is_ascii_digit()) =>
        {
            Decimal::from_scientific(text).ok()
        }
        _ => None,
    }
}

/// A JSON number (or a string holding one, as some vendors send) read from its text: serde
/// hands over the raw token, never an `f64`. Only for bodies read with `serde_json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Num(pub(crate) Decimal);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d, "a decimal number", |text| {
            decimal(text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text)).map(Num)
        })
    }
}

/// A JSON integer read from its text (epoch seconds, milliseconds, nanoseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Int(pub(crate) i64);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d, "an integer", |text| i64::from_str(text).ok().map(Int))
    }
}

/// A JSON value read by `read` from its raw text (the token as the body wrote it), or the
/// error `{text} is not {what}`.
pub(crate) fn from_text<'de, D: Deserializer<'de>, T>(
    d: D,
    what: &str,
    read: impl FnOnce(&str) -> Option<T>,
) -> Result<T, D::Error> {
    let raw = <&'de RawValue>::deserialize(d)?;
    let text = raw.get();
    read(text).ok_or_else(|| D::Error::custom(format!("{text} is not {what}")))
}

/// Yahoo stores prices as IEEE binary32 and prints them widened to binary64, so 185.64 arrives
/// as `185.63999938964844`. A number whose text is exactly such a widened binary32 is read as
/// the shortest decimal that binary32 rounds to (`185.64`); any other number is read exactly.
/// The floats only test the representation; the value returned is the decimal of a text.
pub(crate) fn from_binary32(text: &str, exact: Decimal) -> Decimal {
    let Ok(single) = text.trim().parse::<f32>() else { return exact };
    if !single.is_finite() {
        return exact;
    }
    // `Display` of a float is its shortest round-trip decimal, never in exponent form.
    if decimal(&f64::from(single).to_string()) != Some(exact) {
        return exact;
    }
    decimal(&single.to_string()).unwrap_or(exact)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn numerals_are_read_exactly() {
        assert_eq!(decimal("185.64"), Some(d("185.64")));
        assert_eq!(decimal(" -0.5 "), Some(d("-0.5")));
        assert_eq!(decimal("7.0655e+07"), Some(d("70655000")));
        assert_eq!(decimal("1E-4"), Some(d("0.0001")));
        assert_eq!(decimal("185.63999938964844"), Some(d("185.63999938964844")));
        for bad in ["", "NaN", "null", "1_000", "1.2.3", "e5", "1e", "0x10", "."] {
            assert_eq!(decimal(bad), None, "{bad}");
        }
    }

    #[test]
    fn json_numbers_and_numeric_strings_deserialize_without_floats() {
        let v: Vec<Option<Num>> = serde_json::from_str(r#"[0.1, "2.50", null, 1e3, 12345678901234567890]"#).unwrap();
        assert_eq!(
            v,
            vec![
                Some(Num(d("0.1"))),
                Some(Num(d("2.50"))),
                None,
                Some(Num(d("1000"))),
                Some(Num(d("12345678901234567890")))
            ]
        );
        assert!(serde_json::from_str::<Num>(r#""abc""#).is_err());
        assert_eq!(serde_json::from_str::<Int>("1704205800").unwrap(), Int(1_704_205_800));
        assert!(serde_json::from_str::<Int>("1.5").is_err());
    }

    #[test]
    fn widened_binary32_prices_read_as_their_shortest_decimal() {
        let read = |s: &str| from_binary32(s, decimal(s).unwrap());
        assert_eq!(read("185.63999938964844"), d("185.64"));
        assert_eq!(read("4107.10009765625"), d("4107.1"));
        // Not a widened binary32: kept exactly.
        assert_eq!(read("185.64"), d("185.64"));
        assert_eq!(read("0.24"), d("0.24"));
        assert_eq!(read("185.881867"), d("185.881867"));
    }
}
