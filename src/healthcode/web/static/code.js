// The code page: the signed QR in the colour of the code, renewed before it expires; the
// colour in words; reasons, when it changes by itself, what to do next; a paper code.
import { lang, setup, t, when } from "/static/i18n.js";
import { WORDS, answerOf, api, el, explain, largeType, session } from "/static/citizen-words.js";

const $ = (id) => document.getElementById(id);
const RENEW_BEFORE_MS = 60_000; // a screen code lives 5 minutes: renew one minute before
const RETRY_MS = 15_000;
let current = null;
let timer = null;

const token = session.get();
if (!token) location.replace("/sign-in");
// A family member's code (family.js): ?held=<holding id>, shown with a banner naming them.
const held = new URLSearchParams(location.search).get("held");
const base = held ? `/v1/me/held/${encodeURIComponent(held)}` : "/v1/me";

function badgeText(badge) {
  const doses = /^vaccine-(\d)$/.exec(badge);
  return doses ? t("vaccine", { n: doses[1] }) : t(badge);
}

function reasonText(reason) {
  const text = reason[lang()] || reason.zh || reason.code;
  return reason.until ? text + t("reason_until", { time: when(reason.until) }) : text;
}

function nextSteps(code) {
  const steps = code.reasons.map((r) => r.follow_up?.[lang()]).filter(Boolean);
  return steps.length ? [...new Set(steps)] : [t("nothing_next")];
}

let shownCode = null;

function render() {
  if (!current) return;
  const code = current;
  document.body.classList.remove("green", "yellow", "red");
  document.body.classList.add(code.colour);
  $("colour-words").replaceChildren(
    el("span", t(code.colour), { class: "big" }), " ", el("span", t(`${code.colour}_say`), { class: "say" }),
  );
  if (held) $("held-for").textContent = t("holding_for", { name: code.masked_name });
  $("name").textContent = code.masked_name;
  $("id").textContent = code.masked_id;
  const image = $("qr-image");
  // A renewed code keeps its serial (the serial names the colour state), so the QR is
  // redrawn whenever the code itself is another one.
  if (shownCode !== code.code) {
    image.innerHTML = code.qr_svg; // drawn by the province (segno), no script inside
    image.dataset.serial = code.serial;
    image.dataset.renewals = String(Number(image.dataset.renewals ?? -1) + 1);
    shownCode = code.code;
  }
  image.setAttribute("aria-label", t("qr_label", { colour: t(code.colour) }));
  const expired = Date.parse(code.expires_at) <= Date.now();
  $("card").classList.toggle("expired", expired);
  $("validity").textContent = expired ? t("expired") : t("valid_until", { time: when(code.expires_at) });
  $("badges").setAttribute("aria-label", t("badges"));
  $("badges").replaceChildren(...code.badges.map((b) => el("li", badgeText(b))));
  const reasons = code.reasons.map((r) => el("li", reasonText(r)));
  $("reasons").replaceChildren(...(reasons.length ? reasons : [el("li", t("no_reasons"))]));
  $("until").textContent = code.until ? t("until", { time: when(code.until) }) : t("no_until");
  $("next").replaceChildren(...nextSteps(code).map((s) => el("li", s)));
  $("main").setAttribute("aria-busy", "false");
}

function signInAgain() {
  session.clear();
  location.replace("/sign-in");
}

async function load() {
  clearTimeout(timer);
  try {
    // the first answer was asked by the page's head while this module loaded (code.html)
    const first = window.hcFirstCode;
    window.hcFirstCode = undefined;
    current = await (first ? answerOf(first) : api(`${base}/code/qr?medium=screen`, { token }));
    const firstTime = !performance.getEntriesByName("hc-code-shown").length;
    if (firstTime) performance.mark("hc-code-answer"); // bench/pages_bench.py splits the wait here
    $("error").textContent = "";
    render();
    if (firstTime) performance.mark("hc-code-shown");
    const wait = Date.parse(current.expires_at) - Date.now() - RENEW_BEFORE_MS;
    timer = setTimeout(load, Math.max(5_000, wait));
  } catch (error) {
    if (error.code === "SESSION_INVALID" || error.code === "PERSON_TOKEN_INVALID") return signInAgain();
    if (error.code === "HOLD_UNKNOWN") { // the holding ended: show no code of theirs any more
      current = null;
      $("qr-image").replaceChildren();
      $("error").textContent = explain(t, error);
      return;
    }
    $("error").textContent = error.code === "NETWORK" ? t("offline") : explain(t, error);
    render(); // still shows the held code, greyed out once it has expired
    timer = setTimeout(load, RETRY_MS);
  }
}

async function printPaper() {
  try {
    const response = await fetch(`${base}/paper`, { headers: { Authorization: `Bearer ${token}` } });
    if (!response.ok) throw { code: `HTTP_${response.status}` };
    $("paper-image").innerHTML = await response.text();
    $("paper").hidden = false;
    document.body.classList.add("printing");
    $("paper-close").focus();
    window.print();
  } catch (error) {
    $("error").textContent = explain(t, error.code ? error : { code: "NETWORK" });
  }
}

const showLarge = largeType(t);
setup(WORDS, () => { showLarge(); render(); });
showLarge();
$("refresh").addEventListener("click", load);
$("print").addEventListener("click", printPaper);
$("paper-close").addEventListener("click", () => {
  $("paper").hidden = true;
  document.body.classList.remove("printing");
  $("print").focus();
});
$("sign-out").addEventListener("click", async () => {
  await api("/v1/sign-out", { method: "POST", token }).catch(() => {});
  signInAgain();
});
if (held) {
  $("held-bar").hidden = false;
  document.body.classList.add("held");
}
setInterval(render, 30_000); // the expiry line stays true even without a renewal
if (token) load();
