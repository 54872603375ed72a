// The checkpoint's scanner: a QR from the camera (the browser's BarcodeDetector where it has
// one, else jsQR), an image file or a pasted text/screenshot goes to this checkpoint's own
// POST /v1/check (the one verifier); the answer fills the screen. Works without a network:
// everything it loads is served by the checkpoint process.
import { lang, setup, t, when } from "/static/i18n.js";

const WORDS = {
  zh: {
    title: "查验 CHECKPOINT", brand: "查验 · 健康码核验", scan: "扫描被查验人的健康码",
    camera_off: "摄像头未开启", camera_on: "正在扫描……请对准二维码", camera_start: "开启摄像头扫描",
    camera_stop: "关闭摄像头", camera_denied: "无法使用摄像头：请上传图片或粘贴",
    upload: "上传图片", paste: "或粘贴码文本 / 截图", check_text: "核验文本",
    online: "联网核查（向国家平台确认是否已转码）", trust: "信任列表", trust_refresh: "从国家平台更新",
    trust_load: "从文件载入", compare: "核对证件", colour: "颜色", issuer: "签发", online_h: "联网核查",
    next: "继续扫描", pass: "通行", stop: "停止", checking: "核验中……",
    no_qr: "图片中没有找到二维码", no_trust: "未持有信任列表：本机无法核验国内健康码",
    trust_state: "第 {seq} 版，签发于 {issued}，有效至 {expires}", trust_stale: "已过期 {hours} 小时：请尽快更新",
    trust_taken: "已载入第 {seq} 版信任列表", online_off: "未联网核查", online_same: "平台确认：{colour}（当前）",
    green: "绿码", yellow: "黄码", red: "红码", none: "—",
    valid: "有效", CODE_RED: "红码：不得通行", CODE_YELLOW: "黄码：不得通行",
    CODE_SUPERSEDED: "该码已被更严格的颜色取代", CWT_EXPIRED: "码已过期", CWT_NOT_YET_VALID: "码尚未生效",
    SIGNATURE_INVALID: "签名无效：伪造或被篡改", KEY_NOT_IN_TRUST_LIST: "签发机构不在信任列表中",
    CODE_REVOKED: "该码已被撤销", KEY_REVOKED: "签发密钥已被撤销", PREFIX_UNKNOWN: "不是可识别的健康码",
    KEY_EXPIRED: "签发密钥已过期", SIGNER_RETIRED: "签发密钥已停用后签发", ISSUER_MISMATCH: "签发省份与密钥不符",
    PREFIX_INVALID: "不是可识别的健康码", COSE_MALFORMED: "码内容损坏", REVOKED: "该证书已被撤销",
    ENVELOPE_ROLLBACK: "拒绝：该信任列表比本机持有的旧（防回滚）", ENVELOPE_SIGNATURE_INVALID: "拒绝：信任列表签名无效",
    HUB_UNREACHABLE: "国家平台无法连接，仍以离线结果为准", TRUSTLIST_MALFORMED: "拒绝：不是有效的信任列表",
    BODY_TOO_LARGE: "文件过大", network: "本机核验服务无响应",
    venue: "本场所通行要求", venue_choose: "从公布的规则中选择（保存在本机）",
    venue_none: "无额外要求：按码的颜色通行", venue_now: "当前要求：{rules}",
    VENUE_RULE_UNKNOWN: "不是公布的规则", RULE_FAILED: "不符合本场所的通行要求",
  },
  en: {
    title: "CHECKPOINT · health code check", brand: "Health code check", scan: "Scan the person's health code",
    camera_off: "Camera is off", camera_on: "Scanning… point at the QR code", camera_start: "Start camera",
    camera_stop: "Stop camera", camera_denied: "No camera: upload an image or paste instead",
    upload: "Upload image", paste: "Or paste the code text / a screenshot", check_text: "Check text",
    online: "Online check (ask the national hub whether the colour changed)", trust: "Trust list",
    trust_refresh: "Update from the hub", trust_load: "Load from file", compare: "Compare with ID card",
    colour: "Colour", issuer: "Issued by", online_h: "Online check", next: "Next scan",
    pass: "PASS", stop: "STOP", checking: "Checking…", no_qr: "No QR code found in the image",
    no_trust: "No trust list held: this device cannot verify domestic codes",
    trust_state: "version {seq}, issued {issued}, valid until {expires}", trust_stale: "{hours} h out of date: update soon",
    trust_taken: "Trust list version {seq} loaded", online_off: "not asked", online_same: "hub says: {colour} (current)",
    green: "Green", yellow: "Yellow", red: "Red", none: "—",
    valid: "Valid", CODE_RED: "Red code: do not let through", CODE_YELLOW: "Yellow code: do not let through",
    CODE_SUPERSEDED: "Superseded by a stricter colour", CWT_EXPIRED: "The code has expired",
    CWT_NOT_YET_VALID: "The code is not valid yet", SIGNATURE_INVALID: "Bad signature: forged or altered",
    KEY_NOT_IN_TRUST_LIST: "The issuer is not on the trust list", CODE_REVOKED: "This code was revoked",
    KEY_REVOKED: "The issuer's key was revoked", PREFIX_UNKNOWN: "Not a known health code",
    KEY_EXPIRED: "The issuer's key has expired", SIGNER_RETIRED: "Issued after its key was retired",
    ISSUER_MISMATCH: "The issuing province does not match its key", PREFIX_INVALID: "Not a known health code",
    COSE_MALFORMED: "The code is damaged", REVOKED: "This certificate was revoked",
    ENVELOPE_ROLLBACK: "Refused: this trust list is older than the one held (rollback)",
    ENVELOPE_SIGNATURE_INVALID: "Refused: the trust list's signature is invalid",
    HUB_UNREACHABLE: "The hub cannot be reached; the offline answer stands",
    TRUSTLIST_MALFORMED: "Refused: not a trust list", BODY_TOO_LARGE: "The file is too large",
    network: "The checkpoint service does not answer",
    venue: "This venue's entry rules", venue_choose: "Choose from the published rules (kept on this device)",
    venue_none: "No extra rule: the code's colour decides", venue_now: "Now asked: {rules}",
    VENUE_RULE_UNKNOWN: "Not a published rule", RULE_FAILED: "Does not meet this venue's entry rules",
  },
};

const $ = (id) => document.getElementById(id);
const detector = "BarcodeDetector" in window ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
let stream = null;
let busy = false;
let last = null;
let trust = null;
let venue = { published: [], chosen: [] };

// -- decoding --------------------------------------------------------------------------------
async function decode(source, width, height) {
  if (detector) {
    try {
      const found = await detector.detect(source);
      if (found.length) return found[0].rawValue;
    } catch { /* fall through to jsQR */ }
  }
  const canvas = document.createElement("canvas");
  canvas.width = width; canvas.height = height;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(source, 0, 0, width, height);
  const found = window.jsQR(ctx.getImageData(0, 0, width, height).data, width, height);
  return found ? found.data : null;
}

async function decodeBlob(blob) {
  const bitmap = await createImageBitmap(blob);
  const scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
  return decode(bitmap, Math.round(bitmap.width * scale), Math.round(bitmap.height * scale));
}

// -- checking --------------------------------------------------------------------------------
async function post(path, body, type = "application/json") {
  const response = await fetch(path, { method: "POST", headers: { "Content-Type": type }, body });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw answer.error || { code: "network" };
  return answer;
}

function said(code, fallback) {
  const text = t(code);
  return text === code ? fallback || code : text;
}

function showAnswer(a) {
  const pass = a.decision === "pass";
  $("answer").className = `answer ${pass ? "pass" : "stop"}`;
  $("verdict").textContent = t(pass ? "pass" : "stop");
  const rule = venue.published.find((r) => r.id === a.venue_rule);
  $("reason").textContent = pass ? t("valid")
    : rule ? rule[`stop_${lang()}`] : said(a.reason, a.shown?.reason || a.message);
  const id = a.identity || {};
  $("identity").textContent = [id.name, id.id].filter(Boolean).join("  ") || t("none");
  $("answer-colour").textContent = a.colour ? t(a.colour) : t("none");
  $("issuer").textContent = a.issuer || t("none");
  $("answer-trust").textContent = trustText(a.trust_list);
  const online = a.online;
  $("answer-online").textContent = !online ? t("online_off")
    : online.error ? said(online.error, online.message) : t("online_same", { colour: t(online.colour) });
  $("answer-venue").textContent = venueText();
  $("answer").hidden = false;
  $("next").focus();
}

// Checks one decoded text; resolves the milliseconds from the text to the answer on screen.
async function check(text) {
  if (busy || !text) return null;
  busy = true;
  const start = performance.now();
  try {
    last = await post("/v1/check", JSON.stringify({ code: text.trim(), online: $("online").checked }));
  } catch (error) {
    last = { decision: "stop", reason: error.code || "network", message: error.message, trust_list: trust };
  }
  showAnswer(last);
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  const ms = performance.now() - start;
  $("answer").dataset.ms = ms.toFixed(1);
  return ms;
}
window.hcCheckpoint = { check };

function dismiss() {
  $("answer").hidden = true;
  busy = false;
  $(stream ? "camera" : "paste").focus();
}

// -- sources ---------------------------------------------------------------------------------
async function scanFrame() {
  if (!stream) return;
  const video = $("video");
  if (!busy && video.readyState >= 2) {
    const text = await decode(video, video.videoWidth, video.videoHeight).catch(() => null);
    if (text) await check(text);
  }
  setTimeout(scanFrame, 120);
}

async function toggleCamera() {
  if (stream) {
    stream.getTracks().forEach((track) => track.stop());
    stream = null;
    $("camera").textContent = t("camera_start");
    $("camera-state").textContent = t("camera_off");
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    $("video").srcObject = stream;
    await $("video").play();
    $("camera").textContent = t("camera_stop");
    $("camera-state").textContent = t("camera_on");
    scanFrame();
  } catch {
    stream = null;
    $("camera-state").textContent = t("camera_denied");
  }
}

async function checkImage(blob) {
  const text = await decodeBlob(blob).catch(() => null);
  if (text) return check(text);
  $("camera-state").textContent = t("no_qr");
  return null;
}

// -- the trust list --------------------------------------------------------------------------
function trustText(status) {
  if (!status) return t("no_trust");
  const base = t("trust_state", { seq: status.sequence, issued: when(status.issued), expires: when(status.expires) });
  return status.stale_by_seconds > 0
    ? `${base}. ${t("trust_stale", { hours: Math.ceil(status.stale_by_seconds / 3600) })}` : base;
}

async function showTrust() {
  const answer = await fetch("/v1/trust").then((r) => r.json()).catch(() => null);
  trust = answer ? answer.trust_list : trust;
  $("trust-state").textContent = trustText(trust);
  return answer;
}

async function trustAction(promise) {
  $("trust-result").textContent = "";
  try {
    const answer = await promise;
    if (answer.error) $("trust-result").textContent = said(answer.error, answer.message);
    else $("trust-state").dataset.taken = String(answer.sequence);
  } catch (error) {
    $("trust-result").textContent = said(error.code || "network", error.message);
  }
  await showTrust();
loadVenue();
}

// -- the venue's acceptance rules (chosen here, applied by the checkpoint to every code) ------
function venueText() {
  const names = venue.published.filter((r) => venue.chosen.includes(r.id)).map((r) => r[lang()]);
  return names.length ? t("venue_now", { rules: names.join("；") }) : t("venue_none");
}

function showVenue() {
  $("venue-state").textContent = venueText();
  const box = $("venue-rules");
  box.querySelectorAll(".rule").forEach((node) => node.remove());
  for (const rule of venue.published) {
    const row = document.createElement("div");
    row.className = "rule";
    const input = document.createElement("input");
    Object.assign(input, { type: "checkbox", id: `rule-${rule.id}`, value: rule.id, checked: venue.chosen.includes(rule.id) });
    input.addEventListener("change", chooseVenue);
    const label = document.createElement("label");
    label.htmlFor = input.id;
    label.textContent = rule[lang()];
    row.append(input, label);
    box.append(row);
  }
}

async function loadVenue() {
  venue = await fetch("/v1/venue").then((r) => r.json()).catch(() => venue);
  showVenue();
}

async function chooseVenue() {
  const rules = [...$("venue-rules").querySelectorAll("input:checked")].map((i) => i.value);
  $("venue-result").textContent = "";
  try {
    const response = await fetch("/v1/venue", { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ rules }) });
    const answer = await response.json();
    if (!response.ok) throw answer.error || { code: "network" };
    venue = answer;
  } catch (error) {
    $("venue-result").textContent = said(error.code || "network", error.message);
  }
  showVenue();
}

// -- wiring ----------------------------------------------------------------------------------
setup(WORDS, () => { showTrust(); showVenue(); if (!$("answer").hidden && last) showAnswer(last); });
$("camera").addEventListener("click", toggleCamera);
$("upload").addEventListener("change", (e) => { if (e.target.files[0]) checkImage(e.target.files[0]); e.target.value = ""; });
$("check-text").addEventListener("click", () => check($("paste").value));
$("paste").addEventListener("paste", (event) => {
  const image = [...event.clipboardData.items].find((item) => item.type.startsWith("image/"));
  if (image) { event.preventDefault(); checkImage(image.getAsFile()); }
});
$("next").addEventListener("click", dismiss);
document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !$("answer").hidden) dismiss(); });
$("trust-refresh").addEventListener("click", () => trustAction(post("/v1/trust/refresh", "{}")));
$("trust-file").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  e.target.value = "";
  if (file) await trustAction(post("/v1/trust/load", await file.arrayBuffer(), "application/octet-stream"));
});
showTrust();
loadVenue();
