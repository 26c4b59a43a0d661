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
