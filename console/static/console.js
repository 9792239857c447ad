// lambdahost console: live updates (Server-Sent Events), forms that
// answer in place, and the functions filter. The pages work without it.
(function () {
  "use strict";
  var body = document.body;
  var prefix = body.dataset.prefix;
  var csrf = body.dataset.csrf;
  var live = body.dataset.live;
  var activity = document.getElementById("activity");
  var liveState = document.getElementById("live-state");
  // The last state shown of each function, so that the activity log
  // says when it moves.
  var shown = {};

  function note(text) {
    if (!activity) { return; }
    var li = document.createElement("li");
    li.textContent = new Date().toISOString().slice(11, 19) + " " + text;
    activity.appendChild(li);
    while (activity.children.length > 100) { activity.removeChild(activity.firstChild); }
    li.scrollIntoView({ block: "nearest" });
  }

  function statusText(st) {
    var s = st.state || "";
    if (st.lastUpdateStatus) { s += ", last update " + st.lastUpdateStatus; }
    return s;
  }

  // remember records the state of a function and notes a move.
  function remember(st, why) {
    var before = shown[st.function];
    var now = statusText(st);
    if (before === now && !why) { return; }
    shown[st.function] = now;
    note(st.function + ": " + (why ? why + ": " : "") + now + (st.reason ? " (" + st.reason + ")" : ""));
  }

  function fragment(html) {
    var t = document.createElement("template");
    t.innerHTML = html.trim();
    return t.content;
  }

  function getHTML(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } }).then(function (r) {
      if (r.status === 404) { return null; }
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.text();
    });
  }

  // Everything the page shows that changes with a function's state.
  function refreshLive() {
    var regions = document.querySelectorAll("[data-live-url]");
    regions.forEach(function (el) {
      // Leave a form alone while it is being filled in.
      if (el.contains(document.activeElement) && /^(SELECT|INPUT|TEXTAREA)$/.test(document.activeElement.tagName)) {
        el.dataset.stale = "1";
        return;
      }
      getHTML(el.dataset.liveUrl).then(function (html) {
        if (html === null) { return; }
        el.replaceChildren(fragment(html));
        delete el.dataset.stale;
        enhanceForms(el);
        // The state as the page now shows it: after an action, it may
        // have settled before the action's answer came.
        el.querySelectorAll("[data-function][data-state]").forEach(function (s) {
          remember({ function: s.dataset.function, state: s.dataset.state, lastUpdateStatus: s.dataset.update });
        });
      }).catch(function () {});
    });
  }

  document.addEventListener("focusout", function () {
    setTimeout(function () {
      if (document.querySelector("[data-live-url][data-stale]")) { refreshLive(); }
    }, 0);
  });

  // The functions table: one row per function, sorted by name.
  function refreshRow(name, deleted) {
    var tbody = document.getElementById("functions-body");
    if (!tbody) { return; }
    var old = document.getElementById("fn-" + name);
    if (deleted) {
      if (old) { old.remove(); }
      return;
    }
    getHTML(prefix + "functions?fragment=row&name=" + encodeURIComponent(name)).then(function (html) {
      if (html === null) { if (old) { old.remove(); } return; }
      var row = fragment(html).firstElementChild;
      var cur = document.getElementById("fn-" + name);
      if (cur) {
        cur.replaceWith(row);
      } else {
        // A new function shows on this page if it sorts within it (or
        // after it, on the last page) and matches the search.
        var q = (tbody.dataset.query || "").toLowerCase();
        if (q && name.toLowerCase().indexOf(q) < 0) { return; }
        var rows = tbody.querySelectorAll("tr[data-function]");
        var next = null;
        rows.forEach(function (tr) {
          if (next === null && tr.dataset.function > name) { next = tr; }
        });
        if (next === null && tbody.dataset.lastPage !== "true") { return; }
        if (next === rows[0] && rows.length > 0 && document.querySelector('a[rel="prev"]')) { return; }
        tbody.insertBefore(row, next);
        var empty = document.getElementById("no-functions");
        if (empty) { empty.remove(); }
      }
      applyFilter();
    }).catch(function () {});
  }

  function resync() {
    var tbody = document.getElementById("functions-body");
    if (tbody) {
      var u = new URL(location.href);
      u.searchParams.set("fragment", "rows");
      getHTML(u.pathname + u.search).then(function (html) {
        if (html !== null) { tbody.replaceChildren(fragment(html)); applyFilter(); }
      }).catch(function () {});
    }
    refreshLive();
  }

  function connect() {
    if (!live || typeof EventSource === "undefined") { return; }
    var url = prefix + "events" + (live === "*" ? "" : "?function=" + encodeURIComponent(live));
    var es = new EventSource(url);
    var opened = false;
    es.addEventListener("ready", function () {
      if (opened) { resync(); }
      opened = true;
      body.dataset.liveState = "ready";
      if (liveState) { liveState.textContent = "Live updates: on"; }
    });
    es.addEventListener("change", function (e) {
      var st = JSON.parse(e.data);
      if (st.deleted) {
        note(st.function + ": deleted");
        delete shown[st.function];
      } else if (st.state) {
        remember(st);
      }
      refreshRow(st.function, st.deleted);
      if (live !== "*") { refreshLive(); }
    });
    es.addEventListener("resync", resync);
    es.onerror = function () {
      body.dataset.liveState = "reconnecting";
      if (liveState) { liveState.textContent = "Live updates: reconnecting…"; }
    };
  }

  // Forms marked data-action post with fetch and show the answer in place.
  function show(el, children) {
    el.replaceChildren.apply(el, children);
  }

  function elem(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) { e.textContent = text; }
    if (cls) { e.className = cls; }
    return e;
  }

  function message(text, isError) {
    var box = document.getElementById("messages");
    if (!box) { return; }
    var m = elem("div", text, isError ? "error" : "notice");
    m.setAttribute("role", isError ? "alert" : "status");
    show(box, [m]);
  }

  function submit(form) {
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; }
    var data = new URLSearchParams(new FormData(form));
    return fetch(form.action, {
      method: "POST", credentials: "same-origin", body: data,
      headers: { Accept: "application/json", "X-CSRF-Token": csrf, "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (r) {
      return r.json().then(function (doc) { return { ok: r.ok, doc: doc }; });
    }).finally(function () {
      if (button) { button.disabled = false; }
    });
  }

  function failed(doc) {
    var e = doc.error || {};
    message((e.type ? e.type + ": " : "") + (e.message || "The request failed."), true);
  }

  var handlers = {
    invoke: function (form, res) {
      var out = document.getElementById("invoke-result");
      if (!res.ok) { failed(res.doc); return; }
      var d = res.doc;
      var head = elem("h3", "Result of version " + d.executedVersion);
      if (d.functionError) { head.append(" ", elem("span", d.functionError, "badge bad")); }
      show(out, [head, elem("pre", d.payload, "payload"), elem("h3", "Log"), elem("pre", d.log, "log")]);
      var box = document.getElementById("messages");
      if (box) { box.replaceChildren(); }
    },
    rollback: function (form, res) {
      if (!res.ok) { failed(res.doc); return; }
      var d = res.doc;
      message(d.message, false);
      remember({ function: d.function, state: d.state, lastUpdateStatus: d.lastUpdateStatus }, "rollback to version " + d.version);
      var upd = document.getElementById("summary-update");
      if (upd) { show(upd, [elem("span", d.lastUpdateStatus, "badge busy")]); }
      refreshLive();
    },
    "alias-rollback": function (form, res) {
      if (!res.ok) { failed(res.doc); return; }
      message(res.doc.message, false);
      note(res.doc.message);
      refreshLive();
    }
  };

  function enhanceForms(root) {
    root.querySelectorAll("form[data-action]").forEach(function (form) {
      if (form.dataset.enhanced) { return; }
      form.dataset.enhanced = "1";
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        submit(form).then(function (res) {
          handlers[form.dataset.action](form, res);
        }).catch(function (err) {
          message("The request failed: " + err.message, true);
        });
      });
    });
  }

  // The functions filter hides rows whose name lacks the text.
  var filter = document.getElementById("filter");
  function applyFilter() {
    if (!filter) { return; }
    var q = filter.value.trim().toLowerCase();
    document.querySelectorAll("#" + filter.dataset.filter + " tr[data-function]").forEach(function (tr) {
      tr.classList.toggle("hidden", q !== "" && tr.dataset.function.toLowerCase().indexOf(q) < 0);
    });
  }
  if (filter) { filter.addEventListener("input", applyFilter); }

  // What the page showed when it loaded.
  document.querySelectorAll("[data-function][data-state]").forEach(function (el) {
    shown[el.dataset.function] = statusText({ state: el.dataset.state, lastUpdateStatus: el.dataset.update });
  });
  enhanceForms(document);
  connect();
}());
