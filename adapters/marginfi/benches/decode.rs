//! Decode time per account: `Bank` and `MarginfiAccount` (owner, size, discriminator checks and
//! the zero-copy read), `PriceUpdateV2`, and one account's full health reproduction.

#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use unimargin_marginfi::{MarginfiDeployment, fetch, layout};
use unimargin_sdk::solana::{Pubkey, RawAccount, oracle::pyth::decode_price_update_v2};

fn program() -> Pubkey {
    "MFv2hWf31Z9kbCa1snEPYctwafyhdvnV7FZnsebVacA"
        .parse()
        .expect("program")
}

fn group() -> Pubkey {
    "4qp6Fx6tnZkY5Wropq9wUYgtFxXKwE6viZxFHg3rdAG8"
        .parse()
        .expect("group")
}

fn account(len: usize, disc: [u8; 8], owner: Pubkey) -> RawAccount {
    let mut data = vec![0u8; len];
    data[..8].copy_from_slice(&disc);
    if len == layout::BANK_LEN {
        data[41..73].copy_from_slice(&group().to_bytes());
    } else if len == layout::MARGINFI_ACCOUNT_LEN {
        data[8..40].copy_from_slice(&group().to_bytes());
        for i in 0..16 {
            data[72 + 104 * i] = 1;
        }
    }
    RawAccount {
        lamports: 1,
        owner,
        executable: false,
        data,
    }
}

fn bench(c: &mut Criterion) {
    let d: MarginfiDeployment = serde_json::from_value(
        serde_json::json!({"program_id": program().to_string(), "group": group().to_string()}),
    )
    .expect("config");
    let key = Pubkey::new_from_array([1; 32]);
    let bank = account(
        layout::BANK_LEN,
        [142, 49, 166, 242, 50, 66, 97, 188],
        program(),
    );
    let acct = account(
        layout::MARGINFI_ACCOUNT_LEN,
        [67, 178, 130, 109, 126, 114, 28, 42],
        program(),
    );
    let receiver: Pubkey = "rec5EKMGg6MxZYaMdyBfgwp4d5rB9T1VQH5pJv5LtFJ"
        .parse()
        .expect("receiver");
    let mut price = account(134, [34, 241, 35, 99, 157, 126, 244, 205], receiver);
    price.data[40] = 1;
    c.bench_function("decode Bank (1864 B)", |b| {
        b.iter(|| fetch::decode_bank(&key, std::hint::black_box(&bank), &d).expect("bank"))
    });
    c.bench_function("decode MarginfiAccount (2312 B)", |b| {
        b.iter(|| fetch::decode_account(&key, std::hint::black_box(&acct), &d).expect("account"))
    });
    c.bench_function("decode PriceUpdateV2 (134 B)", |b| {
        b.iter(|| {
            decode_price_update_v2(&key, std::hint::black_box(&price), &receiver).expect("price")
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
