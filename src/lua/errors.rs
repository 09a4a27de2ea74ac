//! A Lua error as one line a person can act on: the innermost cause, at the plugin's (or
//! script's) `file:line`.

use super::sandbox::Limits;

/// One line from an mlua error: the innermost cause, which carries `file:line:`.
pub fn describe(err: &mlua::Error, limits: Limits) -> String {
    match err {
        mlua::Error::MemoryError(_) => format!(
            "memory limit of {} MiB exceeded",
            limits.memory_bytes / (1024 * 1024)
        ),
        mlua::Error::CallbackError { cause, traceback } => {
            let inner = describe(cause, limits);
            // A host function refused: point at the plugin line that called it.
            match traceback
                .lines()
                .map(str::trim)
                .find(|l| l.contains(".lua:"))
            {
                Some(frame) if !inner.contains(".lua:") => {
                    let at = frame.split(": ").next().unwrap_or(frame);
                    format!("{at}: {inner}")
                }
                _ => inner,
            }
        }
        mlua::Error::WithContext { context, cause } => {
            format!("{context}: {}", describe(cause, limits))
        }
        // An allocation refused inside a C function (a string built by `..` or string.rep)
        // comes back as a runtime error with Lua's own words: it is the limit all the same.
        mlua::Error::RuntimeError(m)
            if m.lines()
                .next()
                .is_some_and(|l| l.trim_end().ends_with("not enough memory")) =>
        {
            let limit = format!(
                "memory limit of {} MiB exceeded",
                limits.memory_bytes / (1024 * 1024)
            );
            // Lua put the line it was on before its words: `plugins/x/init.lua:3: not …`.
            let first = m.lines().next().unwrap_or_default().trim();
            match first
                .strip_suffix("not enough memory")
                .map(|p| p.trim_end_matches([' ', ':']))
            {
                Some(at) if at.contains(".lua:") => format!("{limit} near {at}"),
                _ => limit,
            }
        }
        mlua::Error::RuntimeError(m) => {
            let first = m.lines().next().unwrap_or_default().trim().to_string();
            // An error value (an API failure's table) carries no position of its own: name
            // the plugin's line from the traceback.
            match plugin_frame(m).filter(|_| !first.contains(".lua:")) {
                Some(at) => format!("{at}: {first}"),
                None => first,
            }
        }
        mlua::Error::SyntaxError { message: m, .. } => {
            m.lines().next().unwrap_or_default().trim().to_string()
        }
        other => other
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// The first `file:line` of a traceback that is the plugin's (or a script's) own code.
fn plugin_frame(traceback: &str) -> Option<String> {
    traceback
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.starts_with("hubforce/") && !l.starts_with("[C]"))
        .find_map(|l| {
            let (file, rest) = l.split_once(".lua:")?;
            let line: String = rest.chars().take_while(char::is_ascii_digit).collect();
            (!line.is_empty()).then(|| format!("{file}.lua:{line}"))
        })
}
