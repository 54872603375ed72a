// The citizen pages' words, Chinese and English, and what both pages share (large type,
// the session kept for this tab, the API's errors in plain words).
export const WORDS = {
  zh: {
    brand: "健康码", large: "大字", large_off: "标准字",
    heading: "登录查看您的健康码",
    intro: "请输入申领健康码时填写的证件号码和手机号码，我们将向该手机发送验证码。",
    id_number: "证件号码", id_hint: "居民身份证 18 位", phone: "手机号码", send: "获取验证码",
    sent: "如信息与申领记录一致，验证码已发送到该手机，5 分钟内有效。",
    code: "验证码（6 位数字）", sign_in: "登录", again: "重新获取",
    help: "没有申领过健康码？请先申领。需要帮助请拨打 12320 卫生热线。",
    name: "姓名", id: "证件", why: "为什么是这个颜色", next: "接下来怎么做",
    call: "有疑问请拨打 12320 卫生热线，或联系所在社区（网格员）。",
    refresh: "刷新", print: "打印纸质码", sign_out: "退出登录", paper: "纸质健康码", close: "关闭",
    green: "绿码", yellow: "黄码", red: "红码",
    green_say: "可以通行", yellow_say: "须核酸检测，限制出行", red_say: "须隔离，不得通行",
    valid_until: "二维码有效至 {time}，到期前自动刷新", expired: "二维码已过期，正在刷新……",
    offline: "暂时无法刷新（网络不可用），稍后自动重试",
    until: "如无新情况，将于 {time} 自动转为新的颜色。", no_until: "此颜色无到期时间，情况变化时随时更新。",
    reason_until: "（至 {time}）", nothing_next: "保持绿码：按要求做好个人防护，按时核酸检测。",
    no_reasons: "未命中任何转码规则。",
    badges: "标记", "nat-24h": "24小时内核酸阴性", "nat-48h": "48小时内核酸阴性",
    "nat-72h": "72小时内核酸阴性", "nat-7d": "7天内核酸阴性", vaccine: "已接种疫苗 {n} 剂",
    "pending-check": "待核查",
    qr_label: "{colour}二维码，供查验人员扫描",
    err_network: "网络不可用，请稍后再试。", err_unknown: "出错了（{code}），请稍后再试。",
    SIGN_IN_CODE_INVALID: "验证码不正确或已过期，请重新输入或重新获取。",
    SIGN_IN_LOCKED: "失败次数过多，已暂时锁定，请 {minutes} 分钟后再试。",
    SIGN_IN_RATE_LIMITED: "获取验证码过于频繁，请 {minutes} 分钟后再试。",
    PHONE_INVALID: "请输入正确的手机号码。", ID_CHECK_DIGIT: "证件号码有误（校验位不符）。",
    ID_LENGTH: "身份证号码应为 18 位。", ID_FORMAT: "证件号码格式有误。", ID_BIRTH_DATE: "证件号码中的出生日期有误。",
    ID_REGION_UNKNOWN: "证件号码中的地区码有误。", FIELD_MISSING: "请填写所有项目。",
    SESSION_INVALID: "登录已过期，请重新登录。", PERSON_TOKEN_INVALID: "登录已过期，请重新登录。",
  },
  en: {
    title: "My health code", brand: "Health code", large: "Large type", large_off: "Normal type",
    heading: "Sign in to see your health code",
    intro: "Enter the ID number and phone number you applied with; we will text a code to that phone.",
    id_number: "ID number", id_hint: "Resident ID card: 18 characters", phone: "Phone number",
    send: "Send me a code",
    sent: "If these match an application, a code was sent to that phone. It is valid for 5 minutes.",
    code: "Code (6 digits)", sign_in: "Sign in", again: "Send a new code",
    help: "Never applied? Apply first. For help call the 12320 health hotline.",
    name: "Name", id: "ID", why: "Why this colour", next: "What to do next",
    call: "Questions: call the 12320 health hotline, or your community (grid worker).",
    refresh: "Refresh", print: "Print a paper code", sign_out: "Sign out", paper: "Paper health code",
    close: "Close",
    green: "Green code", yellow: "Yellow code", red: "Red code",
    green_say: "you may pass", yellow_say: "take a NAT test; limited travel",
    red_say: "isolate; do not pass",
    valid_until: "QR valid until {time}; it renews itself before then", expired: "This QR has expired; renewing…",
    offline: "Cannot renew now (no network); trying again shortly",
    until: "Unless something new happens, the colour changes by itself at {time}.",
    no_until: "This colour has no end time; it changes when your situation does.",
    reason_until: " (until {time})", nothing_next: "Stay green: protect yourself and take NAT tests as asked.",
    no_reasons: "No colour rule applies to you.",
    badges: "Badges", "nat-24h": "Negative NAT within 24 h", "nat-48h": "Negative NAT within 48 h",
    "nat-72h": "Negative NAT within 72 h", "nat-7d": "Negative NAT within 7 days",
    vaccine: "{n} vaccine doses", "pending-check": "Check pending",
    qr_label: "{colour} QR code, for checkpoint staff to scan",
    err_network: "No network. Please try again later.", err_unknown: "Something went wrong ({code}). Please try again.",
    SIGN_IN_CODE_INVALID: "The code is wrong or has expired. Type it again or ask for a new one.",
    SIGN_IN_LOCKED: "Too many failed tries: locked. Try again in {minutes} minutes.",
    SIGN_IN_RATE_LIMITED: "Too many codes asked. Try again in {minutes} minutes.",
    PHONE_INVALID: "Enter a valid phone number.", ID_CHECK_DIGIT: "The ID number is wrong (check digit).",
    ID_LENGTH: "A resident ID number has 18 characters.", ID_FORMAT: "The ID number is not in a valid form.",
    ID_BIRTH_DATE: "The birth date in the ID number is not valid.",
    ID_REGION_UNKNOWN: "The region code in the ID number is not valid.", FIELD_MISSING: "Please fill in every field.",
    SESSION_INVALID: "Your sign-in has expired. Please sign in again.",
    PERSON_TOKEN_INVALID: "Your sign-in has expired. Please sign in again.",
  },
};
WORDS.zh.title = "我的健康码";

const SESSION = "hc-session";
export const session = {
  get: () => sessionStorage.getItem(SESSION),
  set: (token) => sessionStorage.setItem(SESSION, token),
  clear: () => sessionStorage.removeItem(SESSION),
};

// Large type for older users, kept between visits; the button says what it does now.
export function largeType(t) {
  const button = document.getElementById("large");
  const show = () => {
    const on = localStorage.getItem("hc-large") === "1";
    document.documentElement.classList.toggle("large", on);
    button.setAttribute("aria-pressed", String(on));
    button.textContent = t(on ? "large_off" : "large");
  };
  button.addEventListener("click", () => {
    localStorage.setItem("hc-large", localStorage.getItem("hc-large") === "1" ? "0" : "1");
    show();
  });
  return show;
}

// Calls the province's API; resolves the JSON answer or rejects with {code, retryAfter}.
export async function api(path, { method = "GET", body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw { code: "NETWORK" };
  }
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw { code: answer?.error?.code || `HTTP_${response.status}`, retryAfter: Number(response.headers.get("Retry-After") || 0) };
  }
  return answer;
}

export function explain(t, error) {
  if (error.code === "NETWORK") return t("err_network");
  const minutes = Math.max(1, Math.ceil((error.retryAfter || 60) / 60));
  const text = t(error.code, { minutes });
  return text === error.code ? t("err_unknown", { code: error.code }) : text;
}
