//! The Base URL `{public_url}/o/{org}` as the public Python SDK
//! (`zscaler-sdk-python`, `LegacyZIAClientHelper(override_url=…)`) uses it.
//!
//! The SDK signs in and out at `{override_url}/api/v1/authenticatedSession`,
//! but every other call is built as `{override_url}{endpoint}` and then sent
//! to `{override_url}` + *that URL's whole path*: with the Base URL
//! `…/o/acme`, its status call arrives as `/o/acme/o/acme/api/v1/status`.
//! Real tenants' URLs have no path, so the SDK never notices. Keyport serves
//! such a doubled prefix as the single one, before routing
//! (`routes::router`), so the SDK works unpatched against the Base URL the
//! pages show (docs/CONSUMER-API.md#the-public-python-sdk).

use axum::extract::Request;
use axum::http::Uri;
use axum::http::uri::PathAndQuery;

/// `req` with a doubled `/o/{org}/o/{org}/` prefix made single (the query
/// kept); any other request unchanged.
pub fn undo_doubled_base(mut req: Request) -> Request {
    let Some(path) = single_base(req.uri().path()) else {
        return req;
    };
    let path_and_query = match req.uri().query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    let Ok(path_and_query) = PathAndQuery::try_from(path_and_query) else {
        return req;
    };
    let mut parts = req.uri().clone().into_parts();
    parts.path_and_query = Some(path_and_query);
    if let Ok(uri) = Uri::from_parts(parts) {
        *req.uri_mut() = uri;
    }
    req
}

/// `/o/{org}/o/{org}/{rest}` → `/o/{org}/{rest}`, only when both names are
/// the same organisation (byte for byte) and something follows; `None`
/// for every other path, so `/o/acme/o/globex/…` stays a 404.
fn single_base(path: &str) -> Option<String> {
    let (org, rest) = path.strip_prefix("/o/")?.split_once('/')?;
    let (again, rest) = rest.strip_prefix("o/")?.split_once('/')?;
    (!org.is_empty() && org == again && !rest.is_empty()).then(|| format!("/o/{org}/{rest}"))
}

#[cfg(test)]
mod tests {
    use super::{single_base, undo_doubled_base};
    use axum::body::Body;
    use axum::extract::Request;

    #[test]
    fn only_the_same_organisation_twice_is_made_single() {
        assert_eq!(
            single_base("/o/acme/o/acme/api/v1/status").as_deref(),
            Some("/o/acme/api/v1/status")
        );
        assert_eq!(
            single_base("/o/acme/o/acme/api/v1/status/activate").as_deref(),
            Some("/o/acme/api/v1/status/activate")
        );
        // Once only: a tripled prefix stays doubled, and so unknown.
        assert_eq!(
            single_base("/o/acme/o/acme/o/acme/api/v1/status").as_deref(),
            Some("/o/acme/o/acme/api/v1/status")
        );
        for path in [
            "/o/acme/api/v1/status",
            "/o/acme/o/globex/api/v1/status",
            "/o/acme/o/ACME/api/v1/status",
            "/o/acme/o/acme",
            "/o/acme/o/acme/",
            "/o//o//api/v1/status",
            "/api/v1/status",
            "/x/acme/x/acme/api",
        ] {
            assert_eq!(single_base(path), None, "{path}");
        }
    }

    #[test]
    fn the_query_is_kept() {
        let req = Request::get("/o/acme/o/acme/sandbox/report/quota?api_token=T")
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            undo_doubled_base(req).uri(),
            "/o/acme/sandbox/report/quota?api_token=T"
        );
        let req = Request::get("/o/acme/api/v1/status?x=1")
            .body(Body::empty())
            .unwrap();
        assert_eq!(undo_doubled_base(req).uri(), "/o/acme/api/v1/status?x=1");
    }
}
