use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};

fn actor(org: &str) -> Actor {
    let org = OrgSummary {
        short_name: org.into(),
        name: org.into(),
    };
    Actor {
        admin_id: 1,
        username: "api@acme.example".into(),
        role: Role::ApiAdmin,
        org_id: 1,
        org: org.clone(),
        orgs: vec![org],
        meta: RequestMeta::cli(),
    }
}

/// What one request's resources see: each holds a clone of the cache
/// (Leptos clones the request's extensions for each), and together they
/// load the actor once, even when they ask at the same moment.
#[tokio::test]
async fn one_request_loads_its_actor_once() {
    let cache = ActorCache::default();
    let loads = AtomicUsize::new(0);
    let load = |org: &'static str| {
        let loads = &loads;
        async move {
            loads.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Ok(actor(org))
        }
    };
    let (first, second) = (cache.clone(), cache.clone());
    let (a, b, c) = tokio::join!(
        first.get_or_load(load("acme")),
        second.get_or_load(load("acme")),
        cache.get_or_load(load("acme")),
    );
    assert_eq!(loads.load(Ordering::SeqCst), 1);
    for actor in [a, b, c] {
        assert_eq!(actor.expect("the actor").org.short_name, "acme");
    }

    // Forgotten (the session moved to another organisation): loaded again.
    second.forget().await;
    let moved = first.get_or_load(load("globex")).await.expect("the actor");
    assert_eq!(moved.org.short_name, "globex");
    assert_eq!(loads.load(Ordering::SeqCst), 2);
    let kept = cache.get_or_load(load("acme")).await.expect("the actor");
    assert_eq!(kept.org.short_name, "globex");
    assert_eq!(loads.load(Ordering::SeqCst), 2);
}

/// A refusal is not kept: the next caller loads (and is refused) again.
#[tokio::test]
async fn a_refusal_is_not_kept() {
    let cache = ActorCache::default();
    let refused = cache
        .get_or_load(async { Err(AppError::unauthorized()) })
        .await;
    assert!(matches!(refused, Err(AppError::Unauthorized { .. })));
    let loaded = cache.get_or_load(async { Ok(actor("acme")) }).await;
    assert_eq!(loaded.expect("the actor").org.short_name, "acme");
}

#[test]
fn a_short_idle_window_is_renewed_within_a_quarter_of_it() {
    let minutes = |m: u64| Duration::from_secs(60 * m);
    assert_eq!(idle_renewal_interval(minutes(30)), IDLE_RENEWAL_INTERVAL);
    assert_eq!(idle_renewal_interval(minutes(2)), Duration::from_secs(30));
}
