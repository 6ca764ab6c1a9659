//! The projection as a text table, for `cairn simulate`: balances per account, totals by tax
//! treatment, and the notes, grouped.

use std::fmt::Write as _;

use super::{Note, Projection};

/// Balances per account (the first year, every fifth year and the last), the totals by tax
/// treatment for the same years, and the notes.
pub fn table(p: &Projection) -> String {
    let mut out = String::new();
    balances(&mut out, p);
    treatments(&mut out, p);
    notes(&mut out, p);
    out
}

/// The rows shown: the first year, every fifth after it and the last.
fn shown(n: usize) -> impl Iterator<Item = usize> {
    (0..n).filter(move |&t| t % 5 == 0 || t + 1 == n)
}

fn balances(out: &mut String, p: &Projection) {
    let (first, last) = match (p.years.first(), p.years.last()) {
        (Some(f), Some(l)) => (f, l),
        _ => return,
    };
    let _ = writeln!(
        out,
        "Account balances at year end, {}-{} (age {}-{}), nominal dollars; RMDs from age {}",
        first.year, last.year, first.age, last.age, p.rmd_start_age
    );
    let widths: Vec<usize> = p.accounts.iter().map(|a| a.name.chars().count().max(12)).collect();
    let _ = write!(out, "{:>4}  {:>3}", "Year", "Age");
    for (a, w) in p.accounts.iter().zip(&widths) {
        let _ = write!(out, "  {:>w$}", a.name);
    }
    let _ = writeln!(out, "  {:>13}  {:>13}", "Total", "Vested");
    for t in shown(p.years.len()) {
        let y = &p.years[t];
        let _ = write!(out, "{:>4}  {:>3}", y.year, y.age);
        for (a, w) in p.accounts.iter().zip(&widths) {
            let _ = write!(out, "  {:>w$}", money(a.years[t].balance));
        }
        let _ = writeln!(out, "  {:>13}  {:>13}", money(y.total), money(y.vested_total));
    }
    if let Some(y) = p.years.iter().find(|y| y.limits_projected) {
        let _ = writeln!(
            out,
            "Contribution limits from {} on are estimates: the table's last year grown by limit_growth.",
            y.year
        );
    }
}

fn treatments(out: &mut String, p: &Projection) {
    let _ = writeln!(out, "\nBy tax treatment");
    let heads = ["Pre-tax", "Roth", "Taxable", "HSA", "529", "Total", "RMD"];
    let _ = write!(out, "{:>4}", "Year");
    for h in heads {
        let _ = write!(out, "  {h:>13}");
    }
    let _ = writeln!(out);
    for t in shown(p.years.len()) {
        let y = &p.years[t];
        let _ = write!(out, "{:>4}", y.year);
        for v in [y.pre_tax, y.roth, y.taxable, y.hsa, y.education, y.total, y.rmd] {
            let _ = write!(out, "  {:>13}", money(v));
        }
        let _ = writeln!(out);
    }
}

/// Notes of the same account, field and reason in several years, as one line each.
fn notes(out: &mut String, p: &Projection) {
    let mut groups: Vec<Vec<&Note>> = Vec::new();
    for n in &p.notes {
        let same = |g: &&mut Vec<&Note>| g[0].field == n.field && g[0].reason == n.reason;
        match groups.iter_mut().find(same) {
            Some(g) => g.push(n),
            None => groups.push(vec![n]),
        }
    }
    if groups.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nNotes");
    for g in groups {
        let (first, last) = (g[0], g[g.len() - 1]);
        let years = if g.len() == 1 {
            first.year.to_string()
        } else {
            format!("{}-{} ({} years)", first.year, last.year, g.len())
        };
        let _ = writeln!(
            out,
            "  {years} {} ({}): {}; {}: asked {}, got {}",
            first.field,
            first.account,
            first.reason,
            first.year,
            money(first.requested),
            money(first.allowed)
        );
    }
}

/// Whole dollars with thousands separators.
fn money(v: f64) -> String {
    let rounded = v.round() as i64;
    let digits = rounded.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if rounded < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_groups_thousands() {
        assert_eq!(money(1_234_567.4), "1,234,567");
        assert_eq!(money(-999.5), "-1,000");
        assert_eq!(money(0.2), "0");
    }

    #[test]
    fn shown_rows_are_the_first_every_fifth_and_the_last() {
        assert_eq!(shown(12).collect::<Vec<_>>(), [0, 5, 10, 11]);
        assert_eq!(shown(1).collect::<Vec<_>>(), [0]);
    }
}
