//! The program's enums, stored in the layouts as their `u8` discriminants (IDL variant order).

macro_rules! drift_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $value:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// The variant of a stored discriminant, `None` for a value the program never writes.
            pub fn from_u8(v: u8) -> Option<Self> {
                match v {
                    $($value => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

drift_enum!(
    /// Where a market's price comes from.
    OracleSource {
        /// Pyth v2 push oracle (retired).
        Pyth = 0,
        /// Switchboard v2 (retired).
        Switchboard = 1,
        /// The quote asset itself: always one dollar.
        QuoteAsset = 2,
        /// Pyth push, price of 1000 units (retired).
        Pyth1K = 3,
        /// Pyth push, price of 1e6 units (retired).
        Pyth1M = 4,
        /// Pyth push stable coin (retired).
        PythStableCoin = 5,
        /// Drift's own prelaunch oracle.
        Prelaunch = 6,
        /// Pyth pull `PriceUpdateV2`.
        PythPull = 7,
        /// Pyth pull, price × 1000.
        Pyth1KPull = 8,
        /// Pyth pull, price × 1e6.
        Pyth1MPull = 9,
        /// Pyth pull, pinned to $1 within 10 bps.
        PythStableCoinPull = 10,
        /// Switchboard On-Demand pull feed.
        SwitchboardOnDemand = 11,
        /// Drift's `PythLazerOracle` account.
        PythLazer = 12,
        /// Lazer, price × 1000.
        PythLazer1K = 13,
        /// Lazer, price × 1e6.
        PythLazer1M = 14,
        /// Lazer, pinned to $1 within 10 bps.
        PythLazerStableCoin = 15,
    }
);

drift_enum!(
    /// Deposit or borrow.
    SpotBalanceType { /// Deposit.
        Deposit = 0, /// Borrow.
        Borrow = 1 }
);

drift_enum!(
    /// Market lifecycle.
    MarketStatus {
        /// Created.
        Initialized = 0,
        /// Trading.
        Active = 1,
        /// Funding paused.
        FundingPaused = 2,
        /// AMM paused.
        AmmPaused = 3,
        /// Fills paused.
        FillPaused = 4,
        /// Withdrawals paused.
        WithdrawPaused = 5,
        /// Reduce only.
        ReduceOnly = 6,
        /// Settling at the expiry price.
        Settlement = 7,
        /// Delisted.
        Delisted = 8,
    }
);

drift_enum!(
    /// Perp contract kind.
    ContractType { /// Perpetual.
        Perpetual = 0, /// Dated future.
        Future = 1, /// Prediction market priced in [0, 1].
        Prediction = 2 }
);

drift_enum!(
    /// The user's margin mode.
    MarginMode { /// Standard ratios.
        Default = 0, /// High-leverage ratios for initial and maintenance.
        HighLeverage = 1, /// High-leverage ratios for maintenance only.
        HighLeverageMaintenance = 2 }
);
