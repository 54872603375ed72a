// The province's operations dashboard: counts, decisions awaiting a second approver
// (approve or refuse here, with one's own staff token), codes by colour per region as a heat
// table, transcodings and their latency, "four early" per county, the appeals queue, and a
// form to propose a manual colour. Everything comes from the province's staff-only JSON API.
import { lang, setup, t, when } from "/static/i18n.js";
import { SHADES, WORDS, api, chart, el, explain, hourLabel, table } from "/static/ops-words.js";

const $ = (id) => document.getElementById(id);
const KEY = "hc-staff";
let token = sessionStorage.getItem(KEY);
let state = {};

function basisText(b) {
  return `${b.code} · ${lang() === "en" ? b.en : b.zh}`;
}

function colourWord(c) {
  return el("span", t(c), { class: `word-${c}` });
}

function showError(error) {
  $("error").textContent = error ? explain(t, error) : "";
}

async function load() {
  const asked = {
    summary: api("/v1/ops/summary", { token }),
    pending: api("/v1/decisions?state=proposed", { token }),
    colours: api(`/v1/ops/colours?level=${$("level").value}&hours=${$("hours").value}`, { token }),
    transcodings: api(`/v1/ops/transcodings?hours=${$("hours").value}`, { token }),
    four: api("/v1/grid/timeliness?by=county", { token }),
    appeals: api("/v1/staff/appeals", { token }),
  };
  const got = {};
  for (const [name, promise] of Object.entries(asked)) {
    try {
      got[name] = await promise;
    } catch (error) {
      got[name] = { error };
    }
  }
  if (got.summary.error) {
    showError(got.summary.error);
    if (got.summary.error.code === "STAFF_TOKEN_INVALID") leave();
    return;
  }
  showError(null);
  state = got;
  render();
}

function render() {
  if (!state.summary) return;
  const s = state.summary;
  $("who").textContent = t("signed_in", { name: s.me.name, roles: s.me.roles.join(", ") });
  renderCards(s);
  renderPending();
  renderHeat();
  renderTranscodings();
  renderFour();
  renderAppeals();
  renderForm(s.form);
}

function renderCards(s) {
  const cards = [
    ["waiting", s.waiting_decisions, s.waiting_decisions > 0],
    ["appeals_open", s.appeals.open + s.appeals.escalated + s.appeals.correcting, false],
    ["appeals_overdue", s.appeals.overdue, s.appeals.overdue > 0],
    ["feed_seq", s.feed.seq ?? 0, false],
    ["dead_letters", s.dead_letters, s.dead_letters > 0],
    ["jobs", s.running_jobs, false],
  ];
  $("cards").replaceChildren(...cards.map(([key, n, alert]) => {
    const li = el("li", undefined, alert ? { class: "alert" } : {});
    li.append(el("span", n, { class: "n" }), el("span", t(key)));
    return li;
  }));
}

function renderPending() {
  const box = $("pending");
  if (state.pending.error) return box.replaceChildren(el("p", explain(t, state.pending.error), { class: "error" }));
  const bases = Object.fromEntries((state.summary.form.legal_bases || []).map((b) => [b.code, b]));
  const items = state.pending.decisions.filter((d) => d.state === "proposed");
  if (!items.length) return box.replaceChildren(el("p", t("none_pending"), { class: "muted" }));
  box.replaceChildren(...items.map((d) => decisionItem(d, bases)));
}

function decisionItem(d, bases) {
  const item = el("article", undefined, { class: "item", "aria-labelledby": `h-${d.id}` });
  const h = el("h3", undefined, { id: `h-${d.id}` });
  h.append(colourWord(d.colour), ` · ${d.id}`);
  const list = el("dl");
  const basis = bases[d.legal_basis?.code || d.legal_basis];
  const rows = [
    ["people", d.subjects + (d.bulk ? ` (${t("bulk")})` : "")],
    ["basis", basis ? basisText(basis) : JSON.stringify(d.legal_basis)],
    ["evidence", d.evidence.map((e) => `${e.kind}: ${e.ref}`).join("; ")],
    ["proposed_by", d.proposed_by],
    ["proposed_at", when(d.proposed_at)],
    ["expires_at", when(d.expires_at)],
  ];
  if (d.note) rows.push(["note", d.note]);
  for (const [k, v] of rows) list.append(el("dt", t(k)), el("dd", v));
  const reasonId = `reason-${d.id}`;
  const refuseRow = el("div", undefined, { class: "row" });
  const reasonBox = el("div");
  reasonBox.append(el("label", t("refuse_reason"), { for: reasonId }), el("input", undefined, { id: reasonId, maxlength: "500" }));
  const approve = el("button", t("approve"), { type: "button", class: "primary", "aria-describedby": `h-${d.id}` });
  const refuse = el("button", t("refuse"), { type: "button", class: "danger", "aria-describedby": `h-${d.id}` });
  approve.addEventListener("click", () => act(d.id, "approve"));
  refuse.addEventListener("click", () => act(d.id, "reject", { reason: $(reasonId).value }));
  refuseRow.append(reasonBox, approve, refuse);
  item.append(h, list, refuseRow);
  return item;
}

async function act(id, verb, body) {
  $("decided").className = "status";
  try {
    await api(`/v1/decisions/${id}/${verb}`, { method: "POST", token, body });
    $("decided").textContent = t(verb === "approve" ? "approved" : "refused", { id });
    $("decided").classList.add("ok");
  } catch (error) {
    $("decided").textContent = explain(t, error);
    $("decided").classList.add("error");
    return;
  }
  await load();
}

function heatClass(n, max) {
  if (!n) return "h h0";
  return `h h${Math.min(5, 1 + Math.floor((4 * n) / Math.max(1, max)))}`;
}

function regionName(r) {
  return r.code ? `${r.name || r.code}` : t("unknown_region");
}

function renderHeat() {
  const c = state.colours;
  if (c.error) return $("heat").replaceChildren(el("p", explain(t, c.error), { class: "error" }));
  const shade = $("shade").value;
  const step = c.hours.length > 48 ? 6 : 1;
  // newest first, beside the counts of now
  const shown = c.hours.map((h, i) => i).filter((i) => (c.hours.length - 1 - i) % step === 0).reverse();
  const max = Math.max(1, ...c.regions.flatMap((r) => r.series[shade]));
  const head = [t("region"), `${t("now")} ${t("green")}`, `${t("now")} ${t("yellow")}`, `${t("now")} ${t("red")}`,
    ...shown.map((i) => hourLabel(c.hours[i], lang()))];
  const rows = c.regions.map((r) => [
    regionName(r), [r.now.green, "num"], [r.now.yellow, "num"], [r.now.red, "num"],
    ...shown.map((i) => [r.series[shade][i], heatClass(r.series[shade][i], max)]),
  ]);
  const box = table(head, rows, `${t("colours_h")} · ${t(shade)}`);
  box.querySelector("table").classList.add("heat");
  $("heat").replaceChildren(box);
  const top = c.regions.slice(0, 12);
  $("colours-chart").classList.toggle("short", top.length <= 3);
  chart($("colours-chart"), {
    legend: { top: 0 },
    grid: { left: 90, right: 16, top: 30, bottom: 24 },
    xAxis: { type: "value" },
    yAxis: { type: "category", data: top.map(regionName), inverse: true },
    series: ["green", "yellow", "red"].map((k) => ({
      name: t(k), type: "bar", stack: "now", color: SHADES[k], data: top.map((r) => r.now[k]),
    })),
  }, `${t("colours_h")}: ${top.map((r) => `${regionName(r)} ${t("red")} ${r.now.red}`).join("; ")}`);
}

function renderTranscodings() {
  const x = state.transcodings;
  if (x.error) return;
  const hours = x.hours.map((h) => hourLabel(h, lang()));
  const total = x.hours.reduce((n, _, i) => n + x.changes.green[i] + x.changes.yellow[i] + x.changes.red[i], 0);
  chart($("trans-chart"), {
    legend: { top: 0, type: "scroll" },
    grid: { left: 40, right: 48, top: 60, bottom: 40 },
    xAxis: { type: "category", data: hours },
    yAxis: [{ type: "value", name: t("transcodings") }, { type: "value", name: t("mean_s") }],
    series: [
      ...["green", "yellow", "red"].map((k) => ({
        name: t(k), type: "bar", stack: "t", color: SHADES[k], data: x.changes[k],
      })),
      { name: t("mean_s"), type: "line", yAxisIndex: 1, color: "#0b4f9c", data: x.mean_seconds },
      { name: t("max_s"), type: "line", yAxisIndex: 1, color: "#46505c", lineStyle: { type: "dashed" }, data: x.max_seconds },
    ],
  }, `${t("transcodings_h")}: ${t("total")} ${total}`);
}

function renderFour() {
  const f = state.four;
  $("four-chart").hidden = Boolean(f.error || !f.figures.length);
  if (f.error) return $("four").replaceChildren(el("p", explain(t, f.error), { class: "error" }));
  if (!f.figures.length) return $("four").replaceChildren(el("p", t("no_four"), { class: "muted" }));
  const steps = ["to_code", "to_task", "to_contact", "to_isolation"];
  const latest = {};
  for (const row of f.figures) if (!latest[row.county] || latest[row.county].day < row.day) latest[row.county] = row;
  const counties = Object.keys(latest).sort();
  chart($("four-chart"), {
    legend: { top: 0 },
    grid: { left: 60, right: 16, top: 50, bottom: 40 },
    xAxis: { type: "category", data: counties },
    yAxis: { type: "value", name: t("p50") },
    series: steps.map((s) => ({ name: t(s), type: "bar", data: counties.map((c) => latest[c][`${s}_p50`]) })),
  }, t("four_h"));
  $("four").replaceChildren(table(
    [t("county"), t("day"), t("tasks"), t("overdue"), ...steps.map((s) => `${t(s)} ${t("p50")}`)],
    f.figures.map((r) => [r.county, r.day, [r.tasks, "num"], [r.overdue, "num"], ...steps.map((s) => [r[`${s}_p50`], "num"])]),
  ));
}

function renderAppeals() {
  const a = state.appeals;
  if (a.error) return $("appeals").replaceChildren(el("p", explain(t, a.error), { class: "error" }));
  if (!a.appeals.length) return $("appeals").replaceChildren(el("p", t("no_appeals"), { class: "muted" }));
  const now = Date.now();
  $("appeals").replaceChildren(table(
    [t("created"), t("state"), t("colour"), t("deadline"), t("reason")],
    a.appeals.map((x) => [when(x.created_at), t(x.state), t(x.colour),
      [when(x.deadline_at) + (Date.parse(x.deadline_at) < now ? ` (${t("overdue")})` : ""), Date.parse(x.deadline_at) < now ? "error" : ""],
      x.reason]),
  ));
}

function fill(select, options) {
  const kept = select.value;
  select.replaceChildren(...options.map(([value, text]) => el("option", text, { value })));
  if (options.some(([v]) => v === kept)) select.value = kept;
}

function renderForm(form) {
  fill($("colour"), form.colours.map((c) => [c, t(c)]));
  fill($("basis"), form.legal_bases.map((b) => [b.code, basisText(b)]));
  fill($("evidence-kind"), form.evidence_kinds.map((k) => [k, k]));
}

async function propose(event) {
  event.preventDefault();
  const days = Math.min(14, Math.max(1, Number($("days").value) || 7));
  const body = {
    subjects: $("subjects").value.split(/\s+/).filter(Boolean),
    colour: $("colour").value,
    legal_basis: $("basis").value,
    evidence: [{ kind: $("evidence-kind").value, ref: $("evidence-ref").value.trim() }],
    expires_at: new Date(Date.now() + days * 86400_000 - 60_000).toISOString().replace(/\.\d+Z$/, "Z"),
  };
  if ($("note").value.trim()) body.note = $("note").value.trim();
  $("proposed").className = "status";
  try {
    const made = await api("/v1/decisions", { method: "POST", token, body });
    $("proposed").textContent = t("proposed_ok", { id: made.id });
    $("proposed").classList.add("ok");
    $("subjects").value = "";
  } catch (error) {
    $("proposed").textContent = explain(t, error);
    $("proposed").classList.add("error");
    return;
  }
  await load();
}

function enter(given) {
  token = given;
  for (const id of ["decided", "proposed"]) $(id).textContent = "";
  sessionStorage.setItem(KEY, token);
  $("signin").hidden = true;
  $("board").hidden = false;
  load();
}

function leave() {
  sessionStorage.removeItem(KEY);
  token = null;
  $("board").hidden = true;
  $("signin").hidden = false;
  $("token").focus();
}

$("signin").addEventListener("submit", (e) => {
  e.preventDefault();
  enter($("token").value.trim());
  $("token").value = "";
});
$("leave").addEventListener("click", leave);
$("reload").addEventListener("click", load);
$("propose").addEventListener("submit", propose);
for (const id of ["level", "hours"]) $(id).addEventListener("change", load);
$("shade").addEventListener("change", renderHeat);
setup(WORDS, () => { document.title = t("title_ops"); render(); });
document.title = t("title_ops");
if (token) enter(token);
