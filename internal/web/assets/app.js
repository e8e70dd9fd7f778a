// Weir dashboard. Plain JS, no dependencies. All data from the API is put
// into the page with textContent or setAttribute, never parsed as HTML: host
// names and rule names come from the network or the operator.
"use strict";

(function () {
  const SVGNS = "http://www.w3.org/2000/svg";
  const COLORS = ["#2457c5", "#e8590c", "#2f9e44", "#ae3ec9", "#f08c00", "#0c8599", "#c92a2a", "#5c7cfa", "#868e96", "#94d82d"];
  const errorsBox = document.getElementById("errors");
  let since = (location.hash.match(/since=([0-9a-z]+)/) || [])[1] || "1h";
  let pollMS = 5000;
  let timer = null;

  function reportError(msg) {
    const line = document.createElement("div");
    line.textContent = String(msg);
    errorsBox.appendChild(line);
    while (errorsBox.childNodes.length > 5) errorsBox.removeChild(errorsBox.firstChild);
  }
  window.addEventListener("error", (e) => reportError("error: " + e.message));
  window.addEventListener("unhandledrejection", (e) => reportError("error: " + (e.reason && e.reason.message || e.reason)));

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function svg(tag, attrs) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k in attrs) e.setAttribute(k, String(attrs[k]));
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function fmtBytes(n) {
    const u = ["B", "kB", "MB", "GB", "TB", "PB"];
    let i = 0;
    while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
    return (i === 0 ? n.toFixed(0) : n.toFixed(n < 10 ? 2 : 1)) + " " + u[i];
  }
  function fmtNum(n) { return Number(n).toLocaleString("en-US"); }
  function fmtTime(unix, withDate) {
    const d = new Date(unix * 1000);
    const hm = String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
    return withDate ? (d.getMonth() + 1) + "/" + d.getDate() + " " + hm : hm;
  }
  function fmtISO(s) {
    const d = new Date(s);
    return isNaN(d) ? String(s) : d.toLocaleString("en-GB", { hour12: false });
  }

  async function get(path) {
    const sep = path.includes("?") ? "&" : "?";
    const url = path.startsWith("api/policy") || path.startsWith("api/events") || path.startsWith("api/config") ? path : path + sep + "since=" + encodeURIComponent(since);
    const r = await fetch(url, { cache: "no-store" });
    if (!r.ok) {
      let msg = r.status + " " + r.statusText;
      try { msg = (await r.json()).error || msg; } catch (_) { /* not JSON */ }
      throw new Error(url + ": " + msg);
    }
    return r.json();
  }

  // Chart frame shared by both charts: returns the svg, plot geometry and
  // an x(i) scale over n buckets.
  const W = 1000, H = 220, L = 56, R = 10, T = 10, B = 22;
  function frame(container, times, step, maxY, yFmt, kind) {
    clear(container);
    const s = svg("svg", { viewBox: "0 0 " + W + " " + H, preserveAspectRatio: "none", "data-chart": kind, "data-buckets": times.length, role: "img" });
    const pw = W - L - R, ph = H - T - B;
    const n = Math.max(times.length, 1);
    const x = (i) => L + (pw * i) / n;
    const y = (v) => T + ph - (maxY > 0 ? (ph * v) / maxY : 0);
    s.appendChild(svg("line", { x1: L, y1: T + ph, x2: W - R, y2: T + ph, class: "axis" }));
    for (const f of [0.5, 1]) {
      s.appendChild(svg("line", { x1: L, y1: y(maxY * f), x2: W - R, y2: y(maxY * f), class: "axis", "stroke-dasharray": "3 3" }));
      const lab = svg("text", { x: L - 4, y: y(maxY * f) + 3, "text-anchor": "end" });
      lab.textContent = yFmt(maxY * f);
      s.appendChild(lab);
    }
    const withDate = times.length > 0 && (times[times.length - 1] - times[0]) > 86400;
    const ticks = Math.min(8, times.length);
    for (let k = 0; k < ticks; k++) {
      const i = Math.floor((k * times.length) / ticks);
      const t = svg("text", { x: x(i), y: H - 6, "text-anchor": "start" });
      t.textContent = fmtTime(times[i], withDate);
      s.appendChild(t);
    }
    container.appendChild(s);
    return { s, x, y, pw, ph, n };
  }

  function legend(ul, items) {
    clear(ul);
    for (const it of items) {
      const li = el("li", it.label + " (" + it.value + ")");
      li.style.setProperty("--swatch", it.color);
      ul.appendChild(li);
    }
  }

  function empty(container, msg) {
    clear(container);
    container.appendChild(el("p", msg, "empty"));
  }

  // Stacked area chart: one <path data-app data-points data-total> per app.
  function drawTraffic(d) {
    const box = document.getElementById("traffic-chart");
    const series = d.series || [];
    const n = (d.times || []).length;
    if (series.length === 0 || n === 0) {
      empty(box, "No traffic recorded in this window yet.");
      legend(document.getElementById("traffic-legend"), []);
      return;
    }
    const stack = new Array(n).fill(0);
    let maxY = 0;
    for (const sr of series) for (let i = 0; i < n; i++) maxY = Math.max(maxY, (stack[i] += sr.bytes[i]));
    // Bytes per second, so the axis does not change meaning with the step.
    const perSec = (v) => fmtBytes(v / d.step) + "/s";
    const f = frame(box, d.times, d.step, maxY, perSec, "traffic");
    stack.fill(0);
    const items = [];
    series.forEach((sr, k) => {
      const color = COLORS[k % COLORS.length];
      const top = [], bottom = [];
      for (let i = 0; i < n; i++) {
        const lo = stack[i], hi = stack[i] + sr.bytes[i];
        stack[i] = hi;
        // Each bucket is a flat step from its start to its end.
        top.push([f.x(i), f.y(hi)], [f.x(i + 1), f.y(hi)]);
        bottom.push([f.x(i), f.y(lo)], [f.x(i + 1), f.y(lo)]);
      }
      const pts = top.concat(bottom.reverse());
      const dstr = "M" + pts.map((p) => p[0].toFixed(1) + " " + p[1].toFixed(1)).join("L") + "Z";
      const path = svg("path", { d: dstr, fill: color, "fill-opacity": 0.8, stroke: color, "stroke-width": 0.5,
        "data-app": sr.app, "data-points": n, "data-total": sr.total_bytes });
      const title = svg("title", {});
      title.textContent = sr.app + ": " + fmtBytes(sr.total_bytes);
      path.appendChild(title);
      f.s.appendChild(path);
      items.push({ label: sr.app, value: fmtBytes(sr.total_bytes), color });
    });
    legend(document.getElementById("traffic-legend"), items);
  }

  // Stacked bars: one <g data-rule data-points data-total> per rule, one
  // rect per non-empty bucket.
  function drawBlocked(d) {
    const box = document.getElementById("blocked-chart");
    const series = d.series || [];
    const n = (d.times || []).length;
    if (series.length === 0 || n === 0) {
      empty(box, "No enforcement events in this window.");
      legend(document.getElementById("blocked-legend"), []);
      return;
    }
    const stack = new Array(n).fill(0);
    let maxY = 0;
    for (const sr of series) for (let i = 0; i < n; i++) maxY = Math.max(maxY, (stack[i] += sr.events[i]));
    const f = frame(box, d.times, d.step, maxY, (v) => (v >= 10 || v === 0 ? v.toFixed(0) : v.toFixed(1)), "blocked");
    stack.fill(0);
    const bw = Math.max(1, f.pw / f.n - 1);
    const items = [];
    series.forEach((sr, k) => {
      const color = COLORS[(k + 6) % COLORS.length];
      const g = svg("g", { fill: color, "data-rule": sr.rule, "data-points": n, "data-total": sr.total });
      for (let i = 0; i < n; i++) {
        const v = sr.events[i];
        if (!v) continue;
        const y0 = f.y(stack[i]), y1 = f.y(stack[i] + v);
        stack[i] += v;
        const rect = svg("rect", { x: f.x(i), y: y1, width: bw, height: Math.max(0.5, y0 - y1), "data-value": v });
        const title = svg("title", {});
        title.textContent = sr.rule + ": " + v + " at " + fmtTime(d.times[i]);
        rect.appendChild(title);
        g.appendChild(rect);
      }
      f.s.appendChild(g);
      items.push({ label: sr.rule, value: fmtNum(sr.total), color });
    });
    legend(document.getElementById("blocked-legend"), items);
  }

  function fillTable(id, rows, cols, emptyMsg) {
    const tb = document.querySelector("#" + id + " tbody");
    clear(tb);
    if (rows.length === 0) {
      const tr = el("tr");
      const td = el("td", emptyMsg, "empty");
      td.colSpan = cols;
      tr.appendChild(td);
      tb.appendChild(tr);
      return;
    }
    for (const cells of rows) {
      const tr = el("tr");
      for (const c of cells) {
        const td = typeof c === "object" && c !== null ? el("td", c.text, c.cls) : el("td", c);
        tr.appendChild(td);
      }
      tb.appendChild(tr);
    }
  }

  function actionCell(a) {
    const verb = String(a || "").split(" ")[0];
    return { text: a, cls: /^[a-z]+$/.test(verb) ? "action-" + verb : "" };
  }

  function drawSummary(s) {
    document.getElementById("card-flows").textContent = fmtNum(s.flows);
    document.getElementById("card-bytes").textContent = fmtBytes(s.bytes);
    document.getElementById("card-packets").textContent = fmtNum(s.packets);
    document.getElementById("card-events").textContent = fmtNum(s.events);
  }

  function drawPolicy(p) {
    const meta = document.getElementById("policy-meta");
    const src = document.getElementById("policy-source");
    if (!p.active) {
      meta.textContent = "No policy has been loaded into this store.";
      src.textContent = "";
      fillTable("policy-rules", [], 5, "No rules.");
      return;
    }
    meta.textContent = "Loaded " + fmtISO(p.loaded) + " · sha256 " + p.sha256 +
      (p.default ? " · default: " + p.default : "") + (p.notice ? " · notice: " + p.notice : "") +
      (p.render_error ? " · could not render: " + p.render_error : "");
    src.textContent = p.source;
    fillTable("policy-rules", p.rules.map((r, i) => [i + 1, r.name, r.match, r.when, actionCell(r.action)]), 5, "The policy has no rules.");
  }

  async function refresh() {
    try {
      const [summary, traffic, blocked, apps, hosts, events, policy] = await Promise.all([
        get("api/summary"), get("api/traffic"), get("api/blocked"),
        get("api/top/apps?limit=10"), get("api/top/hosts?limit=10"), get("api/events?limit=25"), get("api/policy"),
      ]);
      drawSummary(summary);
      drawTraffic(traffic);
      drawBlocked(blocked);
      fillTable("top-apps", apps.apps.map((a) => [a.app, a.category, { text: fmtNum(a.flows), cls: "num" }, { text: fmtBytes(a.bytes), cls: "num" }]), 4, "No apps yet.");
      fillTable("top-hosts", hosts.hosts.map((h) => [h.host, h.app, { text: fmtNum(h.flows), cls: "num" }, { text: fmtBytes(h.bytes), cls: "num" }]), 4, "No hosts yet.");
      fillTable("events", events.events.map((e) => [fmtISO(e.time), e.rule, actionCell(e.action), e.client, e.server, e.host, e.app, e.notice]), 8, "No enforcement events yet.");
      drawPolicy(policy);
      const last = summary.last_minute ? " · latest data " + fmtISO(summary.last_minute) : " · store is empty";
      document.getElementById("status").textContent = "updated " + new Date().toLocaleTimeString("en-GB", { hour12: false }) + last;
      document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
    } catch (e) {
      if (e instanceof TypeError) {
        // Network failure (server stopped): say so, keep polling.
        document.getElementById("status").textContent = "connection lost, retrying…";
      } else {
        reportError(e.message || e);
      }
    }
  }

  function schedule() {
    if (timer) clearInterval(timer);
    timer = setInterval(refresh, pollMS);
  }

  function setRange(s) {
    since = s;
    for (const b of document.querySelectorAll("#ranges button")) b.classList.toggle("active", b.dataset.since === since);
    history.replaceState(null, "", "#since=" + since);
    refresh();
  }

  document.getElementById("ranges").addEventListener("click", (e) => {
    const b = e.target.closest("button");
    if (b && b.dataset.since) setRange(b.dataset.since);
  });

  get("api/config").then((c) => { if (c.poll_ms > 0) pollMS = c.poll_ms; }).catch(() => {}).finally(() => {
    setRange(since);
    schedule();
  });
})();
