//! The addresses of the pages that show a result, in one place: forms answer `303 See Other`
//! to these, and pages link to them. (Clerks bookmark them: they are stable.)

/// One order: its lines, totals and the forms that change or confirm it.
pub fn order(order_id: i64) -> String {
    format!("/orders/{order_id}")
}

/// The receipt of a confirmed order.
pub fn confirmation(order_id: i64) -> String {
    format!("/orders/{order_id}/confirmation")
}

/// A credit note, printable.
pub fn credit_note(number: &str) -> String {
    format!("/credit-notes/{number}")
}

/// A product's stock and ledger.
pub fn stock(sku: &str) -> String {
    format!("/stock/{sku}")
}

/// The order list, where a new order's "still processing" page waits.
pub const ORDERS: &str = "/orders";

/// User administration.
pub const USERS: &str = "/admin/users";

/// Where the JSON API lives.
pub const API: &str = "/api/v1";

/// Whether a path belongs to the JSON API, which answers for itself: bearer tokens, no sign-in
/// redirect, problem+json.
pub fn is_api(path: &str) -> bool {
    path.strip_prefix(API)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}
