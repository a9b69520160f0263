//! Layout truth: sizes and field offsets derived here from the published Anchor IDLs (marginfi
//! 0.1.7, the Pyth receiver, Switchboard On-Demand), by a small `repr(C)` / borsh layout
//! calculator that knows nothing of the decoder's structs, then compared with those structs and
//! with the literal offsets the fixtures write at. Runs when `UNIMARGIN_TEST_VECTORS` is set.

use std::{collections::BTreeMap, mem::offset_of, path::PathBuf};

use serde_json::Value;
use unimargin_marginfi::layout::{
    Balance, Bank, BankConfig, EmodeEntry, EmodeSettings, HealthCache, MarginfiAccount,
};
use unimargin_sdk::solana::oracle::switchboard::{CurrentResult, PullFeedAccountData};

pub(crate) fn vectors(test: &str) -> Option<PathBuf> {
    unimargin_sdk::testkit::vectors(test).map(|root| root.join("solana"))
}

/// A `repr(C)` layout computed from an IDL: field offsets by dotted path, and sizes.
struct Idl {
    types: BTreeMap<String, Value>,
    /// SBF alignment of 128-bit integers (8), which is what the programs are built with.
    align128: usize,
}

impl Idl {
    fn load(path: PathBuf) -> Self {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("idl")).expect("idl json");
        let types = v["types"]
            .as_array()
            .expect("types")
            .iter()
            .map(|t| (t["name"].as_str().expect("name").to_owned(), t.clone()))
            .collect();
        Self { types, align128: 8 }
    }

    fn defined<'a>(&'a self, t: &'a Value) -> Option<&'a Value> {
        let name = t
            .get("defined")
            .map(|d| d.get("name").unwrap_or(d))?
            .as_str()?;
        self.types.get(name)
    }

    /// (size, align) of a type.
    fn size_align(&self, t: &Value) -> (usize, usize) {
        if let Some(s) = t.as_str() {
            return match s {
                "u8" | "i8" | "bool" => (1, 1),
                "u16" | "i16" => (2, 2),
                "u32" | "i32" | "f32" => (4, 4),
                "u64" | "i64" | "f64" => (8, 8),
                "u128" | "i128" => (16, self.align128),
                "pubkey" | "publicKey" => (32, 1),
                other => panic!("unknown primitive {other}"),
            };
        }
        if let Some(arr) = t.get("array") {
            let (s, a) = self.size_align(&arr[0]);
            return (s * arr[1].as_u64().expect("len") as usize, a);
        }
        let d = self
            .defined(t)
            .unwrap_or_else(|| panic!("unknown type {t}"));
        if d["type"]["kind"] == "enum" {
            return (1, 1);
        }
        let mut off: usize = 0;
        let mut align = d["repr"]["align"].as_u64().unwrap_or(1) as usize;
        for f in d["type"]["fields"].as_array().expect("fields") {
            let (s, a) = self.size_align(&f["type"]);
            off = off.div_ceil(a) * a + s;
            align = align.max(a);
        }
        (off.div_ceil(align) * align, align)
    }

    /// Offsets of every field of `name`, nested, as `a.b.c`.
    fn offsets(&self, name: &str) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        self.walk(name, "", 0, &mut out);
        out
    }

    fn walk(&self, name: &str, prefix: &str, base: usize, out: &mut BTreeMap<String, usize>) {
        let d = &self.types[name];
        let mut off: usize = 0;
        for f in d["type"]["fields"].as_array().expect("fields") {
            let (s, a) = self.size_align(&f["type"]);
            off = off.div_ceil(a) * a;
            let path = format!("{prefix}{}", f["name"].as_str().expect("field name"));
            out.insert(path.clone(), base + off);
            if let Some(inner) = self.defined(&f["type"])
                && inner["type"]["kind"] == "struct"
            {
                let inner_name = inner["name"].as_str().expect("name").to_owned();
                self.walk(&inner_name, &format!("{path}."), base + off, out);
            }
            off += s;
        }
    }

    fn size(&self, name: &str) -> usize {
        self.size_align(&serde_json::json!({"defined": {"name": name}}))
            .0
    }
}

#[test]
fn marginfi_layouts_match_the_0_1_7_idl() {
    let Some(dir) = vectors("marginfi_layouts_match_the_0_1_7_idl") else {
        return;
    };
    let idl = Idl::load(dir.join("marginfi/idl/marginfi_0.1.7.json"));
    assert_eq!(idl.size("MarginfiAccount"), size_of::<MarginfiAccount>());
    assert_eq!(idl.size("Bank"), size_of::<Bank>());
    assert_eq!(idl.size("Balance"), size_of::<Balance>());
    assert_eq!(idl.size("BankConfig"), size_of::<BankConfig>());
    assert_eq!(idl.size("HealthCache"), size_of::<HealthCache>());
    assert_eq!(idl.size("EmodeEntry"), size_of::<EmodeEntry>());
    assert_eq!(idl.size("EmodeSettings"), size_of::<EmodeSettings>());

    let a = idl.offsets("MarginfiAccount");
    let ours = [
        ("group", offset_of!(MarginfiAccount, group)),
        ("authority", offset_of!(MarginfiAccount, authority)),
        (
            "lending_account",
            offset_of!(MarginfiAccount, lending_account),
        ),
        ("account_flags", offset_of!(MarginfiAccount, account_flags)),
        ("health_cache", offset_of!(MarginfiAccount, health_cache)),
        (
            "health_cache.asset_value_maint",
            offset_of!(MarginfiAccount, health_cache) + offset_of!(HealthCache, asset_value_maint),
        ),
        (
            "health_cache.liability_value_maint",
            offset_of!(MarginfiAccount, health_cache)
                + offset_of!(HealthCache, liability_value_maint),
        ),
        (
            "health_cache.timestamp",
            offset_of!(MarginfiAccount, health_cache) + offset_of!(HealthCache, timestamp),
        ),
        ("migrated_to", offset_of!(MarginfiAccount, migrated_to)),
        ("last_update", offset_of!(MarginfiAccount, last_update)),
    ];
    for (path, off) in ours {
        assert_eq!(a[path], off, "MarginfiAccount.{path}");
    }
    let b = idl.offsets("Balance");
    for (path, off) in [
        ("active", offset_of!(Balance, active)),
        ("bank_pk", offset_of!(Balance, bank_pk)),
        ("asset_shares", offset_of!(Balance, asset_shares)),
        ("liability_shares", offset_of!(Balance, liability_shares)),
        ("last_update", offset_of!(Balance, last_update)),
    ] {
        assert_eq!(b[path], off, "Balance.{path}");
    }
    let bank = idl.offsets("Bank");
    let cfg = offset_of!(Bank, config);
    for (path, off) in [
        ("mint", offset_of!(Bank, mint)),
        ("mint_decimals", offset_of!(Bank, mint_decimals)),
        ("group", offset_of!(Bank, group)),
        ("asset_share_value", offset_of!(Bank, asset_share_value)),
        (
            "liability_share_value",
            offset_of!(Bank, liability_share_value),
        ),
        (
            "total_liability_shares",
            offset_of!(Bank, total_liability_shares),
        ),
        ("total_asset_shares", offset_of!(Bank, total_asset_shares)),
        (
            "config.asset_weight_init",
            cfg + offset_of!(BankConfig, asset_weight_init),
        ),
        (
            "config.asset_weight_maint",
            cfg + offset_of!(BankConfig, asset_weight_maint),
        ),
        (
            "config.liability_weight_init",
            cfg + offset_of!(BankConfig, liability_weight_init),
        ),
        (
            "config.liability_weight_maint",
            cfg + offset_of!(BankConfig, liability_weight_maint),
        ),
        (
            "config.operational_state",
            cfg + offset_of!(BankConfig, operational_state),
        ),
        (
            "config.oracle_setup",
            cfg + offset_of!(BankConfig, oracle_setup),
        ),
        (
            "config.oracle_keys",
            cfg + offset_of!(BankConfig, oracle_keys),
        ),
        ("config.risk_tier", cfg + offset_of!(BankConfig, risk_tier)),
        (
            "config.config_flags",
            cfg + offset_of!(BankConfig, config_flags),
        ),
        (
            "config.total_asset_value_init_limit",
            cfg + offset_of!(BankConfig, total_asset_value_init_limit),
        ),
        (
            "config.oracle_max_age",
            cfg + offset_of!(BankConfig, oracle_max_age),
        ),
        (
            "config.oracle_max_confidence",
            cfg + offset_of!(BankConfig, oracle_max_confidence),
        ),
        (
            "emode.emode_tag",
            offset_of!(Bank, emode) + offset_of!(EmodeSettings, emode_tag),
        ),
        (
            "emode.emode_config",
            offset_of!(Bank, emode) + offset_of!(EmodeSettings, entries),
        ),
        ("integration_acc_1", offset_of!(Bank, integration_acc_1)),
    ] {
        assert_eq!(bank[path], off, "Bank.{path}");
    }

    // The fixtures' literal offsets (discriminator included) are the IDL's too.
    for (path, literal) in [
        ("mint", 8),
        ("mint_decimals", 40),
        ("group", 41),
        ("asset_share_value", 80),
        ("liability_share_value", 96),
        ("total_asset_shares", 272),
        ("config", 296),
        ("config.operational_state", 608),
        ("config.oracle_setup", 609),
        ("config.oracle_keys", 610),
        ("config.risk_tier", 784),
        ("config.config_flags", 786),
        ("config.total_asset_value_init_limit", 792),
        ("config.oracle_max_age", 800),
    ] {
        assert_eq!(bank[path] + 8, literal, "fixture offset of Bank.{path}");
    }
    assert_eq!(a["lending_account.balances"] + 8, 72);
    assert_eq!(b["asset_shares"], 40);
    assert_eq!(b["liability_shares"], 56);
    assert_eq!(idl.size("Balance"), 104);
}

#[test]
fn oracle_layouts_match_their_idls() {
    let Some(dir) = vectors("oracle_layouts_match_their_idls") else {
        return;
    };
    let sb = Idl::load(dir.join("drift/idl/switchboard_on_demand_30.json"));
    assert_eq!(
        sb.size("PullFeedAccountData"),
        size_of::<PullFeedAccountData>()
    );
    assert_eq!(sb.size("CurrentResult"), size_of::<CurrentResult>());
    let f = sb.offsets("PullFeedAccountData");
    assert_eq!(
        f["last_update_timestamp"],
        offset_of!(PullFeedAccountData, last_update_timestamp)
    );
    assert_eq!(f["result"], offset_of!(PullFeedAccountData, result));
    assert_eq!(
        f["result.value"],
        offset_of!(PullFeedAccountData, result) + offset_of!(CurrentResult, value)
    );
    assert_eq!(
        f["result.std_dev"],
        offset_of!(PullFeedAccountData, result) + offset_of!(CurrentResult, std_dev)
    );
    assert_eq!(
        f["result.slot"],
        offset_of!(PullFeedAccountData, result) + offset_of!(CurrentResult, slot)
    );
    assert_eq!(
        f["submission_timestamps"],
        offset_of!(PullFeedAccountData, submission_timestamps)
    );

    // PriceUpdateV2 is borsh: with `Full` verification (1 byte), the price message starts at
    // 8 + 32 + 1 and every field follows without padding.
    let pyth = Idl::load(dir.join("drift/idl/pyth_solana_receiver.json"));
    let mut idl_msg = BTreeMap::new();
    let mut off = 8 + 32 + 1;
    for field in pyth.types["PriceFeedMessage"]["type"]["fields"]
        .as_array()
        .expect("fields")
    {
        idl_msg.insert(field["name"].as_str().expect("name").to_owned(), off);
        off += pyth.size_align(&field["type"]).0;
    }
    // posted_slot follows; with `Partial { num_signatures }` the account reaches its 134 bytes.
    assert_eq!(
        off + 8 + 1,
        unimargin_sdk::solana::oracle::pyth::PRICE_UPDATE_V2_LEN
    );
    // The fixtures write the same sequence.
    assert_eq!(
        (
            idl_msg["feedId"],
            idl_msg["price"],
            idl_msg["publishTime"],
            idl_msg["emaConf"]
        ),
        (41, 73, 93, 117)
    );
}
