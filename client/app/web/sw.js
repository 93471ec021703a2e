// The phone app's service worker (docs/phone-app.md, "Offline"): keeps the
// app's files for use with no network, and updates them when online.
//
// VERSION is a hash of every file below (client/app/web/install.cmake), so
// any change to the app is a new sw.js, which the browser notices when it
// next checks (each opening of the app while online). The new version's
// files are all fetched and stored before it takes over; until then, and
// whenever there is no network, the app runs from the stored version. The
// records themselves are never here: they live in the worker's database.
'use strict';

const VERSION = '@VERSION@';
const CACHE = `kbo-app-${VERSION}`;
const FILES = ['./', 'index.html', 'app.js', 'style.css', 'icon.svg', 'th.json', 'en.json',
  'worker.js', 'kbo-core.js', 'kbo-core.wasm', 'manifest.webmanifest', 'icon-192.png', 'icon-512.png'];

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // Revalidated with the server (no-cache): never an older copy from the
    // browser's HTTP cache.
    await cache.addAll(FILES.map((f) => new Request(f, { cache: 'no-cache' })));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('kbo-app-') && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

// The app's own files from the store; everything else (the sync protocol
// under /v1/, which the worker calls) goes to the network untouched.
self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  const scope = new URL(self.registration.scope);
  if (!url.pathname.startsWith(scope.pathname)) return;
  const name = url.pathname.slice(scope.pathname.length) || './';
  if (!FILES.includes(name) && !(event.request.mode === 'navigate')) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(event.request.mode === 'navigate' ? './' : event.request,
      { ignoreSearch: true });
    if (hit) return hit;
    return fetch(event.request);
  })());
});
