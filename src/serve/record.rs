//! A record's story: search by HubSpot id, Salesforce id or email, then `explain`'s view —
//! inclusion, link or tombstone, each field's rule and winner, its writes, its last error —
//! with **Sync this record now** and **Resync**.

use std::sync::Arc;

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::Shared;
use super::pages::page;
use crate::sync::engine::{Engine, SyncError};
use crate::sync::explain::Explanation;
use crate::sync::ledger_asks::AskKind;

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    /// Set after an ask: say it was queued.
    #[serde(default)]
    asked: Option<String>,
}

/// Why a record could not be looked up.
#[derive(Debug, thiserror::Error)]
enum LookupError {
    #[error(transparent)]
    Session(#[from] crate::session::SessionError),
    #[error(transparent)]
    Sync(#[from] SyncError),
}

async fn explain(shared: &Shared, q: &str) -> Result<Option<Explanation>, LookupError> {
    let session = &shared.session;
    let (hs, sf) = (session.hubspot()?, session.salesforce()?);
    let setup = &shared.setup;
    let engine = Engine::prepare(
        hs,
        sf,
        &setup.ledger,
        setup.plugins.as_ref(),
        setup.settings.clone(),
    )
    .await?;
    let Some((object, id)) = engine.find_record(q).await? else {
        return Ok(None);
    };
    Ok(Some(engine.explain(&object, &id).await?))
}

fn search_box(q: &str) -> Markup {
    html! {
        form method="get" action="/record" {
            input type="search" name="q" value=(q) placeholder="HubSpot id, Salesforce id or email" autofocus;
            " " button type="submit" { "Find" }
        }
    }
}

fn story(shared: &Shared, e: &Explanation) -> Markup {
    let csrf = shared.guard.csrf.expose();
    html! {
        h2 { (e.object) " " (e.id) " " span class="muted" { "(" (e.side) ", pair " (e.pair) ")" } }
        div class="cards" {
            div class="card" id="record-state" {
                @if !e.found { p class="bad" { "not found on " (e.side) " (deleted, or a wrong id)" } }
                @if let Some((id, ty)) = &e.linked {
                    p class="ok" { "linked to " (ty) " " a href={"/record?q=" (id)} { (id) } }
                } @else if e.tombstones.is_empty() { p { "not linked" } }
                @for t in &e.tombstones { p class="bad tombstone" { "tombstone: " (t) } }
                @match (e.included, &e.inclusion_reason) {
                    (Some(true), Some(r)) => p { "included: " (r) },
                    (Some(false), Some(r)) => p class="bad" { "not included: " (r) },
                    _ => {},
                }
                @if e.echo { p class="muted" { "its current state is what hubforce last wrote (an echo)" } }
                @for err in &e.errors {
                    p class="bad" { span class={"class " (err.class)} { (err.class) } " " (err.message) }
                    p class="muted" { "what to do: " (err.hint) }
                }
            }
        }
        p {
            form class="inline" method="post" action="/record/sync" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="object" value=(e.object);
                input type="hidden" name="id" value=(e.id);
                button type="submit" { "Sync this record now" }
            }
            @for err in &e.errors {
                " "
                form class="inline" method="post" action="/record/resync" {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="side" value=(err.side);
                    input type="hidden" name="object" value=(err.object);
                    input type="hidden" name="id" value=(err.id);
                    button type="submit" { "Resync" }
                }
            }
        }
        h2 { "In full" }
        pre id="explain" { (e.render()) }
    }
}

pub async fn search(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<SearchQuery>,
) -> Html<String> {
    let body = if q.q.trim().is_empty() {
        html! { h1 { "Record" } (search_box("")) }
    } else {
        let found = explain(&shared, &q.q).await;
        html! {
            h1 { "Record" }
            (search_box(&q.q))
            @if let Some(what) = &q.asked {
                div class="note" {
                    @if what == "sync" { "Queued: the watcher syncs this record first in its next pass." }
                    @else { "Queued for resync: the next pass retries it whatever its error." }
                }
            }
            @match &found {
                Ok(Some(e)) => (story(&shared, e)),
                Ok(None) => p class="bad" { "Nothing found for " code { (q.q) } ": give a HubSpot id, a Salesforce id (15 or 18 characters) or a contact's email." },
                Err(err) => p class="bad" { (err) },
            }
        }
    };
    page(&shared, "Record", "/record", body)
}

#[derive(Deserialize)]
pub struct RecordForm {
    csrf: String,
    #[serde(default)]
    side: String,
    object: String,
    id: String,
}

fn asked(
    shared: &Shared,
    headers: &HeaderMap,
    form: &RecordForm,
    kind: AskKind,
) -> Result<(), Response> {
    super::guard::check_post(shared, headers, &form.csrf)?;
    let record = (form.side.clone(), form.object.clone(), form.id.clone());
    shared
        .setup
        .ledger
        .ask(kind, &[record])
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response())?;
    shared.wake();
    Ok(())
}

fn back_to(form: &RecordForm, what: &str) -> Response {
    let q: String = url::form_urlencoded::byte_serialize(form.id.as_bytes()).collect();
    Redirect::to(&format!("/record?q={q}&asked={what}")).into_response()
}

pub async fn resync(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<RecordForm>,
) -> Response {
    match asked(&shared, &headers, &form, AskKind::Resync) {
        Ok(()) => back_to(&form, "resync"),
        Err(r) => r,
    }
}

pub async fn sync_now(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<RecordForm>,
) -> Response {
    match asked(&shared, &headers, &form, AskKind::Sync) {
        Ok(()) => back_to(&form, "sync"),
        Err(r) => r,
    }
}
