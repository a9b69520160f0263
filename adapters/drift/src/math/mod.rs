//! Drift's margin arithmetic, reproduced with the program's integer types and rounding.
//!
//! Pure: no I/O, no floats. Each function names the program function it reproduces; the tests
//! (`tests/it/margin.rs`) check them against values worked out by hand from Drift's published
//! formulas.

pub mod health;
pub mod margin;
pub mod perp;
pub mod spot;

use std::panic::Location;

/// An arithmetic step overflowed or divided by zero; names where, like Drift's `SafeMath`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("drift math: {op} overflowed at {file}:{line}")]
pub struct MathError {
    /// The operation.
    pub op: &'static str,
    /// Source file of the caller.
    pub file: &'static str,
    /// Line of the caller.
    pub line: u32,
}

impl MathError {
    #[track_caller]
    pub(crate) fn at(op: &'static str) -> Self {
        let l = Location::caller();
        Self {
            op,
            file: l.file(),
            line: l.line(),
        }
    }
}

/// Result of the margin maths.
pub type MathResult<T> = Result<T, MathError>;

/// Checked arithmetic reporting where it failed (Drift's `safe_math.rs`).
pub(crate) trait Safe: Sized + Copy {
    fn add_(self, o: Self) -> MathResult<Self>;
    fn sub_(self, o: Self) -> MathResult<Self>;
    fn mul_(self, o: Self) -> MathResult<Self>;
    /// Division truncating towards zero, as Rust's integer division does.
    fn div_(self, o: Self) -> MathResult<Self>;
}

macro_rules! impl_safe {
    ($($t:ty),*) => {$(
        impl Safe for $t {
            #[track_caller]
            fn add_(self, o: Self) -> MathResult<Self> { self.checked_add(o).ok_or_else(|| MathError::at("add")) }
            #[track_caller]
            fn sub_(self, o: Self) -> MathResult<Self> { self.checked_sub(o).ok_or_else(|| MathError::at("sub")) }
            #[track_caller]
            fn mul_(self, o: Self) -> MathResult<Self> { self.checked_mul(o).ok_or_else(|| MathError::at("mul")) }
            #[track_caller]
            fn div_(self, o: Self) -> MathResult<Self> { self.checked_div(o).ok_or_else(|| MathError::at("div")) }
        }
    )*};
}
impl_safe!(u128, i128);

/// `ceil(a / b)` for unsigned operands (Drift's `safe_div_ceil`).
#[track_caller]
pub(crate) fn div_ceil(a: u128, b: u128) -> MathResult<u128> {
    if b == 0 {
        return Err(MathError::at("div_ceil"));
    }
    Ok(a.div_ceil(b))
}

/// Converts between integer widths, failing instead of wrapping (Drift's `Cast`).
#[track_caller]
pub(crate) fn cast<T: TryFrom<U>, U>(v: U) -> MathResult<T> {
    T::try_from(v).map_err(|_| MathError::at("cast"))
}

/// Which requirement is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarginType {
    /// Opening risk, borrowing, withdrawing.
    Initial,
    /// Liquidation threshold.
    Maintenance,
}
