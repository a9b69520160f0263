//! Program-derived addresses.
//!
//! Where a program derives an account from known seeds (a Drift `User` from authority and
//! sub-account id, a Pyth push feed from shard and feed id), adapters derive it instead of
//! scanning with `getProgramAccounts`: one key in a batch instead of one expensive request.

use solana_pubkey::Pubkey;

/// `Pubkey::find_program_address`: the first off-curve address for `seeds` under `program`,
/// with its bump.
pub fn find_program_address(seeds: &[&[u8]], program: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(seeds, program)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_the_published_pyth_push_feed_address() {
        // Pyth's sponsored SOL/USD push feed (shard 0): the account every Solana lender reads,
        // published by Pyth as 7UVimffxr9ow1uXYxsr4LHAcV58mLzhmwaeKvJ1pjLiE.
        let program: Pubkey = "pythWSnswVUd12oZpeFP8e9CVaEqJg25g1Vtc2biRsT"
            .parse()
            .expect("program id");
        let feed_id: [u8; 32] = [
            0xef, 0x0d, 0x8b, 0x6f, 0xda, 0x2c, 0xeb, 0xa4, 0x1d, 0xa1, 0x5d, 0x40, 0x95, 0xd1,
            0xda, 0x39, 0x2a, 0x0d, 0x2f, 0x8e, 0xd0, 0xc6, 0xc7, 0xbc, 0x0f, 0x4c, 0xfa, 0xc8,
            0xc2, 0x80, 0xb5, 0x6d,
        ];
        let (address, _bump) = find_program_address(&[&0u16.to_le_bytes(), &feed_id], &program);
        assert_eq!(
            address.to_string(),
            "7UVimffxr9ow1uXYxsr4LHAcV58mLzhmwaeKvJ1pjLiE"
        );
    }
}
