// The operators' pages and the rules page: their words in Chinese and English, and what they
// share (the staff token kept for this tab, the API's errors in plain words, charts).
export const WORDS = {
  zh: {
    title_ops: "省级运营看板", title_hub: "国家平台运营看板", title_rules: "赋码规则与风险区域",
    token: "工作人员令牌", token_hint: "以 hcs_ 开头，只保存在本标签页", op_token: "国家平台运营令牌",
    enter: "进入", leave: "退出", signed_in: "已登录：{name}（{roles}）", hub_signed_in: "已使用运营令牌登录",
    refresh: "刷新",
    waiting: "待第二人审批", appeals_open: "未处理申诉", appeals_overdue: "逾期申诉",
    feed_seq: "已应用的数据序号", dead_letters: "无法生效的数据", jobs: "进行中的重算",
    pending_h: "待第二人审批的人工赋码", none_pending: "没有待审批的人工赋码。",
    approve: "批准", refuse: "拒绝", refuse_reason: "拒绝理由",
    approved: "已批准 {id}：自现在起生效。", refused: "已拒绝 {id}。",
    proposed_ok: "已提出 {id}，等待另一名审批人批准。",
    propose_h: "提出人工赋码（须另一名审批人批准）", subjects: "人员（假名，每行一个）",
    colour: "颜色", basis: "法律依据", evidence_kind: "证据类型", evidence_ref: "证据编号",
    days: "有效天数（最多 14 天）", note: "备注（仅工作人员可见）", propose: "提出",
    proposed_by: "提出人", proposed_at: "提出时间", expires_at: "到期", people: "人数",
    evidence: "证据", bulk: "批量",
    green: "绿码", yellow: "黄码", red: "红码",
    colours_h: "各地区健康码颜色（热力表）", level: "地区层级", city: "地市", county: "区县",
    hours: "时段", h24: "24 小时", h48: "48 小时", h168: "7 天", shown_colour: "着色依据",
    region: "地区", now: "现在", unknown_region: "外省申领",
    heat_caption: "每格为该小时结束时的人数，颜色越深人数越多。",
    transcodings_h: "每小时转码次数与时延", transcodings: "转码次数", mean_s: "平均时延（秒）",
    max_s: "最长时延（秒）", timed: "计时次数", hour: "时间",
    four_h: "“四早”及时性（按区县）", to_code: "到赋码", to_task: "到派单", to_contact: "到联系",
    to_isolation: "到隔离", p50: "中位数（秒）", day: "日期", tasks: "人数", overdue: "逾期",
    no_four: "暂无“四早”任务数据。",
    appeals_h: "申诉队列", state: "状态", created: "提交时间", deadline: "处理期限", reason: "理由",
    no_appeals: "没有待处理的申诉。", open: "待处理", escalated: "已上报", correcting: "更正中",
    alerts_h: "批量赋码告警", no_alerts: "没有告警。", kind: "类型", province: "省份",
    "bulk-proposed": "批量赋码已提出", "bulk-approved": "批量赋码已批准", "bulk-refused": "批量赋码被拒绝",
    staff: "工作人员", at: "时间",
    ingest_h: "各部门每小时报送数据量", department: "部门", total: "合计",
    reports_h: "各省每小时上报的颜色状态", report_delay: "平均上报时延（秒）",
    feeds_h: "各省数据订阅延迟", last_seq: "最新序号", read_after: "已读取至", waiting_n: "待读取",
    lag: "延迟（秒）", read_at: "读取时间", never_read: "本进程启动后未读取",
    rules_h: "当前使用的赋码规则", rules_intro: "每种颜色都来自公开的规则：理由、法律依据和到期时间。任何人都可以查看。",
    version: "版本", digest: "摘要", valid_from: "生效时间", overlays: "本省补充规则", no_overlay: "无（全国规则）",
    legal_basis: "法律依据", params_h: "参数", param: "参数", value: "取值", source: "出处",
    rule_list_h: "规则", effect: "结果", follow_up: "后续要求", condition: "条件（CertLogic）",
    check: "待核查", origin: "来源",
    diff_h: "比较两个规则版本", from: "旧版本", to: "新版本", compare: "比较",
    added: "新增", removed: "删除", changed: "修改", no_diff: "两个版本没有差别。",
    head_changes: "规则集信息", param_changes: "参数变化", rule_changes: "规则变化", field: "项目",
    areas_h: "风险区域", no_areas: "当前没有风险区域。", high: "高风险", medium: "中风险", low: "低风险",
    active: "生效中", upcoming: "即将生效", ended: "已结束", lifted: "已解除", cancelled: "已取消",
    until: "截止", in_use: "（使用中）",
    err_network: "网络不可用，请稍后再试。", err_unknown: "出错了（{code}）。",
    STAFF_TOKEN_INVALID: "令牌无效或已停用。", STAFF_ROLE_REQUIRED: "您的角色不能进行此操作。",
    OPERATOR_TOKEN_INVALID: "运营令牌无效。",
    MANUAL_SELF_APPROVED: "不能批准自己提出的决定：须由另一名审批人批准。",
    DECISION_APPROVER_ROLE: "批准须具有审批人角色。", DECISION_STATE: "该决定已被处理。",
    DECISION_BASIS_UNKNOWN: "请选择法律依据。", DECISION_BASIS_COLOUR: "该法律依据不允许此颜色。",
    DECISION_EVIDENCE_MISSING: "请填写证据。", DECISION_BULK_ROLE: "批量赋码须由主管提出。",
    MANUAL_TOO_LONG: "有效期过长（最多 14 天）。", PERSON_UNKNOWN: "本省没有这些人员。",
    FIELD_MISSING: "请填写所有必填项。", FIELD_TYPE: "有一项填写格式不对。",
    RULESET_VERSION_UNKNOWN: "没有这个规则版本。",
  },
  en: {
    title_ops: "Province operations", title_hub: "National operations", title_rules: "Colour rules and risk areas",
    token: "Staff token", token_hint: "Starts with hcs_; kept in this tab only", op_token: "Hub operator token",
    enter: "Enter", leave: "Leave", signed_in: "Signed in: {name} ({roles})", hub_signed_in: "Signed in with the operator token",
    refresh: "Refresh",
    waiting: "Awaiting a second approver", appeals_open: "Open appeals", appeals_overdue: "Overdue appeals",
    feed_seq: "Feed entries applied", dead_letters: "Entries set aside", jobs: "Re-evaluations running",
    pending_h: "Manual decisions awaiting a second approver", none_pending: "No decision awaits approval.",
    approve: "Approve", refuse: "Refuse", refuse_reason: "Reason to refuse",
    approved: "Approved {id}: it acts from now.", refused: "Refused {id}.",
    proposed_ok: "Proposed {id}; another approver must approve it.",
    propose_h: "Propose a manual colour (another approver approves)", subjects: "People (pseudonyms, one a line)",
    colour: "Colour", basis: "Legal basis", evidence_kind: "Evidence kind", evidence_ref: "Evidence reference",
    days: "Days valid (at most 14)", note: "Note (staff only)", propose: "Propose",
    proposed_by: "Proposed by", proposed_at: "Proposed at", expires_at: "Expires", people: "People",
    evidence: "Evidence", bulk: "Bulk",
    green: "Green", yellow: "Yellow", red: "Red",
    colours_h: "Codes by colour per region (heat table)", level: "Regions", city: "Cities", county: "Counties",
    hours: "Period", h24: "24 hours", h48: "48 hours", h168: "7 days", shown_colour: "Shade by",
    region: "Region", now: "Now", unknown_region: "Applied elsewhere",
    heat_caption: "Each cell is the count at the end of that hour; darker is more.",
    transcodings_h: "Transcodings per hour and their latency", transcodings: "Transcodings", mean_s: "Mean latency (s)",
    max_s: "Longest latency (s)", timed: "Timed", hour: "Hour",
    four_h: "\"Four early\" timeliness per county", to_code: "to code", to_task: "to task", to_contact: "to contact",
    to_isolation: "to isolation", p50: "Median (s)", day: "Day", tasks: "People", overdue: "Overdue",
    no_four: "No \"four early\" tasks yet.",
    appeals_h: "Appeals queue", state: "State", created: "Submitted", deadline: "Deadline", reason: "Reason",
    no_appeals: "No appeal waits.", open: "Open", escalated: "Escalated", correcting: "Correcting",
    alerts_h: "Bulk-decision alerts", no_alerts: "No alerts.", kind: "Kind", province: "Province",
    "bulk-proposed": "Bulk decision proposed", "bulk-approved": "Bulk decision approved", "bulk-refused": "Bulk decision refused",
    staff: "Staff", at: "Time",
    ingest_h: "Records received per department and hour", department: "Department", total: "Total",
    reports_h: "Colour states reported per province and hour", report_delay: "Mean delay to report (s)",
    feeds_h: "Feed lag per province", last_seq: "Last entry", read_after: "Read up to", waiting_n: "Waiting",
    lag: "Lag (s)", read_at: "Read at", never_read: "Not read since this process started",
    rules_h: "The colour rules in use", rules_intro: "Every colour comes from a published rule with a reason, a legal basis and an end time. Anyone may read them.",
    version: "Version", digest: "Digest", valid_from: "Valid from", overlays: "Provincial overlay", no_overlay: "None (national rules)",
    legal_basis: "Legal basis", params_h: "Parameters", param: "Parameter", value: "Value", source: "Source",
    rule_list_h: "Rules", effect: "Gives", follow_up: "What follows", condition: "Condition (CertLogic)",
    check: "Check", origin: "From",
    diff_h: "Compare two rule-set versions", from: "Older version", to: "Newer version", compare: "Compare",
    added: "Added", removed: "Removed", changed: "Changed", no_diff: "The two versions say the same.",
    head_changes: "Rule set", param_changes: "Parameters", rule_changes: "Rules", field: "Field",
    areas_h: "Risk areas", no_areas: "No risk area now.", high: "High risk", medium: "Medium risk", low: "Low risk",
    active: "In force", upcoming: "Upcoming", ended: "Ended", lifted: "Lifted", cancelled: "Cancelled",
    until: "Until", in_use: " (in use)",
    err_network: "No network. Please try again.", err_unknown: "Something went wrong ({code}).",
    STAFF_TOKEN_INVALID: "The token is wrong or disabled.", STAFF_ROLE_REQUIRED: "Your role cannot do this.",
    OPERATOR_TOKEN_INVALID: "The operator token is wrong.",
    MANUAL_SELF_APPROVED: "You cannot approve your own proposal: another approver must.",
    DECISION_APPROVER_ROLE: "Approving needs the approver role.", DECISION_STATE: "This decision was already handled.",
    DECISION_BASIS_UNKNOWN: "Choose a legal basis.", DECISION_BASIS_COLOUR: "That legal basis does not allow this colour.",
    DECISION_EVIDENCE_MISSING: "Give the evidence.", DECISION_BULK_ROLE: "A bulk decision needs a supervisor.",
    MANUAL_TOO_LONG: "Too long (at most 14 days).", PERSON_UNKNOWN: "These people are not held here.",
    FIELD_MISSING: "Fill in every required field.", FIELD_TYPE: "A field is not in the right form.",
    RULESET_VERSION_UNKNOWN: "No such rule-set version.",
  },
};
WORDS.zh.title = WORDS.zh.title_ops;

// Calls the service's API; resolves the JSON answer or rejects with {code}.
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
  if (!response.ok) throw { code: answer?.error?.code || `HTTP_${response.status}` };
  return answer;
}

export function explain(t, error) {
  if (error.code === "NETWORK") return t("err_network");
  const text = t(error.code);
  return text === error.code ? t("err_unknown", { code: error.code }) : text;
}

export function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

// A table from a header row and rows of cells (a cell: text, or [text, class]).
export function table(head, rows, caption) {
  const tableEl = el("table");
  if (caption) tableEl.append(el("caption", caption, { class: "muted" }));
  const tr = el("tr");
  for (const h of head) tr.append(el("th", h, { scope: "col" }));
  const thead = el("thead");
  thead.append(tr);
  tableEl.append(thead);
  const body = el("tbody");
  for (const row of rows) {
    const line = el("tr");
    row.forEach((cell, i) => {
      const [text, cls] = Array.isArray(cell) ? cell : [cell, ""];
      const tag = i === 0 ? "th" : "td";
      const c = el(tag, text ?? "–", tag === "th" ? { scope: "row" } : {});
      if (cls) c.className = cls;
      line.append(c);
    });
    body.append(line);
  }
  tableEl.append(body);
  const box = el("div", undefined, { class: "scroll", tabindex: "0", role: "region" });
  if (caption) box.setAttribute("aria-label", caption);
  box.append(tableEl);
  return box;
}

// The project's colours on charts, dark enough on white.
export const SHADES = { green: "#0a6b2e", yellow: "#b38600", red: "#a8141a" };

// An ECharts chart in `node` (when the library was built: `make install`), described for
// screen readers by ECharts' own aria option; tooltips drawn on the canvas (no inline HTML).
export function chart(node, option, label) {
  node.setAttribute("role", "img");
  node.setAttribute("aria-label", label);
  if (!window.echarts) return null;
  const existing = window.echarts.getInstanceByDom(node);
  const instance = existing || window.echarts.init(node, null, { renderer: "canvas" });
  instance.setOption({
    animation: false,
    aria: { enabled: true, label: { description: label } },
    tooltip: { trigger: "axis", renderMode: "richText" },
    textStyle: { fontFamily: "Noto Sans CJK SC, sans-serif" },
    ...option,
  }, true);
  instance.resize();
  node.setAttribute("aria-label", label);
  return instance;
}

// An hour label in China Standard Time.
export function hourLabel(iso, lang) {
  return new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "zh-CN", {
    timeZone: "Asia/Shanghai", month: "numeric", day: "numeric", hour: "2-digit", hour12: false,
  }).format(new Date(iso));
}

window.addEventListener("resize", () => {
  if (!window.echarts) return;
  for (const node of document.querySelectorAll(".chart")) window.echarts.getInstanceByDom(node)?.resize();
});
