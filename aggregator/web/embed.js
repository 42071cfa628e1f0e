/* Feed widget for partner sites: renders our JSON Feed into
 *   <div data-aggregator-feed="FEED" data-limit="10" data-lang="zh|en"></div>
 * Entry data only ever reaches the page through textContent and checked http(s) hrefs:
 * never through innerHTML, so a hostile title stays text. */
(function () {
  "use strict";
  var CONFIG = /*CONFIG*/ null;
  var script = document.currentScript;
  // Our JSON beside this script, so the widget works behind any proxy or path prefix.
  var feedUrl = CONFIG.fallback;
  if (script && script.src) {
    feedUrl = new URL("../feeds/" + CONFIG.feed + ".json", script.src).href;
  }

  function safeHref(value) {
    if (typeof value !== "string") return null;
    try {
      var url = new URL(value);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  // Without bidirectional overrides, embeddings and isolates, which would run on past the
  // entry into the partner's page (`\u202egpj.exe` shows as `exe.jpg`).
  function text(value) {
    return typeof value === "string" ? value.replace(/[\u202a-\u202e\u2066-\u2069]/g, "") : "";
  }

  function element(tag, className, content) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (content) node.textContent = content;
    return node;
  }

  function limitOf(box) {
    var value = parseInt(box.getAttribute("data-limit") || "", 10);
    return value >= 1 && value <= CONFIG.maxLimit ? value : CONFIG.defaultLimit;
  }

  function labelsOf(box) {
    return box.getAttribute("data-lang") === "en" ? CONFIG.labels.en : CONFIG.labels.zh;
  }

  function formatDate(value, lang) {
    var when = new Date(text(value));
    if (isNaN(when.getTime())) return "";
    try {
      return new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" })
        .format(when);
    } catch (e) {
      return when.toISOString().slice(0, 16).replace("T", " ");
    }
  }

  function entry(item, labels) {
    var li = element("li", "aggregator-entry");
    var title = text(item.title) || text(item.summary) || text(item.url) || labels.untitled;
    var href = safeHref(item.url);
    var link = element(href ? "a" : "span", "aggregator-title", title);
    if (href) {
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
    }
    li.appendChild(link);
    var meta = element("div", "aggregator-meta");
    var date = formatDate(item.date_published, labels.locale);
    if (date) {
      var time = element("time", null, date);
      time.setAttribute("datetime", text(item.date_published));
      meta.appendChild(time);
    }
    var source = item._source && text(item._source.name);
    if (source) {
      if (date) meta.appendChild(document.createTextNode(" · "));
      meta.appendChild(element("span", "aggregator-source", source));
    }
    li.appendChild(meta);
    return li;
  }

  function render(box, items) {
    var labels = labelsOf(box);
    box.textContent = "";
    var shown = items.slice(0, limitOf(box));
    if (!shown.length) {
      box.appendChild(element("p", "aggregator-empty", labels.empty));
    } else {
      var list = element("ul", "aggregator-feed");
      shown.forEach(function (item) {
        if (item && typeof item === "object") list.appendChild(entry(item, labels));
      });
      box.appendChild(list);
    }
    box.setAttribute("data-aggregator-state", "ok");
  }

  function fail(box) {
    box.textContent = "";
    box.appendChild(element("p", "aggregator-error", labelsOf(box).error));
    box.setAttribute("data-aggregator-state", "error");
  }

  function start() {
    var boxes = Array.prototype.filter.call(
      document.querySelectorAll("div[data-aggregator-feed]"),
      function (box) { return box.getAttribute("data-aggregator-feed") === CONFIG.feed; }
    );
    if (!boxes.length) return;
    var limit = Math.max.apply(null, boxes.map(limitOf));
    fetch(feedUrl + "?limit=" + limit, { mode: "cors", credentials: "omit" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (doc) {
        var items = doc && Array.isArray(doc.items) ? doc.items : [];
        boxes.forEach(function (box) { render(box, items); });
      })
      .catch(function () { boxes.forEach(fail); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
