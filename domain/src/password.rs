//! The password policy (NIST SP 800-63B, section 5.1.1.2: at least 8 characters, no maximum
//! below 64, checked against a list of breached passwords; cairn asks for 12): the rule only.
//! The breached list is data the shell passes in (`commands::security::password` ships it).

use std::collections::HashSet;

/// Shortest accepted password, in characters (NIST SP 800-63B asks for at least 8; we ask 12).
pub const MIN_LENGTH: usize = 12;
/// Longest accepted password, in characters (bounds the hashing input).
pub const MAX_LENGTH: usize = 128;

/// Checks `password` for the user with `email` against the policy; `breached` holds the known
/// breached passwords, lowercased. `Err` says what is wrong.
pub fn policy(password: &str, email: &str, breached: &HashSet<&str>) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_LENGTH {
        return Err(format!("must be at least {MIN_LENGTH} characters"));
    }
    if chars > MAX_LENGTH {
        return Err(format!("must be at most {MAX_LENGTH} characters"));
    }
    let lower = password.to_lowercase();
    if breached.contains(lower.as_str()) {
        return Err("appears in a list of breached passwords; choose another".into());
    }
    let local = email.split('@').next().unwrap_or("").to_lowercase();
    if local.len() >= 4 && lower.contains(&local) {
        return Err("must not contain your email address".into());
    }
    if password.chars().all(|c| c == password.chars().next().unwrap_or(' ')) {
        return Err("must not repeat one character".into());
    }
    Ok(())
}
