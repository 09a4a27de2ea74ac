//! `:help [topic]`: the host API's documentation, read from the LuaLS stubs
//! (scripts/types/hubforce.lua) — the same text editors show, so the two cannot drift.

const STUBS: &str = include_str!("../../scripts/types/hubforce.lua");

/// One documented function, under the name a user types.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub signature: String,
    pub text: Vec<String>,
}

/// The stubs' names as typed in the REPL: `Objects.search` is `hubspot.contacts.search`
/// (any object), `SObject:get` is `salesforce.sobject(name):get`.
fn typed_name(stub: &str) -> String {
    if let Some(f) = stub.strip_prefix("Objects.") {
        format!("hubspot.<object>.{f}")
    } else if let Some(f) = stub.strip_prefix("SObject:") {
        format!("salesforce.sobject(name):{f}")
    } else {
        stub.to_string()
    }
}

pub fn entries() -> Vec<Entry> {
    let mut out = Vec::new();
    let mut doc: Vec<&str> = Vec::new();
    for line in STUBS.lines() {
        if let Some(rest) = line.strip_prefix("---") {
            doc.push(rest);
            continue;
        }
        if let Some(decl) = line.strip_prefix("function ")
            && let Some(open) = decl.find('(')
        {
            let stub = &decl[..open];
            let args = decl[open..].trim_end_matches(" end");
            let name = typed_name(stub);
            let mut text = Vec::new();
            for d in &doc {
                let d = d.trim();
                if let Some(p) = d.strip_prefix("@param ") {
                    let mut it = p.splitn(3, ' ');
                    let (n, ty, rest) = (
                        it.next().unwrap_or(""),
                        it.next().unwrap_or(""),
                        it.next().unwrap_or(""),
                    );
                    text.push(format!("  {n}: {ty} {rest}").trim_end().to_string());
                } else if let Some(r) = d.strip_prefix("@return ") {
                    text.push(format!("  returns {r}"));
                } else if !d.starts_with('@') && !d.is_empty() {
                    text.push(d.to_string());
                }
            }
            out.push(Entry {
                signature: format!("{name}{args}"),
                name,
                text,
            });
        }
        doc.clear();
    }
    out
}

pub const COMMANDS: &str = "\
:help [topic]    this help, or a module's or function's (`:help hubspot`, `:help search`)
:budget          API calls used and left today on both sides, by caller
:time EXPR       evaluate EXPR and show how long it took and the calls it made
:more            show the last value without the depth and length limits
:trace           the traceback of the last error
:profile NAME    switch to another profile of hubforce.toml (variables stay)
:reload          load the profile's plugins again and show their errors
:plugin NAME     evaluate in a plugin's state: its hooks are `plugin.include(record, ctx)`…;
                 `:plugin` alone comes back
:save FILE       write this session's inputs as a script for `hubforce run FILE`
:quit            leave (Ctrl-D does too); Ctrl-C cancels a running call";

/// The text for `:help` or `:help TOPIC`.
pub fn help(topic: Option<&str>) -> String {
    let all = entries();
    match topic.map(str::trim).filter(|t| !t.is_empty()) {
        None => {
            let mut modules: Vec<(String, Vec<String>)> = Vec::new();
            for e in &all {
                let (module, rest) = e.name.split_once(['.', ':']).unwrap_or(("", &e.name));
                match modules.iter_mut().find(|(m, _)| m == module) {
                    Some((_, fs)) => fs.push(rest.to_string()),
                    None => modules.push((module.to_string(), vec![rest.to_string()])),
                }
            }
            let mut s = String::from(
                "Lua 5.4 with the host API of plugins, connected to the profile. Expressions print \
their value; calls look synchronous.\n\n",
            );
            for (m, fs) in modules {
                s.push_str(&format!("{m:<11} {}\n", fs.join(", ")));
            }
            s.push('\n');
            s.push_str(COMMANDS);
            s
        }
        Some(t) => {
            let t = t.trim_end_matches(['(', ')']);
            let hits: Vec<&Entry> = all
                .iter()
                .filter(|e| {
                    e.name == t
                        || e.name.starts_with(&format!("{t}."))
                        || e.name.ends_with(&format!(".{t}"))
                        || e.name.ends_with(&format!(":{t}"))
                        || (t.starts_with("hubspot.")
                            && e.name.starts_with("hubspot.<object>.")
                            && t.rsplit('.').next() == e.name.rsplit('.').next())
                })
                .collect();
            if hits.is_empty() {
                return format!(
                    "no help for `{t}`: try `:help` for the modules, or `:help hubspot`"
                );
            }
            hits.iter()
                .map(|e| {
                    let mut s = e.signature.clone();
                    for l in &e.text {
                        s.push('\n');
                        s.push_str("  ");
                        s.push_str(l);
                    }
                    s
                })
                .collect::<Vec<_>>()
                .join("\n\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_is_listed_and_topics_find_functions_by_any_name() {
        let all = help(None);
        for m in ["hubspot", "salesforce", "budget", "store", "json", "log"] {
            assert!(all.lines().any(|l| l.starts_with(m)), "{m} missing:\n{all}");
        }
        assert!(all.contains(":time EXPR"));
        let search = help(Some("hubspot.contacts.search"));
        assert!(
            search.starts_with("hubspot.<object>.search(query)"),
            "{search}"
        );
        assert!(search.contains("Records matching the filters"), "{search}");
        let q = help(Some("salesforce.query"));
        assert!(q.contains("for lead in salesforce.query"), "{q}");
        assert!(help(Some("upsert")).contains("salesforce.sobject(name):upsert"));
        assert!(help(Some("nothing_like_it")).starts_with("no help for"));
    }
}
