//! What the xl save header's JSON config says about the guest.

/// Guest facts from the domain config that xl sends (`libxl_domain_config` as JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct GuestConfig {
    /// `c_info.name`.
    pub name: Option<String>,
    /// `c_info.type`: `pv`, `hvm` or `pvh`.
    pub guest_type: Option<String>,
    /// `b_info.max_memkb`.
    pub max_memory_kib: Option<u64>,
    /// `b_info.target_memkb`.
    pub target_memory_kib: Option<u64>,
    /// `b_info.max_vcpus`.
    pub vcpus: Option<u64>,
    /// `c_info.uuid`.
    pub uuid: Option<String>,
}

impl GuestConfig {
    /// Reads the config; `None` when it is not a JSON object.
    pub fn from_json(text: &str) -> Option<GuestConfig> {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        let c_info = value.get("c_info");
        let b_info = value.get("b_info");
        let text_at = |section: Option<&serde_json::Value>, key: &str| {
            section?.get(key)?.as_str().map(str::to_string)
        };
        let number_at =
            |section: Option<&serde_json::Value>, key: &str| section?.get(key)?.as_u64();
        value.is_object().then(|| GuestConfig {
            name: text_at(c_info, "name"),
            guest_type: text_at(c_info, "type"),
            max_memory_kib: number_at(b_info, "max_memkb"),
            target_memory_kib: number_at(b_info, "target_memkb"),
            vcpus: number_at(b_info, "max_vcpus"),
            uuid: text_at(c_info, "uuid"),
        })
    }

    /// Guest memory in 4 KiB pages (from `max_memkb`).
    pub fn memory_pages(&self) -> Option<u64> {
        self.max_memory_kib.map(|kib| kib / 4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_reads_the_fields_xl_writes() {
        let json = r#"{"c_info": {"type": "pv", "name": "sv32", "uuid": "71c6"},
                       "b_info": {"max_vcpus": 1, "max_memkb": 32768, "target_memkb": 32768}}"#;
        let config = GuestConfig::from_json(json).unwrap();
        assert_eq!(config.name.as_deref(), Some("sv32"));
        assert_eq!(config.guest_type.as_deref(), Some("pv"));
        assert_eq!(config.vcpus, Some(1));
        assert_eq!(config.memory_pages(), Some(8192));
    }

    #[test]
    fn test_rejects_non_objects_and_tolerates_missing_fields() {
        assert_eq!(GuestConfig::from_json("[1]"), None);
        assert_eq!(GuestConfig::from_json("name = \"x\""), None);
        assert_eq!(GuestConfig::from_json("{}"), Some(GuestConfig::default()));
    }
}
