//! Evaluating a filter against one connection.

use thiserror::Error;

use super::{CompareOp, Expr, Function, Identifier};

/// What a filter sees of a connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionInfo<'a> {
    /// The connection id.
    pub connection_id: &'a str,
    /// The user id, `None` for anonymous connections (`userId eq null`).
    pub user_id: Option<&'a str>,
    /// The groups the connection is in.
    pub groups: &'a [String],
}

/// A filter that parsed but cannot be evaluated: a type error such as `not length(userId)`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("the filter cannot be evaluated: {reason}")]
pub struct EvalError {
    reason: String,
}

impl EvalError {
    fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    List(Vec<Value>),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "integer",
            Value::Str(_) => "string",
            Value::List(_) => "collection",
        }
    }
}

/// `null` (e.g. `startswith(userId, 'a')` for an anonymous connection) counts as false wherever a
/// condition is expected.
pub(crate) fn matches(expr: &Expr, connection: &ConnectionInfo<'_>) -> Result<bool, EvalError> {
    match eval(expr, connection)? {
        Value::Bool(b) => Ok(b),
        Value::Null => Ok(false),
        other => Err(EvalError::new(format!(
            "the filter is a {}, expected bool",
            other.kind()
        ))),
    }
}

fn boolean(expr: &Expr, connection: &ConnectionInfo<'_>, what: &str) -> Result<bool, EvalError> {
    match eval(expr, connection)? {
        Value::Bool(b) => Ok(b),
        Value::Null => Ok(false),
        other => Err(EvalError::new(format!(
            "`{what}` needs bool operands, got {}",
            other.kind()
        ))),
    }
}

fn eval(expr: &Expr, connection: &ConnectionInfo<'_>) -> Result<Value, EvalError> {
    Ok(match expr {
        Expr::Null => Value::Null,
        Expr::Bool(b) => Value::Bool(*b),
        Expr::Int(i) => Value::Int(*i),
        Expr::Str(s) => Value::Str(s.clone()),
        Expr::Ident(Identifier::UserId) => connection
            .user_id
            .map_or(Value::Null, |u| Value::Str(u.to_owned())),
        Expr::Ident(Identifier::ConnectionId) => Value::Str(connection.connection_id.to_owned()),
        Expr::Ident(Identifier::Groups) => Value::List(
            connection
                .groups
                .iter()
                .map(|g| Value::Str(g.clone()))
                .collect(),
        ),
        Expr::List(items) => Value::List(
            items
                .iter()
                .map(|i| eval(i, connection))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Not(inner) => Value::Bool(!boolean(inner, connection, "not")?),
        Expr::And(a, b) => {
            Value::Bool(boolean(a, connection, "and")? && boolean(b, connection, "and")?)
        }
        Expr::Or(a, b) => {
            Value::Bool(boolean(a, connection, "or")? || boolean(b, connection, "or")?)
        }
        Expr::Compare(a, op, b) => compare(eval(a, connection)?, *op, eval(b, connection)?)?,
        Expr::In(a, b) => {
            let needle = eval(a, connection)?;
            match eval(b, connection)? {
                Value::List(items) => Value::Bool(items.contains(&needle)),
                Value::Null => Value::Bool(false),
                single => Value::Bool(single == needle),
            }
        }
        Expr::Call(function, args) => {
            let args = args
                .iter()
                .map(|a| eval(a, connection))
                .collect::<Result<Vec<_>, _>>()?;
            call(*function, args)?
        }
    })
}

fn compare(a: Value, op: CompareOp, b: Value) -> Result<Value, EvalError> {
    use std::cmp::Ordering;
    let ordering: Option<Ordering> = match (&a, &b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    };
    Ok(Value::Bool(match op {
        CompareOp::Eq => a == b,
        CompareOp::Ne => a != b,
        _ => match ordering {
            // Ordering against null is false (OData).
            None if matches!(a, Value::Null) || matches!(b, Value::Null) => false,
            None => {
                return Err(EvalError::new(format!(
                    "`{}` cannot compare a {} with a {}",
                    op.as_str(),
                    a.kind(),
                    b.kind()
                )))
            }
            Some(o) => match op {
                CompareOp::Gt => o == Ordering::Greater,
                CompareOp::Ge => o != Ordering::Less,
                CompareOp::Lt => o == Ordering::Less,
                _ => o != Ordering::Greater,
            },
        },
    }))
}

fn call(function: Function, args: Vec<Value>) -> Result<Value, EvalError> {
    // Any null argument makes the result null (OData).
    if args.contains(&Value::Null) {
        return Ok(Value::Null);
    }
    let type_error = |args: &[Value]| {
        let kinds: Vec<&str> = args.iter().map(Value::kind).collect();
        Err(EvalError::new(format!(
            "`{}` does not take ({})",
            function.as_str(),
            kinds.join(", ")
        )))
    };
    Ok(match (function, args.as_slice()) {
        (Function::ToLower, [Value::Str(s)]) => Value::Str(s.to_lowercase()),
        (Function::ToUpper, [Value::Str(s)]) => Value::Str(s.to_uppercase()),
        (Function::Trim, [Value::Str(s)]) => Value::Str(s.trim().to_owned()),
        (Function::Length, [Value::Str(s)]) => Value::Int(s.chars().count() as i64),
        (Function::Length, [Value::List(items)]) => Value::Int(items.len() as i64),
        (Function::StartsWith, [Value::Str(s), Value::Str(p)]) => {
            Value::Bool(s.starts_with(p.as_str()))
        }
        (Function::EndsWith, [Value::Str(s), Value::Str(p)]) => {
            Value::Bool(s.ends_with(p.as_str()))
        }
        (Function::Contains, [Value::Str(s), Value::Str(p)]) => Value::Bool(s.contains(p.as_str())),
        (Function::IndexOf, [Value::Str(s), Value::Str(p)]) => Value::Int(
            s.find(p.as_str())
                .map_or(-1, |byte| s[..byte].chars().count() as i64),
        ),
        (Function::Concat, [Value::Str(a), Value::Str(b)]) => Value::Str(format!("{a}{b}")),
        (Function::Substring, [Value::Str(s), Value::Int(start), rest @ ..]) => {
            let start = usize::try_from(*start)
                .map_err(|_| EvalError::new("`substring` needs a start of 0 or more"))?;
            let chars = s.chars().skip(start);
            match rest {
                [] => Value::Str(chars.collect()),
                [Value::Int(n)] => {
                    let n = usize::try_from(*n)
                        .map_err(|_| EvalError::new("`substring` needs a length of 0 or more"))?;
                    Value::Str(chars.take(n).collect())
                }
                _ => return type_error(&args),
            }
        }
        _ => return type_error(&args),
    })
}
