// One ticket: every field as text, the step forms, ownership, deadline and callback actions.
"use strict";

(() => {
  const number = document.body.dataset.ticketNo;
  const base = "/api/tickets/" + encodeURIComponent(number);
  const supervisor = document.body.dataset.supervisor === "true";
  const me = document.body.dataset.username;
  const STEP_LABELS = { accepted: "受理", investigating: "调查", processing: "处理", feedback: "反馈", follow_up: "跟进", closed: "结案" };
  // `which` is "old_value" or "new_value"; a person is shown by display name (`<which>_name`).
  const shown = (event, which) => {
    const value = event[which];
    if (value === null || value === undefined) return "—";
    if (event.field === "status") return STEP_LABELS[value] || value;
    return event[which + "_name"] || value;
  };
  const yesNo = (value) => (value === null || value === undefined ? "" : value ? "是" : "否");
  let ticket = null;

  const describe = (target, pairs) => {
    target.replaceChildren();
    for (const [label, value] of pairs) {
      if (value === null || value === undefined || value === "") continue;
      target.append(el("dt", label), el("dd", value));
    }
  };

  // Saved content (a draft) fills the fields the handler has not touched.
  const prefill = (form, t) => {
    for (const control of form.elements) {
      const value = t[control.name];
      if (value === null || value === undefined) continue;
      if (control.type === "radio") {
        if (!form.querySelector(`input[name="${control.name}"]:checked`)) control.checked = control.value === String(value);
      } else if (control.value === "" && "value" in control && control.type !== "submit" && control.type !== "button") {
        control.value = String(value);
      }
    }
  };

  const daysLeftText = (t) => {
    if (t.status === "closed") return "已结案";
    if (t.paused) return "外部鉴定中，暂停计时";
    if (t.days_left === null || t.days_left === undefined) return "";
    return t.days_left < 0 ? "已超期" + -t.days_left + "天" : "剩余" + t.days_left + "天";
  };

  const render = (t) => {
    ticket = t;
    document.getElementById("head-status").textContent = t.status_label;
    document.getElementById("head-owner").textContent = "负责人：" + (t.assignee_name || "未分派");
    const deadline = document.getElementById("head-deadline");
    deadline.textContent = "办结期限 " + t.deadline + "（" + daysLeftText(t) + "）";
    deadline.className = "tag" + (t.deadline_state ? " due-" + t.deadline_state : "");
    document.getElementById("head-flags").replaceChildren(...t.risk_labels.map((label) => el("span", label, "tag risk")));
    describe(document.getElementById("fields"), [
      ["类型", t.kind_label], ["渠道", t.channel_label], ["类别", t.category_label], ["细分原因", t.sub_reason],
      ["投诉人", t.complainant_name], ["电话", t.phone_masked], ["保单号", t.policy_number],
      ["投诉事项", t.description], ["诉求", t.customer_request], ["受理时间", when(t.received_at)],
      ["优先级", String(t.priority)], ["被投诉人员", t.subject_staff_name], ["转为投诉工单", t.linked_ticket_no],
      ["来自留言", t.linked_from.join("、")],
      ["联系不上", t.unreachable_at && "多次回电未接通（" + when(t.unreachable_at) + "），已提醒主管"],
      ["撤诉时间", t.withdrawn_at && when(t.withdrawn_at)], ["结案时间", t.closed_at && when(t.closed_at)],
      ["重开次数", t.reopened_count ? String(t.reopened_count) : ""],
    ]);
    describe(document.getElementById("content"), [
      ["核实情况", t.findings], ["处理结果", t.decision], ["依据和理由", t.decision_basis],
      ["投诉结论", t.outcome_label], ["告知内容", t.result_notice],
      ["联系上投诉人", yesNo(t.follow_up_reached)], ["投诉人满意", yesNo(t.follow_up_satisfied)],
      ["回访记录", t.follow_up_note], ["投诉人评价", t.satisfaction_label],
      ["根因可控", yesNo(t.root_cause_controllable)],
      ["根因分类", t.root_cause_label || t.root_cause_category], ["整改措施", t.improvement_action],
    ]);
    document.getElementById("deadline-info").textContent =
      (t.is_complex ? "复杂案件。" : "") +
      (t.extension_days ? "已延长" + t.extension_days + "天（" + (t.extension_reason || "") + "，批准：" +
        t.extension_approved_by_name + "）。" : "") +
      (t.extension_requested_days ? t.extension_requested_by_name + "申请延长" + t.extension_requested_days + "天，待主管批准（" +
        (t.extension_reason || "") + "）。" : "") +
      (t.paused ? "外部鉴定中，自" + when(t.paused_since) + "起暂停计时。" : "") +
      "办结期限 " + t.deadline + "，" + daysLeftText(t);
    document.getElementById("complex").hidden = Boolean(t.is_complex) || t.status === "closed";
    document.getElementById("extension").hidden = !t.is_complex || t.status === "closed";
    const approve = document.getElementById("approve-extension");
    if (approve) approve.hidden = !t.extension_requested_days;
    const reject = document.getElementById("reject-extension");
    if (reject) reject.hidden = !t.extension_requested_days;
    document.getElementById("pause").hidden = t.paused || t.status === "closed";
    document.getElementById("end-pause").hidden = !t.paused;
    document.getElementById("pauses").replaceChildren(...t.pauses.map((pause) => el("li",
      pause.kind_label + "（" + pause.note + "）：" + when(pause.started_at) + " → " +
      (pause.ended_at ? when(pause.ended_at) : "进行中"))));
    const wechatNoLink = document.getElementById("wechat-no-link");
    wechatNoLink.hidden = !t.wechat_without_link;
    wechatNoLink.textContent = t.wechat_without_link ? t.wechat_without_link +
      "：投诉人超过48小时未与公众号互动时，收到的模板消息无法打开聊天页面查看通知全文。" : "";
    // Each notice to the complainant, then every delivery attempt: time, route, outcome, code and detail.
    document.getElementById("notices").replaceChildren(...t.notices.map((notice) => {
      const item = el("li", when(notice.created_at) + " " + notice.kind_label + "：" + notice.status_label +
        (notice.sent_at ? "（" + notice.route_label + "，" + when(notice.sent_at) + "）" : "") +
        (notice.status === "pending" && notice.attempts ? "（下次尝试 " + when(notice.next_attempt_at) + "）" : ""));
      item.dataset.kind = notice.kind;
      item.dataset.status = notice.status;
      if (notice.body) {
        const body = el("details");
        body.append(el("summary", "通知内容"), el("p", notice.body));
        item.append(body);
      }
      const attempts = el("ol", null, "attempts");
      attempts.append(...notice.delivery_attempts.map((attempt) => el("li",
        when(attempt.at) + " " + attempt.route_label + " " + attempt.outcome_label +
        (attempt.code ? " [" + attempt.code + "]" : "") + (attempt.detail ? "：" + attempt.detail : ""))));
      item.append(attempts);
      return item;
    }));
    const smsOff = document.getElementById("sms-off");
    smsOff.hidden = !t.sms_unavailable;
    smsOff.textContent = t.sms_unavailable ? "短信服务不可用（" + t.sms_unavailable +
      "）：需要短信的通知（工作台、电话来源的投诉，及其他渠道失败后的改发）无法送达，将提醒主管。" : "";
    const smsNoLink = document.getElementById("sms-no-link");
    smsNoLink.hidden = !t.sms_without_link;
    smsNoLink.textContent = t.sms_without_link ? "短信通知不含链接（" + t.sms_without_link +
      "）：只能收到短信的投诉人无法在线查看通知全文，也无法在线评价处理结果。" : "";

    const claimable = !t.assignee && t.status !== "closed";
    document.getElementById("claim").hidden = !claimable;
    document.getElementById("release").hidden = t.assignee !== me || t.status === "closed";
    // The form of the step being worked: its content is what leaving it requires.
    for (const form of document.querySelectorAll("form.step")) {
      form.hidden = form.dataset.status !== t.status;
      if (!form.hidden) prefill(form, t);
    }
    // 跟进: the follow-up question goes out on the complainant's own channel, unless they rated the result
    // already or one is still waiting to be sent (the server says why; it refuses the same cases).
    const inFollowUp = t.status === "follow_up";
    document.getElementById("follow-up-question").hidden = !inFollowUp || Boolean(t.follow_up_refusal);
    document.getElementById("follow-up-info").textContent = !inFollowUp ? "" : t.follow_up_refusal ||
      "可向投诉人发送回访问题（经其来访渠道），请其评价处理结果；答复将记为投诉人评价。";
    document.getElementById("next-step-label").textContent = "当前：" + STEP_LABELS[t.status];
    document.getElementById("step-done").hidden = t.status !== "closed";
    document.getElementById("withdraw").hidden = t.status === "closed";
    const reopen = document.getElementById("reopen");
    if (reopen) reopen.hidden = t.status !== "closed";
    const typical = document.getElementById("typical-case");
    if (typical) {
      const marked = t.typical_case;
      typical.hidden = t.status !== "closed";
      document.getElementById("untypical-case").hidden = !marked;
      document.getElementById("typical-info").textContent = marked ? "已标记为典型案例（" + when(marked.marked_at) + "）" :
        (t.status === "closed" ? "" : "结案后可标记为典型案例。");
      if (!marked) delete typical.dataset.filled;
      if (marked && !typical.dataset.filled) {
        typical.situation.value = marked.situation; typical.analysis.value = marked.analysis;
        typical.lessons.value = marked.lessons; typical.dataset.filled = "1";
      }
      const malicious = t.malicious_mark;
      document.getElementById("unmalicious").hidden = !malicious;
      document.getElementById("malicious-info").textContent = malicious ? "已标记为恶意投诉：" + malicious.reason : "";
    }
    const staff = document.getElementById("subject-staff").subject_staff;
    // Someone recorded who is no longer a choice (left, or typed before the list existed) stays selected.
    if (t.subject_staff && ![...staff.options].some((option) => option.value === t.subject_staff)) {
      staff.append(new Option(t.subject_staff_name + "（已不在可选人员中）", t.subject_staff));
    }
    // A choice not saved yet (made before the ticket loaded, or before another form was sent) is kept.
    const saved = t.subject_staff || "";
    if (staff.value === (staff.dataset.saved || "") || staff.value === saved) staff.value = saved;
    staff.dataset.saved = saved;

    const callback = t.kind === "callback";
    document.getElementById("callback-panel").hidden = !callback;
    document.getElementById("convert").hidden = !callback || Boolean(t.linked_ticket_no);
    document.getElementById("call-attempts").replaceChildren(...t.call_attempts.map((attempt) => el("li",
      when(attempt.at) + " " + (attempt.actor_name || "") + " " + attempt.outcome_label + (attempt.note ? "：" + attempt.note : ""))));
    document.getElementById("notes").replaceChildren(...t.notes.map(
      (note) => el("li", note.author_name + " · " + when(note.at) + "：" + note.body)));
    document.getElementById("audit").replaceChildren(...t.events.map((event) => el("li",
      when(event.at) + " " + event.actor_name + " " + event.field_label + "：" +
      shown(event, "old_value") + " → " + shown(event, "new_value"))));
    // Not the owner (and not a supervisor): the page is for reading until the ticket is claimed.
    const mayChange = supervisor || t.assignee === me;
    for (const form of document.querySelectorAll(".side-actions form:not(#assign)")) {
      for (const control of form.elements) control.disabled = !mayChange && form.id !== "note";
    }
  };

  const load = async () => {
    try { render(await api("GET", base)); } catch (error) { notice(error.message); }
  };

  const formJson = (form) => {
    const body = Object.fromEntries(new FormData(form).entries());
    body.version = ticket ? ticket.version : 0;
    return body;
  };

  const post = async (path, body, done) => {
    try {
      const result = await api("POST", base + path, body);
      if (result.ticket_no === number) render(result);
      notice(done, "ok");
      return result;
    } catch (error) {
      notice(error.message);
      return null;
    }
  };

  const onSubmit = (form, path, done, extra) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const result = await post(path, { ...formJson(form), ...(extra || {}) }, done);
        if (result && result.url) location.href = result.url;
        else if (result && !("keep" in form.dataset)) form.reset();  // data-keep: the form shows what was saved
      } finally { button.disabled = false; }
    });
  };

  // 暂存: the step's content is saved without moving on (required fields may still be empty).
  for (const draft of document.querySelectorAll("form.step button.draft")) {
    draft.addEventListener("click", async () => {
      draft.disabled = true;
      try { await post("/content", formJson(draft.form), "已暂存"); } finally { draft.disabled = false; }
    });
  }
  for (const form of document.querySelectorAll("form.step")) {
    onSubmit(form, "/advance", "已进入" + STEP_LABELS[form.dataset.target], { target: form.dataset.target });
  }
  const assign = document.getElementById("assign");
  if (assign) onSubmit(assign, "/assign", "已分派");
  onSubmit(document.getElementById("subject-staff"), "/subject-staff", "已保存");
  onSubmit(document.getElementById("extension"), "/extension", supervisor ? "期限已延长" : "延长申请已提交");
  onSubmit(document.getElementById("pause"), "/pauses", "已暂停计时");
  onSubmit(document.getElementById("withdraw"), "/withdraw", "已按撤诉结案");
  const reopen = document.getElementById("reopen");
  if (reopen) onSubmit(reopen, "/reopen", "工单已重新打开");
  const typicalForm = document.getElementById("typical-case");
  if (typicalForm) {
    // Not reset after saving: the texts stay on the page as they were saved.
    typicalForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const save = typicalForm.querySelector("button[type=submit]");
      save.disabled = true;
      try { await post("/typical-case", formJson(typicalForm), "已保存为典型案例"); } finally { save.disabled = false; }
    });
    onSubmit(document.getElementById("malicious"), "/malicious", "已标记为恶意投诉");
  }
  onSubmit(document.getElementById("note"), "/notes", "备注已添加");
  onSubmit(document.getElementById("call-attempt"), "/call-attempts", "回电已记录");
  onSubmit(document.getElementById("convert"), "/convert", "已转为投诉工单");

  const button = (id, path, done, question) => {
    const node = document.getElementById(id);
    if (!node) return;
    node.addEventListener("click", async () => {
      if (question && !confirm(question)) return;
      node.disabled = true;
      try {
        const result = await post(path, { version: ticket ? ticket.version : 0 }, done);
        if (result && result.url) location.href = result.url;
      } finally { node.disabled = false; }
    });
  };
  button("claim", "/claim", "已认领");
  button("release", "/release", "已退回工单池", "确定把工单退回工单池吗？");
  onSubmit(document.getElementById("complex"), "/complex", "已标记为复杂案件");
  button("approve-extension", "/extension/approve", "已批准延长");
  const rejectExtension = document.getElementById("reject-extension");
  if (rejectExtension) onSubmit(rejectExtension, "/extension/reject", "已驳回延长申请");
  button("end-pause", "/pauses/end", "已恢复计时");
  button("follow-up-question", "/follow-up-question", "回访问题已提交发送", "确定向投诉人发送回访问题吗？");
  button("untypical-case", "/typical-case/remove", "已取消典型案例", "确定取消典型案例吗？");
  button("unmalicious", "/malicious/remove", "已取消恶意投诉标记", "确定取消恶意投诉标记吗？");


  document.getElementById("reveal-phone").addEventListener("click", async () => {
    try {
      const { phone_number: phone } = await api("POST", base + "/phone");
      notice("完整号码：" + phone, "ok");
    } catch (error) { notice(error.message); }
  });

  api("GET", base + "/transcript").then((data) => {
    const lines = data.transcript.map(transcriptLine);
    document.getElementById("transcript").replaceChildren(...lines);
    document.getElementById("transcript-empty").hidden = lines.length > 0;
    if (data.warning) notice(data.warning);
  }).catch((error) => notice(error.message));
  load();
})();
