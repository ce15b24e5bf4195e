//! The sandbox token forms' restrictions: every wrong value is a field
//! error and changes nothing (not even the name sent with it); other
//! organisations' tokens and view-only roles are refused.

use crate::common::{TestApp, assert_status};
use axum::http::StatusCode;
use keyport::error::AppError;
use keyport::model::{SandboxPage, SandboxTokenView};
use keyport::server::{DAY_MS, now_ms};

async fn tokens(app: &TestApp, cookie: &str) -> Vec<SandboxTokenView> {
    app.call(Some(cookie), "sandbox-tokens/list", &[])
        .await
        .parse::<SandboxPage>()
        .tokens
}

/// Wrong restrictions, each with the field its error must name.
fn bad_policies() -> Vec<(Vec<(&'static str, String)>, &'static str)> {
    let past = (now_ms() - DAY_MS).to_string();
    let far = (now_ms() + 731 * DAY_MS).to_string();
    let many = (0..33)
        .map(|i| format!("192.0.2.{i}"))
        .collect::<Vec<_>>()
        .join(",");
    vec![
        (vec![("policy[expires_at]", past)], "expires_at"),
        (vec![("policy[expires_at]", far)], "expires_at"),
        (
            vec![("policy[ip_allowlist]", "not-an-address".into())],
            "ip_allowlist",
        ),
        (
            vec![("policy[ip_allowlist]", "127.0.0.1/40".into())],
            "ip_allowlist",
        ),
        (
            vec![(
                "policy[ip_allowlist]",
                "127.0.0.1,\u{202e}10.0.0.0/8".into(),
            )],
            "ip_allowlist",
        ),
        (
            vec![("policy[ip_allowlist]", "\u{feff}::1".into())],
            "ip_allowlist",
        ),
        (vec![("policy[ip_allowlist]", many)], "ip_allowlist"),
        (
            vec![("policy[ip_allowlist]", "9".repeat(200_000))],
            "ip_allowlist",
        ),
        (vec![("policy[daily_cap]", "0".into())], "daily_cap"),
        (vec![("policy[daily_cap]", "-5".into())], "daily_cap"),
        (vec![("policy[daily_cap]", "1000001".into())], "daily_cap"),
    ]
}

#[tokio::test]
async fn wrong_restrictions_add_and_change_nothing() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("api@acme.example").await;
    let before = tokens(&app, &cookie).await;
    let id = before[0].id.to_string();
    for (policy, field) in bad_policies() {
        let policy: Vec<(&str, &str)> = policy.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut add = vec![("name", "Should not exist")];
        add.extend_from_slice(&policy);
        let reply = app.call(Some(&cookie), "sandbox-tokens/add", &add).await;
        assert_status(&reply, StatusCode::BAD_REQUEST, field);
        let error: AppError = reply.parse();
        assert!(error.field(field).is_some(), "{field}: {error:?}");

        let mut edit = vec![("id", id.as_str()), ("name", "Renamed anyway")];
        edit.extend_from_slice(&policy);
        let reply = app
            .call(Some(&cookie), "sandbox-tokens/rename", &edit)
            .await;
        assert_status(&reply, StatusCode::BAD_REQUEST, field);
        assert!(reply.parse::<AppError>().field(field).is_some(), "{field}");
    }
    assert_eq!(
        tokens(&app, &cookie).await,
        before,
        "nothing added, renamed or restricted"
    );
}

#[tokio::test]
async fn restrictions_are_set_through_the_forms_and_shown() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("api@acme.example").await;
    let id = tokens(&app, &cookie).await[0].id.to_string();
    let at = (now_ms() + 5 * DAY_MS).to_string();
    let reply = app
        .call(
            Some(&cookie),
            "sandbox-tokens/rename",
            &[
                ("id", &id),
                ("name", "Primary"),
                ("policy[expires_at]", &at),
                ("policy[ip_allowlist]", "2001:DB8::1/32 192.0.2.9"),
                ("policy[daily_cap]", "25"),
            ],
        )
        .await;
    assert_status(&reply, StatusCode::OK, "edit with restrictions");
    // The audit entry says what was set.
    let entry = &app.state.store.recent_audit("acme", 1).await.unwrap()[0];
    assert!(
        entry
            .resource
            .contains("allowlist 2001:db8::/32, 192.0.2.9/32")
            && entry.resource.contains("daily cap 25"),
        "{entry:?}"
    );
    // Every role that sees the page sees them.
    let readonly = app.sign_in("readonly@acme.example").await;
    let row = tokens(&app, &readonly)
        .await
        .into_iter()
        .find(|t| t.id.to_string() == id)
        .unwrap();
    assert_eq!(row.policy.ip_allowlist, ["2001:db8::/32", "192.0.2.9/32"]);
    assert_eq!(row.policy.daily_cap, Some(25));
    assert_eq!(
        row.policy.expiry.warning().as_deref(),
        Some("Expires in 5 days")
    );

    // An empty form clears them.
    let reply = app
        .call(
            Some(&cookie),
            "sandbox-tokens/rename",
            &[
                ("id", &id),
                ("name", "Primary"),
                ("policy[ip_allowlist]", ""),
            ],
        )
        .await;
    assert_status(&reply, StatusCode::OK, "clear");
    let row = tokens(&app, &cookie)
        .await
        .into_iter()
        .find(|t| t.id.to_string() == id)
        .unwrap();
    assert_eq!(row.policy, Default::default());
}

#[tokio::test]
async fn other_organisations_and_view_only_roles_are_refused() {
    let app = TestApp::new().await;
    let acme = app.sign_in("api@acme.example").await;
    let acme_id = tokens(&app, &acme).await[0].id.to_string();
    let before = tokens(&app, &acme).await;
    // globex's API Admin cannot restrict (or loosen) acme's token by its id.
    let globex = app.sign_in("api@globex.example").await;
    let reply = app
        .call(
            Some(&globex),
            "sandbox-tokens/rename",
            &[
                ("id", &acme_id),
                ("name", "Taken over"),
                ("policy[ip_allowlist]", "0.0.0.0/0"),
            ],
        )
        .await;
    assert!(
        matches!(reply.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
        "{}: {}",
        reply.status,
        reply.text
    );
    for user in ["readonly@acme.example", "connector@acme.example"] {
        let cookie = app.sign_in(user).await;
        let reply = app
            .call(
                Some(&cookie),
                "sandbox-tokens/rename",
                &[
                    ("id", &acme_id),
                    ("name", "Primary"),
                    ("policy[daily_cap]", "1"),
                ],
            )
            .await;
        assert_status(&reply, StatusCode::FORBIDDEN, user);
    }
    assert_eq!(tokens(&app, &acme).await, before);
}
