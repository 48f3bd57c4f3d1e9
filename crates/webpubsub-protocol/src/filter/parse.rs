//! Tokenizer and recursive-descent parser for filters.

use thiserror::Error;

use super::{CompareOp, Expr, Function, Identifier};

/// How deeply expressions may nest before the parser gives up (no stack overflow on hostile input).
const MAX_DEPTH: usize = 64;
/// The longest filter accepted, in bytes.
pub(crate) const MAX_FILTER_BYTES: usize = 16 * 1024;

/// A filter that does not parse: where (0-based character position) and why.
///
/// ```
/// use webpubsub_protocol::filter::Filter;
///
/// let err = Filter::parse("userId eq 'a' nor true").unwrap_err();
/// assert_eq!(err.position(), 14);
/// assert_eq!(err.to_string(), "syntax error at position 14: unexpected `nor` after the end of the expression");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("syntax error at position {position}: {reason}")]
pub struct FilterParseError {
    position: usize,
    reason: String,
}

impl FilterParseError {
    fn new(position: usize, reason: impl Into<String>) -> Self {
        Self {
            position,
            reason: reason.into(),
        }
    }

    /// The 0-based character position of the problem.
    pub fn position(&self) -> usize {
        self.position
    }

    /// What is wrong.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Int(i64),
    Open,
    Close,
    Comma,
    End,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Word(w) => format!("`{w}`"),
            Token::Str(_) => "a string".into(),
            Token::Int(i) => format!("`{i}`"),
            Token::Open => "`(`".into(),
            Token::Close => "`)`".into(),
            Token::Comma => "`,`".into(),
            Token::End => "the end of the filter".into(),
        }
    }
}

fn tokenize(input: &str) -> Result<Vec<(usize, Token)>, FilterParseError> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let token = match c {
            '(' => {
                i += 1;
                Token::Open
            }
            ')' => {
                i += 1;
                Token::Close
            }
            ',' => {
                i += 1;
                Token::Comma
            }
            '\'' => {
                let mut value = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(FilterParseError::new(start, "unterminated string literal"))
                        }
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            value.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(other) => {
                            value.push(*other);
                            i += 1;
                        }
                    }
                }
                Token::Str(value)
            }
            '-' | '0'..='9' => {
                i += 1;
                while chars.get(i).is_some_and(char::is_ascii_digit) {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let value = text.parse::<i64>().map_err(|_| {
                    FilterParseError::new(start, format!("`{text}` is not a 64-bit integer"))
                })?;
                Token::Int(value)
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                while chars
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
                {
                    i += 1;
                }
                Token::Word(chars[start..i].iter().collect())
            }
            other => {
                return Err(FilterParseError::new(
                    start,
                    format!("unexpected character `{other}`"),
                ))
            }
        };
        tokens.push((start, token));
    }
    tokens.push((chars.len(), Token::End));
    Ok(tokens)
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    next: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.next].1
    }

    fn position(&self) -> usize {
        self.tokens[self.next].0
    }

    fn advance(&mut self) -> Token {
        let token = self.tokens[self.next].1.clone();
        if self.next + 1 < self.tokens.len() {
            self.next += 1;
        }
        token
    }

    fn peek_word(&self, word: &str) -> bool {
        matches!(self.peek(), Token::Word(w) if w == word)
    }

    fn error<T>(&self, reason: impl Into<String>) -> Result<T, FilterParseError> {
        Err(FilterParseError::new(self.position(), reason))
    }

    fn enter(&mut self) -> Result<(), FilterParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.error(format!(
                "the filter nests more than {MAX_DEPTH} levels deep"
            ));
        }
        Ok(())
    }

    fn expect(&mut self, token: Token) -> Result<(), FilterParseError> {
        if *self.peek() == token {
            self.advance();
            Ok(())
        } else {
            self.error(format!(
                "expected {}, found {}",
                token.describe(),
                self.peek().describe()
            ))
        }
    }

    fn or(&mut self) -> Result<Expr, FilterParseError> {
        self.enter()?;
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.advance();
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        self.depth -= 1;
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, FilterParseError> {
        let mut left = self.comparison()?;
        while self.peek_word("and") {
            self.advance();
            let right = self.comparison()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn comparison(&mut self) -> Result<Expr, FilterParseError> {
        let left = self.unary()?;
        let op = match self.peek() {
            Token::Word(w) => match w.as_str() {
                "eq" => CompareOp::Eq,
                "ne" => CompareOp::Ne,
                "gt" => CompareOp::Gt,
                "ge" => CompareOp::Ge,
                "lt" => CompareOp::Lt,
                "le" => CompareOp::Le,
                "in" => {
                    self.advance();
                    let right = if *self.peek() == Token::Open {
                        self.list()?
                    } else {
                        self.unary()?
                    };
                    return Ok(Expr::In(Box::new(left), Box::new(right)));
                }
                "and" | "or" => return Ok(left),
                _ => {
                    return self.error(format!(
                        "expected an operator after the operand, found {}",
                        self.peek().describe()
                    ))
                }
            },
            Token::Close | Token::Comma | Token::End => return Ok(left),
            other => {
                return self.error(format!(
                    "expected an operator after the operand, found {}",
                    other.describe()
                ))
            }
        };
        self.advance();
        let right = self.unary()?;
        Ok(Expr::Compare(Box::new(left), op, Box::new(right)))
    }

    fn unary(&mut self) -> Result<Expr, FilterParseError> {
        if self.peek_word("not") {
            self.enter()?;
            self.advance();
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.primary()
    }

    /// `( item, item, ... )`, possibly empty, always a list.
    fn list(&mut self) -> Result<Expr, FilterParseError> {
        self.expect(Token::Open)?;
        let mut items = Vec::new();
        if *self.peek() != Token::Close {
            loop {
                items.push(self.or()?);
                if *self.peek() == Token::Comma {
                    self.advance();
                } else {
                    break;
                }
            }
        }
        self.expect(Token::Close)?;
        Ok(Expr::List(items))
    }

    fn primary(&mut self) -> Result<Expr, FilterParseError> {
        let position = self.position();
        match self.advance() {
            Token::Str(s) => Ok(Expr::Str(s)),
            Token::Int(i) => Ok(Expr::Int(i)),
            Token::Open => {
                let first = self.or()?;
                if *self.peek() == Token::Comma {
                    let mut items = vec![first];
                    while *self.peek() == Token::Comma {
                        self.advance();
                        items.push(self.or()?);
                    }
                    self.expect(Token::Close)?;
                    return Ok(Expr::List(items));
                }
                self.expect(Token::Close)?;
                Ok(first)
            }
            Token::Word(word) => {
                if *self.peek() == Token::Open {
                    let function = Function::ALL
                        .into_iter()
                        .find(|f| f.as_str().eq_ignore_ascii_case(&word))
                        .ok_or_else(|| {
                            FilterParseError::new(position, format!("unknown function `{word}`"))
                        })?;
                    self.enter()?;
                    let Expr::List(args) = self.list()? else {
                        return self.error("expected an argument list");
                    };
                    self.depth -= 1;
                    if !function.arity().contains(&args.len()) {
                        let arity = function.arity();
                        let expected = if arity.start() == arity.end() {
                            arity.start().to_string()
                        } else {
                            format!("{} to {}", arity.start(), arity.end())
                        };
                        return Err(FilterParseError::new(
                            position,
                            format!(
                                "`{}` takes {expected} arguments, got {}",
                                function.as_str(),
                                args.len()
                            ),
                        ));
                    }
                    return Ok(Expr::Call(function, args));
                }
                match word.to_ascii_lowercase().as_str() {
                    "null" => Ok(Expr::Null),
                    "true" => Ok(Expr::Bool(true)),
                    "false" => Ok(Expr::Bool(false)),
                    "userid" => Ok(Expr::Ident(Identifier::UserId)),
                    "connectionid" => Ok(Expr::Ident(Identifier::ConnectionId)),
                    "groups" => Ok(Expr::Ident(Identifier::Groups)),
                    _ => Err(FilterParseError::new(
                        position,
                        format!(
                            "unknown identifier `{word}` (expected userId, connectionId or groups)"
                        ),
                    )),
                }
            }
            other => Err(FilterParseError::new(
                position,
                format!("expected a value, found {}", other.describe()),
            )),
        }
    }
}

pub(crate) fn parse(input: &str) -> Result<Expr, FilterParseError> {
    if input.len() > MAX_FILTER_BYTES {
        return Err(FilterParseError::new(
            0,
            format!("the filter is longer than {MAX_FILTER_BYTES} bytes"),
        ));
    }
    if input.trim().is_empty() {
        return Err(FilterParseError::new(0, "the filter is empty"));
    }
    let mut parser = Parser {
        tokens: tokenize(input)?,
        next: 0,
        depth: 0,
    };
    let expr = parser.or()?;
    if *parser.peek() != Token::End {
        return parser.error(format!(
            "unexpected {} after the end of the expression",
            parser.peek().describe()
        ));
    }
    Ok(expr)
}
