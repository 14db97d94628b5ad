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

// Completions for the search box (an ARIA combobox over /api/suggest): the
// word being typed is completed from the archive's headline words and byline
// names. Arrow keys move through them, Enter takes one, Escape closes the list.
document.addEventListener("DOMContentLoaded", () => {
  const input = document.querySelector("input[role=combobox][data-suggest-url]");
  const list = input && document.getElementById(input.getAttribute("aria-controls"));
  if (!input || !list) return;
  const KINDS = { name: "作者", term: "词" };
  let options = [], active = -1, timer = null, pending = null;

  const close = () => {
    list.hidden = true;
    list.replaceChildren();
    options = [];
    active = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  };
  const lastWord = () => {
    const match = input.value.match(/(\S*)$/);
    return match ? match[1] : "";
  };
  const highlight = (index) => {
    active = index;
    options.forEach((li, i) => li.setAttribute("aria-selected", String(i === index)));
    if (index >= 0) {
      input.setAttribute("aria-activedescendant", options[index].id);
      options[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  };
  const choose = (index) => {
    const text = options[index].dataset.value;
    input.value = input.value.replace(/(\S*)$/, text);
    close();
    input.focus();
  };
  const show = (completions) => {
    list.replaceChildren();
    options = completions.map((c, i) => {
      const li = document.createElement("li");
      li.id = `q-completion-${i}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.dataset.value = c.text;
      const kind = document.createElement("span");
      kind.className = "kind";
      kind.textContent = KINDS[c.kind] || "";
      li.append(document.createTextNode(c.text), kind);
      li.addEventListener("mousedown", (event) => event.preventDefault());  // keep the focus in the box
      li.addEventListener("click", () => choose(i));
      list.append(li);
      return li;
    });
    active = -1;
    list.hidden = options.length === 0;
    input.setAttribute("aria-expanded", String(options.length > 0));
  };
  const fetchCompletions = () => {
    const prefix = lastWord();
    if (!prefix || prefix.includes(":") || prefix.includes("：") || prefix.length > 20) {
      close();
      return;
    }
    if (pending) pending.abort();
    pending = new AbortController();
    const url = `${input.dataset.suggestUrl}?q=${encodeURIComponent(prefix)}`;
    fetch(url, { signal: pending.signal, headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : { completions: [] }))
      .then((data) => { if (lastWord() === prefix) show(data.completions || []); })
      .catch(() => {});
  };

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(fetchCompletions, 150);
  });
  input.addEventListener("keydown", (event) => {
    if (event.isComposing) return;  // the input method is still choosing characters
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (list.hidden) {
        if (event.key === "ArrowDown") { event.preventDefault(); fetchCompletions(); }
        return;
      }
      event.preventDefault();
      // -1 is the box itself: past the last option (or above the first) the focus returns to what was typed
      let next = active + (event.key === "ArrowDown" ? 1 : -1);
      if (next >= options.length) next = -1;
      if (next < -1) next = options.length - 1;
      highlight(next);
    } else if (event.key === "Enter" && !list.hidden && active >= 0) {
      event.preventDefault();  // take the completion; a second Enter searches
      choose(active);
    } else if (event.key === "Escape" && !list.hidden) {
      event.preventDefault();  // close the list only, keep what was typed
      close();
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 100));
});
