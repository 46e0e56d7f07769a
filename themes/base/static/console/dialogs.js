/* Console dialogs: a link marked data-dialog opens its <dialog> in place (without script, the link
   leads to a page of its own); a button marked data-dialog-close closes it. */
(function () {
  "use strict";
  document.querySelectorAll("a[data-dialog]").forEach(function (link) {
    var dialog = document.getElementById(link.dataset.dialog);
    if (!dialog || typeof dialog.showModal !== "function") return;
    link.addEventListener("click", function (event) {
      event.preventDefault();
      if (dialog.open) dialog.close();
      dialog.showModal();
    });
  });
  document.querySelectorAll("dialog [data-dialog-close]").forEach(function (button) {
    button.addEventListener("click", function () { button.closest("dialog").close(); });
  });
})();
