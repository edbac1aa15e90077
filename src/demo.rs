//! `orderdesk demo`: a small, believable data set to click through.

use crate::db::customers::{self, NewCustomer};
use crate::db::products::{self, NewProduct};
use crate::db::{Db, now, orders};
use crate::domain::{Actor, NewPassword, Role, Username};
use crate::error::Error;

const CUSTOMERS: &[(&str, &str, &str, &str)] = &[
    (
        "C-1001",
        "Brightwater Cafés Ltd",
        "12 Quay Street\nBristol BS1 4DJ\nUnited Kingdom",
        "GB123456789",
    ),
    (
        "C-1002",
        "Müller & Söhne GmbH",
        "Hauptstraße 5\n80331 München\nGermany",
        "DE811907980",
    ),
    (
        "C-1003",
        "Atelier Lumière SARL",
        "8 rue des Arts\n69002 Lyon\nFrance",
        "FR40303265045",
    ),
    (
        "C-1004",
        "Northwind Office Supply",
        "400 Market Ave\nPortland OR 97204\nUSA",
        "",
    ),
    (
        "C-1005",
        "Casa Verde S.L.",
        "Calle Mayor 21\n28013 Madrid\nSpain",
        "ESB12345674",
    ),
    (
        "C-1006",
        "Koppel Hardware BV",
        "Damrak 70\n1012 LM Amsterdam\nNetherlands",
        "NL859048131B01",
    ),
    (
        "C-1007",
        "Oakridge Primary School",
        "1 School Lane\nYork YO1 7HH\nUnited Kingdom",
        "",
    ),
    (
        "C-1008",
        "Fjord Outfitters AS",
        "Bryggen 3\n5003 Bergen\nNorway",
        "NO974760673",
    ),
];

/// (sku, name, price in cents, tax rate in basis points, opening stock, reorder level)
const PRODUCTS: &[(&str, &str, i64, i64, i64, i64)] = &[
    (
        "PAPER-A4-500",
        "Copy paper A4, 80 g, ream of 500",
        549,
        2000,
        400,
        50,
    ),
    (
        "PAPER-A3-500",
        "Copy paper A3, 80 g, ream of 500",
        1299,
        2000,
        60,
        20,
    ),
    (
        "PEN-BLUE-10",
        "Ballpoint pens, blue, box of 10",
        399,
        2000,
        250,
        40,
    ),
    (
        "PEN-RED-10",
        "Ballpoint pens, red, box of 10",
        399,
        2000,
        8,
        20,
    ),
    (
        "NOTE-A5-DOT",
        "Notebook A5, dotted, 96 sheets",
        675,
        2000,
        120,
        30,
    ),
    (
        "STAPLER-HD",
        "Heavy-duty stapler, 100 sheets",
        3490,
        2000,
        15,
        5,
    ),
    (
        "STAPLES-26-6",
        "Staples 26/6, box of 5,000",
        189,
        2000,
        500,
        100,
    ),
    (
        "FOLDER-LEVER",
        "Lever arch file, 80 mm, black",
        429,
        2000,
        3,
        25,
    ),
    (
        "TONER-HP-85A",
        "Toner cartridge HP 85A, black",
        6990,
        2000,
        12,
        6,
    ),
    ("DESK-LAMP-LED", "LED desk lamp, dimmable", 4950, 2000, 2, 4),
    ("CHAIR-ERGO", "Ergonomic office chair", 24900, 2000, 6, 2),
    ("COFFEE-BEANS-1K", "Coffee beans, 1 kg", 1890, 700, 40, 10),
    ("TEA-GREEN-100", "Green tea, 100 bags", 549, 700, 35, 10),
    ("BOOK-HANDBOOK", "Office handbook (print)", 2450, 500, 20, 5),
    ("CABLE-USBC-2M", "USB-C cable, 2 m", 1199, 2000, 0, 10),
    ("SANITIZER-500", "Hand sanitiser, 500 ml", 375, 1000, 90, 20),
];

/// (customer index, reference, [(product index, quantity)])
type DemoOrder = (usize, &'static str, &'static [(usize, i64)]);

const ORDERS: &[DemoOrder] = &[
    (0, "PO-7781", &[(0, 20), (2, 5), (11, 4)]),
    (1, "BEST-2026-114", &[(5, 2), (6, 10), (8, 1)]),
    (2, "", &[(4, 12), (12, 6)]),
    (3, "NW-0093", &[(0, 40), (1, 5), (3, 2), (7, 1)]),
    (4, "CV/118", &[(10, 1), (9, 1)]),
    (5, "KH-55120", &[(6, 25), (2, 10)]),
    (6, "Term 2 supplies", &[(0, 30), (4, 30), (2, 20), (15, 10)]),
    (7, "FJ-2026-031", &[(11, 10), (12, 10)]),
    (0, "PO-7790", &[(13, 3)]),
    (1, "BEST-2026-121", &[(9, 5)]),
    (2, "", &[(14, 4), (2, 1)]),
    (3, "NW-0101", &[(8, 2), (0, 10), (0, 5)]),
    (4, "CV/121", &[(0, 2), (13, 1)]),
];

/// The order (an index into [`ORDERS`]) that the demo confirms and then cancels with a credit
/// note, so that the invoice list, the credit note and the audit log have something to show.
const CANCELLED: usize = 12;

/// One user per role: (sign-in name, display name, role).
const USERS: &[(&str, &str, Role)] = &[
    ("clerk", "Clara Clerk", Role::Clerk),
    ("warehouse", "Walter Warehouse", Role::Warehouse),
    ("accountant", "Anna Accountant", Role::Accountant),
    ("admin", "Adam Admin", Role::Admin),
];

/// Load the demo data once, its invoices in EUR; a second run changes nothing and says so.
pub async fn load(db: &Db) -> Result<String, Error> {
    load_with_currency(db, "EUR").await
}

/// [`load`], with the invoice the demo issues in `currency` (the server's).
pub async fn load_with_currency(db: &Db, currency: &str) -> Result<String, Error> {
    if !db
        .search_customers(CUSTOMERS[0].0, false, 1, 0)
        .await?
        .is_empty()
    {
        return Ok("demo data is already loaded; nothing was changed".into());
    }
    let actor = "demo";
    let mut tx = db.begin().await?;
    let mut customer_ids = Vec::new();
    for (code, name, address, vat_id) in CUSTOMERS {
        customer_ids.push(
            customers::insert(
                &mut tx,
                &NewCustomer {
                    code,
                    name,
                    address,
                    vat_id,
                },
            )
            .await?,
        );
    }
    let mut product_ids = Vec::new();
    for (sku, name, price, rate, stock, reorder) in PRODUCTS {
        let p = NewProduct {
            sku,
            name,
            unit_price_cents: *price,
            tax_rate_bp: *rate,
            opening_stock: *stock,
            reorder_level: *reorder,
        };
        product_ids.push(products::insert(&mut tx, &p, actor).await?);
    }
    let mut order_ids = Vec::new();
    for (customer, reference, lines) in ORDERS {
        let id = orders::insert(&mut tx, customer_ids[*customer], reference, actor, now()).await?;
        order_ids.push(id);
        for (product, qty) in *lines {
            orders::insert_line(&mut tx, id, product_ids[*product], *qty).await?;
        }
    }
    tx.commit().await?;
    let mut summary = format!(
        "demo data loaded: {} customers, {} products, {} orders (drafts, a few of them short of stock on purpose, and one cancelled)\n\
         sign in with one of these (the passwords are shown only now):",
        CUSTOMERS.len(),
        PRODUCTS.len(),
        ORDERS.len()
    );
    for (name, display, role) in USERS {
        if db.find_user(name).await?.is_some() {
            summary.push_str(&format!(
                "\n  {name:<11} (exists already; password unchanged)"
            ));
            continue;
        }
        let password = crate::auth::random_hex(6);
        let username = Username::parse(name).map_err(|e| Error::Internal(e.to_string()))?;
        let new = NewPassword::parse(&password).map_err(|e| Error::Internal(e.to_string()))?;
        let by = Actor {
            username: actor.to_string(),
            ..Actor::command_line()
        };
        crate::ops::add_user(db, &by, username, display, *role, new).await?;
        summary.push_str(&format!("\n  {name:<11} {password}   ({role})"));
    }
    if db.current_company().await?.is_none() {
        let save = crate::ops::SaveCompany {
            actor: demo_actor(db, "admin", Role::Admin).await?,
            form: demo_company(),
        };
        crate::ops::run_once(db, save).await?;
        summary.push_str("\ncompany details (the seller on invoices) set to a demo company: change them at /admin/company");
    }
    let cancelled = order_ids[CANCELLED];
    confirm_and_cancel(db, cancelled, currency).await?;
    summary.push_str(&format!(
        "\norder #{cancelled} was confirmed and then cancelled with a credit note, to show how that looks"
    ));
    Ok(summary)
}

/// The seller the demo's invoices print (IBAN and BIC are the standard's published examples).
fn demo_company() -> crate::ops::CompanyForm {
    crate::ops::CompanyForm {
        name: "Harbour Office Supplies GmbH".into(),
        address: "Hafenstraße 12\n20457 Hamburg\nGermany".into(),
        vat_id: "DE123456789".into(),
        iban: "DE89 3704 0044 0532 0130 00".into(),
        bic: "COBADEFFXXX".into(),
        payment_terms_days: "30".into(),
        footer: "Harbour Office Supplies GmbH · Registered at Amtsgericht Hamburg, HRB 000000 · Managing director: A. Example\nThank you for your order."
            .into(),
    }
}

/// Confirm `order_id` as the demo clerk, then cancel it with a credit note as the demo
/// accountant: through the same actions as the pages.
async fn confirm_and_cancel(db: &Db, order_id: i64, currency: &str) -> Result<(), Error> {
    let confirm = crate::ops::ConfirmOrder {
        actor: demo_actor(db, "clerk", Role::Clerk).await?,
        order_id,
        revision: None,
        currency: currency.trim().to_ascii_uppercase(),
    };
    crate::ops::run_once(db, confirm).await?;
    let cancel = crate::ops::CancelOrder {
        actor: demo_actor(db, "accountant", Role::Accountant).await?,
        order_id,
        reason: "Ordered twice by mistake; the customer keeps PO-7790".into(),
    };
    crate::ops::run_once(db, cancel).await?;
    Ok(())
}

/// The demo user `name` as the actor of an operation.
async fn demo_actor(db: &Db, name: &str, role: Role) -> Result<Actor, Error> {
    let user = db
        .find_user(name)
        .await?
        .ok_or_else(|| Error::Internal(format!("the demo user {name} is missing")))?;
    Ok(Actor {
        user_id: user.id,
        username: user.username,
        role,
    })
}
