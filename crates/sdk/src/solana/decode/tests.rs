use super::*;

#[test]
fn discriminators_match_the_published_idls() {
    // Discriminators as written in the marginfi 0.1.7 IDL (`accounts[].discriminator`) and in
    // the Pyth receiver / Switchboard On-Demand IDLs.
    assert_eq!(
        anchor_discriminator("Bank"),
        [142, 49, 166, 242, 50, 66, 97, 188]
    );
    assert_eq!(
        anchor_discriminator("MarginfiAccount"),
        [67, 178, 130, 109, 126, 114, 28, 42]
    );
    assert_eq!(
        anchor_discriminator("PriceUpdateV2"),
        [34, 241, 35, 99, 157, 126, 244, 205]
    );
}

fn spec() -> AccountSpec {
    AccountSpec::anchor("Bank", Pubkey::new_from_array([7; 32]), 16)
}

fn account(owner: [u8; 32], data: Vec<u8>) -> RawAccount {
    RawAccount {
        lamports: 1,
        owner: Pubkey::new_from_array(owner),
        executable: false,
        data,
    }
}

#[test]
fn each_check_is_a_typed_error() {
    let key = Pubkey::new_from_array([1; 32]);
    let mut good = anchor_discriminator("Bank").to_vec();
    good.extend_from_slice(&5u64.to_le_bytes());
    assert_eq!(
        spec().decode_pod::<u64>(&key, &account([7; 32], good.clone())),
        Ok(5)
    );

    let wrong_owner = spec().decode_pod::<u64>(&key, &account([8; 32], good.clone()));
    assert!(
        matches!(wrong_owner, Err(DecodeError::WrongOwner { .. })),
        "{wrong_owner:?}"
    );

    let truncated = spec().decode_pod::<u64>(&key, &account([7; 32], good[..15].to_vec()));
    assert!(
        matches!(
            truncated,
            Err(DecodeError::WrongSize {
                expected: 16,
                actual: 15,
                ..
            })
        ),
        "{truncated:?}"
    );

    let mut other = anchor_discriminator("MarginfiAccount").to_vec();
    other.extend_from_slice(&5u64.to_le_bytes());
    let wrong_type = spec().decode_pod::<u64>(&key, &account([7; 32], other));
    assert!(
        matches!(wrong_type, Err(DecodeError::WrongDiscriminator { .. })),
        "{wrong_type:?}"
    );

    let as_adapter: AdapterError = DecodeError::Missing {
        account: "x".into(),
        type_name: "Bank",
    }
    .into();
    assert_eq!(
        as_adapter.failure_kind(),
        unimargin_schema::FailureKind::MalformedReply
    );
}
