//! Tab completion and multi-line input. In code: globals, keywords, and the fields of any
//! table reachable by a dotted path (host modules, their functions, variables in scope).
//! Inside a string: Salesforce field names in a SOQL string (after SELECT, WHERE…; sObject
//! names after FROM) and HubSpot property names in a properties list — from the describes
//! and property lists fetched so far in the session.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use mlua::{Lua, Table, Value};
use rustyline::completion::Completer;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

/// Names learnt from `salesforce.describe` and `hubspot.properties` calls.
#[derive(Debug, Default)]
pub struct FieldCache {
    pub sobjects: BTreeMap<String, Vec<String>>,
    pub hubspot: BTreeMap<String, Vec<String>>,
}

const KEYWORDS: &[&str] = &[
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
    "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
];

const COMMON_SOBJECTS: &[&str] = &["Account", "Contact", "Lead", "Opportunity", "Task", "User"];
const HUBSPOT_OBJECTS: &[&str] = &["companies", "contacts", "deals", "tasks"];

pub const COMMANDS: &[&str] = &[
    ":budget", ":help", ":more", ":plugin", ":profile", ":quit", ":reload", ":save", ":time",
    ":trace",
];

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Completions for the text before `pos`: where the completed word starts, and the words.
pub fn complete(lua: &Lua, fields: &FieldCache, line: &str, pos: usize) -> (usize, Vec<String>) {
    let before = &line[..pos.min(line.len())];
    if before.starts_with(':') && !before.contains(' ') {
        let hits = COMMANDS
            .iter()
            .filter(|c| c.starts_with(before))
            .map(|c| c.to_string())
            .collect();
        return (0, hits);
    }
    let (start, mut words) = match open_string(before) {
        Some(q) => in_string(fields, before, q, line),
        None => in_code(lua, before),
    };
    words.sort();
    words.dedup();
    (start, words)
}

/// Where the string the cursor is in opens, if it is in one.
fn open_string(before: &str) -> Option<usize> {
    let mut open: Option<(usize, char)> = None;
    let mut escaped = false;
    for (i, c) in before.char_indices() {
        match open {
            Some((_, q)) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    open = None;
                }
            }
            None if c == '"' || c == '\'' => open = Some((i, c)),
            None => {}
        }
    }
    open.map(|(i, _)| i)
}

fn in_string(fields: &FieldCache, before: &str, quote: usize, line: &str) -> (usize, Vec<String>) {
    let content = &before[quote + 1..];
    let word_len = content.chars().rev().take_while(|c| is_word(*c)).count();
    let start = before.len() - word_len;
    let partial = &before[start..];
    let code_before = &before[..quote];
    // The whole string, also past the cursor: `SELECT Na| FROM Lead`.
    let rest = &line[before.len()..];
    let whole = format!("{content}{}", rest.split(['"', '\'']).next().unwrap_or(""));
    let upper = whole.to_ascii_uppercase();
    let tokens: Vec<&str> = content.split_whitespace().collect();
    let previous = if word_len > 0 {
        tokens.iter().rev().nth(1)
    } else {
        tokens.last()
    }
    .map(|t| t.to_ascii_uppercase());
    let pick = |names: Vec<String>| -> Vec<String> {
        names
            .into_iter()
            .filter(|n| n.starts_with(partial))
            .collect()
    };
    let sobject_names = || -> Vec<String> {
        let mut v: Vec<String> = fields.sobjects.keys().cloned().collect();
        v.extend(COMMON_SOBJECTS.iter().map(|s| s.to_string()));
        v
    };
    if upper.trim_start().starts_with("SELECT") {
        if previous.as_deref() == Some("FROM") {
            return (start, pick(sobject_names()));
        }
        let from = upper
            .split_whitespace()
            .skip_while(|t| *t != "FROM")
            .nth(1)
            .map(str::to_string);
        let names: Vec<String> = match from.and_then(|f| {
            fields
                .sobjects
                .iter()
                .find(|(k, _)| k.to_ascii_uppercase() == f)
                .map(|(_, v)| v.clone())
        }) {
            Some(v) => v,
            None => fields.sobjects.values().flatten().cloned().collect(),
        };
        return (start, pick(names));
    }
    if code_before.trim_end().ends_with("salesforce.describe(")
        || code_before.trim_end().ends_with("salesforce.sobject(")
    {
        return (start, pick(sobject_names()));
    }
    if code_before.trim_end().ends_with("hubspot.properties(") {
        return (
            start,
            pick(HUBSPOT_OBJECTS.iter().map(|s| s.to_string()).collect()),
        );
    }
    if code_before.contains("properties") {
        let object = HUBSPOT_OBJECTS
            .iter()
            .find(|o| code_before.contains(&format!("hubspot.{o}")));
        let names: Vec<String> = match object.and_then(|o| fields.hubspot.get(*o)) {
            Some(v) => v.clone(),
            None => fields.hubspot.values().flatten().cloned().collect(),
        };
        return (start, pick(names));
    }
    (start, Vec::new())
}

fn in_code(lua: &Lua, before: &str) -> (usize, Vec<String>) {
    let word_len = before
        .chars()
        .rev()
        .take_while(|c| is_word(*c) || *c == '.' || *c == ':')
        .count();
    let start_of_word = before.len() - word_len;
    let word = &before[start_of_word..];
    let Some(sep) = word.rfind(['.', ':']) else {
        let mut names = keys(&lua.globals(), false);
        names.extend(KEYWORDS.iter().map(|k| k.to_string()));
        let hits = names.into_iter().filter(|n| n.starts_with(word)).collect();
        return (start_of_word, hits);
    };
    let (path, partial) = (&word[..sep], &word[sep + 1..]);
    let methods_only = word[sep..].starts_with(':');
    let mut target = Value::Table(lua.globals());
    for part in path.split(['.', ':']) {
        target = match &target {
            Value::Table(t) => t.get::<Value>(part).unwrap_or(Value::Nil),
            _ => Value::Nil,
        };
    }
    let Value::Table(t) = target else {
        return (before.len(), Vec::new());
    };
    let hits = keys(&t, methods_only)
        .into_iter()
        .filter(|n| n.starts_with(partial))
        .collect();
    (start_of_word + sep + 1, hits)
}

/// String keys of a table and of its `__index` table (methods), functions only if asked.
fn keys(t: &Table, functions_only: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |t: &Table| {
        for (k, v) in t.pairs::<Value, Value>().flatten() {
            if let Value::String(s) = k {
                let name = s.to_string_lossy();
                let internal = name.starts_with("__");
                if !internal && (!functions_only || matches!(v, Value::Function(_))) {
                    out.push(name);
                }
            }
        }
    };
    add(t);
    if let Some(mt) = t.metatable()
        && let Ok(Value::Table(index)) = mt.get::<Value>("__index")
    {
        add(&index);
    }
    out
}

/// Whether `src` is a chunk cut short (an open `function`, `{`, string…): read another line.
pub fn needs_more(lua: &Lua, src: &str) -> bool {
    if src.trim_start().starts_with(':') || src.trim().is_empty() {
        return false;
    }
    if lua.load(format!("return {src}")).into_function().is_ok() {
        return false;
    }
    matches!(
        lua.load(src).into_function(),
        Err(mlua::Error::SyntaxError {
            incomplete_input: true,
            ..
        })
    )
}

/// The rustyline side: completion and multi-line validation against the current state.
pub struct ReplHelper {
    pub lua: Arc<Mutex<Lua>>,
    pub fields: Arc<Mutex<FieldCache>>,
}

impl Completer for ReplHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let lua = self.lua.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let fields = self.fields.lock().unwrap_or_else(|e| e.into_inner());
        Ok(complete(&lua, &fields, line, pos))
    }
}

impl Hinter for ReplHelper {
    type Hint = String;
}

impl Highlighter for ReplHelper {}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        let lua = self.lua.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Ok(if needs_more(&lua, ctx.input()) {
            ValidationResult::Incomplete
        } else {
            ValidationResult::Valid(None)
        })
    }
}

impl Helper for ReplHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> Lua {
        let lua = Lua::new();
        lua.load(
            r#"hubspot = { contacts = { search = 1, get = 2 }, request = 3 }
               local SObject = { get = function() end, create = function() end }
               lead = setmetatable({ name = "Lead" }, { __index = SObject })
               record = { properties = { email = "a@x.com" } }"#,
        )
        .exec()
        .unwrap();
        lua
    }

    fn words(lua: &Lua, fields: &FieldCache, line: &str) -> (usize, Vec<String>) {
        complete(lua, fields, line, line.len())
    }

    #[test]
    fn globals_modules_fields_and_methods_complete() {
        let lua = state();
        let f = FieldCache::default();
        assert_eq!(words(&lua, &f, "hubs"), (0, vec!["hubspot".into()]));
        assert_eq!(
            words(&lua, &f, "x = hubspot.con"),
            (12, vec!["contacts".into()])
        );
        assert_eq!(words(&lua, &f, "hubspot.contacts.").1, ["get", "search"]);
        assert_eq!(words(&lua, &f, "lead:").1, ["create", "get"]);
        assert_eq!(words(&lua, &f, "record.properties.em").1, ["email"]);
        assert!(words(&lua, &f, "whi").1.contains(&"while".to_string()));
        assert_eq!(words(&lua, &f, ":pr").1, [":profile"]);
    }

    #[test]
    fn strings_complete_fields_after_a_describe() {
        let lua = state();
        let mut f = FieldCache::default();
        f.sobjects.insert(
            "Lead".into(),
            vec!["Company".into(), "Email".into(), "Id".into()],
        );
        f.sobjects.insert("Account".into(), vec!["Name".into()]);
        f.hubspot
            .insert("contacts".into(), vec!["email".into(), "firstname".into()]);
        let line = r#"salesforce.query("SELECT Id, Em"#;
        assert_eq!(
            words(&lua, &f, line),
            (line.len() - 2, vec!["Email".into()])
        );
        // FROM after the cursor picks the object.
        let line = r#"salesforce.query("SELECT N FROM Account")"#;
        let pos = line.find(" FROM").unwrap();
        assert_eq!(complete(&lua, &f, line, pos).1, ["Name"]);
        assert_eq!(words(&lua, &f, r#"q("SELECT Id FROM Le"#).1, ["Lead"]);
        assert_eq!(
            words(
                &lua,
                &f,
                r#"hubspot.contacts.get(1, { properties = { "first"#
            )
            .1,
            ["firstname"]
        );
        assert_eq!(
            words(&lua, &f, r#"salesforce.describe("Acc"#).1,
            ["Account"]
        );
    }

    #[test]
    fn open_chunks_ask_for_more_and_finished_ones_do_not() {
        let lua = Lua::new();
        assert!(needs_more(&lua, "function f()"));
        assert!(needs_more(&lua, "t = {"));
        assert!(needs_more(&lua, "for i = 1, 3 do\n  x = i"));
        assert!(!needs_more(&lua, "1 + 1"));
        assert!(!needs_more(&lua, "x = 1"));
        assert!(
            !needs_more(&lua, "x = = 1"),
            "a plain error is not incomplete"
        );
        assert!(!needs_more(&lua, ":help"));
    }
}
