// The desk's browser code. Everything from the server is put on the page with
// textContent, never as HTML: user messages can contain anything.
"use strict";

const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
const page = document.body.dataset.page;

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function notice(message, kind) {
  const box = document.getElementById("notice");
  box.textContent = message;
  box.className = "notice " + (kind || "error");
  box.hidden = false;
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => { box.hidden = true; }, 6000);
}

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  let data = {};
  try { data = await response.json(); } catch (_) { /* empty body */ }
  if (response.status === 401) { location.href = "/login"; throw new Error("请先登录"); }
  if (!response.ok) {
    const failure = new Error(data.error || "操作失败，请稍后重试");
    failure.status = response.status;
    failure.data = data;
    throw failure;
  }
  return data;
}

// Stored times are UTC; SQLite returns them without an offset.
function parseUtc(iso) {
  return Date.parse(/[zZ]|[+-]\d\d:\d\d$/.test(iso) ? iso : iso + "Z");
}

function when(iso) {
  return new Date(parseUtc(iso)).toLocaleString("zh-CN", { hour12: false });
}

function since(iso) {
  const seconds = Math.max(0, Math.floor((Date.now() - parseUtc(iso)) / 1000));
  if (seconds < 60) return seconds + "秒";
  if (seconds < 3600) return Math.floor(seconds / 60) + "分" + (seconds % 60) + "秒";
  return Math.floor(seconds / 3600) + "小时" + Math.floor((seconds % 3600) / 60) + "分";
}

function clock(at) {
  return new Date(at * 1000).toLocaleTimeString("zh-CN", { hour12: false });
}

function stream(path, onData) {
  // EventSource reconnects by itself after a dropped connection. The server ends
  // a stream with an `end` event when the login or the right to it is gone.
  const source = new EventSource(path);
  source.onmessage = (event) => onData(JSON.parse(event.data));
  source.addEventListener("end", (event) => {
    source.close();
    const { error, url } = JSON.parse(event.data);
    notice(error);
    setTimeout(() => { location.href = url; }, 3000);
  });
  return source;
}

document.getElementById("logout")?.addEventListener("click", async () => {
  try { await api("POST", "/logout"); } finally { location.href = "/login"; }
});

// -- queue page -----------------------------------------------------------------

function card(item, claimable) {
  const li = el("li", null, "card" + (item.threat ? " threat" : ""));
  li.dataset.id = item.id;
  const head = el("div", null, "card-head");
  head.append(el("strong", item.reason, "reason"), el("span", item.channel, "tag"));
  if (item.position) head.append(el("span", "第" + item.position + "位", "tag"));
  const waited = el("span", null, "waited");
  waited.dataset.since = item.claimed_at || item.created_at;
  waited.textContent = (item.claimed_at ? "已接入 " : "已等待 ") + since(waited.dataset.since);
  head.append(waited);
  li.append(head);
  const fields = el("dl", null, "fields");
  for (const field of item.fields) fields.append(el("dt", field.label), el("dd", field.value));
  fields.append(el("dt", "工单"), el("dd", item.ticket_no || "未创建"));
  if (item.assigned_to) fields.append(el("dt", "处理人"), el("dd", item.assigned_to));
  li.append(fields);
  const button = el("button", claimable ? "接入" : "打开", "claim");
  button.type = "button";
  button.addEventListener("click", async () => {
    if (!claimable) { location.href = "/conversations/" + item.id; return; }
    button.disabled = true;
    try {
      const result = await api("POST", "/api/handoffs/" + item.id + "/claim");
      location.href = result.url;
    } catch (error) {
      notice(error.message);
      button.disabled = false;
    }
  });
  li.append(button);
  return li;
}

function renderBoard(board) {
  for (const [key, claimable] of [["waiting", true], ["held", false]]) {
    const list = document.getElementById(key);
    list.replaceChildren(...board[key].map((item) => card(item, claimable)));
    document.getElementById(key + "-count").textContent = board[key].length;
    document.getElementById(key + "-empty").hidden = board[key].length > 0;
  }
}

if (page === "queue") {
  api("GET", "/api/queue").then(renderBoard).catch((error) => notice(error.message));
  stream("/api/queue/stream", renderBoard);
  setInterval(() => {
    for (const node of document.querySelectorAll(".waited")) {
      node.textContent = node.textContent.slice(0, 4) + since(node.dataset.since);
    }
  }, 1000);
}

// -- conversation page ------------------------------------------------------------

const ROLE_LABELS = { user: "用户", bot: "机器人", system: "系统" };

// One message of a transcript, live or read-only.
function transcriptLine(line) {
  const li = el("li", null, "line " + line.role);
  const who = line.role === "agent" ? "客服 " + line.agent_name : ROLE_LABELS[line.role];
  li.append(el("span", who + " · " + clock(line.at), "meta"), el("p", line.text, "text"));
  return li;
}

// Canned replies: the reviewed text goes into the message box at the cursor, to be edited before sending.
async function cannedReplies(select, box) {
  const { materials, templates } = await api("GET", "/api/canned-replies");
  const texts = new Map();
  for (const [label, items] of [["理赔材料话术", materials], ["回复模板", templates]]) {
    const group = document.createElement("optgroup");
    group.label = label;
    for (const item of items) {
      const option = el("option", item.title);
      option.value = item.id;
      texts.set(item.id, item.text);
      group.append(option);
    }
    select.append(group);
  }
  select.addEventListener("change", () => {
    const text = texts.get(select.value);
    select.value = "";
    if (!text) return;
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? start;
    box.value = (box.value.slice(0, start) + text + box.value.slice(end)).slice(0, box.maxLength);
    box.focus();
    box.selectionStart = box.selectionEnd = Math.min(start + text.length, box.value.length);
  });
}

if (page === "conversation") {
  const id = document.body.dataset.requestId;
  const base = "/api/handoffs/" + id;
  const transcript = document.getElementById("transcript");
  let lastSeq = -1;

  // 标记为未理解: the message goes to the review page (/review) for a supervisor or trainer.
  const markButton = (line) => {
    const button = el("button", "标记为未理解", "link mark-unclear");
    button.type = "button";
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const result = await api("POST", base + "/unclear", { at: line.at });
        button.textContent = "已标记";
        if (!result.new) notice("这条消息已被标记过", "ok");
      } catch (error) { notice(error.message); button.disabled = false; }
    });
    return button;
  };

  const addLines = (lines) => {
    for (const line of lines) {
      if (line.seq <= lastSeq) continue; // never show a message twice
      lastSeq = line.seq;
      const item = transcriptLine(line);
      if (line.role === "user") item.append(markButton(line));
      transcript.append(item);
    }
    transcript.scrollTop = transcript.scrollHeight;
  };

  const describe = (target, pairs) => {
    target.replaceChildren();
    for (const [label, value] of pairs) target.append(el("dt", label), el("dd", value));
  };

  // The sub-reason select lists the chosen category's sub-reasons (knowledge/complaint_taxonomy.yml); the
  // ticket's own value stays listed while its category is chosen, shown as itself and marked when the file
  // no longer lists it: tickets keep what they were classified with.
  const subReasons = JSON.parse(document.getElementById("sub-reasons")?.textContent || "{}");
  let classified = { category: "", sub_reason: "" };
  const option = (value, label) => { const node = el("option", label); node.value = value; return node; };
  const fillSubReasons = (form, chosen) => {
    const listed = subReasons[form.category.value] || [];
    const options = [option("", "未细分"), ...listed.map(([code, label]) => option(code, label))];
    const own = classified.sub_reason;
    if (own && form.category.value === classified.category && !listed.some(([code]) => code === own)) {
      options.push(option(own, own + "（已停用）"));
    }
    form.sub_reason.replaceChildren(...options);
    form.sub_reason.value = options.some((node) => node.value === chosen) ? chosen : "";
  };
  const editForm = document.getElementById("ticket-edit");
  if (editForm) editForm.category.addEventListener("change", () => fillSubReasons(editForm, editForm.sub_reason.value));

  const renderTicket = (ticket) => {
    document.getElementById("ticket-none").hidden = Boolean(ticket);
    document.getElementById("ticket").hidden = !ticket;
    if (!ticket) return;
    document.getElementById("ticket-link").href = "/tickets/" + encodeURIComponent(ticket.ticket_no);
    describe(document.getElementById("ticket-fields"), [
      ["工单号", ticket.ticket_no], ["类型", ticket.kind === "callback" ? "留言回电" : "投诉"],
      ["状态", ticket.status_label], ["负责人", ticket.assignee || "未分派"], ["投诉人", ticket.complainant_name],
      ["电话", ticket.phone_masked], ["保单号", ticket.policy_number || "未提供"],
      ["投诉事项", ticket.description], ["诉求", ticket.customer_request],
      ["办结期限", ticket.deadline],
    ]);
    const form = document.getElementById("ticket-edit");
    form.status.value = ticket.status;
    form.category.value = ticket.category;
    // Free text typed as a listed label before the select existed stands for that label's code.
    const byLabel = (subReasons[ticket.category] || []).find(([, label]) => label === ticket.sub_reason);
    classified = { category: ticket.category, sub_reason: byLabel ? "" : ticket.sub_reason };
    fillSubReasons(form, byLabel ? byLabel[0] : ticket.sub_reason);
    document.getElementById("notes").replaceChildren(...ticket.notes.map(
      (note) => el("li", note.author + " · " + when(note.at) + "：" + note.body)));
    document.getElementById("audit").replaceChildren(...ticket.events.map((event) => el("li",
      when(event.at) + " " + event.actor + " " + event.field + "：" +
      (event.old_value ?? "—") + " → " + (event.new_value ?? "—"))));
  };

  const supervisor = document.body.dataset.supervisor === "true";
  let mine = true;

  api("GET", base).then((data) => {
    mine = data.handoff.mine;
    document.getElementById("not-holder").hidden = mine;
    const supervise = document.getElementById("supervise");
    if (supervise) supervise.hidden = mine;
    describe(document.getElementById("handoff"), [
      ["原因", data.handoff.reason], ["渠道", data.handoff.channel], ["处理人", data.handoff.assigned_to],
      ...data.handoff.fields.map((field) => [field.label, field.value]),
    ]);
    const create = document.getElementById("ticket-create");
    for (const [name, slot] of [["category", "complaint_category"], ["complainant_name", "complainant_name"],
      ["description", "complaint_description"], ["customer_request", "customer_request"],
      ["policy_number", "policy_number"]]) {
      if (data.draft[slot]) create[name].value = data.draft[slot];
    }
    renderTicket(data.ticket);
    addLines(data.transcript);
    if (data.warning) notice(data.warning);
    stream(base + "/stream?after=" + lastSeq, addLines);
  }).catch((error) => notice(error.message));

  // A channel may refuse a message (WeChat: quota, 48-hour window); the agent must know.
  const failures = document.getElementById("failures");
  const checkFailures = async () => {
    try {
      const { failures: rows } = await api("GET", base + "/failures");
      failures.hidden = rows.length === 0;
      document.getElementById("failure-list").replaceChildren(...rows.map(
        (row) => el("li", when(row.at) + "（" + row.code + "）" + row.message)));
    } catch (_) { /* shown on the next successful check */ }
  };
  checkFailures();
  setInterval(checkFailures, 10000);

  const formJson = (form) => Object.fromEntries(new FormData(form).entries());
  const submit = (formId, path, after) => {
    const form = document.getElementById(formId);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        after(await api("POST", path, formJson(form)), form);
      } catch (error) {
        notice(error.message);
      } finally {
        button.disabled = false;
      }
    });
  };

  cannedReplies(document.getElementById("canned"), document.querySelector("#reply textarea"))
    .catch((error) => notice(error.message));
  // A supervisor who does not hold the conversation speaks to the policyholder only knowingly.
  document.getElementById("reply").addEventListener("submit", (event) => {
    if (!mine && !confirm("您不是处理坐席，这条回复会直接发给用户（不是内部消息）。确定发送吗？")) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  });
  submit("reply", base + "/messages", (_, form) => { form.reset(); form.text.focus(); });

  // Whispers: internal messages from a supervisor to the holding agent, never shown to the policyholder.
  const whisperBox = document.getElementById("whisper-box");
  const renderWhispers = ({ whispers }) => {
    whisperBox.hidden = whispers.length === 0;
    document.getElementById("whispers").replaceChildren(...whispers.map(
      (item) => el("li", item.author_name + " · " + when(item.at) + "：" + item.body)));
  };
  const checkWhispers = () => api("GET", base + "/whispers").then(renderWhispers).catch(() => {});
  checkWhispers();
  setInterval(checkWhispers, 3000);
  if (supervisor) {
    submit("whisper", base + "/whispers", (_, form) => { form.reset(); checkWhispers(); notice("内部消息已发给处理坐席", "ok"); });
    const moved = (result) => {
      notice(result.warning || "已转交给 " + result.holder, result.warning ? "error" : "ok");
      setTimeout(() => { location.reload(); }, 1500);
    };
    document.getElementById("takeover").addEventListener("click", async () => {
      if (!confirm("接管后由您直接回复用户，原坐席不能再回复。确定接管吗？")) return;
      try { moved(await api("POST", base + "/takeover")); } catch (error) { notice(error.message); }
    });
    submit("reassign", base + "/reassign", moved);
    api("GET", "/api/agents").then(({ agents }) => {
      const select = document.querySelector("#reassign select");
      for (const agent of agents) {
        const option = el("option", agent.name);
        option.value = agent.username;
        select.append(option);
      }
    }).catch(() => {});
  }
  document.querySelector("#reply textarea").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.ctrlKey) document.getElementById("reply").requestSubmit();
  });
  submit("ticket-create", base + "/ticket", (ticket) => {
    renderTicket(ticket);
    // The confirmation is in the notice outbox: the sender delivers it within seconds (the ticket page shows it).
    notice("工单已创建，编号和办结期限将自动发送给用户（发送情况见工单页）", "ok");
  });
  submit("ticket-edit", base + "/ticket/changes", (ticket) => { renderTicket(ticket); notice("已保存", "ok"); });
  submit("note", base + "/ticket/notes", (ticket, form) => { renderTicket(ticket); form.reset(); });

  document.getElementById("reveal-phone").addEventListener("click", async () => {
    try {
      const { phone_number: phone } = await api("POST", base + "/ticket/phone");
      notice("完整号码：" + phone, "ok");
    } catch (error) { notice(error.message); }
  });

  for (const [buttonId, path, question] of [
    ["handback", "/handback", "确定把会话交回机器人吗？"],
    ["close", "/close", "确定结束本次会话吗？"],
  ]) {
    document.getElementById(buttonId).addEventListener("click", async () => {
      if (!confirm(question)) return;
      try {
        let result;
        try {
          result = await api("POST", base + path, {});
        } catch (error) {
          // A threat without a ticket: closed only when the agent confirms the warning.
          if (error.status !== 409 || !error.data.confirm) throw error;
          if (!confirm(error.message)) return;
          result = await api("POST", base + path, { [error.data.confirm]: true });
        }
        if (result.warning) {
          notice(result.warning);
          setTimeout(() => { location.href = result.url; }, 8000);
        } else {
          location.href = result.url;
        }
      } catch (error) { notice(error.message); }
    });
  }
}
