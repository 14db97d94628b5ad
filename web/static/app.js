// Switching the mode re-runs the search at once; everything else works without script.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[role=search]");
  if (!form) return;
  form.querySelectorAll("input[name=mode]").forEach((radio) => {
    radio.addEventListener("change", () => {
      if (form.elements.q.value.trim()) form.requestSubmit();
    });
  });
});
