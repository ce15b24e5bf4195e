use super::obfuscate_api_key;

// Vectors worked out by hand from docs/CONSUMER-API.md#the-obfuscation with the key
// "abcdefghijkl" (a=0, b=1, … l=11).
#[test]
fn obfuscation_matches_hand_computed_vectors() {
    // n = 123456, r = 61728 → "061728"; n → b c d e f g; r+2 → c i d j e k
    assert_eq!(
        obfuscate_api_key("abcdefghijkl", "1700000123456").as_deref(),
        Some("bcdefgcidjek")
    );
    // n = 000000, r = 000000 → a×6, then key[2] = c ×6
    assert_eq!(
        obfuscate_api_key("abcdefghijkl", "1732000000000").as_deref(),
        Some("aaaaaacccccc")
    );
    // n = 999999, r = 499999 → j×6; 4+2 = 6 → g, 9+2 = 11 → l
    assert_eq!(
        obfuscate_api_key("abcdefghijkl", "1599999999999").as_deref(),
        Some("jjjjjjglllll")
    );
    // n = 000001, r = 000000
    assert_eq!(
        obfuscate_api_key("ABCDEFGHIJKL", "1000000000001").as_deref(),
        Some("AAAAABCCCCCC")
    );
}

#[test]
fn rejects_what_it_cannot_obfuscate() {
    assert_eq!(obfuscate_api_key("abcdefghijkl", "12345"), None);
    assert_eq!(obfuscate_api_key("abcdefghijkl", "17000001234x6"), None);
    assert_eq!(obfuscate_api_key("short", "1700000999999"), None);
}
