//! SOQL tokens and the parser for what the simulator serves: SELECT fields (with parent
//! relationship paths), `toLabel()`/`convertCurrency()`/`FORMAT()`, `FIELDS(ALL|STANDARD|
//! CUSTOM)`, parent-to-child subqueries, aggregates (`COUNT()`, `COUNT`, `COUNT_DISTINCT`,
//! `SUM`, `AVG`, `MIN`, `MAX`, with aliases) and date functions; FROM one object; WHERE with
//! = != <> < > <= >= LIKE IN NOT IN INCLUDES EXCLUDES, semi- and anti-joins
//! (`Id IN (SELECT …)`), date functions, AND OR NOT and parentheses, NULL, booleans, numbers,
//! strings, date/datetime literals and every date literal; `WITH SECURITY_ENFORCED` (and
//! USER_MODE, SYSTEM_MODE), GROUP BY, HAVING, ORDER BY, LIMIT, OFFSET, `FOR VIEW|REFERENCE|
//! UPDATE`. Anything else is refused with Salesforce's error, never a panic.

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

/// An aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agg {
    Count,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
}

impl Agg {
    fn parse(name: &str) -> Option<Agg> {
        Some(match name.to_ascii_uppercase().as_str() {
            "COUNT" => Agg::Count,
            "COUNT_DISTINCT" => Agg::CountDistinct,
            "SUM" => Agg::Sum,
            "AVG" => Agg::Avg,
            "MIN" => Agg::Min,
            "MAX" => Agg::Max,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Agg::Count => "COUNT",
            Agg::CountDistinct => "COUNT_DISTINCT",
            Agg::Sum => "SUM",
            Agg::Avg => "AVG",
            Agg::Min => "MIN",
            Agg::Max => "MAX",
        }
    }
}

/// A date function (`CALENDAR_YEAR(CreatedDate)`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateFn {
    CalendarMonth,
    CalendarQuarter,
    CalendarYear,
    DayInMonth,
    DayInWeek,
    DayInYear,
    DayOnly,
    FiscalMonth,
    FiscalQuarter,
    FiscalYear,
    HourInDay,
    WeekInMonth,
    WeekInYear,
}

impl DateFn {
    fn parse(name: &str) -> Option<DateFn> {
        use DateFn::*;
        Some(match name.to_ascii_uppercase().as_str() {
            "CALENDAR_MONTH" => CalendarMonth,
            "CALENDAR_QUARTER" => CalendarQuarter,
            "CALENDAR_YEAR" => CalendarYear,
            "DAY_IN_MONTH" => DayInMonth,
            "DAY_IN_WEEK" => DayInWeek,
            "DAY_IN_YEAR" => DayInYear,
            "DAY_ONLY" => DayOnly,
            "FISCAL_MONTH" => FiscalMonth,
            "FISCAL_QUARTER" => FiscalQuarter,
            "FISCAL_YEAR" => FiscalYear,
            "HOUR_IN_DAY" => HourInDay,
            "WEEK_IN_MONTH" => WeekInMonth,
            "WEEK_IN_YEAR" => WeekInYear,
            _ => return None,
        })
    }
}

/// A value of one row: a field, or a date function of one.
#[derive(Debug, Clone)]
pub enum Expr {
    Field(Path),
    Date(DateFn, Path),
}

impl Expr {
    pub fn path(&self) -> &Path {
        match self {
            Expr::Field(p) | Expr::Date(_, p) => p,
        }
    }

    /// Same expression (for matching GROUP BY, HAVING and ORDER BY to the SELECT list).
    pub fn same(&self, other: &Expr) -> bool {
        let eq = |a: &Path, b: &Path| {
            a.parts.len() == b.parts.len()
                && a.parts
                    .iter()
                    .zip(&b.parts)
                    .all(|(x, y)| x.eq_ignore_ascii_case(y))
        };
        match (self, other) {
            (Expr::Field(a), Expr::Field(b)) => eq(a, b),
            (Expr::Date(f, a), Expr::Date(g, b)) => f == g && eq(a, b),
            _ => false,
        }
    }
}

/// `FIELDS(ALL|STANDARD|CUSTOM)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldSet {
    All,
    Standard,
    Custom,
}

#[derive(Debug, Clone)]
pub enum SelectItem {
    /// A field (also under `toLabel()`, `convertCurrency()` or `FORMAT()`, which the
    /// simulator answers with the stored value).
    Field(Path),
    CountAll,
    Aggregate {
        agg: Agg,
        arg: Expr,
        alias: Option<String>,
        pos: usize,
    },
    /// A date function of a grouped field.
    Date {
        func: DateFn,
        path: Path,
        alias: Option<String>,
    },
    /// A parent-to-child subquery: `(SELECT LastName FROM Contacts)`.
    Subquery(Box<Query>),
    Fields {
        set: FieldSet,
        pos: usize,
    },
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
    /// `CALENDAR_YEAR(CreatedDate) = 2024`, `DAY_ONLY(CreatedDate) = 2024-01-05`.
    DateCmp {
        func: DateFn,
        path: Path,
        op: &'static str,
        value: Lit,
        pos: usize,
    },
    /// A semi-join (`Id IN (SELECT AccountId FROM Contact)`) or anti-join (`NOT IN`).
    InQuery {
        path: Path,
        negated: bool,
        query: Box<Query>,
        pos: usize,
    },
    /// `COUNT(Id) > 1` — HAVING only.
    AggCmp {
        agg: Agg,
        arg: Option<Expr>,
        op: &'static str,
        value: Lit,
        pos: usize,
    },
}

/// What a query is ordered by: a row's value, or (grouped) an aggregate.
#[derive(Debug, Clone)]
pub enum OrderKey {
    Expr(Expr),
    Agg(Agg, Option<Expr>),
}

#[derive(Debug, Clone)]
pub struct Order {
    pub key: OrderKey,
    pub pos: usize,
    pub desc: bool,
    pub nulls_last: bool,
}

#[derive(Debug, Clone)]
pub struct Query {
    pub select: Vec<SelectItem>,
    pub from: String,
    pub from_pos: usize,
    pub filter: Option<Cond>,
    pub group_by: Vec<Expr>,
    pub having: Option<Cond>,
    pub order: Vec<Order>,
    pub limit: Option<usize>,
    pub limit_pos: usize,
    pub offset: Option<usize>,
}

struct Parser<'a> {
    q: &'a str,
    toks: Vec<Token>,
    i: usize,
}

/// Every date literal of the SOQL reference (fiscal ones follow the default fiscal year,
/// which starts in January).
pub const DATE_KEYWORDS: &[&str] = &[
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
    "THIS_QUARTER",
    "LAST_QUARTER",
    "NEXT_QUARTER",
    "THIS_YEAR",
    "LAST_YEAR",
    "NEXT_YEAR",
    "THIS_FISCAL_QUARTER",
    "LAST_FISCAL_QUARTER",
    "NEXT_FISCAL_QUARTER",
    "THIS_FISCAL_YEAR",
    "LAST_FISCAL_YEAR",
    "NEXT_FISCAL_YEAR",
];
/// Date literals that take `:n`.
pub const DATE_KEYWORDS_N: &[&str] = &[
    "LAST_N_DAYS",
    "NEXT_N_DAYS",
    "N_DAYS_AGO",
    "LAST_N_WEEKS",
    "NEXT_N_WEEKS",
    "N_WEEKS_AGO",
    "LAST_N_MONTHS",
    "NEXT_N_MONTHS",
    "N_MONTHS_AGO",
    "LAST_N_QUARTERS",
    "NEXT_N_QUARTERS",
    "N_QUARTERS_AGO",
    "LAST_N_YEARS",
    "NEXT_N_YEARS",
    "N_YEARS_AGO",
    "LAST_N_FISCAL_QUARTERS",
    "NEXT_N_FISCAL_QUARTERS",
    "N_FISCAL_QUARTERS_AGO",
    "LAST_N_FISCAL_YEARS",
    "NEXT_N_FISCAL_YEARS",
    "N_FISCAL_YEARS_AGO",
];

/// Functions over a field that answer with the field's value here.
const VALUE_FUNCTIONS: &[&str] = &["TOLABEL", "CONVERTCURRENCY", "FORMAT"];

/// Words that end a SELECT item or start a clause, so never an alias.
const CLAUSE_WORDS: &[&str] = &[
    "FROM", "WHERE", "WITH", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "FOR",
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

    /// Is the token after this one an opening parenthesis (a function call)?
    fn calls(&self) -> bool {
        self.toks
            .get(self.i + 1)
            .is_some_and(|t| t.tok == Tok::LParen)
    }

    fn is_subquery(&self) -> bool {
        self.peek().tok == Tok::LParen
            && matches!(self.toks.get(self.i + 1).map(|t| &t.tok), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("SELECT"))
    }

    /// An alias after an aggregate or a date function.
    fn alias(&mut self) -> Result<Option<String>, SoqlError> {
        match &self.peek().tok {
            Tok::Ident(s) if !CLAUSE_WORDS.iter().any(|w| w.eq_ignore_ascii_case(s)) => {
                Ok(Some(self.ident()?.0))
            }
            _ => Ok(None),
        }
    }

    /// A field or a date function of one, inside an aggregate or GROUP BY.
    fn expr(&mut self) -> Result<Expr, SoqlError> {
        if let Tok::Ident(name) = &self.peek().tok
            && self.calls()
            && let Some(func) = DateFn::parse(name)
        {
            self.i += 2;
            let path = self.path()?;
            self.expect(Tok::RParen)?;
            return Ok(Expr::Date(func, path));
        }
        Ok(Expr::Field(self.path()?))
    }

    /// `AGG(` … `)` once its name is known: COUNT() has no argument.
    fn aggregate_call(&mut self, agg: Agg) -> Result<Option<Expr>, SoqlError> {
        self.i += 2;
        if agg == Agg::Count && self.peek().tok == Tok::RParen {
            self.i += 1;
            return Ok(None);
        }
        let arg = self.expr()?;
        self.expect(Tok::RParen)?;
        Ok(Some(arg))
    }

    fn select_item(&mut self) -> Result<SelectItem, SoqlError> {
        if self.is_subquery() {
            self.i += 1;
            let q = self.query(true)?;
            self.expect(Tok::RParen)?;
            return Ok(SelectItem::Subquery(Box::new(q)));
        }
        let pos = self.peek().pos;
        let name = match &self.peek().tok {
            Tok::Ident(s) if self.calls() => s.clone(),
            _ => return Ok(SelectItem::Field(self.path()?)),
        };
        if let Some(agg) = Agg::parse(&name) {
            return Ok(match self.aggregate_call(agg)? {
                None => SelectItem::CountAll,
                Some(arg) => SelectItem::Aggregate {
                    agg,
                    arg,
                    alias: self.alias()?,
                    pos,
                },
            });
        }
        if let Some(func) = DateFn::parse(&name) {
            self.i += 2;
            let path = self.path()?;
            self.expect(Tok::RParen)?;
            return Ok(SelectItem::Date {
                func,
                path,
                alias: self.alias()?,
            });
        }
        if name.eq_ignore_ascii_case("FIELDS") {
            self.i += 2;
            let (which, at) = self.ident()?;
            let set = match which.to_ascii_uppercase().as_str() {
                "ALL" => FieldSet::All,
                "STANDARD" => FieldSet::Standard,
                "CUSTOM" => FieldSet::Custom,
                _ => {
                    return Err(SoqlError::malformed(
                        self.q,
                        at,
                        &format!("unexpected token: '{which}'"),
                    ));
                }
            };
            self.expect(Tok::RParen)?;
            return Ok(SelectItem::Fields { set, pos });
        }
        if VALUE_FUNCTIONS
            .iter()
            .any(|f| f.eq_ignore_ascii_case(&name))
        {
            self.i += 2;
            let path = self.path()?;
            self.expect(Tok::RParen)?;
            self.alias()?;
            return Ok(SelectItem::Field(path));
        }
        Err(SoqlError::malformed(
            self.q,
            pos,
            &format!("unexpected token: '{name}'"),
        ))
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
        let start = self.peek().pos;
        if let Tok::Ident(name) = &self.peek().tok
            && self.calls()
        {
            let name = name.clone();
            if let Some(agg) = Agg::parse(&name) {
                let arg = self.aggregate_call(agg)?;
                let pos = self.peek().pos;
                let Tok::Op(op) = self.peek().tok else {
                    return Err(self.unexpected());
                };
                self.i += 1;
                let value = self.literal()?;
                return Ok(Cond::AggCmp {
                    agg,
                    arg,
                    op,
                    value,
                    pos: if pos > start { start } else { pos },
                });
            }
            if let Some(func) = DateFn::parse(&name) {
                self.i += 2;
                let path = self.path()?;
                self.expect(Tok::RParen)?;
                let pos = self.peek().pos;
                let Tok::Op(op) = self.peek().tok else {
                    return Err(self.unexpected());
                };
                self.i += 1;
                let value = self.literal()?;
                return Ok(Cond::DateCmp {
                    func,
                    path,
                    op,
                    value,
                    pos,
                });
            }
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
        let negated = self.is_kw("NOT")
            && matches!(&self.toks.get(self.i + 1).map(|t| &t.tok), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("IN"));
        if negated || self.is_kw("IN") {
            self.i += if negated { 2 } else { 1 };
            if self.is_subquery() {
                self.i += 1;
                let query = self.query(true)?;
                self.expect(Tok::RParen)?;
                return Ok(Cond::InQuery {
                    path,
                    negated,
                    query: Box::new(query),
                    pos,
                });
            }
            return Ok(Cond::In {
                path,
                negated,
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

    fn order_item(&mut self) -> Result<Order, SoqlError> {
        let pos = self.peek().pos;
        let key = match &self.peek().tok {
            Tok::Ident(name) if self.calls() => match Agg::parse(name) {
                Some(agg) => OrderKey::Agg(agg, self.aggregate_call(agg)?),
                None => OrderKey::Expr(self.expr()?),
            },
            _ => OrderKey::Expr(Expr::Field(self.path()?)),
        };
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
        Ok(Order {
            key,
            pos,
            desc,
            nulls_last,
        })
    }

    /// A query; `nested` (a subquery or a semi-join) ends at its closing parenthesis.
    fn query(&mut self, nested: bool) -> Result<Query, SoqlError> {
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
            group_by: Vec::new(),
            having: None,
            order: Vec::new(),
            limit: None,
            limit_pos: 0,
            offset: None,
        };
        if self.eat_kw("WHERE") {
            q.filter = Some(self.or()?);
        }
        if self.eat_kw("WITH") {
            // Field- and object-level security is enforced as the integration user's.
            let (mode, at) = self.ident()?;
            if !["SECURITY_ENFORCED", "USER_MODE", "SYSTEM_MODE"]
                .iter()
                .any(|m| m.eq_ignore_ascii_case(&mode))
            {
                return Err(SoqlError::malformed(
                    self.q,
                    at,
                    &format!("unexpected token: '{mode}'"),
                ));
            }
        }
        if self.eat_kw("GROUP") {
            self.expect_kw("BY")?;
            q.group_by.push(self.expr()?);
            while self.peek().tok == Tok::Comma {
                self.i += 1;
                q.group_by.push(self.expr()?);
            }
        }
        if self.eat_kw("HAVING") {
            q.having = Some(self.or()?);
        }
        if self.eat_kw("ORDER") {
            self.expect_kw("BY")?;
            q.order.push(self.order_item()?);
            while self.peek().tok == Tok::Comma {
                self.i += 1;
                q.order.push(self.order_item()?);
            }
        }
        if self.is_kw("LIMIT") {
            q.limit_pos = self.peek().pos;
            self.i += 1;
            q.limit = Some(self.number()?);
        }
        if self.eat_kw("OFFSET") {
            q.offset = Some(self.number()?);
        }
        if self.eat_kw("FOR") {
            let (what, at) = self.ident()?;
            if !["VIEW", "REFERENCE", "UPDATE"]
                .iter()
                .any(|m| m.eq_ignore_ascii_case(&what))
            {
                return Err(SoqlError::malformed(
                    self.q,
                    at,
                    &format!("unexpected token: '{what}'"),
                ));
            }
        }
        let done = if nested {
            self.peek().tok == Tok::RParen
        } else {
            self.peek().tok == Tok::End
        };
        if !done {
            return Err(self.unexpected());
        }
        Ok(q)
    }
}

/// The longest statement Salesforce takes (its limits page: "Maximum length of SOQL
/// statements: by default, 100,000 characters"). The wording of the refusal is not
/// documented; its code is the one every other refused statement has.
const STATEMENT_MAX: usize = 100_000;

/// A statement a caller sent (`/query`, a Bulk query job), parsed: refused past Salesforce's
/// length. The simulator's own statements (a results page read again by id) are not held to it.
pub fn parse_sent(q: &str) -> Result<Query, SoqlError> {
    let n = q.chars().count();
    if n > STATEMENT_MAX {
        return Err(SoqlError {
            code: "MALFORMED_QUERY",
            message: format!(
                "SOQL statements cannot be longer than {STATEMENT_MAX} characters (this one has {n})"
            ),
        });
    }
    parse(q)
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
    Parser { q, toks, i: 0 }.query(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_past_salesforces_length_is_refused() {
        let ids: Vec<String> = (0..6000).map(|i| format!("'00Q{i:015}'")).collect();
        let long = format!("SELECT Id FROM Lead WHERE Id IN ({})", ids.join(", "));
        assert!(long.len() > STATEMENT_MAX);
        let Err(e) = parse_sent(&long) else {
            panic!("a statement past the length is refused")
        };
        assert_eq!(e.code, "MALFORMED_QUERY");
        assert!(
            parse(&long).is_ok(),
            "the simulator's own statements are not held to it"
        );
        let fits = format!(
            "SELECT Id FROM Lead WHERE Id IN ({})",
            ids[..4000].join(", ")
        );
        assert!(parse_sent(&fits).is_ok());
    }

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
    fn parses_subqueries_aggregates_date_functions_and_clauses() {
        let q = parse(
            "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName LIMIT 2) FROM Account WHERE Id IN (SELECT AccountId FROM Opportunity WHERE StageName = 'Closed Won') AND Id NOT IN (SELECT AccountId FROM Case) WITH SECURITY_ENFORCED ORDER BY Name LIMIT 10 FOR VIEW",
        )
        .unwrap();
        assert!(matches!(q.select[1], SelectItem::Subquery(_)));
        assert!(matches!(q.filter, Some(Cond::And(..))));
        let q = parse(
            "SELECT CALENDAR_YEAR(CreatedDate) yr, LeadSource, COUNT(Id) n, COUNT_DISTINCT(Company), SUM(AnnualRevenue), AVG(NumberOfEmployees), MIN(CreatedDate), MAX(CreatedDate) FROM Lead WHERE CALENDAR_MONTH(CreatedDate) > 3 AND CreatedDate = LAST_N_QUARTERS:2 GROUP BY CALENDAR_YEAR(CreatedDate), LeadSource HAVING COUNT(Id) > 1 ORDER BY COUNT(Id) DESC, LeadSource",
        )
        .unwrap();
        assert_eq!(q.group_by.len(), 2);
        assert!(matches!(q.having, Some(Cond::AggCmp { .. })));
        assert!(matches!(q.order[0].key, OrderKey::Agg(Agg::Count, Some(_))));
        let q = parse("SELECT FIELDS(STANDARD), toLabel(Status) FROM Lead LIMIT 200 FOR REFERENCE")
            .unwrap();
        assert!(matches!(
            q.select[0],
            SelectItem::Fields {
                set: FieldSet::Standard,
                ..
            }
        ));
        for kw in DATE_KEYWORDS {
            assert!(
                parse(&format!("SELECT Id FROM Lead WHERE CreatedDate = {kw}")).is_ok(),
                "{kw}"
            );
        }
        for kw in DATE_KEYWORDS_N {
            assert!(
                parse(&format!("SELECT Id FROM Lead WHERE CreatedDate = {kw}:3")).is_ok(),
                "{kw}"
            );
        }
        let e = parse("DELETE FROM Lead").unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            ("MALFORMED_QUERY", "unexpected token: DELETE")
        );
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
        // ROLLUP and CUBE are not served: refused as Salesforce refuses what it cannot parse.
        assert!(
            parse("SELECT LeadSource, COUNT(Id) FROM Lead GROUP BY ROLLUP(LeadSource)").is_err()
        );
        assert!(parse("SELECT Id FROM Lead FOR SHARE").is_err());
        assert!(parse("SELECT Id FROM Lead WITH DATA CATEGORY Geo__c AT usa__c").is_err());
        assert!(parse("SELECT FROM Lead").is_err());
        assert!(parse("SELECT Id FROM Lead WHERE Name = 'open").is_err());
    }
}
