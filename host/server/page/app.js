// The upload page of `conform serve`: sign in with a token, upload a file
// as a job, watch it, then read the rejected rows grouped by code and
// download the outputs. Plain JavaScript against the HTTP API; every text
// from the server is set as text, never as HTML.
"use strict";

const TEXT = {
  zh: {
    skip: "跳到主要内容", tagline: "数据转换", signInTitle: "1. 登录",
    tokenLabel: "访问令牌（由平台管理员提供）", signIn: "登录", signedIn: "已登录。", signOut: "退出",
    uploadTitle: "2. 选择文件并上传", dropHere: "把文件拖到这里，或点击选择文件",
    formats: "CSV、Excel（.xlsx、.xls）、ODS、JSON、NDJSON、XML 或定宽文本",
    pluginLabel: "文件格式（插件）", upload: "上传并转换", uploading: "上传进度",
    resultTitle: "3. 结果", rowsIn: "读取行数", converted: "已转换", rejected: "被拒绝",
    downloadsTitle: "下载", records: "转换后的记录", errorReport: "错误报告",
    annotated: "原文件（每行附问题说明）", problemsTitle: "被拒绝的行（按问题分组）",
    noProblems: "每一行都已转换。", again: "转换另一个文件", line: "行号", field: "字段",
    message: "说明", previous: "上一页", next: "下一页",
    language: "English",
    badToken: "令牌无效：请检查后重试。", noRole: "此令牌没有上传权限（需要 uploader 角色）。",
    network: "无法连接服务器：", chooseFile: "请先选择一个文件。",
    chosen: (name, size) => `已选择：${name}（${size}）`,
    suggested: (name) => `根据文件名建议：${name}`, noSuggestion: "没有插件认领这个文件名，请手动选择。",
    noPlugins: "服务器上还没有插件。",
    uploaded: (p) => `已上传 ${p}%`, queued: "排队中…", running: "转换中…",
    done: "转换完成。", failed: "转换提前停止：", cancelled: "已取消。",
    counts: (r, c, x) => `已读取 ${r} 行：${c} 行已转换，${x} 行被拒绝。`,
    page: (p, n) => `第 ${p} / ${n} 页`, rows: (n) => `（列出 ${n} 条）`,
    caption: (code) => `问题代码 ${code} 的行`,
    downloadFailed: "下载失败：", sheet: (s) => `工作表“${s}”`,
    fixDefault: "请按每行的说明修改原文件后重新上传。",
    pages: "分页", noOutputs: "这个任务没有可下载的结果：",
  },
  en: {
    skip: "Skip to the main content", tagline: "data conversion", signInTitle: "1. Sign in",
    tokenLabel: "Access token (from the platform's administrator)", signIn: "Sign in",
    signedIn: "Signed in.", signOut: "Sign out",
    uploadTitle: "2. Choose a file and upload it", dropHere: "Drop the file here, or click to choose it",
    formats: "CSV, Excel (.xlsx, .xls), ODS, JSON, NDJSON, XML or fixed-width text",
    pluginLabel: "File format (plugin)", upload: "Upload and convert", uploading: "Upload progress",
    resultTitle: "3. Result", rowsIn: "Rows read", converted: "Converted", rejected: "Rejected",
    downloadsTitle: "Downloads", records: "Converted records", errorReport: "Error report",
    annotated: "Your file, each row with its problems", problemsTitle: "Rejected rows, grouped by problem",
    noProblems: "Every row was converted.", again: "Convert another file", line: "Line",
    field: "Field", message: "What is wrong", previous: "Previous", next: "Next",
    language: "中文",
    badToken: "The token is not valid: check it and try again.",
    noRole: "This token may not upload (it needs the uploader role).",
    network: "Cannot reach the server: ", chooseFile: "Choose a file first.",
    chosen: (name, size) => `Chosen: ${name} (${size})`,
    suggested: (name) => `Suggested from the file name: ${name}`,
    noSuggestion: "No plugin claims this file name: choose one.",
    noPlugins: "The server has no plugins yet.",
    uploaded: (p) => `Uploaded ${p}%`, queued: "Queued…", running: "Converting…",
    done: "Converted.", failed: "The conversion stopped early: ", cancelled: "Cancelled.",
    counts: (r, c, x) => `${r} rows read: ${c} converted, ${x} rejected.`,
    page: (p, n) => `Page ${p} of ${n}`, rows: (n) => `(${n} listed)`,
    caption: (code) => `Rows with the problem code ${code}`,
    downloadFailed: "The download failed: ", sheet: (s) => `sheet “${s}”`,
    fixDefault: "Correct each row as its message says, then upload the file again.",
    pages: "Pages", noOutputs: "This job has no results to download: ",
  },
};

// What to fix, per code: the host's codes and the SDK's and tables' usual ones.
const FIX = {
  zh: {
    "missing-field": "这一列是空的：请填写。",
    "wrong-type": "这一格的内容类型不对（如应为文字或数字）：请改正。",
    "not-a-number": "这一格应是数字：去掉文字、空格或千位分隔符。",
    "not-a-quantity": "这一格应是“数字+单位”，如 12.5kg。",
    "invalid-format": "格式不对：请按说明中的格式填写。",
    "invalid-time": "日期或时间不存在或格式不对：请检查年月日。",
    "unknown-term": "这个名称不在标准的代码表里：请改用标准名称，或联系插件提供方添加别名。",
    "unknown-unit": "这个单位不认识：请改用标准单位（如 mm、kg）。",
    "incompatible-unit": "单位与该字段不符（例如重量写成了长度单位）。",
    "schema-violation": "转换结果不符合标准（如超出允许范围）：请检查这一行的数值。",
    "csv-field-count": "这一行的列数与表头不同：检查多余或缺少的分隔符（逗号）。",
    "csv-syntax": "这一行的引号不成对：补全引号。",
    "json-syntax": "这一行不是有效的 JSON。", "json-not-object": "这一行应是一个 JSON 对象。",
    "xml-syntax": "这里的 XML 不完整。", "record-too-large": "这一行太大：请拆分。",
    "encoding": "文件的编码与插件不符：请用插件要求的编码（如 GB18030）另存。",
    "cell-error": "单元格显示公式错误（如 #DIV/0!）：请修正公式或直接填写数值。",
    "cell-outside-table": "表格右侧有多余内容：请删除或移入表格。",
    "plugin-trap": "插件处理这一行时出错：请联系插件提供方。",
    "plugin-timeout": "插件处理这一行超时：请联系插件提供方。",
    "plugin-memory": "插件内存不足：请联系插件提供方。",
    "plugin-output": "插件的输出不符合约定：请联系插件提供方。",
    "report-truncated": "同类问题太多，报告只列出了前面的部分：先改正列出的行，再重新上传。",
    "more-problems": "这一行还有更多问题：先改正列出的问题。",
  },
  en: {
    "missing-field": "The cell is empty: fill it in.",
    "wrong-type": "The cell holds the wrong kind of value (text where a number belongs, or a list).",
    "not-a-number": "The cell must be a number: remove text, spaces or thousands separators.",
    "not-a-quantity": "The cell must be a number followed by its unit, like 12.5kg.",
    "invalid-format": "The value is not in the form needed: see the message.",
    "invalid-time": "The date or time does not exist or is not in the form needed.",
    "unknown-term": "The name is not in the standard's code list: use the standard name, or ask the plugin's provider to add it.",
    "unknown-unit": "The unit is not known: use a standard unit (mm, kg …).",
    "incompatible-unit": "The unit does not fit the field (a length unit for a weight …).",
    "schema-violation": "The converted value breaks the standard (out of range …): check the row's values.",
    "csv-field-count": "The row has another number of cells than the header: look for a missing or extra comma.",
    "csv-syntax": "A quote in the row is never closed: close it.",
    "json-syntax": "The row is not valid JSON.", "json-not-object": "The row must be a JSON object.",
    "xml-syntax": "The XML is not complete here.", "record-too-large": "The row is too large: split it.",
    "encoding": "The file's encoding is not the plugin's: save it in the encoding the plugin reads (GB18030 …).",
    "cell-error": "A cell shows a formula's error (#DIV/0! …): fix the formula or type the value.",
    "cell-outside-table": "There is a value right of the table: delete it or move it into the table.",
    "plugin-trap": "The plugin failed on this row: tell the plugin's provider.",
    "plugin-timeout": "The plugin took too long on this row: tell the plugin's provider.",
    "plugin-memory": "The plugin ran out of memory: tell the plugin's provider.",
    "plugin-output": "The plugin's output broke the contract: tell the plugin's provider.",
    "report-truncated": "Too many rows with this problem to list them all: fix those listed, then upload again.",
    "more-problems": "The row has more problems: fix those listed first.",
  },
};

const PAGE_SIZE = 20;
const $ = (id) => document.getElementById(id);
const state = {
  lang: "zh", token: sessionStorage.getItem("conform-token"), plugins: [], job: null, file: null,
  // The page each group of rejected rows shows, by code: kept when the language changes.
  pages: new Map(),
};
const t = (key, ...args) => {
  const value = TEXT[state.lang][key];
  return typeof value === "function" ? value(...args) : value;
};

// Sets an element's text from a message key, and keeps the key so that a
// change of language says it again.
function say(element, key, ...args) {
  if (!key) {
    element.textContent = "";
    delete element.dataset.say;
    return;
  }
  element.dataset.say = JSON.stringify([key, ...args]);
  element.textContent = t(key, ...args);
}

function setLanguage(lang) {
  state.lang = lang;
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const element of document.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.dataset.i18n);
  }
  for (const element of document.querySelectorAll("[data-say]")) {
    const [key, ...args] = JSON.parse(element.dataset.say);
    element.textContent = t(key, ...args);
  }
  document.title = `Conform · ${t("tagline")}`;
  const toggle = $("language");
  toggle.textContent = t("language");
  toggle.lang = lang === "zh" ? "en" : "zh-CN";
  toggle.setAttribute("aria-pressed", String(lang === "en"));
  if (state.errors) showProblems(state.errors);
  if (state.jobView) showJob(state.jobView);
}

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: `Bearer ${state.token}` }, options.headers || {});
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (!response.ok) {
    let message = `${response.status}`;
    try {
      const body = await response.json();
      message = body.message || message;
    } catch (_) { /* not JSON */ }
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return response;
}

async function signIn(token) {
  state.token = token;
  $("sign-in-message").textContent = "";
  try {
    const who = await (await api("/v1/token")).json();
    const roles = who.roles || [];
    if (!roles.includes("uploader") && !roles.includes("admin")) {
      const error = new Error("role");
      error.status = 403;
      throw error;
    }
    const plugins = await (await api("/v1/plugins")).json();
    sessionStorage.setItem("conform-token", token);
    state.plugins = newestOfEach(plugins.plugins || []);
    fillPlugins();
    $("sign-in-form").hidden = true;
    $("signed-in").hidden = false;
    $("upload").hidden = false;
  } catch (error) {
    state.token = null;
    sessionStorage.removeItem("conform-token");
    $("sign-in-message").textContent =
      error.status === 401 ? t("badToken") : error.status === 403 ? t("noRole") : t("network") + error.message;
    $("token").focus();
  }
}

function newestOfEach(plugins) {
  const newest = new Map();
  for (const plugin of plugins) {
    const known = newest.get(plugin.name);
    if (!known || compareVersions(plugin.version, known.version) > 0) newest.set(plugin.name, plugin);
  }
  return [...newest.values()].sort((a, b) => a.name.localeCompare(b.name));
}

// Semantic versions: numbers first, then a version without a pre-release
// (`1.0.0`) above one with (`1.0.0-beta`); build metadata is ignored.
function compareVersions(a, b) {
  const split = (v) => {
    const [core, pre] = v.split("+")[0].split(/-(.*)/s);
    return [core.split(".").map(Number), pre];
  };
  const [[x, xPre], [y, yPre]] = [split(a), split(b)];
  for (let i = 0; i < 3; i++) {
    if ((x[i] || 0) !== (y[i] || 0)) return (x[i] || 0) > (y[i] || 0) ? 1 : -1;
  }
  if (xPre === yPre) return 0;
  if (xPre === undefined) return 1;
  if (yPre === undefined) return -1;
  return xPre > yPre ? 1 : -1;
}

function fillPlugins() {
  const select = $("plugin");
  select.replaceChildren();
  if (state.plugins.length === 0) say($("plugin-hint"), "noPlugins");
  for (const plugin of state.plugins) {
    const option = document.createElement("option");
    option.value = plugin.name;
    option.textContent = plugin.description ? `${plugin.name} — ${plugin.description}` : plugin.name;
    select.append(option);
  }
}

// A manifest's `files` glob (`*`, `?`, `[…]`, `{a,b}`) as a regular expression.
function globToRegExp(glob) {
  let out = "";
  let depth = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 1);
      if (end < 0) { out += "\\["; continue; }
      out += "[" + glob.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\") + "]";
      i = end;
    } else if (c === "{") { out += "(?:"; depth++; }
    else if (c === "}" && depth > 0) { out += ")"; depth--; }
    else if (c === "," && depth > 0) out += "|";
    else out += c.replace(/[.+^$()|\\]/g, "\\$&");
  }
  return new RegExp(`^${out}$`, "i");
}

function suggestPlugin(fileName) {
  return state.plugins.find((plugin) =>
    (plugin.files || []).some((glob) => {
      try { return globToRegExp(glob).test(fileName); } catch (_) { return false; }
    }));
}

function chooseFile(file) {
  state.file = file;
  say($("file-chosen"), "chosen", file.name, humanSize(file.size));
  const plugin = suggestPlugin(file.name);
  if (plugin) {
    $("plugin").value = plugin.name;
    say($("plugin-hint"), "suggested", plugin.name);
  } else {
    say($("plugin-hint"), "noSuggestion");
  }
}

function humanSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function upload() {
  $("upload-message").textContent = "";
  if (!state.file) { say($("upload-message"), "chooseFile"); return; }
  const plugin = $("plugin").value;
  const query = new URLSearchParams({ plugin, name: state.file.name });
  const request = new XMLHttpRequest();
  request.open("POST", `/v1/jobs?${query}`);
  request.setRequestHeader("Authorization", `Bearer ${state.token}`);
  request.setRequestHeader("Content-Type", "application/octet-stream");
  $("progress-box").hidden = false;
  $("upload-button").disabled = true;
  request.upload.onprogress = (event) => {
    if (!event.lengthComputable) return;
    const percent = Math.round((100 * event.loaded) / event.total);
    $("progress").value = percent;
    say($("status"), "uploaded", percent);
  };
  request.onerror = () => {
    $("upload-button").disabled = false;
    $("upload-message").textContent = t("network") + "upload";
  };
  request.onload = () => {
    $("upload-button").disabled = false;
    let body = {};
    try { body = JSON.parse(request.responseText); } catch (_) { /* not JSON */ }
    if (request.status !== 202) {
      $("upload-message").textContent = body.message || `${request.status}`;
      return;
    }
    $("progress").value = 100;
    state.job = body;
    watch(body.id);
  };
  request.send(state.file);
}

async function watch(id) {
  for (;;) {
    let job;
    try {
      job = await (await api(`/v1/jobs/${encodeURIComponent(id)}`)).json();
    } catch (error) {
      $("upload-message").textContent = t("network") + error.message;
      return;
    }
    showJob(job);
    if (!["queued", "running"].includes(job.state)) break;
    await new Promise((resolve) => setTimeout(resolve, 700));
  }
  await showResult(id);
}

function showJob(job) {
  state.jobView = job;
  const words = { queued: t("queued"), running: t("running"), done: t("done"), cancelled: t("cancelled") };
  const progress = t("counts", job.rows_in, job.converted, job.rejected);
  $("status").textContent = `${words[job.state] || t("failed")} ${progress}`;
  delete $("status").dataset.say;
  $("rows-in").textContent = job.rows_in;
  $("converted").textContent = job.converted;
  $("rejected").textContent = job.rejected;
  $("job-error").textContent = job.error ? t("failed") + job.error : "";
}

async function showResult(id) {
  $("result").hidden = false;
  let errors = [];
  let outputs = true;
  try {
    const text = await (await api(`/v1/jobs/${encodeURIComponent(id)}/errors`)).text();
    errors = text.split("\n").filter((line) => line.trim()).map((line) => JSON.parse(line));
  } catch (error) {
    // A cancelled job, or one that failed before any row, has no outputs.
    outputs = false;
    $("job-error").textContent =
      error.status === 409 ? t("noOutputs") + (state.jobView.error || state.jobView.state) : t("network") + error.message;
  }
  $("downloads").hidden = !outputs;
  state.errors = outputs ? errors : null;
  state.pages.clear();
  if (outputs) showProblems(errors);
  $("result-title").focus();
}

function showProblems(errors) {
  const groups = new Map();
  for (const error of errors) {
    if (!groups.has(error.code)) groups.set(error.code, []);
    groups.get(error.code).push(error);
  }
  const box = $("problems");
  box.replaceChildren();
  $("no-problems").hidden = errors.length > 0;
  for (const [code, rows] of groups) box.append(problemGroup(code, rows));
}

function problemGroup(code, rows) {
  const group = $("group-template").content.firstElementChild.cloneNode(true);
  for (const element of group.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  group.dataset.code = code;
  group.querySelector(".code").textContent = code;
  group.querySelector(".count").textContent = t("rows", rows.length);
  group.querySelector(".fix").textContent = FIX[state.lang][code] || t("fixDefault");
  group.querySelector("caption").textContent = t("caption", code);
  group.querySelector(".pager").setAttribute("aria-label", t("pages"));
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
  let page = Math.min(state.pages.get(code) || 0, pages - 1);
  const render = () => {
    state.pages.set(code, page);
    const body = group.querySelector("tbody");
    body.replaceChildren();
    for (const row of rows.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE)) {
      const tr = document.createElement("tr");
      const line = row.sheet ? `${row.line} (${t("sheet", row.sheet)})` : `${row.line}`;
      for (const text of [line, row.field || "", row.message]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      body.append(tr);
    }
    group.querySelector(".page").textContent = t("page", page + 1, pages);
    group.querySelector(".previous").disabled = page === 0;
    group.querySelector(".next").disabled = page >= pages - 1;
  };
  group.querySelector(".previous").addEventListener("click", () => { page--; render(); });
  group.querySelector(".next").addEventListener("click", () => { page++; render(); });
  group.querySelector(".pager").hidden = pages === 1;
  render();
  return group;
}

async function download(kind, format) {
  $("download-message").textContent = "";
  const id = state.job.id;
  try {
    const query = format === "ndjson" ? "" : `?format=${format}`;
    const response = await api(`/v1/jobs/${encodeURIComponent(id)}/${kind}${query}`);
    const blob = await response.blob();
    const disposition = response.headers.get("Content-Disposition") || "";
    const utf8 = disposition.match(/filename\*=UTF-8''([^;]+)/);
    const plain = disposition.match(/filename="([^"]+)"/);
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = utf8 ? decodeURIComponent(utf8[1]) : plain ? plain[1] : `${kind}.${format}`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60000);
  } catch (error) {
    $("download-message").textContent = t("downloadFailed") + error.message;
  }
}

function reset() {
  state.job = null; state.file = null; state.errors = null; state.jobView = null;
  $("upload-form").reset();
  say($("file-chosen"));
  say($("plugin-hint"));
  say($("status"));
  $("downloads").hidden = false;
  $("progress").value = 0;
  $("progress-box").hidden = true;
  $("result").hidden = true;
  $("file").focus();
}

document.addEventListener("DOMContentLoaded", () => {
  $("language").addEventListener("click", () => setLanguage(state.lang === "zh" ? "en" : "zh"));
  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    signIn($("token").value.trim());
  });
  $("sign-out").addEventListener("click", () => {
    sessionStorage.removeItem("conform-token");
    location.reload();
  });
  $("file").addEventListener("change", () => { if ($("file").files[0]) chooseFile($("file").files[0]); });
  const zone = $("drop-zone");
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (file) chooseFile(file);
  });
  $("upload-form").addEventListener("submit", (event) => { event.preventDefault(); upload(); });
  for (const button of document.querySelectorAll("[data-download]")) {
    button.addEventListener("click", () => download(button.dataset.download, button.dataset.format));
  }
  $("again").addEventListener("click", reset);
  $("result-title").tabIndex = -1;
  setLanguage("zh");
  if (state.token) signIn(state.token);
});
