// The grid worker's page: sign in with the staff token, the grid's tasks (kept on the device),
// record what happened (queued on the device, sent when online, each action once).
import { setup, t, when } from "/static/i18n.js";
import { NEXT, WORDS } from "/static/grid-words.js";
import { enqueue, flush, store } from "/static/grid-store.js";

const $ = (id) => document.getElementById(id);
let reachable = navigator.onLine;

// A request gives up after WAIT ms (a poor connection must not hold the queue for minutes); an
// action whose answer never came is sent again later, and the province applies it once.
const WAIT = 20000;
async function call(path, { method = "GET", body, token = store.token() } = {}) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return fetch(path, { method, headers, body: payload, signal: AbortSignal.timeout(WAIT) });
}

async function answer(response) {
  if (response.ok) return response.json();
  let code = `HTTP_${response.status}`;
  try { code = (await response.json()).error.code; } catch { /* keep the status */ }
  throw Object.assign(new Error(code), { code });
}

const explain = (code) => (WORDS.zh[code] ? t(code) : t("err_unknown", { code }));
const fail = (error) => { $("error").textContent = error.code ? explain(error.code) : t("err_network"); };

// -- what is shown ------------------------------------------------------------------------------
function overdue(task, now = Date.now()) {
  return Boolean(task.deadline) && new Date(task.deadline).getTime() <= now;
}

function pendingState(taskId) {
  const mine = store.queue().filter((a) => a.task_id === taskId);
  return mine.length ? mine[mine.length - 1].body.state : null;
}

function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

function asksText(asks = {}) {
  const lines = [];
  const said = asks[document.documentElement.lang === "en" ? "en" : "zh"] || asks.zh;
  if (said) lines.push(said);
  if (asks.isolation) lines.push(t("isolation", { kind: t(asks.isolation) }));
  if (asks.nat_dates?.length) lines.push(t("nat_dates", { dates: asks.nat_dates.join(", ") }));
  return lines.join("\n");
}

// What a worker has started to fill in, by task: a sync or a language switch redraws the cards
// while they type, and must not throw away their choice, note or region, nor their place.
const drafts = new Map();

function keepDraft(taskId, form) {
  const { state, note, region } = form.elements;
  drafts.set(taskId, { state: state.value, note: note.value, region: region.value });
}

function restoreDraft(taskId, form) {
  const draft = drafts.get(taskId);
  if (!draft) return;
  const { state, note, region } = form.elements;
  if ([...state.options].some((o) => o.value === draft.state)) state.value = draft.state;
  note.value = draft.note;
  region.value = draft.region;
}

function recordForm(task, state) {
  const form = el("form", { class: "record", novalidate: "" });
  const sid = `state-${task.id}`, nid = `note-${task.id}`, rid = `region-${task.id}`;
  form.append(el("label", { for: sid }, t("record")));
  const select = el("select", { id: sid, name: "state" });
  for (const next of NEXT[state] ?? []) select.append(el("option", { value: next }, t(next)));
  const moved = el("div", { hidden: "" });
  moved.append(el("label", { for: rid }, t("region")),
    el("input", { id: rid, name: "region", inputmode: "numeric", maxlength: "6", pattern: "[0-9]{6}", "aria-describedby": `${rid}-hint` }),
    el("p", { id: `${rid}-hint`, class: "hint" }, t("region_hint")));
  const showMoved = () => { moved.hidden = select.value !== "moved_away"; };
  select.addEventListener("change", showMoved);
  form.append(select, moved, el("label", { for: nid }, t("note")), el("textarea", { id: nid, name: "note", maxlength: "500" }));
  form.append(el("button", { type: "submit", class: "primary" }, t("save")));
  restoreDraft(task.id, form);
  showMoved();
  form.addEventListener("input", () => keepDraft(task.id, form));
  form.addEventListener("change", () => keepDraft(task.id, form));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const note = form.elements.note.value.trim();
    const body = { state: select.value, ...(note ? { note } : {}) };
    if (select.value === "moved_away") {
      const region = form.elements.region.value.trim();
      if (!/^[0-9]{6}$/.test(region)) { $("error").textContent = t("region_missing"); form.elements.region.focus(); return; }
      body.residence_region = region;
    }
    enqueue(task.id, body);
    drafts.delete(task.id);
    $("error").textContent = "";
    render();
    $("queue-state").textContent = `${t("saved_local")} ${queueWords()}`;
    send();
  });
  if (!select.options.length) form.hidden = true;
  return form;
}

function taskItem(task) {
  const late = overdue(task);
  const queued = pendingState(task.id);
  const state = queued ?? task.state;
  const item = el("li", { class: `task ${task.colour}${late ? " overdue" : ""}` });
  const article = el("article", { "aria-labelledby": `who-${task.id}` });
  const heading = el("h3", { id: `who-${task.id}` }, task.person?.name ?? t("not_held"));
  heading.append(el("span", { class: "tag" }, `${t(task.kind)} · ${t(task.colour)}`));
  const due = task.deadline
    ? `${late ? `${t("overdue")} · ` : ""}${t("due", { time: when(task.deadline) })}`
    : t("no_due");
  const list = el("dl");
  const phone = task.person?.phone;
  const dd = el("dd");
  if (phone && task.person?.shown) dd.append(el("a", { href: `tel:${phone}`, "aria-label": t("call", { phone }) }, phone));
  else dd.textContent = phone ?? "—";
  list.append(el("dt", {}, t("phone")), dd);
  const asks = el("dd", { class: "asks" }, asksText(task.asks));
  asks.style.whiteSpace = "pre-line";
  list.append(el("dt", {}, t("asks")), asks);
  list.append(el("dt", {}, t("state")),
    el("dd", queued ? { class: "pending-state" } : {}, queued ? t("queued_state", { state: t(queued) }) : t(state)));
  article.append(heading, el("p", { class: `due${late ? " overdue" : ""}` }, due), list, recordForm(task, state));
  item.append(article);
  return item;
}

function queueWords() {
  const n = store.queue().length;
  return n ? t("pending", { n }) : t("all_sent");
}

function render() {
  const token = store.token();
  $("signin").hidden = Boolean(token);
  $("work").hidden = !token;
  const net = $("net");
  net.textContent = reachable ? t("online") : t("offline");
  net.className = reachable ? "net" : "net offline";
  if (!token) return;
  const kept = store.tasks();
  $("me").textContent = kept.me ? t("me", { name: kept.me.name, grid: kept.me.grid_id ?? "—" }) : "";
  $("synced").textContent = kept.at ? t("synced", { time: when(kept.at) }) : t("never_synced");
  const queue = $("queue-state");
  queue.textContent = queueWords();
  queue.className = store.queue().length ? "queue waiting" : "queue";
  const only = $("overdue-only").checked;
  const shown = kept.tasks.filter((task) => !only || overdue(task));
  const list = $("tasks");
  const focused = list.contains(document.activeElement) ? document.activeElement.id : null;
  list.replaceChildren(...shown.map(taskItem));
  if (focused) document.getElementById(focused)?.focus();
  if (!shown.length) list.append(el("li", { class: "empty" }, only ? t("no_overdue") : t("no_tasks")));
  const refused = store.refused();
  $("refused-box").hidden = !refused.length;
  $("refused-list").replaceChildren(...refused.map((a) => {
    const task = kept.tasks.find((x) => x.id === a.task_id);
    return el("li", {}, t("refused_item", { who: task?.person?.name ?? a.task_id, state: t(a.body.state), reason: explain(a.code) }));
  }));
}

// -- talking to the province --------------------------------------------------------------------
async function send() {
  const out = await flush((action) => call(`/v1/grid/tasks/${encodeURIComponent(action.task_id)}/state`, { method: "POST", body: action.body }));
  reachable = out.stopped !== "network";
  if (out.stopped === "token") fail({ code: "STAFF_TOKEN_INVALID" });
  if (out.sent || out.refused) await sync();
  else render();
  return out;
}

async function sync() {
  try {
    const me = await answer(await call("/v1/staff/me"));
    const { tasks } = await answer(await call("/v1/grid/tasks"));
    store.setTasks(me, tasks);
    reachable = true;
    $("error").textContent = "";
  } catch (error) {
    if (!error.code) reachable = false;
    else fail(error);
  }
  render();
}

async function signIn(token) {
  try {
    const me = await answer(await call("/v1/staff/me", { token }));
    if (!me.roles.includes("grid-worker")) throw Object.assign(new Error(), { code: "STAFF_ROLE_REQUIRED" });
    store.setToken(token);
    await sync();
  } catch (error) { fail(error); }
}

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  $("error").textContent = "";
  const token = $("token").value.trim();
  if (!token) return fail({ code: "TOKEN_MISSING" });
  $("token").value = "";
  signIn(token);
});
$("sync").addEventListener("click", async () => { await send(); await sync(); });
$("overdue-only").addEventListener("change", render);
$("dismiss").addEventListener("click", () => { store.setRefused([]); render(); });
$("sign-out").addEventListener("click", () => {
  const n = store.queue().length;
  if (n) { $("error").textContent = t("cannot_sign_out", { n }); return; }
  store.clear();
  drafts.clear();
  render();
  $("token").focus();
});
window.addEventListener("online", () => { reachable = true; send().then(sync); });
window.addEventListener("offline", () => { reachable = false; render(); });
setInterval(() => { if (store.token() && store.queue().length) send(); }, 15000);

setup(WORDS, render);
render();
if ("serviceWorker" in navigator) navigator.serviceWorker.register("/grid-sw.js", { scope: "/grid" }).catch(() => {});
if (store.token()) send().then(sync);
