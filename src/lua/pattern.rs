//! Lua 5.4's string patterns, matched in Rust under the plugin's clock.
//!
//! Lua's own matcher (lstrlib.c) backtracks in C, where no instruction hook reaches: one
//! `string.find(("a"):rep(160), ".-.-.-.-.-.-b")` runs for hours and no time limit can stop
//! it. This is the same algorithm, step for step (so every pattern means what it means in
//! Lua, errors included), counting its steps and asking the clock every few thousand.
//! `sandbox.lua` puts it behind `string.find`, `match`, `gmatch` and `gsub`.

const MAX_CAPTURES: usize = 32;
/// Lua's MAXCCALLS for `match`: deeper patterns are "too complex".
const MAX_DEPTH: u32 = 200;
const CAP_UNFINISHED: isize = -1;
const CAP_POSITION: isize = -2;
/// Steps between two looks at the clock.
const CHECK_EVERY: u64 = 4096;
const SPECIALS: &[u8] = b"^$*+?.([%-";

/// Why a match stopped without an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum PatternError {
    /// The pattern is malformed; the message is Lua's own.
    Malformed(String),
    /// The clock said stop (its message).
    Stopped(String),
}

fn malformed<T>(m: impl Into<String>) -> Result<T, PatternError> {
    Err(PatternError::Malformed(m.into()))
}

/// One capture of a match: a piece of the subject, a position (1-based), or a capture the
/// pattern never closed (an error only where it is used, as in Lua).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capture {
    Text(usize, usize),
    Position(usize),
    Unfinished,
}

/// A match: the subject's `start..end` and the captures (none when the pattern has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub start: usize,
    pub end: usize,
    pub captures: Vec<Capture>,
}

impl Found {
    /// What `match`/`gmatch`/a replacement function get: the captures, or the whole match.
    pub fn values(&self) -> Result<Vec<Capture>, PatternError> {
        if self.captures.is_empty() {
            return Ok(vec![Capture::Text(self.start, self.end)]);
        }
        self.all_captures()
    }

    /// The captures, every one of them finished (what `find` returns after the positions).
    pub fn all_captures(&self) -> Result<Vec<Capture>, PatternError> {
        if self.captures.contains(&Capture::Unfinished) {
            return malformed("unfinished capture");
        }
        Ok(self.captures.clone())
    }

    /// The first capture, or the whole match (the key of a table replacement).
    pub fn first(&self) -> Result<Capture, PatternError> {
        match self.captures.first() {
            None => Ok(Capture::Text(self.start, self.end)),
            Some(Capture::Unfinished) => malformed("unfinished capture"),
            Some(c) => Ok(*c),
        }
    }
}

/// The clock, asked every [`CHECK_EVERY`] steps: `Err(message)` stops the match.
pub type Check<'a> = &'a dyn Fn() -> Result<(), String>;

struct Matcher<'a> {
    src: &'a [u8],
    pat: &'a [u8],
    level: usize,
    capture: [(usize, isize); MAX_CAPTURES],
    depth: u32,
    steps: u64,
    check: Check<'a>,
}

fn class_matches(c: u8, cl: u8) -> bool {
    let res = match cl.to_ascii_lowercase() {
        b'a' => c.is_ascii_alphabetic(),
        b'c' => c.is_ascii_control(),
        b'd' => c.is_ascii_digit(),
        b'g' => c.is_ascii_graphic(),
        b'l' => c.is_ascii_lowercase(),
        b'p' => c.is_ascii_punctuation(),
        b's' => matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'),
        b'u' => c.is_ascii_uppercase(),
        b'w' => c.is_ascii_alphanumeric(),
        b'x' => c.is_ascii_hexdigit(),
        b'z' => c == 0,
        _ => return cl == c,
    };
    if cl.is_ascii_lowercase() { res } else { !res }
}

impl<'a> Matcher<'a> {
    fn new(src: &'a [u8], pat: &'a [u8], check: Check<'a>) -> Matcher<'a> {
        Matcher {
            src,
            pat,
            level: 0,
            capture: [(0, 0); MAX_CAPTURES],
            depth: MAX_DEPTH,
            steps: 0,
            check,
        }
    }

    /// The pattern byte at `i`; past the end, 0 (C reads the terminating NUL there).
    fn p(&self, i: usize) -> u8 {
        self.pat.get(i).copied().unwrap_or(0)
    }

    fn s(&self, i: usize) -> u8 {
        self.src.get(i).copied().unwrap_or(0)
    }

    fn tick(&mut self, n: u64) -> Result<(), PatternError> {
        let before = self.steps / CHECK_EVERY;
        self.steps += n;
        if self.steps / CHECK_EVERY != before {
            (self.check)().map_err(PatternError::Stopped)?;
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.level = 0;
        self.depth = MAX_DEPTH;
    }

    fn class_end(&self, mut p: usize) -> Result<usize, PatternError> {
        let c = self.p(p);
        p += 1;
        match c {
            b'%' => {
                if p >= self.pat.len() {
                    return malformed("malformed pattern (ends with '%')");
                }
                Ok(p + 1)
            }
            b'[' => {
                if self.p(p) == b'^' {
                    p += 1;
                }
                loop {
                    if p >= self.pat.len() {
                        return malformed("malformed pattern (missing ']')");
                    }
                    let cc = self.pat[p];
                    p += 1;
                    if cc == b'%' && p < self.pat.len() {
                        p += 1;
                    }
                    if self.p(p) == b']' {
                        return Ok(p + 1);
                    }
                }
            }
            _ => Ok(p),
        }
    }

    /// `[set]` from `p` (at '[') to `ec` (at ']').
    fn in_set(&self, c: u8, mut p: usize, ec: usize) -> bool {
        let mut sig = true;
        if self.p(p + 1) == b'^' {
            sig = false;
            p += 1;
        }
        loop {
            p += 1;
            if p >= ec {
                return !sig;
            }
            if self.pat[p] == b'%' {
                p += 1;
                if class_matches(c, self.p(p)) {
                    return sig;
                }
            } else if self.p(p + 1) == b'-' && p + 2 < ec {
                p += 2;
                if self.pat[p - 2] <= c && c <= self.pat[p] {
                    return sig;
                }
            } else if self.pat[p] == c {
                return sig;
            }
        }
    }

    fn single(&self, s: usize, p: usize, ep: usize) -> bool {
        if s >= self.src.len() {
            return false;
        }
        let c = self.src[s];
        match self.pat[p] {
            b'.' => true,
            b'%' => class_matches(c, self.p(p + 1)),
            b'[' => self.in_set(c, p, ep - 1),
            pc => pc == c,
        }
    }

    fn balance(&mut self, s: usize, p: usize) -> Result<Option<usize>, PatternError> {
        if p + 1 >= self.pat.len() {
            return malformed("malformed pattern (missing arguments to '%b')");
        }
        if self.s(s) != self.pat[p] {
            return Ok(None);
        }
        let (open, close) = (self.pat[p], self.pat[p + 1]);
        let mut depth = 1;
        let mut i = s + 1;
        while i < self.src.len() {
            let c = self.src[i];
            if c == close {
                depth -= 1;
                if depth == 0 {
                    self.tick((i - s) as u64)?;
                    return Ok(Some(i + 1));
                }
            } else if c == open {
                depth += 1;
            }
            i += 1;
        }
        self.tick((i - s) as u64)?;
        Ok(None)
    }

    fn max_expand(&mut self, s: usize, p: usize, ep: usize) -> Result<Option<usize>, PatternError> {
        let mut i = 0;
        while self.single(s + i, p, ep) {
            i += 1;
        }
        self.tick(i as u64)?;
        loop {
            if let Some(r) = self.do_match(s + i, ep + 1)? {
                return Ok(Some(r));
            }
            if i == 0 {
                return Ok(None);
            }
            i -= 1;
        }
    }

    fn min_expand(
        &mut self,
        mut s: usize,
        p: usize,
        ep: usize,
    ) -> Result<Option<usize>, PatternError> {
        loop {
            if let Some(r) = self.do_match(s, ep + 1)? {
                return Ok(Some(r));
            }
            if self.single(s, p, ep) {
                s += 1;
            } else {
                return Ok(None);
            }
        }
    }

    fn start_capture(
        &mut self,
        s: usize,
        p: usize,
        what: isize,
    ) -> Result<Option<usize>, PatternError> {
        if self.level >= MAX_CAPTURES {
            return malformed("too many captures");
        }
        self.capture[self.level] = (s, what);
        self.level += 1;
        let r = self.do_match(s, p)?;
        if r.is_none() {
            self.level -= 1;
        }
        Ok(r)
    }

    fn end_capture(&mut self, s: usize, p: usize) -> Result<Option<usize>, PatternError> {
        let Some(l) = (0..self.level)
            .rev()
            .find(|&l| self.capture[l].1 == CAP_UNFINISHED)
        else {
            return malformed("invalid pattern capture");
        };
        self.capture[l].1 = (s - self.capture[l].0) as isize;
        let r = self.do_match(s, p)?;
        if r.is_none() {
            self.capture[l].1 = CAP_UNFINISHED;
        }
        Ok(r)
    }

    fn back_reference(&mut self, s: usize, digit: u8) -> Result<Option<usize>, PatternError> {
        let l = digit as isize - b'1' as isize;
        if l < 0 || l as usize >= self.level || self.capture[l as usize].1 == CAP_UNFINISHED {
            return malformed(format!("invalid capture index %{}", l + 1));
        }
        let (init, len) = self.capture[l as usize];
        if len < 0 {
            return Ok(None);
        }
        let len = len as usize;
        self.tick(len as u64)?;
        let fits = self.src.len() - s >= len && self.src[init..init + len] == self.src[s..s + len];
        Ok(fits.then_some(s + len))
    }

    fn do_match(&mut self, s: usize, p: usize) -> Result<Option<usize>, PatternError> {
        if self.depth == 0 {
            return malformed("pattern too complex");
        }
        self.depth -= 1;
        let r = self.match_here(s, p);
        self.depth += 1;
        r
    }

    /// lstrlib.c's `match`, its tail calls as a loop.
    fn match_here(&mut self, mut s: usize, mut p: usize) -> Result<Option<usize>, PatternError> {
        loop {
            self.tick(1)?;
            if p >= self.pat.len() {
                return Ok(Some(s));
            }
            match self.pat[p] {
                b'(' if self.p(p + 1) == b')' => {
                    return self.start_capture(s, p + 2, CAP_POSITION);
                }
                b'(' => return self.start_capture(s, p + 1, CAP_UNFINISHED),
                b')' => return self.end_capture(s, p + 1),
                b'$' if p + 1 == self.pat.len() => {
                    return Ok((s == self.src.len()).then_some(s));
                }
                b'%' if self.p(p + 1) == b'b' => match self.balance(s, p + 2)? {
                    Some(next) => {
                        s = next;
                        p += 4;
                    }
                    None => return Ok(None),
                },
                b'%' if self.p(p + 1) == b'f' => {
                    p += 2;
                    if self.p(p) != b'[' {
                        return malformed("missing '[' after '%f' in pattern");
                    }
                    let ep = self.class_end(p)?;
                    let previous = if s == 0 { 0 } else { self.src[s - 1] };
                    if !self.in_set(previous, p, ep - 1) && self.in_set(self.s(s), p, ep - 1) {
                        p = ep;
                    } else {
                        return Ok(None);
                    }
                }
                b'%' if self.p(p + 1).is_ascii_digit() => {
                    match self.back_reference(s, self.p(p + 1))? {
                        Some(next) => {
                            s = next;
                            p += 2;
                        }
                        None => return Ok(None),
                    }
                }
                _ => {
                    let ep = self.class_end(p)?;
                    let suffix = self.p(ep);
                    if !self.single(s, p, ep) {
                        if matches!(suffix, b'*' | b'?' | b'-') {
                            p = ep + 1;
                            continue;
                        }
                        return Ok(None);
                    }
                    match suffix {
                        b'?' => match self.do_match(s + 1, ep + 1)? {
                            Some(r) => return Ok(Some(r)),
                            None => p = ep + 1,
                        },
                        b'+' => return self.max_expand(s + 1, p, ep),
                        b'*' => return self.max_expand(s, p, ep),
                        b'-' => return self.min_expand(s, p, ep),
                        _ => {
                            s += 1;
                            p = ep;
                        }
                    }
                }
            }
        }
    }

    fn captures(&self, start: usize, end: usize) -> Found {
        let captures = self.capture[..self.level]
            .iter()
            .map(|&(init, len)| match len {
                CAP_UNFINISHED => Capture::Unfinished,
                CAP_POSITION => Capture::Position(init + 1),
                len => Capture::Text(init, init + len as usize),
            })
            .collect();
        Found {
            start,
            end,
            captures,
        }
    }

    /// From `from`, the first position whose match ends elsewhere than `last_end` (gmatch's
    /// and gsub's rule against matching the same empty string twice); only `from` when
    /// `anchored`.
    fn scan(
        &mut self,
        from: usize,
        last_end: Option<usize>,
        anchored: bool,
    ) -> Result<Option<Found>, PatternError> {
        let mut at = from;
        while at <= self.src.len() {
            self.reset();
            if let Some(end) = self.do_match(at, 0)?
                && Some(end) != last_end
            {
                return Ok(Some(self.captures(at, end)));
            }
            if anchored {
                break;
            }
            at += 1;
        }
        Ok(None)
    }
}

/// Lua's `posrelatI`: a 1-based (negative: from the end) start, as a 0-based offset.
pub fn start_offset(init: i64, len: usize) -> usize {
    let pos = if init > 0 {
        init as u64 as usize
    } else if init == 0 || init < -(len as i64) {
        1
    } else {
        (len as i64 + init + 1) as usize
    };
    pos - 1
}

fn plain_find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    memchr::memmem::find(hay, needle)
}

/// `string.find` (`find = true`) and `string.match` from 0-based `init`.
pub fn find(
    src: &[u8],
    pat: &[u8],
    init: usize,
    plain: bool,
    find: bool,
    check: Check,
) -> Result<Option<Found>, PatternError> {
    if init > src.len() {
        return Ok(None);
    }
    if find && (plain || !pat.iter().any(|c| SPECIALS.contains(c))) {
        return Ok(plain_find(&src[init..], pat).map(|at| Found {
            start: init + at,
            end: init + at + pat.len(),
            captures: Vec::new(),
        }));
    }
    let (anchored, pat) = match pat.first() {
        Some(b'^') => (true, &pat[1..]),
        _ => (false, pat),
    };
    Matcher::new(src, pat, check).scan(init, None, anchored)
}

/// One step of `gmatch` (and of `gsub` with a function or table): the next match from
/// `from` whose end is not `last_end`.
pub fn next_match(
    src: &[u8],
    pat: &[u8],
    from: usize,
    last_end: Option<usize>,
    anchored: bool,
    check: Check,
) -> Result<Option<Found>, PatternError> {
    if from > src.len() {
        return Ok(None);
    }
    Matcher::new(src, pat, check).scan(from, last_end, anchored)
}

/// `string.gsub` with a string replacement (`%0`–`%9`, `%%`): the result and the count.
pub fn gsub_text(
    src: &[u8],
    pat: &[u8],
    repl: &[u8],
    max: i64,
    check: Check,
) -> Result<(Vec<u8>, i64), PatternError> {
    let (anchored, pat) = match pat.first() {
        Some(b'^') => (true, &pat[1..]),
        _ => (false, pat),
    };
    let mut m = Matcher::new(src, pat, check);
    let mut out = Vec::with_capacity(src.len());
    let (mut at, mut last_end, mut n) = (0usize, None, 0i64);
    while n < max {
        m.reset();
        match m.do_match(at, 0)? {
            Some(end) if Some(end) != last_end => {
                n += 1;
                let found = m.captures(at, end);
                expand(&mut out, src, repl, &found)?;
                m.tick((end - at) as u64 + repl.len() as u64)?;
                at = end;
                last_end = Some(end);
            }
            _ if at < src.len() => {
                out.push(src[at]);
                at += 1;
            }
            _ => break,
        }
        if anchored {
            break;
        }
    }
    out.extend_from_slice(&src[at..]);
    Ok((out, n))
}

fn expand(out: &mut Vec<u8>, src: &[u8], repl: &[u8], found: &Found) -> Result<(), PatternError> {
    let mut i = 0;
    while i < repl.len() {
        let c = repl[i];
        i += 1;
        if c != b'%' {
            out.push(c);
            continue;
        }
        let d = repl.get(i).copied().unwrap_or(0);
        i += 1;
        match d {
            b'%' => out.push(b'%'),
            b'0' => out.extend_from_slice(&src[found.start..found.end]),
            b'1'..=b'9' => {
                let k = (d - b'1') as usize;
                let cap = if k < found.captures.len() {
                    found.captures[k]
                } else if k == 0 {
                    Capture::Text(found.start, found.end)
                } else {
                    return malformed(format!("invalid capture index %{}", k + 1));
                };
                match cap {
                    Capture::Text(a, b) => out.extend_from_slice(&src[a..b]),
                    Capture::Position(pos) => out.extend_from_slice(pos.to_string().as_bytes()),
                    Capture::Unfinished => return malformed("unfinished capture"),
                }
            }
            _ => return malformed("invalid use of '%' in replacement string"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn never() -> Result<(), String> {
        Ok(())
    }

    #[test]
    fn a_runaway_pattern_asks_the_clock_and_stops() {
        let src = "a".repeat(160);
        let asked = std::cell::Cell::new(0u32);
        let check = || {
            asked.set(asked.get() + 1);
            if asked.get() > 10 {
                Err("time limit of 200 ms exceeded".to_string())
            } else {
                Ok(())
            }
        };
        let r = find(src.as_bytes(), b".-.-.-.-.-.-b", 0, false, true, &check);
        assert_eq!(
            r,
            Err(PatternError::Stopped(
                "time limit of 200 ms exceeded".into()
            ))
        );
    }

    #[test]
    fn captures_and_positions() {
        let f = find(
            b"key = value",
            b"^(%w+)%s*=%s*()(.-)$",
            0,
            false,
            false,
            &never,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            f.captures,
            vec![
                Capture::Text(0, 3),
                Capture::Position(7),
                Capture::Text(6, 11)
            ]
        );
        let (out, n) = gsub_text(b"hello world", b"(%w+)", b"<%1>", i64::MAX, &never).unwrap();
        assert_eq!((out.as_slice(), n), (&b"<hello> <world>"[..], 2));
    }
}
