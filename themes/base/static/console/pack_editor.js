/* The pack editor: YAML highlighting (Ace) and validation in the browser against regions/schema.json
   (js-yaml + Ajv), each problem naming its line, column and key in Chinese. The server stays the
   authority: this only tells earlier. Without script the plain text area works as before. */
(function () {
  "use strict";
  var area = document.getElementById("f-source");
  var host = document.querySelector("[data-pack-editor]");
  if (!area || !host || !window.ace || !window.jsyaml) return;

  window.ace.config.set("loadWorkerFromBlob", false);
  var editor = window.ace.edit(host, {
    theme: "ace/theme/github",
    fontSize: 13,
    minLines: 24,
    maxLines: 48,
    tabSize: 2,
    useSoftTabs: true,
    showPrintMargin: false,
  });
  editor.session.setUseWorker(false);  // the checks below run here, against the pack's own schema
  editor.session.setMode("ace/mode/yaml");
  editor.session.setValue(area.value);
  editor.textInput.getElement().setAttribute("aria-label", host.dataset.label || "YAML");
  area.hidden = true;
  host.hidden = false;
  window.packEditor = editor;

  var list = document.getElementById("client-problems");
  var TYPES = { string: "文本", integer: "整数", number: "数字", boolean: "true 或 false", array: "列表",
    object: "“键: 值”的映射", "null": "空（null）" };

  function key(path) {
    return path.map(function (p, i) { return typeof p === "number" ? "[" + p + "]" : (i ? "." : "") + p; }).join("");
  }

  /* Where ``path`` is written: the key's line and column (1-based); for a key not written, its parent's. */
  var KEY = /^(\s*)((?:-\s+)*)(["']?)([^"'#:\s][^"'#:]*?)\3\s*:(\s|$)/;
  var ITEM = /^(\s*)-(\s|$)/;
  function lineOf(lines, path) {
    var from = 0, to = lines.length, at = [1, 1], i;
    function content(j) { var t = lines[j].trim(); return t && t.charAt(0) !== "#"; }
    function col(j) { return lines[j].length - lines[j].replace(/^\s*/, "").length; }
    for (var s = 0; s < path.length; s++) {
      var seg = path[s], hit = -1, stop = to;
      if (typeof seg === "number") {
        var dash = -1, n = -1;
        for (i = from; i < to; i++) {
          var m = content(i) && ITEM.exec(lines[i]);
          if (!m) continue;
          if (dash < 0) dash = m[1].length;
          if (m[1].length !== dash) continue;
          n += 1;
          if (n === seg) { hit = i; break; }
        }
        if (hit < 0) return at;
        for (i = hit + 1; i < to; i++) { if (content(i) && col(i) <= dash) { stop = i; break; } }
        at = [hit + 1, dash + 1];
        from = hit;
      } else {
        var want = -1;
        for (i = from; i < to; i++) {
          var k = content(i) && KEY.exec(lines[i]);
          if (!k) continue;
          var kc = k[1].length + k[2].length;
          if (want < 0) want = kc;
          if (kc === want && k[4] === String(seg)) { hit = i; break; }
        }
        if (hit < 0) return at;
        for (i = hit + 1; i < to; i++) {
          if (content(i) && (col(i) < want || (col(i) === want && !ITEM.test(lines[i])))) { stop = i; break; }
        }
        at = [hit + 1, want + 1];
        from = hit + 1;
      }
      to = stop;
    }
    return at;
  }

  function words(err) {
    var p = err.params || {};
    switch (err.keyword) {
      case "additionalProperties": return "不认识的键（拼写有误，或该位置不允许此键）";
      case "required": return "缺少必填的键";
      case "type": return "应为" + String(p.type).split(",").map(function (t) { return TYPES[t] || t; }).join(" 或 ");
      case "enum": return "应为以下之一：" + (p.allowedValues || []).join("、");
      case "const": return "应为 " + p.allowedValue;
      case "minimum": return "应大于或等于 " + p.limit;
      case "exclusiveMinimum": return "应大于 " + p.limit;
      case "maximum": return "应小于或等于 " + p.limit;
      case "exclusiveMaximum": return "应小于 " + p.limit;
      case "minLength": return "至少 " + p.limit + " 个字符";
      case "maxLength": return "最多 " + p.limit + " 个字符";
      case "minItems": return "至少要有 " + p.limit + " 项";
      case "maxItems": return "最多 " + p.limit + " 项";
      case "pattern": return "格式不符（应符合 " + p.pattern + "）";
      case "uniqueItems": return "列表中有重复项";
      default: return "不符合规则（" + err.message + "）";
    }
  }

  function pathOf(err) {
    var path = err.instancePath.split("/").slice(1).map(function (p) {
      p = p.replace(/~1/g, "/").replace(/~0/g, "~");
      return /^\d+$/.test(p) ? Number(p) : p;
    });
    if (err.keyword === "additionalProperties") path.push(err.params.additionalProperty);
    if (err.keyword === "required") path.push(err.params.missingProperty);
    return path;
  }

  function problemsOf(errors, lines) {
    var byPath = {}, order = [];
    errors.forEach(function (err) {
      var path = pathOf(err), k = key(path);
      if (!byPath[k]) { byPath[k] = { path: path, errors: [] }; order.push(k); }
      byPath[k].errors.push(err);
    });
    var out = [];
    order.forEach(function (k) {
      var group = byPath[k], errs = group.errors;
      var branches = errs.filter(function (e) { return e.keyword === "anyOf" || e.keyword === "oneOf"; });
      var types = errs.filter(function (e) { return e.keyword === "type"; });
      var messages;
      if (branches.length && types.length === errs.length - branches.length) {
        messages = ["应为" + types.map(function (e) { return TYPES[e.params.type] || e.params.type; }).join(" 或 ")];
      } else {
        messages = errs.filter(function (e) { return e.keyword !== "anyOf" && e.keyword !== "oneOf"; }).map(words);
        if (!messages.length) messages = ["不符合规则"];
      }
      var at = lineOf(lines, group.path);
      messages.filter(function (m, i) { return messages.indexOf(m) === i; }).forEach(function (m) {
        out.push({ line: at[0], column: at[1], key: k, message: m });
      });
    });
    return out;
  }

  function render(problems, ready) {
    editor.session.setAnnotations(problems.map(function (p) {
      return { row: p.line - 1, column: p.column - 1, text: (p.key ? p.key + "：" : "") + p.message, type: "error" };
    }));
    if (!list) return;
    list.hidden = false;
    list.className = problems.length ? "form-error client-problems" : "notice client-problems is-ok";
    var lead = document.createElement("p");
    lead.textContent = problems.length
      ? "浏览器校验发现 " + problems.length + " 处问题（发布时以服务器校验为准）："
      : ready ? "浏览器校验通过（发布时以服务器校验为准）。" : "正在载入校验规则…";
    var ul = document.createElement("ul");
    ul.className = "problems";
    problems.slice(0, 50).forEach(function (p) {
      var li = document.createElement("li");
      li.dataset.line = p.line;
      li.dataset.column = p.column;
      if (p.key) li.dataset.key = p.key;
      var go = document.createElement("button");
      go.type = "button";
      go.className = "problem-where button is-link";
      go.textContent = "第 " + p.line + " 行，第 " + p.column + " 列";
      li.appendChild(go);
      if (p.key) {
        var code = document.createElement("code");
        code.className = "problem-key";
        code.textContent = p.key;
        li.appendChild(document.createTextNode(" "));
        li.appendChild(code);
      }
      li.appendChild(document.createTextNode("：" + p.message));
      ul.appendChild(li);
    });
    list.replaceChildren(lead, ul);
  }

  var validate = null;
  function check() {
    var text = editor.getValue(), lines = text.split("\n"), data;
    try {
      data = window.jsyaml.load(text, { schema: window.jsyaml.CORE_SCHEMA });
    } catch (e) {
      var mark = e.mark || {};
      render([{ line: (mark.line || 0) + 1, column: (mark.column || 0) + 1, key: "",
        message: "YAML 格式错误（" + (e.reason || e.message) + "）" }], true);
      return;
    }
    if (!validate) { render([], false); return; }
    if (data === null || typeof data !== "object" || Array.isArray(data)) {
      render([{ line: 1, column: 1, key: "", message: "规则包应是“键: 值”的映射" }], true);
      return;
    }
    render(validate(data) ? [] : problemsOf(validate.errors || [], lines), true);
  }

  var timer = null;
  editor.session.on("change", function () {
    area.value = editor.getValue();
    clearTimeout(timer);
    timer = setTimeout(check, 400);
  });
  area.form.addEventListener("submit", function () { area.value = editor.getValue(); });

  function goTo(li) {
    editor.gotoLine(Number(li.dataset.line), Number(li.dataset.column || 1) - 1, true);
    editor.focus();
  }
  document.addEventListener("click", function (event) {
    var li = event.target.closest && event.target.closest(".problems li[data-line]");
    if (li && (event.target.closest(".problem-where") || event.target.closest(".pack-problems"))) goTo(li);
  });

  var Ajv = window.ajv2020 && (window.ajv2020.default || window.ajv2020);
  if (Ajv && host.dataset.schema) {
    fetch(host.dataset.schema, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (schema) {
        validate = new Ajv({ allErrors: true, strict: false, validateFormats: false }).compile(schema);
        check();
      })
      .catch(function () { validate = null; });
  }
  check();
})();
