//! SOQL tokens and the parser for the subset the simulator serves: SELECT fields (with
//! parent relationship paths), COUNT() and COUNT(field), FROM one object, WHERE with
//! = != <> < > <= >= LIKE IN NOT IN INCLUDES EXCLUDES AND OR NOT and parentheses, NULL,
//! booleans, numbers, strings, date/datetime literals and date keywords, ORDER BY, LIMIT, OFFSET.

use super::SoqlError;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    Date(String),
    DateTime(String),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
    Dot,
    Colon,
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    pos: usize,
    text: String,
}

fn lex(q: &str) -> Result<Vec<Token>, SoqlError> {
    let b = q.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i] as char;
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let push = |out: &mut Vec<Token>, tok: Tok, end: usize| {
            out.push(Token {
                tok,
                pos: start,
                text: q[start..end].to_string(),
            })
        };
        match c {
            '(' => {
                i += 1;
                push(&mut out, Tok::LParen, i)
            }
            ')' => {
                i += 1;
                push(&mut out, Tok::RParen, i)
            }
            ',' => {
                i += 1;
                push(&mut out, Tok::Comma, i)
            }
            '.' => {
                i += 1;
                push(&mut out, Tok::Dot, i)
            }
            ':' => {
                i += 1;
                push(&mut out, Tok::Colon, i)
            }
            '=' => {
                i += 1;
                push(&mut out, Tok::Op("="), i)
            }
            '!' if b.get(i + 1) == Some(&b'=') => {
                i += 2;
                push(&mut out, Tok::Op("!="), i)
            }
            '<' => {
                let (op, n) = match b.get(i + 1) {
                    Some(b'=') => ("<=", 2),
                    Some(b'>') => ("!=", 2),
                    _ => ("<", 1),
                };
                i += n;
                push(&mut out, Tok::Op(op), i)
            }
            '>' => {
                let (op, n) = if b.get(i + 1) == Some(&b'=') {
                    (">=", 2)
                } else {
                    (">", 1)
                };
                i += n;
                push(&mut out, Tok::Op(op), i)
            }
            '\'' => {
                i += 1;
                let mut s = String::new();
                loop {
                    match q[i..].chars().next() {
                        None => {
                            return Err(SoqlError::malformed(
                                q,
                                start,
                                "unterminated string literal",
                            ));
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some('\\') => {
                            let esc = q[i + 1..].chars().next().ok_or_else(|| {
                                SoqlError::malformed(q, i, "unterminated string literal")
                            })?;
                            s.push(match esc {
                                'n' => '\n',
                                't' => '\t',
                                'r' => '\r',
                                other => other,
                            });
                            i += 1 + esc.len_utf8();
                        }
                        Some(ch) => {
                            s.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                out.push(Token {
                    tok: Tok::Str(s),
                    pos: start,
                    text: q[start..i].to_string(),
                });
            }
            _ if c.is_ascii_digit()
                || (c == '-' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                // A date (yyyy-mm-dd), a datetime (with T, time and zone) or a number.
                let rest = &q[i..];
                // All ten bytes checked: a multi-byte character there is not a date (and
                // slicing inside it would panic; the fuzzer found that).
                let is_date = rest.len() >= 10
                    && rest.as_bytes()[..10]
                        .iter()
                        .enumerate()
                        .all(|(k, d)| match k {
                            4 | 7 => *d == b'-',
                            _ => d.is_ascii_digit(),
                        });
                if is_date {
                    i += 10;
                    if b.get(i) == Some(&b'T') {
                        i += 1;
                        while i < b.len()
                            && (b[i].is_ascii_digit()
                                || matches!(b[i], b':' | b'.' | b'+' | b'-' | b'Z'))
                        {
                            i += 1;
                        }
                        push(&mut out, Tok::DateTime(q[start..i].to_string()), i);
                    } else {
                        push(&mut out, Tok::Date(q[start..i].to_string()), i);
                    }
                } else {
                    i += 1;
                    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                        i += 1;
                    }
                    push(&mut out, Tok::Num(q[start..i].to_string()), i);
                }
            }
            _ if c.is_ascii_alphabetic() || c == '_' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                push(&mut out, Tok::Ident(q[start..i].to_string()), i);
            }
            _ => {
                return Err(SoqlError::malformed(
                    q,
                    start,
                    &format!("unexpected token: '{c}'"),
                ));
            }
        }
    }
    out.push(Token {
        tok: Tok::End,
        pos: q.len(),
        text: "<EOF>".into(),
    });
    Ok(out)
}

#[derive(Debug, Clone)]
pub struct Path {
    pub parts: Vec<String>,
    pub pos: usize,
}

#[derive(Debug, Clone)]
pub enum SelectItem {
    Field(Path),
    CountAll,
    Count { field: Path, alias: Option<String> },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Date(String),
    DateTime(String),
    /// TODAY, LAST_N_DAYS:n, ...
    Keyword(String, Option<i64>),
}

#[derive(Debug, Clone)]
pub enum Cond {
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
    Cmp {
        path: Path,
        op: &'static str,
        value: Lit,
        pos: usize,
    },
    In {
        path: Path,
        negated: bool,
        values: Vec<Lit>,
        pos: usize,
    },
    Like {
        path: Path,
        pattern: String,
    },
    Includes {
        path: Path,
        excludes: bool,
        values: Vec<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Order {
    pub path: Path,
    pub desc: bool,
    pub nulls_last: bool,
}

#[derive(Debug, Clone)]
pub struct Query {
    pub select: Vec<SelectItem>,
    pub from: String,
    pub from_pos: usize,
    pub filter: Option<Cond>,
    pub order: Vec<Order>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

struct Parser<'a> {
    q: &'a str,
    toks: Vec<Token>,
    i: usize,
}

const DATE_KEYWORDS: &[&str] = &[
    "YESTERDAY",
    "TODAY",
    "TOMORROW",
    "LAST_WEEK",
    "THIS_WEEK",
    "NEXT_WEEK",
    "LAST_MONTH",
    "THIS_MONTH",
    "NEXT_MONTH",
    "LAST_90_DAYS",
    "NEXT_90_DAYS",
    "THIS_YEAR",
    "LAST_YEAR",
    "NEXT_YEAR",
];
const DATE_KEYWORDS_N: &[&str] = &[
    "LAST_N_DAYS",
    "NEXT_N_DAYS",
    "LAST_N_WEEKS",
    "NEXT_N_WEEKS",
    "LAST_N_MONTHS",
    "NEXT_N_MONTHS",
];

impl<'a> Parser<'a> {
    fn peek(&self) -> &Token {
        &self.toks[self.i.min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        self.i += 1;
        t
    }

    fn unexpected(&self) -> SoqlError {
        let t = self.peek();
        SoqlError::malformed(self.q, t.pos, &format!("unexpected token: '{}'", t.text))
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        let yes = self.is_kw(kw);
        if yes {
            self.i += 1;
        }
        yes
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), SoqlError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn expect(&mut self, tok: Tok) -> Result<(), SoqlError> {
        if self.peek().tok == tok {
            self.i += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn ident(&mut self) -> Result<(String, usize), SoqlError> {
        match self.peek().tok.clone() {
            Tok::Ident(s) => {
                let pos = self.peek().pos;
                self.i += 1;
                Ok((s, pos))
            }
            _ => Err(self.unexpected()),
        }
    }

    fn path(&mut self) -> Result<Path, SoqlError> {
        let (first, pos) = self.ident()?;
        let mut parts = vec![first];
        while self.peek().tok == Tok::Dot {
            self.i += 1;
            parts.push(self.ident()?.0);
        }
        Ok(Path { parts, pos })
    }

    fn select_item(&mut self) -> Result<SelectItem, SoqlError> {
        if self.is_kw("COUNT")
            && self
                .toks
                .get(self.i + 1)
                .is_some_and(|t| t.tok == Tok::LParen)
        {
            self.i += 2;
            if self.peek().tok == Tok::RParen {
                self.i += 1;
                return Ok(SelectItem::CountAll);
            }
            let field = self.path()?;
            self.expect(Tok::RParen)?;
            let alias = match &self.peek().tok {
                Tok::Ident(s) if !s.eq_ignore_ascii_case("FROM") => Some(self.ident()?.0),
                _ => None,
            };
            return Ok(SelectItem::Count { field, alias });
        }
        Ok(SelectItem::Field(self.path()?))
    }

    fn literal(&mut self) -> Result<Lit, SoqlError> {
        let t = self.next();
        Ok(match t.tok {
            Tok::Str(s) => Lit::Str(s),
            Tok::Num(n) => Lit::Num(n.parse().map_err(|_| {
                SoqlError::malformed(self.q, t.pos, &format!("unexpected token: '{n}'"))
            })?),
            Tok::Date(d) => Lit::Date(d),
            Tok::DateTime(d) => Lit::DateTime(d),
            Tok::Ident(s) if s.eq_ignore_ascii_case("null") => Lit::Null,
            Tok::Ident(s) if s.eq_ignore_ascii_case("true") => Lit::Bool(true),
            Tok::Ident(s) if s.eq_ignore_ascii_case("false") => Lit::Bool(false),
            Tok::Ident(s) if DATE_KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(&s)) => {
                Lit::Keyword(s.to_ascii_uppercase(), None)
            }
            Tok::Ident(s) if DATE_KEYWORDS_N.iter().any(|k| k.eq_ignore_ascii_case(&s)) => {
                self.expect(Tok::Colon)?;
                let n = self.next();
                match n.tok {
                    Tok::Num(v) => Lit::Keyword(s.to_ascii_uppercase(), v.parse().ok()),
                    _ => {
                        return Err(SoqlError::malformed(
                            self.q,
                            n.pos,
                            &format!("unexpected token: '{}'", n.text),
                        ));
                    }
                }
            }
            _ => {
                return Err(SoqlError::malformed(
                    self.q,
                    t.pos,
                    &format!("unexpected token: '{}'", t.text),
                ));
            }
        })
    }

    fn list(&mut self) -> Result<Vec<Lit>, SoqlError> {
        self.expect(Tok::LParen)?;
        let mut v = vec![self.literal()?];
        while self.peek().tok == Tok::Comma {
            self.i += 1;
            v.push(self.literal()?);
        }
        self.expect(Tok::RParen)?;
        Ok(v)
    }

    fn primary(&mut self) -> Result<Cond, SoqlError> {
        if self.peek().tok == Tok::LParen {
            self.i += 1;
            let c = self.or()?;
            self.expect(Tok::RParen)?;
            return Ok(c);
        }
        let path = self.path()?;
        let pos = self.peek().pos;
        if let Tok::Op(op) = self.peek().tok {
            self.i += 1;
            let value = self.literal()?;
            return Ok(Cond::Cmp {
                path,
                op,
                value,
                pos,
            });
        }
        if self.eat_kw("LIKE") {
            return match self.literal()? {
                Lit::Str(pattern) => Ok(Cond::Like { path, pattern }),
                _ => Err(SoqlError::malformed(
                    self.q,
                    pos,
                    "LIKE needs a string pattern",
                )),
            };
        }
        if self.eat_kw("IN") {
            return Ok(Cond::In {
                path,
                negated: false,
                values: self.list()?,
                pos,
            });
        }
        if self.is_kw("NOT")
            && matches!(&self.toks.get(self.i + 1).map(|t| &t.tok), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("IN"))
        {
            self.i += 2;
            return Ok(Cond::In {
                path,
                negated: true,
                values: self.list()?,
                pos,
            });
        }
        for (kw, excludes) in [("INCLUDES", false), ("EXCLUDES", true)] {
            if self.eat_kw(kw) {
                let values = self
                    .list()?
                    .into_iter()
                    .map(|l| match l {
                        Lit::Str(s) => Ok(s),
                        _ => Err(SoqlError::malformed(
                            self.q,
                            pos,
                            &format!("{kw} takes string values"),
                        )),
                    })
                    .collect::<Result<_, _>>()?;
                return Ok(Cond::Includes {
                    path,
                    excludes,
                    values,
                });
            }
        }
        Err(self.unexpected())
    }

    fn not(&mut self) -> Result<Cond, SoqlError> {
        if self.eat_kw("NOT") {
            return Ok(Cond::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn and(&mut self) -> Result<Cond, SoqlError> {
        let mut c = self.not()?;
        while self.eat_kw("AND") {
            c = Cond::And(Box::new(c), Box::new(self.not()?));
        }
        Ok(c)
    }

    fn or(&mut self) -> Result<Cond, SoqlError> {
        let mut c = self.and()?;
        while self.eat_kw("OR") {
            c = Cond::Or(Box::new(c), Box::new(self.and()?));
        }
        Ok(c)
    }

    fn number(&mut self) -> Result<usize, SoqlError> {
        let t = self.next();
        match t.tok {
            Tok::Num(n) => n.parse().map_err(|_| {
                SoqlError::malformed(self.q, t.pos, &format!("unexpected token: '{n}'"))
            }),
            _ => Err(SoqlError::malformed(
                self.q,
                t.pos,
                &format!("unexpected token: '{}'", t.text),
            )),
        }
    }

    fn query(&mut self) -> Result<Query, SoqlError> {
        self.expect_kw("SELECT")?;
        let mut select = vec![self.select_item()?];
        while self.peek().tok == Tok::Comma {
            self.i += 1;
            select.push(self.select_item()?);
        }
        self.expect_kw("FROM")?;
        let (from, from_pos) = self.ident()?;
        let mut q = Query {
            select,
            from,
            from_pos,
            filter: None,
            order: Vec::new(),
            limit: None,
            offset: None,
        };
        if self.eat_kw("WHERE") {
            q.filter = Some(self.or()?);
        }
        if self.eat_kw("ORDER") {
            self.expect_kw("BY")?;
            loop {
                let path = self.path()?;
                let desc = self.eat_kw("DESC");
                if !desc {
                    self.eat_kw("ASC");
                }
                let mut nulls_last = false;
                if self.eat_kw("NULLS") {
                    if self.eat_kw("LAST") {
                        nulls_last = true;
                    } else {
                        self.expect_kw("FIRST")?;
                    }
                }
                q.order.push(Order {
                    path,
                    desc,
                    nulls_last,
                });
                if self.peek().tok != Tok::Comma {
                    break;
                }
                self.i += 1;
            }
        }
        if self.eat_kw("LIMIT") {
            q.limit = Some(self.number()?);
        }
        if self.eat_kw("OFFSET") {
            q.offset = Some(self.number()?);
        }
        if self.peek().tok != Tok::End {
            return Err(self.unexpected());
        }
        Ok(q)
    }
}

pub fn parse(q: &str) -> Result<Query, SoqlError> {
    let toks = lex(q)?;
    // A statement that is no SELECT at all is refused without a position: "unexpected
    // token: q" (answer pasted in github.com/xjsender/SublimeApex/issues/23).
    if let Some(first) = toks.first()
        && !matches!(&first.tok, Tok::Ident(s) if s.eq_ignore_ascii_case("SELECT"))
        && first.tok != Tok::End
    {
        return Err(SoqlError {
            code: "MALFORMED_QUERY",
            message: format!("unexpected token: {}", first.text),
        });
    }
    Parser { q, toks, i: 0 }.query()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multibyte_character_where_a_date_would_be_is_an_error_not_a_panic() {
        // Found by `cargo fuzz run soql`.
        let q = "SELECT Id FROM Lead WHERE CreatedDate > 2024-01-0\u{3ef}0060";
        assert!(parse(q).is_err());
        assert!(parse("SELECT Id FROM Lead WHERE Birthdate = 2024-01-05").is_ok());
    }

    #[test]
    fn parses_the_supported_subset() {
        let q = parse(
            "SELECT Id, Account.Name, COUNT(Id) total FROM Contact WHERE (Email LIKE '%@x.example' OR NOT Name IN ('a','b')) AND CreatedDate > LAST_N_DAYS:30 AND Birthdate != null ORDER BY LastName DESC NULLS LAST, Id LIMIT 5 OFFSET 2",
        )
        .unwrap();
        assert_eq!(q.from, "Contact");
        assert_eq!(q.select.len(), 3);
        assert_eq!(q.order.len(), 2);
        assert!(q.order[0].desc && q.order[0].nulls_last);
        assert_eq!((q.limit, q.offset), (Some(5), Some(2)));
    }

    #[test]
    fn literals_lex_to_their_types() {
        let q = parse("SELECT Id FROM Lead WHERE SystemModstamp >= 2024-01-02T03:04:05.000+0000 AND CloseDate = 2024-01-02 AND Amount > -1.5 AND Name = 'O\\'Brien'").unwrap();
        let Some(Cond::And(..)) = q.filter else {
            panic!("not an AND")
        };
    }

    #[test]
    fn malformed_queries_point_at_the_bad_token() {
        let e = parse("SELECT Id FRM Lead").unwrap_err();
        assert_eq!(e.code, "MALFORMED_QUERY");
        assert!(
            e.message.contains("ERROR at Row:1:Column:11"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("unexpected token: 'FRM'"),
            "{}",
            e.message
        );
        assert!(parse("SELECT Id FROM Lead WHERE").is_err());
        assert!(parse("SELECT Id FROM Lead GROUP BY Name").is_err());
        assert!(parse("SELECT FROM Lead").is_err());
        assert!(parse("SELECT Id FROM Lead WHERE Name = 'open").is_err());
    }
}
