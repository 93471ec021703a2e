// The phone app's service worker (docs/phone-app.md, "Offline"): keeps the
// app's files for use with no network, and updates them when online.
//
// VERSION is a hash of every file below (client/app/web/install.cmake), so
// any change to the app is a new sw.js, which the browser notices when it
// next checks (each opening of the app while online). The new version's
// files are all fetched and stored before it takes over; until then, and
// whenever there is no network, the app runs from the stored version. The
// records themselves are never here: they live in the worker's database.
//
// A version is stored only whole: each file fetched must have the SHA-256
// HASHES gives it. While the province is still copying a new version onto
// the server, some files are the old version's and some the new one's (a
// kbo-core.js that cannot load its kbo-core.wasm); such an install fails,
// the stored version goes on running, and the browser tries again at the
// next opening.
'use strict';

const VERSION = '@VERSION@';
const CACHE = `kbo-app-${VERSION}`;
const HASHES = @HASHES@;
HASHES['./'] = HASHES['index.html'];
const FILES = Object.keys(HASHES);

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    // Revalidated with the server (no-cache): never an older copy from the
    // browser's HTTP cache. All fetched and checked before any is stored.
    const got = await Promise.all(FILES.map(async (f) => {
      const request = new Request(f, { cache: 'no-cache' });
      const response = await fetch(request);
      if (!response.ok) throw new Error(`${f}: HTTP ${response.status}`);
      const sha = hex(await crypto.subtle.digest('SHA-256', await response.clone().arrayBuffer()));
      if (sha !== HASHES[f]) {
        throw new Error(`${f} on the server is not version ${VERSION}'s (an update still being copied?)`);
      }
      return [request, response];
    }));
    const cache = await caches.open(CACHE);
    await Promise.all(got.map(([request, response]) => cache.put(request, response)));
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
