// The family page: the people whose codes one holds (show, stop), adding one with their
// consent (a code sent to their own phone, read out to the holder), who holds one's own code.
import { setup, t, when } from "/static/i18n.js";
import { WORDS, api, el, explain, largeType, session } from "/static/citizen-words.js";

const $ = (id) => document.getElementById(id);
const token = session.get();
if (!token) location.replace("/sign-in");

let held = [];
let holders = [];
let challenge = null;

function person(h, action) {
  const item = el("li", undefined, { class: "person" });
  const who = el("p", undefined);
  who.append(el("strong", h.masked_name || "?"), " ", el("span", h.masked_id || ""));
  item.append(who, el("p", t("since", { time: when(h.since) }), { class: "hint" }), action);
  return item;
}

function heldItem(h) {
  const actions = el("div", undefined, { class: "row" });
  const show = el("a", t("show_code"), { href: `/code?held=${encodeURIComponent(h.id)}`, class: "button" });
  show.setAttribute("aria-label", t("show_code_of", { name: h.masked_name }));
  const stop = el("button", t("stop_holding"), { type: "button", class: "secondary" });
  stop.setAttribute("aria-label", t("stop_holding_of", { name: h.masked_name }));
  stop.addEventListener("click", () => revoke(`/v1/me/held/${encodeURIComponent(h.id)}/revoke`));
  actions.append(show, stop);
  return person(h, actions);
}

function holderItem(h) {
  const end = el("button", t("end_holder"), { type: "button", class: "secondary" });
  end.setAttribute("aria-label", t("end_holder_of", { name: h.masked_name }));
  end.addEventListener("click", () => revoke(`/v1/me/holders/${encodeURIComponent(h.id)}/revoke`));
  return person(h, end);
}

function render() {
  $("held").replaceChildren(...(held.length ? held.map(heldItem) : [el("li", t("held_empty"))]));
  $("holders").replaceChildren(...(holders.length ? holders.map(holderItem) : [el("li", t("holders_empty"))]));
  $("main").setAttribute("aria-busy", "false");
}

function failed(error) {
  if (error.code === "SESSION_INVALID" || error.code === "PERSON_TOKEN_INVALID") {
    session.clear();
    location.replace("/sign-in");
    return;
  }
  $("error").textContent = explain(t, error);
}

async function load() {
  try {
    const [mine, theirs] = await Promise.all([
      api("/v1/me/held", { token }), api("/v1/me/holders", { token }),
    ]);
    held = mine.held;
    holders = theirs.holders;
    render();
  } catch (error) {
    failed(error);
  }
}

async function revoke(path) {
  try {
    await api(path, { method: "POST", token });
    $("error").textContent = "";
    await load();
    $("held-h").focus?.();
  } catch (error) {
    failed(error);
  }
}

async function ask(event) {
  event.preventDefault();
  const body = { id_number: $("id_number").value.trim(), phone: $("phone").value.trim() };
  if (!body.id_number || !body.phone) { $("error").textContent = t("FIELD_MISSING"); return; }
  try {
    challenge = (await api("/v1/me/held/code", { method: "POST", body, token })).challenge;
    $("error").textContent = "";
    $("confirm").hidden = false;
    $("asked").textContent = t("consent_sent");
    $("consent").focus();
  } catch (error) {
    failed(error);
  }
}

async function confirm(event) {
  event.preventDefault();
  try {
    const body = { challenge, code: $("consent").value.trim() };
    const holding = await api("/v1/me/held", { method: "POST", body, token });
    $("ask").reset();
    $("confirm").reset();
    $("confirm").hidden = true;
    $("error").textContent = "";
    await load();
    $("held").querySelector("a")?.focus();
    $("asked").textContent = t("hold_done", { name: holding.masked_name });
  } catch (error) {
    failed(error);
  }
}

const showLarge = largeType(t);
setup(WORDS, () => { showLarge(); render(); });
showLarge();
$("ask").addEventListener("submit", ask);
$("confirm").addEventListener("submit", confirm);
if (token) load();
