// The grid worker's page offline: its page and assets are kept in the browser's cache and
// answered from there at once, refreshed from the network behind (stale while revalidate).
// The API is never cached here: the page keeps its tasks and its queue itself (grid-store.js).
const CACHE = "hc-grid-1";
const ASSETS = ["/grid", "/static/grid.css", "/static/grid.js", "/static/grid-words.js",
  "/static/grid-store.js", "/static/i18n.js"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith("hc-grid-") && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || !ASSETS.includes(url.pathname)) return;
  event.respondWith(caches.open(CACHE).then(async (cache) => {
    const kept = await cache.match(url.pathname);
    const fresh = fetch(event.request).then((response) => {
      if (response.ok) cache.put(url.pathname, response.clone());
      return response;
    });
    if (kept) {
      event.waitUntil(fresh.catch(() => null));
      return kept;
    }
    return fresh;
  }));
});
