// Choosing a mode with the mouse or touch re-runs the search at once; moving
// through the modes with the arrow keys only selects one (Enter searches).
// Everything else works without script.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[role=search]");
  if (!form) return;
  const modes = form.querySelector("fieldset.modes");
  let byArrowKey = false;
  modes.addEventListener("keydown", (event) => { byArrowKey = event.key.startsWith("Arrow"); });
  modes.addEventListener("change", () => {
    if (!byArrowKey && form.elements.q.value.trim()) form.requestSubmit();
    byArrowKey = false;
  });
});
