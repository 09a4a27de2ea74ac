//! How the REPL shows a Lua value: tables indented with sorted keys (the array part first),
//! short lists of scalars on one line, strings quoted, JSON null as `null`, error values by
//! their one line, cycles marked, and a depth and length limit whose cut is reported so
//! `:more` can show the rest. Colour only on a terminal.

use std::collections::HashSet;
use std::fmt::Write as _;

use mlua::{Table, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Tables nested deeper than this show as `{…}`.
    pub depth: usize,
    /// Entries per table shown; the rest are counted.
    pub items: usize,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        depth: 3,
        items: 20,
    };

    /// What `:more` uses: deeper and longer each time.
    pub fn more(self) -> Limits {
        Limits {
            depth: self.depth + 3,
            items: self.items * 10,
        }
    }
}

const WIDTH: usize = 96;

struct Printer {
    limits: Limits,
    colour: bool,
    /// Something was left out.
    cut: bool,
    seen: HashSet<usize>,
}

/// Render a value; the flag says whether the limits cut something (`:more` shows it).
pub fn render(v: &Value, limits: Limits, colour: bool) -> (String, bool) {
    let mut p = Printer {
        limits,
        colour,
        cut: false,
        seen: HashSet::new(),
    };
    let text = p.value(v, 0);
    (text, p.cut)
}

impl Printer {
    fn paint(&self, code: &str, text: String) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text
        }
    }

    fn value(&mut self, v: &Value, depth: usize) -> String {
        match v {
            Value::Nil => self.paint("90", "nil".into()),
            Value::LightUserData(u) if u.0.is_null() => self.paint("90", "null".into()),
            Value::Boolean(b) => self.paint("33", b.to_string()),
            Value::Integer(i) => self.paint("36", i.to_string()),
            Value::Number(n) => self.paint("36", number(*n)),
            Value::String(s) => self.paint("32", quote(&s.to_string_lossy())),
            Value::Table(t) => self.table(t, depth),
            Value::Function(_) => self.paint("35", "<function>".into()),
            other => self.paint("35", format!("<{}>", other.type_name())),
        }
    }

    fn table(&mut self, t: &Table, depth: usize) -> String {
        // Values with their own string form (errors, records with __tostring) show it.
        if let Some(mt) = t.metatable()
            && mt.contains_key("__tostring").unwrap_or(false)
            && let Ok(s) = Value::Table(t.clone()).to_string()
        {
            return self.paint("31", s);
        }
        let id = t.to_pointer() as usize;
        if !self.seen.insert(id) {
            return self.paint("90", "<cycle>".into());
        }
        let out = self.entries(t, depth);
        self.seen.remove(&id);
        out
    }

    fn entries(&mut self, t: &Table, depth: usize) -> String {
        let len = t.raw_len();
        let mut keyed: Vec<(Value, Value)> = Vec::new();
        let mut count = 0usize;
        for (k, v) in t.pairs::<Value, Value>().flatten() {
            count += 1;
            let in_array = matches!(k, Value::Integer(i) if i >= 1 && (i as usize) <= len);
            if !in_array {
                keyed.push((k, v));
            }
        }
        if count == 0 {
            return "{}".into();
        }
        if depth >= self.limits.depth {
            self.cut = true;
            return self.paint("90", format!("{{… {count} entries}}"));
        }
        keyed.sort_by(|a, b| key_order(&a.0, &b.0));
        let mut parts: Vec<String> = Vec::new();
        let mut shown = 0;
        for i in 1..=len {
            if shown == self.limits.items {
                break;
            }
            let v: Value = t.raw_get(i).unwrap_or(Value::Nil);
            parts.push(self.value(&v, depth + 1));
            shown += 1;
        }
        for (k, v) in &keyed {
            if shown == self.limits.items {
                break;
            }
            let key = key_text(k);
            let value = self.value(v, depth + 1);
            parts.push(format!("{key} = {value}"));
            shown += 1;
        }
        if shown < count {
            self.cut = true;
            parts.push(self.paint("90", format!("… {} more", count - shown)));
        }
        let one_line = format!("{{ {} }}", parts.join(", "));
        if !one_line.contains('\n')
            && visible_len(&one_line) + depth * 2 <= WIDTH
            && keyed.len() <= 4
        {
            return one_line;
        }
        let pad = "  ".repeat(depth + 1);
        let mut s = String::from("{\n");
        if keyed.is_empty() && parts.iter().all(|p| !p.contains('\n')) {
            // A long list of scalars fills lines instead of taking one per item.
            let mut line = String::new();
            for p in parts {
                if !line.is_empty() && visible_len(&line) + visible_len(&p) + pad.len() + 2 > WIDTH
                {
                    let _ = writeln!(s, "{pad}{}", line.trim_end());
                    line.clear();
                }
                line.push_str(&p);
                line.push_str(", ");
            }
            let _ = writeln!(s, "{pad}{}", line.trim_end().trim_end_matches(','));
            let _ = write!(s, "{}}}", "  ".repeat(depth));
            return s;
        }
        for p in parts {
            let _ = writeln!(s, "{pad}{p},");
        }
        let _ = write!(s, "{}}}", "  ".repeat(depth));
        s
    }
}

fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{n:.1}")
    } else {
        n.to_string()
    }
}

fn quote(s: &str) -> String {
    format!("{s:?}")
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn key_text(k: &Value) -> String {
    match k {
        Value::String(s) => {
            let s = s.to_string_lossy();
            if is_identifier(&s) {
                s
            } else {
                format!("[{}]", quote(&s))
            }
        }
        Value::Integer(i) => format!("[{i}]"),
        Value::Number(n) => format!("[{}]", number(*n)),
        Value::Boolean(b) => format!("[{b}]"),
        other => format!("[<{}>]", other.type_name()),
    }
}

/// Numbers first (by value), then strings (alphabetically), then the rest.
fn key_order(a: &Value, b: &Value) -> std::cmp::Ordering {
    fn rank(v: &Value) -> (u8, f64, String) {
        match v {
            Value::Integer(i) => (0, *i as f64, String::new()),
            Value::Number(n) => (0, *n, String::new()),
            Value::String(s) => (1, 0.0, s.to_string_lossy()),
            other => (2, 0.0, other.type_name().to_string()),
        }
    }
    let (ra, rb) = (rank(a), rank(b));
    ra.0.cmp(&rb.0)
        .then(ra.1.partial_cmp(&rb.1).unwrap_or(std::cmp::Ordering::Equal))
        .then(ra.2.cmp(&rb.2))
}

/// Length without colour codes.
fn visible_len(s: &str) -> usize {
    let mut n = 0;
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlua::Lua;

    fn show(src: &str, limits: Limits) -> (String, bool) {
        let lua = Lua::new();
        let v: Value = lua.load(src).eval().unwrap();
        render(&v, limits, false)
    }

    #[test]
    fn scalars_and_short_tables_fit_on_one_line_with_sorted_keys() {
        assert_eq!(show("42", Limits::DEFAULT).0, "42");
        assert_eq!(show("2.0", Limits::DEFAULT).0, "2.0");
        assert_eq!(show("'a\\nb'", Limits::DEFAULT).0, "\"a\\nb\"");
        assert_eq!(show("{3, 1, 2}", Limits::DEFAULT).0, "{ 3, 1, 2 }");
        assert_eq!(
            show("{b = 1, a = 'x', ['two words'] = true}", Limits::DEFAULT).0,
            "{ a = \"x\", b = 1, [\"two words\"] = true }"
        );
    }

    #[test]
    fn records_indent_and_limits_cut_with_a_count() {
        let src = "{id = '1', properties = {email = 'a@x.com', firstname = 'Ann', lastname = 'Lee', phone = '1', city = 'Oslo'}}";
        let (text, cut) = show(src, Limits::DEFAULT);
        assert!(!cut);
        assert!(
            text.contains("\n  properties = {\n    city = \"Oslo\",\n"),
            "{text}"
        );
        let (text, cut) = show(
            src,
            Limits {
                depth: 1,
                items: 20,
            },
        );
        assert!(cut && text.contains("{… 5 entries}"), "{text}");
        let (text, cut) = show(
            "(function() local t = {} for i = 1, 50 do t[i] = i end return t end)()",
            Limits::DEFAULT,
        );
        assert!(cut && text.contains("… 30 more"), "{text}");
        let (text, cut) = show(
            "(function() local t = {} for i = 1, 50 do t[i] = i end return t end)()",
            Limits::DEFAULT.more(),
        );
        assert!(!cut && text.contains("50"), "{text}");
    }

    #[test]
    fn cycles_and_tostring_values_show_safely() {
        assert!(
            show(
                "(function() local t = {} t.self = t return t end)()",
                Limits::DEFAULT
            )
            .0
            .contains("<cycle>")
        );
        let e = "setmetatable({line = 'hubspot 404 (not_found): no such contact'}, {__tostring = function(e) return e.line end})";
        assert_eq!(
            show(e, Limits::DEFAULT).0,
            "hubspot 404 (not_found): no such contact"
        );
    }
}
