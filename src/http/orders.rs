//! One order: its lines, totals, history, and the forms that change or confirm it. The
//! `/orders` routes are declared here; the list and the new-order form live beside it.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::error::{PageError, PageResult};
use super::extract::{Id, Query};
use super::new_order::{create_order, new_order, search_customers};
use super::order_list::list_orders;
use super::session::CurrentUser;
use super::state::AppState;
use super::templates::Me;
use super::templates::{datetime, render, units};
use crate::db::Reader;
use crate::domain::OrderStatus;
use crate::domain::{Permission, ShortLine};
use crate::ops::documents;
use crate::ops::{AddLine, CancelOrder, ChangeLine, ConfirmOrder, RemoveLine};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orders", get(list_orders).post(create_order))
        .route("/orders/new", get(new_order))
        .route("/orders/customer-search", get(search_customers))
        .route("/orders/{id}", get(show_order))
}

pub struct LineItem {
    pub id: i64,
    pub sku: String,
    pub name: String,
    pub quantity: String,
    pub unit_price: String,
    pub tax_rate: String,
    pub net: String,
    pub in_stock: String,
    pub short: bool,
    pub remove_token: String,
    /// The quantity form of a draft's line: its token, what was typed after a refusal, and
    /// why it was refused.
    pub change_token: String,
    pub quantity_input: String,
    pub quantity_error: Option<String>,
    /// How much stock is missing for this line now (0: stock covers it). A hint before
    /// Confirm; the confirmation transaction still decides.
    pub short_by: i64,
    /// The id of the line's quantity field: `line-N`.
    pub field_id: String,
}

/// A product offered when the typed text matched several.
pub struct Choice {
    pub sku: String,
    pub name: String,
    pub price: String,
    pub stock: String,
}

/// What the add-line form shows again after a refused submit.
#[derive(Default)]
pub struct AddLineForm {
    pub token: String,
    pub sku: String,
    pub quantity: String,
    pub sku_error: Option<String>,
    pub quantity_error: Option<String>,
    /// The products to choose from when the text matched several.
    pub choices: Vec<Choice>,
    /// More matched than are listed.
    pub more: bool,
}

/// The cancel form of an order page, as the user's role and the order's state allow it.
#[derive(Default)]
pub struct CancelForm {
    /// `draft` (cancel a draft), `credit` (cancel an invoiced order with a credit note), or
    /// empty when this user may not cancel this order.
    pub kind: &'static str,
    pub token: String,
    pub reason: String,
    pub error: Option<String>,
}

/// How an order was cancelled.
pub struct Cancelled {
    pub at: String,
    pub by: String,
    pub reason: String,
    pub credit_note: Option<String>,
}

pub struct HistoryItem {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

/// A short product of a refused confirmation, as the order page shows it: quantities grouped
/// by thousands like every other quantity.
pub struct ShortItem {
    pub sku: String,
    pub name: String,
    pub requested: String,
    pub available: String,
}

impl From<ShortLine> for ShortItem {
    fn from(s: ShortLine) -> Self {
        ShortItem {
            sku: s.sku,
            name: s.name,
            requested: units(s.requested),
            available: units(s.available),
        }
    }
}

#[derive(Template)]
#[template(path = "orders/show.html")]
pub struct OrderPage {
    pub me: Option<Me>,
    pub can_confirm: bool,
    pub id: i64,
    pub customer: String,
    pub customer_code: String,
    pub reference: String,
    pub status: &'static str,
    pub editable: bool,
    pub created: String,
    pub created_by: String,
    pub confirmed: Option<String>,
    pub confirmed_by: String,
    pub lines: Vec<LineItem>,
    pub net: String,
    pub tax: String,
    pub gross: String,
    pub add: AddLineForm,
    pub revision: i64,
    pub confirm_token: String,
    pub shortages: Vec<ShortItem>,
    /// The draft's lines stock does not cover now, shown before Confirm.
    pub short_now: Vec<LineItem>,
    /// The id of the field that takes the focus when the page opens (`sku`, `quantity`,
    /// `choice`, `line-N`), or empty.
    pub focus: String,
    pub notice: Option<String>,
    pub history: Vec<HistoryItem>,
    pub cancel: CancelForm,
    pub cancelled: Option<Cancelled>,
}

#[derive(Deserialize, Default)]
pub struct ShowQuery {
    /// Where the focus goes: `sku` after a line was added, `line-N` after line N changed.
    #[serde(default)]
    focus: String,
}

impl OrderPage {
    /// The units missing over all lines stock does not cover now.
    pub fn short_total(&self) -> String {
        units(self.short_now.iter().map(|l| l.short_by).sum())
    }
}

async fn show_order(
    State(st): State<AppState>,
    user: CurrentUser,
    Id(id): Id,
    Query(query): Query<ShowQuery>,
) -> PageResult<Response> {
    user.require(Permission::ViewOrders)?;
    let mut page = order_page(&st, &user, id, AddLineForm::default(), Vec::new(), None).await?;
    let known = query.focus == "sku"
        || query
            .focus
            .strip_prefix("line-")
            .and_then(|n| n.parse::<i64>().ok())
            .is_some_and(|n| page.lines.iter().any(|l| l.id == n));
    if known && page.editable {
        page.focus = query.focus;
    } else if page.editable && page.lines.is_empty() {
        // A fresh draft (just created): the first line comes next.
        page.focus = "sku".to_string();
    }
    Ok(render(&page))
}

/// Build the order page; `add` keeps what the clerk typed in the add-line form after an error,
/// `shortages` lists the lines stock could not cover on a refused confirmation.
pub async fn order_page(
    st: &AppState,
    user: &CurrentUser,
    id: i64,
    mut add: AddLineForm,
    shortages: Vec<ShortLine>,
    notice: Option<String>,
) -> PageResult<OrderPage> {
    // Priced as the products are now while a draft, as invoiced once confirmed: a price
    // change after confirmation changes nothing shown for the order.
    let doc = documents::order(&mut Reader::Db(&st.db), id)
        .await?
        .ok_or_else(|| PageError::NotFound(format!("There is no order {id}.")))?;
    let status = doc.status;
    let short_skus: Vec<&str> = shortages.iter().map(|s| s.sku.as_str()).collect();
    let removable = status.is_editable() && user.role.can(Permission::EditOrders);
    // The demand per product over the whole draft (older orders may hold a product on two
    // lines), against its stock now.
    let mut demand: std::collections::HashMap<&str, i64> = std::collections::HashMap::new();
    for l in &doc.lines {
        *demand.entry(l.sku.as_str()).or_default() += l.quantity;
    }
    let short_by: Vec<i64> = doc
        .lines
        .iter()
        .map(|l| {
            let missing = demand.get(l.sku.as_str()).copied().unwrap_or(0) - l.on_hand;
            if status.is_editable() {
                missing.clamp(0, l.quantity)
            } else {
                0
            }
        })
        .collect();
    let cur = &st.currency;
    let lines: Vec<LineItem> = doc
        .lines
        .into_iter()
        .zip(short_by)
        .map(|(l, short_by)| LineItem {
            id: l.id,
            short: short_skus.contains(&l.sku.as_str()),
            quantity_input: l.quantity.to_string(),
            field_id: format!("line-{}", l.id),
            quantity_error: None,
            short_by,
            sku: l.sku,
            name: l.name,
            quantity: units(l.quantity),
            unit_price: cur.show(l.unit_price),
            tax_rate: l.tax_rate.to_string(),
            net: cur.show(l.amounts.net),
            in_stock: units(l.on_hand),
            remove_token: if removable {
                st.idem.issue(user.id, &RemoveLine::scope_for(id))
            } else {
                String::new()
            },
            change_token: if removable {
                st.idem.issue(user.id, &ChangeLine::scope_for(id))
            } else {
                String::new()
            },
        })
        .collect();
    let short_now = lines
        .iter()
        .filter(|l| l.short_by > 0)
        .map(|l| LineItem {
            id: l.id,
            sku: l.sku.clone(),
            name: l.name.clone(),
            quantity: l.quantity.clone(),
            in_stock: l.in_stock.clone(),
            short_by: l.short_by,
            short: l.short,
            unit_price: String::new(),
            tax_rate: String::new(),
            net: String::new(),
            remove_token: String::new(),
            change_token: String::new(),
            quantity_input: String::new(),
            quantity_error: None,
            field_id: l.field_id.clone(),
        })
        .collect();
    let t = doc.totals;

    let editable = status.is_editable() && user.role.can(Permission::EditOrders);
    let can_confirm = status.is_editable() && user.role.can(Permission::ConfirmOrders);
    if editable && add.token.is_empty() {
        add.token = st.idem.issue(user.id, &AddLine::scope_for(id));
    }
    // After a refused add the focus goes to the field in error (or the first choice).
    let focus = if !add.choices.is_empty() {
        "choice"
    } else if add.sku_error.is_some() {
        "sku"
    } else if add.quantity_error.is_some() {
        "quantity"
    } else {
        ""
    };
    let cancel_kind = match status {
        OrderStatus::Draft if user.role.can(Permission::EditOrders) => "draft",
        OrderStatus::Confirmed if user.role.can(Permission::CreditInvoices) => "credit",
        _ => "",
    };
    let cancel = CancelForm {
        kind: cancel_kind,
        token: if cancel_kind.is_empty() {
            String::new()
        } else {
            st.idem.issue(user.id, &CancelOrder::scope_for(id))
        },
        ..CancelForm::default()
    };
    let cancelled = match doc.cancelled_at {
        Some(at) => Some(Cancelled {
            at: datetime(at),
            by: doc.cancelled_by.clone().unwrap_or_default(),
            reason: doc.cancel_reason.clone(),
            credit_note: st
                .db
                .find_credit_note_for_order(id)
                .await?
                .map(|c| c.number),
        }),
        None => None,
    };
    let history = st
        .db
        .audit_events("order", &id.to_string())
        .await?
        .into_iter()
        .map(|e| HistoryItem {
            at: datetime(e.at),
            actor: e.actor,
            action: e.action.replace('-', " "),
            detail: e.detail,
        })
        .collect();
    Ok(OrderPage {
        me: user.me(),
        history,
        can_confirm,
        id,
        customer: doc.customer_name,
        customer_code: doc.customer_code,
        reference: doc.reference,
        status: status.as_str(),
        editable,
        created: datetime(doc.created_at),
        created_by: doc.created_by,
        confirmed: doc.confirmed_at.map(datetime),
        confirmed_by: doc.confirmed_by.unwrap_or_default(),
        lines,
        net: st.currency.show(t.net),
        tax: st.currency.show(t.tax),
        gross: st.currency.show(t.gross),
        add,
        revision: doc.revision,
        confirm_token: if can_confirm {
            st.idem.issue(user.id, &ConfirmOrder::scope_for(id))
        } else {
            String::new()
        },
        shortages: shortages.into_iter().map(ShortItem::from).collect(),
        short_now,
        focus: focus.to_string(),
        notice,
        cancel,
        cancelled,
    })
}
