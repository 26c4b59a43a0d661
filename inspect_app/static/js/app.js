// Shared behaviour: fetch() helpers that carry the CSRF token for session-authenticated API calls.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  window.inspectFetch = function (url, options) {
    options = options || {};
    options.headers = Object.assign({"Accept": "application/json"}, options.headers || {});
    if (meta && options.method && options.method.toUpperCase() !== "GET") {
      options.headers["X-CSRFToken"] = meta.getAttribute("content");
    }
    options.credentials = "same-origin";
    return fetch(url, options);
  };
})();

// Registry form: pre-fill coordinates from the address (offline gazetteer unless a geocoder is
// configured); the clerk checks them and corrects by hand.
(function () {
  "use strict";
  var box = document.querySelector("[data-geocode-url]");
  if (!box) { return; }
  var button = box.querySelector("[data-locate]");
  var out = box.querySelector("[data-locate-result]");
  button.addEventListener("click", function () {
    var form = button.form;
    var address = form.elements.address.value.trim();
    if (!address) { form.elements.address.focus(); return; }
    var url = box.getAttribute("data-geocode-url") + "?address=" + encodeURIComponent(address);
    if (form.elements.region_code && form.elements.region_code.value) {
      url += "&region_code=" + encodeURIComponent(form.elements.region_code.value);
    }
    button.disabled = true;
    window.inspectFetch(url).then(function (r) { return r.json(); }).then(function (data) {
      var res = data.result;
      if (res) {
        form.elements.lat.value = res.lat.toFixed(6);
        form.elements.lon.value = res.lon.toFixed(6);
        form.elements.crs.value = "wgs84";
        form.elements.lat.dispatchEvent(new Event("change"));
        out.textContent = res.matched + " (±" + Math.round(res.precision_m) + " m)" +
          (data.message ? " — " + data.message : "");
      } else {
        out.textContent = data.message || (data.error && data.error.message) || "";
      }
    }).catch(function () { out.textContent = ""; }).then(function () { button.disabled = false; });
  });
})();

// Registry form: the manual pin on the offline map. A tap converts the tapped pixel back to WGS-84
// with the projection the server wrote into the drawing, fills the coordinates and redraws.
(function () {
  "use strict";
  var box = document.querySelector("[data-pin-map]");
  if (!box) { return; }
  var form = box.closest("form");
  var canvas = box.querySelector("[data-canvas]");
  var state = {lat: null, lon: null, span: null};

  function pin() {
    var lat = parseFloat(form.elements.lat.value), lon = parseFloat(form.elements.lon.value);
    var crs = form.elements.crs ? form.elements.crs.value : "wgs84";
    return (isFinite(lat) && isFinite(lon) && crs === "wgs84") ? {lat: lat, lon: lon} : null;
  }

  function draw() {
    var p = pin(), url = box.getAttribute("data-pin-map") + "?";
    var params = [];
    if (state.lat !== null) { params.push("lat=" + state.lat, "lon=" + state.lon); }
    if (state.span !== null) { params.push("span=" + state.span); }
    if (p) { params.push("pin_lat=" + p.lat, "pin_lon=" + p.lon); }
    if (box.getAttribute("data-entity")) { params.push("entity=" + box.getAttribute("data-entity")); }
    window.inspectFetch(url + params.join("&"), {headers: {"Accept": "image/svg+xml"}})
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (svg) {
        canvas.innerHTML = svg;
        var el = canvas.querySelector("svg");
        if (el) { state.span = parseFloat(el.getAttribute("data-span")); }
      });
  }

  canvas.addEventListener("click", function (event) {
    var svg = canvas.querySelector("svg");
    if (!svg) { return; }
    var rect = svg.getBoundingClientRect();
    var x = (event.clientX - rect.left) * 640 / rect.width, y = (event.clientY - rect.top) * 480 / rect.height;
    var lat0 = parseFloat(svg.getAttribute("data-lat0")), lon0 = parseFloat(svg.getAttribute("data-lon0"));
    var k = parseFloat(svg.getAttribute("data-k")), cos = parseFloat(svg.getAttribute("data-cos"));
    var lat = lat0 - (y - 240) / k, lon = lon0 + (x - 320) / (k * cos);
    form.elements.lat.value = lat.toFixed(6);
    form.elements.lon.value = lon.toFixed(6);
    if (form.elements.crs) { form.elements.crs.value = "wgs84"; }
    state.lat = lat; state.lon = lon;
    draw();
  });

  box.querySelectorAll("[data-span]").forEach(function (button) {
    button.addEventListener("click", function () {
      var p = pin();
      state.span = parseFloat(button.getAttribute("data-span"));
      if (p) { state.lat = p.lat; state.lon = p.lon; }
      draw();
    });
  });

  ["lat", "lon", "crs"].forEach(function (name) {
    if (!form.elements[name]) { return; }
    form.elements[name].addEventListener("change", function () {
      var p = pin();
      if (p) { state.lat = p.lat; state.lon = p.lon; if (state.span === null || state.span > 8000) { state.span = 2000; } }
      draw();
    });
  });

  var initial = pin();
  if (initial) { state.lat = initial.lat; state.lon = initial.lon; state.span = 2000; }
  draw();
})();
