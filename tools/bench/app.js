#!/usr/bin/env node
// The phone app's measurements (issue 13, item 6; docs/performance.md), in
// real headless Chromium against a real kbo-server on loopback:
//   - the app's size on the wire, compressed as kbo-server sends it;
//   - its first load over the emulated 3G link of the slow-links benchmark
//     (tools/bench/link_proxy: 1 Mbit/s, 150 ms RTT, 0.5 % loss): until the
//     home screen is drawn, and until the service worker holds it all;
//   - opening it with no network (median of 5);
//   - a roll-call tap: from the tap to the mark committed and drawn
//     (median and worst of 20);
//   - 10,000 marks in one batch through ClientStore vs. raw SQLite in
//     WebAssembly on the same storage (OPFS), in the same run
//     (client/app/bench_main.cc).
// Prints one JSON line on stdout. Usage:
//   node tools/bench/app.js --kbo K --kbo-server S --app build-wasm/app
//        --bench build-wasm/bench --link-proxy build/tools/bench/link_proxy
//        [--only batch]
// --only batch: the batch alone (about 20 s instead of 100; its line has
// only "batch"), for quick iterations. The full run is the default.
'use strict';

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { spawn } = require('node:child_process');
const H = require('../../tests/browser/harness.js');
const { chromium } = require(path.join(__dirname, '../../tests/browser/node_modules/playwright-core'));

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}
const root = path.join(__dirname, '../..');
const APP_DIR = path.resolve(arg('app', path.join(root, 'build-wasm/app')));
const BENCH_DIR = path.resolve(arg('bench', path.join(root, 'build-wasm/bench')));
const LINK_PROXY = path.resolve(arg('link-proxy', path.join(path.dirname(H.KBO), '../tools/bench/link_proxy')));
const N = Number(arg('n', '10000'));
const ONLY = arg('only', '');
if (ONLY !== '' && ONLY !== 'batch') {
  console.error(`tools/bench/app.js: --only takes "batch" (got "${ONLY}")`);
  process.exit(2);
}
for (const [what, file] of [['the app', path.join(APP_DIR, 'kbo-core.wasm')],
  ['the batch benchmark', path.join(BENCH_DIR, 'kbo-bench.wasm')], ['link_proxy', LINK_PROXY]]) {
  if (!fs.existsSync(file)) {
    console.error(`tools/bench/app.js: ${what} is missing: ${file} (tools/wasm/build; tools/bench/run builds both)`);
    process.exit(1);
  }
}
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const VIEWPORT = { width: 412, height: 915 };
const median = (v) => v.slice().sort((a, b) => a - b)[Math.floor(v.length / 2)];
const round = (x, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

// A stand-in for node:test's `t` (harness.js's defer and startServer).
const cleanups = [];
const T = { after: (fn) => cleanups.push(fn) };

function get(url, headers) {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      let n = 0;
      res.on('data', (d) => { n += d.length; });
      res.on('end', () => resolve({ status: res.statusCode, bytes: n, encoding: res.headers['content-encoding'] || '' }));
    }).on('error', reject);
  });
}

async function ready(page, hash = '/') {
  await page.waitForFunction((want) => document.querySelector('#app')?.dataset.ready === want, hash, { timeout: 120000 });
}
async function installed(page) {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise((r) => navigator.serviceWorker.addEventListener('controllerchange', r, { once: true }));
    }
  });
}

// The app's files, as a browser that accepts gzip receives them.
async function wireSize(server) {
  const sw = fs.readFileSync(path.join(APP_DIR, 'sw.js'), 'utf8');
  const hashes = /const HASHES = (\{[^}]*\})/s.exec(sw)[1];
  const files = ['./'].concat(Array.from(hashes.matchAll(/'([^']+)':/g), (m) => m[1]));
  let compressed = 0;
  let plain = 0;
  for (const f of files.concat(['sw.js'])) {
    const r = await get(`${server.url}/app/${f === './' ? '' : f}`, { 'Accept-Encoding': 'gzip, deflate' });
    if (r.status !== 200) throw new Error(`/app/${f}: HTTP ${r.status}`);
    compressed += r.bytes;
    if (f !== './') plain += fs.statSync(path.join(APP_DIR, f)).size;
  }
  return { compressed, plain };
}

// The first load through the emulated 3G link.
async function firstLoad(server) {
  const port = new URL(server.url).port;
  const proxy = spawn(LINK_PROXY, [port, '3g', '7'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = [];
  let wake = null;
  proxy.stdout.on('data', (d) => { lines.push(...String(d).split('\n').filter(Boolean)); if (wake) wake(); });
  while (!lines.some((l) => l.startsWith('listening on'))) await new Promise((r) => { wake = r; });
  const url = /listening on (\S+)/.exec(lines.find((l) => l.startsWith('listening on')))[1];
  const browser = await chromium.launch({ executablePath: H.CHROMIUM, headless: true, args: ARGS });
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  const t0 = Date.now();
  await page.goto(`${url}/app/`);
  await ready(page);
  const drawn = (Date.now() - t0) / 1000;
  await installed(page);
  const held = (Date.now() - t0) / 1000;
  await browser.close();
  proxy.stdin.end('\n');
  await new Promise((r) => proxy.once('exit', r));
  const stats = JSON.parse(lines.find((l) => l.startsWith('{')));
  return { home_drawn_s: round(drawn, 2), installed_s: round(held, 2), bytes_down: stats.bytes_down, connections: stats.connections };
}

// Opening with no network, the roll-call tap: one phone, enrolled, with a
// course of 20 pulled from the office's native device.
async function phoneFigures(server) {
  const office = H.freshHome();
  const producers = H.importProducers(office, 20);
  H.kboOk(office, 'enroll', '--server', server.url, '--token', H.serverToken(server, 'trainer', '5011'));
  const ws = H.kboOk(office, 'workshop', 'add', '--title', 'อบรม KBO พร้าว', '--fiscal-year', '2567',
    '--district', '5011', '--start', '2024-02-26').trim();
  producers.forEach((p, i) => H.kboOk(office, 'enrolment', 'add', '--workshop', ws, '--producer', p, '--participant', `ผู้เข้าอบรม ${i + 1}`));
  H.kboOk(office, 'sync');

  const context = await chromium.launchPersistentContext(H.freshHome(), {
    executablePath: H.CHROMIUM, headless: true, args: ARGS, viewport: VIEWPORT, isMobile: true, hasTouch: true,
  });
  cleanups.push(() => context.close());
  let page = context.pages()[0] || await context.newPage();
  await page.goto(`${server.url}/app/#/enrol`);
  await ready(page, '/enrol');
  await page.fill('#f-token', H.serverToken(server, 'trainer', '5011'));
  await page.click('button[type=submit]');
  await page.waitForSelector('#enrol-outcome[data-outcome="ok"]', { timeout: 60000 });
  await page.evaluate(() => { location.hash = '#/'; });
  await ready(page);
  await page.click('#sync');
  await page.waitForSelector('#sync-outcome[data-outcome="ok"]', { timeout: 60000 });
  await installed(page);

  await context.setOffline(true);
  const opens = [];
  for (let i = 0; i < 5; i++) {
    await page.close();
    page = await context.newPage();
    const t0 = Date.now();
    await page.goto(`${server.url}/app/`);
    await ready(page);
    opens.push((Date.now() - t0) / 1000);
  }

  await page.evaluate((h) => { location.hash = h; }, `#/workshops/${ws}/rollcall/1`);
  await ready(page, `/workshops/${ws}/rollcall/1`);
  const taps = await page.evaluate(async () => {
    const rows = Array.from(document.querySelectorAll('#rollcall .rc-row'));
    const out = [];
    for (const row of rows) {
      const btn = row.querySelector('.st');
      const before = btn.dataset.status || '';
      const t0 = performance.now();
      btn.click();
      // Committed (the row no longer saving, nothing pending) and drawn.
      await new Promise((resolve) => {
        const check = () => {
          if (btn.dataset.status !== before && !row.classList.contains('saving') &&
              document.querySelector('#rc-pending').dataset.pending === '0') resolve();
          else setTimeout(check, 0);
        };
        check();
      });
      await new Promise((r) => requestAnimationFrame(() => r()));
      out.push(performance.now() - t0);
    }
    return out;
  });
  return {
    open_offline_s: { median: round(median(opens), 2), runs: opens.map((x) => round(x, 2)) },
    tap_ms: { median: round(median(taps), 1), max: round(Math.max(...taps), 1), n: taps.length, all: taps.map((x) => round(x, 0)) },
  };
}

// The batch against its floor, in a page of its own (build-wasm/bench).
async function batch() {
  const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.wasm': 'application/wasm' };
  const server = http.createServer((req, res) => {
    const name = path.basename(new URL(req.url, 'http://x').pathname) || 'bench.html';
    const file = path.join(BENCH_DIR, name);
    if (!fs.existsSync(file)) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'Content-Type': types[path.extname(name)] || 'application/octet-stream' });
    res.end(fs.readFileSync(file));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  const browser = await chromium.launch({ executablePath: H.CHROMIUM, headless: true, args: ARGS });
  cleanups.push(() => browser.close());
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/bench.html?n=${N}`);
  await page.waitForFunction(() => window.result !== null, null, { timeout: 600000 });
  const r = await page.evaluate(() => window.result);
  if (r.error) throw new Error(`batch benchmark: ${r.error}`);
  return r;
}

(async () => {
  let failed = false;
  try {
    if (ONLY === 'batch') {
      const b = await batch();
      console.log(JSON.stringify({ bench: 'app', batch: { ...b, target_ratio: 0.5 } }));
      return;
    }
    const server = await H.startServer(T, ['--app', APP_DIR]);
    const size = await wireSize(server);
    const load = await firstLoad(server);
    const phone = await phoneFigures(server);
    const b = await batch();
    console.log(JSON.stringify({
      bench: 'app',
      wire_bytes: { compressed: size.compressed, plain: size.plain, target_max: 2 * 1024 * 1024 },
      first_load_3g: { ...load, target_max_s: 20 },
      open_offline_s: { ...phone.open_offline_s, target_max: 2 },
      tap_ms: { ...phone.tap_ms, target_max: 50 },
      batch: { ...b, target_ratio: 0.5 },
    }));
  } catch (e) {
    console.error(`tools/bench/app.js: ${e && e.stack ? e.stack : e}`);
    failed = true;
  } finally {
    while (cleanups.length) { try { await cleanups.pop()(); } catch (e) { /* best effort */ } }
    await H.shutdown();
  }
  process.exit(failed ? 1 : 0);
})();
