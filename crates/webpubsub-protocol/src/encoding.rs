//! Percent-encoding for path segments and query values.

/// Percent-encodes everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`), so a
/// group or user id containing `/`, `#`, `?`, `%`, spaces or non-ASCII stays one path segment or
/// one query value.
///
/// ```
/// use webpubsub_protocol::percent_encode;
///
/// assert_eq!(percent_encode("a/b c#?é"), "a%2Fb%20c%23%3F%C3%A9");
/// ```
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    percent_encode_into(&mut out, value);
    out
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// Appends `value` percent-encoded (as [`percent_encode`]) to `out`.
pub(crate) fn percent_encode_into(out: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    if value.bytes().all(is_unreserved) {
        out.push_str(value);
        return;
    }
    for byte in value.bytes() {
        if is_unreserved(byte) {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(byte >> 4)] as char);
            out.push(HEX[usize::from(byte & 0xf)] as char);
        }
    }
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`). `None` for a bad escape or
/// bytes that are not UTF-8.
///
/// ```
/// use webpubsub_protocol::percent_decode;
///
/// assert_eq!(percent_decode("a%2Fb%20c", false).as_deref(), Some("a/b c"));
/// assert_eq!(percent_decode("a+b", true).as_deref(), Some("a b"));
/// assert_eq!(percent_decode("%zz", false), None);
/// ```
pub fn percent_decode(value: &str, plus_is_space: bool) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let high = (hex[0] as char).to_digit(16)?;
                let low = (hex[1] as char).to_digit(16)?;
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
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
