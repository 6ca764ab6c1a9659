//! Required minimum distributions: the IRS Uniform Lifetime Table (Treas. Reg.
//! §1.401(a)(9)-9(c), in force from 2022; IRS Publication 590-B, Appendix B, Table III).
use rust_decimal::Decimal;

/// The table's first age.
pub const FIRST_AGE: u32 = 72;

/// Distribution periods in tenths of a year for ages 72, 73, …, 120 (and older).
const PERIODS: [i64; 49] = [
    274, 265, 255, 246, 237, 229, 220, 211, 202, 194, 185, 177, 168, 160, 152, 144, 137, 129, 122, 115, 108, 101, 95,
    89, 84, 78, 73, 68, 64, 60, 56, 52, 49, 46, 43, 41, 39, 37, 35, 34, 33, 31, 30, 29, 28, 27, 25, 23, 20,
];

/// The distribution period at `age` (`None` below the table's first age).
pub fn distribution_period(age: u32) -> Option<Decimal> {
    let i = age.checked_sub(FIRST_AGE)? as usize;
    Some(Decimal::new(PERIODS[i.min(PERIODS.len() - 1)], 1))
}
