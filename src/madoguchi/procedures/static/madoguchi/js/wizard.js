// Progressive enhancement of the resident's pages; each works without this file.
"use strict";
document.addEventListener("keydown", (event) => {
  // Enter in a bank or branch search box runs that search rather than "next".
  const input = event.target;
  if (event.key !== "Enter" || !(input instanceof HTMLInputElement)) return;
  const buttonId = input.dataset.searchButton;
  const button = buttonId ? document.getElementById(buttonId) : null;
  if (button) {
    event.preventDefault();
    button.click();
  }
});
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-print]")) {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }
});
