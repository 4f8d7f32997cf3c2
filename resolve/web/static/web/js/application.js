// A module script (type="module"), so the import below is resolved against this file's URL.
// Starts GOV.UK Frontend's components. Every page works without it; this only enhances.
import { initAll } from "../../govuk/govuk-frontend.min.js";

initAll();

// Fields that matter only for some answers of a radio question (the bypass fields, only when a
// challenge starts after the first stage): shown for those answers, hidden for the rest. Without
// JavaScript they are always shown, and their labels say when they apply.
for (const block of document.querySelectorAll("[data-app-reveal-radios]")) {
  const radios = document.querySelectorAll(`input[type="radio"][name="${block.dataset.appRevealRadios}"]`);
  const hiddenFor = block.dataset.appRevealUnless;
  const update = () => {
    const chosen = [...radios].find((radio) => radio.checked);
    block.hidden = !chosen || chosen.value === hiddenFor;
  };
  for (const radio of radios) {
    radio.addEventListener("change", update);
  }
  update();
}
