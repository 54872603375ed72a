// The history page: each colour change with its reasons, its inclusion in the province's
// colour log checked here against the log's checkpoint (merkle.js), and the appeals.
import { lang, setup, t, when } from "/static/i18n.js";
import { WORDS, api, el, explain, largeType, session } from "/static/citizen-words.js";
import { fromBase64, parseCheckpoint, verifyInclusion } from "/static/merkle.js";

const $ = (id) => document.getElementById(id);
const token = session.get();
if (!token) location.replace("/sign-in");

let log = null; // {subject, checkpoint, leaves}
let checked = []; // per leaf: "verified" | "failed" | "pending"
let reasons = {};
let appeals = [];

// A leaf is shown from the bytes the proof covers, never from a second copy beside them.
function decoded(entry) {
  try {
    const leaf = JSON.parse(new TextDecoder().decode(fromBase64(entry.data)));
    return leaf && typeof leaf === "object" ? leaf : null;
  } catch {
    return null;
  }
}

async function check(answer) {
  const cp = parseCheckpoint(answer.checkpoint);
  return Promise.all(answer.leaves.map(async (entry) => {
    const leaf = decoded(entry);
    if (!leaf || leaf.subject !== answer.subject) return "failed";
    if (!entry.proof) return "pending";
    if (!cp) return "failed";
    const ok = await verifyInclusion(entry.index, cp.size, fromBase64(entry.data), entry.proof, cp.root)
      .catch(() => false);
    return ok ? "verified" : "failed";
  }));
}

function reasonWords(id) {
  return reasons[id]?.[lang()] || reasons[id]?.zh || id;
}

function change(entry, state) {
  const leaf = decoded(entry) || {};
  const item = el("li", undefined, { class: `change ${leaf.colour || ""}`, "data-state": state });
  item.append(
    el("p", undefined, { class: "change-head" }),
    el("ul", undefined, { class: "change-reasons" }),
    el("p", t(`proof_${state}`, { index: entry.index + 1, size: parseCheckpoint(log.checkpoint)?.size ?? 0 }),
      { class: `proof ${state}` }),
  );
  item.firstChild.append(el("strong", t(leaf.colour || "unknown")), " ", el("span", when(leaf.at)));
  const why = (leaf.reasons || []).map((r) => el("li", reasonWords(r)));
  if (leaf.basis === "decision") why.push(el("li", t("by_decision", { id: leaf.decision })));
  item.children[1].replaceChildren(...(why.length ? why : [el("li", t("no_reasons"))]));
  return item;
}

function render() {
  if (log) {
    const cp = parseCheckpoint(log.checkpoint);
    $("log-state").textContent = cp ? t("log_state", { size: cp.size, origin: cp.origin }) : t("log_none");
    const items = log.leaves.map((entry, i) => change(entry, checked[i])).reverse(); // newest first
    $("changes").replaceChildren(...(items.length ? items : [el("li", t("history_empty"))]));
  }
  $("appeals").replaceChildren(...(appeals.length ? appeals.map(appealItem) : [el("li", t("appeals_empty"))]));
  $("main").setAttribute("aria-busy", "false");
}

function appealItem(a) {
  const item = el("li", undefined, { class: `appeal ${a.state}` });
  item.append(
    el("p", undefined),
    el("p", a.reason, { class: "quote" }),
  );
  item.firstChild.append(el("strong", t(`appeal_${a.state}`)), " ", el("span", t("appeal_filed", { time: when(a.created_at) })));
  if (a.answer) item.append(el("p", t("appeal_answer", { text: a.answer })));
  else if (a.deadline_at) item.append(el("p", t("appeal_deadline", { time: when(a.deadline_at) }), { class: "hint" }));
  return item;
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
    const [answer, words, mine] = await Promise.all([
      api("/v1/me/log", { token }),
      api("/v1/rules/reasons").catch(() => ({ reasons: {} })),
      api("/v1/me/appeals", { token }),
    ]);
    reasons = words.reasons;
    appeals = mine.appeals;
    checked = await check(answer);
    log = answer;
    render();
  } catch (error) {
    failed(error);
  }
}

async function fileAppeal(event) {
  event.preventDefault();
  const reason = $("reason").value.trim();
  const evidence = $("evidence").value.split("\n").map((s) => s.trim()).filter(Boolean);
  if (!reason) {
    $("reason").setAttribute("aria-invalid", "true");
    $("error").textContent = t("FIELD_MISSING");
    $("reason").focus();
    return;
  }
  $("reason").removeAttribute("aria-invalid");
  try {
    const appeal = await api("/v1/me/appeals", { method: "POST", body: { reason, evidence }, token });
    appeals = [appeal, ...appeals.filter((a) => a.id !== appeal.id)];
    $("appeal-form").reset();
    $("error").textContent = "";
    $("appeal-done").textContent = t("appeal_sent", { time: when(appeal.deadline_at) });
    render();
  } catch (error) {
    failed(error);
  }
}

const showLarge = largeType(t);
setup(WORDS, () => { showLarge(); render(); });
showLarge();
$("appeal-form").addEventListener("submit", fileAppeal);
if (token) load();
