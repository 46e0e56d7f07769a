/*
 * Development stand-in for a CA driver: signs with the demo enterprise key in the browser
 * (WebCrypto, ECDSA P-256 with SHA-256). Served only with DEBUG on, at /dev/ca-driver.js.
 */
(function () {
  "use strict";
  var certificate = __CERTIFICATE__;
  var keyPem = __KEY__;

  function pemBytes(pem) {
    var body = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
    var raw = atob(body);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes.buffer;
  }

  function base64(buffer) {
    var bytes = new Uint8Array(buffer);
    var text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text);
  }

  window.BaohanCaDriver = {
    demo: true,
    sign: function (challenge) {
      return crypto.subtle
        .importKey("pkcs8", pemBytes(keyPem), { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"])
        .then(function (key) {
          return crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, new TextEncoder().encode(challenge));
        })
        .then(function (signature) {
          return { certificate: certificate, signature: base64(signature), intermediates: [] };
        });
    },
  };
})();
