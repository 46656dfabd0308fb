// The live chart of a flash sale (admin): polls the page's JSON endpoint every second and draws the
// last two minutes of per-second counters on a canvas. No library, no CDN.
(function () {
  "use strict";
  var root = document.getElementById("fs-live");
  if (!root) return;
  var canvas = document.getElementById("fs-live-chart");
  var legend = document.getElementById("fs-live-legend");
  var url = root.getAttribute("data-url");
  var SERIES = [
    ["attempt:reserved", "reserved", "#2e7d32"],
    ["attempt:sold_out", "sold out", "#c62828"],
    ["attempt:limit_exceeded", "over limit", "#ef6c00"],
    ["attempt:throttled", "throttled", "#6a1b9a"],
    ["attempt:bad_token", "bad token", "#795548"],
    ["attempt:not_live", "not live", "#9e9e9e"],
    ["orders", "orders", "#1565c0"],
    ["paid", "paid", "#00838f"],
  ];
  legend.innerHTML = SERIES.map(function (s) {
    return '<span><i style="background:' + s[2] + '"></i>' + s[1] + "</span>";
  }).join("");

  function draw(rows) {
    var ctx = canvas.getContext("2d");
    var w = canvas.width, h = canvas.height, pad = 36;
    ctx.clearRect(0, 0, w, h);
    var max = 1;
    rows.forEach(function (r) { SERIES.forEach(function (s) { max = Math.max(max, r[s[0]] || 0); }); });
    ctx.strokeStyle = "#ccc"; ctx.fillStyle = "#666"; ctx.font = "11px sans-serif";
    for (var g = 0; g <= 4; g++) {
      var gy = h - pad - (h - 2 * pad) * g / 4;
      ctx.beginPath(); ctx.moveTo(pad, gy); ctx.lineTo(w - 8, gy); ctx.stroke();
      ctx.fillText(String(Math.round(max * g / 4)), 4, gy + 4);
    }
    if (rows.length) {
      ctx.fillText(rows[0].t.slice(11, 19), pad, h - 12);
      ctx.fillText(rows[rows.length - 1].t.slice(11, 19), w - 60, h - 12);
    }
    var step = rows.length > 1 ? (w - pad - 8) / (rows.length - 1) : 0;
    SERIES.forEach(function (s) {
      ctx.strokeStyle = s[2]; ctx.lineWidth = 2; ctx.beginPath();
      rows.forEach(function (r, i) {
        var x = pad + i * step, y = h - pad - (h - 2 * pad) * (r[s[0]] || 0) / max;
        if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
      ctx.stroke();
    });
  }

  function refresh() {
    var since = Math.floor(Date.now() / 1000) - 120;
    fetch(url + "?since=" + since, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        Object.keys(data.totals).forEach(function (k) {
          var el = root.querySelector('[data-total="' + k + '"]');
          if (el) el.textContent = data.totals[k];
        });
        root.querySelector('[data-field="status"]').textContent = data.status;
        root.querySelector('[data-field="remaining"]').textContent = data.remaining;
        root.querySelector('[data-field="updated"]').textContent = new Date().toLocaleTimeString();
        draw(data.seconds);
      })
      .catch(function () { root.querySelector('[data-field="updated"]').textContent = "(no answer, retrying)"; })
      .then(function () { setTimeout(refresh, 1000); });
  }
  refresh();
})();
