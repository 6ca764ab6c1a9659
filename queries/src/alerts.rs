//! Who hears of a household's alerts: the users with alert preferences (`AlertPreferencesSet`)
//! whose household it is (clients) or who advise it, from the `people` read model. Their
//! contacts stay sealed here; the delivery worker opens them with the vault.

use std::collections::BTreeMap;

use domain::alerts::Preferences;
use projections::db::Db;
use projections::people::{sealed_from, USERS};
use projections::query::records;

/// A user who set alert preferences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    pub user_id: String,
    /// The households whose alerts reach them: their own and those they advise.
    pub households: Vec<String>,
    pub preferences: Preferences,
    /// Name and email (`commands::user::PersonalData`), sealed.
    pub personal: Option<domain::Sealed>,
    /// Phone and devices (`commands::user::AlertContacts`), sealed.
    pub contacts: Option<domain::Sealed>,
}

/// Every user with alert preferences who is not erased, by user id.
pub async fn subscribers(db: &Db) -> projections::Result<Vec<Subscriber>> {
    let mut out = Vec::new();
    for r in records(db, &USERS, &[]).await? {
        let Some(preferences) = r.text("alert_preferences").filter(|p| !p.is_empty()) else { continue };
        if r.flag("erased") {
            continue;
        }
        let preferences: Preferences = serde_json::from_str(preferences)
            .map_err(|e| projections::Error::Config(format!("user {}: alert preferences: {e}", r.str("user_id"))))?;
        let sealed = |column: &str| -> projections::Result<Option<domain::Sealed>> {
            match r.text(column).filter(|t| !t.is_empty()) {
                Some(hexed) => {
                    let bytes =
                        hex::decode(hexed).map_err(|e| projections::Error::Config(format!("users.{column}: {e}")))?;
                    Ok(Some(sealed_from(&bytes)?))
                }
                None => Ok(None),
            }
        };
        let mut households: Vec<String> =
            r.str("advises").split(',').filter(|h| !h.is_empty()).map(str::to_owned).collect();
        households.extend(r.text("household").filter(|h| !h.is_empty()).map(str::to_owned));
        households.sort();
        households.dedup();
        out.push(Subscriber {
            user_id: r.str("user_id").to_owned(),
            households,
            preferences,
            personal: sealed("personal_sealed")?,
            contacts: sealed("alert_contacts_sealed")?,
        });
    }
    Ok(out)
}

/// The subscribers of each household (indexes into `subscribers`).
pub fn by_household(subscribers: &[Subscriber]) -> BTreeMap<&str, Vec<usize>> {
    let mut map: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, s) in subscribers.iter().enumerate() {
        for h in &s.households {
            map.entry(h.as_str()).or_default().push(i);
        }
    }
    map
}
