/*
 * CA-key login (证书登录).
 *
 * The page asks the platform for a one-time challenge, hands it to the bidder's CA driver to sign
 * with the enterprise key, and posts the answer. The driver is whatever the CA ships; it is
 * reached through one hook that a small adapter script for that driver defines:
 *
 *   window.BaohanCaDriver = {
 *     // challenge: the text to sign, e.g. "baohan-login|<centre>|<nonce>" (sign its UTF-8 bytes).
 *     // Resolve with the enterprise certificate (PEM, or base64 DER), the signature in base64
 *     // (RSA PKCS#1 v1.5 with SHA-256, or ECDSA with SHA-256 as DER or raw r||s), and any
 *     // intermediate CA certificates the key holds.
 *     sign: async (challenge) => ({ certificate, signature, intermediates: [] })
 *   };
 *
 * A challenge is valid once, for a short time; a refused answer asks for a new one.
 */
(function () {
  "use strict";
  var box = document.getElementById("ca");
  var button = document.getElementById("ca-login-button");
  var error = document.getElementById("ca-login-error");
  if (!box || !button) return;

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function show(message) {
    error.textContent = message;
    error.hidden = false;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: body ? JSON.stringify(body) : "{}",
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) throw new Error(data.message || "登录失败");
        return data;
      });
    });
  }

  button.addEventListener("click", function () {
    error.hidden = true;
    var driver = window.BaohanCaDriver;
    if (!driver || typeof driver.sign !== "function") {
      show("未检测到CA驱动：请插入CA锁，安装证书驱动后刷新页面。");
      return;
    }
    button.disabled = true;
    post(box.dataset.challengeUrl)
      .then(function (challenge) {
        return Promise.resolve(driver.sign(challenge.challenge)).then(function (answer) {
          return post(box.dataset.loginUrl, {
            nonce: challenge.nonce,
            certificate: answer.certificate,
            signature: answer.signature,
            intermediates: answer.intermediates || [],
          });
        });
      })
      .then(function (result) {
        window.location.assign(result.redirect || "/account/");
      })
      .catch(function (err) {
        show(err && err.message ? err.message : "登录失败");
      })
      .finally(function () {
        button.disabled = false;
      });
  });
})();
