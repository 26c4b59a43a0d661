// The field tablets' service worker: today's pages open without a connection.
//
// Served as /field-sw.js (inspection.views.service_worker), which puts `self.FIELD_SW` before this file:
// {version, assets: the field pages' CSS, JS and icon with their ?v=<hash> URLs, pages: patterns of the
// field pages' paths, login, logout}. Registered by field.js on the field pages only.
//
// - The field pages' static files: kept at install, then served cache-first (a changed file has a new URL).
// - The field pages (today, the steps of an inspection): network-first. Every page the server answers is
//   kept in the cache of the user it was for (its X-Field-User header); when the network fails the kept
//   copy is served, marked so that the page shows "offline copy from HH:MM". One user's copies at a time:
//   a page for another user, the sign-in page and signing out (POST /logout) delete them.
// - /today asks ("precache") for the pages of today's inspections, fetched here with the session cookie.
// - Changes never come here: they go through the outbox (field-queue.js) to the API, which is not cached,
//   and neither is any other page or download.
"use strict";

var CONFIG = self.FIELD_SW;
var STATIC_PREFIX = "field-static-", PAGES_PREFIX = "field-pages-";
var STATIC_CACHE = STATIC_PREFIX + CONFIG.version;
var PAGE_PATTERNS = CONFIG.pages.map(function (pattern) { return new RegExp(pattern); });
var ASSET_PATHS = CONFIG.assets.map(function (url) { return new URL(url, self.location.href).pathname; });
var FRESH_MS = 5 * 60 * 1000;  // a copy younger than this is not fetched again when /today asks
var PARALLEL = 2;              // the server and the county's link are shared: two pages at a time
var COPY_HEADER = "X-Field-Copy", USER_HEADER = "X-Field-User", AT_HEADER = "X-Field-Copy-At";
var MARK = 'data-offline-copy=""';  // on the banner of every field page (templates/inspection/_sync.html)
// an inspection's photos (from the API) and signatures, shown on its pages: a grey picture when offline
var INSPECTION_IMAGE = /\/inspections\/\d+\/(evidence\/\d+\/file|signatures\/\d+\.png)$/;

function isFieldPage(url) {
  return url.origin === self.location.origin &&
    PAGE_PATTERNS.some(function (pattern) { return pattern.test(url.pathname); });
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(STATIC_CACHE).then(function (cache) {
    return cache.addAll(CONFIG.assets);
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  // the previous version's static files go; kept pages stay (they are refreshed when /today opens)
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf(STATIC_PREFIX) === 0 && name !== STATIC_CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.method === "POST" && url.pathname === CONFIG.logout) {
    event.waitUntil(clearPages());  // the request itself goes to the server untouched
    return;
  }
  if (request.method !== "GET") { return; }
  if (request.mode === "navigate" && isFieldPage(url)) {
    event.respondWith(networkFirst(event));
  } else if (request.mode === "navigate" && url.pathname === CONFIG.login) {
    event.respondWith(signInPage(event));
  } else if (ASSET_PATHS.indexOf(url.pathname) >= 0 && url.searchParams.has("v")) {
    event.respondWith(cacheFirst(request));
  } else if (request.destination === "image" && INSPECTION_IMAGE.test(url.pathname)) {
    event.respondWith(fetch(request).catch(missingImage));  // photos and signatures are never kept
  }
});

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "precache" && data.user && Array.isArray(data.urls)) {
    event.waitUntil(precache(String(data.user), data.urls, event.source));
  } else if (data.type === "refresh" && data.user && data.url) {
    event.waitUntil(userCache(String(data.user)).then(function (cache) {
      return copy(cache, absolute(data.url), String(data.user), {}, true);
    }));
  }
});

function absolute(url) { return new URL(url, self.location.href).href; }

// ------------------------------------------------------------------------------------------------
// Pages

function networkFirst(event) {
  var request = event.request;
  return fetch(request).then(function (response) {
    event.waitUntil(keep(request.url, response.clone()));
    return response;
  }, function () {
    return offlineCopy(request.url).then(function (copy) { return copy || Response.error(); });
  });
}

// Nobody is signed in on this tablet any more: nobody's copies stay.
function signInPage(event) {
  return fetch(event.request).then(function (response) {
    if (response.status === 200 && response.type === "basic") { event.waitUntil(clearPages()); }
    return response;
  });
}

function pageCaches() {
  return caches.keys().then(function (names) {
    return names.filter(function (name) { return name.indexOf(PAGES_PREFIX) === 0; });
  });
}

function clearPages() {
  return pageCaches().then(function (names) {
    return Promise.all(names.map(function (name) { return caches.delete(name); }));
  });
}

// The cache of `user`, after deleting anyone else's.
function userCache(user) {
  var mine = PAGES_PREFIX + user;
  return pageCaches().then(function (names) {
    return Promise.all(names.filter(function (name) { return name !== mine; })
      .map(function (name) { return caches.delete(name); }));
  }).then(function () { return caches.open(mine); });
}

// Keep a page the server answered (200, for a signed-in user); resolves to its size, or null.
function keep(url, response, expectedUser) {
  var user = response.headers.get(USER_HEADER);
  if (!user || (expectedUser && user !== expectedUser) || response.status !== 200 || response.type !== "basic") {
    return Promise.resolve(null);
  }
  return Promise.all([userCache(user), response.blob()]).then(function (got) {
    var headers = new Headers(response.headers);
    headers.set(AT_HEADER, String(Date.now()));
    headers.delete("Content-Length");
    return got[0].put(url, new Response(got[1], {status: 200, statusText: response.statusText, headers: headers}))
      .then(function () { return got[1].size; });
  });
}

// A kept redirect (the workspace opens at the step it has reached, a completed one at its record).
function keepRedirect(cache, url, target) {
  var headers = new Headers({"Location": new URL(target).pathname + new URL(target).search});
  headers.set(AT_HEADER, String(Date.now()));
  return cache.put(url, new Response(null, {status: 302, headers: headers}));
}

function offlineCopy(url) {
  return pageCaches().then(function (names) {
    return names.length ? caches.open(names[0]).then(function (cache) { return cache.match(url); }) : null;
  }).then(function (kept) {
    if (!kept || kept.status !== 200) { return kept || null; }  // a redirect: the browser follows it to a copy
    return kept.text().then(function (html) {
      var at = kept.headers.get(AT_HEADER) || "0";
      return new Response(html.replace(MARK, 'data-offline-copy="' + at + '"'),
                          {status: 200, statusText: "OK", headers: kept.headers});
    });
  });
}

// Fetch one page for `user` with the session cookie and keep it (or the redirect it answers with).
// Resolves to false when the session is not that user's any more (signed out): the precache stops.
function copy(cache, url, user, wanted, force) {
  return cache.match(url).then(function (kept) {
    var at = kept ? Number(kept.headers.get(AT_HEADER) || 0) : 0;
    if (!force && at && Date.now() - at < FRESH_MS) { return true; }
    var headers = {"Accept": "text/html"};
    headers[COPY_HEADER] = "1";
    return fetch(url, {credentials: "same-origin", headers: headers, cache: "no-store"}).then(function (response) {
      var target = new URL(response.url);
      var owner = response.headers.get(USER_HEADER);
      if ((response.redirected && !isFieldPage(target)) || (owner && owner !== user)) {
        return false;  // sent to the sign-in page, or someone else is signed in now
      }
      if (!response.redirected) { return keep(url, response, user).then(function () { return true; }); }
      wanted[target.href] = true;
      return keepRedirect(cache, url, response.url).then(function () {
        return keep(target.href, response, user);
      }).then(function () { return true; });
    }, function () { return true; });  // no network: the old copy (if any) stays
  });
}

function precache(user, urls, client) {
  var wanted = {};
  var queue = urls.map(absolute);
  queue.forEach(function (url) { wanted[url] = true; });
  var stopped = false;
  var started = Date.now();
  return userCache(user).then(function (cache) {
    function next() {
      var url = queue.shift();
      if (!url || stopped) { return null; }
      return copy(cache, url, user, wanted, false).then(function (ok) {
        if (!ok) { stopped = true; }
        return next();
      });
    }
    var lanes = [];
    for (var i = 0; i < PARALLEL; i++) { lanes.push(next()); }
    return Promise.all(lanes).then(function () {
      if (stopped) { return clearPages().then(function () { return {pages: 0, bytes: 0}; }); }
      return prune(cache, wanted).then(function () { return summary(cache); });
    });
  }).then(function (found) {
    if (client) {
      client.postMessage({type: "precached", pages: found.pages, bytes: found.bytes, ms: Date.now() - started});
    }
  });
}

// Only today's pages stay (yesterday's route, another day's page looked at online, go).
function prune(cache, wanted) {
  return cache.keys().then(function (requests) {
    return Promise.all(requests.filter(function (request) { return !wanted[request.url]; })
      .map(function (request) { return cache.delete(request); }));
  });
}

// How many pages are kept (redirects are not pages) and their size.
function summary(cache) {
  return cache.keys().then(function (requests) {
    return Promise.all(requests.map(function (request) { return cache.match(request); }));
  }).then(function (responses) {
    var pages = responses.filter(function (response) { return response && response.status === 200; });
    return Promise.all(pages.map(function (response) { return response.blob(); }));
  }).then(function (bodies) {
    return {pages: bodies.length, bytes: bodies.reduce(function (sum, body) { return sum + body.size; }, 0)};
  });
}

// ------------------------------------------------------------------------------------------------
// Static files and images

function cacheFirst(request) {
  return caches.open(STATIC_CACHE).then(function (cache) {
    return cache.match(request, {ignoreVary: true}).then(function (hit) {
      if (hit) { return hit; }
      return fetch(request).catch(function (error) {
        // a page kept before the last update asks for the older version: the current one is what there is
        return cache.match(request, {ignoreSearch: true, ignoreVary: true}).then(function (other) {
          if (other) { return other; }
          throw error;
        });
      });
    });
  });
}

function missingImage() {
  var svg = '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96">' +
    '<rect width="96" height="96" fill="#eeeeee"/><path d="M28 64l14-18 10 12 7-8 9 14z" fill="#999999"/>' +
    '<circle cx="62" cy="34" r="6" fill="#999999"/></svg>';
  return new Response(svg, {headers: {"Content-Type": "image/svg+xml", "Cache-Control": "no-store"}});
}
