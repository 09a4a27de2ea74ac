//! A plugin's limits: in plugin.toml `limits = {…}`, and in hubforce.toml
//! `plugin_limits.PLUGIN = {…}`, the ceiling a manifest may only go below.

use serde::Deserialize;

/// The limits a manifest or the profile gives (each optional).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    #[serde(default)]
    pub memory_mb: Option<u64>,
    #[serde(default)]
    pub call_ms: Option<u64>,
    /// API calls per provider a plugin's own code may make in one sync pass (or one
    /// command); the manifest may ask for more than the default.
    #[serde(default)]
    pub calls_per_pass: Option<u64>,
}

/// The host's ceilings, unless the profile sets its own.
pub const DEFAULT_MEMORY_MB: u64 = 64;
pub const DEFAULT_CALL_MS: u64 = 1000;
/// A hook that calls the API in a loop spends this many calls a pass, not thousands.
pub const DEFAULT_CALLS_PER_PASS: u64 = 100;
/// Values past these are mistakes, not settings.
const MAX_MEMORY_MB: u64 = 4096;
const MAX_CALL_MS: u64 = 600_000;
const MAX_CALLS_PER_PASS: u64 = 1_000_000;

/// A plugin's limits as they apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginLimits {
    pub memory_mb: u64,
    pub call_ms: u64,
    pub calls_per_pass: u64,
}

impl LimitSettings {
    /// Every value given is within reason (0 is no "unlimited": it is refused).
    pub fn check(&self, label: &str) -> Result<(), String> {
        let range = |name: &str, v: Option<u64>, max: u64, unit: &str| match v {
            Some(v) if v == 0 || v > max => Err(format!(
                "{label}: {name} = {v} is out of range; give 1 to {max} {unit}"
            )),
            _ => Ok(()),
        };
        range("memory_mb", self.memory_mb, MAX_MEMORY_MB, "MiB")?;
        range("call_ms", self.call_ms, MAX_CALL_MS, "ms")?;
        range(
            "calls_per_pass",
            self.calls_per_pass,
            MAX_CALLS_PER_PASS,
            "calls",
        )
    }

    /// The limits of a plugin whose manifest says `self`, under the profile's `ceiling`
    /// (hubforce.toml): memory and time may only be lowered by the manifest.
    pub fn resolve(
        &self,
        ceiling: Option<&LimitSettings>,
        manifest_label: &str,
        plugin: &str,
    ) -> Result<PluginLimits, String> {
        self.check(manifest_label)?;
        let empty = LimitSettings::default();
        let ceiling = ceiling.unwrap_or(&empty);
        ceiling.check(&format!("hubforce.toml plugin_limits.{plugin}"))?;
        let max_memory = ceiling.memory_mb.unwrap_or(DEFAULT_MEMORY_MB);
        let max_time = ceiling.call_ms.unwrap_or(DEFAULT_CALL_MS);
        let above = |name: &str, asked: u64, max: u64| {
            Err(format!(
                "{manifest_label}: limits.{name} = {asked} is above this profile's ceiling of {max}; a plugin may only lower its limits — raise the ceiling in hubforce.toml (plugin_limits.{plugin} = {{ {name} = {asked} }}) if you trust it"
            ))
        };
        if let Some(m) = self.memory_mb.filter(|m| *m > max_memory) {
            return above("memory_mb", m, max_memory);
        }
        if let Some(t) = self.call_ms.filter(|t| *t > max_time) {
            return above("call_ms", t, max_time);
        }
        Ok(PluginLimits {
            memory_mb: self.memory_mb.unwrap_or(max_memory),
            call_ms: self.call_ms.unwrap_or(max_time),
            calls_per_pass: ceiling
                .calls_per_pass
                .or(self.calls_per_pass)
                .unwrap_or(DEFAULT_CALLS_PER_PASS),
        })
    }
}
