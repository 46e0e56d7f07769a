/* The sign-in pages' small helpers: 换一张 for the picture check, 获取验证码 on 新用户注册 with its
   countdown, and the countdown before 重新获取验证码. Every page still works without them. */
(function () {
  "use strict";

  function refreshCaptcha(scope) {
    var button = scope.querySelector("[data-captcha-refresh]");
    if (!button) return;
    fetch(button.dataset.refreshUrl, { headers: { "X-Requested-With": "XMLHttpRequest" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var key = scope.querySelector("[data-captcha-key]");
        var image = scope.querySelector("[data-captcha-image]");
        var answer = scope.querySelector("[data-captcha-answer]");
        if (key) key.value = data.key;
        if (image) image.src = data.image_url;
        if (answer) answer.value = "";
      });
  }

  // 换一张, or a click on the picture (delegated: a form may be redrawn).
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-captcha-refresh], [data-captcha-image]") : null;
    if (target) refreshCaptcha(target.closest("form") || document);
  });

  function countdown(seconds, tick, done) {
    var left = seconds;
    tick(left);
    var timer = setInterval(function () {
      left -= 1;
      if (left <= 0) { clearInterval(timer); done(); } else { tick(left); }
    }, 1000);
  }

  // 重新获取验证码 waits out the interval between two texts.
  document.querySelectorAll("[data-countdown]").forEach(function (label) {
    var link = document.querySelector(label.dataset.countdownTarget);
    if (!link) return;
    link.classList.add("is-waiting");
    link.setAttribute("aria-disabled", "true");
    countdown(parseInt(label.dataset.countdown, 10) || 60, function (left) {
      label.textContent = left + "秒后可";
    }, function () {
      label.textContent = "";
      link.classList.remove("is-waiting");
      link.removeAttribute("aria-disabled");
    });
  });

  function fieldError(form, name, message) {
    var input = form.querySelector("[name=" + name + "]");
    var row = input && input.closest(".form-row");
    var error = row && row.querySelector(".field-error");
    if (!row || !error) return false;
    error.textContent = message;
    row.classList.toggle("has-error", !!message);
    if (message) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
    return true;
  }

  // 验证码登录 on one page: 获取验证码 sends the code (allauth's request form, posted in the background), then
  // the code field and 登录 appear below, and the button counts down to 重新获取验证码.
  document.querySelectorAll("[data-code-request]").forEach(function (form) {
    var login = form.parentNode.querySelector("[data-code-login]");
    if (!login || !window.fetch || !window.DOMParser) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("[data-code-send]");
      var status = form.querySelector("[data-code-status]");
      if (button.disabled) return;
      button.disabled = true;
      status.textContent = "正在发送…";
      status.className = "field-status";
      fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
        .then(function (r) { return r.text().then(function (html) { return { response: r, html: html }; }); })
        .then(function (res) {
          var path = new URL(res.response.url, location.href).pathname;
          if (res.response.ok && path === form.dataset.confirmPath) {
            var sent = new DOMParser().parseFromString(res.html, "text/html").querySelector(".auth-lead strong");
            status.textContent = "验证码已发送至 " + (sent ? sent.textContent : "您的手机") + "，10分钟内有效";
            status.className = "field-status is-ok";
            login.hidden = false;
            button.classList.remove("is-primary");
            login.querySelector("[name=code]").focus();
            refreshCaptcha(form);  // the picture check was used: a new one for 重新获取
            countdown(60, function (left) { button.textContent = left + "秒后可重新获取"; }, function () {
              button.textContent = button.dataset.resendText;
              button.disabled = false;
            });
            return;
          }
          // Refused: show the page's answer (errors beside their fields) in place of the form.
          var fresh = new DOMParser().parseFromString(res.html, "text/html").querySelector("[data-code-request]");
          if (fresh) { form.innerHTML = fresh.innerHTML; } else {
            status.textContent = "发送失败，请重试";
            status.className = "field-status is-error";
            button.disabled = false;
          }
        }, function () {
          status.textContent = "网络错误，请重试";
          status.className = "field-status is-error";
          button.disabled = false;
        });
    });
  });

  // 新用户注册: 获取验证码 after the picture check, then a countdown on the button.
  document.querySelectorAll("[data-signup-code]").forEach(function (button) {
    var form = button.closest("form");
    var status = form.querySelector("[data-sms-status]");
    var label = button.textContent;
    button.addEventListener("click", function () {
      var phone = form.querySelector("[name=phone]");
      var answer = form.querySelector("[data-captcha-answer]");
      var key = form.querySelector("[data-captcha-key]");
      ["phone", "captcha", "sms_code"].forEach(function (name) { fieldError(form, name, ""); });
      if (!phone.value.trim()) { fieldError(form, "phone", "请填写手机号码"); phone.focus(); return; }
      if (answer && !answer.value.trim()) { fieldError(form, "captcha", "请先填写图形验证码"); answer.focus(); return; }
      var body = new FormData();
      body.append("phone", phone.value.trim());
      body.append("captcha_key", key ? key.value : "");
      body.append("captcha", answer ? answer.value.trim() : "");
      body.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
      button.disabled = true;
      status.textContent = "正在发送…";
      status.className = "field-status";
      fetch(button.dataset.url, { method: "POST", body: body, credentials: "same-origin" })
        .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
        .then(function (res) {
          if (res.ok) {
            status.textContent = "验证码已发送至 " + res.data.phone + "，10分钟内有效";
            status.className = "field-status is-ok";
            var code = form.querySelector("[name=sms_code]");
            if (code) code.focus();
            countdown(res.data.resend_seconds || 60, function (left) {
              button.textContent = left + "秒后重新获取";
            }, function () { button.textContent = label; button.disabled = false; });
          } else {
            status.textContent = "";
            var field = res.data.field === "captcha" ? "captcha" : "phone";
            if (!fieldError(form, field, res.data.message || "发送失败，请重试")) {
              status.textContent = res.data.message || "发送失败，请重试";
              status.className = "field-status is-error";
            }
            button.disabled = false;
            refreshCaptcha(form);  // a picture check is good for one try
          }
        }, function () {
          status.textContent = "网络错误，请重试";
          status.className = "field-status is-error";
          button.disabled = false;
        });
    });
  });
})();
