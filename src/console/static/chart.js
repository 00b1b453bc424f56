// The overview's stock chart (docs/console.md). A static file: the page's
// Content-Security-Policy allows no inline script. Data comes from the JSON
// route named by #chart's data-src; uPlot is served by the console itself.
/* global uPlot */
(function () {
  "use strict";
  var box = document.getElementById("chart");
  if (!box || typeof uPlot !== "function") return;

  function el(tag, text) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text; // text, never markup
    return node;
  }
  function when(t) {
    return new Date(t * 1000).toISOString().replace(".000Z", "Z");
  }
  // Marks on their own series: values only where an alert or a reorder happened.
  function marks(times, list, value) {
    var at = new Map();
    list.forEach(function (m) {
      at.set(m.t, value(m));
    });
    return times.map(function (t) {
      return at.has(t) ? at.get(t) : null;
    });
  }

  fetch(box.getAttribute("data-src"), { credentials: "same-origin" })
    .then(function (r) {
      if (!r.ok) throw new Error("chart data: HTTP " + r.status);
      return r.json();
    })
    .then(function (data) {
      box.textContent = "";
      if (data.series.length === 0) {
        box.appendChild(el("p", "No products yet."));
        return;
      }
      data.series.forEach(function (s) {
        var figure = el("figure");
        figure.appendChild(el("figcaption", s.sku + ": available and on-hand stock"));
        var times = Array.from(
          new Set(
            s.t.concat(
              s.alerts.map(function (a) {
                return a.t;
              }),
              s.reorders.map(function (r) {
                return r.t;
              }),
            ),
          ),
        ).sort(function (a, b) {
          return a - b;
        });
        var index = new Map(
          s.t.map(function (t, i) {
            return [t, i];
          }),
        );
        var last = null;
        var available = [],
          onHand = [];
        times.forEach(function (t) {
          if (index.has(t)) last = index.get(t);
          available.push(last === null ? null : s.available[last]);
          onHand.push(last === null ? null : s.onHand[last]);
        });
        var width = Math.max(320, Math.min(900, box.clientWidth || 640));
        var opts = {
          width: width,
          height: 220,
          scales: { x: { time: true } },
          series: [
            {},
            { label: "available", stroke: "#1f5fa8", width: 2 },
            { label: "on hand", stroke: "#555", width: 1, dash: [6, 4] },
            {
              label: "low-stock alert (triangle)",
              stroke: "#a80000",
              paths: function () {
                return null;
              },
              points: { show: true, size: 10, fill: "#a80000" },
            },
            {
              label: "reorder (square)",
              stroke: "#006b2d",
              paths: function () {
                return null;
              },
              points: { show: true, size: 9, fill: "#fff", width: 2 },
            },
          ],
        };
        var chart = el("div");
        figure.appendChild(chart);
        box.appendChild(figure);
        new uPlot(
          opts,
          [
            times,
            available,
            onHand,
            marks(times, s.alerts, function (a) {
              return a.available;
            }),
            marks(times, s.reorders, function () {
              return 0;
            }),
          ],
          chart,
        );
        if (s.alerts.length + s.reorders.length > 0) {
          var list = el("ul");
          s.alerts.forEach(function (a) {
            list.appendChild(el("li", "alert at " + when(a.t) + ": " + a.available + " available"));
          });
          s.reorders.forEach(function (r) {
            list.appendChild(el("li", "reorder at " + when(r.t) + ": " + r.qty + " ordered"));
          });
          figure.appendChild(list);
        }
      });
    })
    .catch(function (error) {
      box.textContent = "";
      box.appendChild(el("p", "The chart could not load: " + error.message));
    });
})();
