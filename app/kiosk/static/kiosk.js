/* Anju kiosk: cycles through a community's published listings on a management-station touch
 * screen, each with its first photo; a tap on the photo opens the room's page with all of them
 * (lazy-loaded). Talks only to Anju's own /graphql (the anonymous `listings` query) and loads
 * the photos from their signed URLs.
 *
 * Query parameters: community (required), town, and for tests or tuning cycle (seconds per
 * listing, default 10), idle (seconds untouched before it returns to cycling, default 60),
 * refresh (seconds between refreshes, default 180).
 *
 * The last good listings stay on screen while the network is down and are kept in
 * localStorage, so a reload while offline still shows them (the service worker keeps the page
 * itself, and the photos already shown: their signed URLs change, so they are cached by path).
 * State for tests and styling is on <body>: data-state (loading, setup, cycling, paused, room,
 * empty), data-online, data-count (listings after the filters), data-total.
 */
(function () {
  "use strict";

  var params = new URLSearchParams(window.location.search);

  function seconds(name, fallback, min, max) {
    var value = parseFloat(params.get(name));
    if (!isFinite(value)) return fallback * 1000;
    return Math.min(max, Math.max(min, value)) * 1000;
  }

  var config = {
    community: (params.get("community") || "").trim(),
    town: (params.get("town") || "").trim(),
    cycleMs: seconds("cycle", 10, 1, 3600),
    idleMs: seconds("idle", 60, 1, 86400),
    refreshMs: seconds("refresh", 180, 1, 86400),
    offlineRetryMs: 30000,
    requestTimeoutMs: 15000,
    pageSize: 100,
    maxPages: 3,
  };

  // Bands in fen (rent) and square metres (size): min inclusive, max exclusive.
  var RENT_BANDS = [
    { id: "all", zh: "全部", en: "All" },
    { id: "lt1000", zh: "1000以下", en: "under 1,000", max: 100000 },
    { id: "1000-2000", zh: "1000–2000", en: "1,000–2,000", min: 100000, max: 200000 },
    { id: "2000-3000", zh: "2000–3000", en: "2,000–3,000", min: 200000, max: 300000 },
    { id: "gt3000", zh: "3000以上", en: "3,000 and up", min: 300000 },
  ];
  var SIZE_BANDS = [
    { id: "all", zh: "全部", en: "All" },
    { id: "lt20", zh: "20以下", en: "under 20", max: 20 },
    { id: "20-40", zh: "20–40", en: "20–40", min: 20, max: 40 },
    { id: "40-60", zh: "40–60", en: "40–60", min: 40, max: 60 },
    { id: "gt60", zh: "60以上", en: "60 and up", min: 60 },
  ];

  // The kiosk's one operation, persisted: app/operations/kiosk/KioskListings.graphql, named by
  // its SHA-256 (app/operations/manifest.json; a test checks the two agree). Production serves
  // persisted documents only.
  var DOCUMENT_ID = "sha256:30dec2f994892d43c77720c80bbd3297566177fdc9ab0034e524099b3185d059";

  var AMENITIES = {
    AIR_CONDITIONER: ["空调", "Air conditioner"],
    WATER_HEATER: ["热水器", "Water heater"],
    PRIVATE_BATHROOM: ["独立卫生间", "Own bathroom"],
    KITCHEN: ["厨房", "Kitchen"],
    WASHING_MACHINE: ["洗衣机", "Washing machine"],
    WIFI: ["无线网络", "Wi-Fi"],
    BALCONY: ["阳台", "Balcony"],
    FURNISHED: ["家具齐全", "Furnished"],
    LIFT: ["电梯", "Lift"],
    EBIKE_CHARGING: ["电动车集中充电", "Safe e-bike charging"],
  };

  // Photos already shown, for reloads while offline: keyed by origin and path (their signed
  // query strings change every hour), pruned to the current listings' after each refresh.
  var PHOTO_CACHE = "anju-kiosk-photos-v1";

  var STORAGE_KEY = "anju.kiosk.v1:" + config.town + "|" + config.community;

  var state = {
    listings: [],
    filtered: [],
    index: 0,
    rentBand: "all",
    sizeBand: "all",
    paused: false,
    roomId: null,
    online: true,
    updatedAt: null,
    loaded: false,
  };
  var timers = { cycle: 0, idle: 0, refresh: 0 };
  var qrCache = {};

  function $(id) {
    return document.getElementById(id);
  }

  function el(tag, className, children) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  // --- formatting ----------------------------------------------------------------------

  function yuan(fen) {
    var whole = Math.floor(fen / 100).toLocaleString("en-US");
    var cents = fen % 100;
    return cents ? whole + "." + String(cents).padStart(2, "0") : whole;
  }

  function area(sqm) {
    return (Math.round(sqm * 10) / 10).toString();
  }

  function phone(digits) {
    return /^\d{11}$/.test(digits)
      ? digits.slice(0, 3) + " " + digits.slice(3, 7) + " " + digits.slice(7)
      : digits;
  }

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  function localDate(date) {
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate());
  }

  function clock(ms) {
    var date = new Date(ms);
    return pad(date.getHours()) + ":" + pad(date.getMinutes());
  }

  function inBand(value, band) {
    return (band.min === undefined || value >= band.min) &&
      (band.max === undefined || value < band.max);
  }

  function band(list, id) {
    for (var i = 0; i < list.length; i++) if (list[i].id === id) return list[i];
    return list[0];
  }

  // --- rendering -----------------------------------------------------------------------

  function setState(name) {
    document.body.dataset.state = name;
  }

  function showMessage(zh, en) {
    $("card").hidden = true;
    $("room").hidden = true;
    $("message").hidden = false;
    $("message-zh").textContent = zh;
    $("message-en").textContent = en;
  }

  function qrFor(number) {
    if (!qrCache[number]) {
      try {
        qrCache[number] = window.AnjuQR.toSVG(window.AnjuQR.encode("tel:" + number), 4);
        qrCache[number].setAttribute("role", "img");
        qrCache[number].setAttribute("aria-label", "QR: tel:" + number);
      } catch (err) {
        qrCache[number] = el("div", "qr-missing", [number]);
      }
    }
    return qrCache[number];
  }

  function render() {
    var body = document.body;
    body.dataset.count = String(state.filtered.length);
    body.dataset.total = String(state.listings.length);
    $("counter").textContent = state.filtered.length
      ? state.index + 1 + " / " + state.filtered.length
      : "";
    renderStatus();
    renderPauseButton();
    if (!config.community) {
      setState("setup");
      showMessage("请在网址中加上 ?community=社区名", "Add ?community=… to this page's address.");
      return;
    }
    if (!state.loaded) {
      setState("loading");
      if (state.online) showMessage("正在加载…", "Loading…");
      else showMessage("网络中断，稍后自动重试", "Offline: trying again shortly.");
      return;
    }
    if (!state.filtered.length) {
      setState("empty");
      $("card").dataset.listingId = "";
      if (state.listings.length) {
        showMessage("没有符合条件的空房", "No vacant rooms match these filters.");
      } else {
        showMessage("本社区暂无空房", "No vacant rooms in this community right now.");
      }
      return;
    }
    var listing = state.filtered[state.index];
    if (state.roomId && listing.id === state.roomId) {
      setState("room");
      renderRoom(listing);
      return;
    }
    state.roomId = null;
    $("room").hidden = true;
    setState(state.paused ? "paused" : "cycling");
    var card = $("card");
    $("message").hidden = true;
    card.hidden = false;
    $("paused-badge").hidden = !state.paused;
    var changed = card.dataset.listingId !== listing.id;
    card.dataset.listingId = listing.id;
    card.dataset.rentFen = String(listing.monthlyRentFen);
    card.dataset.areaSqm = String(listing.areaSqm);
    $("title").textContent = listing.title;
    $("address").textContent = listing.address;
    $("rent").textContent = yuan(listing.monthlyRentFen);
    $("area").textContent = area(listing.areaSqm);
    $("available").textContent =
      listing.availableFrom <= localDate(new Date()) ? "现在 Now" : listing.availableFrom;
    $("landlord").textContent = listing.landlordName;
    $("phone").textContent = phone(listing.contactPhone);
    var qr = $("qr");
    qr.replaceChildren(qrFor(listing.contactPhone));
    qr.dataset.text = "tel:" + listing.contactPhone;
    renderCover(listing.photos || []);
    if (changed) {
      card.classList.remove("enter");
      void card.offsetWidth; // restart the entrance animation
      card.classList.add("enter");
    }
  }

  // The card's photo: the first one's thumbnail, and how many there are.
  function renderCover(photos) {
    var cover = $("cover");
    var img = $("cover-img");
    $("card").classList.toggle("has-photo", photos.length > 0);
    if (!photos.length) {
      cover.hidden = true;
      img.removeAttribute("src");
      img.dataset.photoId = "";
      return;
    }
    cover.hidden = false;
    if (img.getAttribute("src") !== photos[0].thumbnailUrl) {
      img.src = photos[0].thumbnailUrl;
      img.dataset.photoId = photos[0].id;
    }
    $("cover-count").textContent = photos.length > 1 ? photos.length + " 张照片 photos" : "";
    $("cover-count").hidden = photos.length < 2;
  }

  // The room's page: every photo, full size, each loaded when scrolled near.
  function renderRoom(listing) {
    $("card").hidden = true;
    $("message").hidden = true;
    $("room").hidden = false;
    $("room-title").textContent = listing.title;
    var amenities = $("room-amenities");
    amenities.replaceChildren();
    (listing.amenities || []).forEach(function (name) {
      var words = AMENITIES[name] || [name, ""];
      var item = el("li", "amenity", [words[0], el("span", "en", [words[1]])]);
      item.dataset.amenity = name;
      amenities.appendChild(item);
    });
    var gallery = $("gallery");
    var photos = listing.photos || [];
    var shownKey = listing.id + ":" + photos.map(function (p) { return p.url; }).join(",");
    if (gallery.dataset.shown === shownKey) return;
    gallery.dataset.shown = shownKey;
    gallery.replaceChildren();
    photos.forEach(function (p, i) {
      var img = document.createElement("img");
      img.className = "gallery-img";
      img.loading = "lazy";
      img.decoding = "async";
      img.width = p.width;
      img.height = p.height;
      img.alt = "照片 Photo " + (i + 1) + " / " + photos.length;
      img.dataset.photoId = p.id;
      img.addEventListener("load", function () {
        keepPhoto(img.currentSrc || img.src);
      });
      img.src = p.url;
      gallery.appendChild(img);
    });
    gallery.scrollTop = 0;
  }

  function openRoom() {
    var listing = state.filtered[state.index];
    if (!listing || !(listing.photos || []).length) return;
    state.roomId = listing.id;
    state.paused = true;
    render();
    scheduleCycle();
  }

  function closeRoom() {
    state.roomId = null;
    render();
    scheduleCycle();
  }

  // --- photos kept for offline use -----------------------------------------------------

  function photoKey(url) {
    var parsed = new URL(url, window.location.href);
    return parsed.origin + parsed.pathname;
  }

  function keepPhoto(url) {
    if (!url || !window.caches || !window.isSecureContext) return;
    var key = photoKey(url);
    var sameOrigin = new URL(url, window.location.href).origin === window.location.origin;
    window.caches
      .open(PHOTO_CACHE)
      .then(function (cache) {
        return cache.match(key).then(function (hit) {
          if (hit) return null;
          return fetch(url, { mode: sameOrigin ? "same-origin" : "no-cors", credentials: "omit" })
            .then(function (response) {
              if (response.ok || response.type === "opaque") return cache.put(key, response);
              return null;
            });
        });
      })
      .catch(function () {
        // no offline copy of this photo; it still shows while online
      });
  }

  function prunePhotos(listings) {
    if (!window.caches || !window.isSecureContext) return;
    var keep = {};
    listings.forEach(function (l) {
      (l.photos || []).forEach(function (p) {
        keep[photoKey(p.url)] = true;
        keep[photoKey(p.thumbnailUrl)] = true;
      });
    });
    window.caches
      .open(PHOTO_CACHE)
      .then(function (cache) {
        return cache.keys().then(function (requests) {
          return Promise.all(
            requests
              .filter(function (r) {
                return !keep[r.url];
              })
              .map(function (r) {
                return cache.delete(r);
              })
          );
        });
      })
      .catch(function () {});
  }

  function renderStatus() {
    var status = $("status");
    var updated = state.updatedAt ? clock(state.updatedAt) : null;
    document.body.dataset.online = state.online ? "true" : "false";
    if (state.online) {
      status.textContent = updated ? "更新于 updated " + updated : "";
    } else {
      status.textContent = updated
        ? "离线 offline · 最后更新 last updated " + updated
        : "离线 offline · 尚无数据 no data yet";
    }
  }

  function renderPauseButton() {
    var button = $("pause");
    button.setAttribute("aria-pressed", state.paused ? "true" : "false");
    button.replaceChildren(
      document.createTextNode(state.paused ? "▶ 继续" : "❚❚ 暂停"),
      el("span", "en", [state.paused ? "Resume" : "Pause"])
    );
  }

  function renderChips(containerId, bands, selected, onPick) {
    var container = $(containerId);
    container.replaceChildren();
    bands.forEach(function (b) {
      var button = el("button", "chip", [b.zh, el("span", "en", [b.en])]);
      button.type = "button";
      button.dataset.band = b.id;
      button.setAttribute("aria-pressed", b.id === selected ? "true" : "false");
      button.addEventListener("click", function () {
        onPick(b.id);
      });
      container.appendChild(button);
    });
  }

  function renderFilters() {
    renderChips("rent-bands", RENT_BANDS, state.rentBand, function (id) {
      state.rentBand = id;
      applyFilters(null);
    });
    renderChips("size-bands", SIZE_BANDS, state.sizeBand, function (id) {
      state.sizeBand = id;
      applyFilters(null);
    });
  }

  // --- behaviour -----------------------------------------------------------------------

  // Recomputes the filtered list; keeps showing `keepId` if it still matches, else the newest.
  function applyFilters(keepId) {
    var rent = band(RENT_BANDS, state.rentBand);
    var size = band(SIZE_BANDS, state.sizeBand);
    state.filtered = state.listings.filter(function (l) {
      return inBand(l.monthlyRentFen, rent) && inBand(l.areaSqm, size);
    });
    state.index = 0;
    for (var i = 0; keepId && i < state.filtered.length; i++) {
      if (state.filtered[i].id === keepId) state.index = i;
    }
    renderFilters();
    render();
    scheduleCycle();
  }

  function show(index) {
    var n = state.filtered.length;
    if (!n) return;
    state.index = ((index % n) + n) % n;
    render();
  }

  function scheduleCycle() {
    window.clearTimeout(timers.cycle);
    if (state.paused || state.filtered.length < 2) return;
    timers.cycle = window.setTimeout(function () {
      show(state.index + 1);
      scheduleCycle();
    }, config.cycleMs);
  }

  function setPaused(paused) {
    state.paused = paused;
    render();
    scheduleCycle();
  }

  // Any touch restarts the idle clock; when it runs out the kiosk returns to its resting
  // state for the next passer-by: all listings, newest first, cycling.
  function touched() {
    window.clearTimeout(timers.idle);
    timers.idle = window.setTimeout(backToCycling, config.idleMs);
  }

  function backToCycling() {
    state.paused = false;
    state.roomId = null;
    state.rentBand = "all";
    state.sizeBand = "all";
    applyFilters(null);
  }

  // --- data ----------------------------------------------------------------------------

  function fetchPage(after) {
    var filter = { community: config.community };
    if (config.town) filter.town = config.town;
    var controller = new AbortController();
    var timeout = window.setTimeout(function () {
      controller.abort();
    }, config.requestTimeoutMs);
    return fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({
        documentId: DOCUMENT_ID,
        variables: { filter: filter, first: config.pageSize, after: after },
      }),
      credentials: "omit",
      cache: "no-store",
      signal: controller.signal,
    })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (body) {
        if (body.errors || !body.data) throw new Error("GraphQL errors");
        return body.data.listings;
      })
      .finally(function () {
        window.clearTimeout(timeout);
      });
  }

  function fetchAll() {
    var collected = [];
    function next(after, pages) {
      return fetchPage(after).then(function (connection) {
        connection.edges.forEach(function (edge) {
          collected.push(edge.node);
        });
        if (connection.pageInfo.hasNextPage && pages + 1 < config.maxPages) {
          return next(connection.pageInfo.endCursor, pages + 1);
        }
        return collected;
      });
    }
    return next(null, 0);
  }

  function save() {
    try {
      window.localStorage.setItem(
        STORAGE_KEY,
        JSON.stringify({ savedAt: state.updatedAt, listings: state.listings })
      );
    } catch (err) {
      // storage full or disabled: the kiosk still works, only not across reloads offline
    }
  }

  function restore() {
    try {
      var saved = JSON.parse(window.localStorage.getItem(STORAGE_KEY) || "null");
      if (saved && Array.isArray(saved.listings)) {
        state.listings = saved.listings;
        state.updatedAt = saved.savedAt || null;
        state.loaded = true;
      }
    } catch (err) {
      // unreadable: start empty
    }
  }

  function refresh() {
    window.clearTimeout(timers.refresh);
    return fetchAll()
      .then(function (listings) {
        var current = state.filtered[state.index];
        state.listings = listings;
        state.updatedAt = Date.now();
        state.online = true;
        state.loaded = true;
        save();
        prunePhotos(listings);
        applyFilters(current ? current.id : null);
        timers.refresh = window.setTimeout(refresh, config.refreshMs);
      })
      .catch(function () {
        state.online = false;
        render();
        timers.refresh = window.setTimeout(
          refresh,
          Math.min(config.refreshMs, config.offlineRetryMs)
        );
      });
  }

  // The service worker keeps the page and its assets for a reload while the network is down.
  // Browsers allow it only in a secure context (HTTPS, or localhost).
  function registerServiceWorker() {
    if (!("serviceWorker" in navigator) || !window.isSecureContext) return;
    var url = "/kiosk/sw.js";
    if (window.trustedTypes && window.trustedTypes.createPolicy) {
      url = window.trustedTypes
        .createPolicy("anju-kiosk", {
          createScriptURL: function (value) {
            if (value !== "/kiosk/sw.js") throw new TypeError("unexpected script URL");
            return value;
          },
        })
        .createScriptURL(url);
    }
    navigator.serviceWorker.register(url, { scope: "/kiosk" }).catch(function () {
      // no offline copy of the page; the kiosk itself still works
    });
  }

  function start() {
    var where = [config.town, config.community].filter(Boolean).join(" · ");
    $("where").textContent = where;
    if (where) document.title = where + " · 安居空房 Vacant rooms";
    renderFilters();
    document.addEventListener("pointerdown", touched, { passive: true });
    document.addEventListener("keydown", touched);
    $("card").addEventListener("click", function () {
      setPaused(!state.paused);
    });
    $("cover").addEventListener("click", function (event) {
      event.stopPropagation(); // a tap on the photo opens the room, not pause
      openRoom();
    });
    $("cover-img").addEventListener("load", function () {
      keepPhoto($("cover-img").currentSrc || $("cover-img").src);
    });
    $("room-close").addEventListener("click", closeRoom);
    $("pause").addEventListener("click", function () {
      setPaused(!state.paused);
    });
    $("prev").addEventListener("click", function () {
      state.paused = true;
      show(state.index - 1);
      scheduleCycle();
    });
    $("next").addEventListener("click", function () {
      state.paused = true;
      show(state.index + 1);
      scheduleCycle();
    });
    if (!config.community) {
      render();
      return;
    }
    restore();
    applyFilters(null);
    window.addEventListener("online", refresh);
    refresh();
    registerServiceWorker();
  }

  start();
})();
