//! Percent-encoding for path segments and query values (the `percent-encoding` crate with the
//! set the service expects).

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`) is encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`), so a
/// group or user id containing `/`, `#`, `?`, `%`, spaces or non-ASCII stays one path segment or
/// one query value.
///
/// ```
/// use webpubsub_protocol::encoding::percent_encode;
///
/// assert_eq!(percent_encode("a/b c#?é"), "a%2Fb%20c%23%3F%C3%A9");
/// ```
pub fn percent_encode(value: &str) -> String {
    utf8_percent_encode(value, COMPONENT).to_string()
}

/// Appends `value` percent-encoded (as [`percent_encode`]) to `out`.
pub(crate) fn percent_encode_into(out: &mut String, value: &str) {
    out.extend(utf8_percent_encode(value, COMPONENT));
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`). `None` for a bad escape or
/// bytes that are not UTF-8.
///
/// ```
/// use webpubsub_protocol::encoding::percent_decode;
///
/// assert_eq!(percent_decode("a%2Fb%20c", false).as_deref(), Some("a/b c"));
/// assert_eq!(percent_decode("a+b", true).as_deref(), Some("a b"));
/// assert_eq!(percent_decode("%zz", false), None);
/// ```
pub fn percent_decode(value: &str, plus_is_space: bool) -> Option<String> {
    // The crate passes a malformed escape through; the service rejects it, and so do we.
    let bytes = value.as_bytes();
    let malformed = bytes.iter().enumerate().any(|(i, b)| {
        *b == b'%'
            && !bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if malformed {
        return None;
    }
    let spaced;
    let value = if plus_is_space && value.contains('+') {
        spaced = value.replace('+', " ");
        spaced.as_str()
    } else {
        value
    };
    percent_decode_str(value)
        .decode_utf8()
        .ok()
        .map(|text| text.into_owned())
}

/// Parses a query string (without `?`) into decoded pairs, keeping order and repeats.
/// Pairs that do not decode are skipped.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|part| !part.is_empty())
        .filter_map(|part| {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            Some((percent_decode(key, true)?, percent_decode(value, true)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_awkward_names() {
        for value in ["g/1", "a b", "#?&=+%", "é漢字", "", "~._-", "'quoted'"] {
            let encoded = percent_encode(value);
            assert!(
                encoded
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)),
                "{encoded}"
            );
            assert_eq!(percent_decode(&encoded, false).as_deref(), Some(value));
        }
    }

    #[test]
    fn parses_queries_with_repeats() {
        assert_eq!(
            parse_query("excluded=c1&excluded=c%202&filter=userId+eq+%27a%27&flag"),
            vec![
                ("excluded".into(), "c1".into()),
                ("excluded".into(), "c 2".into()),
                ("filter".into(), "userId eq 'a'".into()),
                ("flag".into(), String::new()),
            ]
        );
        assert_eq!(percent_decode("%C3", false), None);
        assert_eq!(percent_decode("%4", false), None);
    }
}
