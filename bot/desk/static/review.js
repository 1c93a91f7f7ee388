// Supervisors and trainers: saving the intent (and entities) chosen for a group of messages on /review.
"use strict";

(() => {
  const entityRow = document.getElementById("entity-row");
  for (const row of document.querySelectorAll("#review-rows tr[data-key]")) {
    const select = row.querySelector(".review-intent");
    const save = row.querySelector(".review-save");
    const list = row.querySelector(".review-entity-list");
    row.querySelector(".review-add-entity").addEventListener("click", () => {
      const entity = entityRow.content.firstElementChild.cloneNode(true);
      entity.querySelector(".review-remove-entity").addEventListener("click", () => entity.remove());
      // Only the values of the chosen type are offered (claim_type: medical, …).
      const type = entity.querySelector(".review-entity-type");
      const normalised = entity.querySelector(".review-entity-normalised");
      const offer = () => {
        normalised.value = "";
        for (const option of normalised.querySelectorAll("option[data-entity]")) {
          option.hidden = option.dataset.entity !== type.value;
        }
      };
      type.addEventListener("change", offer);
      offer();
      list.append(entity);
      entity.querySelector(".review-entity-value").focus();
    });
    save.addEventListener("click", async () => {
      if (!select.value) { notice("请先选择意图"); return; }
      const entities = [...list.querySelectorAll(".review-entity")]
        .map((entity) => ({
          entity: entity.querySelector(".review-entity-type").value,
          value: entity.querySelector(".review-entity-value").value,
          normalised: entity.querySelector(".review-entity-normalised").value || null,
        }))
        .filter((entity) => entity.value !== "");
      save.disabled = true;
      try {
        await api("POST", "/api/review", { key: row.dataset.key, intent: select.value, entities });
        row.remove();
      } catch (error) { notice(error.message); save.disabled = false; }
    });
  }
})();
