// The issuer workbench: beside the final rate, the premium it gives (the server still decides).
(function () {
  "use strict";
  var input = document.querySelector("[data-premium-for]");
  if (!input) return;
  var out = document.getElementById(input.getAttribute("data-premium-for"));
  var insured = parseFloat(input.getAttribute("data-insured"));
  var minimum = parseFloat(input.getAttribute("data-minimum"));
  var template = out.getAttribute("data-template");
  function show() {
    var rate = parseFloat(input.value.replace("%", "").trim());
    if (!(rate > 0 && rate < 100) || !(insured > 0)) {
      out.textContent = "";
      return;
    }
    var premium = Math.max(Math.round(insured * rate) / 100, minimum || 0);
    var shown = premium.toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    out.textContent = template.replace("{amount}", "¥" + shown);
  }
  input.addEventListener("input", show);
  show();
})();
