//! JSON Schema export of the public types, written to `schemas/` and checked for drift in CI.

use std::{
    fs,
    path::{Path, PathBuf},
};

use schemars::{JsonSchema, Schema, SchemaGenerator, generate::SchemaSettings};

use crate::{AccountId, MarginProfile, ProtocolSnapshot, Simulation};

/// Schema stand-in for [`rust_decimal::Decimal`]: an exact decimal carried as a JSON string so no
/// client parses money into a binary float.
pub struct DecimalString;

impl JsonSchema for DecimalString {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Decimal".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "Exact decimal number as a string (e.g. \"1234.5678\").",
            "pattern": "^-?[0-9]+(\\.[0-9]+)?$"
        })
    }
}

/// The exported documents: file name and schema.
pub fn schemas() -> Vec<(&'static str, Schema)> {
    fn one<T: JsonSchema>() -> Schema {
        SchemaSettings::draft2020_12()
            .into_generator()
            .into_root_schema_for::<T>()
    }
    vec![
        ("margin-profile.schema.json", one::<MarginProfile>()),
        ("protocol-snapshot.schema.json", one::<ProtocolSnapshot>()),
        ("account-id.schema.json", one::<AccountId>()),
        ("simulation.schema.json", one::<Simulation>()),
    ]
}

/// Renders one schema the way it is checked in (pretty JSON, trailing newline).
pub fn render(schema: &Schema) -> String {
    let mut s = serde_json::to_string_pretty(schema).unwrap_or_default();
    s.push('\n');
    s
}

/// Writes every schema into `dir`, returning the paths written.
pub fn write_all(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    fs::create_dir_all(dir)?;
    schemas()
        .into_iter()
        .map(|(name, schema)| {
            let path = dir.join(name);
            fs::write(&path, render(&schema))?;
            Ok(path)
        })
        .collect()
}

/// Files in `dir` that differ from the export (missing files count), by name.
pub fn drift(dir: &Path) -> Vec<String> {
    schemas()
        .into_iter()
        .filter(|(name, schema)| {
            fs::read_to_string(dir.join(name)).ok().as_deref() != Some(&render(schema))
        })
        .map(|(name, _)| name.to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    /// The checked-in `schemas/` must equal the export; regenerate with `unimargin schemas`.
    #[test]
    fn checked_in_schemas_do_not_drift() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
        let drifted = super::drift(&dir);
        assert!(
            drifted.is_empty(),
            "schemas/ differs from the Rust types for {drifted:?}; run `cargo run -p unimargin-cli -- schemas`"
        );
    }
}
