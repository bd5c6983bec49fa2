// backproplab step-through page: moves through the recorded chain-rule steps.
// Data: JSON in #bpl-data (see viz/html_page.py). Text goes in with textContent only.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("bpl-data").textContent);
  var steps = data.steps, nodes = data.nodes, N = steps.length;
  var XLINK = "http://www.w3.org/1999/xlink";
  var el = function (id) { return document.getElementById(id); };
  // A formula's names written as the drawing writes them: TeX's out_H1 as out with the
  // subscript H1 (the names are the drawing's; viz.render.name_html draws the same subscript).
  var TEX_NAME = /([^\W_][^_\s\/∂·=+(),\[\]]{0,7})_([^_\s\/∂·=+(),\[\]]{1,8})/g;
  function setMath(node, text) {
    while (node.firstChild) node.removeChild(node.firstChild);
    var last = 0, m;
    TEX_NAME.lastIndex = 0;
    while ((m = TEX_NAME.exec(text)) !== null) {
      node.appendChild(document.createTextNode(text.slice(last, m.index) + m[1]));
      var sub = document.createElement("sub");
      sub.textContent = m[2];
      node.appendChild(sub);
      last = m.index + m[0].length;
    }
    node.appendChild(document.createTextNode(text.slice(last)));
  }
  var slider = el("bpl-slider"), backBtn = el("bpl-back"), nextBtn = el("bpl-next");
  var playBtn = el("bpl-play"), speedSel = el("bpl-speed");
  var pos = 0;
  // gradients of the scalar nodes (text, full text, number); a drawn circle shows one
  // (its only member) or, for a vector or matrix, ‖·‖ of its members once complete
  var grad = data.scalars.map(function (g) { return g.grad0; });
  var gradFull = data.scalars.map(function (g) { return g.grad0Full; });
  var gradValue = data.scalars.map(function (g) { return g.grad0Value; });

  // The gradient line of each drawn circle: the text drawn as "?" (every gradient is
  // unknown in the embedded drawing). Re-centre it, since values are wider than "?".
  var gradText = nodes.map(function (n) {
    var g = el(n.id);
    if (!g) return null;
    var texts = g.querySelectorAll("text");
    var t = texts.length ? texts[texts.length - 1] : null;
    if (!t || t.textContent !== "?") return null;
    var shape = g.querySelector("ellipse");
    if (shape) { t.setAttribute("x", shape.getAttribute("cx")); t.setAttribute("text-anchor", "middle"); }
    return t;
  });
  var tooltip = nodes.map(function (n) {
    var g = el(n.id);
    return g ? g.querySelector("a") : null;
  });
  function shown(n) {  // [short text, full text] of a drawn circle's gradient
    if (n.members.length === 1) return [grad[n.members[0]], gradFull[n.members[0]]];
    var sq = 0, done = 0;
    n.members.forEach(function (m) { sq += gradValue[m] * gradValue[m]; });
    n.members.forEach(function (m) { if (data.scalarsCompleted[m] <= pos) done++; });
    if (done < n.members.length) return [done + "/" + n.members.length, done + " of " + n.members.length + " entries complete"];
    var norm = Math.sqrt(sq);
    var text = norm === 0 ? "0" : norm.toPrecision(4).replace(/\.?0+$/, "").replace(/\.?0+e/, "e").replace("-", "−");
    return ["‖·‖ " + text, "‖∂" + data.loss + "/∂" + n.name + "‖ = " + norm];
  }

  // Red twins appear as the steps reach their edge: the first position showing each.
  var twinFrom = {};
  steps.forEach(function (s, k) {
    s.twins.forEach(function (id) { if (!(id in twinFrom)) twinFrom[id] = k + 1; });
  });

  // ------------------------------------------------------------ zoom and pan
  // The SVG keeps its natural size inside #bpl-canvas, which is translated and scaled.
  var graph = el("bpl-graph"), canvas = el("bpl-canvas"), svg = canvas.querySelector("svg");
  var vb = svg && svg.viewBox && svg.viewBox.baseVal;
  var natW = vb ? vb.width * 4 / 3 : 1, natH = vb ? vb.height * 4 / 3 : 1;  // pt -> px
  if (svg) { svg.style.width = natW + "px"; svg.style.height = natH + "px"; }
  var NUMBER_PX = data.numberPt * 4 / 3;   // the drawing's value and gradient lines at zoom 1
  var READABLE_PX = 7;                     // the smallest number size the page opens with
  var view = { s: 1, x: 0, y: 0 };
  function applyView() {
    canvas.style.transform = "translate(" + view.x + "px," + view.y + "px) scale(" + view.s + ")";
    document.body.setAttribute("data-scale", view.s.toFixed(4));
    el("bpl-zoomlevel").textContent = Math.round(view.s * 100) + " %";
  }
  function fitScale() {
    return Math.min((graph.clientWidth - 8) / natW, (graph.clientHeight - 8) / natH, 2);
  }
  function fit() {
    view.s = fitScale();
    view.x = (graph.clientWidth - natW * view.s) / 2;
    view.y = (graph.clientHeight - natH * view.s) / 2;
    applyView();
  }
  function zoomAt(factor, cx, cy) {
    var s = Math.max(0.05, Math.min(4, view.s * factor));
    view.x = cx - (cx - view.x) * s / view.s;
    view.y = cy - (cy - view.y) * s / view.s;
    view.s = s;
    applyView();
  }
  function centreOn(target) {
    if (!target || !target.getBoundingClientRect) return;
    var box = graph.getBoundingClientRect(), r = target.getBoundingClientRect();
    view.x += (box.left + box.right) / 2 - (r.left + r.right) / 2;
    view.y += (box.top + box.bottom) / 2 - (r.top + r.bottom) / 2;
    applyView();
  }
  function follow() {  // keep the current node in view
    var s = pos > 0 ? steps[pos - 1] : null;
    var target = el(s ? s.highlight[2] : data.lossId);
    if (!target || !target.getBoundingClientRect) return;
    var box = graph.getBoundingClientRect(), r = target.getBoundingClientRect();
    if (r.left < box.left + 10 || r.right > box.right - 10 || r.top < box.top + 10 || r.bottom > box.bottom - 10) {
      centreOn(target);
      clampView();   // never past the graph's edge
    }
  }
  function clampView() {  // no empty margin where the graph is larger than the box
    var W = graph.clientWidth, H = graph.clientHeight, w = natW * view.s, h = natH * view.s;
    view.x = w <= W ? (W - w) / 2 : Math.min(0, Math.max(W - w, view.x));
    view.y = h <= H ? (H - h) / 2 : Math.min(0, Math.max(H - h, view.y));
    applyView();
  }
  function openView() {
    // the whole graph when its numbers are readable there; else readable, at the loss
    fit();
    if (NUMBER_PX * view.s < READABLE_PX) {
      zoomAt(READABLE_PX / (NUMBER_PX * view.s), graph.clientWidth / 2, graph.clientHeight / 2);
      centreOn(el(data.lossId));
      clampView();
    }
  }
  el("bpl-zoomin").addEventListener("click", function () { zoomAt(1.25, graph.clientWidth / 2, graph.clientHeight / 2); });
  el("bpl-zoomout").addEventListener("click", function () { zoomAt(1 / 1.25, graph.clientWidth / 2, graph.clientHeight / 2); });
  el("bpl-fit").addEventListener("click", fit);
  graph.addEventListener("wheel", function (e) {
    e.preventDefault();
    var box = graph.getBoundingClientRect();
    zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX - box.left, e.clientY - box.top);
  }, { passive: false });
  var drag = null;
  graph.addEventListener("pointerdown", function (e) {
    if (e.button !== 0) return;
    drag = { x: e.clientX, y: e.clientY, vx: view.x, vy: view.y };
    graph.classList.add("dragging");
    if (graph.setPointerCapture && e.pointerId !== undefined) {
      try { graph.setPointerCapture(e.pointerId); } catch (err) { /* synthetic event */ }
    }
  });
  graph.addEventListener("pointermove", function (e) {
    if (!drag) return;
    view.x = drag.vx + e.clientX - drag.x;
    view.y = drag.vy + e.clientY - drag.y;
    applyView();
  });
  function endDrag() { drag = null; graph.classList.remove("dragging"); }
  graph.addEventListener("pointerup", endDrag);
  graph.addEventListener("pointercancel", endDrag);

  // ------------------------------------------------------------ step list
  var list = el("bpl-steps");
  var items = steps.map(function (s, k) {
    var li = document.createElement("li");
    setMath(li, s.formula);
    li.addEventListener("click", function () { go(k + 1); });
    list.appendChild(li);
    return li;
  });
  if (data.nan) data.nan.steps.forEach(function (k) { items[k].classList.add("nanstep"); });

  function apply(k, forward) {
    var ch = steps[k].changes;
    if (forward) {
      for (var a = 0; a < ch.length; a++) {
        grad[ch[a][0]] = ch[a][2]; gradFull[ch[a][0]] = ch[a][4]; gradValue[ch[a][0]] = ch[a][5];
      }
    } else {
      for (var b = ch.length - 1; b >= 0; b--) {
        grad[ch[b][0]] = ch[b][1]; gradFull[ch[b][0]] = ch[b][3];
        gradValue[ch[b][0]] = ch[b][6];
      }
    }
  }

  function mark(ids, cls) {
    ids.forEach(function (id) { var e = el(id); if (e) e.classList.add(cls); });
  }

  function render() {
    slider.value = String(pos);
    el("bpl-pos").textContent = "step " + pos + " / " + N;
    backBtn.disabled = pos === 0;
    nextBtn.disabled = pos === N;
    document.body.setAttribute("data-position", String(pos));
    var s = pos > 0 ? steps[pos - 1] : null;
    if (s) {
      setMath(el("bpl-formula"), s.formula);
      setMath(el("bpl-local"), s.local);
      setMath(el("bpl-detail"), s.detail);
    } else {
      el("bpl-formula").textContent = "∂" + data.loss + "/∂" + data.loss + " = 1";
      el("bpl-local").textContent = "";
      el("bpl-detail").textContent = N ? "Nothing propagated yet: press → (or next, or play) for the first chain-rule step."
                                       : "No step: nothing to propagate.";
    }
    var hook = el("bpl-hook");
    hook.hidden = !(s && s.hook);
    hook.textContent = s && s.hook ? s.hook : "";
    // gradients so far
    nodes.forEach(function (n, i) {
      var t = gradText[i];
      var known = pos >= n.reached;
      var g = known ? shown(n) : ["?", "?"];
      if (t) {
        t.textContent = g[0];
        t.setAttribute("fill", known ? "#ff0303" : "#999999");
        t.classList.toggle("bpl-partial", known && pos < n.completed);
      }
      var a = tooltip[i];
      if (a && a.hasAttributeNS(XLINK, "title")) {
        a.setAttributeNS(XLINK, "title", n.name + " = " + n.dataFull + "; ∂" + data.loss + "/∂" + n.name +
                         " = " + (known ? g[1] + (pos < n.completed ? " (partial)" : "") : "?"));
      }
    });
    Object.keys(twinFrom).forEach(function (id) {
      var e = el(id);
      if (e) e.classList.toggle("bpl-later", pos < twinFrom[id]);
    });
    // highlights
    Array.prototype.forEach.call(document.querySelectorAll(".bpl-cur, .bpl-nan"), function (e) {
      e.classList.remove("bpl-cur", "bpl-nan");
    });
    if (s) mark(s.highlight, "bpl-cur");
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

  // ------------------------------------------------------------ autoplay
  var timer = null;
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    playBtn.textContent = "▶ play";
    document.body.removeAttribute("data-playing");
  }
  function play() {
    stop();
    if (pos === N) go(0);
    timer = setInterval(function () {
      if (pos >= N) { stop(); return; }
      go(pos + 1);
    }, 1000 / Number(speedSel.value));
    playBtn.textContent = "❚❚ pause";
    document.body.setAttribute("data-playing", "1");
  }
  playBtn.addEventListener("click", function () { if (timer === null) play(); else stop(); });
  speedSel.addEventListener("change", function () { if (timer !== null) play(); });

  backBtn.addEventListener("click", function () { stop(); go(pos - 1); });
  nextBtn.addEventListener("click", function () { stop(); go(pos + 1); });
  slider.addEventListener("input", function () { stop(); go(slider.value); });
  document.addEventListener("keydown", function (e) {
    if (e.target === slider || e.target === speedSel || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === " ") { e.preventDefault(); playBtn.click(); return; }
    var to = { ArrowRight: pos + 1, ArrowLeft: pos - 1, Home: 0, End: N }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    stop();
    go(to);
  });

  // URL fragment: #step=5, #keys=ArrowRight,ArrowLeft, #click=next,back, #slider=3,
  // #speed=4, #play, #zoom=fit|<scale> (joined by &)
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
      else if (key === "speed") { speedSel.value = val; speedSel.dispatchEvent(new Event("change")); }
      else if (key === "play") play();
      else if (key === "zoom") { if (val === "fit") fit(); else zoomAt(Number(val) / view.s, 0, 0); }
      else if (key === "wheel") {  // wheel=DY: one wheel turn over the centre of the graph
        var box = graph.getBoundingClientRect();
        graph.dispatchEvent(new WheelEvent("wheel", { deltaY: Number(val), clientX: box.left + box.width / 2,
                                                      clientY: box.top + box.height / 2, bubbles: true, cancelable: true }));
      }
      else if (key === "drag") {   // drag=DX,DY: press, move and release over the graph
        var d = val.split(",").map(Number), b = graph.getBoundingClientRect();
        var at = function (type, dx, dy) {
          graph.dispatchEvent(new PointerEvent(type, { button: 0, clientX: b.left + 50 + dx, clientY: b.top + 50 + dy,
                                                       bubbles: true }));
        };
        at("pointerdown", 0, 0); at("pointermove", d[0] / 2, d[1] / 2); at("pointermove", d[0], d[1]); at("pointerup", d[0], d[1]);
      }
      else if (key === "probe") { if (Number(val) > 0) setTimeout(probe, Number(val)); else probe(); }
    });
  }
  // #probe (or #probe=MS, after MS milliseconds): the geometry a test (or a curious reader) wants, as JSON in <pre id="bpl-probe">
  function probe() {
    var box = graph.getBoundingClientRect(), r = svg.getBoundingClientRect();
    var visibleTwins = Array.prototype.filter.call(document.querySelectorAll("svg g.edge.backward"), function (e) {
      return getComputedStyle(e).visibility !== "hidden";
    }).map(function (e) { return e.id; });
    var missing = [];
    steps.forEach(function (s) {
      s.highlight.concat(s.twins).forEach(function (id) { if (!el(id) && missing.indexOf(id) < 0) missing.push(id); });
    });
    var unknown = gradText.filter(function (t) { return t && t.textContent === "?"; }).length;
    var out = { missing: missing, unknown: unknown, scale: view.s, numberPx: NUMBER_PX * view.s, position: pos, playing: timer !== null,
                graph: [box.left, box.top, box.right, box.bottom], svg: [r.left, r.top, r.right, r.bottom],
                legend: (function (l) { return l ? [l.left, l.top, l.right, l.bottom] : null; })(
                  document.querySelector(".legend") && document.querySelector(".legend").getBoundingClientRect()),
                viewport: [window.innerWidth, window.innerHeight], visibleTwins: visibleTwins };
    var pre = el("bpl-probe");
    if (!pre) { pre = document.createElement("pre"); pre.id = "bpl-probe"; pre.hidden = true; document.body.appendChild(pre); }
    pre.textContent = JSON.stringify(out);
  }
  window.addEventListener("hashchange", runFragment);
  window.addEventListener("resize", function () { if (pos === 0 && timer === null) openView(); });
  render();              // fills the panel and the steps list first: the graph's box is then final
  openView();
  go(data.start || 0);   // the Stepper's position when the page was made (Jupyter shows it there)
  runFragment();
})();
