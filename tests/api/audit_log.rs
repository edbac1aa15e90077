//! The audit log page and its CSV export: what real actions record, the filters, keyset pages,
//! who may read it, and what reaches a spreadsheet.

use axum::http::StatusCode;
use orderdesk::db::audit::{self, AuditEvent};
use orderdesk::domain::Role;
use scraper::Selector;
use std::collections::HashMap;

use time::OffsetDateTime;
use time::macros::datetime;

use crate::credit_notes::raw_i64;
use crate::helpers::{Browser, Page, TestApp, db_test};

/// One event to record directly: (actor, action, entity, entity id, detail, at).
type Event<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, OffsetDateTime);

/// Record `events` in one transaction, in order (so their ids ascend in that order); returns
/// each one's id and time.
async fn record(app: &TestApp, events: &[Event<'_>]) -> Known {
    let before = raw_i64(
        app,
        "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM audit_events",
    )
    .await;
    let mut tx = app.db.begin().await.unwrap();
    for (actor, action, entity, entity_id, detail, at) in events {
        let event = AuditEvent {
            actor,
            action,
            entity,
            entity_id: entity_id.to_string(),
            detail: detail.to_string(),
        };
        audit::record(&mut tx, &event, *at).await.unwrap();
    }
    tx.commit().await.unwrap();
    (before + 1..).zip(events.iter().map(|e| e.5)).collect()
}

/// Ids and times of events a test recorded itself.
type Known = HashMap<i64, OffsetDateTime>;

/// `ids` in the log's order: newest first by time, then by id. Events the test did not record
/// (signing in, ...) happened now, after every time the tests use.
fn time_order(ids: &[i64], known: &Known) -> Vec<i64> {
    let mut sorted = ids.to_vec();
    let now = OffsetDateTime::now_utc();
    let at = |id: &i64| known.get(id).copied().unwrap_or(now);
    sorted.sort_by_key(|id| std::cmp::Reverse((at(id), *id)));
    sorted
}

/// Every id once.
fn each_once(ids: &[i64]) {
    let set: std::collections::HashSet<&i64> = ids.iter().collect();
    assert_eq!(set.len(), ids.len(), "an event listed twice: {ids:?}");
}

/// The event numbers a page lists, top to bottom.
fn ids(page: &Page) -> Vec<i64> {
    let sel = Selector::parse("#audit tbody tr[data-event]").unwrap();
    page.html()
        .select(&sel)
        .map(|tr| tr.value().attr("data-event").unwrap().parse().unwrap())
        .collect()
}

/// The pager's link `rel` ("next" or "prev"), if the page offers one.
fn pager_link(page: &Page, rel: &str) -> Option<String> {
    let sel = Selector::parse(&format!(".pager a[rel={rel}]")).unwrap();
    page.html()
        .select(&sel)
        .next()
        .map(|a| a.value().attr("href").unwrap().to_string())
}

/// The texts of column `n` (1-based) of the listed events.
fn column(page: &Page, n: usize) -> Vec<String> {
    let sel = Selector::parse(&format!("#audit tbody tr[data-event] td:nth-child({n})")).unwrap();
    page.html()
        .select(&sel)
        .map(|td| td.text().collect::<String>().trim().to_string())
        .collect()
}

async fn ok(b: &Browser, path: &str) -> Page {
    let page = b.get(path).await;
    assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
    page
}

/// Follow `rel` links from `start` to the end; every event number seen, in order.
async fn walk(b: &Browser, start: &str, rel: &str) -> (Vec<i64>, String) {
    let mut page = ok(b, start).await;
    let mut seen = ids(&page);
    let mut last = start.to_string();
    while let Some(href) = pager_link(&page, rel) {
        page = ok(b, &href).await;
        assert!(!ids(&page).is_empty(), "{href} is an empty page");
        seen.extend(ids(&page));
        last = href;
    }
    (seen, last)
}

db_test!(
    real_actions_are_recorded_and_listed,
    |app: TestApp| async move {
        let admin = app.browser_as("boss", Role::Admin).await;
        let leaver = app.browser_as("leaver", Role::Clerk).await;
        assert_eq!(
            leaver.post("/logout", &[]).await.status,
            StatusCode::SEE_OTHER
        );
        let wrong = app
            .new_browser()
            .try_sign_in("Leaver", "not the password at all")
            .await;
        assert_ne!(wrong.status, StatusCode::SEE_OTHER);
        let customer = app.customer("ACME", "Acme").await;
        let product = app.product("P1", 1000, 2000, 10).await;
        let order = app.draft(customer, &[(product, 2)]).await;
        let form = app.confirm_form(order).await;
        assert_eq!(
            app.confirm(order, &form).await.status,
            StatusCode::SEE_OTHER
        );

        let page = ok(&admin, "/audit").await;
        let actions = column(&page, 3);
        for action in ["sign-in", "sign-out", "sign-in-failed", "confirm"] {
            assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
        }
        // Newest first: the confirmation was the last thing done.
        assert_eq!(actions[0], "confirm");

        let confirmed = ok(&admin, "/audit?action=confirm").await;
        assert_eq!(ids(&confirmed).len(), 1);
        assert_eq!(column(&confirmed, 2), ["clerk"]);
        assert_eq!(
            confirmed.count(&format!("#audit tbody a[href='/orders/{order}']")),
            1
        );
        let failed = ok(&admin, "/audit?action=sign-in-failed").await;
        assert_eq!(column(&failed, 2), ["leaver"]);
        let out = ok(&admin, "/audit?action=sign-out").await;
        assert_eq!(column(&out, 2), ["leaver"]);
        let boss_in = ok(&admin, "/audit?actor=boss&action=sign-in").await;
        assert_eq!(ids(&boss_in).len(), 1);
        // The action filter offers the actions that exist.
        for action in ["confirm", "sign-in", "sign-in-failed", "sign-out"] {
            assert_eq!(
                page.count(&format!("select[name=action] option[value='{action}']")),
                1,
                "{action}"
            );
        }
    }
);

db_test!(filters_narrow_and_combine, |app: TestApp| async move {
    let admin = app.browser_as("boss", Role::Admin).await;
    record(
        &app,
        &[
            (
                "alice",
                "confirm",
                "order",
                "12",
                "a",
                datetime!(2024-03-01 00:00:00.25 UTC),
            ),
            (
                "alice",
                "cancel",
                "order",
                "12",
                "b",
                datetime!(2024-03-03 12:00:00 UTC),
            ),
            (
                "bob",
                "confirm",
                "order",
                "13",
                "c",
                datetime!(2024-03-07 23:59:59.5 UTC),
            ),
            (
                "bob",
                "update-product",
                "product",
                "7",
                "d",
                datetime!(2024-03-08 00:00:00 UTC),
            ),
            (
                "alice",
                "update-customer",
                "customer",
                "3",
                "e",
                datetime!(2024-02-29 23:59:59.999 UTC),
            ),
            (
                "carol",
                "add-user",
                "user",
                "5",
                "f",
                datetime!(2024-03-05 09:00:00 UTC),
            ),
            (
                "carol",
                "confirm",
                "order",
                "120",
                "g",
                datetime!(2024-03-05 10:00:00 UTC),
            ),
        ],
    )
    .await;
    assert_eq!(details(&admin, "actor=alice").await, "abe");
    assert_eq!(details(&admin, "actor=+ALICE+").await, "abe");
    assert_eq!(details(&admin, "actor=alic").await, "");
    assert_eq!(details(&admin, "action=confirm&actor=bob").await, "c");
    assert_eq!(details(&admin, "action=update-product").await, "d");
    for order_12 in ["order+12", "order%3A12", "%2312", "Order+%2312"] {
        let q = format!("document={order_12}");
        assert_eq!(details(&admin, &q).await, "ab", "{order_12}");
    }
    assert_eq!(details(&admin, "document=order&actor=carol").await, "g");
    assert_eq!(details(&admin, "document=product+7").await, "d");
    assert_eq!(details(&admin, "document=customer+3").await, "e");
    assert_eq!(details(&admin, "document=user+5").await, "f");
    // Dates: from the first instant of `from` to the last of `to`, fractions of a second included.
    assert_eq!(
        details(&admin, "from=2024-03-01&to=2024-03-07").await,
        "abcfg"
    );
    assert_eq!(details(&admin, "from=2024-03-08&to=2024-12-31").await, "d");
    assert_eq!(details(&admin, "to=2024-02-29").await, "e");
    assert_eq!(details(&admin, "from=2024-03-05&to=2024-03-05").await, "fg");
    assert_eq!(
        details(
            &admin,
            "from=2024-03-01&to=2024-03-07&actor=alice&document=order+12&action=cancel"
        )
        .await,
        "b"
    );
    let none = ok(&admin, "/audit?actor=nobody").await;
    assert_eq!(
        none.text("#audit td.empty").as_deref(),
        Some("No events match.")
    );
});

/// The details of the events `/audit?{query}` lists, sorted and joined.
async fn details(b: &Browser, query: &str) -> String {
    let mut d = column(&ok(b, &format!("/audit?{query}")).await, 5);
    d.sort();
    d.join("")
}

db_test!(
    keyset_pages_visit_every_event_once_both_ways,
    |app: TestApp| async move {
        let admin = app.browser_as("boss", Role::Admin).await;
        let at = datetime!(2024-05-01 08:00:00 UTC);
        let many: Vec<Event> = (0..130)
            .map(|i| {
                (
                    "pager",
                    "receive",
                    "product",
                    "1",
                    "",
                    at + time::Duration::minutes(i),
                )
            })
            .collect();
        let known = record(&app, &many).await;

        // Everything, then one actor's events: every event once, newest first, and back again.
        for start in ["/audit", "/audit?actor=pager"] {
            let (down, last) = walk(&admin, start, "next").await;
            each_once(&down);
            assert_eq!(down, time_order(&down, &known), "{start}: newest first");
            assert!(down.len() >= 130, "{start}");
            // Back from the last page to the first: the same events, each once.
            let (up, _) = walk(&admin, &last, "prev").await;
            each_once(&up);
            assert_eq!(
                time_order(&up, &known),
                down,
                "{start}: back to the first page, each once"
            );
            if start.ends_with("pager") {
                assert_eq!(down.len(), 130);
            }
        }
        let first = ok(&admin, "/audit?actor=pager").await;
        assert_eq!(ids(&first).len(), 50);
        assert!(pager_link(&first, "prev").is_none());
        let next = pager_link(&first, "next").unwrap();
        assert!(
            next.contains("actor=pager") && next.contains("before="),
            "{next}"
        );
        assert!(
            ok(&admin, "/audit?actor=pager")
                .await
                .body
                .contains("/audit.csv?actor=pager")
        );
    }
);

db_test!(
    date_ranges_page_exactly_whatever_the_order_of_times,
    |app: TestApp| async move {
        // Events in the range at both ends of the id order, and more than a look-ahead window of
        // newer events outside it (with older times, so id order and time order disagree).
        let admin = app.browser_as("boss", Role::Admin).await;
        let inside = datetime!(2024-06-10 12:00:00 UTC);
        let outside = datetime!(2023-01-01 00:00:00 UTC);
        let mut events: Vec<Event> = Vec::new();
        events.extend((0..70).map(|i| {
            (
                "ranger",
                "sign-in",
                "user",
                "1",
                "in",
                inside + time::Duration::seconds(i),
            )
        }));
        events.extend((0..2100).map(|i| {
            (
                "ranger",
                "sign-in",
                "user",
                "1",
                "out",
                outside + time::Duration::seconds(i),
            )
        }));
        events.extend((0..40).map(|i| {
            (
                "ranger",
                "sign-in",
                "user",
                "1",
                "in",
                inside - time::Duration::seconds(i),
            )
        }));
        let known = record(&app, &events).await;

        let start = "/audit?from=2024-06-10&to=2024-06-10";
        let (down, last) = walk(&admin, start, "next").await;
        assert_eq!(down.len(), 110);
        each_once(&down);
        assert_eq!(down, time_order(&down, &known));
        let first = ok(&admin, start).await;
        assert!(column(&first, 5).iter().all(|d| d == "in"));
        let (up, _) = walk(&admin, &last, "prev").await;
        assert_eq!(time_order(&up, &known), down);
        // From a date on: the newest events, without walking the range.
        let recent = ok(&admin, "/audit?from=2024-01-01&actor=ranger").await;
        assert_eq!(ids(&recent), down[..50]);

        // A dense run of events in the range behind newer ones outside it.
        let day = datetime!(2024-07-01 08:00:00 UTC);
        let mut dense: Vec<Event> = (0..120)
            .map(|i| {
                (
                    "dense",
                    "receive",
                    "product",
                    "2",
                    "in",
                    day + time::Duration::minutes(i),
                )
            })
            .collect();
        dense.extend((0..300).map(|i| {
            let later = day + time::Duration::days(400) + time::Duration::minutes(i);
            ("dense", "receive", "product", "2", "out", later)
        }));
        let known = record(&app, &dense).await;
        let start = "/audit?actor=dense&from=2024-07-01&to=2024-07-01";
        let (down, last) = walk(&admin, start, "next").await;
        assert_eq!(down.len(), 120);
        each_once(&down);
        assert_eq!(down, time_order(&down, &known));
        let (up, _) = walk(&admin, &last, "prev").await;
        assert_eq!(time_order(&up, &known), down);

        // Dense, but the newest ids carry the earliest times of the range.
        let mut jumbled: Vec<Event> = (0..100)
            .map(|i| {
                (
                    "jumbled",
                    "receive",
                    "product",
                    "3",
                    "in",
                    day + time::Duration::hours(1) + time::Duration::seconds(i),
                )
            })
            .collect();
        jumbled.extend((0..5).map(|i| {
            (
                "jumbled",
                "receive",
                "product",
                "3",
                "in",
                day + time::Duration::seconds(i),
            )
        }));
        jumbled.extend((0..300).map(|i| {
            (
                "jumbled",
                "receive",
                "product",
                "3",
                "out",
                day - time::Duration::days(2) + time::Duration::seconds(i),
            )
        }));
        let known = record(&app, &jumbled).await;
        let start = "/audit?actor=jumbled&from=2024-07-01&to=2024-07-01";
        let (down, last) = walk(&admin, start, "next").await;
        assert_eq!(down.len(), 105);
        each_once(&down);
        assert_eq!(down, time_order(&down, &known));
        let (up, _) = walk(&admin, &last, "prev").await;
        assert_eq!(time_order(&up, &known), down);
    }
);

db_test!(
    unreadable_filters_are_errors_beside_their_fields,
    |app: TestApp| async move {
        let admin = app.browser_as("boss", Role::Admin).await;
        let bad_from = ok(&admin, "/audit?from=2024-13-01").await;
        assert!(bad_from.text("#from-error").unwrap().contains("YYYY-MM-DD"));
        assert_eq!(bad_from.count(".has-error #from"), 1);
        assert!(ids(&bad_from).is_empty());
        let backwards = ok(&admin, "/audit?from=2024-03-02&to=2024-03-01").await;
        assert!(backwards.text("#to-error").unwrap().contains("before"));
        let bad_doc = ok(&admin, "/audit?document=invoice+7").await;
        assert!(
            bad_doc
                .text("#document-error")
                .unwrap()
                .contains("order 12")
        );
        assert_eq!(bad_doc.count("input#document[value='invoice 7']"), 1);
        for path in [
            "/audit.csv?to=31.12.2024",
            "/audit.csv?document=order+x",
            "/audit?before=abc",
            "/audit?before=1&after=2",
            "/audit?after=-4",
        ] {
            assert_eq!(
                admin.get(path).await.status,
                StatusCode::BAD_REQUEST,
                "{path}"
            );
        }
    }
);

db_test!(
    only_admins_and_accountants_read_the_log,
    |app: TestApp| async move {
        let warehouse = app.browser_as("stores", Role::Warehouse).await;
        let accountant = app.browser_as("books", Role::Accountant).await;
        let admin = app.browser_as("boss", Role::Admin).await;
        for path in ["/audit", "/audit.csv"] {
            assert_eq!(
                app.browser.get(path).await.status,
                StatusCode::FORBIDDEN,
                "clerk {path}"
            );
            assert_eq!(
                warehouse.get(path).await.status,
                StatusCode::FORBIDDEN,
                "warehouse {path}"
            );
            assert_eq!(
                accountant.get(path).await.status,
                StatusCode::OK,
                "accountant {path}"
            );
            assert_eq!(admin.get(path).await.status, StatusCode::OK, "admin {path}");
        }
    }
);

db_test!(
    csv_export_is_the_whole_filtered_view,
    |app: TestApp| async move {
        let accountant = app.browser_as("books", Role::Accountant).await;
        let at = datetime!(2024-03-01 10:00:00 UTC);
        let mut events: Vec<Event> = (0..1003)
            .map(|i| {
                (
                    "exporter",
                    "receive",
                    "product",
                    "9",
                    "plain",
                    at + time::Duration::seconds(i),
                )
            })
            .collect();
        events.push((
            "exporter",
            "update-customer",
            "customer",
            "4",
            "=SUM(A1:A9)",
            at,
        ));
        events.push((
            "exporter",
            "update-customer",
            "customer",
            "4",
            "Müller, café \"Zur Post\"",
            at,
        ));
        events.push(("someone-else", "receive", "product", "9", "plain", at));
        record(&app, &events).await;

        let csv = accountant.get("/audit.csv?actor=exporter").await;
        assert_eq!(csv.status, StatusCode::OK);
        assert!(
            csv.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        assert!(csv.body.starts_with('\u{feff}'), "no byte order mark");
        let body = csv.body.trim_start_matches('\u{feff}');
        assert!(body.ends_with("\r\n"));
        let lines: Vec<&str> = body.trim_end_matches("\r\n").split("\r\n").collect();
        assert_eq!(lines[0], "id,at,actor,action,entity,entity_id,detail");
        assert_eq!(
            lines.len(),
            1 + 1005,
            "every matching event, across export batches"
        );
        assert!(lines[1..].iter().all(|l| l.contains(",exporter,")));
        assert!(!body.contains("someone-else"));
        assert!(!body.replace("\r\n", "").contains('\n'));
        let formula = lines.iter().find(|l| l.contains("SUM")).unwrap();
        assert!(formula.ends_with(",'=SUM(A1:A9)"), "{formula}");
        assert!(
            body.contains(",\"Müller, café \"\"Zur Post\"\"\"\r\n"),
            "accents kept, commas and quotes quoted"
        );
        assert!(body.contains(",2024-03-01T10:16:42Z,exporter,receive,product,9,plain\r\n"));

        let narrowed = accountant
            .get("/audit.csv?actor=exporter&document=customer+4")
            .await;
        assert_eq!(narrowed.body.trim_end().split("\r\n").count(), 3);
        let page = ok(&accountant, "/audit?actor=exporter&document=customer+4").await;
        assert_eq!(
            page.html()
                .select(&Selector::parse("#export").unwrap())
                .next()
                .unwrap()
                .value()
                .attr("href"),
            Some("/audit.csv?actor=exporter&action=&document=customer+4&from=&to=")
        );
    }
);

db_test!(html_in_an_event_is_escaped, |app: TestApp| async move {
    let admin = app.browser_as("boss", Role::Admin).await;
    let evil = "<script>alert(1)</script><b onmouseover=x>";
    record(
        &app,
        &[(
            "<i>mallory</i>",
            "update-product",
            "product",
            "<7>",
            evil,
            datetime!(2024-03-01 10:00:00 UTC),
        )],
    )
    .await;
    let page = ok(&admin, "/audit?action=update-product").await;
    assert!(!page.body.contains("<script>alert(1)"));
    assert!(!page.body.contains("<i>mallory"));
    assert!(!page.body.contains("<b onmouseover"));
    assert_eq!(page.count("#audit script, #audit b, #audit i"), 0);
    assert_eq!(column(&page, 5), [evil]);
    assert_eq!(column(&page, 2), ["<i>mallory</i>"]);
    assert_eq!(column(&page, 4), ["product <7>"]);
});

db_test!(
    the_date_filter_takes_days_of_the_display_zone,
    |app: TestApp| async move {
        // New York is UTC-5 in January: its 10 January runs from 05:00 UTC to 05:00 UTC.
        let cfg = orderdesk::server::ServerConfig {
            timezone: "America/New_York".into(),
            ..TestApp::config()
        };
        app.user("boss", Role::Admin).await;
        let admin = Browser::new(app.second_server(&cfg).await);
        admin
            .sign_in("boss", &crate::helpers::password_of("boss"))
            .await;
        record(
            &app,
            &[
                (
                    "zoned",
                    "confirm",
                    "order",
                    "1",
                    "a",
                    datetime!(2024-01-10 04:59:59.5 UTC),
                ),
                (
                    "zoned",
                    "confirm",
                    "order",
                    "2",
                    "b",
                    datetime!(2024-01-10 05:00:00 UTC),
                ),
                (
                    "zoned",
                    "confirm",
                    "order",
                    "3",
                    "c",
                    datetime!(2024-01-11 04:59:59.75 UTC),
                ),
                (
                    "zoned",
                    "confirm",
                    "order",
                    "4",
                    "d",
                    datetime!(2024-01-11 05:00:00.25 UTC),
                ),
            ],
        )
        .await;
        assert_eq!(
            details(&admin, "actor=zoned&from=2024-01-10&to=2024-01-10").await,
            "bc",
            "the local day (UTC days would give ab)"
        );
        assert_eq!(details(&admin, "actor=zoned&to=2024-01-09").await, "a");
        assert_eq!(details(&admin, "actor=zoned&from=2024-01-11").await, "d");
        // What the page shows agrees with the filter: both events of the day are on the 10th.
        let page = ok(&admin, "/audit?actor=zoned&from=2024-01-10&to=2024-01-10").await;
        let times = column(&page, 1);
        assert!(
            times.iter().all(|t| t.starts_with("2024-01-10")),
            "{times:?}"
        );
        // The export takes the same days.
        let csv = admin
            .get("/audit.csv?actor=zoned&from=2024-01-10&to=2024-01-10")
            .await;
        assert_eq!(csv.status, StatusCode::OK);
        assert_eq!(csv.body.lines().count(), 3, "{}", csv.body);
    }
);
