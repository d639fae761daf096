// Comptoir's only script: no framework. Pages work without it; it adds conveniences.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // A select marked data-autosubmit submits its form when changed (organization, language).
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }
  // Entry lines: "add a line" clones the last line with empty fields; totals follow the input.
  const lines = document.querySelector("[data-lines]");
  if (!lines) return;
  const total = (name) => [...lines.querySelectorAll(`input[name="${name}"]`)]
    .map((input) => parseFloat(input.value.replace(",", ".")) || 0).reduce((a, b) => a + b, 0);
  const refresh = () => {
    const debit = total("debit"), credit = total("credit");
    const out = document.querySelector("[data-balance]");
    if (out) out.textContent = (debit - credit).toFixed(2);
  };
  document.querySelector("[data-add-line]")?.addEventListener("click", (event) => {
    event.preventDefault();
    const rows = lines.querySelectorAll("tr[data-line]");
    const copy = rows[rows.length - 1].cloneNode(true);
    for (const input of copy.querySelectorAll("input")) input.value = "";
    lines.appendChild(copy);
  });
  lines.addEventListener("click", (event) => {
    if (!event.target.matches("[data-remove-line]")) return;
    event.preventDefault();
    if (lines.querySelectorAll("tr[data-line]").length > 2) event.target.closest("tr").remove();
    refresh();
  });
  lines.addEventListener("input", refresh);
  refresh();
});
