//! Time-based one-time passwords (RFC 6238 over RFC 4226): HMAC-SHA-1, 30-second steps,
//! 6 digits, accepting the step before and after the current one for clock drift. Which step
//! matched is returned so the domain can refuse a code used before.

use hmac::{Hmac, Mac};

/// Seconds per step.
pub const STEP_SECONDS: u64 = 30;
/// Digits in a code.
pub const DIGITS: u32 = 6;

/// The code for time step `step` (RFC 4226 dynamic truncation), `digits` long.
pub fn code(secret: &[u8], step: u64, digits: u32) -> u32 {
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret).expect("any key length");
    mac.update(&step.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = usize::from(h[19] & 0x0f);
    let binary = u32::from_be_bytes([h[offset] & 0x7f, h[offset + 1], h[offset + 2], h[offset + 3]]);
    binary % 10u32.pow(digits)
}

/// The step (of the current one and its two neighbours) whose code `candidate` is, if any.
pub fn verify(secret: &[u8], candidate: &str, unix_seconds: u64) -> Option<u64> {
    let candidate = candidate.trim();
    if candidate.len() != DIGITS as usize || !candidate.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let wanted: u32 = candidate.parse().ok()?;
    let now = unix_seconds / STEP_SECONDS;
    [now.saturating_sub(1), now, now + 1].into_iter().find(|&step| code(secret, step, DIGITS) == wanted)
}

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding, as authenticator apps expect.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decodes base32 (case-insensitive, padding and spaces ignored); `None` on a bad character.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for c in text.bytes().filter(|c| !matches!(c, b'=' | b' ')) {
        let v = ALPHABET.iter().position(|&a| a == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            out.push((buffer >> (bits - 8)) as u8);
            bits -= 8;
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, the SHA-1 rows (8 digits; the key is "12345678901234567890").
    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, expected) in [
            (59u64, 94_287_082u32),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            assert_eq!(code(secret, time / STEP_SECONDS, 8), expected, "T = {time}");
            assert_eq!(code(secret, time / STEP_SECONDS, 6), expected % 1_000_000, "6 digits at T = {time}");
        }
    }

    #[test]
    fn verify_accepts_one_step_either_side_and_names_the_step() {
        let secret = b"12345678901234567890";
        // 287082 is the code of step 1 (T = 59).
        assert_eq!(verify(secret, "287082", 59), Some(1));
        assert_eq!(verify(secret, "287082", 89), Some(1), "one step later");
        assert_eq!(verify(secret, "287082", 0), Some(1), "one step earlier");
        assert_eq!(verify(secret, "287082", 90), None, "two steps later");
        assert_eq!(verify(secret, "28708", 59), None);
        assert_eq!(verify(secret, "2870821", 59), None);
    }

    #[test]
    fn base32_round_trips_and_matches_rfc_4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32_decode("MZXW6YTBOI").unwrap(), b"foobar");
        assert_eq!(base32_decode("mzxw 6ytb oi======").unwrap(), b"foobar");
        assert_eq!(base32_decode("MZ1"), None);
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(base32_decode(&base32(&bytes)).unwrap(), bytes);
    }
}
