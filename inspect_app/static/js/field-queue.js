// The tablet's outbox: every change is written to IndexedDB first, then sent to the server in order.
// A change leaves the outbox only when the server has answered it: 2xx (saved) or a refusal (4xx,
// listed for the inspector, never dropped silently). Network failures, 5xx and 429 are retried with
// back-off, and at once when the browser says it is online again. Each change carries its own
// Idempotency-Key, so a request whose answer was lost is replayed without creating anything twice.
// A reload finds the outbox as it was and carries on; the pages put the waiting changes back on screen.
(function () {
  "use strict";
  var DB_NAME = "inspect-field", STORE = "outbox", PROBLEMS_KEY = "inspect-field-problems";
  var MAX_DELAY = 60000;
  var indicator = document.querySelector("[data-sync]");
  var user = indicator ? indicator.getAttribute("data-user") : null;
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var dbPromise = null;
  var waiters = {};       // outbox id -> {resolve, handles}: callers waiting for the server's answer
  var subscribers = [];   // functions called with (entry, outcome) after each answer
  var running = false, again = false, timer = null, failures = 0;
  var state = {count: 0, adding: {}, sending: false, signin: false};  // adding: keys not yet in the database

  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = function () {
          var store = request.result.createObjectStore(STORE, {keyPath: "id", autoIncrement: true});
          store.createIndex("coalesce", "coalesce", {unique: false});
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
    }
    return dbPromise;
  }

  function withStore(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var result;
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error); };
        result = work(tx.objectStore(STORE));
      }).then(function (value) {
        return value && typeof value.result !== "undefined" && value.readyState ? value.result : value;
      });
    });
  }

  function all() {
    return withStore("readonly", function (store) { return store.getAll(); }).then(function (rows) {
      return (rows || []).filter(function (row) { return !user || !row.user || row.user === user; });
    });
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // change: {url, method, body (string or Blob), contentType, coalesce, inspection, label, ui}
  // Returns a promise of the server's answer {ok, status, data} (it waits while the tablet is offline).
  function enqueue(change, options) {
    var entry = Object.assign({}, change, {key: uuid(), created: Date.now(), user: user, inFlight: false});
    var newId = null;
    state.adding[entry.key] = true;  // the indicator leaves "saved" at once, before the database has it
    render();
    return withStore("readwrite", function (store) {
      function add() {
        var request = store.add(entry);
        request.onsuccess = function () { newId = request.result; };
      }
      if (!entry.coalesce) { add(); return null; }
      // an earlier version of the same thing (an item's answer) is replaced by this one; one being sent
      // right now goes out first (the outbox is sent in order), so the newer one still has the last word
      var cursor = store.index("coalesce").openCursor(IDBKeyRange.only(entry.coalesce));
      cursor.onsuccess = function () {
        var c = cursor.result;
        if (!c) { add(); return; }
        c.delete();
        c.continue();
      };
      return null;
    }).then(function () {
      var id = newId;
      entry.id = id;
      var answered = new Promise(function (resolve) {
        waiters[id] = {resolve: resolve, handles: !!(options && options.handlesRefusal)};
      });
      delete state.adding[entry.key];
      refresh().then(kick);
      return {id: id, answered: answered};
    }, function () {
      // no IndexedDB (a locked-down browser): send at once, without the outbox's safety net
      delete state.adding[entry.key];
      render();
      var answered = send(entry).catch(function () { return {ok: false, status: 0, data: null}; })
        .then(function (outcome) {
          if (!outcome.ok) { addProblem(entry, outcome); }
          subscribers.forEach(function (fn) { try { fn(entry, outcome); } catch (e) { /* a page's bug */ } });
          return outcome;
        });
      return {id: null, answered: answered};
    });
  }

  function remove(id) {
    return withStore("readwrite", function (store) { return store.delete(id); });
  }

  function markInFlight(entry, value) {
    // only while it is still there: a newer version of the same thing may have replaced it meanwhile
    entry.inFlight = value;
    return withStore("readwrite", function (store) {
      var request = store.get(entry.id);
      request.onsuccess = function () { if (request.result) { store.put(entry); } };
      return null;
    });
  }

  function problems() {
    try { return JSON.parse(localStorage.getItem(PROBLEMS_KEY) || "[]"); } catch (e) { return []; }
  }

  function addProblem(entry, outcome) {
    var list = problems();
    var message = outcome.data && outcome.data.error ? outcome.data.error.message : "HTTP " + outcome.status;
    var fields = outcome.data && outcome.data.error && outcome.data.error.fields;
    if (fields) {
      Object.keys(fields).forEach(function (name) { message += " " + fields[name].join(" "); });
    }
    list.push({label: entry.label || entry.url, message: message, at: Date.now(), user: entry.user});
    localStorage.setItem(PROBLEMS_KEY, JSON.stringify(list.slice(-20)));
    showProblems();
  }

  function showProblems() {
    var box = document.querySelector("[data-sync-problems]");
    if (!box) { return; }
    var list = problems().filter(function (p) { return !user || !p.user || p.user === user; });
    var ul = box.querySelector("[data-sync-problem-list]");
    ul.textContent = "";
    list.forEach(function (p) {
      var li = document.createElement("li");
      li.textContent = p.label + ": " + p.message;
      ul.appendChild(li);
    });
    box.hidden = list.length === 0;
  }

  function refreshCsrf() {
    // the page's own HTML carries a fresh token for the current session
    return fetch(location.pathname, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var m = /<meta name="csrf-token" content="([^"]+)"/.exec(html);
        if (m) { csrfToken = m[1]; }
      });
  }

  function send(entry) {
    var headers = {"Accept": "application/json", "Idempotency-Key": entry.key, "X-CSRFToken": csrfToken};
    if (entry.contentType) { headers["Content-Type"] = entry.contentType; }
    return fetch(entry.url, {method: entry.method || "POST", headers: headers, body: entry.body,
                             credentials: "same-origin"})
      .then(function (response) {
        var signedOut = response.status === 401 || (response.redirected && /\/login(\?|$)/.test(response.url));
        return response.text().then(function (text) {
          var data = null;
          try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
          return {ok: response.ok && !signedOut, status: signedOut ? 401 : response.status, data: data};
        });
      });
  }

  function isCsrfFailure(outcome) {
    return outcome.status === 400 && outcome.data && outcome.data.error &&
      /CSRF|security token|安全令牌/i.test(outcome.data.error.message || "");
  }

  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(kick, delay);
  }

  function settle(entry, outcome) {
    var waiter = waiters[entry.id];
    delete waiters[entry.id];
    return remove(entry.id).then(function () {
      if (!outcome.ok && !(waiter && waiter.handles)) { addProblem(entry, outcome); }
      subscribers.forEach(function (fn) { try { fn(entry, outcome); } catch (e) { /* a page's bug */ } });
      if (waiter) { waiter.resolve(outcome); }
    });
  }

  function kick() {
    if (running) { again = true; return; }
    running = true;
    clearTimeout(timer);
    var retriedCsrf = false;
    function next() {
      return all().then(function (rows) {
        rows.sort(function (a, b) { return a.id - b.id; });
        var entry = rows[0];
        if (!entry) { return null; }
        state.sending = true;
        render();
        return markInFlight(entry, true).then(function () { return send(entry); }).then(function (outcome) {
          if (outcome.ok) {
            failures = 0;
            state.signin = false;
            return settle(entry, outcome).then(next);
          }
          if (outcome.status === 401) {
            state.signin = true;
            return markInFlight(entry, false).then(function () { schedule(30000); return null; });
          }
          if (isCsrfFailure(outcome) && !retriedCsrf) {
            retriedCsrf = true;
            return markInFlight(entry, false).then(refreshCsrf).then(next);
          }
          if (outcome.status === 429 || outcome.status >= 500) {
            throw new Error("server busy " + outcome.status);
          }
          return settle(entry, outcome).then(next);   // refused: 4xx
        }).catch(function () {
          // network down or the server did not answer: keep it, try again later
          failures += 1;
          return markInFlight(entry, false).then(function () {
            var delay = Math.min(MAX_DELAY, 1000 * Math.pow(2, failures - 1));
            schedule(delay + Math.round(Math.random() * 300));
            return null;
          });
        });
      });
    }
    return next().catch(function () { return null; }).then(function () {
      running = false;
      state.sending = false;
      return refresh();
    }).then(function () {
      if (again) { again = false; kick(); }
    });
  }

  function refresh() {
    return all().then(function (rows) {
      state.count = rows.length;
      rows.forEach(function (row) { delete state.adding[row.key]; });
      render();
      return rows;
    }).catch(function () { return []; });
  }

  function render() {
    if (!indicator) { return; }
    var n = state.count + Object.keys(state.adding).length, offline = !navigator.onLine, key;
    if (state.signin) { key = "signin"; }
    else if (offline) { key = n ? "offline" : "offline-none"; }
    else if (n && state.sending) { key = "saving"; }
    else if (n) { key = "waiting"; }
    else { key = "saved"; }
    var text = (indicator.getAttribute("data-l-" + key) || key).replace("{n}", String(n));
    indicator.querySelector("[data-sync-text]").textContent = text;
    indicator.title = (indicator.getAttribute("data-t-" + key) || text).replace("{n}", String(n));
    indicator.setAttribute("aria-label", indicator.title);
    indicator.className = "sync sync-" + key;
    indicator.setAttribute("data-count", String(n));
    var signin = document.querySelector("[data-sync-signin]");
    if (signin) { signin.hidden = !state.signin; }
  }

  window.addEventListener("online", function () { failures = 0; render(); kick(); });
  window.addEventListener("offline", render);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { kick(); }
  });
  if (indicator) {  // a tap on the indicator retries at once
    indicator.addEventListener("click", function () { failures = 0; state.signin = false; kick(); });
  }
  var dismiss = document.querySelector("[data-sync-dismiss]");
  if (dismiss) {
    dismiss.addEventListener("click", function () {
      var others = problems().filter(function (p) { return user && p.user && p.user !== user; });
      localStorage.setItem(PROBLEMS_KEY, JSON.stringify(others));
      showProblems();
    });
  }

  window.FieldQueue = {
    enqueue: enqueue,
    pending: function (inspection) {
      return all().then(function (rows) {
        return rows.filter(function (r) { return !inspection || String(r.inspection) === String(inspection); })
          .sort(function (a, b) { return a.id - b.id; });
      });
    },
    subscribe: function (fn) { subscribers.push(fn); },
    kick: kick,
    csrf: function () { return csrfToken; }
  };
  showProblems();
  if (window.indexedDB) {
    refresh().then(kick);
  }
})();
