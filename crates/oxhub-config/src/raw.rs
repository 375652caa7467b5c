//! The assignments a config produced, before they are checked against the trait table.

use crate::error::Origin;
use crate::value::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub value: Value,
    pub origin: Origin,
}

/// `c.Class.trait` → value, as assigned (class names as written, not yet checked).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawConfig {
    entries: BTreeMap<(String, String), Entry>,
}

impl RawConfig {
    pub fn get(&self, class: &str, name: &str) -> Option<&Entry> {
        self.entries.get(&(class.to_owned(), name.to_owned()))
    }

    pub fn get_mut(&mut self, class: &str, name: &str) -> Option<&mut Entry> {
        self.entries.get_mut(&(class.to_owned(), name.to_owned()))
    }

    pub fn set(&mut self, class: &str, name: &str, value: Value, origin: Origin) {
        self.entries
            .insert((class.to_owned(), name.to_owned()), Entry { value, origin });
    }

    pub fn remove(&mut self, class: &str, name: &str) -> Option<Entry> {
        self.entries.remove(&(class.to_owned(), name.to_owned()))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &Entry)> {
        self.entries
            .iter()
            .map(|((c, n), e)| (c.as_str(), n.as_str(), e))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
