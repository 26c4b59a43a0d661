// The inspection workspace on a tablet: one checklist card at a time, answers saved as they are made
// (through window.FieldQueue, field-queue.js), photos, the roster editor, check-in by GPS, violations,
// signature pads and the 24-hour referral clock. Without this script every step still works as a form.
(function () {
  "use strict";
  var Q = window.FieldQueue;
  var ws = document.querySelector("[data-inspection]");
  var inspectionId = ws ? ws.getAttribute("data-inspection") : null;
  var api = ws ? ws.getAttribute("data-api") : null;

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $$(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }
  function fill(template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, function (m, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : m;
    });
  }
  function json(body) { return JSON.stringify(body); }

  // Controls that only the script-less page needs.
  $$("[data-hide-with-js]").forEach(function (el) { el.hidden = true; });
  $$("[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { if (el.value) { el.form.submit(); } });
  });

  // A multipart body built once, so that a replayed request is byte for byte the first one (its
  // Idempotency-Key fingerprint covers the body, and FormData would pick a new boundary each time).
  function multipart(fields, file) {
    var boundary = "----inspect" + Math.random().toString(16).slice(2) + Date.now().toString(16);
    var parts = [];
    Object.keys(fields).forEach(function (name) {
      if (fields[name] === null || typeof fields[name] === "undefined") { return; }
      parts.push("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" +
                 fields[name] + "\r\n");
    });
    if (file) {
      var filename = (file.name || file.filename || "photo.jpg").replace(/["\r\n]/g, "_");
      parts.push("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + file.field + "\"; filename=\"" +
                 encodeURIComponent(filename).replace(/%20/g, " ") + "\"\r\nContent-Type: " +
                 (file.blob.type || "application/octet-stream") + "\r\n\r\n");
      parts.push(file.blob);
      parts.push("\r\n");
    }
    parts.push("--" + boundary + "--\r\n");
    return {body: new Blob(parts), contentType: "multipart/form-data; boundary=" + boundary};
  }

  // ------------------------------------------------------------------------------------------
  // The checklist run

  var run = $("[data-run]");
  if (run && Q) { checklistRun(run); }

  function checklistRun(run) {
    var cards = $$("[data-item]", run);
    var list = $("[data-items]", run);
    var nav = $("[data-run-nav]", run);
    var pos = $("[data-pos]", run);
    var progress = $("[data-progress]", run);
    var answeredText = $("[data-answered]", run);
    var jump = $("[data-jump-unanswered]", run);
    var index = $("[data-index]", run);
    var current = 0;
    var writable = ws.getAttribute("data-writable") === "true";
    var answerUrl = run.getAttribute("data-answer-url");
    var evidenceUrl = run.getAttribute("data-evidence-url");

    function cardOf(code) { return cards.filter(function (c) { return c.getAttribute("data-item") === code; })[0]; }
    function isAnswered(card) { return card.getAttribute("data-answered") === "true"; }

    function show(i, focus) {
      current = Math.max(0, Math.min(cards.length - 1, i));
      cards.forEach(function (card, n) { card.classList.toggle("is-current", n === current); });
      pos.textContent = fill(run.getAttribute("data-l-position"), {n: current + 1, total: cards.length});
      $("[data-prev]", nav).disabled = current === 0;
      $("[data-next]", nav).disabled = current === cards.length - 1;
      var code = cards[current].getAttribute("data-item");
      if (focus) {
        // (not on the first show: the browser would scroll to the fragment when the page finishes loading)
        if (history.replaceState) { history.replaceState(null, "", "#item-" + code); }
        var heading = $(".item-q", cards[current]);
        heading.setAttribute("tabindex", "-1");
        heading.focus({preventScroll: true});
        run.scrollIntoView({block: "start"});
      }
    }

    function updateProgress() {
      var answered = cards.filter(isAnswered).length;
      progress.value = answered;
      answeredText.textContent = String(answered);
      jump.hidden = answered === cards.length;
    }

    function chip(card) {
      var el = $('[data-chip="' + card.getAttribute("data-item") + '"]', run);
      if (!el) { return; }
      var result = card.getAttribute("data-result");
      el.className = el.className.replace(/\bchip-(open|done|pass|fail|na)\b/g, "").trim() + " chip-" +
        (result || (isAnswered(card) ? "done" : "open"));
    }

    function setSaved(card, waiting) {
      var badge = $("[data-item-saved]", card);
      badge.textContent = (waiting ? "" : "✓ ") + run.getAttribute(waiting ? "data-l-waiting" : "data-l-saved");
      badge.classList.toggle("is-waiting", !!waiting);
    }

    function valueOf(card) {
      var type = card.getAttribute("data-type");
      if (type === "yes_no_na") {
        var pressed = $('[data-choice][aria-pressed="true"]', card);
        return pressed ? pressed.getAttribute("data-choice") : null;
      }
      if (type === "staff_roster") {  // the saved people, sent back masked (a note must not empty the roster)
        var rows = $$("[data-roster-saved] tr", card).filter(function (tr) { return !tr.classList.contains("is-removed"); });
        var none = $("[data-roster-none]", card);
        if (!rows.length) { return none && none.getAttribute("aria-pressed") === "true" ? [] : null; }
        return rows.map(function (tr) { return JSON.parse(tr.getAttribute("data-person")); });
      }
      var input = $("[data-value-input]", card);
      if (!input || input.value === "") { return null; }
      return type === "number" ? Number(input.value) : input.value;
    }

    function press(card, result, choice) {
      $$("[data-choice]", card).forEach(function (b) {
        var on = b.getAttribute("data-result") === result &&
          (choice === null || typeof choice === "undefined" || b.getAttribute("data-choice") === String(choice) ||
           card.getAttribute("data-type") !== "yes_no_na");
        b.setAttribute("aria-pressed", on ? "true" : "false");
      });
      card.setAttribute("data-result", result || "");
      var warning = $("[data-redflag-warning]", card);
      if (warning) { warning.hidden = result !== "fail"; }
    }

    // Send the card's whole answer (result, value, note); a newer one replaces an unsent older one.
    function save(card, extra) {
      clearTimeout(card.saveTimer);  // this save carries the typed text too
      var code = card.getAttribute("data-item");
      var body = {result: card.getAttribute("data-result") || null, value: valueOf(card),
                  note: $("[data-note]", card).value || null};
      if (extra) { Object.assign(body, extra); }
      var text = json(body);
      if (text === card.lastQueued) { return Promise.resolve(null); }  // e.g. the field's change after its pause
      card.lastQueued = text;
      card.setAttribute("data-answered", "true");
      setSaved(card, true);
      chip(card);
      updateProgress();
      return Q.enqueue({url: answerUrl + encodeURIComponent(code), method: "PUT", body: text,
                        contentType: "application/json", coalesce: "answer:" + inspectionId + ":" + code,
                        inspection: inspectionId, label: $(".item-no", card).textContent + ". " +
                        $(".item-q", card).textContent.trim().slice(0, 40),
                        ui: {type: "answer", item: code, body: body}});
    }

    Q.subscribe(function (entry, outcome) {
      if (!entry.ui || String(entry.inspection) !== String(inspectionId)) { return; }
      var card = cardOf(entry.ui.item);
      if (!card) { return; }
      if (entry.ui.type === "answer") {
        Q.pending(inspectionId).then(function (rows) {
          var still = rows.some(function (r) { return r.ui && r.ui.type === "answer" && r.ui.item === entry.ui.item; });
          if (!still) { setSaved(card, false); }
          if (outcome.ok && outcome.data && entry.ui.item && card.getAttribute("data-type") === "staff_roster") {
            renderRoster(card, outcome.data);
          }
        });
      } else if (entry.ui.type === "evidence") {
        var pending = $('[data-pending-photo="' + entry.id + '"]', card);
        if (outcome.ok && outcome.data && outcome.data.id) {
          var img = pending ? $("img", pending) : null;
          if (img) {
            img.src = outcome.data.display_url;
            pending.classList.remove("is-waiting");
            pending.removeAttribute("data-pending-photo");
          }
        } else if (pending) {
          pending.remove();
        }
      }
    });

    cards.forEach(function (card) {
      var form = $("[data-answer-form]", card);
      form.addEventListener("submit", function (event) { event.preventDefault(); });
      if (!writable) { return; }
      $$("[data-choice]", card).forEach(function (button) {
        button.addEventListener("click", function (event) {
          event.preventDefault();
          var result = button.getAttribute("data-result");
          press(card, result, button.getAttribute("data-choice"));
          save(card);
          // a clean answer moves on; a failed one stays for the note and the photo
          if (result !== "fail" && card.getAttribute("data-type") === "yes_no_na" && list.classList.contains("one")) {
            setTimeout(function () { if (cards[current] === card) { show(current + 1, true); } }, 350);
          }
        });
      });
      var input = $("[data-value-input]", card);
      // typing saves after a pause (and at once when the field is left)
      function later() {
        clearTimeout(card.saveTimer);
        card.saveTimer = setTimeout(function () { save(card); }, 800);
      }
      if (input) {
        input.addEventListener("input", function () {
          if (card.getAttribute("data-result") === "na") { press(card, "", null); }
          later();
        });
        input.addEventListener("change", function () { save(card); });
      }
      var note = $("[data-note]", card);
      note.addEventListener("input", later);
      note.addEventListener("change", function () { save(card); });

      var photo = $("[data-photo-input]", card);
      if (photo) {
        photo.addEventListener("change", function () {
          Array.prototype.forEach.call(photo.files, function (file) { queuePhoto(card, file); });
          photo.value = "";
        });
      }
      if (card.getAttribute("data-type") === "staff_roster") { rosterEditor(card); }
    });

    function addThumb(card, blob, entryId) {
      var li = document.createElement("li");
      li.className = "is-waiting";
      li.setAttribute("data-pending-photo", String(entryId));
      var img = document.createElement("img");
      img.src = URL.createObjectURL(blob);
      img.width = 96;
      img.height = 96;
      img.alt = run.getAttribute("data-l-photo-waiting");
      li.appendChild(img);
      $("[data-thumbs]", card).appendChild(li);
    }

    function queuePhoto(card, file) {
      var code = card.getAttribute("data-item");
      var built = multipart({item_code: code}, {field: "file", blob: file, name: file.name});
      Q.enqueue({url: evidenceUrl, method: "POST", body: built.body, contentType: built.contentType,
                 inspection: inspectionId, label: $(".item-no", card).textContent + ". " + (file.name || "photo"),
                 ui: {type: "evidence", item: code, file: file}})
        .then(function (queued) { addThumb(card, file, queued.id); });
    }

    // Put changes that are still on the tablet back on the cards (after a reload, or while offline).
    Q.pending(inspectionId).then(function (rows) {
      rows.forEach(function (row) {
        if (!row.ui) { return; }
        var card = cardOf(row.ui.item);
        if (!card) { return; }
        if (row.ui.type === "answer") {
          var body = row.ui.body || {};
          press(card, body.result, card.getAttribute("data-type") === "yes_no_na" ? body.value : null);
          var input = $("[data-value-input]", card);
          if (input && body.value !== null && typeof body.value !== "object") { input.value = body.value; }
          $("[data-note]", card).value = body.note || "";
          card.setAttribute("data-answered", "true");
          setSaved(card, true);
          chip(card);
        } else if (row.ui.type === "evidence" && row.ui.file) {
          addThumb(card, row.ui.file, row.id);
        }
      });
      updateProgress();
    });

    // One card at a time, with previous / next, the index of all items and a jump to the next unanswered.
    list.classList.add("one");
    nav.hidden = false;
    $("[data-prev]", nav).addEventListener("click", function () { show(current - 1, true); });
    $("[data-next]", nav).addEventListener("click", function () { show(current + 1, true); });
    jump.addEventListener("click", function () {
      for (var k = 1; k <= cards.length; k++) {
        var n = (current + k) % cards.length;
        if (!isAnswered(cards[n])) { show(n, true); return; }
      }
    });
    $$("[data-chip]", run).forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        show(cards.indexOf(cardOf(link.getAttribute("data-chip"))), true);
        index.open = false;
      });
    });
    var start = 0;
    var wanted = location.hash.indexOf("#item-") === 0 ? cardOf(decodeURIComponent(location.hash.slice(6))) : null;
    if (wanted) { start = cards.indexOf(wanted); }
    else {
      var firstOpen = cards.filter(function (c) { return !isAnswered(c); })[0];
      if (firstOpen) { start = cards.indexOf(firstOpen); }
    }
    show(start, false);
    updateProgress();
    window.addEventListener("hashchange", function () {
      var card = location.hash.indexOf("#item-") === 0 ? cardOf(decodeURIComponent(location.hash.slice(6))) : null;
      if (card) { show(cards.indexOf(card), true); }
    });
  }

  // ------------------------------------------------------------------------------------------
  // The staff roster: people already saved (masked) stay; new lines are added; the server evaluates.

  function rosterEditor(card) {
    var roster = $("[data-roster]", card);
    var template = roster ? $("[data-roster-template]", roster) : null;
    if (!template) { return; }
    var edit = $("[data-roster-edit]", roster);
    var fresh = $("[data-roster-new]", roster);
    $("[data-roster-actions]", roster).hidden = false;
    $$("[data-roster-saved] tr", roster).forEach(function (tr) { keepToggle(roster, tr); });
    function addRow() {
      var row = template.content.firstElementChild.cloneNode(true);
      $("[data-roster-drop]", row).addEventListener("click", function () {
        row.remove();
        edit.hidden = !fresh.children.length;
      });
      fresh.appendChild(row);
      edit.hidden = false;
      $("input", row).focus();
    }
    function send(people) {
      var body = {result: null, value: people, note: $("[data-note]", card).value || null};
      var code = card.getAttribute("data-item");
      card.setAttribute("data-answered", "true");
      // typed numbers travel in the request only; what is kept for the screen has none
      return Q.enqueue({url: $("[data-run]").getAttribute("data-answer-url") + encodeURIComponent(code),
                        method: "PUT", body: json(body), contentType: "application/json",
                        coalesce: "answer:" + inspectionId + ":" + code, inspection: inspectionId,
                        label: $(".item-no", card).textContent + ". " + $(".item-q", card).textContent.trim().slice(0, 40),
                        ui: {type: "answer", item: code, body: {result: null, value: null, note: body.note}}});
    }
    $("[data-roster-add]", roster).addEventListener("click", addRow);
    $("[data-roster-save]", roster).addEventListener("click", function () {
      // people already saved go back masked (the server matches them), new ones with their numbers
      var kept = $$("[data-roster-saved] tr", roster).filter(function (tr) {
        return !tr.classList.contains("is-removed");
      }).map(function (tr) { return JSON.parse(tr.getAttribute("data-person")); });
      var added = $$("tr", fresh).map(function (tr) {
        var person = {};
        $$("[data-field]", tr).forEach(function (input) {
          person[input.getAttribute("data-field")] = input.value.trim() || null;
        });
        return person;
      }).filter(function (p) { return p.name || p.id_number; });
      $("[data-roster-none]", roster).setAttribute("aria-pressed", "false");
      send(kept.concat(added)).then(function (queued) {
        return queued && queued.answered;
      }).then(function (outcome) {
        if (outcome && outcome.ok) { fresh.textContent = ""; edit.hidden = true; }
      });
    });
    $("[data-roster-none]", roster).addEventListener("click", function (event) {
      event.preventDefault();
      event.currentTarget.setAttribute("aria-pressed", "true");
      fresh.textContent = "";
      edit.hidden = true;
      $$("[data-roster-saved] tr", roster).forEach(function (tr) { tr.classList.add("is-removed"); });
      send([]);
    });
  }

  function keepToggle(roster, tr) {
    var button = $("[data-roster-remove]", tr);
    if (!button) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var removed = tr.classList.toggle("is-removed");
      button.textContent = roster.getAttribute(removed ? "data-l-restore" : "data-l-remove");
    });
  }

  function renderRoster(card, answer) {
    // the server's evaluation (masked numbers, ages, flags) replaces what was typed
    var people = answer && answer.value && answer.value.people;
    var tbody = $("[data-roster-saved]", card);
    if (!people || !tbody) { return; }
    var roster = $("[data-roster]", card);
    $("[data-roster-saved-table]", roster).hidden = !people.length;
    tbody.textContent = "";
    people.forEach(function (p) {
      var tr = document.createElement("tr");
      tr.className = "roster-person" + (p.violations && p.violations.length ? " roster-violation" : "");
      tr.setAttribute("data-person", json({name: p.name, id_masked: p.id_masked, post: p.post, hired_on: p.hired_on}));
      var cells = [String(p.index), p.name || "", "", p.post || "", p.hired_on || "", ""];
      cells.forEach(function (text, i) {
        var td = document.createElement("td");
        if (i === 2) {
          var code = document.createElement("code");
          code.textContent = p.id_masked || "—";
          td.appendChild(code);
          if (p.age !== null && typeof p.age !== "undefined") {
            var tag = document.createElement("span");
            tag.className = "tag" + (p.violations && p.violations.length ? " tag-danger" : "");
            tag.textContent = fill(roster.getAttribute("data-l-age"), {n: p.age});
            td.appendChild(document.createTextNode(" "));
            td.appendChild(tag);
          }
          (p.flags || []).forEach(function (flag) {
            var label = {invalid_id: "data-l-invalid", missing_id: "data-l-missing", duplicate: "data-l-duplicate"}[flag];
            if (!label) { return; }
            var warn = document.createElement("span");
            warn.className = "tag tag-warn";
            warn.textContent = roster.getAttribute(label);
            td.appendChild(document.createTextNode(" "));
            td.appendChild(warn);
          });
        } else if (i === 5) {
          var button = document.createElement("button");
          button.type = "button";
          button.className = "btn";
          button.setAttribute("data-roster-remove", "");
          button.textContent = roster.getAttribute("data-l-remove");
          td.appendChild(button);
        } else {
          td.textContent = text;
        }
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
      keepToggle(roster, tr);
    });
  }

  // ------------------------------------------------------------------------------------------
  // Check-in by the tablet's position (WGS-84, as the Geolocation API gives it)

  var checkin = $("[data-checkin]");
  if (checkin && Q && $("[data-checkin-form]", checkin)) { checkinStep(checkin); }

  function checkinStep(box) {
    var form = $("[data-checkin-form]", box);
    var status = $("[data-checkin-status]", box);
    var locate = $("[data-locate]", box);
    var reason = $("[data-reason]", box);
    var flagLabels = JSON.parse(box.getAttribute("data-flag-labels") || "{}");
    var manual = $("[data-manual]", box);
    var submit = $("[data-checkin-submit]", box);
    if (reason.hasAttribute("data-hidden-until-needed")) { reason.hidden = true; }
    // the GPS button sends by itself; the form's button is for typed coordinates or a reason
    function showSubmit() { submit.hidden = !(manual.open || !reason.hidden); }
    manual.addEventListener("toggle", showSubmit);
    showSubmit();
    function say(text, kind) { status.textContent = text; status.className = "checkin-status " + (kind || ""); }

    function send() {
      var lat = parseFloat(form.elements.lat.value), lon = parseFloat(form.elements.lon.value);
      if (isNaN(lat) || isNaN(lon)) { $("[data-manual]", box).open = true; form.elements.lat.focus(); return; }
      var accuracy = form.elements.accuracy_m.value === "" ? null : parseFloat(form.elements.accuracy_m.value);
      var body = {lat: lat, lon: lon, accuracy_m: accuracy, at: form.elements.at.value || new Date().toISOString(),
                  reason: form.elements.reason.value.trim() || null};
      Q.enqueue({url: api + "/check-in", method: "POST", body: json(body), contentType: "application/json",
                 inspection: inspectionId, label: box.querySelector("h2").textContent, ui: {type: "check-in"}},
                {handlesRefusal: true}).then(function (queued) {
        if (!navigator.onLine) { say(box.getAttribute("data-l-queued"), "is-waiting"); }
        return queued.answered;
      }).then(function (outcome) {
        if (outcome.ok) {
          var d = outcome.data || {};
          var text = box.getAttribute("data-l-done");
          if (d.distance_m !== null && typeof d.distance_m !== "undefined") {
            text += " " + fill(box.getAttribute("data-l-distance"), {m: Math.round(d.distance_m)});
          }
          (d.flags || []).forEach(function (f) { text += " · " + (flagLabels[f] || f); });
          say(text, d.flagged ? "is-flagged" : "is-ok");
          setTimeout(function () { location.reload(); }, 1500);
          return;
        }
        var fields = outcome.data && outcome.data.error ? outcome.data.error.fields || {} : {};
        if (fields.reason) {
          reason.hidden = false;
          showSubmit();
          say(fields.reason.join(" ") + " " + box.getAttribute("data-l-reason"), "is-flagged");
          form.elements.reason.focus();
        } else {
          var message = outcome.data && outcome.data.error ? outcome.data.error.message : "HTTP " + outcome.status;
          Object.keys(fields).forEach(function (k) { message += " " + fields[k].join(" "); });
          say(message, "is-flagged");
        }
      });
    }

    form.addEventListener("submit", function (event) { event.preventDefault(); send(); });
    if (!("geolocation" in navigator)) { return; }
    locate.hidden = false;
    locate.addEventListener("click", function () {
      say(box.getAttribute("data-l-locating"));
      locate.disabled = true;
      navigator.geolocation.getCurrentPosition(function (position) {
        locate.disabled = false;
        var c = position.coords;
        form.elements.lat.value = c.latitude.toFixed(7);
        form.elements.lon.value = c.longitude.toFixed(7);
        form.elements.accuracy_m.value = c.accuracy === null ? "" : String(Math.round(c.accuracy * 10) / 10);
        form.elements.at.value = new Date(position.timestamp || Date.now()).toISOString();
        say(fill(box.getAttribute("data-l-fix"), {lat: c.latitude.toFixed(6), lon: c.longitude.toFixed(6),
                                                  acc: Math.round(c.accuracy)}));
        send();
      }, function () {
        locate.disabled = false;
        say(box.getAttribute("data-l-denied"), "is-flagged");
        $("[data-manual]", box).open = true;
      }, {enableHighAccuracy: true, timeout: 20000, maximumAge: 0});
    });
  }

  // ------------------------------------------------------------------------------------------
  // Violations: confirm a proposal or record another; the page reloads when the server has it.

  $$("[data-violation-form]").forEach(function (form) {
    if (!Q) { return; }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!form.reportValidity()) { return; }
      var body = {type_code: form.elements.type_code.value, description: form.elements.description.value.trim(),
                  evidence_ids: $$('input[name="evidence_ids"]:checked', form).map(function (i) { return Number(i.value); })};
      if (form.elements.item_code && form.elements.item_code.value) { body.item_code = form.elements.item_code.value; }
      var quantities = JSON.parse(form.getAttribute("data-quantities") || "null");
      if (form.elements.persons && form.elements.persons.value !== "") {
        quantities = Object.assign({}, quantities || {}, {persons: Number(form.elements.persons.value)});
      }
      if (quantities) { body.quantities = quantities; }
      var button = $("button[type=submit]", form);
      button.disabled = true;
      Q.enqueue({url: form.getAttribute("data-api"), method: "POST", body: json(body), contentType: "application/json",
                 inspection: inspectionId, label: body.type_code, ui: {type: "violation"}})
        .then(function (queued) {
          form.classList.add("is-waiting");
          return queued.answered;
        }).then(function (outcome) {
          if (outcome.ok) { location.reload(); } else { button.disabled = false; form.classList.remove("is-waiting"); }
        });
    });
  });

  // The 24-hour clock of an urgent police referral.
  var clocks = $$("[data-due]").filter(function (el) { return el.getAttribute("data-due"); });
  function tick() {
    clocks.forEach(function (box) {
      var left = Date.parse(box.getAttribute("data-due")) - Date.now();
      var abs = Math.abs(left), h = Math.floor(abs / 3600000), m = Math.floor(abs % 3600000 / 60000),
        s = Math.floor(abs % 60000 / 1000);
      var t = h + ":" + ("0" + m).slice(-2) + ":" + ("0" + s).slice(-2);
      var el = $("[data-clock]", box);
      if (el) { el.textContent = fill(box.getAttribute(left >= 0 ? "data-l-left" : "data-l-overdue"), {t: t}); }
      box.classList.toggle("is-overdue", left < 0);
    });
  }
  if (clocks.length) { tick(); setInterval(tick, 1000); }

  // ------------------------------------------------------------------------------------------
  // Signature pads: finger or stylus (pointer events), exported as PNG.

  $$("[data-sig-form]").forEach(function (form) {
    if (!Q) { return; }
    var canvas = $("[data-pad]", form);
    var ctx = canvas.getContext("2d");
    var status = $("[data-sig-status]", form);
    var drawn = false, drawing = false, last = null;
    function size() {
      var ratio = window.devicePixelRatio || 1;
      var box = canvas.getBoundingClientRect();
      if (!box.width) { return; }
      var keep = drawn ? canvas.toDataURL() : null;
      canvas.width = Math.round(box.width * ratio);
      canvas.height = Math.round(box.height * ratio);
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.lineWidth = 3;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.strokeStyle = "#000";
      if (keep) {
        var img = new Image();
        img.onload = function () { ctx.drawImage(img, 0, 0, box.width, box.height); };
        img.src = keep;
      }
    }
    size();
    window.addEventListener("resize", size);
    function point(event) {
      var box = canvas.getBoundingClientRect();
      return {x: event.clientX - box.left, y: event.clientY - box.top};
    }
    canvas.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      drawing = true;
      last = point(event);
      ctx.beginPath();
      ctx.arc(last.x, last.y, 1.2, 0, Math.PI * 2);
      ctx.fill();
      drawn = true;
      form.classList.add("has-ink");
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) { return; }
      event.preventDefault();
      var events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
      (events.length ? events : [event]).forEach(function (e) {
        var p = point(e);
        ctx.beginPath();
        ctx.moveTo(last.x, last.y);
        ctx.lineTo(p.x, p.y);
        ctx.stroke();
        last = p;
      });
    });
    ["pointerup", "pointercancel", "pointerleave"].forEach(function (name) {
      canvas.addEventListener(name, function () { drawing = false; });
    });
    $("[data-pad-clear]", form).addEventListener("click", function () {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      drawn = false;
      form.classList.remove("has-ink");
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!drawn) { status.textContent = form.getAttribute("data-l-empty"); return; }
      var name = form.elements.signer_name;
      if (name && !name.value.trim()) { status.textContent = form.getAttribute("data-l-name"); name.focus(); return; }
      var save = $("[data-pad-save]", form);
      save.disabled = true;
      var body = {role: form.elements.role.value, signer_name: name ? name.value.trim() : null,
                  officer_id: form.elements.officer_id ? Number(form.elements.officer_id.value) : null,
                  png: signaturePng(canvas)};
      Q.enqueue({url: api + "/signatures", method: "POST", body: json(body), contentType: "application/json",
                 inspection: inspectionId, label: $(".sig-head h3", form.closest("[data-sig]")).textContent,
                 ui: {type: "signature"}}).then(function (queued) {
        status.textContent = form.getAttribute("data-l-waiting");
        return queued.answered;
      }).then(function (outcome) {
        if (outcome.ok) { location.reload(); } else { save.disabled = false; status.textContent = ""; }
      });
    });
  });

  // The strokes on white, so that the PNG reads the same on any background (a data: URL, as the API takes it).
  function signaturePng(canvas) {
    var out = document.createElement("canvas");
    out.width = canvas.width;
    out.height = canvas.height;
    var c = out.getContext("2d");
    c.fillStyle = "#fff";
    c.fillRect(0, 0, out.width, out.height);
    c.drawImage(canvas, 0, 0);
    return out.toDataURL("image/png");
  }

  // ------------------------------------------------------------------------------------------
  // Offline copies. The service worker (/field-sw.js, static/js/field-sw.js) keeps today's pages on the
  // tablet: /today asks it to fetch them, and a page it serves without a connection is marked with the
  // time of the copy, shown in the banner. Changes made on a copy go through the outbox like any other.
  // Where there are no service workers the pages work online exactly as before.

  var banner = $("[data-offline-banner]");
  if (banner) { offlineCopies(banner); }

  function clock(at) {
    var d = new Date(at), now = new Date();
    function pad(n) { return ("0" + n).slice(-2); }
    var time = pad(d.getHours()) + ":" + pad(d.getMinutes());
    return d.toDateString() === now.toDateString() ? time :
      d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + time;
  }

  function offlineCopies(banner) {
    var copyAt = Number(banner.getAttribute("data-offline-copy") || 0);
    var note = $("[data-offline-note]", banner);
    var sync = $("[data-sync]");
    var user = sync ? sync.getAttribute("data-user") : null;
    $("[data-offline-reload]", banner).addEventListener("click", function () { location.reload(); });
    if (copyAt) {
      $("[data-offline-text]", banner).textContent = fill(banner.getAttribute("data-l-copy"), {time: clock(copyAt)});
      banner.hidden = false;
      document.documentElement.classList.add("is-offline-copy");
      $$(".flashes").forEach(function (el) { el.hidden = true; });  // they were about the moment of the copy
    }
    // A form that must reach the server (not one of the outbox's) cannot be sent without a connection:
    // say so here rather than leave the inspector on the browser's error page.
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (event.defaultPrevented || navigator.onLine || !form.closest("[data-inspection], [data-today]") ||
          (form.getAttribute("method") || "get").toLowerCase() !== "post") { return; }
      event.preventDefault();
      note.textContent = banner.getAttribute("data-l-needs-network");
      banner.hidden = false;
      banner.scrollIntoView({block: "nearest"});
    });

    if (!("serviceWorker" in navigator) || !window.caches || !user) { return; }
    var workers = navigator.serviceWorker;
    // its scope is the site (where the script is): it takes only the field pages and their files
    workers.register(banner.getAttribute("data-sw")).catch(function () { /* no copies: online as before */ });
    function tell(message) {
      workers.ready.then(function (registration) {
        if (registration && registration.active) { registration.active.postMessage(message); }
      });
    }
    var today = $("[data-offline-pages]");
    var status = $("[data-offline-status]");
    function keepToday() {
      if (today && !copyAt) {
        tell({type: "precache", user: user, urls: JSON.parse(today.getAttribute("data-offline-pages"))});
      }
    }
    keepToday();
    var controlled = !!workers.controller;
    workers.addEventListener("controllerchange", function () {
      if (controlled) { keepToday(); }  // a new version of the worker: its copies are made anew
      controlled = true;
    });
    workers.addEventListener("message", function (event) {
      var data = event.data || {};
      if (data.type === "precached" && status) {
        status.textContent = fill(status.getAttribute("data-l-kept"), {n: data.pages});
        status.setAttribute("data-pages", String(data.pages));
        status.setAttribute("data-bytes", String(data.bytes));
        status.setAttribute("data-ms", String(data.ms));
        status.hidden = !data.pages;
      }
    });
    // Once changes reach the server, the copy of this page is made again (a few seconds after the last one),
    // so that a later offline visit does not show what was answered since as unanswered.
    if (Q) {
      var refresh = null;
      Q.subscribe(function (entry, outcome) {
        if (!outcome.ok) { return; }
        clearTimeout(refresh);
        refresh = setTimeout(function () {
          tell({type: "refresh", user: user, url: location.pathname + location.search});
        }, 5000);
      });
    }
  }

  // ------------------------------------------------------------------------------------------
  // Completion waits for the tablet's outbox: nothing may be frozen while a change is still here.

  var completeForm = $("[data-complete-form]");
  if (completeForm && Q) {
    completeForm.addEventListener("submit", function (event) {
      if (completeForm.getAttribute("data-checked") === "yes") { return; }
      event.preventDefault();
      Q.pending(inspectionId).then(function (rows) {
        var note = $("[data-complete-pending]");
        if (rows.length) {
          note.textContent = fill($("[data-complete]").getAttribute("data-l-pending"), {n: rows.length});
          note.hidden = false;
          Q.kick();
          return;
        }
        completeForm.setAttribute("data-checked", "yes");
        completeForm.submit();
      });
    });
  }
})();
