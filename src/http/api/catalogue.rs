//! Master data through the API: customers and products, a page at a time.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::{ApiQuery, ApiUser};
use super::orders::{page_limit, parse_cursor};
use super::problem::Problem;
use super::respond::json;
use super::schema::ReadErrors;
use super::views::{CustomerJson, CustomerPage, ProductJson, ProductPage};
use crate::domain::Permission;
use crate::http::state::AppState;

/// Search and cursor of a master-data list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Part of a code, SKU or name (case-insensitive).
    q: Option<String>,
    /// The `next` of the previous page.
    #[param(pattern = "^[0-9]{0,18}$")]
    cursor: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

impl ListQuery {
    /// (search text, id to continue after, limit).
    fn parse(self) -> Result<(String, i64, i64), Problem> {
        let after = match self.cursor.as_deref() {
            None | Some("") => 0,
            Some(c) => parse_cursor(c)?,
        };
        // Control characters never match a name, and a NUL is refused by the databases.
        let q = crate::http::extract::search_text(&self.q.unwrap_or_default());
        Ok((q, after, page_limit(self.limit)?))
    }
}

/// One page of `rows` (fetched with one more than `limit`, to know whether another page
/// follows) as views, and the cursor of the next page.
fn page<R, J>(
    mut rows: Vec<R>,
    limit: i64,
    id: impl Fn(&R) -> i64,
    view: impl Fn(R) -> J,
) -> (Vec<J>, Option<String>) {
    let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next = more
        .then(|| rows.last().map(|r| id(r).to_string()))
        .flatten();
    (rows.into_iter().map(view).collect(), next)
}

/// Customers in the order they were created, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/customers",
    tag = "master data",
    params(ListQuery),
    responses((status = 200, description = "One page of customers", body = CustomerPage), ReadErrors),
    security(("bearer" = []))
)]
pub async fn list_customers(
    State(st): State<AppState>,
    user: ApiUser,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, Problem> {
    user.require(Permission::ViewMasterData)?;
    let (q, after, limit) = q.parse()?;
    let rows = st.db.customers_after(&q, after, limit + 1).await?;
    let (items, next) = page(rows, limit, |c| c.id, CustomerJson::from);
    Ok(json(&CustomerPage { items, next }))
}

/// Products in the order they were created, with stock on hand, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/products",
    tag = "master data",
    params(ListQuery),
    responses((status = 200, description = "One page of products", body = ProductPage), ReadErrors),
    security(("bearer" = []))
)]
pub async fn list_products(
    State(st): State<AppState>,
    user: ApiUser,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, Problem> {
    user.require(Permission::ViewMasterData)?;
    let (q, after, limit) = q.parse()?;
    let rows = st.db.products_after(&q, after, limit + 1).await?;
    let (items, next) = page(rows, limit, |p| p.id, ProductJson::from);
    Ok(json(&ProductPage { items, next }))
}
