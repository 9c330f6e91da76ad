//! The expression language of `expression:` outputs, parsed once into a
//! tree: numbers, names (the input, other outputs, attributes) with an
//! optional sample shift `name[-1]`, `+ - * / ^` (also `− × ÷`),
//! comparisons, and the functions abs, sqrt, log, exp, min, max, clip and
//! where. Errors name the column (1-based) where the text goes wrong.

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f32),
    /// A name, shifted by whole samples along the trace (`x[-1]`: the
    /// sample above).
    Name {
        name: String,
        shift: i64,
        column: usize,
    },
    Neg(Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
    Call {
        func: Func,
        args: Vec<Expr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Abs,
    Sqrt,
    Log,
    Exp,
    Min,
    Max,
    Clip,
    Where,
}

impl Func {
    fn named(name: &str) -> Option<(Func, usize)> {
        Some(match name {
            "abs" => (Func::Abs, 1),
            "sqrt" => (Func::Sqrt, 1),
            "log" => (Func::Log, 1),
            "exp" => (Func::Exp, 1),
            "min" => (Func::Min, 2),
            "max" => (Func::Max, 2),
            "clip" => (Func::Clip, 3),
            "where" => (Func::Where, 3),
            _ => return None,
        })
    }
}

/// What is wrong, and at which column (1-based, in characters).
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f32),
    Ident(String),
    Op(char),
    Cmp(Op),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    End,
}

/// Tokens with their columns.
fn lex(text: &str) -> Result<Vec<(Tok, usize)>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            // an exponent: 1e-3
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                let mut j = i + 1;
                if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
                    j += 1;
                }
                if j < chars.len() && chars[j].is_ascii_digit() {
                    i = j;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let s: String = chars[start..i].iter().collect();
            let v = s.parse::<f32>().map_err(|_| ParseError {
                column,
                message: format!("'{s}' is not a number"),
            })?;
            out.push((Tok::Num(v), column));
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push((Tok::Ident(chars[start..i].iter().collect()), column));
            continue;
        }
        let two = |next: char| chars.get(i + 1) == Some(&next);
        let (tok, len) = match c {
            '+' => (Tok::Op('+'), 1),
            '-' | '−' => (Tok::Op('-'), 1),
            '*' | '×' => (Tok::Op('*'), 1),
            '/' | '÷' => (Tok::Op('/'), 1),
            '^' => (Tok::Op('^'), 1),
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            '[' => (Tok::LBracket, 1),
            ']' => (Tok::RBracket, 1),
            ',' => (Tok::Comma, 1),
            '<' if two('=') => (Tok::Cmp(Op::Le), 2),
            '>' if two('=') => (Tok::Cmp(Op::Ge), 2),
            '=' if two('=') => (Tok::Cmp(Op::Eq), 2),
            '!' if two('=') => (Tok::Cmp(Op::Ne), 2),
            '<' => (Tok::Cmp(Op::Lt), 1),
            '>' => (Tok::Cmp(Op::Gt), 1),
            '≤' => (Tok::Cmp(Op::Le), 1),
            '≥' => (Tok::Cmp(Op::Ge), 1),
            _ => {
                return Err(ParseError {
                    column,
                    message: format!("unexpected '{c}'"),
                })
            }
        };
        out.push((tok, column));
        i += len;
    }
    out.push((Tok::End, chars.len() + 1));
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.at].0
    }
    fn column(&self) -> usize {
        self.toks[self.at].1
    }
    fn next(&mut self) -> (Tok, usize) {
        let t = self.toks[self.at].clone();
        if self.at + 1 < self.toks.len() {
            self.at += 1;
        }
        t
    }
    fn fail<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            column: self.column(),
            message: message.into(),
        })
    }
    fn expect(&mut self, tok: Tok, what: &str) -> Result<(), ParseError> {
        if *self.peek() == tok {
            self.next();
            Ok(())
        } else {
            self.fail(format!("expected {what}"))
        }
    }

    /// comparison := sum (cmp sum)?
    fn comparison(&mut self) -> Result<Expr, ParseError> {
        let left = self.sum()?;
        if let Tok::Cmp(op) = *self.peek() {
            self.next();
            let right = self.sum()?;
            return Ok(Expr::Bin(op, Box::new(left), Box::new(right)));
        }
        Ok(left)
    }

    fn sum(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.product()?;
        while let Tok::Op(c @ ('+' | '-')) = *self.peek() {
            self.next();
            let right = self.product()?;
            let op = if c == '+' { Op::Add } else { Op::Sub };
            left = Expr::Bin(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn product(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        while let Tok::Op(c @ ('*' | '/')) = *self.peek() {
            self.next();
            let right = self.unary()?;
            let op = if c == '*' { Op::Mul } else { Op::Div };
            left = Expr::Bin(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        match *self.peek() {
            Tok::Op('-') => {
                self.next();
                Ok(Expr::Neg(Box::new(self.unary()?)))
            }
            Tok::Op('+') => {
                self.next();
                self.unary()
            }
            _ => self.power(),
        }
    }

    /// power := primary (^ unary)?, right-associative: 2^-1, a^b^c
    fn power(&mut self) -> Result<Expr, ParseError> {
        let base = self.primary()?;
        if *self.peek() == Tok::Op('^') {
            self.next();
            let exp = self.unary()?;
            return Ok(Expr::Bin(Op::Pow, Box::new(base), Box::new(exp)));
        }
        Ok(base)
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let (tok, column) = self.next();
        match tok {
            Tok::Num(v) => Ok(Expr::Num(v)),
            Tok::LParen => {
                let e = self.comparison()?;
                self.expect(Tok::RParen, "')'")?;
                Ok(e)
            }
            Tok::Ident(name) if *self.peek() == Tok::LParen => {
                let Some((func, arity)) = Func::named(&name) else {
                    return Err(ParseError {
                        column,
                        message: format!(
                            "unknown function '{name}' (abs, sqrt, log, exp, min, max, clip, where)"
                        ),
                    });
                };
                self.next();
                let mut args = vec![self.comparison()?];
                while *self.peek() == Tok::Comma {
                    self.next();
                    args.push(self.comparison()?);
                }
                self.expect(Tok::RParen, "',' or ')'")?;
                if args.len() != arity {
                    return Err(ParseError {
                        column,
                        message: format!("{name} takes {arity} argument(s), got {}", args.len()),
                    });
                }
                Ok(Expr::Call { func, args })
            }
            Tok::Ident(name) => {
                let mut shift = 0;
                if *self.peek() == Tok::LBracket {
                    self.next();
                    let sign = match *self.peek() {
                        Tok::Op('-') => {
                            self.next();
                            -1
                        }
                        Tok::Op('+') => {
                            self.next();
                            1
                        }
                        _ => 1,
                    };
                    match self.next() {
                        (Tok::Num(v), _) if v.fract() == 0.0 && v.abs() <= 10_000.0 => {
                            shift = sign * v as i64
                        }
                        (_, c) => {
                            return Err(ParseError {
                                column: c,
                                message: "a sample shift is a whole number: x[-1], x[2]".into(),
                            })
                        }
                    }
                    self.expect(Tok::RBracket, "']'")?;
                }
                Ok(Expr::Name {
                    name,
                    shift,
                    column,
                })
            }
            Tok::End => Err(ParseError {
                column,
                message: "the expression ends too soon".into(),
            }),
            _ => Err(ParseError {
                column,
                message: "expected a number, a name, a function or '('".into(),
            }),
        }
    }
}

/// Parse `text` whole.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    let mut p = Parser {
        toks: lex(text)?,
        at: 0,
    };
    let e = p.comparison()?;
    if *p.peek() != Tok::End {
        return p.fail("unexpected text after the expression");
    }
    Ok(e)
}

impl Expr {
    /// Every name with the shifts it is read at.
    pub fn names(&self, out: &mut Vec<(String, i64, usize)>) {
        match self {
            Expr::Num(_) => {}
            Expr::Name {
                name,
                shift,
                column,
            } => out.push((name.clone(), *shift, *column)),
            Expr::Neg(e) => e.names(out),
            Expr::Bin(_, a, b) => {
                a.names(out);
                b.names(out);
            }
            Expr::Call { args, .. } => args.iter().for_each(|a| a.names(out)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str, shift: i64, column: usize) -> Expr {
        Expr::Name {
            name: n.into(),
            shift,
            column,
        }
    }

    #[test]
    fn precedence_shifts_and_functions() {
        let e = parse("a + 2 * b[-1] ^ 2").unwrap();
        let want = Expr::Bin(
            Op::Add,
            Box::new(name("a", 0, 1)),
            Box::new(Expr::Bin(
                Op::Mul,
                Box::new(Expr::Num(2.0)),
                Box::new(Expr::Bin(
                    Op::Pow,
                    Box::new(name("b", -1, 9)),
                    Box::new(Expr::Num(2.0)),
                )),
            )),
        );
        assert_eq!(e, want);
        let e = parse("where(x >= 0.5, clip(x, 0, 1e1), −x)").unwrap();
        assert!(matches!(e, Expr::Call { func: Func::Where, ref args } if args.len() == 3));
        assert_eq!(
            parse("-2^2").unwrap(),
            Expr::Neg(Box::new(Expr::Bin(
                Op::Pow,
                Box::new(Expr::Num(2.0)),
                Box::new(Expr::Num(2.0))
            )))
        );
    }

    #[test]
    fn errors_point_at_the_column() {
        let col = |t: &str| parse(t).unwrap_err().column;
        assert_eq!(col("a + * b"), 5);
        assert_eq!(col("sqrt(a, b)"), 1);
        assert_eq!(col("foo(a)"), 1);
        assert_eq!(col("a[1.5]"), 3);
        assert_eq!(col("(a + b"), 7);
        assert_eq!(col("a $ b"), 3);
        assert_eq!(col("a b"), 3);
    }
}
