//! `cairn calendar`: the NYSE's sessions and next edge, from the CLI, without a database.

mod common;

use common::{cairn, stderr, stdout};

fn json(args: &[&str]) -> serde_json::Value {
    let o = cairn().args(args).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

#[test]
fn sessions_across_a_dst_change_a_holiday_and_an_early_close() {
    // The week of the change to daylight saving time in 2024 (Sunday 10 March).
    let week = json(&["calendar", "sessions", "--from", "2024-03-08", "--to", "2024-03-11", "--format", "json"]);
    let rows = week["sessions"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{week}");
    assert_eq!(
        (&rows[0]["open_at"], &rows[1]["open_at"]),
        (&"2024-03-08T14:30:00Z".into(), &"2024-03-11T13:30:00Z".into())
    );
    assert_eq!(rows[1]["open"], "09:30");
    // Independence Day week, 2025: the 3rd closes at 13:00, the 4th is closed.
    let july =
        json(&["calendar", "sessions", "--from", "2025-07-03", "--to", "2025-07-04", "--closed", "--format", "json"]);
    let rows = july["sessions"].as_array().unwrap();
    assert_eq!((&rows[0]["close"], &rows[0]["early_close"]), (&"13:00".into(), &"true".into()), "{july}");
    assert_eq!(rows[1]["status"], "closed");
    assert!(rows[1]["reason"].as_str().unwrap().contains("Independence Day"), "{july}");
    let csv = cairn()
        .args(["calendar", "sessions", "--from", "2025-01-08", "--to", "2025-01-10", "--closed", "--format", "csv"])
        .output()
        .unwrap();
    assert!(stdout(&csv).contains("National Day of Mourning, President Carter"), "{}", stdout(&csv));

    let next = json(&["calendar", "next", "--after", "2025-01-08T21:00:00Z", "--format", "json"]);
    assert_eq!(
        (&next["next"][0]["event"], &next["next"][0]["at"]),
        (&"open".into(), &"2025-01-10T14:30:00Z".into()),
        "{next}"
    );

    let o = cairn().args(["calendar", "sessions", "--from", "2025-02-01", "--to", "2025-01-01"]).output().unwrap();
    assert!(!o.status.success() && stderr(&o).contains("from: 2025-02-01 is after to, 2025-01-01"), "{}", stderr(&o));
}
