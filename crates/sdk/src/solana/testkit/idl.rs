//! Test aids for Solana adapters: the recorded test vectors (`UNIMARGIN_TEST_VECTORS`), account
//! bytes from `.b64` / `.hex` files, and an Anchor IDL layout calculator written independently of
//! any adapter's structs, so a test can check a zero-copy struct against the program's published
//! IDL ([`check_idl_layout!`](crate::check_idl_layout)). Packed (borsh) layouts only.
//!
//! These are test aids: a missing file or a malformed IDL panics, which fails the calling test
//! with the reason.
#![allow(
    clippy::panic,
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "test aids: a bad vector or IDL fails the calling test with its reason"
)]

use base64::Engine as _;
use serde_json::Value;

pub use crate::testkit::vectors;

/// Account data of a `.b64` (one base64 line) or `.hex` file.
pub fn load(path: &std::path::Path) -> Vec<u8> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = text.trim();
    if path.extension().is_some_and(|e| e == "hex") {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
            .collect()
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .expect("base64")
    }
}

/// `snake_case` → `camelCase`, as Anchor names IDL fields.
pub fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// An Anchor IDL (legacy or new format), with packed sizes and offsets computed from the JSON.
pub struct Idl {
    types: Vec<Value>,
}

impl Idl {
    /// Loads an IDL file.
    pub fn load(path: &std::path::Path) -> Self {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("idl")).expect("idl json");
        let mut types: Vec<Value> = v["types"].as_array().cloned().unwrap_or_default();
        // Legacy IDLs declare account structs under `accounts` only.
        for a in v["accounts"].as_array().cloned().unwrap_or_default() {
            if a.get("type").is_some() {
                types.push(a);
            }
        }
        Self { types }
    }

    fn def(&self, name: &str) -> &Value {
        self.types
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("type {name} not in IDL"))
    }

    /// Packed size of a type expression.
    pub fn size_of(&self, t: &Value) -> usize {
        if let Some(p) = t.as_str() {
            return match p {
                "u8" | "i8" | "bool" => 1,
                "u16" | "i16" => 2,
                "u32" | "i32" | "f32" => 4,
                "u64" | "i64" | "f64" => 8,
                "u128" | "i128" => 16,
                "publicKey" | "pubkey" => 32,
                other => panic!("primitive {other}"),
            };
        }
        if let Some(arr) = t.get("array") {
            return self.size_of(&arr[0]) * arr[1].as_u64().expect("array len") as usize;
        }
        if let Some(d) = t.get("defined") {
            let name = d
                .as_str()
                .or_else(|| d["name"].as_str())
                .expect("defined name");
            return self.size(name);
        }
        panic!("type {t}")
    }

    /// Packed size of a named struct (or 1 for a fieldless enum).
    pub fn size(&self, name: &str) -> usize {
        let ty = &self.def(name)["type"];
        match ty["kind"].as_str() {
            Some("struct") => ty["fields"]
                .as_array()
                .expect("fields")
                .iter()
                .map(|f| self.size_of(&f["type"]))
                .sum(),
            Some("enum") => 1,
            k => panic!("kind {k:?}"),
        }
    }

    /// `(field name, offset)` of a named struct, in order.
    pub fn fields(&self, name: &str) -> Vec<(String, usize)> {
        let mut off = 0;
        self.def(name)["type"]["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .map(|f| {
                let here = off;
                off += self.size_of(&f["type"]);
                (f["name"].as_str().expect("name").to_owned(), here)
            })
            .collect()
    }
}

/// Compares a struct with the IDL: every field in order, at the IDL's offset, and the size.
///
/// `check_idl_layout!(idl, "User", User, [authority, delegate, …])`.
#[macro_export]
macro_rules! check_idl_layout {
    ($idl:expr, $name:literal, $ty:ty, [$($field:ident),* $(,)?]) => {{
        let ours: Vec<(String, usize)> =
            vec![$(($crate::solana::testkit::idl::camel(stringify!($field)), std::mem::offset_of!($ty, $field))),*];
        assert_eq!(ours, $idl.fields($name), "{} fields and offsets", $name);
        assert_eq!(std::mem::size_of::<$ty>(), $idl.size($name), "{} size", $name);
    }};
}
