// Supervisors: saving the intent chosen for a group of messages on the /review page.
"use strict";

(() => {
  for (const row of document.querySelectorAll("#review-rows tr[data-key]")) {
    const select = row.querySelector(".review-intent");
    const save = row.querySelector(".review-save");
    save.addEventListener("click", async () => {
      if (!select.value) { notice("请先选择意图"); return; }
      save.disabled = true;
      try {
        await api("POST", "/api/review", { key: row.dataset.key, intent: select.value });
        row.remove();
      } catch (error) { notice(error.message); save.disabled = false; }
    });
  }
})();
