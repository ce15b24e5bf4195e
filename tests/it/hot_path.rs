//! The consumer API's hot path (README, Performance): usage noted in
//! memory never comes back for a replaced secret, a refused call is
//! answered from this process's memory without touching the database, and
//! the day's counts kept beside the submissions stay exact under parallel
//! submissions.

use crate::common::{TestApp, assert_status};
use axum::http::StatusCode;
use keyport::model::{ApiKeyPage, KeyKind, Usage};
use keyport::server::sandbox;
use keyport::server::store::{Credential, Generation, OrgChange};

const FILE: &[u8] = b"%PDF-1.7 fake";

async fn usage(app: &TestApp, cookie: &str) -> Usage {
    let page: ApiKeyPage = app
        .call(Some(cookie), "api-keys/get", &[("kind", "cloud_service")])
        .await
        .parse();
    page.key.expect("a Cloud Service key").usage
}

/// A Cloud Service API session of api@acme (its `JSESSIONID`).
async fn api_session(app: &TestApp) -> String {
    let api = app.sign_in("api@acme.example").await;
    let key: String = app
        .call(Some(&api), "api-keys/reveal", &[("kind", "cloud_service")])
        .await
        .parse();
    app.api_session("acme", &key, "api@acme.example").await
}

#[tokio::test]
async fn use_noted_for_a_replaced_key_is_never_written() {
    let app = TestApp::new().await;
    let org = app.org_id("acme").await;
    let api = app.sign_in("api@acme.example").await;
    let store = &app.state.store;
    let old = store
        .api_key(org, KeyKind::CloudService)
        .await
        .unwrap()
        .expect("acme's key")
        .key_sealed;
    assert_status(
        &app.call(
            Some(&api),
            "api-keys/regenerate",
            &[("kind", "cloud_service")],
        )
        .await,
        StatusCode::OK,
        "regenerate",
    );
    // A call the old key served, noted before the regenerate and written after it.
    let now = keyport::server::now_ms();
    let key = Credential::ApiKey(KeyKind::CloudService);
    store.note_use(org, key, Generation(old), now, "198.51.100.7");
    store.flush_usage().await.unwrap();
    assert_eq!(
        usage(&app, &api).await,
        Usage::default(),
        "nothing came back"
    );

    // The new key's calls are written.
    let new = store
        .api_key(org, KeyKind::CloudService)
        .await
        .unwrap()
        .expect("acme's key")
        .key_sealed;
    store.note_use(org, key, Generation(new), now, "198.51.100.8");
    let used = usage(&app, &api).await;
    assert_eq!((used.calls_1h, used.calls_24h), (1, 1));
    assert!(
        used.last_used_from
            .is_some_and(|ip| ip.contains("198.51.100.8"))
    );
}

#[tokio::test]
async fn a_refusal_is_answered_without_database_work_until_its_window_ends() {
    // Two calls an hour: the sign-in and one status call.
    let app = TestApp::with_settings(|s| {
        s.api_rate_per_second = 1_000;
        s.api_rate_per_hour = 2;
    })
    .await;
    let cookie = api_session(&app).await;
    let status = || app.consumer("GET", "/o/acme/api/v1/status", Some(&cookie), None);
    assert_status(
        &status().await,
        StatusCode::OK,
        "the second call of the hour",
    );
    let refused = status().await;
    assert_status(&refused, StatusCode::TOO_MANY_REQUESTS, "the third");
    let wait: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 1, "until the hour ends, not the second: {wait}");

    // The counts are gone from the database; the refusal is remembered.
    let pool = app.state.store.pool();
    sqlx::query("DELETE FROM api_rate_limits")
        .execute(pool)
        .await
        .unwrap();
    for _ in 0..5 {
        assert_status(&status().await, StatusCode::TOO_MANY_REQUESTS, "remembered");
    }
    let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM api_rate_limits")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(rows, 0, "a remembered refusal wrote nothing");
}

/// An app that takes 1,000 submissions a second and `per_hour` an hour,
/// with acme's daily allowance at `allowance`: acme's id and the secret of
/// a new acme token.
async fn submitting(per_hour: i64, allowance: i64) -> (std::sync::Arc<TestApp>, i64, String) {
    let app = TestApp::with_settings(|s| {
        s.submit_rate_per_second = 1_000;
        s.submit_rate_per_hour = per_hour;
    })
    .await;
    let org = app.org_id("acme").await;
    app.state
        .store
        .set_org(org, OrgChange::DailyAllowance(allowance))
        .await
        .unwrap();
    let admin = app.actor("api@acme.example", "acme").await;
    let issued = sandbox::add(&app.state, &admin, "Parallel").await.unwrap();
    let secret = secrecy::ExposeSecret::expose_secret(&issued.secret).to_owned();
    (std::sync::Arc::new(app), org, secret)
}

/// The submissions stored, and those counted in `org`'s day.
async fn stored_and_counted(app: &TestApp, org: i64) -> (i64, i64) {
    let (stored,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sandbox_submissions")
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    let counted = app
        .state
        .store
        .submissions_since(org, keyport::server::day_start(keyport::server::now_ms()))
        .await
        .unwrap();
    (stored, counted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_submissions_take_exactly_the_allowance_and_the_counts_match() {
    let (app, org, secret) = submitting(1_000, 10).await;
    let submissions: Vec<_> = (0..30)
        .map(|_| {
            let app = app.clone();
            let secret = secret.clone();
            tokio::spawn(async move { app.submit("acme", &secret, FILE).await.status })
        })
        .collect();
    let mut accepted = 0;
    for s in submissions {
        match s.await.unwrap() {
            StatusCode::OK => accepted += 1,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::FORBIDDEN => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(accepted, 10);
    assert_eq!(stored_and_counted(&app, org).await, (10, 10));
    let admin = app.actor("api@acme.example", "acme").await;
    let page = sandbox::page(&app.state, &admin).await.unwrap();
    assert_eq!(
        page.disabled_reason,
        Some(keyport::model::DisableReason::ThresholdExceeded)
    );
}

/// Parallel submissions, first with room for all of them (on PostgreSQL
/// their batches are recorded in one statement each), then with room for
/// some: every accepted one is stored once and counted once, in the day and
/// in the rate window, and those refused leave no trace.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_submissions_are_stored_and_counted_once_each() {
    let (app, org, secret) = submitting(25, 1_000).await;
    let round = |n: usize| {
        let calls: Vec<_> = (0..n)
            .map(|_| {
                let (app, secret) = (app.clone(), secret.clone());
                tokio::spawn(async move { app.submit("acme", &secret, FILE).await.status })
            })
            .collect();
        async move {
            let (mut accepted, mut limited) = (0, 0);
            for call in calls {
                match call.await.unwrap() {
                    StatusCode::OK => accepted += 1,
                    StatusCode::TOO_MANY_REQUESTS => limited += 1,
                    other => panic!("unexpected {other}"),
                }
            }
            (accepted, limited)
        }
    };
    assert_eq!(round(20).await, (20, 0), "room for all");
    assert_eq!(round(20).await, (5, 15), "room for five");
    let (hour,): (i64,) =
        sqlx::query_as("SELECT hour_count FROM api_rate_limits WHERE class = 'submit'")
            .fetch_one(app.state.store.pool())
            .await
            .unwrap();
    assert_eq!(stored_and_counted(&app, org).await, (25, 25));
    assert_eq!(hour, 25);
}

/// A deleted token's submissions stay, counted for its organisation but no
/// longer naming it, and go with the organisation. On PostgreSQL the
/// submissions have no foreign keys (the batch statement locks the token
/// once instead): triggers do what the keys' ON DELETE did.
#[tokio::test]
async fn a_deleted_tokens_submissions_stay_without_it_and_go_with_its_organisation() {
    let app = TestApp::new().await;
    let org = app.org_id("acme").await;
    let admin = app.actor("api@acme.example", "acme").await;
    let issued = sandbox::add(&app.state, &admin, "Deleted").await.unwrap();
    let secret = secrecy::ExposeSecret::expose_secret(&issued.secret).to_owned();
    for _ in 0..2 {
        assert_status(
            &app.submit("acme", &secret, FILE).await,
            StatusCode::OK,
            "submit",
        );
    }
    sandbox::delete(&app.state, &admin, issued.view.id)
        .await
        .unwrap();
    let pool = app.state.store.pool();
    let tokens: Vec<(Option<i64>,)> =
        sqlx::query_as("SELECT token_id FROM sandbox_submissions WHERE org_id = $1")
            .bind(org)
            .fetch_all(pool)
            .await
            .unwrap();
    assert_eq!(tokens, vec![(None,), (None,)]);
    sqlx::query("DELETE FROM organisations WHERE id = $1")
        .bind(org)
        .execute(pool)
        .await
        .unwrap();
    let (left,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sandbox_submissions")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

/// 64 clients sharing one session, each calling again as soon as it is
/// answered (as `make bench` does): every call is served and counted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_clients_of_one_session_are_all_served_and_counted() {
    let app = TestApp::with_settings(|s| {
        s.api_rate_per_second = 100_000_000;
        s.api_rate_per_hour = 100_000_000;
    })
    .await;
    let cookie = api_session(&app).await;
    let app = std::sync::Arc::new(app);
    let clients: Vec<_> = (0..64)
        .map(|_| {
            let (app, cookie) = (app.clone(), cookie.clone());
            tokio::spawn(async move {
                let mut served = 0;
                for _ in 0..20 {
                    let reply = app
                        .consumer("GET", "/o/acme/api/v1/status", Some(&cookie), None)
                        .await;
                    assert_status(&reply, StatusCode::OK, "status");
                    served += 1;
                }
                served
            })
        })
        .collect();
    let all = async {
        let mut total = 0;
        for client in clients {
            total += client.await.expect("client");
        }
        total
    };
    let total = tokio::time::timeout(std::time::Duration::from_secs(60), all)
        .await
        .expect("every call answered within a minute");
    assert_eq!(total, 64 * 20);
    let (counted,): (i64,) =
        sqlx::query_as("SELECT hour_count FROM api_rate_limits WHERE class = 'session'")
            .fetch_one(app.state.store.pool())
            .await
            .unwrap();
    assert_eq!(counted, 64 * 20 + 1, "every call counted, and the sign-in");
}

/// Parallel submissions with one token are recorded in shared transactions
/// (`store/sandbox/submissions.rs`): whatever the batches, the counts they
/// leave are those of the submissions accepted — the token's day row, the
/// organisation's, the rate window and the stored rows agree — and nothing
/// passes the token's cap or the hour's limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batched_submissions_leave_exactly_the_counts_of_those_accepted() {
    let app = TestApp::with_settings(|s| {
        s.submit_rate_per_second = 1_000;
        s.submit_rate_per_hour = 12;
    })
    .await;
    let org = app.org_id("acme").await;
    let store = &app.state.store;
    store
        .set_org(org, OrgChange::DailyAllowance(1_000))
        .await
        .unwrap();
    let admin = app.actor("api@acme.example", "acme").await;
    let policy = keyport::model::CredentialPolicy {
        daily_cap: Some(20),
        ..Default::default()
    };
    let capped = sandbox::add_with_policy(&app.state, &admin, "Capped", &policy)
        .await
        .unwrap();
    let free = sandbox::add(&app.state, &admin, "Free").await.unwrap();
    let secret =
        |t: &sandbox::IssuedToken| secrecy::ExposeSecret::expose_secret(&t.secret).to_owned();
    let (capped_secret, free_secret) = (secret(&capped), secret(&free));
    let app = std::sync::Arc::new(app);
    // 8 with the uncapped token use 8 of the hour's 12 places; then 30 with
    // the capped one: 4 places left, so 4 accepted, the rest refused by the
    // rate limit — their cap counts given back.
    let free_burst: Vec<_> = (0..8)
        .map(|_| {
            let (app, secret) = (app.clone(), free_secret.clone());
            tokio::spawn(async move { app.submit("acme", &secret, FILE).await.status })
        })
        .collect();
    for s in free_burst {
        assert_eq!(s.await.unwrap(), StatusCode::OK);
    }
    let capped_burst: Vec<_> = (0..30)
        .map(|_| {
            let (app, secret) = (app.clone(), capped_secret.clone());
            tokio::spawn(async move { app.submit("acme", &secret, FILE).await.status })
        })
        .collect();
    let mut accepted = 0;
    for s in capped_burst {
        match s.await.unwrap() {
            StatusCode::OK => accepted += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(accepted, 4, "the hour's last 4 places");
    let store = &app.state.store;
    let day = keyport::server::day_start(keyport::server::now_ms());
    let row = |token_id: i64| {
        sqlx::query_as::<_, (i64,)>(
            "SELECT used FROM submission_days WHERE org_id = $1 AND token_id = $2 AND day_start = $3",
        )
        .bind(org)
        .bind(token_id)
        .bind(day)
        .fetch_one(store.pool())
    };
    let (token_used,) = row(capped.view.id).await.unwrap();
    let (org_used,) = row(0).await.unwrap();
    let (stored,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sandbox_submissions")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let (hour,): (i64,) =
        sqlx::query_as("SELECT hour_count FROM api_rate_limits WHERE class = 'submit'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(token_used, 4, "the capped token's count: only its accepted");
    assert_eq!((org_used, stored, hour), (12, 12, 12));
}

/// Parallel calls of one session against a small hour take exactly what
/// is left of it, whether each is counted with its session's read (a key
/// without an allowlist) or on its own once the client's address is matched
/// (a key with one); calls refused for their address or session count
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_calls_take_exactly_the_hour_with_or_without_an_allowlist() {
    use crate::credential_policies::{api_login_from, cloud_key, status_from};
    use keyport::server::demo::DEMO_PASSWORD;
    const PER_HOUR: i64 = 30;
    const HERE: &str = "127.0.0.1:5000";
    const ELSEWHERE: &str = "127.0.0.2:5000";
    // Failures are throttled per address: the forged sessions come from a
    // third one, so they cannot stop the calls from HERE.
    const FORGER: &str = "127.0.0.3:5000";
    for allowlist in ["", "127.0.0.1/32"] {
        let app = TestApp::with_settings(|s| {
            s.api_rate_per_second = 100_000_000;
            s.api_rate_per_hour = PER_HOUR;
        })
        .await;
        let admin = app.sign_in("api@acme.example").await;
        let set = app
            .call(
                Some(&admin),
                "api-keys/policy",
                &[
                    ("kind", "cloud_service"),
                    ("policy[ip_allowlist]", allowlist),
                ],
            )
            .await;
        assert_status(&set, StatusCode::OK, "the key's allowlist");
        let key = cloud_key(&app).await;
        let (signed_in, cookie) =
            api_login_from(&app, &key, "api@acme.example", DEMO_PASSWORD, HERE).await;
        assert_status(&signed_in, StatusCode::OK, "sign-in");
        let cookie = cookie.expect("a session");
        let app = std::sync::Arc::new(app);
        let calls: Vec<_> = (0..64)
            .map(|i| {
                let (app, cookie) = (app.clone(), cookie.clone());
                tokio::spawn(async move {
                    let status = match i % 4 {
                        // Another address: refused by the allowlist, if any.
                        0 => status_from(&app, &cookie, ELSEWHERE).await.status,
                        // A session nobody opened.
                        1 => status_from(&app, "JSESSIONID=forged", FORGER).await.status,
                        _ => status_from(&app, &cookie, HERE).await.status,
                    };
                    (i % 4, status.as_u16())
                })
            })
            .collect();
        let mut answers = std::collections::BTreeMap::<(i32, u16), usize>::new();
        for call in calls {
            *answers.entry(call.await.expect("call")).or_insert(0) += 1;
        }
        let of = |caller: i32, status: u16| answers.get(&(caller, status)).copied().unwrap_or(0);
        let served = of(0, 200) + of(2, 200) + of(3, 200);
        // The sign-in counted one of the hour; the rest is served, exactly:
        // a refused call that was counted would leave fewer.
        assert_eq!(served as i64, PER_HOUR - 1, "{allowlist:?}: {answers:?}");
        // Once the hour is full, this process answers 429 before it looks
        // at the session or the address (rate.rs, `DenyMemo`): any call
        // may get it. Otherwise each kind gets its own answer.
        let elsewhere = if allowlist.is_empty() { 200 } else { 403 };
        for ((caller, status), n) in &answers {
            let expected = match caller {
                0 => elsewhere,
                1 => 401,
                _ => 200,
            };
            assert!(
                *status == expected || *status == 429,
                "{allowlist:?}: {n} calls of kind {caller} got {status}: {answers:?}"
            );
        }
        let (counted,): (i64,) =
            sqlx::query_as("SELECT hour_count FROM api_rate_limits WHERE class = 'session'")
                .fetch_one(app.state.store.pool())
                .await
                .unwrap();
        assert_eq!(
            counted, PER_HOUR,
            "{allowlist:?}: the hour is full, not past it"
        );
    }
}

/// A session this process has served is kept in memory; a change made
/// outside it — straight in the database, as another instance would —
/// is seen on the very next call, and by every call of a parallel burst
/// after it: the call's count reads the organisation's version in its own
/// statement (src/server/store/api_sessions.rs, `SessionCache`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kept_session_sees_a_change_made_elsewhere_on_the_next_call() {
    const STATUS: &str = "/o/acme/api/v1/status";
    let app = TestApp::with_settings(|s| {
        s.api_rate_per_second = 1_000;
        s.api_rate_per_hour = 100_000;
    })
    .await;
    let org = app.org_id("acme").await;
    let past = keyport::server::now_ms() - 60_000;
    let changes: [(&str, Option<i64>, StatusCode, &str); 5] = [
        // Signed out on another instance.
        (
            "DELETE FROM api_sessions",
            None,
            StatusCode::UNAUTHORIZED,
            "SESSION_NOT_VALID",
        ),
        // API access taken away, or a role that cannot hold it.
        (
            "UPDATE memberships SET api_access = 0 WHERE org_id = $1",
            Some(org),
            StatusCode::UNAUTHORIZED,
            "SESSION_NOT_VALID",
        ),
        (
            "UPDATE memberships SET role = 'read_only_admin' WHERE org_id = $1",
            Some(org),
            StatusCode::UNAUTHORIZED,
            "SESSION_NOT_VALID",
        ),
        // The key's restrictions.
        (
            "UPDATE api_keys SET ip_allowlist = '203.0.113.9' WHERE org_id = $1",
            Some(org),
            StatusCode::FORBIDDEN,
            "IP_NOT_ALLOWED",
        ),
        // Older than the absolute lifetime.
        (
            "UPDATE api_sessions SET created_at = $1",
            Some(past - 12 * 3_600_000),
            StatusCode::UNAUTHORIZED,
            "SESSION_NOT_VALID",
        ),
    ];
    let pool = app.state.store.pool();
    for (sql, bind, status, code) in changes {
        let session = api_session(&app).await;
        // Served twice: the second from the kept session.
        for _ in 0..2 {
            let r = app.consumer("GET", STATUS, Some(&session), None).await;
            assert_status(&r, StatusCode::OK, "before the change");
        }
        let mut change = sqlx::query(sql);
        if let Some(value) = bind {
            change = change.bind(value);
        }
        change.execute(pool).await.unwrap();
        let next = app.consumer("GET", STATUS, Some(&session), None).await;
        assert_status(&next, status, sql);
        assert_eq!(next.code(), code, "{sql}");
        let burst: Vec<_> = (0..32)
            .map(|_| {
                let caller = app.caller.clone();
                let req = axum::http::Request::builder()
                    .uri(STATUS)
                    .header(axum::http::header::HOST, crate::common::HOST)
                    .header(axum::http::header::COOKIE, &session)
                    .body(axum::body::Body::empty())
                    .unwrap();
                tokio::spawn(async move { caller.send(req).await.status })
            })
            .collect();
        for call in burst {
            assert_eq!(
                call.await.unwrap(),
                status,
                "a call of the burst after: {sql}"
            );
        }
        // Put back for the next change (sessions stay ended).
        sqlx::query(
            "UPDATE memberships SET api_access = 1, role = 'api_admin'
             WHERE org_id = $1 AND admin_id = (SELECT id FROM admins WHERE username = 'api@acme.example')",
        )
        .bind(org)
        .execute(pool)
        .await
        .unwrap();
        sqlx::query("UPDATE api_keys SET ip_allowlist = '' WHERE org_id = $1")
            .bind(org)
            .execute(pool)
            .await
            .unwrap();
    }
}
