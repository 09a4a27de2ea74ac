//! `hubforce repl`: both CRMs live from Lua — the plugins' host API with refresh, budgets and
//! error classes, pretty-printed values, completion that learns field names from describes,
//! multi-line input, history per profile, and Ctrl-C that cancels the running call. Without a
//! terminal it reads chunks from stdin and prints plainly; `-e` prints one value as JSON.

pub mod complete;
pub mod help;
pub mod pretty;
pub mod session;

use std::io::{BufRead, Write};
use std::sync::Arc;

use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{CompletionType, Config, Editor};

pub use session::{Repl, ReplError, Reply};

use complete::{ReplHelper, needs_more};

/// Ctrl-C stops the running call; between calls the terminal's line editor reads it as a key.
fn watch_ctrl_c(repl: &Repl) {
    let clock = repl.current_clock.clone();
    let cancel = repl.cancel.clone();
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            Repl::interrupt(&clock, &cancel);
        }
    });
}

fn print_reply(reply: &Reply, colour: bool, out: &mut impl Write) {
    let _ = match reply {
        Reply::Text(t) if t.is_empty() => Ok(()),
        Reply::Text(t) => writeln!(out, "{t}"),
        Reply::Error(e) if colour => writeln!(
            out,
            "\x1b[31merror:\x1b[0m {e}\n\x1b[90m(:trace shows where)\x1b[0m"
        ),
        Reply::Error(e) => writeln!(out, "error: {e}"),
        Reply::Quit => Ok(()),
    };
    let _ = out.flush();
}

/// The interactive loop on a terminal.
pub async fn interactive(mut repl: Repl) -> Result<(), ReadlineError> {
    repl.colour = std::env::var_os("NO_COLOR").is_none();
    let config = Config::builder()
        .auto_add_history(true)
        .completion_type(CompletionType::List)
        .max_history_size(5_000)?
        .build();
    let mut editor: Editor<ReplHelper, FileHistory> = Editor::with_config(config)?;
    editor.set_helper(Some(ReplHelper {
        lua: repl.current.clone(),
        fields: repl.fields.clone(),
    }));
    let mut history = repl.history_file();
    let _ = editor.load_history(&history);
    watch_ctrl_c(&repl);
    crate::outln!(
        "hubforce repl — profile {}; `:help` for the API and commands, Ctrl-D to leave",
        repl.profile()
    );
    let mut stdout = std::io::stdout();
    loop {
        let line = match editor.readline(&repl.prompt()) {
            Ok(l) => l,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e),
        };
        let reply = repl.handle(&line).await;
        print_reply(&reply, repl.colour, &mut stdout);
        if repl.keeps_history() {
            save_history(&mut editor, &history);
        }
        if reply == Reply::Quit {
            break;
        }
        if repl.history_file() != history {
            // `:profile` switched: its own history from now on.
            history = repl.history_file();
            let _ = editor.clear_history();
            let _ = editor.load_history(&history);
        }
    }
    if repl.keeps_history() {
        save_history(&mut editor, &history);
    }
    Ok(())
}

/// History holds what was typed, which may include data: the file is the user's alone.
fn save_history(editor: &mut Editor<ReplHelper, FileHistory>, path: &std::path::Path) {
    // Created 0600 before the history is written into it.
    if crate::private::file(path).is_ok() {
        let _ = editor.save_history(path);
    }
}

/// Without a terminal: read chunks (a chunk continues while it is incomplete), print each
/// reply plainly. Returns how many inputs failed.
pub async fn piped(mut repl: Repl, input: impl BufRead, out: &mut impl Write) -> usize {
    repl.colour = false;
    watch_ctrl_c(&repl);
    let lua = Arc::clone(&repl.current);
    let mut failed = 0;
    let mut chunk = String::new();
    let mut lines = input.lines();
    loop {
        let line = lines.next();
        let at_end = line.is_none();
        if let Some(Ok(l)) = line {
            chunk.push_str(&l);
            chunk.push('\n');
            let current = lua.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if needs_more(&current, &chunk) {
                continue;
            }
        } else if !at_end {
            break; // unreadable input
        }
        if !chunk.trim().is_empty() {
            let reply = repl.handle(&chunk).await;
            if matches!(reply, Reply::Error(_)) {
                failed += 1;
            }
            print_reply(&reply, false, out);
            chunk.clear();
            if reply == Reply::Quit {
                break;
            }
        }
        if at_end {
            break;
        }
    }
    failed
}
