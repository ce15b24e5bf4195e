use super::jwks::KeySet;
use super::*;

fn headers(values: &[&str]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for v in values {
        map.append(header::AUTHORIZATION, v.parse().unwrap());
    }
    map
}

#[test]
fn reads_the_bearer_header_and_refuses_what_cannot_be_a_token() {
    assert_eq!(bearer_token(&headers(&[])), None);
    assert_eq!(bearer_token(&headers(&["Basic dXNlcjpwdw=="])), None);
    assert_eq!(bearer_token(&headers(&["Bearerish x"])), None);
    assert_eq!(
        bearer_token(&headers(&["bearer a.b.c"])),
        Some(Ok("a.b.c".to_owned()))
    );
    assert_eq!(
        bearer_token(&headers(&["Bearer  a.b.c "])),
        Some(Ok("a.b.c".to_owned()))
    );
    assert_eq!(
        bearer_token(&headers(&["Bearer"])),
        Some(Err(Rejected::Empty))
    );
    assert_eq!(
        bearer_token(&headers(&["Bearer a.b.c", "Bearer d.e.f"])),
        Some(Err(Rejected::SeveralHeaders))
    );
    assert_eq!(
        bearer_token(&headers(&["Bearer a.b\"c"])),
        Some(Err(Rejected::Malformed))
    );
    let long = format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES + 1));
    assert_eq!(
        bearer_token(&headers(&[&long])),
        Some(Err(Rejected::TooLong))
    );
}

#[test]
fn keeps_only_signature_keys_of_the_accepted_kinds() {
    // A P-256 point (the generator) and a 2048-bit and a 512-bit modulus.
    let x = "axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY";
    let y = "T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU";
    let n2048 = format!("u{}", "A".repeat(341));
    let n512 = format!("u{}", "A".repeat(85));
    let body = serde_json::json!({"keys": [
        {"kty": "EC", "crv": "P-256", "kid": "ec", "x": x, "y": y},
        {"kty": "EC", "crv": "P-256", "x": x, "y": y},
        {"kty": "EC", "crv": "P-256", "kid": "enc", "use": "enc", "x": x, "y": y},
        {"kty": "EC", "crv": "P-256", "kid": "es384", "alg": "ES384", "x": x, "y": y},
        {"kty": "RSA", "kid": "rsa", "n": n2048, "e": "AQAB"},
        {"kty": "RSA", "kid": "weak", "n": n512, "e": "AQAB"},
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
        {"kty": "unknown", "kid": "junk"},
    ]});
    let keys = KeySet::parse(body.to_string().as_bytes()).unwrap();
    let kids = keys.kids();
    assert_eq!(kids, ["ec", "rsa"]);
    assert!(keys.find("ec", Algorithm::ES256).is_ok());
    assert_eq!(
        keys.find("ec", Algorithm::RS256).err(),
        Some(Rejected::WrongKeyType)
    );
    assert_eq!(
        keys.find("hmac", Algorithm::RS256).err(),
        Some(Rejected::UnknownKid)
    );
    assert!(KeySet::parse(b"[]").is_err());
    assert!(KeySet::parse(b"not json").is_err());
}
