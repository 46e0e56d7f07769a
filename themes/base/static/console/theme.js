/* The theme page: each colour picker and its text field show the same colour. */
(function () {
  "use strict";
  document.querySelectorAll("input[type=color][data-colour-for]").forEach(function (picker) {
    var text = document.getElementById(picker.dataset.colourFor);
    if (!text) return;
    picker.addEventListener("input", function () { text.value = picker.value; });
    text.addEventListener("input", function () {
      if (/^#[0-9a-fA-F]{6}$/.test(text.value.trim())) picker.value = text.value.trim().toLowerCase();
    });
  });
})();
