/* Anju kiosk service worker: keeps the page and its assets, so that a kiosk reloaded (or
 * rebooted) while the network is down still starts and shows the listings it saved in
 * localStorage, and the listings' photos it has shown. Network first, the cached copy only
 * when the network fails (for a photo, also when its signed URL has expired: the bytes at a
 * path never change). Photos are cached by origin and path, without the signed query string
 * (the page adds the ones it shows and prunes them to its current listings); /graphql and
 * everything else pass through untouched. */
"use strict";

var CACHE = "anju-kiosk-v2";
var PHOTO_CACHE = "anju-kiosk-photos-v1";
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
          return name.indexOf("anju-kiosk-") === 0 && name !== CACHE && name !== PHOTO_CACHE;
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

function isPhoto(request, url) {
  return request.destination === "image" &&
    (url.origin !== self.location.origin || url.pathname.indexOf("/files/") === 0);
}

function photoResponse(request, url) {
  var key = url.origin + url.pathname;
  function cached() {
    return caches.open(PHOTO_CACHE).then(function (cache) {
      return cache.match(key);
    });
  }
  return fetch(request).then(function (response) {
    if (response.ok || response.type === "opaque") {
      var copy = response.clone();
      caches.open(PHOTO_CACHE).then(function (cache) {
        return cache.put(key, copy);
      });
      return response;
    }
    return cached().then(function (hit) {
      return hit || response;
    });
  }).catch(function () {
    return cached().then(function (hit) {
      return hit || Response.error();
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET") return;
  if (isPhoto(request, url)) {
    event.respondWith(photoResponse(request, url));
    return;
  }
  if (!isShell(url)) return;
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
