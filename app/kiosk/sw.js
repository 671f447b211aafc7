/* Anju kiosk service worker: keeps the page and its assets, so that a kiosk reloaded (or
 * rebooted) while the network is down still starts and shows the listings it saved in
 * localStorage. Network first, the cached copy only when the network fails; /graphql and
 * everything else pass through untouched. */
"use strict";

var CACHE = "anju-kiosk-v1";
var SHELL = [
  "/kiosk",
  "/kiosk/assets/kiosk.css",
  "/kiosk/assets/kiosk.js",
  "/kiosk/assets/qr.js",
  "/kiosk/assets/icon.svg",
];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      return cache.addAll(SHELL);
    }).then(function () {
      return self.skipWaiting();
    })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(
        names.filter(function (name) {
          return name.indexOf("anju-kiosk-") === 0 && name !== CACHE;
        }).map(function (name) {
          return caches.delete(name);
        })
      );
    }).then(function () {
      return self.clients.claim();
    })
  );
});

function isShell(url) {
  return url.origin === self.location.origin &&
    (url.pathname === "/kiosk" || url.pathname.indexOf("/kiosk/assets/") === 0);
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || !isShell(url)) return;
  event.respondWith(
    fetch(request).then(function (response) {
      if (response.ok) {
        var copy = response.clone();
        // one copy of the page whatever its query string (community, town, timings)
        var key = url.pathname === "/kiosk" ? "/kiosk" : request;
        caches.open(CACHE).then(function (cache) {
          return cache.put(key, copy);
        });
      }
      return response;
    }).catch(function () {
      return caches.match(url.pathname === "/kiosk" ? "/kiosk" : request).then(function (hit) {
        return hit || Response.error();
      });
    })
  );
});
