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

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    #[serde(default)]
    pub memory_mb: Option<usize>,
    #[serde(default)]
    pub call_ms: Option<u64>,
}

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
}

impl Manifest {
    pub fn parse(text: &str, label: &str) -> Result<Manifest, String> {
        let m: Manifest = toml::from_str(text).map_err(|e| {
            format!(
                "{label}: {}",
                e.to_string().trim_end().replace('\n', "\n  ")
            )
        })?;
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
        Ok(m)
    }

    /// The plugin's settings from hubforce.toml, checked against the schema, with defaults.
    pub fn settings(&self, given: &toml::Table) -> Result<toml::Table, String> {
        let mut out = toml::Table::new();
        for key in given.keys() {
            if !self.config.contains_key(key) {
                let known: Vec<&str> = self.config.keys().map(String::as_str).collect();
                return Err(format!(
                    "unknown setting `{key}` for plugin {} (known: {})",
                    self.name,
                    if known.is_empty() {
                        "none".into()
                    } else {
                        known.join(", ")
                    }
                ));
            }
        }
        for (key, field) in &self.config {
            let value = match (given.get(key), &field.default) {
                (Some(v), _) => v.clone(),
                (None, Some(d)) => d.clone(),
                (None, None) if field.required => {
                    return Err(format!(
                        "plugin {} needs the setting `{key}` ({})",
                        self.name, field.description
                    ));
                }
                (None, None) => continue,
            };
            let ok = matches!(
                (field.kind, &value),
                (FieldType::String, toml::Value::String(_))
                    | (
                        FieldType::Number,
                        toml::Value::Float(_) | toml::Value::Integer(_)
                    )
                    | (FieldType::Integer, toml::Value::Integer(_))
                    | (FieldType::Boolean, toml::Value::Boolean(_))
                    | (FieldType::List, toml::Value::Array(_))
                    | (FieldType::Table, toml::Value::Table(_))
            );
            if !ok {
                return Err(format!(
                    "plugin {}: setting `{key}` should be a {:?}, got {}",
                    self.name,
                    field.kind,
                    value.type_str()
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
                .contains("needs the setting `region`")
        );
        given.insert("min_scroe".into(), toml::Value::Integer(1));
        assert!(
            m.settings(&given)
                .unwrap_err()
                .contains("unknown setting `min_scroe`")
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
