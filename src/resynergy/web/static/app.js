/* resynergy pages: a small fetch helper instead of a front-end framework (no build step).
 * - [data-figure]: fetch plotly JSON and draw it with the locally served plotly.js;
 * - #run-status[data-run]: poll the run's state and progress until it finishes;
 * - #load-status[data-import]: poll a background load of the built-in dataset;
 * - form[data-confirm]: ask before submitting; a spinner on the button of a form being sent
 *   and on the language switch; the run form checks its years before sending.
 * Scripts send the session's CSRF token (meta csrf-token) as X-CSRF-Token. */
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var lang = document.body.dataset.lang || "zh";
  var config = {displaylogo: false, responsive: true, showLink: false};

  function api(url, options) {
    options = options || {};
    options.credentials = "same-origin";
    options.headers = Object.assign({"Accept": "application/json", "X-CSRF-Token": csrf}, options.headers || {});
    return fetch(url, options).then(function (r) {
      if (!r.ok) { throw new Error(r.status + " " + url); }
      return r.json();
    });
  }

  var plotlyLoading = null;
  function plotly() {
    if (window.Plotly) { return Promise.resolve(window.Plotly); }
    if (!plotlyLoading) {
      plotlyLoading = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = "/static/vendor/plotly.min.js";
        s.onload = function () {  // then the chart script (menus, zh mode bar, PNG names)
          var c = document.createElement("script");
          c.src = "/static/vendor/charts.js";
          c.onload = c.onerror = function () { resolve(window.Plotly); };
          document.head.appendChild(c);
        };
        s.onerror = reject;
        document.head.appendChild(s);
      });
    }
    return plotlyLoading;
  }

  function drawFigures() {
    var nodes = document.querySelectorAll("[data-figure]");
    if (!nodes.length) { return; }
    plotly().then(function (Plotly) {
      nodes.forEach(function (el) {
        api(el.dataset.figure).then(function (fig) {
          return window.ResynergyCharts ? window.ResynergyCharts.plot(el, fig, {lang: lang, config: config})
            : Plotly.newPlot(el, fig.data, fig.layout, config);
        }).then(function () {
          el.dataset.ready = "1";
        }).catch(function (err) {
          el.dataset.ready = "error";
          el.textContent = (lang === "zh" ? "图表加载失败：" : "Figure failed to load: ") + err.message;
        });
      });
    });
  }

  var STATES = {
    queued: ["排队中", "queued"], running: ["计算中", "running"], cancelling: ["正在取消", "cancelling"],
    succeeded: ["已完成", "succeeded"], failed: ["失败", "failed"], cancelled: ["已取消", "cancelled"]
  };
  // a background job (a run; a load of the built-in dataset): poll it, show its stage and
  // progress, and reload the page once it has ended
  function watchJob(prefix, url, active, poll) {
    var box = document.getElementById(prefix + "-status");
    if (!box || active.indexOf(box.dataset.state) < 0) { return; }
    function tick() {
      api(url(box)).then(function (job) {
        var pct = Math.round(job.progress * 100);
        document.getElementById(prefix + "-bar").style.width = pct + "%";
        box.querySelector("[role=progressbar]").setAttribute("aria-valuenow", pct);
        document.getElementById(prefix + "-stage").textContent = (lang === "zh" ? job.stage_zh : job.stage_en) + " " + pct + "%";
        var st = document.getElementById(prefix + "-state");
        st.textContent = (STATES[job.state] || [job.state, job.state])[lang === "zh" ? 0 : 1];
        st.className = "state-" + job.state;
        box.dataset.progress = pct;
        if (active.indexOf(job.state) < 0) {
          window.location.reload();
        } else {
          window.setTimeout(tick, poll);
        }
      }).catch(function () { window.setTimeout(tick, 3000); });
    }
    window.setTimeout(tick, poll / 2);
  }

  // the run form: years checked against the chosen scenario before anything is sent
  function yearProblem(form) {
    var input = form.querySelector("input[name=years]");
    var select = form.querySelector("select[name=scenario_id]");
    if (!input || !select) { return ""; }
    var known = (JSON.parse(select.dataset.years || "{}"))[select.value] || null;
    var parts = input.value.split(/[,，\s]+/).filter(function (p) { return p !== ""; });
    var seen = {};
    for (var i = 0; i < parts.length; i++) {
      var p = parts[i];
      if (!/^\d{4}$/.test(p)) {
        return lang === "zh" ? "年份应为四位数字，用逗号分隔：" + p : "years are four digits, separated by commas: " + p;
      }
      if (seen[p]) { return lang === "zh" ? "年份 " + p + " 重复" : "year " + p + " is given twice"; }
      seen[p] = true;
      if (known && known.indexOf(parseInt(p, 10)) < 0) {
        return lang === "zh" ? "情景中没有 " + p + " 年的数据（可选：" + known.join("、") + "）"
          : "the scenario has no data for " + p + " (it has: " + known.join(", ") + ")";
      }
    }
    return "";
  }

  function busy(button) {  // a spinner on the button until the next page arrives
    if (!button || button.classList.contains("busy")) { return; }
    button.classList.add("busy");
    button.setAttribute("aria-busy", "true");
    var spin = document.createElement("span");
    spin.className = "spinner";
    spin.setAttribute("aria-hidden", "true");
    button.appendChild(spin);
    window.setTimeout(function () { button.disabled = true; }, 0);  // after the form has been sent
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var msg = form.dataset && form.dataset.confirm;
    if (msg && !window.confirm(msg)) { ev.preventDefault(); return; }
    if (form.id === "run-form") {
      var problem = yearProblem(form), out = document.getElementById("years-error");
      var input = form.querySelector("input[name=years]");
      if (out) { out.textContent = problem; }
      if (input) { input.setAttribute("aria-invalid", problem ? "true" : "false"); }
      if (problem) { ev.preventDefault(); if (input) { input.focus(); } return; }
    }
    if (form.method.toLowerCase() === "post") { busy(ev.submitter || form.querySelector("button[type=submit]")); }
  });
  window.addEventListener("pageshow", function () {  // back/forward cache: buttons usable again
    document.querySelectorAll(".busy").forEach(function (b) {
      b.classList.remove("busy"); b.removeAttribute("aria-busy"); b.disabled = false;
      b.querySelectorAll(".spinner").forEach(function (s) { s.remove(); });
    });
  });
  document.addEventListener("click", function (ev) {
    var link = ev.target.closest && ev.target.closest("#lang-switch");
    if (link) { busy(link); }
  });
  document.addEventListener("DOMContentLoaded", function () { drawFigures();
    watchJob("run", function (box) { return "/api/v1/runs/" + box.dataset.run; }, ["queued", "running", "cancelling"], 1000);
    watchJob("load", function (box) { return "/api/v1/imports/" + box.dataset.import; }, ["queued", "running"], 700);
  });
  window.resynergy = {api: api};
})();
