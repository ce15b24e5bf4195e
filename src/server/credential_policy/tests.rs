use super::*;
use crate::server::DAY_MS;

const NOW: i64 = 1_800_000_000_000;

fn form(expires_at: Option<i64>, ip_allowlist: &str, daily_cap: Option<i64>) -> CredentialPolicy {
    CredentialPolicy {
        expires_at,
        ip_allowlist: ip_allowlist.to_owned(),
        daily_cap,
    }
}

fn field(result: Result<StoredPolicy, AppError>, name: &str) -> String {
    result
        .err()
        .and_then(|e| e.field(name).map(str::to_owned))
        .unwrap_or_else(|| panic!("no error for {name}"))
}

#[test]
fn allowlists_are_normalised_and_bounded() {
    let stored = validate(
        &form(
            None,
            " 10.1.2.3/8, 127.0.0.1\n2001:DB8::1/32 10.0.0.0/8 ",
            None,
        ),
        CredentialKind::ApiKey,
        None,
        NOW,
    )
    .unwrap();
    assert_eq!(stored.ip_allowlist, "10.0.0.0/8,127.0.0.1/32,2001:db8::/32");
    let empty = validate(&form(None, " \n ", None), CredentialKind::ApiKey, None, NOW).unwrap();
    assert_eq!(empty.ip_allowlist, "");

    let many = (0..33)
        .map(|i| format!("10.0.0.{i}"))
        .collect::<Vec<_>>()
        .join(",");
    assert!(
        field(
            validate(&form(None, &many, None), CredentialKind::ApiKey, None, NOW),
            "ip_allowlist"
        )
        .contains("At most 32")
    );
    let huge = "1".repeat(1_000_000);
    assert!(
        field(
            validate(&form(None, &huge, None), CredentialKind::ApiKey, None, NOW),
            "ip_allowlist"
        )
        .contains("too long")
    );
    for bad in [
        "10.0.0.0/33",
        "10.0.0.0/8\u{200b}",
        "\u{202e}1.2.3.4",
        "localhost",
        "10.0.0/8",
        "1.2.3.4/-1",
    ] {
        let message = field(
            validate(&form(None, bad, None), CredentialKind::ApiKey, None, NOW),
            "ip_allowlist",
        );
        assert!(message.starts_with("Entry 1"), "{bad:?}: {message}");
    }
}

#[test]
fn expiry_must_be_in_the_next_two_years() {
    for bad in [NOW - 1, NOW, NOW + 731 * DAY_MS, i64::MAX, i64::MIN] {
        field(
            validate(
                &form(Some(bad), "", None),
                CredentialKind::SandboxToken,
                None,
                NOW,
            ),
            "expires_at",
        );
    }
    // The stored expiry sent back unchanged is kept, even when passed.
    let kept = validate(
        &form(Some(NOW - 1), "", None),
        CredentialKind::ApiKey,
        Some(NOW - 1),
        NOW,
    );
    assert_eq!(kept.unwrap().expires_at, Some(NOW - 1));
    for good in [NOW + 1, NOW + 730 * DAY_MS] {
        assert!(
            validate(
                &form(Some(good), "", None),
                CredentialKind::SandboxToken,
                None,
                NOW
            )
            .is_ok()
        );
    }
}

#[test]
fn a_daily_cap_is_for_sandbox_tokens_and_positive() {
    for bad in [0, -1, ALLOWANCE_MAX + 1, i64::MIN] {
        field(
            validate(
                &form(None, "", Some(bad)),
                CredentialKind::SandboxToken,
                None,
                NOW,
            ),
            "daily_cap",
        );
    }
    field(
        validate(&form(None, "", Some(5)), CredentialKind::ApiKey, None, NOW),
        "daily_cap",
    );
    assert_eq!(
        validate(
            &form(None, "", Some(5)),
            CredentialKind::SandboxToken,
            None,
            NOW
        )
        .unwrap()
        .daily_cap,
        Some(5)
    );
}

#[test]
fn every_wrong_field_is_named_at_once() {
    let Err(AppError::Validation { fields, .. }) = validate(
        &form(Some(NOW - 1), "nope", Some(0)),
        CredentialKind::SandboxToken,
        None,
        NOW,
    ) else {
        panic!("not a validation error");
    };
    assert_eq!(fields.len(), 3, "{fields:?}");
}

#[test]
fn the_address_then_the_expiry() {
    let list = "127.0.0.1/32,2001:db8::/32";
    assert_eq!(check(None, list, "127.0.0.1", NOW), Ok(()));
    assert_eq!(check(None, list, "2001:db8::7", NOW), Ok(()));
    assert_eq!(
        check(None, list, "127.0.0.2", NOW),
        Err(Denied::IpNotAllowed)
    );
    assert_eq!(check(None, list, "unknown", NOW), Err(Denied::IpNotAllowed));
    assert_eq!(check(None, "", "unknown", NOW), Ok(()));
    assert_eq!(check(Some(NOW), "", "127.0.0.1", NOW), Err(Denied::Expired));
    assert_eq!(check(Some(NOW + 1), "", "127.0.0.1", NOW), Ok(()));
    assert_eq!(
        check(Some(NOW), list, "127.0.0.2", NOW),
        Err(Denied::IpNotAllowed)
    );
    // A stored block that no longer parses matches nothing.
    assert_eq!(
        check(None, "garbage", "127.0.0.1", NOW),
        Err(Denied::IpNotAllowed)
    );
}
