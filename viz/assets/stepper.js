// backproplab step-through page: moves through the recorded chain-rule steps.
// Data: JSON in #bpl-data (see viz/html_page.py). Text goes in with textContent only.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("bpl-data").textContent);
  var steps = data.steps, nodes = data.nodes, N = steps.length;
  var XLINK = "http://www.w3.org/1999/xlink";
  var slider = document.getElementById("bpl-slider");
  var backBtn = document.getElementById("bpl-back"), nextBtn = document.getElementById("bpl-next");
  var el = function (id) { return document.getElementById(id); };
  var pos = 0;
  var grad = nodes.map(function (n) { return n.grad0; });
  var gradFull = nodes.map(function (n) { return n.grad0Full; });

  // The gradient line of each drawn value node: the text drawn as "?" (every gradient
  // is unknown in the embedded drawing). Re-centre it, since values are wider than "?".
  var gradText = nodes.map(function (n, i) {
    var g = el("n" + i);
    if (!g) return null;
    var texts = g.querySelectorAll("text");
    var t = texts.length ? texts[texts.length - 1] : null;
    if (!t || t.textContent !== "?") return null;
    var shape = g.querySelector("ellipse");
    if (shape) { t.setAttribute("x", shape.getAttribute("cx")); t.setAttribute("text-anchor", "middle"); }
    return t;
  });
  var tooltip = nodes.map(function (n, i) {
    var g = el("n" + i);
    return g ? g.querySelector("a") : null;
  });

  // Zoom: fit the width unless that makes 80-px nodes smaller than ~45 px; then scroll.
  var graph = el("bpl-graph"), svg = graph.querySelector("svg");
  var natural = svg && svg.viewBox && svg.viewBox.baseVal ? svg.viewBox.baseVal.width * 4 / 3 : 0;
  var scale = 1;
  function zoom(to) {
    if (!natural) return;
    var fit = Math.min(1, (graph.clientWidth - 10) / natural);
    scale = to === "fit" ? fit : Math.max(0.2, Math.min(2, to));
    svg.style.width = Math.round(natural * scale) + "px";
  }
  el("bpl-zoomin").addEventListener("click", function () { zoom(scale * 1.25); follow(); });
  el("bpl-zoomout").addEventListener("click", function () { zoom(scale / 1.25); follow(); });
  el("bpl-fit").addEventListener("click", function () { zoom("fit"); });
  function follow() {  // keep the current node in view inside the scrolling graph box
    var s = pos > 0 ? steps[pos - 1] : null;
    var target = s ? el("n" + s.j) : el("n" + (nodes.length - 1));
    if (!target || !target.getBoundingClientRect) return;
    var box = graph.getBoundingClientRect(), r = target.getBoundingClientRect();
    if (r.left < box.left + 20 || r.right > box.right - 20) {
      graph.scrollLeft += (r.left + r.right) / 2 - (box.left + box.right) / 2;
    }
    if (r.top < box.top + 20 || r.bottom > box.bottom - 20) {
      graph.scrollTop += (r.top + r.bottom) / 2 - (box.top + box.bottom) / 2;
    }
  }

  // Step list
  var list = el("bpl-steps");
  var items = steps.map(function (s, k) {
    var li = document.createElement("li");
    li.textContent = s.formula;
    li.addEventListener("click", function () { go(k + 1); });
    list.appendChild(li);
    return li;
  });
  if (data.nan) data.nan.steps.forEach(function (k) { items[k].classList.add("nanstep"); });

  function apply(k, forward) {
    var ch = steps[k].changes;
    if (forward) {
      for (var a = 0; a < ch.length; a++) { grad[ch[a][0]] = ch[a][2]; gradFull[ch[a][0]] = ch[a][4]; }
    } else {
      for (var b = ch.length - 1; b >= 0; b--) { grad[ch[b][0]] = ch[b][1]; gradFull[ch[b][0]] = ch[b][3]; }
    }
  }

  function mark(ids, cls) {
    ids.forEach(function (id) { var e = el(id); if (e) e.classList.add(cls); });
  }

  function stepIds(s) {
    var back = el(s.edge + "_back") ? s.edge + "_back" : s.edge;
    var ret = el("r" + s.i + "_back") ? "r" + s.i + "_back" : "r" + s.i;
    return ["n" + s.i, "op" + s.i, "n" + s.j, back, ret];
  }

  function render() {
    slider.value = String(pos);
    el("bpl-pos").textContent = "step " + pos + " / " + N;
    backBtn.disabled = pos === 0;
    nextBtn.disabled = pos === N;
    document.body.setAttribute("data-position", String(pos));
    var s = pos > 0 ? steps[pos - 1] : null;
    if (s) {
      el("bpl-formula").textContent = s.formula;
      el("bpl-detail").textContent = "∂" + data.loss + "/∂" + s.input + ": " + s.before + " → " + s.after;
      el("bpl-opformula").textContent = s.opFormula ? s.op + ":  " + s.opFormula : "";
    } else {
      el("bpl-formula").textContent = "∂" + data.loss + "/∂" + data.loss + " = 1";
      el("bpl-detail").textContent = N ? "Nothing propagated yet: press → (or next) for the first chain-rule step."
                                       : "The loss is a leaf: there is nothing to propagate.";
      el("bpl-opformula").textContent = "";
    }
    var hook = el("bpl-hook");
    hook.hidden = !(s && s.hook);
    hook.textContent = s && s.hook ? s.hook : "";
    // gradients so far
    nodes.forEach(function (n, i) {
      var t = gradText[i];
      var known = pos >= n.reached;
      if (t) {
        t.textContent = known ? grad[i] : "?";
        t.setAttribute("fill", known ? "#ff0303" : "#999999");
        t.classList.toggle("bpl-partial", known && pos < n.completed);
      }
      var a = tooltip[i];
      if (a && a.hasAttributeNS(XLINK, "title")) {
        a.setAttributeNS(XLINK, "title", n.name + " = " + n.dataFull + "; ∂" + data.loss + "/∂" + n.name +
                         " = " + (known ? gradFull[i] + (pos < n.completed ? " (partial)" : "") : "?"));
      }
    });
    // highlights
    Array.prototype.forEach.call(document.querySelectorAll(".bpl-cur, .bpl-nan"), function (e) {
      e.classList.remove("bpl-cur", "bpl-nan");
    });
    if (s) mark(stepIds(s), "bpl-cur");
    var nanBox = el("bpl-nan");
    var showNan = data.nan && pos >= data.nan.from;
    nanBox.hidden = !showNan;
    nanBox.textContent = showNan ? "Non-finite gradient: how a finite value became NaN/∞\n" + data.nan.text : "";
    if (showNan) mark(data.nan.ids, "bpl-nan");
    items.forEach(function (li, k) {
      li.classList.toggle("done", k < pos);
      li.classList.toggle("current", k === pos - 1);
    });
    if (s) {
      var li = items[pos - 1];
      list.scrollTop = Math.max(0, li.offsetTop - list.clientHeight / 2);
    }
    follow();
  }

  function go(target) {
    target = Math.max(0, Math.min(N, Math.round(Number(target) || 0)));
    while (pos < target) { apply(pos, true); pos++; }
    while (pos > target) { pos--; apply(pos, false); }
    render();
  }

  backBtn.addEventListener("click", function () { go(pos - 1); });
  nextBtn.addEventListener("click", function () { go(pos + 1); });
  slider.addEventListener("input", function () { go(slider.value); });
  document.addEventListener("keydown", function (e) {
    if (e.target === slider || e.altKey || e.ctrlKey || e.metaKey) return;  // the slider moves itself
    var to = { ArrowRight: pos + 1, ArrowLeft: pos - 1, Home: 0, End: N }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    go(to);
  });

  // URL fragment: #step=5, #keys=ArrowRight,ArrowLeft, #click=next,back, #slider=3 (joined by &)
  function runFragment() {
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var kv = part.split("="), key = kv[0], val = decodeURIComponent(kv[1] || "");
      if (key === "step") go(val);
      else if (key === "keys") val.split(",").forEach(function (k) {
        document.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true }));
      });
      else if (key === "click") val.split(",").forEach(function (b) {
        var btn = el("bpl-" + b); if (btn) btn.click();
      });
      else if (key === "slider") { slider.value = val; slider.dispatchEvent(new Event("input", { bubbles: true })); }
    });
  }
  window.addEventListener("hashchange", runFragment);
  zoom("fit");
  if (scale < 0.55) zoom(0.55);
  render();
  runFragment();
})();
