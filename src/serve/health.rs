//! Sync health: record errors as cards (one per kind of failure, as `hubforce errors` groups
//! them), a card's records, its CSV, and **Resync**.

use std::sync::Arc;

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::Shared;
use super::pages::page;
use crate::sync::error_groups::{ErrorGroup, group, human_time};
use crate::sync::ledger::RecordError;
use crate::sync::ledger_asks::AskKind;

fn errors(shared: &Shared) -> Vec<RecordError> {
    shared.setup.ledger.errors(None).unwrap_or_default()
}

fn find_card(shared: &Shared, card: &str) -> Option<(ErrorGroup, Vec<RecordError>)> {
    let all = errors(shared);
    let g = group(&all).into_iter().find(|g| g.id() == card)?;
    let members = all.into_iter().filter(|e| g.holds(e)).collect();
    Some((g, members))
}

fn gone() -> Response {
    (
        StatusCode::NOT_FOUND,
        "no such card: its records may have synced since. Go back to /health\n",
    )
        .into_response()
}

pub async fn cards(State(shared): State<Arc<Shared>>) -> Html<String> {
    let all = errors(&shared);
    let groups = group(&all);
    let asked = shared
        .setup
        .ledger
        .asked(AskKind::Resync)
        .unwrap_or_default()
        .len();
    let body = html! {
        h1 { "Sync health" }
        @if asked > 0 {
            div class="note" { (asked) " record(s) queued for resync: the next pass retries them." }
        }
        @if groups.is_empty() {
            p class="ok" { "No record errors." }
        } @else {
            p { (all.len()) " record error(s) of " (groups.len()) " kind(s), newest first." }
            div class="cards" {
                @for g in &groups {
                    div class="card" data-card=(g.id()) {
                        h3 { span class={"class " (g.class)} { (g.class) } " " (g.side) " " (g.object) }
                        div { span class="n" { (g.count) } " record(s)" }
                        p { @if let Some(c) = &g.code { code { (c) } ": " } (g.kind) }
                        p class="muted" { "what to do: " (g.example.hint) }
                        p class="muted" { "last " (human_time(&g.example.last_at)) }
                        a class="button" href={"/health/" (g.id())} { "Open" } " "
                        a class="button" href={"/health/" (g.id()) "/export.csv"} { "Export CSV" } " "
                        form class="inline" method="post" action={"/health/" (g.id()) "/resync"} {
                            input type="hidden" name="csrf" value=(shared.guard.csrf.expose());
                            button type="submit" { "Resync" }
                        }
                    }
                }
            }
        }
    };
    page(&shared, "Sync health", "/health", body)
}

pub async fn card(State(shared): State<Arc<Shared>>, Path(card): Path<String>) -> Response {
    let Some((g, members)) = find_card(&shared, &card) else {
        return gone();
    };
    let body = html! {
        h1 { span class={"class " (g.class)} { (g.class) } " " (g.count) " × " (g.side) " " (g.object) }
        p { @if let Some(c) = &g.code { code { (c) } ": " } (g.kind) }
        p { "what to do: " (g.example.hint) }
        p {
            a class="button" href={"/health/" (g.id()) "/export.csv"} { "Export CSV" } " "
            form class="inline" method="post" action={"/health/" (g.id()) "/resync"} {
                input type="hidden" name="csrf" value=(shared.guard.csrf.expose());
                button type="submit" { "Resync all " (g.count) }
            }
        }
        table {
            tr { th { "record" } th { "message" } th class="num" { "attempts" } th { "first" } th { "last" } th {} }
            @for e in &members {
                tr {
                    td { a href={"/record?q=" (e.id)} { (e.object) " " (e.id) } }
                    td { (e.message) }
                    td class="num" { (e.attempts) }
                    td { (human_time(&e.first_at)) }
                    td { (human_time(&e.last_at)) }
                    td {
                        form class="inline" method="post" action="/record/resync" {
                            input type="hidden" name="csrf" value=(shared.guard.csrf.expose());
                            input type="hidden" name="side" value=(e.side);
                            input type="hidden" name="object" value=(e.object);
                            input type="hidden" name="id" value=(e.id);
                            button type="submit" { "Resync" }
                        }
                    }
                }
            }
        }
    };
    page(&shared, "Sync health", "/health", body).into_response()
}

/// A card's records as CSV (one row each; what `hubforce errors --all` lists).
pub async fn export(State(shared): State<Arc<Shared>>, Path(card): Path<String>) -> Response {
    let Some((g, members)) = find_card(&shared, &card) else {
        return gone();
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "side", "object", "id", "class", "code", "message", "hint", "attempts", "first_at",
        "last_at",
    ];
    let mut rows = vec![header.map(String::from).to_vec()];
    for e in &members {
        rows.push(vec![
            e.side.clone(),
            e.object.clone(),
            e.id.clone(),
            e.class.clone(),
            e.code.clone().unwrap_or_default(),
            // A cell a spreadsheet would run as a formula is quoted as text.
            spreadsheet_safe(&e.message),
            spreadsheet_safe(&e.hint),
            e.attempts.to_string(),
            e.first_at.clone(),
            e.last_at.clone(),
        ]);
    }
    for r in rows {
        if w.write_record(&r).is_err() {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    }
    let body = w.into_inner().unwrap_or_default();
    let name = format!("hubforce-{}-{}-{}.csv", g.class, g.object, g.id());
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// A value that starts like a formula (`=`, `+`, `-`, `@`) gets a leading `'` (OWASP's CSV
/// injection advice): the CRMs' data is not the admin's spreadsheet's code.
fn spreadsheet_safe(v: &str) -> String {
    if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_string()
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    pub csrf: String,
}

pub async fn resync_card(
    State(shared): State<Arc<Shared>>,
    Path(card): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(r) = super::guard::check_post(&shared, &headers, &form.csrf) {
        return r;
    }
    let Some((_, members)) = find_card(&shared, &card) else {
        return gone();
    };
    let records: Vec<_> = members
        .into_iter()
        .map(|e| (e.side, e.object, e.id))
        .collect();
    if let Err(e) = shared.setup.ledger.ask(AskKind::Resync, &records) {
        return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
    }
    shared.wake();
    Redirect::to("/health").into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn formulas_from_the_crms_are_text_in_the_csv() {
        assert_eq!(
            super::spreadsheet_safe("=HYPERLINK(\"x\")"),
            "'=HYPERLINK(\"x\")"
        );
        assert_eq!(super::spreadsheet_safe("plain"), "plain");
    }
}
