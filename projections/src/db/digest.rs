//! Digests: SHA-256 over a table's rows in their canonical order and text form, equal on
//! both backends for equal rows (`projections verify`, the rebuild comparisons).

use sha2::{Digest as _, Sha256};

use super::{Db, Row, Table};
use crate::Result;

impl Db {
    /// SHA-256 over one generation of a table, rows in primary-key order, each value in its
    /// canonical text form (NULL distinct from every text), so equal digests mean equal rows
    /// whichever backend holds them.
    pub async fn digest(&self, table: &Table, generation: i64) -> Result<(u64, String)> {
        let rows = self.select_from(table, &table.physical(generation), &[]).await?;
        Ok(digest_rows(&rows))
    }
}

/// The row count and SHA-256 of rows (in their canonical order and text form): each value
/// length-prefixed, NULL distinct from every text, each row terminated.
pub fn digest_rows(rows: &[Row]) -> (u64, String) {
    let mut hash = Sha256::new();
    for row in rows {
        for value in row {
            match value {
                Some(v) => {
                    hash.update([1u8]);
                    hash.update((v.len() as u64).to_le_bytes());
                    hash.update(v.as_bytes());
                }
                None => hash.update([0u8]),
            }
        }
        hash.update([0x1e]);
    }
    (rows.len() as u64, hex::encode(hash.finalize()))
}
