// The public rules page: the rule set in use (or a version named by ?digest=), rule by rule;
// the difference between two versions (?from=&to=); the risk areas the province holds.
import { lang, setup, t, when } from "/static/i18n.js";
import { WORDS, api, el, explain, table } from "/static/ops-words.js";

const $ = (id) => document.getElementById(id);
const query = new URLSearchParams(location.search);
let shown = null;
let difference = null;
let areas = null;

const text = (pair) => (pair ? pair[lang()] || pair.zh || "" : "");
const effect = (e) => el("span", t(e), { class: `word-${e}` });

function renderHead(rs, answer) {
  const rows = [
    ["version", `${rs.id} ${rs.version}${answer.in_use ? t("in_use") : ""}`],
    ["digest", rs.digest],
    ["valid_from", when(rs.valid_from)],
    ["legal_basis", rs.legal_basis],
    ["overlays", rs.overlays.length ? rs.overlays.join(", ") : t("no_overlay")],
  ];
  $("head").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", t(k)), el("dd", v)]));
  const title = el("dd", text(rs.title));
  $("head").prepend(el("dt", t("title_rules")), title);
}

function ruleItem(r) {
  const item = el("article", undefined, { class: "item", "aria-labelledby": `rule-${r.id}` });
  const h = el("h3", undefined, { id: `rule-${r.id}` });
  h.append(effect(r.effect), ` · ${r.id} v${r.version}`);
  const list = el("dl");
  const follow = r.follow_up ? text(r.follow_up) : "";
  const rows = [["reason", lang() === "en" ? r.reason_en : r.reason_zh], ["legal_basis", r.legal_basis], ["origin", r.origin]];
  if (follow) rows.push(["follow_up", follow]);
  for (const [k, v] of rows) list.append(el("dt", t(k)), el("dd", v));
  const details = el("details");
  details.append(el("summary", t("condition")), el("pre", JSON.stringify({ if: r.condition, until: r.until, starts: r.starts }, null, 1)));
  item.append(h, list, details);
  return item;
}

function renderRules() {
  if (!shown) return;
  const rs = shown.ruleset;
  renderHead(rs, shown);
  $("params").replaceChildren(table(
    [t("param"), t("value"), t("source")],
    Object.entries(rs.parameters).map(([name, p]) => [name, [`${p.value} ${p.unit}`, "num"], p.source]),
  ));
  $("rules").replaceChildren(...rs.rules.map(ruleItem));
  const options = shown.versions.map((v) => [v.digest, `${v.label} · ${when(v.first_used_at)}`]);
  for (const [id, pick] of [["from", 1], ["to", 0]]) {
    const select = $(id);
    const kept = select.value || query.get(id) || options[Math.min(pick, options.length - 1)]?.[0];
    select.replaceChildren(...options.map(([value, label]) => el("option", label, { value })));
    if (kept) select.value = kept;
  }
}

const shownValue = (v) => (typeof v === "string" ? v : JSON.stringify(v));

function change(from, to) {
  const box = el("span");
  box.append(el("del", shownValue(from)), " → ", el("ins", shownValue(to)));
  return box;
}

function renderDiff() {
  const box = $("diff");
  if (!difference) return box.replaceChildren();
  const d = difference;
  const parts = [];
  const p = d.parameters;
  const r = d.rules;
  if (!d.head.length && !p.added.length && !p.removed.length && !p.changed.length && !r.added.length && !r.removed.length && !r.changed.length) {
    return box.replaceChildren(el("p", t("no_diff"), { class: "muted" }));
  }
  if (d.head.length) {
    parts.push(el("h3", t("head_changes")), table([t("field"), t("changed")], d.head.map((c) => [c.field, change(c.from, c.to).textContent])));
  }
  const params = [
    ...p.changed.map((c) => [c.name, t("changed"), `${c.from.value} → ${c.to.value} ${c.to.unit}`]),
    ...p.added.map((c) => [c.name, t("added"), `${c.value} ${c.unit}`]),
    ...p.removed.map((c) => [c.name, t("removed"), `${c.value} ${c.unit}`]),
  ];
  if (params.length) parts.push(el("h3", t("param_changes")), table([t("param"), t("state"), t("value")], params));
  if (r.added.length || r.removed.length || r.changed.length) parts.push(el("h3", t("rule_changes")));
  for (const rule of r.changed) {
    const item = el("article", undefined, { class: "item changed-rule" });
    item.append(el("h3", `${t("changed")} · ${rule.id}`));
    const list = el("dl");
    for (const f of rule.fields) {
      const dd = el("dd");
      dd.append(change(f.from, f.to));
      list.append(el("dt", f.field), dd);
    }
    item.append(list);
    parts.push(item);
  }
  for (const [label, rules] of [["added", r.added], ["removed", r.removed]]) {
    for (const rule of rules) {
      const item = ruleItem(rule);
      item.querySelector("h3").prepend(`${t(label)} · `);
      parts.push(item);
    }
  }
  box.replaceChildren(...parts);
}

function renderAreas() {
  if (!areas) return;
  if (!areas.areas.length) return $("areas").replaceChildren(el("p", t("no_areas"), { class: "muted" }));
  $("areas").replaceChildren(table(
    [t("region"), t("level"), t("state"), t("valid_from"), t("until")],
    areas.areas.map((a) => [a.region, t(a.level), t(a.state), when(a.from), a.until ? when(a.until) : "–"]),
  ));
}

function render() {
  document.title = t("title_rules");
  renderRules();
  renderDiff();
  renderAreas();
}

async function compare(event) {
  event?.preventDefault();
  const from = $("from").value;
  const to = $("to").value;
  if (!from || !to) return;
  try {
    difference = await api(`/v1/rules/diff?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    history.replaceState(null, "", `?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
  } catch (error) {
    $("error").textContent = explain(t, error);
    return;
  }
  renderDiff();
}

async function start() {
  setup(WORDS, render);
  try {
    const digest = query.get("digest");
    [shown, areas] = await Promise.all([
      api(digest ? `/v1/rules?digest=${encodeURIComponent(digest)}` : "/v1/rules"),
      api("/v1/risk-areas"),
    ]);
  } catch (error) {
    $("error").textContent = explain(t, error);
    return;
  }
  render();
  if (query.get("from") && query.get("to")) await compare();
}

$("compare").addEventListener("submit", compare);
start();
