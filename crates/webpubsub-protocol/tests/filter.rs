//! OData filters: the official vectors, every documented example, evaluation, errors, and a
//! property test that builder output always parses back to the same expression.

use webpubsub_protocol::filter::{ConnectionInfo, Expr, Filter, Operand};

fn conn<'a>(id: &'a str, user: Option<&'a str>, groups: &'a [String]) -> ConnectionInfo<'a> {
    ConnectionInfo {
        connection_id: id,
        user_id: user,
        groups,
    }
}

fn groups(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn eval(filter: &str, connection: &ConnectionInfo<'_>) -> bool {
    Filter::parse(filter)
        .unwrap_or_else(|e| panic!("{filter}: {e}"))
        .matches(connection)
        .unwrap_or_else(|e| panic!("{filter}: {e}"))
}

#[test]
fn the_js_sdk_vector_builds_prints_and_parses() {
    let text = "userId eq null or userId eq 'vic''s' or length(userId) gt 3";
    let built = Filter::user_id()
        .is_null()
        .or(Filter::user_id().eq("vic's"))
        .or(Filter::length(Filter::user_id()).gt(3));
    assert_eq!(built.to_string(), text);
    assert_eq!(Filter::parse(text).unwrap(), built);

    let none = groups(&[]);
    assert!(eval(text, &conn("c", None, &none)));
    assert!(eval(text, &conn("c", Some("vic's"), &none)));
    assert!(eval(text, &conn("c", Some("abcd"), &none)));
    assert!(!eval(text, &conn("c", Some("abc"), &none)));
}

#[test]
fn documented_examples_evaluate_as_documented() {
    let g1 = groups(&["group1"]);
    let g2 = groups(&["group2", "other"]);
    let none = groups(&[]);
    let cases: &[(&str, ConnectionInfo<'_>, bool)] = &[
        ("'group1' in groups", conn("c", None, &g1), true),
        ("'group1' in groups", conn("c", None, &g2), false),
        (
            "'group1' in groups or 'group2' in groups",
            conn("c", None, &g2),
            true,
        ),
        (
            "userId in ('user1','user2') and 'group1' in groups",
            conn("c", Some("user2"), &g1),
            true,
        ),
        (
            "userId in ('user1','user2') and 'group1' in groups",
            conn("c", Some("user3"), &g1),
            false,
        ),
        (
            "userId eq 'user1' and connectionId ne '123'",
            conn("456", Some("user1"), &none),
            true,
        ),
        (
            "userId eq 'user1' and connectionId ne '123'",
            conn("123", Some("user1"), &none),
            false,
        ),
        (
            "userId eq 'user1' and (not ('group1' in groups))",
            conn("c", Some("user1"), &g2),
            true,
        ),
        (
            "userId eq 'user1' and (not ('group1' in groups))",
            conn("c", Some("user1"), &g1),
            false,
        ),
        (
            "startswith(userId, 'listener-')",
            conn("c", Some("listener-7"), &none),
            true,
        ),
        (
            "startswith(userId, 'listener-')",
            conn("c", Some("speaker"), &none),
            false,
        ),
        (
            "startswith(userId, 'listener-')",
            conn("c", None, &none),
            false,
        ),
        (
            "not startswith(userId, 'listener-')",
            conn("c", None, &none),
            true,
        ),
        ("userId eq null", conn("c", None, &none), true),
        ("userId ne null", conn("c", None, &none), false),
        ("length(groups) eq 2", conn("c", None, &g2), true),
        (
            "USERID eq 'a' and ConnectionId eq 'c'",
            conn("c", Some("a"), &none),
            true,
        ),
        (
            "tolower(userId) eq 'abc'",
            conn("c", Some("AbC"), &none),
            true,
        ),
        (
            "toupper(userId) eq 'ABC'",
            conn("c", Some("aBc"), &none),
            true,
        ),
        ("trim(userId) eq 'a'", conn("c", Some("  a "), &none), true),
        (
            "substring(userId, 1) eq 'bcd'",
            conn("c", Some("abcd"), &none),
            true,
        ),
        (
            "substring(userId, 1, 2) eq 'bc'",
            conn("c", Some("abcd"), &none),
            true,
        ),
        (
            "endswith(userId, 'cd')",
            conn("c", Some("abcd"), &none),
            true,
        ),
        (
            "contains(userId, 'bc')",
            conn("c", Some("abcd"), &none),
            true,
        ),
        (
            "indexof(userId, 'c') eq 2",
            conn("c", Some("abcd"), &none),
            true,
        ),
        (
            "indexof(userId, 'z') eq -1",
            conn("c", Some("abcd"), &none),
            true,
        ),
        (
            "concat(userId, connectionId) eq 'uc'",
            conn("c", Some("u"), &none),
            true,
        ),
        (
            "length(userId) ge 4 and length(userId) le 4 and length(userId) lt 5",
            conn("c", Some("abcd"), &none),
            true,
        ),
        (
            "userId gt 'a' and userId lt 'c'",
            conn("c", Some("b"), &none),
            true,
        ),
        ("userId gt 'a'", conn("c", None, &none), false),
        ("true and not false", conn("c", None, &none), true),
        ("not not true", conn("c", None, &none), true),
        (
            "'x' in groups or userId in ('a')",
            conn("c", Some("a"), &none),
            true,
        ),
        ("userId in ()", conn("c", Some("a"), &none), false),
    ];
    for (filter, connection, expected) in cases {
        assert_eq!(eval(filter, connection), *expected, "{filter}");
    }
}

#[test]
fn not_binds_tighter_than_comparisons_so_this_is_a_type_error() {
    let filter = Filter::parse("not length(userId) gt 5").unwrap();
    assert!(matches!(filter.expr(), Expr::Compare(left, _, _) if matches!(**left, Expr::Not(_))));
    let none = groups(&[]);
    let err = filter
        .matches(&conn("c", Some("abcdefg"), &none))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("`not` needs bool operands, got integer"),
        "{err}"
    );
    // Precedence: and binds tighter than or.
    let filter = Filter::parse("true or false and false").unwrap();
    assert!(filter.matches(&conn("c", None, &none)).unwrap());
}

#[test]
fn type_errors_are_errors_not_silent_false() {
    let none = groups(&[]);
    for filter in [
        "userId",
        "length(userId)",
        "'a' and true",
        "userId gt 1",
        "substring(userId, 'x') eq 'a'",
        "tolower(1) eq '1'",
    ] {
        let parsed = Filter::parse(filter).unwrap();
        assert!(
            parsed.matches(&conn("c", Some("u"), &none)).is_err(),
            "{filter}"
        );
    }
    let parsed = Filter::parse("substring(userId, -1) eq 'a'").unwrap();
    assert!(parsed.matches(&conn("c", Some("u"), &none)).is_err());
}

#[test]
fn parse_errors_give_position_and_reason() {
    let cases = [
        ("", 0, "the filter is empty"),
        ("userId eq 'abc", 10, "unterminated string literal"),
        (
            "user eq 'a'",
            0,
            "unknown identifier `user` (expected userId, connectionId or groups)",
        ),
        ("frobnicate(userId)", 0, "unknown function `frobnicate`"),
        (
            "length(userId, 'a') gt 1",
            0,
            "`length` takes 1 arguments, got 2",
        ),
        (
            "substring(userId) eq 'a'",
            0,
            "`substring` takes 2 to 3 arguments, got 1",
        ),
        (
            "userId eq 'a' userId",
            14,
            "unexpected `userId` after the end of the expression",
        ),
        (
            "userId eq",
            9,
            "expected a value, found the end of the filter",
        ),
        (
            "(userId eq 'a'",
            14,
            "expected `)`, found the end of the filter",
        ),
        ("userId eq 'a' & true", 14, "unexpected character `&`"),
        (
            "userId eq 99999999999999999999",
            10,
            "`99999999999999999999` is not a 64-bit integer",
        ),
        (
            "userId 'a'",
            7,
            "expected an operator after the operand, found a string",
        ),
        (
            "invalid filter",
            0,
            "unknown identifier `invalid` (expected userId, connectionId or groups)",
        ),
    ];
    for (input, position, reason) in cases {
        let err = Filter::parse(input).unwrap_err();
        assert_eq!(
            (err.position(), err.reason()),
            (position, reason),
            "{input:?}"
        );
    }
    let deep = format!("{}true{}", "(".repeat(200), ")".repeat(200));
    assert!(Filter::parse(&deep)
        .unwrap_err()
        .reason()
        .contains("nests more than 64"));
    let nots = format!("{}true", "not ".repeat(200));
    assert!(Filter::parse(&nots)
        .unwrap_err()
        .reason()
        .contains("nests more than 64"));
    let long = format!("userId eq '{}'", "x".repeat(20_000));
    assert!(Filter::parse(&long)
        .unwrap_err()
        .reason()
        .contains("longer than"));
}

#[test]
fn quoting_is_safe() {
    let hostile = "x' or true or 'y";
    let filter = Filter::user_id().eq(hostile);
    assert_eq!(filter.to_string(), "userId eq 'x'' or true or ''y'");
    let none = groups(&[]);
    assert!(!filter.matches(&conn("c", Some("anyone"), &none)).unwrap());
    assert!(filter.matches(&conn("c", Some(hostile), &none)).unwrap());
}

/// A tiny deterministic generator (xorshift64*) so the property test needs no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn string(&mut self) -> String {
        const ALPHABET: &[char] = &['a', 'Z', '\'', ' ', '(', ')', ',', 'é', '0', '-', '"', '\\'];
        (0..self.below(6))
            .map(|_| ALPHABET[self.below(ALPHABET.len() as u64) as usize])
            .collect()
    }

    fn operand(&mut self, depth: u32) -> Operand {
        match self.below(if depth == 0 { 5 } else { 8 }) {
            0 => Filter::user_id(),
            1 => Filter::connection_id(),
            2 => Operand::from(self.string()),
            3 => Operand::from(self.next() as i64 >> self.below(64)),
            4 => Operand::null(),
            5 => Filter::length(self.operand(depth - 1)),
            6 => Filter::to_lower(self.operand(depth - 1)),
            _ => Filter::to_upper(self.operand(depth - 1)),
        }
    }

    fn filter(&mut self, depth: u32) -> Filter {
        match self.below(if depth == 0 { 9 } else { 13 }) {
            0 => self.operand(depth).eq(self.operand(depth)),
            1 => self.operand(depth).ne(self.operand(depth)),
            2 => self.operand(depth).gt(self.operand(depth)),
            3 => self.operand(depth).le(self.operand(depth)),
            4 => Filter::in_groups(self.string()),
            5 => {
                let values: Vec<String> = (0..self.below(4)).map(|_| self.string()).collect();
                self.operand(depth).is_in(values)
            }
            6 => Filter::starts_with(self.operand(depth), self.string()),
            7 => Filter::contains(self.operand(depth), self.string()),
            8 => self.operand(depth).is_null(),
            9 => self.filter(depth - 1).and(self.filter(depth - 1)),
            10 => self.filter(depth - 1).or(self.filter(depth - 1)),
            11 => self.filter(depth - 1).not(),
            _ => self
                .filter(depth - 1)
                .and(self.filter(depth - 1).or(self.filter(depth - 1))),
        }
    }
}

#[test]
fn property_builder_output_parses_back_to_the_same_expression() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let g = groups(&["a", "Z'", "é"]);
    for case in 0..3_000 {
        let depth = (case % 5) as u32;
        let filter = rng.filter(depth);
        let text = filter.to_string();
        let parsed = Filter::parse(&text).unwrap_or_else(|e| panic!("case {case}: {text:?}: {e}"));
        assert_eq!(parsed, filter, "case {case}: {text:?}");
        assert_eq!(parsed.to_string(), text);
        // Evaluation never panics; it answers or reports a type error.
        let _ = parsed.matches(&conn("c1", Some("a"), &g));
        let _ = parsed.matches(&conn("c2", None, &g));
    }
}

#[test]
fn property_arbitrary_input_never_panics() {
    let mut rng = Rng(42);
    const PIECES: &[&str] = &[
        "userId",
        "groups",
        "connectionId",
        " eq ",
        " ne ",
        " gt ",
        " in ",
        " and ",
        " or ",
        "not ",
        "(",
        ")",
        ",",
        "'a'",
        "''",
        "'",
        "1",
        "-",
        "length(",
        "substring(",
        "null",
        "true",
        "é",
        "\u{0}",
        "  ",
    ];
    for _ in 0..5_000 {
        let input: String = (0..rng.below(12))
            .map(|_| PIECES[rng.below(PIECES.len() as u64) as usize])
            .collect();
        if let Ok(filter) = Filter::parse(&input) {
            let _ = filter.matches(&conn("c", Some("u"), &[]));
            assert_eq!(
                Filter::parse(&filter.to_string()).unwrap(),
                filter,
                "{input:?}"
            );
        }
    }
}
