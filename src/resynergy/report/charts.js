/* resynergy charts: draws the figures of resynergy.report.figures in report.html and on the
 * platform's pages, offline (no request leaves the page).
 *
 *   ResynergyCharts.plot(div, figure, {lang, config}) -> Promise   draw, bind menus, phone layout
 *   ResynergyCharts.filter(div, {year, material, mode, province})   filter the map / Sankey
 *
 * - the plotly mode bar speaks the page's language: a zh-CN locale registered here (our own
 *   translation of the mode-bar strings; plotly's wheel ships only "en");
 * - a chart downloads as PNG named after its Chinese (or English) title (layout.meta.download);
 * - the map's and Sankey's in-figure dropdowns are "skip" buttons: plotly cannot combine two
 *   menus, so this script reads every menu's choice and filters. The map re-sums the
 *   aggregated place-pair rows in layout.meta exactly as figures._flow_view does in Python;
 *   the Sankey shows the one precomputed view of the chosen province and year.
 */
(function () {
  "use strict";
  var ALL = "*";
  var ZH = {
    "Autoscale": "自动缩放", "Box Select": "框选", "Lasso Select": "套索选择",
    "Compare data on hover": "悬停时比较数据", "Show closest data on hover": "悬停显示最近数据",
    "Toggle show closest data on hover": "切换悬停显示最近数据", "Toggle Spike Lines": "切换辅助线",
    "Double-click on legend to isolate one trace": "双击图例只显示该项",
    "Double-click to zoom back out": "双击恢复原始缩放",
    "Download plot as a PNG": "下载为PNG图片", "Download plot as a png": "下载为PNG图片",
    "Download plot": "下载图表", "Download plot as JSON": "下载为JSON",
    "Pan": "平移", "Zoom": "缩放", "Zoom in": "放大", "Zoom out": "缩小",
    "Reset": "复位", "Reset axes": "复位坐标轴", "Reset view": "复位视图", "Reset views": "复位视图",
    "Taking snapshot - this may take a few seconds": "正在生成图片，请稍候",
    "Snapshot succeeded": "图片已生成",
    "Sorry, there was a problem downloading your snapshot!": "抱歉，图片下载失败！",
    "Sorry, there was a problem downloading your image!": "抱歉，图片下载失败！",
    "source:": "来源：", "target:": "去向：", "incoming flow count:": "流入数：",
    "outgoing flow count:": "流出数：", "trace": "数据系列"
  };
  var registered = false;

  function register() {
    if (registered || !window.Plotly) { return; }
    window.Plotly.register({
      moduleType: "locale", name: "zh-CN", dictionary: ZH,
      format: {
        days: ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"],
        shortDays: ["周日", "周一", "周二", "周三", "周四", "周五", "周六"],
        months: ["一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月", "十一月", "十二月"],
        shortMonths: ["1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"],
        date: "%Y-%m-%d", decimal: ".", thousands: ","
      }
    });
    registered = true;
  }

  function meta(div) { return (div.layout && div.layout.meta) || {}; }

  function config(fig, lang, base) {
    var m = (fig.layout && fig.layout.meta) || {};
    return Object.assign({displaylogo: false, responsive: true}, base || {}, {
      locale: lang === "zh" ? "zh-CN" : "en",
      toImageButtonOptions: {format: "png", filename: m.download || "chart", scale: 2}
    });
  }

  function plot(div, fig, opts) {
    opts = opts || {};
    register();
    var lang = opts.lang || ((fig.layout || {}).meta || {}).lang || "zh";
    div._rsConfig = config(fig, lang, opts.config);
    div._rsSel = null;
    div._rsWidth = null;
    return window.Plotly.react(div, fig.data, fig.layout, div._rsConfig).then(function () {
      if (div.removeAllListeners) { div.removeAllListeners("plotly_buttonclicked"); }
      div.on("plotly_buttonclicked", function () {
        window.setTimeout(function () { filter(div, menuSelection(div)); }, 0);
      });
      if (!div._rsResize) {
        div._rsResize = true;
        var timer = null;
        window.addEventListener("resize", function () {
          window.clearTimeout(timer);
          timer = window.setTimeout(function () {
            if (!div.data) { return; }
            window.Plotly.Plots.resize(div).then(function () { return fit(div); });
          }, 150);
        });
      }
      return fit(div);
    }).then(function () { return div; });
  }

  /* The choice of each in-figure dropdown: its button's name at the active index. */
  function menuSelection(div) {
    var sel = {};
    ((div.layout || {}).updatemenus || []).forEach(function (m) {
      var b = (m.buttons || [])[m.active || 0];
      if (m.name && b) { sel[m.name] = b.name; }
    });
    return sel;
  }

  function num(v, d) {
    return v.toLocaleString("en-US", {minimumFractionDigits: d, maximumFractionDigits: d});
  }

  /* schema/numbers.quantity for tonnes: the scales come from the figure (figures.tonne_scales). */
  function quantity(t, scales) {
    for (var i = 0; i < scales.length; i++) {
      var f = scales[i][0];
      if (Math.abs(t) >= f) { return (f > 1 ? num(t / f, 2) : num(t, 1)) + " " + scales[i][1]; }
    }
    return num(t, 1) + " " + scales[scales.length - 1][1];
  }

  function materialOk(m, i, sel) {
    if (sel.material === ALL || sel.material === undefined) { return true; }
    if (String(sel.material).indexOf("kind:") === 0) { return m.kinds[i] === sel.material.slice(5); }
    return m.materials[i] === sel.material;
  }

  /* figures._flow_view, in the page: the lines by (mode, width class), hover points and
   * within-place circles of one selection. */
  function flowView(m, sel) {
    var R = m.rows, P = m.places, groups = {}, keys = [];
    for (var i = 0; i < R.t.length; i++) {
      if (String(R.year[i]) !== String(sel.year)) { continue; }
      if (!materialOk(m, R.material[i], sel)) { continue; }
      if (sel.mode !== ALL && m.modes[R.mode[i]] !== sel.mode) { continue; }
      if (sel.province !== ALL && P.prov[R.a[i]] !== sel.province && P.prov[R.b[i]] !== sel.province) { continue; }
      var key = P.code[R.a[i]] + "|" + P.code[R.b[i]] + "|" + m.modes[R.mode[i]];
      var g = groups[key];
      if (!g) { g = groups[key] = {a: R.a[i], b: R.b[i], mode: R.mode[i], t: 0, by: {}}; keys.push(key); }
      g.t += R.t[i];
      g.by[R.material[i]] = (g.by[R.material[i]] || 0) + R.t[i];
    }
    keys.sort();
    var out = {lines: {}, hover: [[], [], []], within: [[], [], [], []]};
    m.modes.forEach(function (mode) { for (var k = 0; k < 4; k++) { out.lines[mode + "|" + k] = [[], []]; } });
    keys.forEach(function (key) {
      var g = groups[key], mode = m.modes[g.mode];
      var mats = Object.keys(g.by).map(Number).sort(function (x, y) { return x - y; });
      mats.sort(function (x, y) { return g.by[y] - g.by[x]; });
      var detail = mats.slice(0, 3).map(function (j) {
        return m.material_names[j] + " " + quantity(g.by[j], m.scales);
      }).join(" · ") + (mats.length > 3 ? " …" : "");
      var xa = P.x[g.a], ya = P.y[g.a], xb = P.x[g.b], yb = P.y[g.b];
      var head = g.a !== g.b ? P.name[g.a] + " → " + P.name[g.b] + " · " + m.mode_names[g.mode]
        : P.name[g.a] + " " + m.words.within + " · " + m.mode_names[g.mode];
      var text = head + "<br>" + m.words.total + " " + quantity(g.t, m.scales) + "<br>" + detail;
      if (g.a === g.b) {
        out.within[0].push(xa); out.within[1].push(ya); out.within[2].push(g.t); out.within[3].push(text);
        return;
      }
      var k = m.bounds.filter(function (e) { return e !== null && g.t >= e; }).length;
      var line = out.lines[mode + "|" + k];
      line[0].push(xa, xb, null); line[1].push(ya, yb, null);
      out.hover[0].push(Math.round((xa + 0.45 * (xb - xa)) * 1e4) / 1e4);
      out.hover[1].push(Math.round((ya + 0.45 * (yb - ya)) * 1e4) / 1e4);
      out.hover[2].push(text);
    });
    return out;
  }

  function siteKeep(tm, m, sel) {
    var n = m.materials.length || 1, yi = m.years.map(String).indexOf(String(sel.year));
    var pi = m.provinces.indexOf(sel.province);
    return tm.keys.map(function (ks, i) {
      if (sel.province !== ALL && tm.prov[i] !== pi) { return false; }
      return ks.some(function (c) { return Math.floor(c / n) === yi && materialOk(m, c % n, sel); });
    });
  }

  function mapFilter(div, sel) {
    var m = meta(div), view = flowView(m, sel);
    var data = div.data.map(function (tr) {
      var tm = tr.meta || {}, t = Object.assign({}, tr);
      if (tm.layer === "flows") {
        var xy = view.lines[tm.mode + "|" + tm.cls] || [[], []];
        t.x = xy[0]; t.y = xy[1];
      } else if (tm.layer === "flow_hover") {
        t.x = view.hover[0]; t.y = view.hover[1]; t.text = view.hover[2];
      } else if (tm.layer === "within") {
        t.x = view.within[0]; t.y = view.within[1]; t.text = view.within[3];
        t.marker = Object.assign({}, tr.marker, {size: view.within[2].map(function (v) {
          var size = m.t_ref > 0 ? Math.round((6 + 22 * Math.sqrt(v / m.t_ref)) * 10) / 10 : 6;
          return size * (div._rsScale || 1);
        })});
      } else if (tm.layer === "sites") {
        var keep = siteKeep(tm, m, sel);
        t.x = tm.x.map(function (v, i) { return keep[i] ? v : null; });
        t.y = tm.y.map(function (v, i) { return keep[i] ? v : null; });
      }
      return t;
    });
    var layout = Object.assign({}, div.layout);
    var box = m.bbox[sel.province] || m.bbox[ALL];
    if (box) {
      layout.xaxis = Object.assign({}, layout.xaxis, {range: [box[0], box[1]], autorange: false});
      layout.yaxis = Object.assign({}, layout.yaxis, {range: [box[2], box[3]], autorange: false});
    }
    return [data, layout];
  }

  function sankeyFilter(div, sel) {
    var m = meta(div), key = sel.province + "|" + sel.year;
    var data = div.data.map(function (tr) {
      var tm = tr.meta || {};
      return Object.assign({}, tr, {visible: tm.province === sel.province && String(tm.year) === String(sel.year)});
    });
    var layout = Object.assign({}, div.layout);
    if (m.titles && m.titles[key]) {
      layout.title = Object.assign({}, layout.title, {text: m.titles[key]});
      layout.title.subtitle = Object.assign({}, layout.title.subtitle, {text: (m.headlines || {})[key] || ""});
    }
    return [data, layout];
  }

  /* figures.menu_title: the base title with the menus' narrowing choices. */
  function menuTitle(base, menus, lang) {
    var parts = (menus || []).filter(function (mn) {
      return mn.buttons && mn.buttons.length && ((mn.active || 0) || mn.buttons[0].name !== ALL);
    }).map(function (mn) { return mn.buttons[mn.active || 0].label; });
    if (!parts.length) { return base; }
    return lang === "zh" ? base + "（" + parts.join(" · ") + "）" : base + " (" + parts.join(" · ") + ")";
  }

  /* Apply a selection (keys left out keep their value); the menus show it too. */
  function filter(div, sel) {
    if (!div || !div.data) { return Promise.resolve(); }
    var m = meta(div);
    if (m.chart !== "map" && m.chart !== "sankey") { return Promise.resolve(); }
    var cur = Object.assign({}, m.filter || {}, div._rsSel || {}, sel || {});
    Object.keys(cur).forEach(function (k) { cur[k] = cur[k] === undefined || cur[k] === null || cur[k] === "" ? ALL : String(cur[k]); });
    div._rsSel = cur;
    var res = m.chart === "map" ? mapFilter(div, cur) : sankeyFilter(div, cur);
    var layout = res[1];
    delete layout.width;  // plotly wrote the container's width in; keep following the container
    layout.updatemenus = (layout.updatemenus || []).map(function (menu) {
      var names = (menu.buttons || []).map(function (b) { return b.name; });
      var i = names.indexOf(cur[menu.name]);
      return i < 0 ? menu : Object.assign({}, menu, {active: i});
    });
    if (m.chart === "map" && m.title) {
      layout.title = Object.assign({}, layout.title, {text: menuTitle(m.title, layout.updatemenus, m.lang)});
    }
    var title = (layout.title || {}).text;
    if (title && div._rsConfig) {  // the PNG is named after what it shows
      div._rsConfig = Object.assign({}, div._rsConfig, {toImageButtonOptions: Object.assign(
        {}, div._rsConfig.toImageButtonOptions, {filename: title.replace(/[\\/:*?"<>|]/g, "").slice(0, 80)})});
    }
    return window.Plotly.react(div, res[0], layout, div._rsConfig || {}).then(function () {
      div.dataset.filter = JSON.stringify(cur);
      return div;
    });
  }

  /* The in-figure menus packed left to right in rows under the title (widths estimated by
   * figures.py in meta.menu_px); on phones (< 600 px) a compact legend below the map, no city
   * labels and smaller circles. The map's height follows its width so the region fills it. */
  function fit(div) {
    var m = meta(div);
    if (m.chart !== "map" && m.chart !== "sankey") { return Promise.resolve(div); }
    var w = div.clientWidth || 900, narrow = w < 600, L = div._fullLayout;
    if (div._rsWidth === w) { return Promise.resolve(div); }
    div._rsWidth = w;
    var pw = w - L.margin.l - L.margin.r;
    var widths = m.menu_px || [], pos = [], x = 0, row = 0;
    widths.forEach(function (mw) {
      if (x > 0 && x + mw > pw) { row += 1; x = 0; }
      pos.push([x, row]); x += mw + 8;
    });
    var sub = ((L.title || {}).subtitle || {}).text ? 24 : 0;  // the Sankey's headline
    var rows = widths.length ? row + 1 : 0, upd = {"margin.t": 46 + sub + rows * 34, width: null, autosize: true};
    if (m.chart === "map") {
      var box = m.bbox[ALL] || [0, 1, 0, 1];
      var k = 1 / Math.cos(((box[2] + box[3]) / 2) * Math.PI / 180);
      var h = Math.round(pw * (box[3] - box[2]) * k / (box[1] - box[0]));
      upd.height = narrow ? Math.max(480, Math.min(780, h + upd["margin.t"] + 150))
        : Math.max(560, Math.min(900, h + upd["margin.t"] + 20));
      upd["legend.orientation"] = narrow ? "h" : "v";
      upd["legend.x"] = narrow ? 0 : 1; upd["legend.xanchor"] = narrow ? "left" : "right";
      upd["legend.y"] = narrow ? -0.01 : 1; upd["legend.yanchor"] = "top";
      upd["legend.font.size"] = narrow ? 9 : 11;
      div._rsScale = narrow ? 0.55 : 1;
    }
    if (m.chart === "sankey") {  // phones: only the big nodes keep a label (all have a hover)
      var labels = div.data.map(function (tr) {
        var tm = tr.meta || {};
        return (tm.labels || []).map(function (l, i) { return narrow && !tm.big[i] ? "" : l; });
      });
    }
    return window.Plotly.relayout(div, upd).then(function () {
      return m.chart === "sankey" ? window.Plotly.restyle(div, {"node.label": labels}) : div;
    }).then(function () {
      var s2 = div._fullLayout._size, upd2 = {};
      pos.forEach(function (p, i) {
        upd2["updatemenus[" + i + "].x"] = p[0] / pw;
        upd2["updatemenus[" + i + "].y"] = 1 + ((rows - 1 - p[1]) * 34 + 6) / s2.h;
        upd2["updatemenus[" + i + "].xanchor"] = "left";
        upd2["updatemenus[" + i + "].yanchor"] = "bottom";
      });
      return window.Plotly.relayout(div, upd2);
    }).then(function () {
      if (m.chart !== "map") { return div; }
      var idx = [], mode = [], legend = [];
      div.data.forEach(function (tr, i) {
        var tm = tr.meta || {};
        if (tm.layer === "seats") { idx.push(i); mode.push(narrow ? "markers" : "markers+text"); legend.push(false); }
        if (tm.layer === "legend" && tm.width) { idx.push(i); mode.push("lines"); legend.push(!narrow); }
      });
      return (idx.length ? window.Plotly.restyle(div, {mode: mode, showlegend: legend}, idx)
        : Promise.resolve()).then(function () { return filter(div, {}); });
    }).then(function () { return div; });
  }

  window.ResynergyCharts = {plot: plot, filter: filter, fit: fit, config: config, register: register,
                            flowView: flowView, selection: menuSelection};
})();
