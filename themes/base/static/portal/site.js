/* Small helpers for the bidder's pages; every page works without them, they only make it easier. */
(function () {
  "use strict";

  function csrf() {
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // A form is sent once: the button shows progress and a second click does nothing.
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent === "1") { event.preventDefault(); return; }
      form.dataset.sent = "1";
      var button = event.submitter || form.querySelector("button[type=submit]");
      if (button && button.dataset.busyText) {
        if (button.name) {  // keep the pressed button's value once it is disabled
          var hidden = document.createElement("input");
          hidden.type = "hidden"; hidden.name = button.name; hidden.value = button.value;
          form.appendChild(hidden);
        }
        button.textContent = button.dataset.busyText;
        button.setAttribute("aria-busy", "true");
        button.disabled = true;
      }
    });
  });

  // 复制: the account number, remark code and amount go to the clipboard.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var target = document.querySelector(button.dataset.copy);
      if (!target) return;
      var text = target.textContent.trim();
      var done = function () { var old = button.textContent; button.textContent = "已复制"; setTimeout(function () { button.textContent = old; }, 1500); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { fallback(text); done(); });
      } else { fallback(text); done(); }
    });
  });
  function fallback(text) {
    var area = document.createElement("textarea");
    area.value = text; area.setAttribute("readonly", ""); area.style.position = "absolute"; area.style.left = "-9999px";
    document.body.appendChild(area); area.select();
    try { document.execCommand("copy"); } catch (e) { /* the text stays selectable on the page */ }
    document.body.removeChild(area);
  }

  // 换一张: a fresh picture code.
  document.querySelectorAll("[data-captcha-refresh]").forEach(function (button) {
    button.addEventListener("click", function () {
      fetch("/api/v1/captcha", { method: "POST", headers: { "X-CSRFToken": csrf() }, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          document.querySelectorAll("[data-captcha-key]").forEach(function (k) { k.value = data.key; });
          document.querySelectorAll(".captcha-image").forEach(function (img) { img.src = data.image_url; });
        });
    });
  });

  // 获取验证码: the picture code first, then the SMS code to the operator's phone on record.
  document.querySelectorAll("[data-sms-send]").forEach(function (button) {
    button.addEventListener("click", function () {
      var form = button.closest("form");
      var status = form.querySelector("[data-sms-status]");
      var answer = form.querySelector("[data-captcha-answer]");
      var key = form.querySelector("[data-captcha-key]");
      var phone = form.querySelector("input[name=operator_phone]");
      if (!answer || !answer.value.trim()) { status.textContent = "请先填写图形验证码"; status.className = "field-status is-error"; answer && answer.focus(); return; }
      button.disabled = true;
      status.textContent = "正在发送…"; status.className = "field-status";
      fetch("/api/v1/sms-codes", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
        body: JSON.stringify({ purpose: button.dataset.smsSend, captcha_key: key ? key.value : "", captcha: answer.value.trim(), phone: phone ? phone.value.trim() : "" })
      }).then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (res) {
          if (res.ok) {
            status.textContent = "验证码已发送至 " + res.body.phone;
            status.className = "field-status is-ok";
            var left = 60;
            var tick = setInterval(function () {
              left -= 1; button.textContent = left + "秒后重发";
              if (left <= 0) { clearInterval(tick); button.textContent = "获取验证码"; button.disabled = false; }
            }, 1000);
          } else {
            status.textContent = res.body.message || "发送失败，请重试";
            status.className = "field-status is-error";
            button.disabled = false;
            var refresh = form.querySelector("[data-captcha-refresh]");
            if (refresh) refresh.click();  // a picture code is good for one try
          }
        }, function () { status.textContent = "网络错误，请重试"; status.className = "field-status is-error"; button.disabled = false; });
    });
  });

  // The issuer table follows the deposit kind and guarantee kind chosen; multi-select counts.
  var table = document.querySelector(".issuer-table");
  if (table) {
    var form = table.closest("form");
    var sync = function () {
      var kind = (form.querySelector("[data-issuer-kind-input]:checked") || form.querySelector("input[name=issuer_kind]") || {}).value;
      var deposit = (form.querySelector("[data-deposit-kind-input]:checked") || form.querySelector("input[name=deposit_kind]") || {}).value;
      table.querySelectorAll("tbody tr").forEach(function (row) {
        var show = row.dataset.kind === kind && (" " + row.dataset.depositKinds + " ").indexOf(" " + deposit + " ") >= 0;
        row.hidden = !show;
        if (!show) row.querySelector("input").checked = false;
      });
      var count = form.querySelector("[data-issuer-count]");
      if (count) {
        var n = table.querySelectorAll("tbody input:checked").length;
        count.textContent = n ? "您已选择 " + n + " 家出函机构" : "";
      }
    };
    form.addEventListener("change", sync);
    sync();
  }

  // 纸质 / 电子: show only what the chosen invoice form needs.
  var invoice = document.querySelector(".invoice-form");
  if (invoice) {
    var toggle = function () {
      var chosen = invoice.querySelector("[data-invoice-form]:checked");
      var paper = chosen && chosen.value === "paper";
      invoice.querySelectorAll("[data-invoice-paper]").forEach(function (el) { el.hidden = !paper; });
      invoice.querySelectorAll("[data-invoice-electronic]").forEach(function (el) { el.hidden = paper; });
      // Only the types the pack allows for the chosen form (data-invoice-types); the registered
      // details only for a 专用发票.
      var type = invoice.querySelector("select[name=type]");
      if (type && chosen) {
        var allowed = (chosen.getAttribute("data-invoice-types") || "").split(" ");
        var first = null;
        Array.prototype.forEach.call(type.options, function (option) {
          option.disabled = allowed.indexOf(option.value) < 0;
          if (!option.disabled && first === null) first = option.value;
        });
        if (type.options[type.selectedIndex] && type.options[type.selectedIndex].disabled && first !== null) {
          type.value = first;
        }
      }
      invoice.querySelectorAll("[data-invoice-special]").forEach(function (el) { el.hidden = !(type && type.value === "vat_special"); });
    };
    invoice.addEventListener("change", toggle);
    toggle();
  }

  // Upload limits checked before sending, with the field's own words.
  document.querySelectorAll("input[type=file][data-max-mb]").forEach(function (input) {
    input.addEventListener("change", function () {
      var limit = parseFloat(input.dataset.maxMb) * 1024 * 1024;
      var error = document.getElementById("e-" + input.name);
      var file = input.files && input.files[0];
      if (file && file.size > limit && error) {
        error.textContent = "文件不能超过" + input.dataset.maxMb + "M";
        input.setAttribute("aria-invalid", "true");
        input.value = "";
      } else if (error) { error.textContent = ""; input.removeAttribute("aria-invalid"); }
    });
  });
})();
