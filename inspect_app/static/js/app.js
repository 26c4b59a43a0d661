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
        out.textContent = res.matched + " (±" + Math.round(res.precision_m) + " m)" +
          (data.message ? " — " + data.message : "");
      } else {
        out.textContent = data.message || (data.error && data.error.message) || "";
      }
    }).catch(function () { out.textContent = ""; }).then(function () { button.disabled = false; });
  });
})();
