// Supervisors: the live alert badge on every page (server-sent events) and the /alerts list.
"use strict";

(() => {
  const badge = document.getElementById("alert-badge");
  const KIND_CLASSES = { overdue: "due-overdue", due_soon: "due-due_soon", risk: "risk" };

  const renderList = (alerts) => {
    const rows = document.getElementById("alert-rows");
    rows.replaceChildren(...alerts.map((alert) => {
      const tr = el("tr", null, KIND_CLASSES[alert.kind] || "");
      tr.dataset.alertId = alert.id;
      const ticket = el("td");
      if (alert.ticket_no) {
        const link = el("a", alert.ticket_no);
        link.href = "/tickets/" + encodeURIComponent(alert.ticket_no);
        ticket.append(link);
      }
      const action = el("td");
      const ack = el("button", "确认", "secondary");
      ack.type = "button";
      ack.addEventListener("click", async () => {
        ack.disabled = true;
        try {
          await api("POST", "/api/alerts/" + alert.id + "/acknowledge");
          tr.remove();
        } catch (error) { notice(error.message); ack.disabled = false; }
      });
      action.append(ack);
      tr.append(el("td", when(alert.created_at)), el("td", alert.kind_label), ticket, el("td", alert.message), action);
      return tr;
    }));
    document.getElementById("alerts-empty").hidden = alerts.length > 0;
  };

  const onSnapshot = (data) => {
    badge.textContent = data.open;
    badge.hidden = data.open === 0;
    if (page === "alerts") {
      document.getElementById("open-count").textContent = data.open;
      renderList(data.alerts);
    }
  };

  stream("/api/alerts/stream", onSnapshot);
})();
