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
    my_code: "我的健康码", records: "记录与申诉", family: "家人的码", pages: "页面",
    history: "颜色变化记录",
    history_intro: "每次颜色变化都记入本省的颜色日志。本页用日志的签名检查点逐条验证：记录确实在日志中，未被改动。",
    log_state: "颜色日志检查点：共 {size} 条（{origin}）", log_none: "颜色日志尚无检查点。",
    history_empty: "暂无颜色变化记录。", unknown: "未知颜色",
    proof_verified: "✓ 已验证：在颜色日志中（第 {index} 条，共 {size} 条）",
    proof_failed: "✗ 未通过验证：此记录与日志不符",
    proof_pending: "… 尚未收录：等待下一次日志签署", by_decision: "人工赋码决定 {id}",
    appeal: "对颜色有异议？提出申诉", appeal_reason: "申诉理由",
    appeal_reason_hint: "请说明哪条记录有误、为什么（最多 1000 字）。",
    appeal_evidence: "证明材料编号（可选，每行一个）", appeal_evidence_hint: "如检测报告编号、机构名称，最多 5 个。",
    appeal_send: "提交申诉", appeals: "我的申诉", appeals_empty: "暂无申诉。",
    appeal_sent: "申诉已提交，将在 {time} 前答复。", appeal_filed: "提交于 {time}",
    appeal_deadline: "答复期限：{time}", appeal_answer: "答复：{text}",
    appeal_open: "待处理", appeal_escalated: "已逾期，已升级处理", appeal_correcting: "正在更正",
    appeal_corrected: "已更正", appeal_rejected: "已驳回",
    APPEAL_LIMIT: "未答复的申诉已达上限，请等待答复。", TEXT_TOO_LONG: "内容过长。", TEXT_INVALID: "内容含有不允许的字符。",
    held: "我代为出示的家人",
    held_intro: "为没有智能手机的老人、孩子出示健康码。须经本人同意：验证码发到对方申领时登记的手机（孩子为监护人手机）。",
    held_empty: "尚未添加家人。", add: "添加家人", their_id: "家人的证件号码",
    their_phone: "家人申领时登记的手机号码", ask_consent: "向家人发送同意验证码",
    consent_sent: "如信息与申领记录一致，验证码已发到家人手机。请家人把验证码告诉您（5 分钟内有效）。",
    consent_code: "家人告诉您的验证码（6 位数字）", confirm_hold: "确认添加",
    hold_done: "已添加：{name}", since: "自 {time} 起", show_code: "出示健康码",
    show_code_of: "出示 {name} 的健康码", stop_holding: "不再代为出示",
    stop_holding_of: "不再代为出示 {name} 的健康码", holders: "谁在代我出示",
    holders_empty: "没有人代您出示健康码。", end_holder: "取消", end_holder_of: "取消 {name} 代我出示",
    holding_for: "正在代 {name} 出示健康码", back_family: "返回家人列表",
    HOLD_CODE_INVALID: "验证码不正确或已过期，请重新获取。",
    HOLD_RATE_LIMITED: "发送验证码过于频繁，请 {minutes} 分钟后再试。",
    HOLD_LOCKED: "验证码错误次数过多，请 {minutes} 分钟后再试。", HOLD_SELF: "不能添加自己。",
    HOLD_LIMIT: "已达上限：每人最多代 5 位家人出示，每人最多由 3 位家人代为出示。",
    HOLD_UNKNOWN: "您已不再代此人出示健康码。",
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
    my_code: "My health code", records: "History and appeals", family: "Family codes", pages: "Pages",
    history: "Colour changes",
    history_intro: "Every colour change is written to the province's colour log. This page checks each one against the log's signed checkpoint: it is in the log, unchanged.",
    log_state: "Colour log checkpoint: {size} entries ({origin})", log_none: "The colour log has no checkpoint yet.",
    history_empty: "No colour changes yet.", unknown: "Unknown colour",
    proof_verified: "✓ Verified: in the colour log (entry {index} of {size})",
    proof_failed: "✗ Not verified: this entry does not match the log",
    proof_pending: "… Not in the log yet: waiting for its next checkpoint", by_decision: "manual decision {id}",
    appeal: "Disagree with your colour? Appeal", appeal_reason: "Why you appeal",
    appeal_reason_hint: "Say which record is wrong and why (at most 1000 characters).",
    appeal_evidence: "Evidence references (optional, one a line)",
    appeal_evidence_hint: "A test report's number, a lab's name...: at most 5.",
    appeal_send: "Send the appeal", appeals: "My appeals", appeals_empty: "No appeals.",
    appeal_sent: "Appeal sent; it will be answered by {time}.", appeal_filed: "sent {time}",
    appeal_deadline: "Answer due by {time}", appeal_answer: "Answer: {text}",
    appeal_open: "Waiting for an answer", appeal_escalated: "Overdue: passed to a supervisor",
    appeal_correcting: "Being corrected", appeal_corrected: "Corrected", appeal_rejected: "Rejected",
    APPEAL_LIMIT: "You have as many unanswered appeals as allowed; wait for an answer.",
    TEXT_TOO_LONG: "The text is too long.", TEXT_INVALID: "The text has characters that are not allowed.",
    held: "Family members whose codes I show",
    held_intro: "Show the code of an older parent or a child without a smartphone. They must agree: a code goes to the phone they applied with (a child's: the guardian's).",
    held_empty: "No family members yet.", add: "Add a family member", their_id: "Their ID number",
    their_phone: "The phone number they applied with", ask_consent: "Send them a consent code",
    consent_sent: "If these match an application, a code was sent to their phone. Ask them to read it to you (valid 5 minutes).",
    consent_code: "The code they read to you (6 digits)", confirm_hold: "Add",
    hold_done: "Added: {name}", since: "since {time}", show_code: "Show their code",
    show_code_of: "Show the code of {name}", stop_holding: "Stop showing",
    stop_holding_of: "Stop showing the code of {name}", holders: "Who shows my code",
    holders_empty: "Nobody shows your code for you.", end_holder: "End", end_holder_of: "End {name} showing my code",
    holding_for: "Showing the health code of {name}", back_family: "Back to family",
    HOLD_CODE_INVALID: "The code is wrong or has expired. Ask for a new one.",
    HOLD_RATE_LIMITED: "Too many codes asked. Try again in {minutes} minutes.",
    HOLD_LOCKED: "Too many wrong codes. Try again in {minutes} minutes.", HOLD_SELF: "You cannot add yourself.",
    HOLD_LIMIT: "Limit reached: one person shows at most 5 family members' codes, and a code is shown by at most 3.",
    HOLD_UNKNOWN: "You no longer show this person's code.",
  },
};
WORDS.zh.title = "我的健康码";

export function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

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
  return answerOf(fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }));
}

// The JSON answer of a request under way (a fetch's promise), as api() resolves it.
export async function answerOf(request) {
  let response;
  try {
    response = await request;
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
