//! OData filters: build them safely, parse them, print them and evaluate them against a connection.
//!
//! The grammar is the service's subset: identifiers `userId`, `connectionId`, `groups`
//! (case-insensitive); `eq ne gt ge lt le`, `and or not`, `in`, parentheses; `null`, `true`,
//! `false`, string (`'it''s'`) and integer literals; functions `tolower toupper trim substring
//! startswith endswith contains indexof concat length`. Precedence, tightest first: `not`,
//! comparisons and `in`, `and`, `or`.

mod eval;
mod parse;

use std::fmt;

pub use eval::{ConnectionInfo, EvalError};
pub use parse::FilterParseError;

/// A connection attribute a filter can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Identifier {
    /// `userId` (a string, or null for anonymous connections).
    UserId,
    /// `connectionId`.
    ConnectionId,
    /// `groups`: the groups the connection is in (a collection).
    Groups,
}

impl Identifier {
    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Identifier::UserId => "userId",
            Identifier::ConnectionId => "connectionId",
            Identifier::Groups => "groups",
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

impl CompareOp {
    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }
}

/// A built-in function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    /// `tolower(s)`
    ToLower,
    /// `toupper(s)`
    ToUpper,
    /// `trim(s)`
    Trim,
    /// `substring(s, start[, length])`
    Substring,
    /// `startswith(s, prefix)`
    StartsWith,
    /// `endswith(s, suffix)`
    EndsWith,
    /// `contains(s, part)`
    Contains,
    /// `indexof(s, part)` (-1 when absent)
    IndexOf,
    /// `concat(a, b)`
    Concat,
    /// `length(s)` or `length(groups)`
    Length,
}

impl Function {
    /// The name.
    pub fn as_str(self) -> &'static str {
        match self {
            Function::ToLower => "tolower",
            Function::ToUpper => "toupper",
            Function::Trim => "trim",
            Function::Substring => "substring",
            Function::StartsWith => "startswith",
            Function::EndsWith => "endswith",
            Function::Contains => "contains",
            Function::IndexOf => "indexof",
            Function::Concat => "concat",
            Function::Length => "length",
        }
    }

    /// The allowed number of arguments.
    pub fn arity(self) -> std::ops::RangeInclusive<usize> {
        match self {
            Function::ToLower | Function::ToUpper | Function::Trim | Function::Length => 1..=1,
            Function::Substring => 2..=3,
            _ => 2..=2,
        }
    }

    pub(crate) const ALL: [Function; 10] = [
        Function::ToLower,
        Function::ToUpper,
        Function::Trim,
        Function::Substring,
        Function::StartsWith,
        Function::EndsWith,
        Function::Contains,
        Function::IndexOf,
        Function::Concat,
        Function::Length,
    ];
}

/// A filter expression tree.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Expr {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// An integer literal.
    Int(i64),
    /// A string literal (unescaped).
    Str(String),
    /// An identifier.
    Ident(Identifier),
    /// A parenthesised list, the right side of `in`: `('a', 'b')`.
    List(Vec<Expr>),
    /// A function call.
    Call(Function, Vec<Expr>),
    /// `not x`
    Not(Box<Expr>),
    /// `a op b`
    Compare(Box<Expr>, CompareOp, Box<Expr>),
    /// `a in b`
    In(Box<Expr>, Box<Expr>),
    /// `a and b`
    And(Box<Expr>, Box<Expr>),
    /// `a or b`
    Or(Box<Expr>, Box<Expr>),
}

impl Expr {
    /// Binding strength when printing: higher binds tighter.
    fn precedence(&self) -> u8 {
        match self {
            Expr::Or(..) => 1,
            Expr::And(..) => 2,
            Expr::Compare(..) | Expr::In(..) => 3,
            Expr::Not(..) => 4,
            _ => 5,
        }
    }

    fn write_child(&self, f: &mut fmt::Formatter<'_>, min: u8) -> fmt::Result {
        if self.precedence() < min {
            write!(f, "({self})")
        } else {
            write!(f, "{self}")
        }
    }
}

impl fmt::Display for Expr {
    /// Prints the canonical form; parsing it gives back the same tree.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Null => f.write_str("null"),
            Expr::Bool(b) => write!(f, "{b}"),
            Expr::Int(i) => write!(f, "{i}"),
            Expr::Str(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Expr::Ident(id) => f.write_str(id.as_str()),
            Expr::List(items) => {
                f.write_str("(")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str(")")
            }
            Expr::Call(function, args) => {
                write!(f, "{}(", function.as_str())?;
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{arg}")?;
                }
                f.write_str(")")
            }
            Expr::Not(inner) => {
                f.write_str("not ")?;
                inner.write_child(f, 5)
            }
            Expr::Compare(left, op, right) => {
                left.write_child(f, 4)?;
                write!(f, " {} ", op.as_str())?;
                right.write_child(f, 4)
            }
            Expr::In(left, right) => {
                left.write_child(f, 4)?;
                f.write_str(" in ")?;
                right.write_child(f, 4)
            }
            Expr::And(left, right) => {
                left.write_child(f, 2)?;
                f.write_str(" and ")?;
                right.write_child(f, 3)
            }
            Expr::Or(left, right) => {
                left.write_child(f, 1)?;
                f.write_str(" or ")?;
                right.write_child(f, 2)
            }
        }
    }
}

/// A filter: build it with the methods here (values are quoted safely), or [`Filter::parse`] a
/// string. `Display` gives the string to send.
///
/// ```
/// use webpubsub_protocol::filter::Filter;
///
/// let filter = Filter::user_id().eq("vic's").and(Filter::in_groups("g1"));
/// assert_eq!(filter.to_string(), "userId eq 'vic''s' and 'g1' in groups");
/// assert_eq!(Filter::parse(&filter.to_string())?, filter);
///
/// // The JS SDK's own vector:
/// let js = Filter::user_id().is_null()
///     .or(Filter::user_id().eq("vic's"))
///     .or(Filter::length(Filter::user_id()).gt(3));
/// assert_eq!(js.to_string(), "userId eq null or userId eq 'vic''s' or length(userId) gt 3");
/// # Ok::<(), webpubsub_protocol::filter::FilterParseError>(())
/// ```
///
/// A filter parsed from text ([`Filter::parse`], the checked escape for filters written by hand)
/// prints as that text, so what is sent is what was written; a built one prints canonically.
/// Equality compares the expressions, not the spelling.
#[derive(Debug, Clone)]
pub struct Filter {
    expr: Expr,
    /// The text it was parsed from, if any.
    text: Option<Box<str>>,
}

impl PartialEq for Filter {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr
    }
}

impl Eq for Filter {}

impl std::hash::Hash for Filter {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.expr.hash(state);
    }
}

impl Filter {
    fn new(expr: Expr) -> Self {
        Self { expr, text: None }
    }
}

/// A value in a filter under construction: an identifier, a literal or a function call. Compare it
/// to get a [`Filter`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Operand(Expr);

impl From<&str> for Operand {
    fn from(value: &str) -> Self {
        Operand(Expr::Str(value.to_owned()))
    }
}

impl From<String> for Operand {
    fn from(value: String) -> Self {
        Operand(Expr::Str(value))
    }
}

impl From<i64> for Operand {
    fn from(value: i64) -> Self {
        Operand(Expr::Int(value))
    }
}

impl From<i32> for Operand {
    fn from(value: i32) -> Self {
        Operand(Expr::Int(value.into()))
    }
}

impl From<Option<&str>> for Operand {
    /// `None` is `null`.
    fn from(value: Option<&str>) -> Self {
        value.map_or(Operand(Expr::Null), Operand::from)
    }
}

impl Operand {
    /// The `null` literal.
    pub fn null() -> Self {
        Operand(Expr::Null)
    }

    fn compare(self, op: CompareOp, other: impl Into<Operand>) -> Filter {
        Filter::new(Expr::Compare(
            Box::new(self.0),
            op,
            Box::new(other.into().0),
        ))
    }

    /// `self eq other`
    pub fn eq(self, other: impl Into<Operand>) -> Filter {
        self.compare(CompareOp::Eq, other)
    }

    /// `self ne other`
    pub fn ne(self, other: impl Into<Operand>) -> Filter {
        self.compare(CompareOp::Ne, other)
    }

    /// `self gt other`
    pub fn gt(self, other: impl Into<Operand>) -> Filter {
        self.compare(CompareOp::Gt, other)
    }

    /// `self ge other`
    pub fn ge(self, other: impl Into<Operand>) -> Filter {
        self.compare(CompareOp::Ge, other)
    }

    /// `self lt other`
    pub fn lt(self, other: impl Into<Operand>) -> Filter {
        self.compare(CompareOp::Lt, other)
    }

    /// `self le other`
    pub fn le(self, other: impl Into<Operand>) -> Filter {
        self.compare(CompareOp::Le, other)
    }

    /// `self eq null`
    pub fn is_null(self) -> Filter {
        self.compare(CompareOp::Eq, Operand::null())
    }

    /// `self in ('a', 'b', ...)`
    pub fn is_in<I, S>(self, values: I) -> Filter
    where
        I: IntoIterator<Item = S>,
        S: Into<Operand>,
    {
        let list = values.into_iter().map(|v| v.into().0).collect();
        Filter::new(Expr::In(Box::new(self.0), Box::new(Expr::List(list))))
    }
}

impl Filter {
    /// The `userId` identifier.
    pub fn user_id() -> Operand {
        Operand(Expr::Ident(Identifier::UserId))
    }

    /// The `connectionId` identifier.
    pub fn connection_id() -> Operand {
        Operand(Expr::Ident(Identifier::ConnectionId))
    }

    /// The `groups` collection.
    pub fn groups() -> Operand {
        Operand(Expr::Ident(Identifier::Groups))
    }

    /// `'group' in groups`: the connection is in `group`.
    pub fn in_groups(group: impl Into<String>) -> Filter {
        Filter::new(Expr::In(
            Box::new(Expr::Str(group.into())),
            Box::new(Expr::Ident(Identifier::Groups)),
        ))
    }

    fn call(function: Function, args: Vec<Operand>) -> Operand {
        Operand(Expr::Call(
            function,
            args.into_iter().map(|a| a.0).collect(),
        ))
    }

    /// `length(x)`
    pub fn length(of: Operand) -> Operand {
        Self::call(Function::Length, vec![of])
    }

    /// `tolower(x)`
    pub fn to_lower(of: Operand) -> Operand {
        Self::call(Function::ToLower, vec![of])
    }

    /// `toupper(x)`
    pub fn to_upper(of: Operand) -> Operand {
        Self::call(Function::ToUpper, vec![of])
    }

    /// `startswith(x, prefix)` as a condition.
    pub fn starts_with(of: Operand, prefix: impl Into<Operand>) -> Filter {
        Filter::new(Self::call(Function::StartsWith, vec![of, prefix.into()]).0)
    }

    /// `endswith(x, suffix)` as a condition.
    pub fn ends_with(of: Operand, suffix: impl Into<Operand>) -> Filter {
        Filter::new(Self::call(Function::EndsWith, vec![of, suffix.into()]).0)
    }

    /// `contains(x, part)` as a condition.
    pub fn contains(of: Operand, part: impl Into<Operand>) -> Filter {
        Filter::new(Self::call(Function::Contains, vec![of, part.into()]).0)
    }

    /// `self and other`
    pub fn and(self, other: Filter) -> Filter {
        Filter::new(Expr::And(Box::new(self.expr), Box::new(other.expr)))
    }

    /// `self or other`
    pub fn or(self, other: Filter) -> Filter {
        Filter::new(Expr::Or(Box::new(self.expr), Box::new(other.expr)))
    }

    /// `not self`
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Filter {
        Filter::new(Expr::Not(Box::new(self.expr)))
    }

    /// Parses a filter string.
    ///
    /// # Errors
    /// A [`FilterParseError`] with the character position and the reason.
    pub fn parse(input: &str) -> Result<Filter, FilterParseError> {
        parse::parse(input).map(|expr| Filter {
            expr,
            text: Some(input.trim().into()),
        })
    }

    /// The expression tree.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Wraps an expression tree.
    pub fn from_expr(expr: Expr) -> Filter {
        Filter::new(expr)
    }

    /// Whether the connection matches. A type error (e.g. `length(userId) and true`) is an error,
    /// not a silent `false`.
    ///
    /// ```
    /// use webpubsub_protocol::filter::{ConnectionInfo, Filter};
    ///
    /// let filter = Filter::parse("userId in ('u1','u2') and 'g1' in groups")?;
    /// let groups = vec!["g1".to_string()];
    /// let connection = ConnectionInfo { connection_id: "c1", user_id: Some("u2"), groups: &groups };
    /// assert!(filter.matches(&connection)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// An [`EvalError`] when the filter does not evaluate to a boolean.
    pub fn matches(&self, connection: &ConnectionInfo<'_>) -> Result<bool, EvalError> {
        eval::matches(&self.expr, connection)
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.text {
            Some(text) => f.write_str(text),
            None => self.expr.fmt(f),
        }
    }
}

impl std::str::FromStr for Filter {
    type Err = FilterParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Filter::parse(s)
    }
}

impl From<Filter> for String {
    fn from(filter: Filter) -> Self {
        filter.to_string()
    }
}

impl serde::Serialize for Filter {
    /// The filter's text, as [`fmt::Display`] prints it.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Filter {
    /// Parses the filter's text.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Filter::parse(&text).map_err(serde::de::Error::custom)
    }
}
