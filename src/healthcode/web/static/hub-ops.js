// The national dashboard: bulk-decision alerts, records received per department and hour,
// colour states reported per province and hour, each province's feed lag (the hub's
// operator token; its staff-only JSON API).
import { lang, setup, t, when } from "/static/i18n.js";
import { WORDS, api, chart, el, explain, hourLabel, table } from "/static/ops-words.js";

const $ = (id) => document.getElementById(id);
const KEY = "hc-operator";
let token = sessionStorage.getItem(KEY);
let state = null;

async function load() {
  const asked = {
    alerts: api("/v1/alerts", { token }),
    ingest: api("/v1/ops/ingest?hours=24", { token }),
    reports: api("/v1/ops/reports?hours=24", { token }),
    feeds: api("/v1/ops/feeds", { token }),
  };
  const got = {};
  for (const [name, promise] of Object.entries(asked)) {
    try {
      got[name] = await promise;
    } catch (error) {
      got[name] = { error };
    }
  }
  const failed = Object.values(got).find((g) => g.error);
  $("error").textContent = failed ? explain(t, failed.error) : "";
  if (failed?.error.code === "OPERATOR_TOKEN_INVALID") return leave();
  state = got;
  render();
}

function render() {
  document.title = t("title_hub");
  if (!state) return;
  renderAlerts();
  renderIngest();
  renderReports();
  renderFeeds();
}

function renderAlerts() {
  const a = state.alerts;
  if (a.error) return;
  if (!a.alerts.length) return $("alerts").replaceChildren(el("p", t("no_alerts"), { class: "muted" }));
  $("alerts").replaceChildren(table(
    [t("at"), t("kind"), t("province"), t("people"), t("colour"), t("basis"), t("staff")],
    a.alerts.map((x) => [when(x.at), t(x.kind), x.province ?? x.org ?? "", [x.subjects, "num"],
      x.colour ? t(x.colour) : "–", x.legal_basis ?? "–", `${x.staff ?? ""} ${(x.roles || []).join(",")}`]),
  ));
}

function renderIngest() {
  const g = state.ingest;
  if (g.error) return;
  const hours = g.hours.map((h) => hourLabel(h, lang()));
  chart($("ingest-chart"), {
    legend: { top: 0, type: "scroll" },
    grid: { left: 40, right: 16, top: 40, bottom: 40 },
    xAxis: { type: "category", data: hours },
    yAxis: { type: "value" },
    series: g.departments.map((d) => ({ name: d.org, type: "bar", stack: "in", data: d.counts })),
  }, `${t("ingest_h")}: ${g.departments.map((d) => `${d.org} ${d.total}`).join("; ")}`);
  $("ingest").replaceChildren(table(
    [t("department"), t("kind"), t("region"), t("total")],
    g.departments.map((d) => [d.org, d.kind, d.region_code, [d.total, "num"]]),
  ));
}

function renderReports() {
  const r = state.reports;
  if (r.error) return;
  const hours = r.hours.map((h) => hourLabel(h, lang()));
  chart($("reports-chart"), {
    legend: { top: 0, type: "scroll" },
    grid: { left: 40, right: 48, top: 50, bottom: 40 },
    xAxis: { type: "category", data: hours },
    yAxis: [{ type: "value" }, { type: "value", name: t("report_delay") }],
    series: [
      ...r.provinces.map((p) => ({ name: p.province, type: "bar", stack: "r", data: p.counts })),
      { name: t("report_delay"), type: "line", yAxisIndex: 1, color: "#0b4f9c", data: r.mean_seconds },
    ],
  }, `${t("reports_h")}: ${r.provinces.map((p) => `${p.province} ${p.counts.reduce((a, b) => a + b, 0)}`).join("; ")}`);
}

function renderFeeds() {
  const f = state.feeds;
  if (f.error) return;
  chart($("feeds-chart"), {
    grid: { left: 60, right: 16, top: 20, bottom: 40 },
    xAxis: { type: "category", data: f.provinces.map((p) => p.province) },
    yAxis: { type: "value", name: t("lag") },
    series: [{ name: t("lag"), type: "bar", color: "#a8141a", data: f.provinces.map((p) => p.lag_seconds) }],
  }, `${t("feeds_h")}: ${f.provinces.map((p) => `${p.province} ${p.lag_seconds ?? "–"}`).join("; ")}`);
  $("feeds").replaceChildren(table(
    [t("province"), t("last_seq"), t("read_after"), t("waiting_n"), t("lag"), t("read_at")],
    f.provinces.map((p) => [p.province, [p.last_seq, "num"], [p.read_after, "num"], [p.waiting, "num"],
      [p.lag_seconds === null ? "–" : p.lag_seconds.toFixed(1), "num"], p.read_at ? when(p.read_at) : t("never_read")]),
  ));
}

function enter(given) {
  token = given;
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
}

$("signin").addEventListener("submit", (e) => {
  e.preventDefault();
  enter($("token").value.trim());
  $("token").value = "";
});
$("leave").addEventListener("click", leave);
$("reload").addEventListener("click", load);
setup(WORDS, render);
document.title = t("title_hub");
if (token) enter(token);
