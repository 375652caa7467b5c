// The profile_list form (KubeSpawner's behaviour): "Other..." in an option's select shows its
// text field and gives it the field name (so only one of the two is submitted); touching an
// option selects its profile.
"use strict";
(() => {
  for (const select of document.querySelectorAll(".profile-option-select")) {
    const box = select.parentElement.querySelector(".unlisted-choice");
    const input = box && box.querySelector("input");
    const sync = () => {
      if (!input) return;
      const other = select.value === "unlisted-choice";
      box.classList.toggle("hidden", !other);
      const [named, unnamed] = other ? [input, select] : [select, input];
      named.setAttribute("name", named.dataset.name);
      unnamed.removeAttribute("name");
    };
    const pick = () => {
      const radio = document.getElementById("profile-item-" + select.dataset.profile);
      if (radio) radio.checked = true;
    };
    select.addEventListener("change", () => { sync(); pick(); });
    select.addEventListener("focus", pick);
    if (input) input.addEventListener("focus", pick);
    sync();
  }
})();
