//! Drift's program-derived addresses: users from authority and sub-account id, markets from
//! their index. Deriving them costs nothing; scanning would cost a `getProgramAccounts`.

use unimargin_sdk::solana::{Pubkey, pda::find_program_address};

/// `User` of `authority`'s sub-account `sub_account_id`: seeds `["user", authority, id_le]`.
pub fn user(program: &Pubkey, authority: &Pubkey, sub_account_id: u16) -> Pubkey {
    find_program_address(
        &[b"user", authority.as_ref(), &sub_account_id.to_le_bytes()],
        program,
    )
    .0
}

/// `SpotMarket` of `index`: seeds `["spot_market", index_le]`.
pub fn spot_market(program: &Pubkey, index: u16) -> Pubkey {
    find_program_address(&[b"spot_market", &index.to_le_bytes()], program).0
}

/// `PerpMarket` of `index`: seeds `["perp_market", index_le]`.
pub fn perp_market(program: &Pubkey, index: u16) -> Pubkey {
    find_program_address(&[b"perp_market", &index.to_le_bytes()], program).0
}

/// The program's `State`: seeds `["drift_state"]`.
pub fn state(program: &Pubkey) -> Pubkey {
    find_program_address(&[b"drift_state"], program).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mainnet_state_is_the_drift_state_pda() {
        // The `state` account every Drift instruction takes on mainnet-beta.
        let program: Pubkey = "dRiftyHA39MWEi3m9aunc5MzRF1JYuBsbn6VPcn33UH"
            .parse()
            .expect("program");
        assert_eq!(
            state(&program).to_string(),
            "5zpq7DvB6UdFFvpmBPspGPNfUGoBRRCE2HHg5u3gxcsN"
        );
        // USDC is spot market 0 and SOL-PERP perp market 0.
        assert_eq!(
            spot_market(&program, 0).to_string(),
            "6gMq3mRCKf8aP3ttTyYhuijVZ2LGi14oDsBbkgubfLB3"
        );
        assert_eq!(
            perp_market(&program, 0).to_string(),
            "8UJgxaiQx5nTrdDgph5FiahMmzduuLTLf5WmsPegYA6W"
        );
    }
}
