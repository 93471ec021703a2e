#!/usr/bin/env node
// Browser tests of the phone app (issue 13, docs/phone-app.md): the client's
// core compiled to WebAssembly, served by a real kbo-server at /app/ and
// run in real headless Chromium with a real profile folder, so that closing
// and reopening the browser keeps (or loses) what a phone would.
//
//   node app.js --kbo PATH/TO/kbo [--kbo-server PATH] --app build-wasm/app
//
// (--app or $KBO_APP_DIR: the folder tools/wasm/build makes.) A native `kbo`
// device plays the office's side: it prepares the course and checks what
// arrived. Exit 0: every test ran and passed; 1 anything else.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const H = require('./harness.js');
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { chromium } = require('playwright-core');
const { spawnSync } = require('node:child_process');

function arg(name) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const APP_DIR = path.resolve(arg('app') || process.env.KBO_APP_DIR || path.join(__dirname, '../../build-wasm/app'));
if (!fs.existsSync(path.join(APP_DIR, 'kbo-core.wasm'))) {
  console.error(`app.js: no phone app in ${APP_DIR} (build it: tools/wasm/build; or pass --app DIR)`);
  process.exit(1);
}

const TEST_IMAGE = path.join(path.dirname(H.KBO), '../tests/kbo_test_image');
const PHRAO = '5011';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

after(H.shutdown);

// A phone: Chromium with its own profile folder (the phone's storage),
// which outlives close() so the next open() is the same phone reopened.
function newPhone(viewport) {
  const profile = H.freshHome();
  let context = null;
  const errors = [];
  return {
    profile,
    errors,
    async open() {
      context = await chromium.launchPersistentContext(profile, {
        executablePath: H.CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
          '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        viewport, deviceScaleFactor: 1, isMobile: true, hasTouch: true,
        locale: 'th-TH', timezoneId: 'Asia/Bangkok',
      });
      const page = context.pages()[0] || await context.newPage();
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error' && !/status of [45]\d\d|net::ERR_INTERNET_DISCONNECTED/.test(m.text())) errors.push(m.text());
      });
      return { context, page };
    },
    async close() {
      if (context) await context.close();
      context = null;
    },
  };
}

// A native kbo device of the office, enrolled; the course of 20 people in
// Phrao recorded on it and synced (what the app's trainer then pulls).
function officeDevice(server) {
  const home = H.freshHome();
  const producers = H.importProducers(home, 20);
  H.kboOk(home, 'enroll', '--server', server.url, '--token', H.serverToken(server, 'trainer', PHRAO));
  const ws = H.kboOk(home, 'workshop', 'add', '--title', 'อบรม KBO พร้าว รุ่นที่ 1', '--fiscal-year', '2567',
    '--district', PHRAO, '--start', '2024-02-26').trim();
  const enrolments = producers.map((p, i) =>
    H.kboOk(home, 'enrolment', 'add', '--workshop', ws, '--producer', p, '--participant', `ผู้เข้าอบรม ${i + 1}`).trim());
  H.kboOk(home, 'sync');
  return { home, producers, ws, enrolments };
}

async function ready(page, hash) {
  await page.waitForFunction((want) => {
    const app = document.querySelector('#app');
    return app && app.dataset.ready === want;
  }, hash.replace(/^#/, '') || '/', { timeout: 30000 });
}
async function openApp(page, server, hash = '#/') {
  const response = await page.goto(`${server.url}/app/${hash}`);
  await ready(page, hash);
  return response;
}
async function go(page, hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await ready(page, hash);
}
async function enrolApp(page, server, role) {
  await go(page, '#/enrol');
  assert.equal(await page.inputValue('#f-server'), server.url, 'the server is the one the app came from');
  await page.fill('#f-token', H.serverToken(server, role, PHRAO));
  await page.click('button[type=submit]');
  await page.waitForSelector('#enrol-outcome[data-outcome="ok"]', { timeout: 30000 });
}
async function syncApp(page) {
  await go(page, '#/');
  await page.click('#sync');
  await page.waitForSelector('#sync-outcome:not([hidden])', { timeout: 60000 });
  const outcome = await page.getAttribute('#sync-outcome', 'data-outcome');
  assert.equal(outcome, 'ok', `sync: ${await page.textContent('#sync-outcome')}`);
}
async function stat(page, key) {
  await go(page, '#/');
  return Number(await page.textContent(`[data-stat="${key}"] .num`));
}
// The service worker holds the app and controls the page.
async function installed(page) {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }));
    }
  });
}

test('the app from the province\'s server: enrol, offline roll-call of 20 and a visit with a photo, reopened, synced exactly once', async (t) => {
  const server = await H.startServer(t, ['--app', APP_DIR]);
  const office = officeDevice(server);
  const phone = newPhone({ width: 412, height: 915 });
  H.defer(t, () => phone.close());

  let { context, page } = await phone.open();
  const response = await openApp(page, server);
  const headers = response.headers();
  assert.equal(headers['cross-origin-opener-policy'], 'same-origin');
  assert.equal(headers['cross-origin-embedder-policy'], 'require-corp');
  assert.equal(await page.evaluate(() => self.crossOriginIsolated), true);
  assert.ok(await page.locator('link[rel=manifest]').count(), 'the web app manifest');
  assert.ok(await page.locator('#not-enrolled').count(), 'a new phone is not enrolled');

  // Enrolled from the app: its key is made here and never leaves it.
  await enrolApp(page, server, 'trainer');
  await syncApp(page);
  await installed(page);
  // The space used and left on the phone, on the home screen.
  const storage = await page.$eval('#storage', (e) => ({ ...e.dataset, text: e.textContent }));
  assert.ok(Number(storage.quota) > Number(storage.used) && Number(storage.used) > 0, JSON.stringify(storage));
  assert.match(storage.text, /พื้นที่ในโทรศัพท์/);
  await H.screenshot(page, 'app-home');
  // Installable: Chromium finds nothing missing (manifest, icons, service
  // worker, a secure origin).
  const cdp = await context.newCDPSession(page);
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  assert.deepEqual(installabilityErrors, [], 'Chromium would install the app');
  // Used is the app's files, not Chromium's usage, which counts the room
  // reserved ahead of writes for the worker's open database handles.
  await go(page, '#/visits');
  await go(page, '#/');
  const now = await page.$eval('#storage', (e) => ({ ...e.dataset }));
  const files = await page.evaluate(async () => {
    let n = 0;
    const walk = async (dir) => {
      for await (const e of dir.values()) {
        if (e.kind === 'directory') await walk(e);
        else n += (await e.getFile()).size;
      }
    };
    await walk(await navigator.storage.getDirectory());
    const { usageDetails } = await navigator.storage.estimate();
    return n + usageDetails.caches + usageDetails.serviceWorkerRegistrations;
  });
  assert.equal(Number(now.used), files, JSON.stringify(now));
  assert.ok(Number(now.used) <= Number(now.usage), JSON.stringify(now));

  // No signal from here on; the app still opens.
  await context.setOffline(true);
  await page.reload();
  await ready(page, '#/');

  // The roll-call of day 1: one tap present, two late, three absent, four excused.
  await go(page, `#/workshops/${office.ws}/rollcall/1`);
  const buttons = page.locator('#rollcall .st');
  assert.equal(await buttons.count(), 20, 'the 20 participants pulled from the office');
  await H.checkLayout(page, 'app roll-call');
  const ids = await page.$$eval('#rollcall .rc-row', (els) => els.map((e) => e.dataset.enrolment));
  const want = {};
  for (let i = 0; i < 20; i++) {
    for (let k = 0; k <= i % 4; k++) await buttons.nth(i).tap();
    want[ids[i]] = ['present', 'late', 'absent', 'excused'][i % 4];
  }
  await page.waitForSelector('#rc-pending[data-pending="0"]');
  await page.waitForFunction(() => !document.querySelector('#rollcall .rc-row.saving'));
  assert.equal(await page.locator('#rollcall .rc-error:not([hidden])').count(), 0);
  await H.screenshot(page, 'app-rollcall-offline');

  // A visit with a photo as a phone camera takes it: 2000 x 1500 pixels
  // stored sideways (EXIF orientation 6) with a GPS position. The app keeps
  // an upright copy of 1600 px and the position in the row, not the file.
  const png = path.join(H.freshHome(), 'camera.jpg');
  const made = spawnSync(TEST_IMAGE, ['camera', '2000', '1500', '6', png], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  await go(page, '#/visits/new');
  await H.pick(page, 'producer_id', 'Producer 3');
  await page.fill('#f-purpose', 'ติดตามผล');
  await page.fill('#f-notes', 'ต้นแบบบรรจุภัณฑ์ใหม่ ผ้าฝ้ายทอมือ');
  await page.setInputFiles('#f-photo', png);
  await page.fill('#f-photo_caption', 'ต้นแบบ');
  await page.click('button[type=submit]');
  await page.waitForFunction(() => /^#\/visits\/[0-9a-f-]{36}$/.test(location.hash), null, { timeout: 30000 });
  const visitId = /#\/visits\/([0-9a-f-]{36})/.exec(page.url())[1];
  await ready(page, `#/visits/${visitId}`);
  await page.waitForFunction(() => {
    const img = document.querySelector('.thumbs img');
    return img && img.complete && img.naturalWidth > 0;
  });
  assert.deepEqual(await page.$eval('.thumbs img', (i) => [i.naturalWidth, i.naturalHeight]), [1200, 1600],
    'the upload copy: upright, 1600 px on the long edge');
  await H.screenshot(page, 'app-visit-offline');
  assert.equal(await stat(page, 'pending_blobs'), 1);

  // The browser closed and opened again, still with no signal: all there.
  await phone.close();
  ({ context, page } = await phone.open());
  await context.setOffline(true);
  await openApp(page, server, `#/workshops/${office.ws}/rollcall/1`);
  assert.deepEqual(await page.$$eval('#rollcall .st', (els) => els.map((e) => e.dataset.status)),
    ids.map((e) => want[e]), 'the marks survived closing the browser');
  await go(page, `#/visits/${visitId}`);
  await page.waitForFunction(() => {
    const img = document.querySelector('.thumbs img');
    return img && img.complete && img.naturalHeight === 1600;
  });
  // The photo was read from storage to be shown, and is not kept in the
  // worker's memory: only the small files are (the device key).
  const inMemory = Number(await page.evaluate(() => document.documentElement.dataset.kboHeld));
  assert.ok(inMemory < 16 * 1024, `the worker holds ${inMemory} B of files in memory`);
  // A second tab of the app on the same phone is told to use the first.
  const tab = await context.newPage();
  await tab.goto(`${server.url}/app/`);
  await ready(tab, '#/');
  assert.match(await tab.textContent('#app'), /เปิดอยู่แล้วในแท็บหรือหน้าต่างอื่น/);
  await tab.close();
  const pending = await stat(page, 'pending_changes');
  assert.ok(pending >= 21, `marks and the visit wait to be sent (${pending})`);

  // Back online, on another screen than home: the app sends every record
  // without a tap, and says so; the photo waits for a sync the person
  // starts (its upload on a slow link held roll-call taps for its length).
  await go(page, `#/visits/${visitId}`);
  await context.setOffline(false);
  await page.waitForFunction(() => ['ok', 'failed'].includes(document.documentElement.dataset.kboAutoSync),
    null, { timeout: 60000 });
  assert.equal(await page.evaluate(() => document.documentElement.dataset.kboAutoSync), 'ok',
    await page.textContent('#toast'));
  assert.match(await page.textContent('#toast'), /มีสัญญาณแล้ว ซิงก์ข้อมูลที่รอส่งเรียบร้อย ภาพถ่าย 1 รูปจะส่งเมื่อกดซิงก์/);
  assert.equal(await stat(page, 'pending_changes'), 0);
  assert.equal(await stat(page, 'pending_blobs'), 1);
  // The tap sends it.
  await syncApp(page);
  assert.equal(await stat(page, 'pending_blobs'), 0);

  // The office's device pulls: every mark exactly once, the visit, the photo.
  H.kboOk(office.home, 'sync');
  const marks = H.list(office.home, 'attendance').filter((m) => m.workshop_id === office.ws && m.day === 1);
  assert.equal(marks.length, 20, 'one mark per participant');
  assert.equal(new Set(marks.map((m) => m.enrolment_id)).size, 20);
  for (const m of marks) assert.equal(m.status, want[m.enrolment_id], `status of ${m.enrolment_id}`);
  const visit = H.list(office.home, 'visit').find((v) => v.id === visitId);
  assert.ok(visit, 'the visit reached the office');
  assert.equal(visit.notes, 'ต้นแบบบรรจุภัณฑ์ใหม่ ผ้าฝ้ายทอมือ');
  const photos = H.list(office.home, 'photo').filter((p) => p.subject_id === visitId);
  assert.equal(photos.length, 1);
  assert.equal(photos[0].width, 1200);
  assert.equal(photos[0].height, 1600);
  assert.equal(photos[0].mime, 'image/jpeg');
  assert.ok(Math.abs(photos[0].lat - 18.79) < 1e-4 && Math.abs(photos[0].lon - 98.985) < 1e-4,
    `the camera's position, in the row (${photos[0].lat}, ${photos[0].lon})`);
  const held = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(dir, e.name));
      else held.push(e.name);
    }
  };
  walk(path.join(server.data, 'blobs'));
  assert.ok(held.includes(photos[0].sha256), 'the server holds the photo');
  assert.ok(photos[0].bytes > 16 * 1024, `a photo the worker does not keep in memory (${photos[0].bytes} B)`);

  // The office asks for the photo as taken: the app keeps none (its page
  // made the copy), so its next sync declines, and the copy is not passed
  // off as the original.
  const asked = spawnSync(H.KBO_SERVER, ['--data', server.data, 'photo', 'ask-original', photos[0].id], { encoding: 'utf8' });
  assert.equal(asked.status, 0, asked.stderr);
  await syncApp(page);
  // Declined: no request is open any more, and nothing is held as its
  // original (withdrawing says which: "held already" had the app sent one).
  const closed = spawnSync(H.KBO_SERVER, ['--data', server.data, 'photo', 'cancel-original', photos[0].id], { encoding: 'utf8' });
  assert.equal(closed.status, 1, closed.stdout + closed.stderr);
  assert.match(closed.stderr, /no open request/);
  assert.deepEqual(phone.errors, [], 'errors in the page');
});

test('the app, a native kbo device and the server converge through a conflict', async (t) => {
  const server = await H.startServer(t, ['--app', APP_DIR]);
  const office = officeDevice(server);
  const producer = office.producers[4];
  const phone = newPhone({ width: 360, height: 740 });
  H.defer(t, () => phone.close());
  const { page } = await phone.open();
  // Enrolled through the console's QR code: the phone's camera opens its
  // address, <server>/app/#/enroll?token=TOKEN, with the token filled in.
  const token = H.serverToken(server, 'field_officer', PHRAO);
  await openApp(page, server, `#/enroll?token=${token}`);
  assert.equal(await page.inputValue('#f-token'), token);
  assert.equal(await page.inputValue('#f-server'), server.url);
  await H.screenshot(page, 'app-enrol-link');
  await page.click('button[type=submit]');
  await page.waitForSelector('#enrol-outcome[data-outcome="ok"]', { timeout: 30000 });
  await syncApp(page);

  // Both change the same producer's phone number while apart.
  await go(page, `#/producers/${producer}`);
  await page.fill('#f-phone', '081-111-1111');
  await page.click('button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#toast') && !document.querySelector('#toast').hidden);
  H.kboOk(office.home, 'edit', 'producer', producer, '--set', 'phone=089-999-9999');
  H.kboOk(office.home, 'sync');
  await syncApp(page);
  H.kboOk(office.home, 'sync');

  // One value on all three, and the conflict kept for a person to decide.
  const native = JSON.parse(H.kboOk(office.home, 'show', 'producer', producer, '--json'));
  await go(page, `#/producers/${producer}`);
  assert.equal(await page.inputValue('#f-phone'), native.phone, 'the app and the native device agree');
  await go(page, '#/conflicts');
  const text = await page.textContent('#app');
  // Both numbers, as stored: a phone written as one Thai number is kept as
  // its digits (docs/cli.md), on the app as on the native device.
  assert.match(text, /0811111111/);
  assert.match(text, /0899999999/);
  assert.equal(await stat(page, 'open_conflicts'), 1);
  assert.deepEqual(phone.errors, [], 'errors in the page');
});

test('a camera photo larger than 20 MB is taken by the app, which keeps its 1600 px copy', async (t) => {
  const server = await H.startServer(t, ['--app', APP_DIR]);
  officeDevice(server);
  const phone = newPhone({ width: 360, height: 740 });
  H.defer(t, () => phone.close());
  const { page } = await phone.open();
  await openApp(page, server);
  await enrolApp(page, server, 'trainer');
  await syncApp(page);
  // A 108-megapixel phone's photo is 20–60 MB: here a camera JPEG with
  // 30 MB after its end (ignored by every decoder), to be that size.
  const big = path.join(H.freshHome(), 'big.jpg');
  const made = spawnSync(TEST_IMAGE, ['camera', '2000', '1500', '1', big], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  fs.appendFileSync(big, Buffer.alloc(30 * 1024 * 1024));
  await go(page, '#/visits/new');
  await H.pick(page, 'producer_id', 'Producer 3');
  await page.fill('#f-notes', 'ภาพจากกล้อง 108 ล้านพิกเซล');
  await page.setInputFiles('#f-photo', big);
  await page.click('button[type=submit]');
  await page.waitForFunction(() => /^#\/visits\/[0-9a-f-]{36}$/.test(location.hash), null, { timeout: 60000 });
  const visitId = /#\/visits\/([0-9a-f-]{36})/.exec(page.url())[1];
  await ready(page, `#/visits/${visitId}`);
  await page.waitForFunction(() => {
    const img = document.querySelector('.thumbs img');
    return img && img.complete && img.naturalWidth > 0;
  });
  assert.deepEqual(await page.$eval('.thumbs img', (i) => [i.naturalWidth, i.naturalHeight]), [1600, 1200]);
});

// The app from a server reached through a relay (H.relay), enrolled as a
// trainer and synced, with a visit of `producer` recorded with a camera
// photo of `size` ([w, h]); the visit's id.
async function appWithVisitPhoto(t, producer, notes, size) {
  const server = await H.startServer(t, ['--app', APP_DIR]);
  officeDevice(server);
  const link = await H.relay(t, server.url);
  const via = { url: link.url, data: server.data };
  const phone = newPhone({ width: 360, height: 740 });
  H.defer(t, () => phone.close());
  const { page } = await phone.open();
  await openApp(page, via);
  await enrolApp(page, via, 'trainer');
  await syncApp(page);
  const jpeg = path.join(H.freshHome(), 'camera.jpg');
  const made = spawnSync(TEST_IMAGE, ['camera', String(size[0]), String(size[1]), '1', jpeg], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  await go(page, '#/visits/new');
  await H.pick(page, 'producer_id', producer);
  await page.fill('#f-notes', notes);
  await page.setInputFiles('#f-photo', jpeg);
  await page.click('button[type=submit]');
  await page.waitForFunction(() => /^#\/visits\/[0-9a-f-]{36}$/.test(location.hash), null, { timeout: 30000 });
  const visitId = /#\/visits\/([0-9a-f-]{36})/.exec(page.url())[1];
  return { server, link, via, phone, page, visitId };
}

test('a sync says it is sending photos from the photo\'s first byte, not the step before it, on a link that stalls', async (t) => {
  const { server, link, page } = await appWithVisitPhoto(t, 'Producer 3', 'ต้นแบบใหม่', [2000, 1500]);
  // The photo's first chunk is held 6 s on the way; the rest of the sync
  // (the visit's push, the pull) goes at once.
  await link.to(`${server.url} stallput=6000`);
  await go(page, '#/');
  await page.click('#sync');
  const started = Date.now();
  let photosAt = null;
  while (Date.now() - started < 60000) {
    const text = await page.evaluate(() => {
      const p = document.querySelector('#sync-progress-text');
      return p && !p.hidden ? p.textContent : '';
    });
    if (photosAt === null && text.includes('รูปภาพ')) photosAt = Date.now();
    if (await page.locator('#sync-outcome:not([hidden])').count()) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const ended = Date.now();
  assert.equal(await page.getAttribute('#sync-outcome', 'data-outcome'), 'ok');
  assert.ok(photosAt !== null, 'the photos step was shown');
  // Shown while its first chunk was held (it said "sending" of the push
  // until the chunk's answer came, then ended at once).
  assert.ok(ended - photosAt > 3000, `photos shown ${ended - photosAt} ms before the sync ended`);
});

test('a sync cut by closing the app mid-upload goes on by itself when the app is opened again, once, and says so', async (t) => {
  const made = await appWithVisitPhoto(t, 'Producer 4', 'เยี่ยมกลุ่ม ภาพต้นแบบ', [1600, 1200]);
  const { server, link, phone, visitId } = made;
  let { page } = made;
  // The photo's upload hangs (the signal at one bar); the officer closes
  // the app while it does.
  await link.to(`${server.url} stallput=120000`);
  await go(page, '#/');
  await page.click('#sync');
  await page.waitForFunction(() => {
    const p = document.querySelector('#sync-progress-text');
    return p && !p.hidden && p.textContent.includes('รูปภาพ');
  }, null, { timeout: 60000 });
  await phone.close();
  const photosShown = () => page.waitForFunction(() => {
    const p = document.querySelector('#sync-progress-text');
    return p && !p.hidden && p.textContent.includes('รูปภาพ');
  }, null, { timeout: 60000 });

  // Opened again, the upload still hanging: it goes on by itself, and is
  // cut again by the app's closing.
  await link.to(`${server.url} stallput=120000`);
  ({ page } = await phone.open());
  await page.goto(`${link.url}/app/#/`);
  await page.waitForFunction(() => /ไม่จบ \(แอปถูกปิดระหว่างซิงก์\)/.test(document.querySelector('#toast').textContent),
    null, { timeout: 30000 });
  await photosShown();
  await phone.close();

  // Cut twice: said, and left to the button (a sync that stops the app
  // each time must not stop it from opening for work).
  ({ page } = await phone.open());
  await page.goto(`${link.url}/app/#/`);
  await page.waitForFunction(() => /ไม่จบอีกครั้ง/.test(document.querySelector('#toast').textContent),
    null, { timeout: 30000 });
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(await page.locator('#sync-progress:not([hidden])').count(), 0, 'no sync was started');
  assert.equal(await page.isEnabled('#sync'), true);

  // With a good signal, the officer taps Sync: everything goes.
  await link.to(server.url);
  await page.click('#sync');
  await page.waitForSelector('#sync-outcome:not([hidden])', { timeout: 60000 });
  assert.equal(await page.getAttribute('#sync-outcome', 'data-outcome'), 'ok',
    await page.textContent('#sync-outcome'));
  assert.equal(await stat(page, 'pending_changes'), 0);
  assert.equal(await stat(page, 'pending_blobs'), 0);
  // The visit and its photo reached the server.
  const office = H.enrolledHome(server, 'trainer', PHRAO);
  H.kboOk(office, 'sync');
  assert.ok(H.list(office, 'visit').find((v) => v.id === visitId), 'the visit reached the office');
  const photo = H.list(office, 'photo').find((p) => p.subject_id === visitId);
  assert.ok(photo, 'its photo row too');
  assert.ok(fs.existsSync(path.join(server.data, 'blobs', photo.sha256)), 'and the photo itself');

  // Opened once more: nothing was cut, nothing is said or started.
  await page.reload();
  await ready(page, '#/');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(await page.locator('#sync-outcome:not([hidden])').count(), 0, 'no sync was started');
  assert.doesNotMatch(await page.textContent('#toast'), /ไม่จบ/);
  assert.deepEqual(phone.errors, [], 'errors in the page');
});

test('a phone whose storage is full: an action is refused in Thai, and nothing of it stays, not even until the app is reopened', async (t) => {
  const server = await H.startServer(t, ['--app', APP_DIR]);
  const office = officeDevice(server);
  const phone = newPhone({ width: 412, height: 915 });
  H.defer(t, () => phone.close());
  const { context, page } = await phone.open();
  await openApp(page, server);
  await enrolApp(page, server, 'trainer');
  await syncApp(page);
  await context.setOffline(true);
  const pending = await stat(page, 'pending_changes');
  const marks = () => page.$$eval('#rollcall .st', (els) => els.map((e) => e.dataset.status));

  // A new worker (the app reopened) holds no room in storage yet (an open
  // handle keeps the room it was granted, even truncated); the browser's
  // quota for the app is set to what it reports using now, so the
  // journal of any action needs more than there is.
  await page.reload();
  await ready(page, '#/');
  const cdp = await context.newCDPSession(page);
  const origin = new URL(server.url).origin;
  const { usage } = await page.evaluate(() => navigator.storage.estimate());
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: usage });
  H.defer(t, () => cdp.send('Storage.overrideQuotaForOrigin', { origin }).catch(() => {}));

  // A roll-call tap: refused beside the name, in Thai, and the mark not
  // shown, now or when the roll call is drawn again.
  await go(page, `#/workshops/${office.ws}/rollcall/1`);
  const before = await marks();
  await page.locator('#rollcall .st').first().tap();
  await page.waitForSelector('#rollcall .rc-error:not([hidden])', { timeout: 30000 });
  assert.match(await page.textContent('#rollcall .rc-error:not([hidden])'), /พื้นที่เก็บข้อมูลในเครื่องนี้เต็ม/);
  assert.deepEqual(await marks(), before);
  await go(page, '#/');
  await go(page, `#/workshops/${office.ws}/rollcall/1`);
  assert.deepEqual(await marks(), before, 'the refused mark is not in the app');
  // A visit: refused above the form, in Thai; not in the list.
  await go(page, '#/visits/new');
  await H.pick(page, 'producer_id', 'Producer 3');
  await page.fill('#f-purpose', 'ติดตามตอนเครื่องเต็ม');
  await page.click('button[type=submit]');
  await page.waitForSelector('.form-error:not([hidden])', { timeout: 30000 });
  assert.match(await page.textContent('.form-error'), /พื้นที่เก็บข้อมูลในเครื่องนี้เต็ม/);
  await go(page, '#/visits');
  assert.doesNotMatch(await page.textContent('#visit-list'), /ติดตามตอนเครื่องเต็ม/, 'the refused visit is not listed');
  assert.equal(await stat(page, 'pending_changes'), pending, 'nothing waits to be sent');

  // Room again: the same tap is saved, and a sync sends only it.
  await cdp.send('Storage.overrideQuotaForOrigin', { origin });
  await go(page, `#/workshops/${office.ws}/rollcall/1`);
  await page.locator('#rollcall .st').first().tap();
  await page.waitForSelector('#rc-pending[data-pending="0"]');
  await page.waitForFunction(() => !document.querySelector('#rollcall .rc-row.saving'));
  assert.equal(await page.locator('#rollcall .rc-error:not([hidden])').count(), 0);
  assert.equal((await marks())[0], 'present');
  assert.equal(await stat(page, 'pending_changes'), pending + 1);
  await context.setOffline(false);
  await syncApp(page);
  H.kboOk(office.home, 'sync');
  const day1 = H.list(office.home, 'attendance').filter((m) => m.workshop_id === office.ws && m.day === 1);
  assert.equal(day1.length, 1, 'only the mark saved with room reached the office');
  assert.equal(H.list(office.home, 'visit').filter((v) => v.purpose === 'ติดตามตอนเครื่องเต็ม').length, 0);
  assert.deepEqual(phone.errors, [], 'errors in the page');
});

test('an app update while records wait in the outbox loses nothing', async (t) => {
  // The app's folder, copied, so the test can publish a new version.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kbo-app-'));
  H.defer(t, () => fs.rmSync(dir, { recursive: true, force: true }));
  for (const f of fs.readdirSync(APP_DIR)) fs.copyFileSync(path.join(APP_DIR, f), path.join(dir, f));
  const server = await H.startServer(t, ['--app', dir]);
  const office = officeDevice(server);
  const phone = newPhone({ width: 412, height: 915 });
  H.defer(t, () => phone.close());
  let { context, page } = await phone.open();
  await openApp(page, server);
  await enrolApp(page, server, 'trainer');
  await installed(page);
  const before = await page.evaluate(() => navigator.serviceWorker.controller.scriptURL);

  // Offline, a new producer waits in the outbox.
  await context.setOffline(true);
  await go(page, '#/producers/new');
  await page.fill('#f-name', 'กลุ่มจักสานบ้านโหล่งขอด');
  await page.selectOption('#f-district_code', PHRAO);
  await page.click('button[type=submit]');
  await page.waitForFunction(() => /^#\/producers\/[0-9a-f-]{36}$/.test(location.hash));
  const id = /#\/producers\/([0-9a-f-]{36})/.exec(page.url())[1];
  assert.equal(await stat(page, 'pending_changes'), 1);

  // The province starts publishing a new version of the app: sw.js is
  // copied, app.js not yet.
  const sw = fs.readFileSync(path.join(dir, 'sw.js'), 'utf8');
  const version = /const VERSION = '([0-9a-f]+)'/.exec(sw)[1];
  const appJs = fs.readFileSync(path.join(dir, 'app.js'));
  const newAppJs = Buffer.concat([appJs, Buffer.from('\n// a new version\n')]);
  const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
  fs.writeFileSync(path.join(dir, 'sw.js'),
    sw.replace(version, `${version}n`).replace(sha(appJs), sha(newAppJs)));
  await phone.close();
  const update = (p) => p.evaluate(async () => {
    const reg = await navigator.serviceWorker.getRegistration();
    await reg.update();
    const sw = reg.installing || reg.waiting;
    if (!sw) return 'none';
    return new Promise((resolve) => sw.addEventListener('statechange',
      () => ['activated', 'redundant'].includes(sw.state) && resolve(sw.state)));
  });
  const versions = (p) => p.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith('kbo-app-')));

  // Back online, the phone opens the app mid-copy: the half-copied version
  // is not taken, and the stored one goes on working.
  ({ context, page } = await phone.open());
  await openApp(page, server);
  assert.equal(await update(page), 'redundant', 'a half-copied version is refused');
  assert.deepEqual(await versions(page), [`kbo-app-${version}`], 'the old version, whole, is kept');
  await page.reload();
  await ready(page, '#/');
  // Kept: waiting in the outbox, or sent by a sync the app went on with
  // (closing the browser ends its offline emulation: the app may see the
  // signal come back and start a sync as it closes, which the reopened app
  // then goes on with — as on a phone).
  const kept = async (why) => {
    const pending = await stat(page, 'pending_changes');
    if (pending === 1) return;
    assert.equal(pending, 0, why);
    H.kboOk(office.home, 'sync');
    assert.ok(H.list(office.home, 'producer').some((p) => p.id === id), `${why}: sent, and at the office`);
  };
  await kept('the outbox survived the half-copied version');

  // The copy completes; the next opening takes the new version.
  fs.writeFileSync(path.join(dir, 'app.js'), newAppJs);
  assert.equal(await update(page), 'activated');
  await page.reload();
  await ready(page, '#/');
  assert.deepEqual(await versions(page), [`kbo-app-${version}n`], 'the new version, and only it, is kept');
  assert.ok(before, 'a service worker controlled the old version');
  await kept('the outbox survived the update');
  await syncApp(page);
  assert.equal(await stat(page, 'pending_changes'), 0);
  H.kboOk(office.home, 'sync');
  const got = JSON.parse(H.kboOk(office.home, 'show', 'producer', id, '--json'));
  assert.equal(got.name, 'กลุ่มจักสานบ้านโหล่งขอด');
  assert.deepEqual(phone.errors, [], 'errors in the page');
  assert.ok(UUID.test(id));
});
