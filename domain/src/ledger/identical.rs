//! "Substantially identical" stock or securities (IRC §1091(a)) beyond the same symbol: the
//! share classes of one fund. Vanguard's ETF shares are a share class of the corresponding index
//! mutual fund, and its Investor and Admiral shares others; selling one at a loss and buying
//! another within 30 days is a wash sale as surely as buying the same symbol back. Funds that
//! track different indexes are not substantially identical (see `harvest::REPLACEMENTS`).
//!
//! [`SUBSTANTIALLY_IDENTICAL`] is one data table, read by the lot engine's wash-sale matching
//! (`lots.rs`), the harvesting scan and the rebalancer alike; a new fund is a one-line change.

/// Groups of symbols that are one fund's share classes (each group's prospectus lists them as
/// classes of one portfolio; source: the funds' prospectuses, e.g. the Vanguard Index Funds
/// registration statement, SEC file 811-02652).
pub const SUBSTANTIALLY_IDENTICAL: &[&[&str]] = &[
    &["VTI", "VTSAX", "VTSMX", "VITSX"],
    &["VOO", "VFIAX", "VFINX"],
    &["VXUS", "VTIAX", "VGTSX"],
    &["VEA", "VTMGX", "VDVIX"],
    &["VWO", "VEMAX", "VEIEX"],
    &["BND", "VBTLX", "VBMFX"],
    &["BNDX", "VTABX"],
    &["VB", "VSMAX", "NAESX"],
    &["VNQ", "VGSLX", "VGSIX"],
];

/// Whether `a` and `b` are substantially identical: the same symbol, or share classes of one
/// fund.
pub fn identical(a: &str, b: &str) -> bool {
    a == b || SUBSTANTIALLY_IDENTICAL.iter().any(|g| g.contains(&a) && g.contains(&b))
}

/// The symbols substantially identical to `symbol`, itself first.
pub fn group(symbol: &str) -> Vec<&str> {
    let mut all = vec![symbol];
    if let Some(g) = SUBSTANTIALLY_IDENTICAL.iter().find(|g| g.contains(&symbol)) {
        all.extend(g.iter().copied().filter(|s| *s != symbol));
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_lists_the_symbol_first_then_its_other_share_classes() {
        assert_eq!(group("VTSAX"), vec!["VTSAX", "VTI", "VTSMX", "VITSX"]);
        assert_eq!(group("AAPL"), vec!["AAPL"]);
    }
}
