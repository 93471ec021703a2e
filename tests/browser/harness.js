'use strict';
// What the browser tests of `kbo ui` share (run.js, screens.js): the preconditions, a fresh home, `kbo ui` and
// `kbo-server` started and stopped, a phone page, and waiting for a screen.
// Exit codes and rules as run.js: a test that cannot run fails, never skips.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');

const CHROMIUM = '/usr/bin/chromium';
const HERE = __dirname;
const ARTIFACTS = path.join(HERE, 'artifacts');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const KBO = path.resolve(arg('kbo', process.env.KBO_BIN || path.join(HERE, '../../build/client/kbo')));
const KBO_SERVER = path.resolve(arg('kbo-server', process.env.KBO_SERVER_BIN || path.join(path.dirname(KBO), '../server/kbo-server')));

function cannotRun(why) {
  console.error(`FAIL: browser tests cannot run: ${why}`);
  process.exit(1);
}
if (Number(process.versions.node.split('.')[0]) < 18) {
  cannotRun(`Node.js ${process.versions.node} is older than 18 (apt-get install nodejs)`);
}
if (!fs.existsSync(CHROMIUM)) cannotRun(`${CHROMIUM} is not installed (apt-get install chromium, or tools/install-deps)`);
if (!fs.existsSync(KBO)) cannotRun(`no kbo binary at ${KBO} (build target kbo, or pass --kbo PATH)`);
if (!fs.existsSync(KBO_SERVER)) cannotRun(`no kbo-server binary at ${KBO_SERVER} (build target kbo-server, or pass --kbo-server PATH)`);
if (spawnSync(KBO, ['sync', '--help'], { encoding: 'utf8' }).status !== 0) {
  cannotRun(`${KBO} has no working "sync" command (kbo sync --help failed)`);
}
function installedMatchesLock() {
  const installed = path.join(HERE, 'node_modules', 'playwright-core', 'package.json');
  if (!fs.existsSync(installed)) return false;
  const lock = JSON.parse(fs.readFileSync(path.join(HERE, 'package-lock.json'), 'utf8'));
  const want = lock.packages['node_modules/playwright-core'].version;
  return JSON.parse(fs.readFileSync(installed, 'utf8')).version === want;
}
if (!installedMatchesLock()) {
  console.log('installing playwright-core (npm ci) ...');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: HERE, stdio: 'inherit' });
  if (r.status !== 0) cannotRun('npm ci failed in tests/browser');
}

const assert = require('node:assert/strict');
const { chromium } = require('playwright-core');

fs.mkdirSync(ARTIFACTS, { recursive: true });

const homes = [];
function freshHome() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kbo-browser-'));
  homes.push(dir);
  return dir;
}

// Cleanup last-in, first-out (run.js says why).
const cleanups = new WeakMap();
function defer(t, fn) {
  let stack = cleanups.get(t);
  if (!stack) {
    stack = [];
    cleanups.set(t, stack);
    t.after(async () => {
      let first = null;
      while (stack.length) {
        try { await stack.pop()(); } catch (e) { first = first || e; }
      }
      if (first) throw first;
    });
  }
  stack.push(fn);
}

function stopProcess(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) { resolve(proc.exitCode); return; }
    const kill = setTimeout(() => proc.kill('SIGKILL'), 10000);
    proc.once('exit', (code) => { clearTimeout(kill); resolve(code); });
    proc.kill('SIGTERM');
  });
}

function kbo(home, ...args) {
  const r = spawnSync(KBO, ['--home', home, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
function kboOk(home, ...args) {
  const r = kbo(home, ...args);
  assert.equal(r.code, 0, `kbo ${args.join(' ')} failed: ${r.err}`);
  return r.out;
}
function list(home, entity) {
  return JSON.parse(kboOk(home, 'list', entity, '--json'));
}

// Starts `kbo ui`; resolves once it printed its address (and PIN).
// `env`: added to kbo's environment (KBO_TEST_CLOCK_OFFSET_MS).
function startUi(home, listen = '127.0.0.1:0', env = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(KBO, ['--home', home, 'ui', '--listen', listen],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`kbo ui did not start: ${out} ${err}`)), 15000);
    proc.stderr.on('data', (d) => { err += d; });
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      const needPin = !/127\.0\.0\.1|localhost|\[::1\]/.test(listen);
      const pin = /PIN: (\d{6})/.exec(out);
      if (m && (!needPin || pin)) {
        clearTimeout(timer);
        const port = /:(\d+)$/.exec(m[1])[1];
        resolve({
          url: needPin ? `http://127.0.0.1:${port}` : m[1],
          pin: pin ? pin[1] : null,
          proc,
          stderr: () => err,
          stop: () => stopProcess(proc),
        });
      }
    });
    proc.once('exit', (code) => reject(new Error(`kbo ui exited (${code}): ${err}`)));
  });
}

// A real kbo-server on loopback; resolves to {url, data, proc}.
// `extra`: more arguments of serve (e.g. ['--app', DIR]).
async function startServer(t, extra = []) {
  const data = freshHome();
  const proc = spawn(KBO_SERVER, ['--data', data, 'serve', '--listen', '127.0.0.1:0', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  defer(t, () => stopProcess(proc));
  const url = await new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`kbo-server did not start: ${out} ${err}`)), 15000);
    proc.stderr.on('data', (d) => { err += d; });
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (?:http:\/\/)?(\S+:\d+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(`http://${m[1]}`); }
    });
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`kbo-server exited (${code}): ${err}`)); });
  });
  return { url, data, proc };
}
// A TCP relay on a loopback port this test holds for its whole run, to the
// server at `target` (http://HOST:PORT), or, once `to(null)`, to nothing
// (each connection reset: the server gone). Devices enrolled at `url` see
// one address whatever stands behind it — a stopped server's port freed
// and reused by another test's server cannot answer them. Its own process
// (kboOk's spawnSync blocks this one). Resolves to {url, to(target)}, `to`
// resolving once the relay has switched.
const RELAY = `
const net = require('node:net');
let to = null;
// "stallput=MS": the first photo upload (PUT /v1/blobs/) after it is held
// that long before it goes on, as on a link that stalls mid-sync.
let stallPut = 0;
const srv = net.createServer((c) => {
  c.on('error', () => {});
  if (!to) { c.destroy(); return; }
  const up = net.connect(to.port, to.host);
  up.on('error', () => c.destroy());
  up.on('close', () => c.destroy());
  c.on('close', () => up.destroy());
  c.on('data', (d) => {
    if (stallPut > 0 && d.includes('PUT /v1/blobs/')) {
      const ms = stallPut;
      stallPut = 0;
      c.pause();
      setTimeout(() => { up.write(d); c.resume(); }, ms);
      return;
    }
    up.write(d);
  });
  c.on('end', () => up.end());
  up.pipe(c);
});
let buf = '';
process.stdin.on('data', (d) => {
  buf += d;
  let nl;
  while ((nl = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    const m = /^http:\\/\\/([^:/]+):(\\d+)/.exec(line);
    to = m ? { host: m[1], port: Number(m[2]) } : null;
    const stall = / stallput=(\\d+)/.exec(line);
    stallPut = stall ? Number(stall[1]) : 0;
    process.stdout.write('ok\\n');
  }
});
process.stdin.on('end', () => process.exit(0));
srv.listen(0, '127.0.0.1', () => process.stdout.write('port ' + srv.address().port + '\\n'));
`;
async function relay(t, target) {
  const proc = spawn(process.execPath, ['-e', RELAY], { stdio: ['pipe', 'pipe', 'inherit'] });
  defer(t, () => stopProcess(proc));
  let out = '';
  const waiters = [];
  proc.stdout.on('data', (d) => {
    out += d;
    let nl;
    while ((nl = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      const w = waiters.shift();
      if (w) w(line);
    }
  });
  const next = () => new Promise((resolve) => waiters.push(resolve));
  const port = Number((await next()).replace(/^port /, ''));
  const to = async (url) => {
    const acked = next();
    proc.stdin.write(`${url || 'none'}\n`);
    await acked;
  };
  await to(target);
  return { url: `http://127.0.0.1:${port}`, to };
}
// A fresh home enrolled with `server` as `role` of `districts`.
function enrolledHome(server, role, districts) {
  const home = freshHome();
  kboOk(home, 'enroll', '--server', server.url, '--token', serverToken(server, role, districts));
  return home;
}
function serverToken(server, role, districts) {
  const r = spawnSync(KBO_SERVER, ['--data', server.data, 'token', 'create', '--role', role, '--districts', districts], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

let browser = null;
async function launch() {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
async function shutdown() {
  if (browser) await browser.close();
  for (const dir of homes) fs.rmSync(dir, { recursive: true, force: true });
}

// The two phones of the issue: 360 x 740 and 412 x 915.
const PHONES = [{ width: 360, height: 740 }, { width: 412, height: 915 }];

// A phone of `viewport`, Thai, Bangkok time. Fails the test on any page
// error, but console errors matching `expected` (a RegExp: a request the test
// itself made fail).
async function phone(t, viewport, options = {}, expected = null) {
  const context = await browser.newContext(Object.assign({
    viewport, deviceScaleFactor: 1, isMobile: true, hasTouch: true,
    locale: 'th-TH', timezoneId: 'Asia/Bangkok',
  }, options));
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of [45]\d\d/.test(m.text()) && !(expected && expected.test(m.text()))) errors.push(m.text());
  });
  defer(t, async () => {
    const seen = errors.slice();
    await context.close();
    assert.deepEqual(seen, [], 'errors in the page');
  });
  return page;
}

async function ready(page) {
  await page.waitForFunction(() => {
    const app = document.querySelector('#app');
    const want = location.hash.replace(/^#/, '') || '/';
    return app && app.dataset.ready === want;
  });
}
async function open(page, url, hash) {
  await page.goto(`${url}/${hash || ''}`);
  await ready(page);
}
async function go(page, hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await ready(page);
}
async function setLang(page, lang) {
  if (await page.getAttribute('html', 'lang') !== lang) {
    await page.click('#lang');
    await page.waitForFunction((l) => document.documentElement.lang === l, lang);
  }
  await ready(page);
}

async function screenshot(page, name) {
  await page.evaluate(() => { window.scrollTo(0, 0); document.querySelector('#toast').hidden = true; });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

// Nothing wider than the phone, and every control a finger can hit.
async function checkLayout(page, where) {
  const r = await page.evaluate(() => {
    const small = [];
    for (const el of document.querySelectorAll('button, a[href], input:not([type=radio]):not([type=hidden]), select, textarea')) {
      const b = el.getBoundingClientRect();
      if ((b.width === 0 && b.height === 0) || el.classList.contains('vh')) continue;
      if (b.height < 44 || b.width < 44) small.push(`${el.tagName}#${el.id}.${el.className} ${Math.round(b.width)}x${Math.round(b.height)}`);
    }
    return { width: document.documentElement.scrollWidth, viewport: window.innerWidth, small };
  });
  assert.ok(r.width <= r.viewport, `${where}: page is ${r.width}px wide on a ${r.viewport}px screen`);
  assert.deepEqual(r.small, [], `${where}: touch targets under 44px`);
}

// Chooses `text` in the searchable picker of column `col`.
async function pick(page, col, text) {
  await page.fill(`#f-${col}-search`, text);
  await page.locator(`.field[data-col="${col}"] .pick-option`, { hasText: text }).first().click();
}

function importProducers(home, n) {
  const tambon = ['เวียง', 'ทุ่งหลวง', 'ป่าตุ้ม', 'ป่าไหน่', 'สันทราย', 'บ้านโป่ง', 'น้ำแพร่', 'เขื่อนผาก', 'แม่แวน', 'แม่ปั๋ง', 'โหล่งขอด'];
  const lines = ['kind,name,district,tambon,contact,category,stars'];
  for (let i = 1; i <= n; i++) {
    lines.push(`${i % 3 ? 'group' : 'entrepreneur'},กลุ่มผู้ผลิตที่ ${i} Producer ${i},5011,${tambon[i % 11]},คุณสมใจ ${i},food,${i % 6}`);
  }
  const csv = path.join(home, 'producers.csv');
  fs.writeFileSync(csv, lines.join('\n') + '\n');
  return kboOk(home, 'import', 'producers', csv).trim().split('\n');
}

module.exports = {
  CHROMIUM, homes, ARTIFACTS, KBO, KBO_SERVER, PHONES, freshHome, defer, stopProcess, kbo, kboOk, list, startUi,
  startServer, relay, serverToken, enrolledHome, launch, shutdown, phone, ready, open, go, setLang, screenshot,
  checkLayout, importProducers, pick,
};
