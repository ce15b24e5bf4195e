//! Rules for text people type that Keyport stores or shows to others:
//! usernames, names, and what the audit log keeps of them. Shared by the
//! forms (instant feedback) and the server (the rule).

/// The longest username (an e-mail address at most, RFC 5321).
pub const USERNAME_MAX: usize = 254;
/// The longest password checked; longer ones are refused before hashing.
pub const PASSWORD_MAX: usize = 1024;
/// The longest text an audit field keeps (longer is cut, with `…`).
pub const AUDIT_FIELD_MAX: usize = 254;

/// Characters that draw nothing or reorder what follows: zero-width
/// characters, bidi embeddings/overrides (U+202A–U+202E) and isolates
/// (U+2066–U+2069), marks (U+200E, U+200F, U+061C), the word joiner and
/// friends, the BOM, and soft hyphens. They make "Primary\u{200b}" look
/// like "Primary" and can reverse how a log line reads.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

/// Whether `s` has a control or invisible character (see [`is_invisible`]).
pub fn has_hidden_characters(s: &str) -> bool {
    s.chars().any(|c| c.is_control() || is_invisible(c))
}

/// A name shown to other admins (token, organisation): trimmed, 1 to `max`
/// characters, nothing hidden. The error is the message for the form.
pub fn check_name(name: &str, max: usize, what: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("Enter a name for the {what}."));
    }
    if name.chars().count() > max {
        return Err(format!("The name must be at most {max} characters."));
    }
    if has_hidden_characters(name) {
        return Err(
            "The name cannot contain control or invisible characters (zero-width, bidi).".into(),
        );
    }
    Ok(name.to_owned())
}

/// A username as typed at sign-in: trimmed and lowercased; `None` when it
/// cannot be anyone's (too long, or with hidden characters).
pub fn normalise_username(username: &str) -> Option<String> {
    let username = username.trim().to_lowercase();
    (username.chars().count() <= USERNAME_MAX && !has_hidden_characters(&username))
        .then_some(username)
}

/// What the audit log stores of a text: hidden characters replaced by
/// U+FFFD, at most [`AUDIT_FIELD_MAX`] characters.
pub fn for_audit(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(AUDIT_FIELD_MAX)
        .map(|c| {
            if c.is_control() || is_invisible(c) {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect();
    if s.chars().nth(AUDIT_FIELD_MAX).is_some() {
        out.pop();
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alike_names_are_refused() {
        assert_eq!(check_name(" Primary ", 64, "token"), Ok("Primary".into()));
        for bad in [
            "Primary\u{200b}",
            "\u{202e}yramirP",
            "a\u{2066}b",
            "tab\there",
            "\u{feff}bom",
        ] {
            assert!(check_name(bad, 64, "token").is_err(), "{bad:?}");
        }
        assert!(check_name("", 64, "token").is_err());
        assert!(check_name(&"é".repeat(65), 64, "token").is_err());
        assert!(check_name(&"é".repeat(64), 64, "token").is_ok());
    }

    #[test]
    fn usernames_are_bounded() {
        assert_eq!(
            normalise_username(" API@Acme.Example "),
            Some("api@acme.example".into())
        );
        assert_eq!(normalise_username(&"a".repeat(255)), None);
        assert_eq!(normalise_username("api\u{202e}@acme"), None);
    }

    #[test]
    fn audit_text_is_capped_and_visible() {
        assert_eq!(for_audit("a\u{202e}b\nc"), "a\u{FFFD}b\u{FFFD}c");
        let long = for_audit(&"x".repeat(20_000));
        assert_eq!(long.chars().count(), AUDIT_FIELD_MAX);
        assert!(long.ends_with('…'));
        assert_eq!(
            for_audit(&"y".repeat(AUDIT_FIELD_MAX)),
            "y".repeat(AUDIT_FIELD_MAX)
        );
    }
}
