//! The scenarios: each drives the servers over HTTP as clerks would and returns what it measured.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::data::Spread;

use crate::client::{Clerk, form_fields};
use crate::stats::{Summary, summarize};
use crate::{ACCOUNTANT, Ctx, PASSWORD, USER, check, print_row};

/// A progress line on standard error while a scenario runs.
fn progress(name: &'static str, done: Arc<AtomicUsize>, total: usize, stop: Arc<AtomicBool>) {
    let tty = std::io::stderr().is_terminal();
    tokio::spawn(async move {
        let start = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(if tty { 500 } else { 5000 })).await;
            let n = done.load(Ordering::Relaxed);
            let rate = n as f64 / start.elapsed().as_secs_f64();
            if tty {
                eprint!("\r[{name}] {n}/{total} done, {rate:.0}/s   ");
            } else {
                eprintln!("[{name}] {n}/{total} done, {rate:.0}/s");
            }
        }
        if tty {
            eprintln!();
        }
    });
}

/// Run `work(i)` for i in 0..total on `concurrency` workers (each with its own signed-in clerk);
/// returns the latency samples each call reported and the wall time.
pub(crate) async fn drive<F, Fut>(
    ctx: &Ctx,
    name: &'static str,
    total: usize,
    work: F,
) -> Result<(Vec<Duration>, Duration), String>
where
    F: Fn(Clerk, usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = Result<Vec<Duration>, String>> + Send,
{
    drive_as(ctx, name, (USER, PASSWORD), total, work).await
}

/// [`drive`], each worker signed in as `user` (name, password).
async fn drive_as<F, Fut>(
    ctx: &Ctx,
    name: &'static str,
    user: (&str, &str),
    total: usize,
    work: F,
) -> Result<(Vec<Duration>, Duration), String>
where
    F: Fn(Clerk, usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = Result<Vec<Duration>, String>> + Send,
{
    let mut clerks = Vec::new();
    for _ in 0..ctx.concurrency {
        clerks.push(Clerk::sign_in(ctx.http.clone(), user.0, user.1).await?);
    }
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    progress(name, done.clone(), total, stop.clone());
    let start = Instant::now();
    let mut tasks = Vec::new();
    for clerk in clerks {
        let (next, done, work) = (next.clone(), done.clone(), work.clone());
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return Ok::<_, String>(samples);
                }
                samples.extend(work(clerk.clone(), i).await?);
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.map_err(|e| e.to_string())??);
    }
    let wall = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    Ok((all, wall))
}

/// Read the order page, post its Confirm form, follow the redirect. Returns the POST+redirect
/// latency and whether it confirmed (false: refused for short stock).
async fn confirm_one(clerk: &Clerk, order: i64) -> Result<(Duration, bool), String> {
    let page = clerk.get(&format!("/orders/{order}")).await?;
    let form = form_fields(&page.body, "confirm")
        .ok_or_else(|| format!("order {order}: no Confirm form ({})", page.status))?;
    let t = Instant::now();
    let res = clerk
        .post(&format!("/orders/{order}/confirm"), &form, None)
        .await?;
    match res.status {
        303 => {
            let receipt = clerk.get(res.location.as_deref().unwrap_or("/")).await?;
            if receipt.status != 200 {
                return Err(format!(
                    "order {order}: receipt answered {}",
                    receipt.status
                ));
            }
            Ok((t.elapsed(), true))
        }
        409 => Ok((t.elapsed(), false)),
        other => Err(format!(
            "order {order}: confirm answered {other}: {}",
            first_line(&res.body)
        )),
    }
}

fn first_line(body: &str) -> String {
    body.split("<h1>")
        .nth(1)
        .and_then(|s| s.split("</h1>").next())
        .unwrap_or("")
        .to_string()
}

pub(crate) async fn confirm(
    ctx: &Ctx,
    orders: i64,
    lines: i64,
    spread: Spread,
) -> Result<Summary, String> {
    let (first, last) = ctx
        .bulk
        .bench_orders(&ctx.catalogue, orders, lines, spread)
        .await
        .map_err(|e| e.to_string())?;
    let total = usize::try_from(last - first + 1).unwrap_or(0);
    let (samples, wall) = drive(ctx, "confirm", total, move |clerk, i| async move {
        let (d, ok) = confirm_one(&clerk, first + i as i64).await?;
        if !ok {
            return Err("stock ran out: the catalogue is too small for this run".into());
        }
        Ok(vec![d])
    })
    .await?;
    Ok(summarize(samples, wall))
}

pub(crate) async fn replay(ctx: &Ctx, requests: usize) -> Result<Summary, String> {
    let (first, _) = ctx
        .bulk
        .bench_orders(&ctx.catalogue, 1, 3, Spread::Wide)
        .await
        .map_err(|e| e.to_string())?;
    let clerk = Clerk::sign_in(ctx.http.clone(), USER, PASSWORD).await?;
    let page = clerk.get(&format!("/orders/{first}")).await?;
    let form = form_fields(&page.body, "confirm").ok_or("no Confirm form")?;
    let original = clerk
        .post(&format!("/orders/{first}/confirm"), &form, None)
        .await?;
    if original.status != 303 {
        return Err(format!(
            "the original confirmation answered {}",
            original.status
        ));
    }
    // No ANALYZE here: the key table may have grown by thousands of rows (earlier scenarios)
    // since PostgreSQL last gathered its statistics, and the server's statement reads the key
    // by both columns of its primary key whatever they say (see `Db::find_session_and_key`).
    let form = Arc::new(form);
    let location = original.location.clone();
    // The duplicates must come from the same clerk (the token is bound to the user).
    let shared = clerk.clone();
    let (samples, wall) = drive(ctx, "replay", requests, move |_, _| {
        let (clerk, form, location) = (shared.clone(), form.clone(), location.clone());
        async move {
            let t = Instant::now();
            let res = clerk
                .post(&format!("/orders/{first}/confirm"), &form, None)
                .await?;
            if res.status != 303 || !res.replayed || res.location != location {
                return Err(format!(
                    "a duplicate answered {} (replayed: {})",
                    res.status, res.replayed
                ));
            }
            Ok(vec![t.elapsed()])
        }
    })
    .await?;
    Ok(summarize(samples, wall))
}

pub(crate) async fn healthz(ctx: &Ctx, requests: usize) -> Result<Summary, String> {
    let (samples, wall) = drive(ctx, "healthz", requests, |clerk, _| async move {
        let t = Instant::now();
        let res = clerk.get("/healthz").await?;
        if res.status != 200 {
            return Err(format!("healthz answered {}", res.status));
        }
        Ok(vec![t.elapsed()])
    })
    .await?;
    Ok(summarize(samples, wall))
}

pub(crate) async fn storm(
    ctx: &Ctx,
    orders: i64,
    k: usize,
) -> Result<(&'static str, Summary, String), String> {
    let (first, last) = ctx
        .bulk
        .bench_orders(&ctx.catalogue, orders, 3, Spread::Wide)
        .await
        .map_err(|e| e.to_string())?;
    let total = usize::try_from(last - first + 1).unwrap_or(0);
    let before = ctx
        .db
        .list_invoices(&Default::default(), 1, 0)
        .await
        .map_err(|e| e.to_string())?
        .len();
    let fresh = Arc::new(AtomicI64::new(0));
    let pending = Arc::new(AtomicI64::new(0));
    let counts = (fresh.clone(), pending.clone());
    let (samples, wall) = drive(ctx, "storm", total, move |clerk, i| {
        let (fresh, pending) = counts.clone();
        async move {
            let order = first + i as i64;
            let page = clerk.get(&format!("/orders/{order}")).await?;
            let form = Arc::new(form_fields(&page.body, "confirm").ok_or("no Confirm form")?);
            let servers = clerk.http.servers();
            let mut shots = Vec::new();
            for j in 0..k {
                let (clerk, form) = (clerk.clone(), form.clone());
                shots.push(tokio::spawn(async move {
                    let t = Instant::now();
                    let res = clerk
                        .post(
                            &format!("/orders/{order}/confirm"),
                            &form,
                            Some(j % servers),
                        )
                        .await;
                    res.map(|r| (r, t.elapsed()))
                }));
            }
            let mut samples = Vec::new();
            let mut originals = 0;
            for s in shots {
                let (res, d) = s.await.map_err(|e| e.to_string())??;
                samples.push(d);
                match (res.status, res.replayed) {
                    (303, false) => originals += 1,
                    (303, true) => {}
                    (202, _) => {
                        pending.fetch_add(1, Ordering::Relaxed);
                    }
                    (other, _) => return Err(format!("order {order}: a submit answered {other}")),
                }
            }
            if originals > 1 {
                return Err(format!("order {order}: {originals} submits did the work"));
            }
            fresh.fetch_add(originals, Ordering::Relaxed);
            Ok(samples)
        }
    })
    .await?;
    // Exactly one effect per order, whatever the answers said.
    let mut violations = 0;
    for order in first..=last {
        let status = ctx
            .db
            .find_order(order)
            .await
            .map_err(|e| e.to_string())?
            .map(|o| o.status);
        let invoice = ctx
            .db
            .find_invoice_for_order(order)
            .await
            .map_err(|e| e.to_string())?;
        if status != Some(orderdesk::domain::OrderStatus::Confirmed) || invoice.is_none() {
            violations += 1;
        }
    }
    let _ = before;
    if violations > 0 {
        return Err(format!(
            "storm: {violations} orders without exactly one confirmation"
        ));
    }
    let note = format!(
        "K={k}, {total} orders, {} requests; {} did the work, {} answered \"still processing\"; 0 violations",
        total * k,
        fresh.load(Ordering::Relaxed),
        pending.load(Ordering::Relaxed)
    );
    Ok(("storm", summarize(samples, wall), note))
}

pub(crate) async fn big(ctx: &Ctx, orders: i64, lines: i64) -> Result<Summary, String> {
    let (first, last) = ctx
        .bulk
        .bench_orders(&ctx.catalogue, orders, lines, Spread::Wide)
        .await
        .map_err(|e| e.to_string())?;
    let clerk = Clerk::sign_in(ctx.http.clone(), USER, PASSWORD).await?;
    let start = Instant::now();
    let mut samples = Vec::new();
    for order in first..=last {
        let (d, ok) = confirm_one(&clerk, order).await?;
        if !ok {
            return Err("stock ran out".into());
        }
        samples.push(d);
    }
    Ok(summarize(samples, start.elapsed()))
}

pub(crate) async fn pages(ctx: &Ctx, orders: i64, requests: usize) -> Result<(), String> {
    let have = ctx
        .db
        .list_orders(&Default::default(), 1, orderdesk::db::orders::Cursor::First)
        .await
        .map(|(rows, _)| rows)
        .map_err(|e| e.to_string())?
        .first()
        .map(|o| o.id)
        .unwrap_or(0);
    let mut missing = orders - have;
    while missing > 0 {
        let batch = missing.min(200_000);
        eprintln!("[pages] adding {batch} orders ({missing} to go)");
        ctx.bulk
            .bench_orders(&ctx.catalogue, batch, 3, Spread::Wide)
            .await
            .map_err(|e| e.to_string())?;
        missing -= batch;
    }
    ctx.bulk.analyze().await.map_err(|e| e.to_string())?;
    let clerk = Clerk::sign_in(ctx.http.clone(), USER, PASSWORD).await?;
    let have_now = ctx
        .db
        .list_orders(&Default::default(), 1, orderdesk::db::orders::Cursor::First)
        .await
        .map_err(|e| e.to_string())?
        .0
        .first()
        .map(|o| o.id)
        .unwrap_or(1);
    let deep_products = (ctx.catalogue.products / 50 / 2).max(1);
    let targets = [
        ("orders: first page", "/orders".to_string()),
        (
            "orders: filtered",
            "/orders?status=draft&q=customer+77".to_string(),
        ),
        (
            "orders: deep page",
            format!("/orders?before={}", have_now / 2),
        ),
        ("stock: first page", "/stock".to_string()),
        ("stock: filtered", "/stock?q=product+77".to_string()),
        ("stock: deep page", format!("/stock?page={deep_products}")),
        ("invoices: first page", "/invoices".to_string()),
        ("invoices: filtered", "/invoices?q=customer+7".to_string()),
    ];
    for (name, path) in targets {
        let mut samples = Vec::new();
        let start = Instant::now();
        for _ in 0..requests {
            let t = Instant::now();
            let res = clerk.get(&path).await?;
            if res.status != 200 {
                return Err(format!("{path} answered {}", res.status));
            }
            samples.push(t.elapsed());
        }
        let s = summarize(samples, start.elapsed());
        print_row(
            ctx,
            &format!("pages: {name}"),
            &s,
            &format!("{orders} orders; GET {path}"),
        );
    }
    check(&ctx.db).await
}

/// The audit log with `events` events (topped up to that many): the first page, one actor, one
/// action, one order's history, one week in the middle of the year and the page after its
/// first, and a deep page, each `requests` times by C accountants (clerks may not read it).
pub(crate) async fn audit(ctx: &Ctx, events: i64, requests: usize) -> Result<(), String> {
    let now = orderdesk::db::now();
    let added = ctx
        .bulk
        .bench_audit_events(events, now)
        .await
        .map_err(|e| e.to_string())?;
    if added > 0 {
        eprintln!("[audit] vacuum and analyze after adding {added} events");
        ctx.bulk.vacuum_analyze().await.map_err(|e| e.to_string())?;
    }
    let reader = Clerk::sign_in(ctx.http.clone(), ACCOUNTANT, PASSWORD).await?;
    let newest = event_ids(&reader.get("/audit").await?.body)
        .first()
        .copied()
        .ok_or("the audit log is empty")?;
    // A week half a year back: the range index does the work, not the newest events.
    let first_day = (now - time::Duration::days(180)).date();
    let week = format!(
        "from={}&to={}",
        first_day,
        first_day + time::Duration::days(6)
    );
    let week_page_2 = next_link(&reader.get(&format!("/audit?{week}")).await?.body)
        .ok_or("the week has a single page")?;
    // Unmeasured: the server's connection pool fills, PostgreSQL's caches warm.
    drive_as(
        ctx,
        "audit warm-up",
        (ACCOUNTANT, PASSWORD),
        4 * ctx.concurrency,
        {
            let week = Arc::new(format!("/audit?{week}"));
            move |reader, i| {
                let week = week.clone();
                async move {
                    let path = if i % 2 == 0 { "/audit" } else { week.as_str() };
                    reader.get(path).await?;
                    Ok(Vec::new())
                }
            }
        },
    )
    .await?;
    let targets = [
        ("first page", "/audit".to_string()),
        ("by actor", "/audit?actor=bench-clerk07".to_string()),
        ("by action", "/audit?action=sign-in-failed".to_string()),
        ("by document", "/audit?document=order+4242".to_string()),
        ("one week", format!("/audit?{week}")),
        ("one week, page 2", week_page_2),
        ("deep page", format!("/audit?before={}", newest / 2)),
    ];
    for (name, path) in targets {
        let shared = Arc::new(path.clone());
        let (samples, wall) = drive_as(
            ctx,
            "audit",
            (ACCOUNTANT, PASSWORD),
            requests,
            move |reader, _| {
                let path = shared.clone();
                async move {
                    let t = Instant::now();
                    let res = reader.get(&path).await?;
                    let d = t.elapsed();
                    if res.status != 200 {
                        return Err(format!("{path} answered {}", res.status));
                    }
                    if event_ids(&res.body).is_empty() {
                        return Err(format!("{path} listed no events"));
                    }
                    Ok(vec![d])
                }
            },
        )
        .await?;
        print_row(
            ctx,
            &format!("audit: {name}"),
            &summarize(samples, wall),
            &format!("{events} events; GET {path}"),
        );
    }
    check(&ctx.db).await
}

/// The event numbers an audit log page lists.
fn event_ids(html: &str) -> Vec<i64> {
    html.split("data-event=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next()?.parse().ok())
        .collect()
}

/// The address of a page's "next" link, if it has one.
fn next_link(html: &str) -> Option<String> {
    let end = html.find("\" rel=\"next\"")?;
    let start = html[..end].rfind("href=\"")? + 6;
    Some(html[start..end].replace("&amp;", "&").replace("&#38;", "&"))
}
