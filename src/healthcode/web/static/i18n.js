// Chinese by default, English on request: a small dictionary per page, no framework.
// Elements name their text with data-i18n="key" (text) and data-i18n-attr="attr:key;..."
// (attributes such as aria-label or placeholder); the choice is kept in localStorage.
const KEY = "hc-lang";
let dict = { zh: {}, en: {} };

export function lang() {
  const chosen = localStorage.getItem(KEY);
  return chosen === "en" ? "en" : "zh";
}

export function t(key, vars = {}) {
  const text = dict[lang()][key] ?? dict.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : ""));
}

export function apply(root = document) {
  document.documentElement.lang = lang() === "en" ? "en" : "zh-CN";
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":");
      el.setAttribute(attr, t(key));
    }
  }
  if (dict[lang()].title) document.title = t("title");
}

// Wires the language button (id="lang"): it names the other language, in that language.
export function setup(dictionary, onChange = () => {}) {
  dict = dictionary;
  const button = document.getElementById("lang");
  const label = () => {
    const other = lang() === "zh" ? "en" : "zh";
    button.textContent = other === "en" ? "English" : "中文";
    button.lang = other === "en" ? "en" : "zh-CN";
    button.setAttribute("aria-label", other === "en" ? "Switch to English" : "切换到中文");
  };
  button.addEventListener("click", () => {
    localStorage.setItem(KEY, lang() === "zh" ? "en" : "zh");
    apply();
    label();
    onChange();
  });
  apply();
  label();
}

// A time in China Standard Time, as the rules speak of it: "5月3日 14:00" / "3 May, 14:00".
// China keeps UTC+8 all year (no daylight saving since 1991), so the time is the instant moved
// by eight hours and read in UTC. This is what a user waits for on the code page: the first
// Intl.DateTimeFormat with a time zone loads the time zone data, 25-45 ms of script (100-180
// ms on a mid-range phone), docs/benchmarks.md. `whenByIntl` is the plain reference it must
// always equal (tests/pages/test_citizen_records.py compares them over many instants).
const CST_MS = 8 * 3600 * 1000;
// en-GB short months (CLDR: "Sept")
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sept", "Oct", "Nov", "Dec"];
const two = (n) => String(n).padStart(2, "0");

export function when(iso) {
  if (!iso) return "";
  const t = new Date(Date.parse(iso) + CST_MS);
  const time = `${two(t.getUTCHours())}:${two(t.getUTCMinutes())}`;
  return lang() === "en"
    ? `${t.getUTCDate()} ${MONTHS[t.getUTCMonth()]}, ${time}`
    : `${t.getUTCMonth() + 1}月${t.getUTCDate()}日 ${time}`;
}

export function whenByIntl(iso) {
  if (!iso) return "";
  return new Intl.DateTimeFormat(lang() === "en" ? "en-GB" : "zh-CN", {
    timeZone: "Asia/Shanghai", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", hour12: false,
  }).format(new Date(iso));
}
