// The ticket list: filters in the query string, rows from /api/tickets, text only.
"use strict";

(() => {
  const form = document.getElementById("filters");
  const rows = document.getElementById("ticket-rows");
  let page = 1;
  let pages = 1;

  const params = () => {
    const query = new URLSearchParams();
    for (const [name, value] of new FormData(form).entries()) {
      if (String(value).trim() !== "") query.set(name, String(value).trim());
    }
    if (page > 1) query.set("page", page);
    return query;
  };

  const chip = (text, className) => el("span", text, "tag " + (className || ""));

  const countGroup = (target, title, counts, labels, filterName) => {
    target.replaceChildren(el("strong", title));
    for (const [value, label] of Object.entries(labels)) {
      const button = el("button", label + " " + (counts[value] || 0), "chip due-" + value);
      button.type = "button";
      button.addEventListener("click", () => {
        form[filterName].value = form[filterName].value === value ? "" : value;
        page = 1;
        load();
      });
      target.append(button);
    }
  };

  const optionLabels = (select) => Object.fromEntries(
    [...select.options].filter((option) => option.value).map((option) => [option.value, option.textContent]));

  const daysLeft = (ticket) => {
    if (ticket.days_left === null || ticket.days_left === undefined) return "";
    if (ticket.days_left < 0) return "超期" + -ticket.days_left + "天";
    return ticket.days_left + "天";
  };

  const render = (data) => {
    countGroup(document.getElementById("status-counts"), "状态", data.counts.status, optionLabels(form.status), "status");
    countGroup(document.getElementById("due-counts"), "期限", data.counts.deadline_state,
      optionLabels(form.deadline_state), "deadline_state");
    rows.replaceChildren(...data.tickets.map((ticket) => {
      const marks = [ticket.deadline_state ? "due-" + ticket.deadline_state : "", ticket.risk_flags.length ? "risk" : ""];
      const tr = el("tr", null, marks.join(" ").trim());
      tr.dataset.ticketNo = ticket.ticket_no;
      const link = el("a", ticket.ticket_no);
      link.href = "/tickets/" + encodeURIComponent(ticket.ticket_no);
      const flags = el("td");
      for (const label of ticket.risk_labels) flags.append(chip(label, "risk"));
      const due = el("td");
      due.append(el("span", ticket.deadline + " "));
      if (ticket.deadline_state) due.append(chip(ticket.deadline_state_label, "due-" + ticket.deadline_state));
      const first = el("td");
      first.append(link);
      tr.append(first, el("td", ticket.kind_label), el("td", ticket.status_label), el("td", ticket.category_label),
        el("td", ticket.complainant_name), el("td", ticket.phone_masked),
        el("td", ticket.assignee_name || "未分派", ticket.assignee ? "owner" : "owner none"), flags,
        el("td", when(ticket.received_at)), due, el("td", daysLeft(ticket), "days-left"));
      return tr;
    }));
    document.getElementById("tickets-empty").hidden = data.tickets.length > 0;
    pages = Math.max(1, Math.ceil(data.total / data.page_size));
    document.getElementById("page-info").textContent = "第 " + data.page + " / " + pages + " 页，共 " + data.total + " 条";
    document.getElementById("prev").disabled = data.page <= 1;
    document.getElementById("next").disabled = data.page >= pages;
  };

  const load = async () => {
    const query = params();
    history.replaceState(null, "", "/tickets" + (query.toString() ? "?" + query : ""));
    try {
      render(await api("GET", "/api/tickets?" + query));
    } catch (error) { notice(error.message); }
  };

  // The query string of a shared or reloaded link fills the form.
  const initial = new URLSearchParams(location.search);
  for (const [name, value] of initial.entries()) {
    if (form.elements[name]) form.elements[name].value = value;
  }
  page = Math.max(1, parseInt(initial.get("page") || "1", 10) || 1);

  form.addEventListener("submit", (event) => { event.preventDefault(); page = 1; load(); });
  form.addEventListener("reset", () => { setTimeout(() => { page = 1; load(); }, 0); });
  for (const select of form.querySelectorAll("select")) {
    select.addEventListener("change", () => { page = 1; load(); });
  }
  document.getElementById("prev").addEventListener("click", () => { page = Math.max(1, page - 1); load(); });
  document.getElementById("next").addEventListener("click", () => { page = Math.min(pages, page + 1); load(); });
  load();
})();
