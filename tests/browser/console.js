#!/usr/bin/env node
// Browser tests of the office console on `kbo-server serve` in real headless
// Chromium (Debian's /usr/bin/chromium, driven by playwright-core), at
// 1280 px (an office desk) and 360 px (a phone). Each test starts a real
// kbo-server on a fresh data folder, makes users with `kbo-server user add`
// and devices with real `kbo` homes enrolled by real tokens, and checks what
// the console shows against what the test itself recorded.
//
//   node console.js --kbo PATH/TO/kbo --kbo-server PATH/TO/kbo-server
//
// Never skips: anything missing fails the run with the reason. Screenshots
// go to artifacts/console-*.png; the README's come from here
// (docs/screenshots/console-*.png, refreshed with KBO_SCREENSHOTS=1).
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');

const CHROMIUM = '/usr/bin/chromium';
const HERE = __dirname;
const ARTIFACTS = path.join(HERE, 'artifacts');
const DOC_SHOTS = path.join(HERE, '../../docs/screenshots');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const KBO = path.resolve(arg('kbo', process.env.KBO_BIN || path.join(HERE, '../../build/client/kbo')));
const KBO_SERVER = path.resolve(arg('kbo-server', process.env.KBO_SERVER_BIN || path.join(path.dirname(KBO), '../server/kbo-server')));

function cannotRun(why) {
  console.error(`FAIL: console browser tests cannot run: ${why}`);
  process.exit(1);
}
if (Number(process.versions.node.split('.')[0]) < 18) cannotRun(`Node.js ${process.versions.node} is older than 18`);
if (!fs.existsSync(CHROMIUM)) cannotRun(`${CHROMIUM} is not installed (tools/install-deps)`);
if (!fs.existsSync(KBO)) cannotRun(`no kbo binary at ${KBO}`);
if (!fs.existsSync(KBO_SERVER)) cannotRun(`no kbo-server binary at ${KBO_SERVER}`);
if (!fs.existsSync(path.join(HERE, 'node_modules', 'playwright-core'))) {
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: HERE, stdio: 'inherit' });
  if (r.status !== 0) cannotRun('npm ci failed in tests/browser');
}

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { chromium } = require('playwright-core');
const { makePng } = require('./png.js');

fs.mkdirSync(ARTIFACTS, { recursive: true });

// ---- processes ----------------------------------------------------------------
const dirs = [];
function freshDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

function run(binary, args, input) {
  const r = spawnSync(binary, args, { encoding: 'utf8', input: input === undefined ? '' : input });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
function ok(binary, args, input) {
  const r = run(binary, args, input);
  assert.equal(r.code, 0, `${path.basename(binary)} ${args.join(' ')} failed (${r.code}): ${r.err}`);
  return r.out;
}

function stopProcess(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) { resolve(proc.exitCode); return; }
    const kill = setTimeout(() => proc.kill('SIGKILL'), 10000);
    proc.once('exit', (code) => { clearTimeout(kill); resolve(code); });
    proc.kill('SIGTERM');
  });
}

// KBO_TEST_BACKEND=postgres (the CTest test browser_console_pg): every
// kbo-server of this run keeps its database in a PostgreSQL schema of its own
// in the cluster whose URL is KBO_TEST_PG_URL or the file KBO_TEST_PG_URL_FILE
// names (tests/support/test_db.h does the same for the C++ suites). Without a
// URL the run fails: it never quietly tests SQLite instead.
const ON_POSTGRES = process.env.KBO_TEST_BACKEND === 'postgres';
let pgSchemas = 0;
function databaseArgs(data) {
  if (!ON_POSTGRES) return [];
  let base = process.env.KBO_TEST_PG_URL || '';
  const file = process.env.KBO_TEST_PG_URL_FILE;
  if (!base && file && fs.existsSync(file)) base = fs.readFileSync(file, 'utf8').trim();
  if (!base) cannotRun('KBO_TEST_BACKEND=postgres but no KBO_TEST_PG_URL (or KBO_TEST_PG_URL_FILE)');
  const schema = `console_${process.pid}_${++pgSchemas}`;
  const r = spawnSync('psql', ['-v', 'ON_ERROR_STOP=1', '-q', '-c', `CREATE SCHEMA ${schema}`, base],
    { encoding: 'utf8' });
  if (r.status !== 0) cannotRun(`psql could not make schema ${schema}: ${r.stderr || r.error}`);
  return ['--db', `${base}${base.includes('?') ? '&' : '?'}options=-csearch_path%3D${schema}`];
}

// A real kbo-server on a free loopback port, with its data folder (and, on
// PostgreSQL, its schema).
function startServer(t) {
  const data = path.join(freshDir('kbo-console-'), 'data');
  const where = ['--data', data, ...databaseArgs(data)];
  return new Promise((resolve, reject) => {
    const proc = spawn(KBO_SERVER, [...where, 'serve', '--listen', '127.0.0.1:0'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`kbo-server did not start: ${err}`)), 15000);
    proc.stderr.on('data', (d) => { err += d; });
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        const server = {
          url: `http://${m[1].replace(/\s.*$/, '')}`,
          data,
          log: () => err,
          cli: (...args) => ok(KBO_SERVER, [...where, ...args]),
          cliInput: (input, ...args) => ok(KBO_SERVER, [...where, ...args], input),
          stop: () => stopProcess(proc),
        };
        t.after(() => server.stop());
        resolve(server);
      }
    });
    proc.once('exit', (code) => reject(new Error(`kbo-server exited (${code}): ${err}`)));
  });
}

const PASSWORD = 'รหัสผ่านสำนักงาน-2569';
function addUser(server, login, role, districts = 'all') {
  return server.cliInput(`${PASSWORD}\n`, 'user', 'add', login, '--role', role, '--districts', districts).trim();
}

// A kbo home enrolled on `server` with a fresh token.
function device(server, role, districts, label) {
  const home = freshDir('kbo-device-');
  const args = ['token', 'create', '--role', role, '--districts', districts];
  if (label) args.push('--label', label);
  const token = server.cli(...args).trim();
  ok(KBO, ['--home', home, 'enroll', '--server', server.url, '--token', token]);
  return {
    home,
    kbo: (...a) => ok(KBO, ['--home', home, ...a]),
    sync: () => ok(KBO, ['--home', home, 'sync']),
  };
}

// ---- the browser ----------------------------------------------------------------
let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => {
  if (browser) await browser.close();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

const DESK = { width: 1280, height: 900 };
const PHONE = { width: 360, height: 740 };

// A browser window (its own cookies). Fails the test on any script error.
async function window(t, viewport = DESK, extra = {}) {
  const context = await browser.newContext(Object.assign({
    viewport, deviceScaleFactor: 1, locale: 'th-TH', timezoneId: 'Asia/Bangkok', acceptDownloads: true,
  }, extra));
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error' && !/status of [45]\d\d/.test(m.text())) errors.push(m.text()); });
  // Every page names its icon: none asks for /favicon.ico (a 404 logged as
  // an error on every page).
  page.on('request', (r) => { if (new URL(r.url()).pathname === '/favicon.ico') errors.push(`asked for ${r.url()}`); });
  t.after(async () => {
    const seen = errors.slice();
    await context.close();
    assert.deepEqual(seen, [], 'errors in the page');
  });
  return page;
}

async function signIn(page, server, login, password = PASSWORD) {
  await page.goto(`${server.url}/login`);
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}

const shots = new Set();
async function screenshot(page, name) {
  assert.ok(!shots.has(name), `screenshot ${name} taken twice`);
  shots.add(name);
  const file = path.join(ARTIFACTS, `console-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  if (process.env.KBO_SCREENSHOTS === '1') fs.copyFileSync(file, path.join(DOC_SHOTS, `console-${name}.png`));
}

// Nothing wider than the window.
async function fitsWidth(page, width, where) {
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(w <= width, `${where}: page is ${w}px wide in a ${width}px window`);
}

// ---- tests ----------------------------------------------------------------------

test('sign-in and sign-out, at 1280 px and 360 px', async (t) => {
  const server = await startServer(t);
  const id = addUser(server, 'office', 'office');
  assert.match(id, /^[0-9a-f-]{36}$/);
  for (const [viewport, name] of [[DESK, '1280'], [PHONE, '360']]) {
    const page = await window(t, viewport);
    const first = await page.goto(`${server.url}/reports`);
    assert.match(page.url(), /\/login\?next=%2Freports$/, 'a page without a session goes to /login');
    assert.equal(first.status(), 200);
    if (name === '360') await screenshot(page, `login-${name}`);
    await fitsWidth(page, viewport.width, 'login');
    // A wrong password: the same form again, with a message, no session.
    await page.fill('input[name=login]', 'office');
    await page.fill('input[name=password]', 'wrong password');
    const refused = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    assert.equal(refused[0].status(), 401);
    assert.match(await page.textContent('.flash.error'), /ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง/);
    await page.fill('input[name=password]', PASSWORD);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    assert.match(page.url(), /\/reports$/, 'back where the person was going');
    await page.goto(`${server.url}/`);
    assert.equal(await page.textContent('h1'), 'ภาพรวม');
    await fitsWidth(page, viewport.width, 'overview');
    await screenshot(page, `overview-${name}`);
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'kbo_session');
    assert.ok(session && session.httpOnly && session.sameSite === 'Strict', 'an HttpOnly, SameSite=Strict session cookie');
    // Scripts in the page cannot read it.
    assert.ok(!(await page.evaluate(() => document.cookie)).includes('kbo_session'));
    // Sign out: back to /login, and the console is closed again.
    await Promise.all([page.waitForNavigation(), page.click('header form button')]);
    assert.match(page.url(), /\/login$/);
    await page.goto(`${server.url}/`);
    assert.match(page.url(), /\/login$/);
  }
});

test('the role matrix, as a browser meets it', async (t) => {
  const server = await startServer(t);
  addUser(server, 'viewer', 'viewer', '5011');
  addUser(server, 'office', 'office');
  addUser(server, 'admin', 'admin');
  const expect = {
    viewer: { '/': 200, '/reports': 200, '/exports': 403, '/users': 403, '/devices': 403, '/audit': 403 },
    office: { '/': 200, '/reports': 200, '/exports': 200, '/users': 403, '/devices': 403, '/audit': 403 },
    admin: { '/': 200, '/reports': 200, '/exports': 200, '/users': 200, '/devices': 200, '/audit': 200 },
  };
  for (const [login, pages] of Object.entries(expect)) {
    const page = await window(t);
    await signIn(page, server, login);
    for (const [url, status] of Object.entries(pages)) {
      const r = await page.goto(`${server.url}${url}`);
      assert.equal(r.status(), status, `${login} ${url}`);
    }
    // The navigation offers only what the role may open.
    const links = await page.$$eval('header nav a', (as) => as.map((a) => a.getAttribute('href')));
    assert.equal(links.includes('/users'), login === 'admin', `${login}: users link`);
    // A write without the page's CSRF token is refused, even signed in.
    const forged = await page.evaluate(async () => {
      const r = await fetch('/users', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'login=x&role=admin&districts=all&password=12345678' });
      return r.status;
    });
    assert.equal(forged, 403, `${login}: a POST without the CSRF token`);
  }
  // The API answers 401 without a session.
  const api = await fetch(`${server.url}/api/overview`);
  assert.equal(api.status, 401);
  // Every sign-in is in the audit log, which the admin reads.
  const page = await window(t);
  await signIn(page, server, 'admin');
  await page.goto(`${server.url}/audit`);
  const audit = await page.textContent('main');
  for (const login of ['viewer', 'office', 'admin']) assert.match(audit, new RegExp(`user:${login}`));
  assert.match(audit, /sign_in/);
  // Said in words, the code beside them.
  assert.match(audit, /เข้าสู่ระบบ/);
});

// ---- a Phrao course, as the office reconciles it --------------------------------

// Who came on which day (participants × 5 days), as the trainer marks it.
const GRID = [
  ['present', 'present', 'present', 'present', 'present'],
  ['present', 'late', 'absent', 'present', 'present'],
  ['present', 'absent', 'absent', 'excused', 'present'],
  ['late', 'late', 'late', 'late', 'absent'],
  ['absent', 'present', 'present', 'absent', 'absent'],
];
const PRODUCERS = [
  ['group', 'กลุ่มทอผ้าบ้านป่าตุ้ม', 'นางสมศรี ใจดี'],
  ['group', 'กลุ่มจักสานไม้ไผ่แม่แวน', 'นางบัวผัน คำมา'],
  ['group', 'กลุ่มแปรรูปกระเทียมพร้าว', 'นายสมาน ปัญญา'],
  ['entrepreneur', 'ร้านน้ำพริกแม่แวน', 'นายบุญมี แก้วมา'],
  ['entrepreneur', 'ร้านกาแฟโหล่งขอด', 'นางสาวแก้ว ดวงดี'],
];
// Judges' scores (identity, uniqueness, quality, packaging, marketability).
const SCORES = {
  'กระเป๋าผ้าทอลายดอกพร้าว': [[18, 16, 17, 12, 15], [17, 17, 18, 14, 16]],
  'ตะกร้าไม้ไผ่ลายแม่แวน': [[15, 14, 16, 13, 12], [16, 15, 15, 15, 14]],
};

test('a Phrao course in the console: reports, a conflict resolved and received, Excel, a token QR', async (t) => {
  const server = await startServer(t);
  addUser(server, 'office', 'admin');
  const trainer = device(server, 'trainer', '5011', 'วิทยากร อ.พร้าว');
  const officer = device(server, 'field_officer', '5011', 'เจ้าหน้าที่ภาคสนาม อ.พร้าว');

  // The trainer's course, recorded offline.
  const producers = PRODUCERS.map(([kind, name]) =>
    trainer.kbo('producer', 'add', '--kind', kind, '--name', name, '--district', '5011', '--phone', '0811111111').trim());
  const w = trainer.kbo('workshop', 'add', '--title', 'พัฒนาผลิตภัณฑ์ KBO รุ่นที่ 1', '--fiscal-year', '2569',
    '--district', '5011', '--start', '2025-11-03', '--days', '5', '--venue', 'หอประชุมอำเภอพร้าว').trim();
  const enrolments = PRODUCERS.map(([, , person], i) =>
    trainer.kbo('enrolment', 'add', '--workshop', w, '--producer', producers[i], '--participant', person).trim());
  GRID.forEach((row, i) => row.forEach((status, d) =>
    trainer.kbo('attendance', 'mark', '--workshop', w, '--enrolment', enrolments[i], '--day', String(d + 1), '--status', status)));
  const products = Object.keys(SCORES).map((name, i) =>
    trainer.kbo('product', 'add', '--producer', producers[i], '--name', name, '--category', 'textile').trim());
  Object.values(SCORES).forEach((judges, i) => judges.forEach((s, j) =>
    trainer.kbo('contest', 'score', '--product', products[i], '--contest', 'KBO CM CONTEST 2569',
      '--judge', `กรรมการ ${j + 1}`, '--identity', String(s[0]), '--uniqueness', String(s[1]),
      '--quality', String(s[2]), '--packaging', String(s[3]), '--marketability', String(s[4]))));
  // A photo of the first prototype, and the officer's visit whose follow-up
  // date has passed.
  const png = path.join(freshDir('kbo-photo-'), 'prototype.png');
  fs.writeFileSync(png, makePng(96, 64));
  trainer.kbo('photo', 'add', png, '--subject', `product:${products[0]}`, '--caption', 'ต้นแบบกระเป๋าผ้าทอ');
  trainer.sync();
  officer.sync();
  officer.kbo('visit', 'add', '--producer', producers[1], '--purpose', 'follow_up',
    '--at', '2025-10-20T03:00:00Z', '--next-visit', '2025-11-20', '--notes', 'นัดดูต้นแบบตะกร้า');
  // Both change the first group's phone without seeing the other.
  trainer.kbo('edit', 'producer', producers[0], '--set', 'phone=0822222222');
  officer.kbo('edit', 'producer', producers[0], '--set', 'phone=0833333333');
  trainer.sync();
  officer.sync();

  // What the reports must say, worked out here from GRID, PRODUCERS, SCORES.
  const attended = GRID.map((row) => row.filter((s) => s === 'present' || s === 'late').length);
  const rates = [0, 1, 2, 3, 4].map((d) => GRID.filter((row) => row[d] === 'present' || row[d] === 'late').length / GRID.length);
  const eligible = PRODUCERS.map(([, , person], i) => [person, attended[i] >= 4]);
  const means = Object.entries(SCORES).map(([name, judges]) =>
    [name, judges.reduce((a, s) => a + s.reduce((x, y) => x + y, 0), 0) / judges.length]).sort((a, b) => b[1] - a[1]);

  const page = await window(t);
  await signIn(page, server, 'office');
  const api = (url) => page.evaluate(async (u) => (await fetch(u)).json(), url);

  const grid = await api(`/api/reports/attendance?workshop=${w}`);
  assert.deepEqual(grid.daily.map((d) => d.rate), rates, 'daily attendance rates');
  const byName = (pairs) => Object.fromEntries(pairs);
  assert.deepEqual(byName(grid.participants.map((p) => [p.participant_name, p.days_attended])),
    byName(PRODUCERS.map(([, , person], i) => [person, attended[i]])), 'days attended');
  const certs = await api(`/api/reports/certificates?workshop=${w}`);
  assert.equal(certs.min_days, 4);
  assert.deepEqual(byName(certs.participants.map((p) => [p.participant_name, p.eligible])), byName(eligible), 'certificates');
  const contest = await api(`/api/reports/contest?contest=${encodeURIComponent('KBO CM CONTEST 2569')}`);
  assert.deepEqual(contest.ranking.map((r) => [r.product_name, r.mean_total, r.judges.length]),
    means.map(([name, m]) => [name, m, 2]), 'contest ranking');
  const reach = await api('/api/reports/reach?fiscal_year=2569');
  assert.deepEqual(reach.reached, { group: 3, entrepreneur: 2, total: 5 }, 'reach');
  assert.deepEqual(reach.target, Object.assign({}, reach.target, { group: 94, entrepreneur: 206, total: 300 }));
  const stages = await api('/api/reports/stages');
  assert.deepEqual(stages.by_stage.filter((st) => st.count > 0).map((st) => [st.stage, st.count]), [['idea', 2]],
    'products by stage (both new products are ideas)');
  const followups = await api('/api/reports/followups');
  assert.deepEqual(followups.overdue.map((f) => f.producer_name), [PRODUCERS[1][1]], 'the overdue follow-up');
  // The pages say the same, in Thai, with their charts.
  await page.goto(`${server.url}/reports/attendance?workshop=${w}`);
  const gridText = await page.textContent('main');
  for (const [, , person] of PRODUCERS) assert.ok(gridText.includes(person), `${person} in the grid`);
  assert.ok(gridText.includes('ขาด') && gridText.includes('ลา') && gridText.includes('สาย'), 'statuses as Thai labels');
  assert.ok(await page.$('main svg'), 'a chart of daily rates');
  await screenshot(page, 'report-attendance-1280');
  await page.goto(`${server.url}/reports/reach?fiscal_year=2569`);
  assert.ok(await page.$('main svg'), 'reach drawn against the targets');
  await page.goto(`${server.url}/reports/certificates?workshop=${w}`);
  await screenshot(page, 'report-certificates-1280');

  // The conflict inbox, with names and labels; resolved with a reason.
  const inbox = await api('/api/conflicts');
  const list = inbox.conflicts || inbox;
  assert.equal(list.length, 1, 'one conflict');
  const id = list[0].id;
  await page.goto(`${server.url}/conflicts`);
  const inboxText = await page.textContent('main');
  assert.ok(inboxText.includes('กลุ่มทอผ้าบ้านป่าตุ้ม'), 'the producer by name');
  assert.ok(inboxText.includes('โทรศัพท์'), 'the column by its label');
  assert.ok(inboxText.includes('วิทยากร อ.พร้าว') && inboxText.includes('เจ้าหน้าที่ภาคสนาม อ.พร้าว'), 'who recorded each, by device label');
  assert.match(inboxText, /25\d\d/, 'a Buddhist Era year');
  await screenshot(page, 'conflicts-1280');
  await page.goto(`${server.url}/conflicts/${id}`);
  // Typing another value chooses "another value" (it was left unchosen and
  // refused); the phone's number keys for a number.
  await page.fill('input[name=value]', '0899999999');
  assert.ok(await page.isChecked('input[name=choice][value=other]'), 'typing chose "another value"');
  // A long Thai reason typed, the choice undone: refused, and what was
  // typed is still there to finish (it was thrown away).
  await page.fill('textarea[name=reason]', 'โทรถามประธานกลุ่มแล้ว เบอร์ใหม่ของกลุ่ม');
  await page.evaluate(() => { document.querySelector('input[name=choice][value=other]').checked = false; });
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/resolve"] button[type=submit]')]);
  assert.match(await page.textContent('.flash.error'), /โปรดเลือกค่าที่จะใช้/);
  assert.equal(await page.inputValue('textarea[name=reason]'), 'โทรถามประธานกลุ่มแล้ว เบอร์ใหม่ของกลุ่ม');
  assert.equal(await page.inputValue('input[name=value]'), '0899999999');
  assert.equal((await api(`/api/conflicts/${id}`)).resolved_at, null, 'nothing decided');
  await page.check('input[name=choice][value=other]');
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/resolve"] button[type=submit]')]);
  const after = await api(`/api/conflicts/${id}`);
  assert.ok(JSON.stringify(after).includes('0899999999'), 'resolved to the typed value');
  assert.ok(JSON.stringify(after).includes('user:office'), 'the resolution names the office user');
  // Both devices receive it, and stop announcing the conflict.
  for (const d of [trainer, officer]) {
    d.sync();
    const row = JSON.parse(d.kbo('show', 'producer', producers[0], '--json'));
    assert.equal(row.phone, '0899999999', 'the device holds the resolved value');
    const again = d.sync();
    assert.ok(!/conflict|ขัดแย้ง/i.test(again), `a later sync says nothing about the conflict: ${again}`);
  }

  // A group the officer recorded by mistake, with a visit under it: the
  // office deletes it on its row page (refused until the box for the rows
  // under it is ticked), and the officer's next sync takes it away.
  const wrong = officer.kbo('producer', 'add', '--kind', 'group', '--name', 'กลุ่มที่บันทึกผิด',
    '--district', '5011').trim();
  officer.kbo('visit', 'add', '--producer', wrong, '--purpose', 'follow_up', '--notes', 'บันทึกผิดกลุ่ม');
  officer.sync();
  await page.goto(`${server.url}/data/producer/${wrong}`);
  await page.click('details#delete summary');
  assert.ok((await page.textContent('details#delete')).includes('การลงพื้นที่ 1'), 'what is under it, counted');
  await page.fill('details#delete input[name=reason]', 'บันทึกซ้ำโดยไม่ตั้งใจ');
  await Promise.all([page.waitForNavigation(), page.click('details#delete button[type=submit]')]);
  assert.ok((await page.textContent('main')).includes('ยังไม่ได้ลบ'), 'refused without the box');
  let row = await api(`/api/data/producer/${wrong}`);
  assert.equal(row.deleted, false, 'nothing deleted on a refusal');
  assert.ok(await page.$eval('details#delete', (d) => d.open), 'the form open again after the refusal');
  await page.check('details#delete input[name=cascade]');
  await page.fill('details#delete input[name=reason]', 'บันทึกซ้ำโดยไม่ตั้งใจ');
  await Promise.all([page.waitForNavigation(), page.click('details#delete button[type=submit]')]);
  assert.ok((await page.textContent('main')).includes('รายการนี้ถูกลบแล้ว'), 'the row page says deleted');
  row = await api(`/api/data/producer/${wrong}`);
  assert.equal(row.deleted, true, 'deleted');
  officer.sync();
  const listed = JSON.parse(officer.kbo('list', 'producer', '--json')).map((p) => p.id);
  assert.ok(!listed.includes(wrong), 'the officer no longer lists it');
  assert.ok(listed.includes(producers[0]), 'and still lists the others');
  const visits = JSON.parse(officer.kbo('list', 'visit', '--json')).map((v) => v.producer_id);
  assert.ok(!visits.includes(wrong), 'nor its visit');
  // It was not a mistake after all: restored from the same page, with its
  // visit, and back on the officer's device.
  await page.click('details#restore summary');
  await page.fill('details#restore input[name=reason]', 'กลุ่มมีอยู่จริง');
  await Promise.all([page.waitForNavigation(), page.click('details#restore button[type=submit]')]);
  assert.ok((await page.textContent('main')).includes('กู้คืนแล้ว'), 'said: restored');
  officer.sync();
  assert.ok(JSON.parse(officer.kbo('list', 'producer', '--json')).some((p) => p.id === wrong), 'the group is back');
  assert.ok(JSON.parse(officer.kbo('list', 'visit', '--json')).some((v) => v.producer_id === wrong), 'with its visit');

  // A visit with long Thai notes (its form carries them twice, shown and
  // typed: past the 8 KiB the HTTP library takes URL-encoded) is edited on
  // its page; its time box holds Bangkok time, as the page shows it.
  const longNotes = 'ติดตามการพัฒนาบรรจุภัณฑ์ '.repeat(40);
  const longVisit = officer.kbo('visit', 'add', '--producer', producers[2], '--purpose', 'follow_up',
    '--at', '2025-11-05T03:00:00Z', '--notes', longNotes).trim();
  officer.sync();
  await page.goto(`${server.url}/data/visit/${longVisit}`);
  assert.equal(await page.inputValue('input[name=set_visited_at]'), '2025-11-05T10:00', 'Bangkok time in the box');
  await page.fill('textarea[name=set_follow_up]', 'นัดครั้งหน้าเดือนธันวาคม');
  await page.fill('form[action$="' + longVisit + '"] input[name=reason]', 'ตามที่โทรคุยกับกลุ่ม');
  await Promise.all([page.waitForNavigation(), page.click('form[action$="' + longVisit + '"] button[type=submit]')]);
  assert.ok((await page.textContent('main')).includes('บันทึกแล้ว'), 'saved');
  const edited = await api(`/api/data/visit/${longVisit}`);
  assert.equal(edited.follow_up, 'นัดครั้งหน้าเดือนธันวาคม');
  assert.equal(edited.notes, longNotes, 'the long notes as they were');
  assert.equal(edited.visited_at, '2025-11-05T03:00:00Z', 'the time as it was');

  // The gallery: the trainer's photo, by product, with who took it, and a
  // thumbnail the server made.
  await page.goto(`${server.url}/photos`);
  const gallery = await page.textContent('main');
  assert.ok(gallery.includes('ต้นแบบกระเป๋าผ้าทอ'), 'the caption');
  assert.ok(gallery.includes('กระเป๋าผ้าทอลายดอกพร้าว'), 'the product it shows');
  assert.ok(gallery.includes('วิทยากร อ.พร้าว'), 'who took it, by device label');
  const thumb = page.locator('main img').first();
  await thumb.scrollIntoViewIfNeeded();
  await page.waitForFunction(() => { const i = document.querySelector('main img'); return i && i.complete && i.naturalWidth > 0; });
  assert.ok(await thumb.evaluate((i) => i.naturalWidth > 0 && i.naturalWidth <= 320), 'a thumbnail, not the original');
  await screenshot(page, 'photos-1280');
  // The photo as taken, on request: the office asks, the trainer's next sync
  // sends it, the gallery links it.
  await Promise.all([page.waitForNavigation(),
    page.locator('form[action="/photos/original"] button[type=submit]').first().click()]);
  assert.ok((await page.textContent('main')).includes('ขอภาพต้นฉบับแล้ว'), 'said: asked for');
  const sentOriginal = trainer.sync();
  assert.match(sentOriginal, /sent 1 original as taken/, `the trainer's sync sends it: ${sentOriginal}`);
  await page.goto(`${server.url}/photos`);
  const originalLink = page.locator('main a.orig');
  assert.equal(await originalLink.count(), 1, 'the original linked');
  const originalAnswer = await page.request.get(server.url + await originalLink.getAttribute('href'));
  assert.equal(originalAnswer.status(), 200, 'the original served');
  assert.match(originalAnswer.headers()['content-type'], /^image\//, 'as a picture');

  // Excel: the workbook as the office downloads it, cells read back.
  await page.goto(`${server.url}/exports`);
  const [download] = await Promise.all([page.waitForEvent('download'),
    page.click('form[action="/exports/xlsx"] button[type=submit]')]);
  const xlsx = path.join(freshDir('kbo-xlsx-'), 'export.xlsx');
  await download.saveAs(xlsx);
  const unzip = (member) => {
    const r = spawnSync('unzip', ['-p', xlsx, member], { encoding: 'utf8' });
    assert.equal(r.status, 0, `unzip ${member}: ${r.stderr}`);
    return r.stdout;
  };
  const strings = unzip('xl/sharedStrings.xml');
  for (const text of ['ผู้ผลิต', 'ชื่อผู้เข้าอบรม', 'กลุ่มทอผ้าบ้านป่าตุ้ม', 'นางสมศรี ใจดี', 'ขาด', 'พร้าว', '0899999999']) {
    assert.ok(strings.includes(text), `the workbook holds "${text}"`);
  }
  const workbook = unzip('xl/workbook.xml');
  assert.ok(/ผู้ผลิต/.test(workbook), 'a sheet per entity, named in Thai');

  // A token for a new phone, shown as a QR code that decodes to its address.
  const phone = await window(t, PHONE);
  await signIn(phone, server, 'office');
  // Every page fits a 360 px phone (wide tables scroll inside themselves).
  for (const url of ['/', '/conflicts', `/conflicts/${id}`, '/reports', '/reports/reach?fiscal_year=2569',
    `/reports/attendance?workshop=${w}`, `/reports/certificates?workshop=${w}`, '/reports/contest',
    '/reports/stages', '/reports/followups', '/data', '/data/producer', `/data/producer/${producers[0]}`,
    `/rows/producer/${producers[0]}/history`, '/photos', '/quality', '/exports', '/devices', '/tokens',
    '/users', '/audit']) {
    const r = await phone.goto(`${server.url}${url}`);
    assert.equal(r.status(), 200, url);
    await fitsWidth(phone, PHONE.width, url);
  }
  await phone.goto(`${server.url}/reports/attendance?workshop=${w}`);
  await screenshot(phone, 'report-attendance-360');
  await phone.goto(`${server.url}/tokens`);
  await phone.fill('input[name=label]', 'นางสาวแก้ว · พร้าว · Samsung A14');
  await phone.selectOption('select[name=role]', 'trainer');
  await phone.check('input[name=district][value="5011"]');
  await Promise.all([phone.waitForNavigation(), phone.click('form[action="/tokens"] button[type=submit]')]);
  const shown = await phone.textContent('main');
  const url = /(http:\/\/[^\s/]+\/app\/#\/enroll\?token=[0-9a-f]{64})/.exec(shown);
  assert.ok(url, 'the enrolment address as text');
  await fitsWidth(phone, PHONE.width, 'token page');
  const qrPng = path.join(ARTIFACTS, 'console-token-qr.png');
  await phone.locator('main svg').first().screenshot({ path: qrPng });
  await screenshot(phone, 'token-360');
  const zbar = spawnSync('zbarimg', ['--quiet', '--raw', qrPng], { encoding: 'utf8' });
  assert.equal(zbar.status, 0, `zbarimg could not read the QR code: ${zbar.stderr}`);
  assert.equal(zbar.stdout.trim(), url[1], 'the QR code holds the enrolment address');
  // Reloaded, the page made a second live token nobody saw: now it shows
  // the list, with the one token.
  const liveTokens = () => JSON.parse(server.cli('token', 'list', '--json'));
  assert.equal(liveTokens().length, 1);
  await phone.reload();
  assert.equal(new URL(phone.url()).pathname, '/tokens');
  assert.equal(liveTokens().length, 1, 'a reload makes no second token');
  // The token works: a new phone enrols with it.
  const token = /token=([0-9a-f]{64})/.exec(url[1])[1];
  const home = freshDir('kbo-device-');
  ok(KBO, ['--home', home, 'enroll', '--server', server.url, '--token', token]);
  await phone.goto(`${server.url}/devices`);
  assert.ok((await phone.textContent('main')).includes('นางสาวแก้ว · พร้าว · Samsung A14'), 'the device takes the token\'s label');
});

test('what the office typed comes back: after a colleague\'s edit refuses it, and after the session ends under the form', async (t) => {
  const server = await startServer(t);
  addUser(server, 'somying', 'office', '5011');
  const officer = device(server, 'field_officer', '5011', 'เจ้าหน้าที่ภาคสนาม อ.พร้าว');
  const producer = officer.kbo('producer', 'add', '--kind', 'group', '--name', 'กลุ่มจักสานบ้านทุ่งหลวง',
    '--district', '5011', '--village', 'บ้านทุ่งหลวง', '--members', '12').trim();
  officer.sync();
  const page = await window(t);
  await signIn(page, server, 'somying');
  const rowPage = `${server.url}/data/producer/${producer}`;
  const form = `form[action$="${producer}"]`;

  // The page is open; the officer's sync changes the members meanwhile.
  await page.goto(rowPage);
  officer.kbo('edit', 'producer', producer, '--set', 'members=15');
  officer.sync();
  await page.fill(`${form} [name=set_village]`, 'บ้านทุ่งหลวง หมู่ 4');
  await page.fill(`${form} [name=set_members]`, '14');
  await page.fill(`${form} input[name=reason]`, 'ตามทะเบียนกลุ่มที่อำเภอ');
  await Promise.all([page.waitForNavigation(), page.click(`${form} button[type=submit]`)]);
  assert.match(await page.textContent('.flash.error'), /มีผู้แก้ไขข้อมูลนี้หลังจากคุณเปิดหน้านี้/);
  // What was typed is back (the form's hidden "as shown" fields changed with
  // the colleague's edit; once that lost it all), except where the page now
  // shows another value: the colleague's 15 is not covered by the old typing.
  assert.equal(await page.inputValue(`${form} [name=set_village]`), 'บ้านทุ่งหลวง หมู่ 4');
  assert.equal(await page.inputValue(`${form} input[name=reason]`), 'ตามทะเบียนกลุ่มที่อำเภอ');
  assert.equal(await page.inputValue(`${form} [name=set_members]`), '15');

  // The session ends under the form (the password changed elsewhere): the
  // sign-in page says so and that the typing is kept; signed in again, the
  // person is back on the row with it, to send again.
  server.cliInput('รหัสผ่านใหม่-2569\n', 'user', 'passwd', 'somying');
  await Promise.all([page.waitForNavigation(), page.click(`${form} button[type=submit]`)]);
  assert.match(page.url(), /\/login$/);
  assert.match(await page.textContent('#session-ended'), /การเข้าสู่ระบบครั้งก่อนสิ้นสุดแล้ว/);
  assert.match(await page.textContent('#typed-kept'), /สิ่งที่คุณพิมพ์ไว้ยังอยู่/);
  let row = JSON.parse(server.cli('list', 'producer', '--json'))[0];
  assert.equal(row.village, 'บ้านทุ่งหลวง', 'nothing saved without a session');
  await page.fill('input[name=login]', 'somying');
  await page.fill('input[name=password]', 'รหัสผ่านใหม่-2569');
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  assert.equal(page.url(), rowPage, 'back on the row');
  assert.match(await page.textContent('#typed-kept'), /กลับมาแล้ว/);
  assert.equal(await page.inputValue(`${form} [name=set_village]`), 'บ้านทุ่งหลวง หมู่ 4');
  assert.equal(await page.inputValue(`${form} input[name=reason]`), 'ตามทะเบียนกลุ่มที่อำเภอ');
  await Promise.all([page.waitForNavigation(), page.click(`${form} button[type=submit]`)]);
  assert.ok((await page.textContent('main')).includes('บันทึกแล้ว'), 'saved');
  row = JSON.parse(server.cli('list', 'producer', '--json'))[0];
  assert.equal(row.village, 'บ้านทุ่งหลวง หมู่ 4');
  assert.equal(row.members, 15, 'the colleague\'s value stands');
  // Another page forgets it: nothing comes back uninvited.
  await page.goto(rowPage);
  assert.equal(await page.$('#typed-kept'), null);
  assert.equal(await page.inputValue(`${form} input[name=reason]`), '');
  // A bookmark opened after the session ended says so too (the browser's
  // own stale cookie tells it: no link can); a first visit does not.
  server.cliInput('รหัสผ่านที่สาม-2569\n', 'user', 'passwd', 'somying');
  await page.goto(`${server.url}/conflicts`);
  assert.match(page.url(), /\/login\?next=%2Fconflicts$/);
  assert.ok(await page.$('#session-ended'));
  const fresh = await window(t);
  await fresh.goto(`${server.url}/login?ended=1`);
  assert.equal(await fresh.$('#session-ended'), null, 'a link cannot make it say so');
  await fresh.goto(`${server.url}/conflicts`);
  assert.equal(await fresh.$('#session-ended'), null);
});

test('typing kept across a sign-in goes back only to the one who typed it; signing out forgets it', async (t) => {
  const server = await startServer(t);
  addUser(server, 'alice', 'office', '5011');
  addUser(server, 'bob', 'office', '5011');
  const officer = device(server, 'field_officer', '5011', 'เจ้าหน้าที่ภาคสนาม อ.พร้าว');
  const producer = officer.kbo('producer', 'add', '--kind', 'group', '--name', 'กลุ่มผ้าฝ้ายบ้านสบสอย',
    '--district', '5011').trim();
  officer.sync();
  const page = await window(t);
  const rowPage = `${server.url}/data/producer/${producer}`;
  const form = `form[action$="${producer}"]`;
  const signInAs = async (login, password = PASSWORD) => {
    await page.fill('input[name=login]', login);
    await page.fill('input[name=password]', password);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  };

  // Alice types on a row, then signs out: the next person (bob, same tab)
  // lands on the overview, told nothing, offered nothing of hers.
  await signIn(page, server, 'alice');
  await page.goto(`${rowPage}`);
  await page.fill(`${form} [name=set_village]`, 'ข้อความของอลิซ');
  await Promise.all([page.waitForNavigation(), page.click('header form button')]);
  assert.match(page.url(), /\/login$/);
  assert.equal(await page.$('#typed-kept'), null, 'a sign-out keeps nothing');
  assert.equal(await page.$('#session-ended'), null, 'a sign-out is not an ended session');
  await signInAs('bob');
  assert.equal(page.url(), `${server.url}/`, 'bob is not sent to alice\'s page');
  assert.equal(await page.$('#typed-kept'), null);

  // Bob signs out; alice again, whose session ends under her form: kept on
  // the sign-in page. Bob signs in there instead: he gets none of it.
  await Promise.all([page.waitForNavigation(), page.click('header form button')]);
  await signInAs('alice');
  await page.goto(rowPage);
  await page.fill(`${form} [name=set_village]`, 'ข้อความลับของอลิซ');
  await page.fill(`${form} input[name=reason]`, 'เหตุผลของอลิซ');
  server.cliInput('รหัสผ่านใหม่ของอลิซ-2569\n', 'user', 'passwd', 'alice');
  await Promise.all([page.waitForNavigation(), page.click(`${form} button[type=submit]`)]);
  assert.ok(await page.$('#typed-kept'), 'the sign-in page says it is kept');
  // A mistyped password on the way keeps it too.
  await signInAs('bob', 'ผิด');
  assert.ok(await page.$('.flash.error'));
  await signInAs('bob');
  assert.equal(page.url(), rowPage, 'back on the page the form was on');
  assert.equal(await page.$('#typed-kept'), null, 'nothing said to bob');
  assert.notEqual(await page.inputValue(`${form} [name=set_village]`), 'ข้อความลับของอลิซ');
  assert.equal(await page.inputValue(`${form} input[name=reason]`), '');
  const kept = await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith('kbo-typed')));
  assert.deepEqual(kept, [], 'nothing of alice\'s left in the tab');
});
