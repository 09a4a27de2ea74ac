//! `plugin.toml`: what a plugin is, which host API it needs, the scopes and API budget it
//! asks for, its limits, and the schema of its settings.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The host API version this hubforce offers to plugins.
pub const HOST_API: u32 = 1;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    /// The host API version the plugin is written for.
    pub api: u32,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub scopes: Scopes,
    #[serde(default)]
    pub budget: BudgetShare,
    #[serde(default)]
    pub limits: LimitSettings,
    /// The plugin's settings, as `[config.NAME]` tables.
    #[serde(default)]
    pub config: BTreeMap<String, ConfigField>,
    /// Properties and fields its hooks read beyond the mapped ones, by object
    /// (`reads = { contacts = ["newsletter_opt_in"], Lead = ["Rating"] }`): the sync pulls
    /// them, and a change to one is a change of the record (a computed field follows it).
    #[serde(default)]
    pub reads: BTreeMap<String, Vec<String>>,
    /// Fields a function `transform` writes, by target object (`writes = { Lead = ["Rating"] }`):
    /// `hubforce check` verifies they exist and may be written. A per-field transform table
    /// says so itself.
    #[serde(default)]
    pub writes: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scopes {
    #[serde(default)]
    pub hubspot: Vec<String>,
    #[serde(default)]
    pub salesforce: Vec<String>,
}

/// Calls per day the plugin's own API calls may make (its hooks' writes are the engine's).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetShare {
    #[serde(default)]
    pub hubspot: Option<u64>,
    #[serde(default)]
    pub salesforce: Option<u64>,
}

// The limit settings live with the configuration that reads them (hubforce.toml's
// `plugin_limits`); a manifest's `limits` uses the same type.
pub use crate::config::plugin_limits::{
    DEFAULT_CALL_MS, DEFAULT_CALLS_PER_PASS, DEFAULT_MEMORY_MB, LimitSettings, PluginLimits,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    String,
    Number,
    Integer,
    Boolean,
    List,
    Table,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigField {
    #[serde(rename = "type")]
    pub kind: FieldType,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub default: Option<toml::Value>,
    #[serde(default)]
    pub description: String,
    /// The type of each element of a `list` setting.
    #[serde(default)]
    pub items: Option<FieldType>,
    /// The type of each value of a `table` setting.
    #[serde(default)]
    pub values: Option<FieldType>,
}

/// A setting in hubforce.toml the plugin's schema refuses: which key, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SettingError {
    pub key: String,
    pub message: String,
}

impl FieldType {
    fn fits(self, value: &toml::Value) -> bool {
        matches!(
            (self, value),
            (FieldType::String, toml::Value::String(_))
                | (
                    FieldType::Number,
                    toml::Value::Float(_) | toml::Value::Integer(_)
                )
                | (FieldType::Integer, toml::Value::Integer(_))
                | (FieldType::Boolean, toml::Value::Boolean(_))
                | (FieldType::List, toml::Value::Array(_))
                | (FieldType::Table, toml::Value::Table(_))
        )
    }

    fn name(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Number => "number",
            FieldType::Integer => "integer",
            FieldType::Boolean => "boolean",
            FieldType::List => "list",
            FieldType::Table => "table",
        }
    }
}

impl ConfigField {
    /// Where a value breaks this field's type: None when it fits, else what is wrong
    /// (`["a", 1]` in a list of strings: "item 2 is an integer").
    fn misfit(&self, value: &toml::Value) -> Option<String> {
        if !self.kind.fits(value) {
            return Some(format!(
                "should be a {}, got {}",
                self.kind.name(),
                a_type(value)
            ));
        }
        match (value, self.items, self.values) {
            (toml::Value::Array(items), Some(t), _) => {
                items.iter().enumerate().find_map(|(i, v)| {
                    (!t.fits(v)).then(|| {
                        format!(
                            "should be a list of {}s; item {} is {}",
                            t.name(),
                            i + 1,
                            a_type(v)
                        )
                    })
                })
            }
            (toml::Value::Table(table), _, Some(t)) => table.iter().find_map(|(k, v)| {
                (!t.fits(v))
                    .then(|| format!("should be a table of {}s; `{k}` is {}", t.name(), a_type(v)))
            }),
            _ => None,
        }
    }
}

fn a_type(v: &toml::Value) -> String {
    let t = v.type_str();
    let article = if t.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {t}")
}

impl Manifest {
    pub fn parse(text: &str, label: &str) -> Result<Manifest, String> {
        let m: Manifest = toml::from_str(text)
            .map_err(|e| format!("{label}: {}", crate::config::toml_message(text, &e)))?;
        let valid_name = !m.name.is_empty()
            && m.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid_name {
            return Err(format!(
                "{label}: name `{}` must be letters, digits, '_' or '-'",
                m.name
            ));
        }
        if m.api > HOST_API {
            return Err(format!(
                "{label}: the plugin needs host API {}, this hubforce offers {HOST_API}; upgrade hubforce",
                m.api
            ));
        }
        if m.api == 0 {
            return Err(format!("{label}: api must be at least 1"));
        }
        for (key, field) in &m.config {
            if field.items.is_some() && field.kind != FieldType::List {
                return Err(format!(
                    "{label}: config.{key}: `items` is for a list setting; this one is a {}",
                    field.kind.name()
                ));
            }
            if field.values.is_some() && field.kind != FieldType::Table {
                return Err(format!(
                    "{label}: config.{key}: `values` is for a table setting; this one is a {}",
                    field.kind.name()
                ));
            }
            if let Some(d) = &field.default
                && let Some(why) = field.misfit(d)
            {
                return Err(format!("{label}: config.{key}: the default {why}"));
            }
        }
        Ok(m)
    }

    /// The plugin's settings from hubforce.toml, checked against the schema, with defaults.
    pub fn settings(&self, given: &toml::Table) -> Result<toml::Table, SettingError> {
        let refuse = |key: &str, message: String| SettingError {
            key: key.into(),
            message,
        };
        let mut out = toml::Table::new();
        for key in given.keys() {
            if !self.config.contains_key(key) {
                let known: Vec<&str> = self.config.keys().map(String::as_str).collect();
                let close = known
                    .iter()
                    .filter(|k| crate::plugins::plugin::distance(k, key) <= 3)
                    .min_by_key(|k| crate::plugins::plugin::distance(k, key))
                    .map(|k| format!("; did you mean `{k}`?"))
                    .unwrap_or_default();
                return Err(refuse(
                    key,
                    format!(
                        "unknown setting `{key}` for plugin {} (known: {}){close}",
                        self.name,
                        if known.is_empty() {
                            "none".into()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            }
        }
        for (key, field) in &self.config {
            let value = match (given.get(key), &field.default) {
                (Some(v), _) => v.clone(),
                (None, Some(d)) => d.clone(),
                (None, None) if field.required => {
                    return Err(refuse(
                        key,
                        format!(
                            "plugin {} needs the setting `{key}` ({})",
                            self.name, field.description
                        ),
                    ));
                }
                (None, None) => continue,
            };
            if let Some(why) = field.misfit(&value) {
                return Err(refuse(
                    key,
                    format!("plugin {}: setting `{key}` {why}", self.name),
                ));
            }
            out.insert(key.clone(), value);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "acme"
version = "1.2.0"
api = 1
scopes = { hubspot = ["crm.objects.contacts.read"] }
budget = { salesforce = 500 }
limits = { memory_mb = 16, call_ms = 200 }

[config.min_score]
type = "integer"
default = 40

[config.region]
type = "string"
required = true
description = "the sales region"
"#;

    #[test]
    fn manifests_parse_and_check_settings() {
        let m = Manifest::parse(GOOD, "plugins/acme/plugin.toml").unwrap();
        let mut given = toml::Table::new();
        given.insert("region".into(), toml::Value::String("EMEA".into()));
        let s = m.settings(&given).unwrap();
        assert_eq!(s["min_score"].as_integer(), Some(40));
        assert!(
            m.settings(&toml::Table::new())
                .unwrap_err()
                .message
                .contains("needs the setting `region`")
        );
        given.insert("min_scroe".into(), toml::Value::Integer(1));
        assert!(
            m.settings(&given)
                .unwrap_err()
                .message
                .contains("unknown setting `min_scroe`")
        );
    }

    #[test]
    fn inner_types_of_lists_and_tables_are_checked() {
        let m = Manifest::parse(
            &format!(
                "{GOOD}\n[config.owners]\ntype = \"table\"\nvalues = \"string\"\n\n[config.codes]\ntype = \"list\"\nitems = \"integer\"\n"
            ),
            "plugins/acme/plugin.toml",
        )
        .unwrap();
        let given: toml::Table = toml::from_str(
            "region = \"EMEA\"\nowners = { alice = \"005A\", bob = 7 }\ncodes = [1, 2]",
        )
        .unwrap();
        let e = m.settings(&given).unwrap_err();
        assert_eq!(e.key, "owners");
        assert!(
            e.message
                .contains("should be a table of strings; `bob` is an integer"),
            "{e}"
        );
        let given: toml::Table = toml::from_str("region = \"EMEA\"\ncodes = [1, \"two\"]").unwrap();
        let e = m.settings(&given).unwrap_err();
        assert!(
            e.message
                .contains("should be a list of integers; item 2 is a string"),
            "{e}"
        );
        let given: toml::Table = toml::from_str("region = \"EMEA\"\nowner_mapp = 1").unwrap();
        assert_eq!(m.settings(&given).unwrap_err().key, "owner_mapp");
        let bad = Manifest::parse(
            &format!("{GOOD}\n[config.x]\ntype = \"string\"\nitems = \"string\"\n"),
            "plugins/acme/plugin.toml",
        )
        .unwrap_err();
        assert!(bad.contains("`items` is for a list setting"), "{bad}");
    }

    #[test]
    fn a_manifest_may_lower_its_limits_never_lift_them() {
        let l = |memory_mb, call_ms| LimitSettings {
            memory_mb,
            call_ms,
            calls_per_pass: None,
        };
        let got = l(Some(16), None)
            .resolve(None, "p/plugin.toml", "p")
            .unwrap();
        assert_eq!(
            (got.memory_mb, got.call_ms, got.calls_per_pass),
            (16, 1000, 100)
        );
        let e = l(Some(512), None)
            .resolve(None, "p/plugin.toml", "p")
            .unwrap_err();
        assert!(e.contains("above this profile's ceiling of 64"), "{e}");
        assert!(e.contains("plugin_limits.p = { memory_mb = 512 }"), "{e}");
        let raised = l(Some(512), None)
            .resolve(Some(&l(Some(1024), None)), "p/plugin.toml", "p")
            .unwrap();
        assert_eq!(raised.memory_mb, 512);
        for bad in [l(Some(0), None), l(None, Some(0)), l(None, Some(u64::MAX))] {
            let e = bad.resolve(None, "p/plugin.toml", "p").unwrap_err();
            assert!(e.contains("out of range"), "{e}");
        }
        assert!(
            l(None, None)
                .resolve(Some(&l(Some(0), None)), "x", "p")
                .is_err()
        );
    }

    #[test]
    fn bad_manifests_say_what_and_where() {
        let e = Manifest::parse(
            &GOOD.replace("api = 1", "api = 9"),
            "plugins/acme/plugin.toml",
        )
        .unwrap_err();
        assert!(e.contains("host API 9"), "{e}");
        let e = Manifest::parse(&format!("{GOOD}\nbogus = 1\n"), "plugins/acme/plugin.toml")
            .unwrap_err();
        assert!(
            e.contains("plugins/acme/plugin.toml") && e.contains("unknown field `bogus`"),
            "{e}"
        );
    }
}
