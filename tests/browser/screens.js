#!/usr/bin/env node
// Browser tests of what a Phrao trainer hit on the phone screens of `kbo ui`
// (issue 13, item 4), each at 360 x 740 and 412 x 915 in real headless
// Chromium: photo thumbnails at their own aspect ratio and small; every
// screen of the menu in view; conflicts in words (labels, names, the day)
// rather than codes and UUIDs; one participant's five course days.
//
//   node screens.js --kbo PATH/TO/kbo [--kbo-server PATH/TO/kbo-server]
//
// Exit 0: every test ran and passed; 1 anything else (harness.js).
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const H = require('./harness.js');
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { makePng } = require('./png.js');

before(H.launch);
after(H.shutdown);

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

// A Phrao workshop on `home` with `n` participants, one per producer:
// { ws, people } (the enrolment ids, in order).
function workshopOf(home, n) {
  const producers = H.importProducers(home, n);
  const ws = H.kboOk(home, 'workshop', 'add', '--title', 'อบรม KBO พร้าว', '--fiscal-year', '2567',
    '--district', '5011', '--start', '2024-03-04').trim();
  const people = producers.map((p, i) => H.kboOk(home, 'enrolment', 'add', '--workshop', ws, '--producer', p,
    '--participant', `ผู้เข้าอบรม ${i + 1}`).trim());
  return { ws, people };
}
const tag = (vp) => `${vp.width}`;

// ---- 1. photo thumbnails ----------------------------------------------------------
test('photo thumbnails: drawn at the photo\'s own aspect ratio, a small thumbnail, the upload copy when opened', async (t) => {
  const home = H.freshHome();
  const [producer] = H.importProducers(home, 1);
  const ui = await H.startUi(home);
  H.defer(t, () => ui.stop());
  // A wide and a tall photo, larger than a thumbnail.
  const shapes = { 'wide.png': [900, 600], 'tall.png': [480, 840] };
  for (const [name, [w, hgt]] of Object.entries(shapes)) {
    const fd = new FormData();
    fd.append('subject', `producer:${producer}`);
    fd.append('caption', `ภาพ ${name}`);
    fd.append('file', new Blob([makePng(w, hgt)], { type: 'image/png' }), name);
    const r = await fetch(`${ui.url}/api/photo`, { method: 'POST', body: fd });
    assert.equal(r.status, 201, await r.text());
  }
  const photos = H.list(home, 'photo');
  assert.equal(photos.length, 2);

  for (const vp of H.PHONES) {
    const page = await H.phone(t, vp);
    for (const hash of ['#/photos', `#/producers/${producer}`]) {
      await H.open(page, ui.url, hash);
      await page.waitForFunction(() => {
        const imgs = [...document.querySelectorAll('.thumbs img')];
        return imgs.length === 2 && imgs.every((i) => i.complete && i.naturalWidth > 0);
      });
      const drawn = await page.$$eval('.thumbs img', (imgs) => imgs.map((i) => {
        const b = i.getBoundingClientRect();
        return { src: i.getAttribute('src'), href: i.closest('a').getAttribute('href'), w: b.width, h: b.height,
          nw: i.naturalWidth, nh: i.naturalHeight };
      }));
      for (const d of drawn) {
        const sha = /^\/(?:thumb|blob)\/([0-9a-f]{64})$/.exec(d.src);
        const p = sha && photos.find((x) => x.sha256 === sha[1]);
        assert.ok(p, `a photo of the store: ${d.src}`);
        // Drawn at the photo's own shape (a tall strip was 100 x 600).
        const want = p.width / p.height;
        assert.ok(Math.abs(d.w / d.h - want) < 0.03,
          `${hash} @${vp.width}: drawn ${Math.round(d.w)} x ${Math.round(d.h)}, the photo is ${p.width} x ${p.height}`);
        assert.equal(d.src, `/thumb/${p.sha256}`, `${hash} @${vp.width}: the grid loads the thumbnail, not the photo`);
        assert.ok(d.w >= 90 && d.w <= vp.width, `${hash} @${vp.width}: thumbnail ${d.w} px wide`);
        // The thumbnail itself: 320 px on the long edge, the same shape.
        assert.equal(Math.max(d.nw, d.nh), 320, `thumbnail ${d.nw} x ${d.nh}`);
        assert.ok(Math.abs(d.nw / d.nh - want) < 0.02);
        // Opening it gives the upload copy.
        assert.equal(d.href, `/blob/${p.sha256}`);
      }
      await H.checkLayout(page, `${hash} @${vp.width}`);
      await H.screenshot(page, `thumbs-${hash === '#/photos' ? 'photos' : 'producer'}-${tag(vp)}`);
    }
  }
  // What the page downloads: the thumbnail is a small JPEG, cached beside
  // the blob store; the whole photo only when opened.
  for (const p of photos) {
    const thumb = await fetch(`${ui.url}/thumb/${p.sha256}`);
    assert.equal(thumb.status, 200);
    assert.equal(thumb.headers.get('content-type'), 'image/jpeg');
    const bytes = Buffer.from(await thumb.arrayBuffer());
    assert.ok(bytes.length < p.bytes, `thumbnail ${bytes.length} B, photo ${p.bytes} B`);
    assert.ok(fs.existsSync(path.join(home, 'blobs', 'thumbs', `${p.sha256}.jpg`)), 'cached on disk');
    const whole = await fetch(`${ui.url}/blob/${p.sha256}`);
    assert.equal(whole.status, 200);
    assert.equal(Number(whole.headers.get('content-length')), p.bytes, 'the upload copy, whole');
  }
  assert.equal((await fetch(`${ui.url}/thumb/not-a-photo`)).status, 400);
  assert.equal((await fetch(`${ui.url}/thumb/${'ab'.repeat(32)}`)).status, 404);
});

// The menu's labels fit: none cut off, and no English word broken across
// lines ("Produce / rs"); a Thai label may take two lines.
async function checkNavLabels(page, where, lang) {
  const lines = await page.$$eval('#nav a', (as) => as.map((a) => {
    const range = document.createRange();
    range.selectNodeContents(a);
    const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
    return { text: a.textContent, lines: tops.size, clipped: a.scrollWidth > a.clientWidth + 1 };
  }));
  for (const l of lines) {
    assert.ok(!l.clipped, `${where}: "${l.text}" cut off`);
    assert.ok(l.lines <= (lang === 'en' ? 1 : 2), `${where}: "${l.text}" on ${l.lines} lines`);
  }
}

// ---- 2. the menu ---------------------------------------------------------------------
test('the menu: all eight screens in view and tappable at 360 and 412 px, in Thai and English', async (t) => {
  const home = H.freshHome();
  H.importProducers(home, 1);
  const ui = await H.startUi(home);
  H.defer(t, () => ui.stop());
  for (const vp of H.PHONES) {
    const page = await H.phone(t, vp);
    await H.open(page, ui.url, '#/');
    for (const lang of ['th', 'en']) {
      await H.setLang(page, lang);
      const items = await page.$$eval('#nav a', (as) => as.map((a) => a.dataset.nav));
      assert.equal(items.length, 8);
      const nav = await page.$eval('#nav', (n) => ({ sw: n.scrollWidth, cw: n.clientWidth }));
      assert.ok(nav.sw <= nav.cw, `@${vp.width} ${lang}: the menu scrolls sideways (${nav.sw} > ${nav.cw})`);
      for (const key of items) {
        await page.evaluate(() => window.scrollTo(0, 0));
        const b = await page.$eval(`#nav a[data-nav="${key}"]`, (a) => {
          const r = a.getBoundingClientRect();
          const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
          return { l: r.left, r: r.right, t: r.top, b: r.bottom, w: r.width, h: r.height, top: !!hit && a.contains(hit) };
        });
        assert.ok(b.l >= 0 && b.r <= vp.width && b.t >= 0 && b.b <= vp.height,
          `@${vp.width} ${lang}: ${key} is at ${Math.round(b.l)}..${Math.round(b.r)}, ${Math.round(b.t)}..${Math.round(b.b)}: off the screen`);
        assert.ok(b.w >= 44 && b.h >= 44, `@${vp.width} ${lang}: ${key} is ${b.w} x ${b.h}`);
        assert.ok(b.top, `@${vp.width} ${lang}: ${key} is covered`);
        // A real tap, where a finger would land.
        await page.tap(`#nav a[data-nav="${key}"]`);
        await page.waitForFunction((k) => document.body.dataset.screen === k, key);
        await H.ready(page);
        assert.equal(await page.getAttribute(`#nav a[data-nav="${key}"]`, 'aria-current'), 'page');
        await checkNavLabels(page, `@${vp.width} ${lang} on ${key}`, lang);
      }
      await H.go(page, '#/');
      await H.checkLayout(page, `home @${vp.width} ${lang}`);
      await H.screenshot(page, `menu-${lang}-${tag(vp)}`);
    }
  }
});

// ---- 3. conflicts in words -------------------------------------------------------------
// Two trainers' devices and a real kbo-server: the same mark, product and
// producer changed on both without seeing each other's change.
test('conflicts: labels, names and the course day instead of codes and UUIDs, in Thai and English', async (t) => {
  const server = await H.startServer(t);
  const a = H.enrolledHome(server, 'trainer', '5011');
  const b = H.enrolledHome(server, 'trainer', '5011');
  const [producer] = H.importProducers(a, 1);
  const ws = H.kboOk(a, 'workshop', 'add', '--title', 'อบรม KBO พร้าว รุ่นที่ 2', '--fiscal-year', '2567', '--district', '5011', '--start', '2024-02-26').trim();
  const enrolment = H.kboOk(a, 'enrolment', 'add', '--workshop', ws, '--producer', producer, '--participant', 'นางบัวผัน ใจดี').trim();
  const product = H.kboOk(a, 'product', 'add', '--producer', producer, '--name', 'น้ำพริกหนุ่มพร้าว', '--category', 'food').trim();
  // A product A will delete and B edit, neither seeing the other.
  const dropped = H.kboOk(a, 'product', 'add', '--producer', producer, '--name', 'ข้าวแต๋นน้ำแตงโม', '--category', 'food').trim();
  H.kboOk(a, 'attendance', 'mark', '--workshop', ws, '--enrolment', enrolment, '--day', '3', '--status', 'present');
  H.kboOk(a, 'sync');
  H.kboOk(b, 'sync');
  // A changes, syncs; B, not having seen it, changes the same cells.
  H.kboOk(a, 'delete', 'product', dropped);
  H.kboOk(a, 'attendance', 'mark', '--workshop', ws, '--enrolment', enrolment, '--day', '3', '--status', 'absent');
  H.kboOk(a, 'edit', 'product', product, '--set', 'description=ซองฟอยล์');
  H.kboOk(a, 'edit', 'producer', producer, '--set', 'phone=0811111111');
  H.kboOk(a, 'sync');
  H.kboOk(b, 'attendance', 'mark', '--workshop', ws, '--enrolment', enrolment, '--day', '3', '--status', 'late');
  H.kboOk(b, 'edit', 'product', product, '--set', 'description=กระปุกแก้ว');
  H.kboOk(b, 'edit', 'producer', producer, '--set', 'phone=0822222222');
  H.kboOk(b, 'edit', 'product', dropped, '--set', 'description=ถุงซิป');
  H.kboOk(b, 'sync');
  const ui = await H.startUi(b);
  H.defer(t, () => ui.stop());
  const raw = await (await fetch(`${ui.url}/api/conflicts`)).json();
  assert.equal(raw.length, 4, `four conflicts on B: ${JSON.stringify(raw)}`);

  const want = {
    th: {
      attendance: ['การเข้าอบรม: นางบัวผัน ใจดี', 'อบรม KBO พร้าว รุ่นที่ 2', 'วันที่ 3 ของการอบรม · 28 ก.พ. 2567', 'สาย', 'ขาด'],
      product: ['ผลิตภัณฑ์: น้ำพริกหนุ่มพร้าว', 'กลุ่มผู้ผลิตที่ 1 Producer 1', 'ซองฟอยล์', 'กระปุกแก้ว'],
      producer: ['ผู้ผลิต: กลุ่มผู้ผลิตที่ 1 Producer 1', '0811111111', '0822222222'],
      deleted: ['ผลิตภัณฑ์: ข้าวแต๋นน้ำแตงโม', 'การลบรายการ', 'ลบแล้ว', 'แก้ไขรายการนี้โดยไม่รู้ว่าถูกลบ (ยังใช้อยู่)'],
    },
    en: {
      attendance: ['Attendance: นางบัวผัน ใจดี', 'อบรม KBO พร้าว รุ่นที่ 2', 'Course day 3 · 28 Feb 2024', 'Late', 'Absent'],
      product: ['Product: น้ำพริกหนุ่มพร้าว', 'กลุ่มผู้ผลิตที่ 1 Producer 1', 'ซองฟอยล์', 'กระปุกแก้ว'],
      producer: ['Producer: กลุ่มผู้ผลิตที่ 1 Producer 1', '0811111111', '0822222222'],
      deleted: ['Product: ข้าวแต๋นน้ำแตงโม', 'Deleted or in use', 'Deleted', 'Edited it, not knowing it was deleted (still in use)'],
    },
  };
  for (const vp of H.PHONES) {
    const page = await H.phone(t, vp);
    await H.open(page, ui.url, '#/conflicts');
    for (const lang of ['th', 'en']) {
      await H.setLang(page, lang);
      const cards = await page.$$eval('#conflict-list .conflict', (els) => els.map((e) => ({ id: e.dataset.id, text: e.innerText })));
      assert.equal(cards.length, 4);
      for (const c of raw) {
        const card = cards.find((x) => x.id === c.id);
        for (const words of want[lang][c.column_name === 'deleted' ? 'deleted' : c.entity]) {
          assert.ok(card.text.includes(words), `@${vp.width} ${lang} ${c.entity}: "${words}" not in ${JSON.stringify(card.text)}`);
        }
        // Whose each value is: B pushed after A, so B's is the incoming one.
        const shownSide = c.winner === 'incoming' ? 'incoming' : 'current';
        const whose = await page.$eval(`#conflict-list .conflict[data-id="${c.id}"]`, (el) => ({
          shown: el.querySelector('[data-shown] .whose').dataset.mine,
          other: el.querySelector('[data-other] .whose').dataset.mine,
          text: el.querySelector('[data-shown]').innerText }));
        assert.deepEqual([whose.shown, whose.other], shownSide === 'incoming' ? ['true', 'false'] : ['false', 'true']);
        assert.ok(whose.text.includes(lang === 'th' ? (whose.shown === 'true' ? 'บันทึกจากเครื่องนี้' : 'จากเครื่องอื่น')
          : (whose.shown === 'true' ? 'recorded on this device' : 'from another device')), whose.text);
        assert.doesNotMatch(card.text, UUID, `@${vp.width} ${lang}: a UUID shown`);
        assert.doesNotMatch(card.text, /\b(absent|late|present|excused)\b/, `@${vp.width} ${lang}: a code shown`);
        assert.doesNotMatch(card.text, /\b(col|conflict)\.\w+/, `@${vp.width} ${lang}: a label key shown`);
      }
      await H.checkLayout(page, `conflicts @${vp.width} ${lang}`);
      await H.screenshot(page, `conflicts-${lang}-${tag(vp)}`);
    }
  }
  for (const c of raw) assert.deepEqual([c.current_mine, c.incoming_mine], [false, true], JSON.stringify(c));
  // The roll-call flags the disputed mark (day 3), not an undisputed day.
  {
    const page = await H.phone(t, H.PHONES[0]);
    await H.open(page, ui.url, `#/workshops/${ws}/rollcall/3`);
    await H.setLang(page, 'th');
    assert.equal(await page.textContent(`#rollcall .rc-row[data-enrolment="${enrolment}"] .rc-disputed`),
      '⚠ ข้อมูลขัดแย้ง: รอสำนักงานจังหวัดตัดสิน');
    await H.checkLayout(page, 'rollcall with a disputed mark');
    await H.go(page, `#/workshops/${ws}/rollcall/2`);
    assert.equal(await page.locator('.rc-disputed').count(), 0);
    // The producer's form says which of its fields are disputed (it showed
    // the other's phone with no word: walk-through), in Thai.
    await H.go(page, `#/producers/${producer}`);
    await page.waitForSelector('#row-disputed');
    assert.equal(await page.getAttribute('#row-disputed', 'data-cols'), 'phone');
    assert.match(await page.textContent('#row-disputed'), /ข้อมูลขัดแย้ง รอสำนักงานจังหวัดตัดสิน: โทรศัพท์/);
    await H.checkLayout(page, 'producer form with a disputed field');
  }
  // What the page is given: the row's name, what it belongs to, its day.
  const mark = raw.find((c) => c.entity === 'attendance');
  assert.deepEqual(mark.subject, { name: 'นางบัวผัน ใจดี', context: 'อบรม KBO พร้าว รุ่นที่ 2', day: 3, date: '2024-02-28', at: null });
  assert.equal(raw.find((c) => c.entity === 'product' && c.column_name === 'description').subject.context, 'กลุ่มผู้ผลิตที่ 1 Producer 1');

  // The office decides one, with a reason: the phone shows the decision
  // and the reason as written (two lines).
  const desc = raw.find((c) => c.entity === 'product' && c.column_name === 'description');
  const resolved = require('node:child_process').spawnSync(H.KBO_SERVER, ['--data', server.data, 'conflicts', 'resolve', desc.id,
    '--value', 'กระปุกแก้ว', '--reason', 'กลุ่มเลือกกระปุกแก้ว\nตามที่ประชุมกันวันที่ 5'], { encoding: 'utf8' });
  assert.equal(resolved.status, 0, resolved.stderr);
  H.kboOk(b, 'sync');
  const page = await H.phone(t, H.PHONES[0]);
  await H.open(page, ui.url, '#/conflicts');
  await H.setLang(page, 'th');
  const card = `#conflict-list .conflict[data-id="${desc.id}"]`;
  assert.equal(await page.textContent(`${card} [data-resolved]`), 'กระปุกแก้ว');
  assert.equal(await page.textContent(`${card} [data-reason]`), 'กลุ่มเลือกกระปุกแก้ว\nตามที่ประชุมกันวันที่ 5');
  assert.match(await page.innerText(card), /เหตุผลของสำนักงาน/);

  // A later edit on this device shows neither value in conflict: the card
  // says what the row holds now, written since, and both values (it said
  // "shown now" of a value the row no longer held).
  const phone = raw.find((c) => c.entity === 'producer');
  H.kboOk(b, 'edit', 'producer', producer, '--set', 'phone=0833333333');
  await page.reload();
  await H.ready(page);
  const pc = `#conflict-list .conflict[data-id="${phone.id}"]`;
  const shownNow = await page.innerText(`${pc} [data-shown]`);
  assert.ok(shownNow.includes('0833333333') && shownNow.includes('บันทึกภายหลัง'), shownNow);
  const both = await page.innerText(`${pc} [data-other]`);
  assert.ok(both.includes('0811111111') && both.includes('0822222222'), both);
  const again = (await (await fetch(`${ui.url}/api/conflicts`)).json()).find((c) => c.id === phone.id);
  assert.equal(again.now_side, 'since');
  assert.equal(again.now_value, '0833333333');
});

// ---- 4. one participant's five days ---------------------------------------------------
test('one participant\'s five course days, with their products\' progress, in Thai and English', async (t) => {
  const home = H.freshHome();
  const [p1, p2] = H.importProducers(home, 2);
  const ws = H.kboOk(home, 'workshop', 'add', '--title', 'อบรม KBO พร้าว รุ่นที่ 1', '--fiscal-year', '2567', '--district', '5011', '--start', '2024-02-26').trim();
  const e1 = H.kboOk(home, 'enrolment', 'add', '--workshop', ws, '--producer', p1, '--participant', 'นางสาวดอกแก้ว บุญมา').trim();
  const e2 = H.kboOk(home, 'enrolment', 'add', '--workshop', ws, '--producer', p2, '--participant', 'นายสมชาย แสนดี').trim();
  const marks = { 1: 'present', 2: 'late', 3: 'absent', 5: 'excused' };
  for (const [day, status] of Object.entries(marks)) {
    const args = ['attendance', 'mark', '--workshop', ws, '--enrolment', e1, '--day', day, '--status', status];
    if (day === '2') args.push('--note', 'รถเสียกลางทาง');
    H.kboOk(home, ...args);
  }
  // The other participant's marks must not show up on this one's page.
  H.kboOk(home, 'attendance', 'mark', '--workshop', ws, '--enrolment', e2, '--day', '4', '--status', 'present');
  const product = H.kboOk(home, 'product', 'add', '--producer', p1, '--name', 'ผ้าฝ้ายทอมือลายดอกแก้ว', '--category', 'textile', '--stage', 'prototype').trim();
  H.kboOk(home, 'progress', 'add', '--product', product, '--stage', 'prototype', '--percent', '60', '--notes', 'ปรับสีย้อมธรรมชาติ', '--workshop', ws);
  const ui = await H.startUi(home);
  H.defer(t, () => ui.stop());

  const dates = {
    th: ['26 ก.พ. 2567', '27 ก.พ. 2567', '28 ก.พ. 2567', '29 ก.พ. 2567', '1 มี.ค. 2567'],
    en: ['26 Feb 2024', '27 Feb 2024', '28 Feb 2024', '29 Feb 2024', '1 Mar 2024'],
  };
  const names = {
    th: { present: 'มา', late: 'สาย', absent: 'ขาด', excused: 'ลา', unmarked: 'ยังไม่เช็ก' },
    en: { present: 'Present', late: 'Late', absent: 'Absent', excused: 'Excused', unmarked: 'Not marked' },
  };
  for (const vp of H.PHONES) {
    const page = await H.phone(t, vp);
    await H.open(page, ui.url, `#/workshops/${ws}/people`);
    for (const lang of ['th', 'en']) {
      await H.setLang(page, lang);
      if (lang === 'th') {
        // Picked from the list of participants.
        await page.tap(`#enrolment-list a[data-enrolment="${e1}"]`);
        await page.waitForFunction((e) => location.hash.endsWith(`/people/${e}`), e1);
        await H.ready(page);
      }
      assert.equal(await page.textContent('h1'), 'นางสาวดอกแก้ว บุญมา');
      const days = await page.$$eval('#person-days > li', (lis) => lis.map((li) => ({ day: li.dataset.day, status: li.dataset.status, text: li.innerText })));
      assert.equal(days.length, 5);
      for (let d = 1; d <= 5; d++) {
        const row = days[d - 1];
        const status = marks[d] || '';
        assert.equal(row.day, String(d));
        assert.equal(row.status, status, `day ${d}`);
        assert.ok(row.text.includes(dates[lang][d - 1]), `@${vp.width} ${lang} day ${d}: ${row.text}`);
        assert.ok(row.text.includes(names[lang][status || 'unmarked']), `@${vp.width} ${lang} day ${d}: ${row.text}`);
      }
      assert.ok(days[1].text.includes('รถเสียกลางทาง'), 'the note of day 2');
      const counts = await page.textContent('#person-counts');
      assert.ok(counts.includes(`${names[lang].unmarked} 1`) && counts.includes(`${names[lang].present} 1`), counts);
      const products = await page.textContent('#person-products');
      assert.ok(products.includes('ผ้าฝ้ายทอมือลายดอกแก้ว') && products.includes('60%') && products.includes('ปรับสีย้อมธรรมชาติ'), products);
      await H.checkLayout(page, `participant @${vp.width} ${lang}`);
      await H.screenshot(page, `participant-${lang}-${tag(vp)}`);
    }
    // A day opens that day's roll-call.
    await page.tap('#person-days > li[data-day="3"] a');
    await page.waitForFunction((w) => location.hash === `#/workshops/${w}/rollcall/3`, ws);
    await H.ready(page);
    assert.equal(await page.getAttribute(`#rollcall .rc-row[data-enrolment="${e1}"] .st`, 'data-status'), 'absent');
  }
});

// ---- 4b. a workshop shorter than its marks -----------------------------------------
test('a workshop cut shorter elsewhere: its later marks are said to be kept; it is not cut below them here; no other day stands in for a day it lacks', async (t) => {
  const server = await H.startServer(t);
  const token = () => H.serverToken(server, 'trainer', '5011');
  // The trainer's phone (kbo ui) and a colleague's device, both in Phrao.
  const home = H.freshHome();
  const [p1] = H.importProducers(home, 1);
  H.kboOk(home, 'enroll', '--server', server.url, '--token', token());
  const ws = H.kboOk(home, 'workshop', 'add', '--title', 'อบรม KBO พร้าว รุ่นที่ 2', '--fiscal-year', '2567', '--district', '5011', '--start', '2024-02-26').trim();
  const e1 = H.kboOk(home, 'enrolment', 'add', '--workshop', ws, '--producer', p1, '--participant', 'นางสาวดอกแก้ว บุญมา').trim();
  H.kboOk(home, 'sync');
  const other = H.freshHome();
  H.kboOk(other, 'enroll', '--server', server.url, '--token', token());
  H.kboOk(other, 'sync');
  // The colleague cuts the course to 3 days while the trainer, offline,
  // marks days 2 and 4; the trainer's sync then brings the cut.
  H.kboOk(other, 'edit', 'workshop', ws, '--set', 'days=3');
  H.kboOk(other, 'sync');
  for (const day of ['2', '4']) H.kboOk(home, 'attendance', 'mark', '--workshop', ws, '--enrolment', e1, '--day', day, '--status', 'present');
  H.kboOk(home, 'sync');

  const ui = await H.startUi(home);
  H.defer(t, () => ui.stop());
  const page = await H.phone(t, H.PHONES[0]);
  await H.open(page, ui.url, `#/workshops/${ws}/rollcall/1`);
  assert.equal(await page.locator('#rollcall .rc-row').count(), 1);
  assert.equal(await page.getAttribute('#rc-beyond', 'data-marks'), '1');
  assert.equal(await page.textContent('#rc-beyond'),
    'มีการเช็กชื่อ 1 รายการหลังวันที่ 3 ซึ่งเป็นวันสุดท้ายของหลักสูตรนี้ (ถึงวันที่ 4) รายการเหล่านั้นยังเก็บไว้ครบ แก้จำนวนวันของหลักสูตรเป็น 4 วันเพื่อดูและแก้ไข');
  await H.checkLayout(page, 'roll call with marks past the last day');
  await H.screenshot(page, 'rollcall-beyond-days');

  // Day 4's address, which the workshop no longer has: said, and day 3 is
  // not drawn in its place.
  await H.open(page, ui.url, `#/workshops/${ws}/rollcall/4`);
  assert.equal(await page.textContent('#rc-no-day'), 'หลักสูตรนี้มี 3 วัน ไม่มีวันที่ 4 เลือกวันด้านล่าง');
  assert.equal(await page.locator('#rollcall').count(), 0);
  assert.deepEqual(await page.$$eval('a[data-day]', (as) => as.map((a) => a.dataset.day)), ['1', '2', '3']);
  // Nor day 0's (it drew day 1's roll-call).
  await H.go(page, `#/workshops/${ws}/rollcall/0`);
  assert.equal(await page.textContent('#rc-no-day'), 'หลักสูตรนี้มี 3 วัน ไม่มีวันที่ 0 เลือกวันด้านล่าง');
  assert.equal(await page.locator('#rollcall').count(), 0);

  // Here, cutting it to 1 day is refused beside the days field: day 2, one
  // of the days cut, has a mark (day 4's, hidden already, is not counted).
  // Nothing changes.
  await H.open(page, ui.url, `#/workshops/${ws}/edit`);
  await page.fill('#f-days', '1');
  await page.click('button[type=submit]');
  await page.waitForSelector('#e-days:not([hidden])');
  assert.equal(await page.textContent('#e-days'),
    'ลดเหลือ 1 วันไม่ได้ เพราะมีการเช็กชื่อ 1 รายการหลังวันที่ 1 (ถึงวันที่ 2) ลบรายการเหล่านั้นก่อน หรือคงไว้ 2 วัน ยังไม่ได้แก้ไขอะไร');
  assert.equal(JSON.parse(H.kboOk(home, 'show', 'workshop', ws, '--json')).days, 3);
  // Lengthened back to 4 days, day 4's mark is on its roll call again.
  await page.fill('#f-days', '4');
  await page.click('button[type=submit]');
  await page.waitForFunction((w) => location.hash === `#/workshops/${w}`, ws);
  await H.open(page, ui.url, `#/workshops/${ws}/rollcall/4`);
  assert.equal(await page.getAttribute(`#rollcall .rc-row[data-enrolment="${e1}"] .st`, 'data-status'), 'present');
  assert.equal(await page.locator('#rc-beyond').count(), 0);
});

// ---- 5. deleting a producer people are enrolled under ------------------------------
test('deleting a producer with a participant enrolled: the phone names what is under it and asks again; a cancel deletes nothing', async (t) => {
  const home = H.freshHome();
  const [producer] = H.importProducers(home, 1);
  const workshop = H.kboOk(home, 'workshop', 'add', '--title', 'อบรม KBO พร้าว', '--fiscal-year', '2567',
    '--district', '5011', '--start', '2024-03-04').trim();
  const enrolment = H.kboOk(home, 'enrolment', 'add', '--workshop', workshop, '--producer', producer,
    '--participant', 'นางสมศรี ใจดี').trim();
  for (const day of ['1', '2']) {
    H.kboOk(home, 'attendance', 'mark', '--workshop', workshop, '--enrolment', enrolment, '--day', day, '--status', 'present');
  }
  const ui = await H.startUi(home);
  H.defer(t, () => ui.stop());
  const page = await H.phone(t, H.PHONES[0]);
  const asked = [];
  let answers = [];
  page.on('dialog', async (d) => { asked.push(d.message()); await (answers.shift() ? d.accept() : d.dismiss()); });
  const questions = async (n) => {
    for (let i = 0; i < 100 && asked.length < n; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(asked.length, n, `dialogs: ${JSON.stringify(asked)}`);
  };
  await H.open(page, ui.url, `#/producers/${producer}`);
  await H.setLang(page, 'th');

  // Yes to "delete this?", no to "and what is under it?": nothing goes.
  answers = [true, false];
  await page.click('#producer-delete');
  await questions(2);
  // The question names it, a space before its หรือไม่ (it ran on: "…"หรือไม่?).
  assert.match(asked[0], /^ลบผู้ผลิต ".+" หรือไม่\?/);
  assert.match(asked[1], /ผู้เข้าอบรม 1/);
  assert.match(asked[1], /การเข้าอบรม 2/);
  assert.equal(H.list(home, 'producer').length, 1);
  assert.equal(H.list(home, 'attendance').length, 2);
  assert.equal(await page.evaluate(() => location.hash), `#/producers/${producer}`);

  // Yes to both: the producer, the enrolment and both marks go together.
  answers = [true, true];
  await page.click('#producer-delete');
  await questions(4);
  await page.waitForFunction(() => location.hash === '#/producers');
  assert.match(await page.textContent('#toast'), /3/);
  assert.equal(H.list(home, 'producer').length, 0);
  assert.equal(H.list(home, 'enrolment').length, 0);
  assert.equal(H.list(home, 'attendance').length, 0);
  assert.equal(JSON.parse(H.kboOk(home, 'show', 'enrolment', enrolment, '--json')).deleted, true);
});

// ---- 6. a row recorded by mistake, removed from its own screen ----------------------
test('a mistake is removed where it shows: a participant, a mark (back to not marked), a progress entry, a photo, a scorecard, a visit, a product, a workshop', async (t) => {
  const home = H.freshHome();
  const [producer, other] = H.importProducers(home, 2);
  const workshop = H.kboOk(home, 'workshop', 'add', '--title', 'อบรม KBO พร้าว', '--fiscal-year', '2567',
    '--district', '5011', '--start', '2024-03-04').trim();
  const kept = H.kboOk(home, 'enrolment', 'add', '--workshop', workshop, '--producer', producer,
    '--participant', 'นางสมศรี ใจดี').trim();
  const wrong = H.kboOk(home, 'enrolment', 'add', '--workshop', workshop, '--producer', other,
    '--participant', 'นายผิด คน').trim();
  H.kboOk(home, 'attendance', 'mark', '--workshop', workshop, '--enrolment', wrong, '--day', '1', '--status', 'present');
  const product = H.kboOk(home, 'product', 'add', '--producer', producer, '--name', 'ผ้าทอลายน้ำไหล').trim();
  const entry = H.kboOk(home, 'progress', 'add', '--product', product, '--stage', 'design', '--notes', 'ผิดสินค้า').trim();
  H.kboOk(home, 'contest', 'score', '--product', product, '--contest', 'KBO CM CONTEST 2567', '--judge', 'อ.สมชาย',
    '--identity', '10', '--uniqueness', '10', '--quality', '10', '--packaging', '10', '--marketability', '10');
  const visit = H.kboOk(home, 'visit', 'add', '--producer', producer, '--purpose', 'ผิดกลุ่ม').trim();
  const ui = await H.startUi(home);
  H.defer(t, () => ui.stop());
  const fd = new FormData();
  fd.append('subject', `product:${product}`);
  fd.append('caption', 'ภาพผิด');
  fd.append('file', new Blob([makePng(300, 200)], { type: 'image/png' }), 'wrong.png');
  const added = await fetch(`${ui.url}/api/photo`, { method: 'POST', body: fd });
  const addedBody = await added.text();
  assert.equal(added.status, 201, addedBody);
  const photo = JSON.parse(addedBody).id;

  const page = await H.phone(t, H.PHONES[0]);
  const asked = [];
  let answers = [];
  page.on('dialog', async (d) => { asked.push(d.message()); await (answers.shift() ? d.accept() : d.dismiss()); });
  const live = (entity) => H.list(home, entity).map((r) => r.id);
  const shown = (entity, id) => JSON.parse(H.kboOk(home, 'show', entity, id, '--json'));
  await H.open(page, ui.url, `#/workshops/${workshop}/rollcall/1`);
  await H.setLang(page, 'th');

  // A mark tapped by mistake goes back to not marked; cancelling keeps it.
  const markOf = (e) => `#rollcall .rc-row[data-enrolment="${e}"]`;
  await page.click(`${markOf(kept)} .st`);  // present, saved at once
  await page.waitForFunction(() => document.querySelector('#rc-pending').dataset.pending === '0');
  await page.click(`${markOf(kept)} .note-btn`);
  answers = [false];
  await page.click(`${markOf(kept)} .rc-clear`);
  await page.waitForFunction(() => document.querySelector('#rc-pending').dataset.pending === '0');
  assert.equal(H.list(home, 'attendance').filter((m) => m.enrolment_id === kept).length, 1);
  answers = [true];
  await page.click(`${markOf(kept)} .rc-clear`);
  await page.waitForFunction((s) => document.querySelector(s).dataset.status === '', `${markOf(kept)} .st`);
  assert.match(asked[1], /นางสมศรี ใจดี/);
  assert.match(asked[1], /วันที่ 1/);
  assert.equal(H.list(home, 'attendance').filter((m) => m.enrolment_id === kept).length, 0);
  assert.equal(await page.textContent('#rc-counts [data-count="unmarked"]'), 'ยังไม่เช็ก 1');
  // Tapped again, the same mark is back (its id is the day's key).
  await page.click(`${markOf(kept)} .st`);
  await page.waitForFunction(() => document.querySelector('#rc-pending').dataset.pending === '0');
  assert.deepEqual(H.list(home, 'attendance').filter((m) => m.enrolment_id === kept).map((m) => m.status), ['present']);
  // A tap and a clear in quick succession: the clear goes after the tap.
  await page.click(`${markOf(kept)} .st`);  // late
  await page.click(`${markOf(kept)} .note-btn`);
  answers = [true];
  await page.click(`${markOf(kept)} .rc-clear`);
  await page.waitForFunction((s) => document.querySelector(s).dataset.status === '', `${markOf(kept)} .st`);
  await page.waitForFunction(() => document.querySelector('#rc-pending').dataset.pending === '0');
  assert.equal(H.list(home, 'attendance').filter((m) => m.enrolment_id === kept).length, 0);

  // The participant enrolled by mistake: asked by name, then for their mark.
  asked.length = 0;
  await H.go(page, `#/workshops/${workshop}/people/${wrong}`);
  answers = [true, true];
  await page.click('#enrolment-delete');
  await page.waitForFunction((w) => location.hash === `#/workshops/${w}/people`, workshop);
  assert.match(asked[0], /นายผิด คน/);
  assert.match(asked[1], /การเข้าอบรม 1/);
  assert.deepEqual(live('enrolment'), [kept]);
  assert.equal(shown('enrolment', wrong).deleted, true);
  assert.equal(H.list(home, 'attendance').length, 0);

  // A progress entry, then a photo, on the product's page.
  await H.go(page, `#/products/${product}`);
  answers = [true];
  await page.click(`#progress-list button[data-progress="${entry}"]`);
  await page.waitForSelector(`#progress-list li[data-progress="${entry}"]`, { state: 'detached' });
  assert.equal(live('progress').length, 0);
  assert.equal(shown('product', product).stage, 'design', 'a deleted entry does not move the stage back');
  answers = [true];
  await page.click(`.thumbs figure[data-photo="${photo}"] .photo-delete`);
  await page.waitForSelector(`.thumbs figure[data-photo="${photo}"]`, { state: 'detached' });
  assert.equal(live('photo').length, 0);

  // The judge's scorecard, shown once the product is picked.
  await H.go(page, '#/contest');
  assert.equal(await page.isVisible('#score-delete'), false);
  await page.fill('#f-judge', 'อ.สมชาย');
  await H.pick(page, 'product_id', 'ผ้าทอลายน้ำไหล');
  await page.waitForSelector('#score-delete', { state: 'visible' });
  assert.equal(await page.inputValue('#f-identity'), '10');
  answers = [true];
  await page.click('#score-delete');
  await page.waitForFunction(() => document.querySelector('#score-delete') && document.querySelector('#score-delete').hidden);
  assert.match(asked[asked.length - 1], /อ\.สมชาย/);
  assert.equal(live('contest_score').length, 0);

  // The visit, the product, the workshop (its participant and nothing else
  // under it: asked again, then gone together).
  await H.go(page, `#/visits/${visit}`);
  answers = [true];
  await page.click('#visit-delete');
  await page.waitForFunction(() => location.hash === '#/visits');
  assert.equal(live('visit').length, 0);
  await H.go(page, `#/products/${product}/edit`);
  answers = [true];
  await page.click('#product-delete');
  await page.waitForFunction(() => location.hash === '#/products');
  assert.equal(live('product').length, 0);
  await H.go(page, `#/workshops/${workshop}/edit`);
  answers = [true, true];
  await page.click('#workshop-delete');
  await page.waitForFunction(() => location.hash === '#/workshops');
  assert.equal(live('workshop').length, 0);
  assert.equal(live('enrolment').length, 0);
  assert.deepEqual(live('producer').sort(), [producer, other].sort(), 'producers are not under a workshop');
});

// ---- 7. a product whose producer was deleted ---------------------------------------
test('a product, a visit and a participant whose producer was deleted say so, by its name, not blank or a raw id', async (t) => {
  // A records a group and syncs; B, offline, adds a product, a visit and a
  // participant under it while A deletes the group; both sync: B holds live
  // rows of a deleted producer.
  const server = await H.startServer(t);
  const a = H.enrolledHome(server, 'trainer', '5011');
  const b = H.enrolledHome(server, 'trainer', '5011');
  const [producer] = H.importProducers(a, 1);
  const name = JSON.parse(H.kboOk(a, 'show', 'producer', producer, '--json')).name;
  H.kboOk(a, 'sync');
  H.kboOk(b, 'sync');
  const product = H.kboOk(b, 'product', 'add', '--producer', producer, '--name', 'น้ำพริกตาแดง').trim();
  const visit = H.kboOk(b, 'visit', 'add', '--producer', producer, '--purpose', 'ติดตามผล').trim();
  const workshop = H.kboOk(b, 'workshop', 'add', '--title', 'อบรม KBO พร้าว', '--fiscal-year', '2567',
    '--district', '5011', '--start', '2024-03-04').trim();
  const enrolment = H.kboOk(b, 'enrolment', 'add', '--workshop', workshop, '--producer', producer,
    '--participant', 'นายแก้ว ศรีวงศ์').trim();
  const second = H.kboOk(b, 'enrolment', 'add', '--workshop', workshop, '--producer', producer,
    '--participant', 'นางคำปัน ใจดี').trim();
  H.kboOk(a, 'delete', 'producer', producer);
  H.kboOk(a, 'sync');
  H.kboOk(b, 'sync');
  assert.equal(JSON.parse(H.kboOk(b, 'show', 'producer', producer, '--json')).deleted, true);
  assert.equal(JSON.parse(H.kboOk(b, 'show', 'product', product, '--json')).deleted, false);
  const ui = await H.startUi(b);
  H.defer(t, () => ui.stop());
  const page = await H.phone(t, H.PHONES[0]);
  await H.open(page, ui.url, '#/products');
  await H.setLang(page, 'th');
  assert.equal((await page.textContent(`#product-list li[data-product="${product}"] .producer-gone`)).trim(),
    `ผู้ผลิต (${name}) ถูกลบแล้ว`);
  await H.go(page, `#/products/${product}`);
  assert.ok((await page.textContent('#product-producer-deleted')).includes(`${name} ถูกลบแล้ว`));
  // The visit is titled by the producer's name (it was its raw id).
  await H.go(page, '#/visits');
  const item = `#visit-list li[data-visit="${visit}"]`;
  assert.equal((await page.textContent(`${item} .title`)).trim(), name);
  assert.equal((await page.textContent(`${item} .producer-gone`)).trim(), `ผู้ผลิต (${name}) ถูกลบแล้ว`);
  await H.go(page, `#/visits/${visit}`);
  assert.ok((await page.textContent('#visit-producer-deleted')).includes(`${name} ถูกลบแล้ว`));
  // The participant, in the list and on the roll-call (its producer line
  // was empty).
  await H.go(page, `#/workshops/${workshop}/people`);
  assert.equal((await page.textContent(`#enrolment-list a[data-enrolment="${enrolment}"] .producer-gone`)).trim(),
    `ผู้ผลิต (${name}) ถูกลบแล้ว`);
  await H.go(page, `#/workshops/${workshop}/rollcall/1`);
  for (const e of [enrolment, second]) {
    assert.equal((await page.textContent(`#rollcall .rc-row[data-enrolment="${e}"] .rc-name .p`)).trim(),
      `ผู้ผลิต (${name}) ถูกลบแล้ว`, 'each participant of it, not the first only');
  }
});

// ---- 8. what a device of some districts is offered ---------------------------------
test('a device enrolled for two districts is offered those two in the district pickers; an empty roll-call does not say all saved; a percent is shown only beside its own stage', async (t) => {
  const server = await H.startServer(t);
  const home = H.freshHome();
  H.kboOk(home, 'enroll', '--server', server.url, '--token', H.serverToken(server, 'trainer', '5009,5011'));
  const [producer] = H.importProducers(home, 1);
  const workshop = H.kboOk(home, 'workshop', 'add', '--title', 'อบรมว่าง', '--fiscal-year', '2567',
    '--district', '5011', '--start', '2024-03-04').trim();
  const product = H.kboOk(home, 'product', 'add', '--producer', producer, '--name', 'ผ้าทอ', '--stage', 'prototype').trim();
  H.kboOk(home, 'progress', 'add', '--product', product, '--stage', 'design', '--percent', '40');
  const other = H.kboOk(home, 'product', 'add', '--producer', producer, '--name', 'ย่าม', '--stage', 'idea').trim();
  H.kboOk(home, 'progress', 'add', '--product', other, '--stage', 'design', '--percent', '70');
  const ui = await H.startUi(home);
  H.defer(t, () => ui.stop());
  const page = await H.phone(t, H.PHONES[0]);
  const offered = () => page.$$eval('select[name="district_code"] option', (os) => os.map((o) => o.value).filter(Boolean));
  for (const hash of ['#/producers/new', '#/workshops/new', `#/producers/${producer}`, `#/workshops/${workshop}/edit`]) {
    await H.open(page, ui.url, hash);
    assert.deepEqual((await offered()).sort(), ['5009', '5011'], hash);
  }
  await H.go(page, '#/producers/new');
  assert.equal(await page.inputValue('select[name="district_code"]'), '5009');

  await H.go(page, `#/workshops/${workshop}/rollcall/1`);
  assert.equal(await page.textContent('#rc-pending'), '');

  await H.go(page, '#/products');
  const sub = (id) => page.textContent(`#product-list li[data-product="${id}"] .sub`);
  assert.doesNotMatch(await sub(product), /40%/, 'a design entry\'s percent beside the prototype stage');
  assert.match(await sub(other), /70%/, 'the entry moved the product to design: its percent is of that stage');

  // A device not enrolled yet is offered every district.
  const fresh = H.freshHome();
  const ui2 = await H.startUi(fresh);
  H.defer(t, () => ui2.stop());
  await H.open(page, ui2.url, '#/producers/new');
  assert.equal((await offered()).length, 25);
});

// ---- 9. slips said, not refused ------------------------------------------------------
test('a workshop\'s fiscal year its start is not in is asked about; a roll-call day after today says so', async (t) => {
  const home = H.freshHome();
  const ui = await H.startUi(home);
  H.defer(t, () => ui.stop());
  const page = await H.phone(t, H.PHONES[0]);
  const asked = [];
  let answers = [];
  page.on('dialog', async (d) => { asked.push(d.message()); await (answers.shift() ? d.accept() : d.dismiss()); });
  await H.open(page, ui.url, '#/workshops/new');
  await H.setLang(page, 'th');
  await page.fill('#f-title', 'อบรม KBO พร้าว');
  await page.fill('#f-fiscal_year', '2568');
  await page.fill('#f-start_date', '2024-03-04');
  // No: nothing saved, the field says which year the date is in.
  answers = [false];
  await page.click('button[type=submit]');
  await page.waitForSelector('#e-fiscal_year:not([hidden])');
  assert.match(asked[0], /ปีงบประมาณ 2567 ไม่ใช่ 2568/);
  assert.equal(await page.textContent('#e-fiscal_year'), 'วันเริ่มอยู่ในปีงบประมาณ 2567');
  assert.equal(H.list(home, 'workshop').length, 0);
  // Yes: saved as typed.
  answers = [true];
  await page.click('button[type=submit]');
  await page.waitForFunction(() => /^#\/workshops\/[0-9a-f-]{36}$/.test(location.hash));
  assert.equal(H.list(home, 'workshop')[0].fiscal_year, 2568);
  // The right year: nothing asked.
  await H.go(page, '#/workshops/new');
  await page.fill('#f-title', 'อบรมปีหน้า');
  await page.fill('#f-fiscal_year', '2642');
  await page.fill('#f-start_date', '2099-01-05');
  await page.click('button[type=submit]');
  await page.waitForFunction(() => /^#\/workshops\/[0-9a-f-]{36}$/.test(location.hash));
  assert.equal(asked.length, 2);
  const ahead = (await page.evaluate(() => location.hash)).slice('#/workshops/'.length);
  await H.go(page, `#/workshops/${ahead}/rollcall/2`);
  assert.match(await page.textContent('#rc-future'), /วันที่ 2 ตรงกับ .*2642/);
  const past = H.list(home, 'workshop').find((w) => w.fiscal_year === 2568).id;
  await H.go(page, `#/workshops/${past}/rollcall/2`);
  assert.equal(await page.locator('#rc-future').count(), 0);
});

// ---- a clock minutes off ------------------------------------------------------
test('a phone whose clock is 15 minutes ahead syncs, and is told in Thai to set it', async (t) => {
  const server = await H.startServer(t);
  const phone = H.freshHome();
  H.kboOk(phone, 'enroll', '--server', server.url, '--token', H.serverToken(server, 'field_officer', '5011'));
  H.importProducers(phone, 1);
  const ui = await H.startUi(phone, '127.0.0.1:0', { KBO_TEST_CLOCK_OFFSET_MS: String(15 * 60 * 1000) });
  H.defer(t, () => ui.stop());
  const page = await H.phone(t, H.PHONES[0]);
  await H.open(page, ui.url, '#/');
  await page.click('#sync');
  await page.waitForSelector('#sync-outcome:not([hidden])', { timeout: 60000 });
  assert.equal(await page.getAttribute('#sync-outcome', 'data-outcome'), 'ok', await page.textContent('#sync-outcome'));
  assert.match(await page.textContent('#sync-clock'), /เร็วกว่าของเซิร์ฟเวอร์ 15 นาที/);
  assert.equal(JSON.parse(H.kboOk(phone, 'status', '--json')).pending_changes, 0);
});

// ---- a producer moved away ----------------------------------------------------
test('a producer the office moved to another district: the phone\'s sync says it left the device, in Thai', async (t) => {
  const server = await H.startServer(t);
  const office = H.freshHome();
  const phone = H.freshHome();
  H.kboOk(office, 'enroll', '--server', server.url, '--token', H.serverToken(server, 'central_office', 'all'));
  H.kboOk(phone, 'enroll', '--server', server.url, '--token', H.serverToken(server, 'field_officer', '5011'));
  const [producer, stays] = H.importProducers(phone, 2);
  H.kboOk(phone, 'sync');
  H.kboOk(office, 'sync');
  H.kboOk(office, 'edit', 'producer', producer, '--set', 'district_code=5009');
  H.kboOk(office, 'sync');
  // Typed on the phone before it heard: refused, and the row leaves.
  H.kboOk(phone, 'edit', 'producer', producer, '--set', 'phone=0899999999');
  const ui = await H.startUi(phone);
  H.defer(t, () => ui.stop());
  const page = await H.phone(t, H.PHONES[0]);
  await H.open(page, ui.url, '#/');
  await page.click('#sync');
  await page.waitForSelector('#sync-outcome:not([hidden])', { timeout: 60000 });
  const said = await page.textContent('#sync-outcome');
  assert.match(said, /1 รายการย้ายไปอำเภอที่เครื่องนี้ไม่ได้ดูแล จึงไม่อยู่ในเครื่องนี้แล้ว/, said);
  // The whole outcome in view at 360 × 740, not its top edge below the button.
  const inView = () => {
    const r = document.querySelector('#sync-outcome').getBoundingClientRect();
    return r.top >= 0 && r.bottom <= window.innerHeight + 1;
  };
  await page.waitForFunction(inView, null, { timeout: 5000 }).catch(() => {});
  const box = await page.$eval('#sync-outcome', (el) => {
    const r = el.getBoundingClientRect();
    return { top: r.top, bottom: r.bottom, height: window.innerHeight };
  });
  assert.ok(box.top >= 0 && box.bottom <= box.height + 1, `outcome at ${box.top}–${box.bottom} of ${box.height}`);
  assert.doesNotMatch(said, /ไม่มีข้อมูลใหม่/, said);
  const left = await (await fetch(`${ui.url}/api/producer`)).json();
  const ids = (left.rows || left).map((r) => r.id);
  assert.ok(!ids.includes(producer), `the moved producer is gone: ${JSON.stringify(ids)}`);
  assert.ok(ids.includes(stays), `the other stays: ${JSON.stringify(ids)}`);
  // The refusal is listed as of a record no longer here, with no form to
  // open (the home screen drawn afresh: the same address is no reload).
  await page.reload();
  await H.ready(page);
  const item = page.locator(`.refused-list li[data-row-id="${producer}"]`);
  await item.waitFor({ timeout: 10000 });
  assert.equal(await item.count(), 1);
  assert.match(await item.textContent(), /ไม่อยู่ในเครื่องนี้แล้ว/);
  assert.equal(await item.locator('a').count(), 0);
});

// ---- 12. taps not yet saved outlive a reload --------------------------------------
test('roll-call taps still waiting to be saved when the page reloads are all made after it, in order', async (t) => {
  const home = H.freshHome();
  const { ws, people } = workshopOf(home, 6);
  const ui = await H.startUi(home);
  H.defer(t, () => ui.stop());
  const page = await H.phone(t, H.PHONES[0]);
  await H.open(page, ui.url, `#/workshops/${ws}/rollcall/2`);
  // Two quick taps on each (present, then late), then at once a reload,
  // with most of them still queued in the page: each save answered after
  // 300 ms, as on a slow phone, so the queue is still full.
  const slow = async (route) => {
    await new Promise((r) => setTimeout(r, 300));
    await route.continue().catch(() => {});
  };
  await page.route('**/api/attendance', slow);
  for (const e of people) {
    const st = page.locator(`#rollcall .rc-row[data-enrolment="${e}"] .st`);
    await st.click();
    await st.click();
  }
  const queued = Number(await page.getAttribute('#rc-pending', 'data-pending'));
  assert.ok(queued > 6, `${queued} taps queued`);
  await page.unroute('**/api/attendance', slow);
  await page.reload();
  await H.ready(page);
  await page.waitForSelector('#rollcall');
  // Every one of them late, here and in the store; nothing kept over.
  for (const e of people) {
    assert.equal(await page.getAttribute(`#rollcall .rc-row[data-enrolment="${e}"] .st`, 'data-status'), 'late',
      `after a reload with ${queued} taps queued`);
  }
  const marks = H.list(home, 'attendance');
  assert.equal(marks.length, 6);
  assert.ok(marks.every((m) => m.status === 'late' && m.day === 2));
  assert.equal(await page.evaluate(() => localStorage.getItem('kbo.kept-writes')), null);
});

test('a roll-call tap or a form saved over a value changed since it was drawn (another screen, a sync) is refused and shows what is there now; saved again, it goes through', async (t) => {
  // A walk-through: two tablets on one kbo ui, a stale roll-call and a stale
  // edit form wrote over newer values (one device: no conflict possible).
  const home = H.freshHome();
  const { ws, people } = workshopOf(home, 2);
  const ui = await H.startUi(home);
  H.defer(t, () => ui.stop());
  const a = await H.phone(t, H.PHONES[0]);
  const b = await H.phone(t, H.PHONES[1]);
  const row = (e) => `#rollcall .rc-row[data-enrolment="${e}"]`;
  await H.open(a, ui.url, `#/workshops/${ws}/rollcall/1`);
  await H.setLang(a, 'en');
  await H.open(b, ui.url, `#/workshops/${ws}/rollcall/1`);
  // B taps twice: present, late.
  await b.click(`${row(people[0])} .st`);
  await b.click(`${row(people[0])} .st`);
  await b.waitForFunction(() => document.querySelector('#rc-pending').dataset.pending === '0');
  assert.equal(H.list(home, 'attendance')[0].status, 'late');
  // A, still showing it unmarked, taps once: refused, shows late, says so.
  await a.click(`${row(people[0])} .st`);
  await a.waitForSelector(`${row(people[0])} .rc-error:not([hidden])`);
  assert.equal(await a.getAttribute(`${row(people[0])} .st`, 'data-status'), 'late');
  assert.match(await a.textContent(`${row(people[0])} .rc-error`), /Changed since this screen was drawn.*now Late/);
  assert.equal(H.list(home, 'attendance')[0].status, 'late', 'B\'s mark kept');
  // Tapped again, having seen it: late -> absent.
  await a.click(`${row(people[0])} .st`);
  await a.waitForFunction(() => document.querySelector('#rc-pending').dataset.pending === '0');
  assert.equal(H.list(home, 'attendance')[0].status, 'absent');

  // An edit form drawn before another screen saved a new phone number.
  const producer = H.list(home, 'producer')[0].id;
  await H.go(a, `#/producers/${producer}`);
  await H.go(b, `#/producers/${producer}`);
  await b.fill('#f-phone', '0870000000');
  await b.click('button[type=submit]');
  await b.waitForFunction(() => /Saved|บันทึกแล้ว/.test((document.querySelector('#toast') || {}).textContent || ''));
  await a.fill('#f-phone', '0879999999');
  await a.click('button[type=submit]');
  await a.waitForSelector('.field[data-col="phone"] .field-error:not([hidden])');
  assert.match(await a.textContent('.field[data-col="phone"] .field-error'), /it now holds “0870000000”/);
  assert.equal(H.list(home, 'producer').find((p) => p.id === producer).phone, '0870000000', 'B\'s number kept');
  assert.equal(await a.inputValue('#f-phone'), '0879999999', 'what A typed is kept in the form');
  // Saved again, seen: it goes through.
  await a.click('button[type=submit]');
  await a.waitForFunction((id) => location.hash === `#/producers/${id}` && !document.querySelector('.field[data-col="phone"] .field-error:not([hidden])'), producer);
  await a.waitForFunction(() => /Saved/.test((document.querySelector('#toast') || {}).textContent || ''));
  assert.equal(H.list(home, 'producer').find((p) => p.id === producer).phone, '0879999999');
});

test('a huge paste stops at the field\'s limit and says so, a long note in Latin letters is kept whole, and a draft larger than a form is never put back', async (t) => {
  // 200,000 Thai letters pasted into a visit's notes froze the page for half
  // a minute (Chromium laying them out), said only "too large" on save, and
  // the kept draft froze the form again each time it opened, for 14 days.
  // Then the limit (21,845, a 64 KiB note in Thai) cut a longer note in
  // Latin letters, which the store takes, short without a word.
  const home = H.freshHome();
  const [producer] = H.importProducers(home, 1);
  const name = JSON.parse(H.kboOk(home, 'show', 'producer', producer, '--json')).name;
  const ui = await H.startUi(home);
  H.defer(t, () => ui.stop());
  const page = await H.phone(t, H.PHONES[0]);
  await H.open(page, ui.url, '#/visits/new');
  await H.setLang(page, 'th');
  assert.equal(await page.getAttribute('#f-notes', 'maxlength'), '65536');
  await page.fill('#f-notes', 'ก'.repeat(200000));
  assert.equal((await page.inputValue('#f-notes')).length, 65536);
  // In Thai letters the store's 64 KiB is 21,845 of them: said now, in
  // bytes as the store counts them, not on save.
  assert.match(await page.innerText('#e-notes'), /ยาวเกินไป \(196,608 ไบต์ ไม่เกิน 65,536 หรือประมาณ 21,845 ตัวอักษรไทย\)/);
  // In Latin letters the field's own limit cuts it: said so.
  await page.fill('#f-notes', 'x'.repeat(70000));
  assert.equal((await page.inputValue('#f-notes')).length, 65536);
  assert.match(await page.innerText('#e-notes'), /ไม่เกิน 65,536 ตัวอักษร/);
  // Shorter again: the notice goes.
  await page.fill('#f-notes', 'ก'.repeat(10));
  assert.ok(await page.locator('#e-notes').isHidden());
  // 30,000 Latin letters (30,000 bytes): kept whole, saved whole.
  const latin = 'Weaving pattern notes. '.repeat(1305);
  assert.ok(latin.length > 30000);
  await H.pick(page, 'producer_id', name);
  await page.fill('#f-notes', latin);
  assert.ok(await page.locator('#e-notes').isHidden());
  await page.click('form button[type=submit]');
  await page.waitForFunction(() => !location.hash.startsWith('#/visits/new'));
  const visits = H.list(home, 'visit');
  assert.equal(visits.length, 1);
  assert.equal(visits[0].notes, latin);
  await H.go(page, '#/producers/new');
  assert.equal(await page.getAttribute('#f-name', 'maxlength'), '4000');
  // A draft left by an older app, larger than a form may be: dropped.
  const key = 'kbo.draft:#/visits/new|visit';
  await page.evaluate((k) => localStorage.setItem(k, JSON.stringify({
    at: Date.now(), typed: [{ form: 0, name: 'notes', value: 'ก'.repeat(140000) }],
  })), key);
  await H.go(page, '#/visits/new');
  assert.equal(await page.inputValue('#f-notes'), '');
  assert.ok(await page.locator('.draft-note').isHidden());
  assert.equal(await page.evaluate((k) => localStorage.getItem(k), key), null);
});

test('what is typed in a form comes back after a reload until it is saved; a save held back when the page went says it may be saved already; another screen opens at its top', async (t) => {
  const home = H.freshHome();
  const [producer] = H.importProducers(home, 1);
  const name = JSON.parse(H.kboOk(home, 'show', 'producer', producer, '--json')).name;
  const ui = await H.startUi(home);
  H.defer(t, () => ui.stop());
  const page = await H.phone(t, H.PHONES[0]);
  await H.open(page, ui.url, '#/visits/new');
  await H.setLang(page, 'th');
  await H.pick(page, 'producer_id', name);
  await page.fill('#f-notes', 'ดูต้นแบบผ้าทอ ลายน้ำไหล');
  // The tab closed while the camera was open: typed, not saved.
  await page.reload();
  await H.ready(page);
  await page.waitForSelector('.draft-note:not([hidden])');
  assert.equal(await page.inputValue('#f-notes'), 'ดูต้นแบบผ้าทอ ลายน้ำไหล');
  assert.equal(await page.inputValue('#f-producer_id'), producer);
  assert.match(await page.innerText('.draft-note'), /นำสิ่งที่พิมพ์ไว้/);
  assert.equal(H.list(home, 'visit').length, 0);
  // A save that never got through (held, as behind a sync on the phone
  // app), then the page went: back, said to be perhaps saved already.
  const held = [];
  const hold = (route) => { held.push(route); };
  await page.route('**/api/visit', hold);
  await page.click('form button[type=submit]');
  await page.waitForFunction(() => /กำลังบันทึก|รอให้ซิงก์/.test(document.querySelector('form button[type=submit]').textContent));
  await page.reload();
  await H.ready(page);
  for (const r of held) await r.abort().catch(() => {});
  await page.unroute('**/api/visit', hold);
  assert.equal(H.list(home, 'visit').length, 0, 'the held save never reached the device');
  await page.waitForSelector('.draft-note:not([hidden])');
  assert.match(await page.innerText('.draft-note'), /อาจบันทึกไปแล้ว/);
  assert.equal(await page.inputValue('#f-notes'), 'ดูต้นแบบผ้าทอ ลายน้ำไหล');
  // Saved: forgotten; the same screen opened again is empty.
  await page.click('form button[type=submit]');
  await page.waitForFunction(() => !/^#\/visits\/new$/.test(location.hash));
  await H.ready(page);
  const visits = H.list(home, 'visit');
  assert.equal(visits.length, 1);
  assert.equal(visits[0].notes, 'ดูต้นแบบผ้าทอ ลายน้ำไหล');
  assert.deepEqual(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('kbo.draft:'))), []);
  await H.go(page, '#/visits/new');
  assert.equal(await page.inputValue('#f-notes'), '');
  assert.ok(await page.locator('.draft-note').isHidden());
  // Thrown away: gone after the next reload too.
  await page.fill('#f-notes', 'ร่าง');
  await page.reload();
  await H.ready(page);
  await page.click('.draft-note button');
  await H.ready(page);
  assert.equal(await page.inputValue('#f-notes'), '');
  await page.reload();
  await H.ready(page);
  assert.equal(await page.inputValue('#f-notes'), '');
  // An edit's draft outlives a reload, not leaving the screen (back
  // abandons an edit); a field the row holds a newer value in is not put
  // back over it.
  const visit = visits[0].id;
  await H.go(page, `#/visits/${visit}/edit`);
  await page.fill('#f-notes', 'แก้ไขแล้ว ยังไม่บันทึก');
  await page.reload();
  await H.ready(page);
  await page.waitForSelector('.draft-note:not([hidden])');
  assert.equal(await page.inputValue('#f-notes'), 'แก้ไขแล้ว ยังไม่บันทึก');
  await H.go(page, '#/visits');
  await H.go(page, `#/visits/${visit}/edit`);
  assert.equal(await page.inputValue('#f-notes'), 'ดูต้นแบบผ้าทอ ลายน้ำไหล');
  assert.ok(await page.locator('.draft-note').isHidden());
  await page.fill('#f-notes', 'ของเก่า');
  H.kboOk(home, 'edit', 'visit', visit, '--set', 'notes=สำนักงานแก้แล้ว');
  await page.reload();
  await H.ready(page);
  assert.equal(await page.inputValue('#f-notes'), 'สำนักงานแก้แล้ว');
  assert.ok(await page.locator('.draft-note').isHidden());
  // A screen opened from far down another opens at its top.
  await H.go(page, '#/');
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await H.go(page, '#/producers');
  assert.equal(await page.evaluate(() => window.scrollY), 0);
});

// ---- 13. an address with no screen ------------------------------------------------
test('an address with no screen shows home and back returns to where the person was', async (t) => {
  const home = H.freshHome();
  const ui = await H.startUi(home);
  H.defer(t, () => ui.stop());
  const page = await H.phone(t, H.PHONES[0]);
  await H.open(page, ui.url, '#/workshops');
  await page.evaluate(() => { location.hash = '#/nope'; });
  await page.waitForFunction(() => location.hash === '#/' && document.querySelector('#app').dataset.ready === '/');
  await page.goBack();
  await page.waitForFunction(() => location.hash === '#/workshops');
  await H.ready(page);
});

// ---- 14. Thai digits in number fields ---------------------------------------------
test('a workshop typed with Thai digits in its number fields is saved with those numbers, not emptied', async (t) => {
  const home = H.freshHome();
  const ui = await H.startUi(home);
  H.defer(t, () => ui.stop());
  const page = await H.phone(t, H.PHONES[0]);
  const asked = [];
  page.on('dialog', async (d) => { asked.push(d.message()); await d.dismiss(); });
  await H.open(page, ui.url, '#/workshops/new');
  await H.setLang(page, 'th');
  await page.fill('#f-title', 'อบรม KBO พร้าว');
  await page.fill('#f-fiscal_year', '๒๕๖๗');
  await page.fill('#f-start_date', '2024-03-04');
  await page.fill('#f-days', '๓');
  await page.fill('#f-target_participants', '๓๐');
  await page.click('button[type=submit]');
  await page.waitForFunction(() => /^#\/workshops\/[0-9a-f-]{36}$/.test(location.hash));
  const [w] = H.list(home, 'workshop');
  assert.equal(w.days, 3);
  assert.equal(w.target_participants, 30);
  assert.equal(w.fiscal_year, 2567);
  assert.deepEqual(asked, [], 'its fiscal year is the start date\'s: nothing to ask');
});

// ---- 15. the contest scorecard ------------------------------------------------------
test('a scorecard typed in Thai digits adds up and steps; another judge\'s name gets that judge\'s card, not the one shown', async (t) => {
  const home = H.freshHome();
  const [producer] = H.importProducers(home, 1);
  const product = H.kboOk(home, 'product', 'add', '--producer', producer, '--name', 'ผ้าซิ่นตีนจก').trim();
  H.kboOk(home, 'contest', 'score', '--product', product, '--contest', 'KBO CM 2567', '--judge', 'อ.สุดา แก้วมา',
    '--identity', '15', '--uniqueness', '18', '--quality', '17', '--packaging', '12', '--marketability', '16',
    '--comment', 'ลายสวย');
  const ui = await H.startUi(home);
  H.defer(t, () => ui.stop());
  const page = await H.phone(t, H.PHONES[0]);
  await H.open(page, ui.url, '#/contest');
  await H.setLang(page, 'th');
  await page.fill('#f-judge', 'อ.สุดา แก้วมา');
  await H.pick(page, 'product_id', 'ผ้าซิ่นตีนจก');
  assert.equal(await page.inputValue('#f-packaging'), '12', 'her card is shown');
  // Another judge: his card (none yet), not hers under his name.
  await page.fill('#f-judge', 'อ.มานพ ศรีสุข');
  await page.locator('#f-judge').blur();
  assert.equal(await page.inputValue('#f-packaging'), '');
  assert.equal(await page.inputValue('#f-comment'), '');
  assert.ok(await page.locator('#score-delete').isHidden(), 'no delete of her card under his name');
  // His scores in Thai digits: the total adds them (it said 0), + steps
  // from the number typed (๑๕ + 1 was 1).
  for (const [c, v] of [['identity', '๑๕'], ['uniqueness', '๑๘'], ['quality', '๑๗'], ['packaging', '๑๒'], ['marketability', '๑๖']]) {
    await page.fill(`#f-${c}`, v);
  }
  assert.equal((await page.textContent('#score-total')).trim(), 'รวม: 78 / 100');
  await page.click('.criterion[data-col="identity"] button[aria-label="+1"]');
  assert.equal(await page.inputValue('#f-identity'), '16');
  assert.equal((await page.textContent('#score-total')).trim(), 'รวม: 79 / 100');
  await page.click('button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#toast') && !document.querySelector('#toast').hidden);
  const scores = H.list(home, 'contest_score');
  const his = scores.find((s) => s.judge === 'อ.มานพ ศรีสุข');
  const hers = scores.find((s) => s.judge === 'อ.สุดา แก้วมา');
  assert.ok(his, 'his card saved');
  assert.deepEqual([his.identity, his.packaging, his.comment || ''], [16, 12, '']);
  assert.deepEqual([hers.identity, hers.packaging, hers.comment], [15, 12, 'ลายสวย'], 'hers untouched');
  // Scores typed before the product is picked stay (picking it emptied
  // them, or put her recorded card over them with no word: walk-through);
  // her recorded card is said.
  await H.go(page, '#/');
  await H.go(page, '#/contest');
  await page.fill('#f-judge', 'อ.สุดา แก้วมา');
  await page.locator('#f-judge').blur();
  await page.fill('#f-identity', '11');
  await page.fill('#f-packaging', '9');
  await H.pick(page, 'product_id', 'ผ้าซิ่นตีนจก');
  assert.equal(await page.inputValue('#f-identity'), '11');
  assert.equal(await page.inputValue('#f-packaging'), '9');
  await page.waitForFunction(() => /เคยให้คะแนนผลิตภัณฑ์นี้แล้ว/.test((document.querySelector('#toast') || {}).textContent || ''));
});

// ---- 16. a tap the app did not answer; a note being typed ---------------------------
test('a roll-call tap the app did not answer stays as tapped and is said to be kept, a later tap of the same mark supersedes it; marking the rest present keeps a note being typed', async (t) => {
  const home = H.freshHome();
  const { ws, people } = workshopOf(home, 3);
  const ui = await H.startUi(home);
  H.defer(t, () => ui.stop());
  const page = await H.phone(t, H.PHONES[0], {}, /ERR_CONNECTION_REFUSED/);
  await H.open(page, ui.url, `#/workshops/${ws}/rollcall/3`);
  await H.setLang(page, 'th');
  const row = (e) => `#rollcall .rc-row[data-enrolment="${e}"]`;
  // No answer (the app on the phone stopped): the tap stays on screen as
  // tapped (it went back to not marked, then was saved anyway).
  const fail = (route) => route.abort('connectionrefused');
  await page.route('**/api/attendance', fail);
  await page.click(`${row(people[0])} .st`);
  await page.waitForSelector(`${row(people[0])} .rc-error:not([hidden])`);
  assert.equal(await page.getAttribute(`${row(people[0])} .st`, 'data-status'), 'present');
  assert.ok((await page.textContent(`${row(people[0])} .rc-error`)).includes('เก็บอยู่ในเครื่องนี้'));
  // The header says so too (it said every tap was saved: walk-through).
  await page.waitForSelector('#rc-pending[data-pending="0"][data-unsent="1"]');
  assert.ok((await page.textContent('#rc-pending')).includes('ยังไม่ได้บันทึก 1 คน'));
  assert.ok(!(await page.textContent('#rc-pending')).includes('บันทึกทุกการแตะแล้ว'));
  await page.unroute('**/api/attendance', fail);
  // Tapped again, answered: late. The kept tap (present) is superseded, not
  // made after it on the next opening (which set present back).
  await page.click(`${row(people[0])} .st`);
  await page.waitForFunction(() => document.querySelector('#rc-pending').dataset.pending === '0');
  assert.equal(await page.getAttribute(`${row(people[0])} .st`, 'data-status'), 'late');
  // Saved now: every tap is.
  assert.equal(await page.getAttribute('#rc-pending', 'data-unsent'), '0');
  assert.equal(await page.textContent('#rc-pending'), 'บันทึกทุกการแตะแล้ว');
  // A note typed on the second person, not saved yet; then the rest are
  // marked present: the note and its box are still there.
  await page.click(`${row(people[1])} .note-btn`);
  await page.fill(`${row(people[1])} textarea[name=note]`, 'มาก่อนเวลา ช่วยจัดห้อง');
  await page.click('#rc-all-present');
  await page.waitForFunction((sel) => document.querySelector(sel).dataset.status === 'present', `${row(people[2])} .st`);
  assert.equal(await page.inputValue(`${row(people[1])} textarea[name=note]`), 'มาก่อนเวลา ช่วยจัดห้อง');
  // Opened again: the kept tap is made.
  await page.reload();
  await H.ready(page);
  await page.waitForSelector('#rollcall');
  assert.equal(await page.getAttribute(`${row(people[0])} .st`, 'data-status'), 'late');
  const marks = H.list(home, 'attendance').filter((m) => m.day === 3);
  assert.equal(marks.length, 3);
  assert.deepEqual(people.map((e) => marks.find((m) => m.enrolment_id === e).status), ['late', 'present', 'present']);
  assert.equal(await page.evaluate(() => localStorage.getItem('kbo.kept-writes')), null);
  // A form the app did not answer: its toast does not send the person to
  // check marked fields (none is at fault).
  await H.go(page, '#/producers/new');
  await page.route('**/api/producer', fail);
  await page.fill('#f-name', 'กลุ่มทดลองส่งไม่ถึง');
  await page.click('button[type=submit]');
  await page.waitForSelector('.form-error:not([hidden])');
  await page.waitForFunction(() => /ยังไม่ได้บันทึก/.test((document.querySelector('#toast') || {}).textContent || ''));
  const said = await page.textContent('#toast');
  assert.ok(said.includes('ดูเหตุผลที่แสดงในแบบฟอร์ม') && !said.includes('โปรดตรวจช่อง'), said);
  await page.unroute('**/api/producer', fail);
});

// ---- 17. the language switched with a form half-filled; a deleted producer ----------
test('switching the language keeps a half-filled visit; a deleted producer opened by its address says so and offers nothing to change', async (t) => {
  const home = H.freshHome();
  const [producer, gone] = H.importProducers(home, 2);
  const name = JSON.parse(H.kboOk(home, 'show', 'producer', producer, '--json')).name;
  H.kboOk(home, 'delete', 'producer', gone);
  const ui = await H.startUi(home);
  H.defer(t, () => ui.stop());
  const page = await H.phone(t, H.PHONES[0]);
  await H.open(page, ui.url, '#/visits/new');
  await H.setLang(page, 'th');
  await H.pick(page, 'producer_id', name);
  await page.fill('#f-notes', 'ดูต้นแบบผ้าทอ ลายน้ำไหล');
  await H.setLang(page, 'en');
  assert.equal(await page.inputValue('#f-notes'), 'ดูต้นแบบผ้าทอ ลายน้ำไหล');
  assert.equal(await page.inputValue('#f-producer_id'), producer);
  // Not said to be back "after the page closed": it did not close.
  assert.ok(await page.locator('.draft-note').isHidden());
  assert.ok((await page.textContent('.field[data-col="producer_id"] .picked')).includes(name));
  await H.go(page, `#/producers/${gone}`);
  await page.waitForSelector('#producer-deleted');
  assert.ok(await page.locator('#f-name').isDisabled());
  assert.ok(await page.locator('#producer-delete').isDisabled());
});

// ---- a field officer's phone reads what trainers record --------------------------
test('a field officer\'s phone shows workshops, the roll-call and the contest ranking to read, with nothing offered that the role may not save', async (t) => {
  const server = await H.startServer(t);
  const trainer = H.enrolledHome(server, 'trainer', '5011');
  const officer = H.enrolledHome(server, 'field_officer', '5011');
  const { ws, people } = workshopOf(trainer, 2);
  H.kboOk(trainer, 'attendance', 'mark', '--workshop', ws, '--enrolment', people[0], '--day', '1', '--status', 'late');
  const producer = JSON.parse(H.kboOk(trainer, 'show', 'enrolment', people[0], '--json')).producer_id;
  const product = H.kboOk(trainer, 'product', 'add', '--producer', producer, '--name', 'ผ้าทอลายน้ำไหล').trim();
  H.kboOk(trainer, 'contest', 'score', '--product', product, '--contest', 'ประกวด KBO พร้าว 2567', '--judge', 'นางสาวสมศรี',
    '--identity', '15', '--uniqueness', '14', '--quality', '16', '--packaging', '12', '--marketability', '13');
  H.kboOk(trainer, 'sync');
  H.kboOk(officer, 'sync');
  const ui = await H.startUi(officer);
  H.defer(t, () => ui.stop());
  const page = await H.phone(t, H.PHONES[0]);
  await H.open(page, ui.url, '#/workshops');
  await H.setLang(page, 'th');
  // The workshop is listed; adding one is not offered, and why is said.
  await page.waitForSelector(`a[href="#/workshops/${ws}"]`);
  assert.equal(await page.locator('#workshop-add').count(), 0);
  assert.match(await page.textContent('#workshops-read-only'), /ในฐานะเจ้าหน้าที่ภาคสนาม.*วิทยากรเป็นผู้บันทึก/);
  // The roll-call reads as recorded; its buttons do nothing.
  await H.go(page, `#/workshops/${ws}/rollcall/1`);
  const late = page.locator(`li[data-enrolment="${people[0]}"] button.st`);
  assert.equal(await late.getAttribute('data-status'), 'late');
  assert.ok(await late.isDisabled());
  assert.ok(await page.locator(`li[data-enrolment="${people[1]}"] button.st`).isDisabled());
  assert.equal(await page.locator('#rc-all-present').count(), 0);
  assert.equal(await page.locator('.note-btn:visible').count(), 0);
  assert.equal(await page.locator('#workshop-edit').count(), 0);
  assert.match(await page.textContent('#rc-read-only'), /วิทยากรเป็นผู้เช็กชื่อ/);
  // No "saved" over a roll-call it only reads (it said "all saved" there).
  assert.equal(await page.textContent('#rc-pending'), '');
  // The participants are listed, with no enrolment form; no remove button.
  await H.go(page, `#/workshops/${ws}/people`);
  assert.equal(await page.locator('#enrolment-list li').count(), 2);
  assert.equal(await page.locator('input[name="participant_name"]').count(), 0);
  await H.go(page, `#/workshops/${ws}/people/${people[0]}`);
  assert.equal(await page.locator('#enrolment-delete').count(), 0);
  // An address for a new workshop or an edit says so instead of a form.
  for (const where of ['#/workshops/new', `#/workshops/${ws}/edit`]) {
    await H.go(page, where);
    assert.equal(await page.locator('form').count(), 0, where);
    assert.equal(await page.locator('#workshop-read-only').count(), 1, where);
  }
  // The contest: the ranking, no scorecard.
  await H.go(page, '#/contest');
  assert.equal(await page.locator('#f-judge').count(), 0);
  assert.match(await page.textContent('#contest-read-only'), /ใบให้คะแนน/);
  assert.match(await page.textContent('#ranking-box'), /ผ้าทอลายน้ำไหล/);
  assert.equal(await page.inputValue('#contest-view'), 'ประกวด KBO พร้าว 2567');
  // What the role records is offered as before.
  await H.go(page, '#/visits/new');
  assert.equal(await page.locator('form').count(), 1);
  // A producer with a trainer's participant under it: deleting it says who
  // does (it asked "delete all of them too?", then refused).
  const asked = [];
  const answer = (d) => { asked.push(d.message()); d.accept(); };
  page.on('dialog', answer);
  await H.go(page, `#/producers/${producer}`);
  await page.click('#producer-delete');
  await page.waitForSelector('#toast:not([hidden])');
  page.off('dialog', answer);
  assert.equal(asked.length, 1, `one question, not a cascade offered: ${asked.join(' | ')}`);
  // The question names what goes (it said "delete this item?").
  const producerName = JSON.parse(H.kboOk(officer, 'show', 'producer', producer, '--json')).name;
  assert.ok(asked[0].includes(`ผู้ผลิต "${producerName}"`), asked[0]);
  assert.match(await page.textContent('#toast'), /ยังไม่ได้ลบ.*วิทยากรหรือสำนักงานจังหวัด/);
  assert.equal(JSON.parse(H.kboOk(officer, 'show', 'producer', producer, '--json')).deleted, false);
  // Nothing was written on the officer's device.
  assert.match(H.kboOk(officer, 'status'), /pending changes:\s*0/i);
  // A trainer's phone is offered all of it.
  const tui = await H.startUi(trainer);
  H.defer(t, () => tui.stop());
  const tpage = await H.phone(t, H.PHONES[0]);
  await H.open(tpage, tui.url, '#/workshops');
  assert.equal(await tpage.locator('#workshop-add').count(), 1);
  assert.equal(await tpage.locator('.read-only').count(), 0);
  await H.go(tpage, `#/workshops/${ws}/rollcall/1`);
  assert.ok(!(await tpage.locator(`li[data-enrolment="${people[0]}"] button.st`).isDisabled()));
  assert.equal(await tpage.locator('#rc-all-present').count(), 1);
  await H.go(tpage, '#/contest');
  assert.equal(await tpage.locator('#f-judge').count(), 1);
});

// ---- a photo taken with a progress entry ------------------------------------------
test('a photo taken with a progress entry shows with that entry on the product\'s page and is named by its product on the photos screen', async (t) => {
  const home = H.freshHome();
  const [producer] = H.importProducers(home, 1);
  const product = H.kboOk(home, 'product', 'add', '--producer', producer, '--name', 'ผ้าทอลายน้ำไหล').trim();
  const ui = await H.startUi(home);
  H.defer(t, () => ui.stop());
  const page = await H.phone(t, H.PHONES[0]);
  await H.open(page, ui.url, `#/products/${product}`);
  await H.setLang(page, 'th');
  await page.selectOption('#f-stage', 'prototype');
  await page.fill('#f-percent', '60');
  await page.setInputFiles('#f-photo', { name: 'proto.png', mimeType: 'image/png', buffer: makePng(640, 480) });
  await page.click('form:has(#f-stage) button[type=submit]');
  await page.waitForSelector('#progress-list li[data-progress] .progress-photos img');
  const [entry] = H.list(home, 'progress');
  const [photo] = H.list(home, 'photo');
  assert.equal(photo.subject_type, 'progress');
  assert.equal(photo.subject_id, entry.id);
  assert.equal(await page.locator(`#progress-list li[data-progress="${entry.id}"] .progress-photos img`).count(), 1);
  // The product's own photos are another list (still none).
  assert.equal(await page.locator('section.photos .thumbs img').count(), 0);
  await H.go(page, '#/photos');
  assert.match(await page.textContent('#photo-grid figcaption strong'), /ผ้าทอลายน้ำไหล · ต้นแบบ 60%/);
});

test('the roll-call at 360 px shows each participant\'s whole name (two who differ at its end are told apart) and gives a note the row\'s width', async (t) => {
  const home = H.freshHome();
  const producers = H.importProducers(home, 2);
  const ws = H.kboOk(home, 'workshop', 'add', '--title', 'อบรม KBO พร้าว', '--fiscal-year', '2567',
    '--district', '5011', '--start', '2024-03-04').trim();
  const names = ['นางสาวกัญญาณัฐ์ ศรีวงค์ษ์ภักดีวงศ์', 'นางสาวกัญญาณัฐ์ ศรีวงค์ษ์ภักดีสุข'];
  const people = names.map((n, i) => H.kboOk(home, 'enrolment', 'add', '--workshop', ws, '--producer', producers[i],
    '--participant', n).trim());
  const ui = await H.startUi(home);
  H.defer(t, () => ui.stop());
  const page = await H.phone(t, H.PHONES[0]);
  await H.open(page, ui.url, `#/workshops/${ws}/rollcall/1`);
  await H.setLang(page, 'th');
  await page.waitForSelector('#rollcall');
  const row = (e) => `#rollcall .rc-row[data-enrolment="${e}"]`;
  for (const [i, e] of people.entries()) {
    const name = page.locator(`${row(e)} .rc-name .n`);
    assert.equal((await name.textContent()).trim(), names[i]);
    // Nothing of it cut off (it ended in "ศ…" for both).
    assert.ok(await name.evaluate((el) => el.scrollWidth <= el.clientWidth + 1),
      `${names[i]}: the whole name is drawn`);
    const text = await name.evaluate((el) => el.innerText);
    assert.ok(text.replace(/\s/g, '').endsWith(names[i].slice(-6)), `${names[i]}: its end is on the screen`);
  }
  await page.click(`${row(people[0])} .st`);
  await page.waitForFunction(() => document.querySelector('#rc-pending').dataset.pending === '0');
  await page.click(`${row(people[0])} .note-btn`);
  const note = page.locator(`${row(people[0])} textarea[name=note]`);
  const noteWidth = await note.evaluate((el) => el.getBoundingClientRect().width);
  const rowWidth = await page.locator(row(people[0])).evaluate((el) => el.getBoundingClientRect().width);
  assert.ok(noteWidth >= rowWidth - 4, `the note box is ${noteWidth}px in a ${rowWidth}px row (it was 82px)`);
  assert.match(await note.getAttribute('placeholder'), /เช่น/);
  const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  assert.ok(fits, 'nothing wider than the phone');
});

test('a sync on a stalled link is followed by home when the officer comes back to it, and a second tap waits for it instead of failing', async (t) => {
  const server = await H.startServer(t);
  const home = H.enrolledHome(server, 'trainer', '5011');
  H.kboOk(home, 'producer', 'add', '--kind', 'group', '--name', 'กลุ่มรอสัญญาณ', '--district', '5011');
  const ui = await H.startUi(home);
  H.defer(t, () => ui.stop());
  const page = await H.phone(t, H.PHONES[0]);
  await H.open(page, ui.url, '#/');
  await H.setLang(page, 'th');
  // A second window, open on home before the sync starts.
  const other = await H.phone(t, H.PHONES[0]);
  await H.open(other, ui.url, '#/');
  await H.setLang(other, 'th');
  // The link stalls: the server answers nothing (stopped, not gone).
  server.proc.kill('SIGSTOP');
  try {
    await page.click('#sync');
    await page.waitForSelector('#sync-progress-text:not([hidden])');
    // The second window taps too: it follows the running sync (it said
    // "sync failed ... another window").
    await other.click('#sync');
    await other.waitForFunction(() => {
      const p = document.querySelector('#sync-progress-text');
      return p && !p.hidden && document.querySelector('#sync').disabled;
    });
    assert.ok(await other.isHidden('#sync-outcome'), 'no failure said');
    // Away to the workshops and back: home shows the sync still running,
    // and offers no second one.
    await H.go(page, '#/workshops');
    await H.go(page, '#/');
    await page.waitForSelector('#sync-progress-text:not([hidden])');
    assert.ok(await page.isDisabled('#sync'), 'no second sync offered while one runs');
    // Past ten seconds the time it has run is said, counted from its start.
    await page.waitForFunction(() => /ผ่านไป \d+ วินาที/.test(document.querySelector('#sync-progress-text').textContent),
      null, { timeout: 20000 });
  } finally {
    server.proc.kill('SIGCONT');
  }
  // The link comes back: the sync ends, and both screens say so.
  for (const p of [page, other]) {
    await p.waitForSelector('#sync-outcome[data-outcome="ended"]:not([hidden])', { timeout: 60000 });
    assert.ok(!(await p.isDisabled('#sync')));
    assert.match(await p.textContent('#sync-outcome'), /การซิงก์ที่กำลังทำอยู่เสร็จแล้ว/);
  }
  assert.equal(JSON.parse(H.kboOk(home, 'status', '--json')).pending_changes, 0, 'everything went');

  // kbo sync in a terminal holds the device (its lock): a tap says so, and
  // is not shown as a sync that ended.
  const lock = spawn('flock', [path.join(home, 'sync.lock'), 'sleep', '20'], { stdio: 'ignore' });
  H.defer(t, () => lock.kill());
  await new Promise((resolve) => setTimeout(resolve, 300));
  await page.click('#sync');
  await page.waitForSelector('#sync-outcome:not([hidden])', { timeout: 30000 });
  assert.notEqual(await page.getAttribute('#sync-outcome', 'data-outcome'), 'ended');
  assert.match(await page.textContent('#sync-outcome'), /kbo sync/);
  lock.kill();
});

test('a visit dated years ahead or back is asked about before it is saved, as kbo visit add warns', async (t) => {
  const home = H.freshHome();
  const [producer] = H.importProducers(home, 1);
  const name = JSON.parse(H.kboOk(home, 'show', 'producer', producer, '--json')).name;
  const ui = await H.startUi(home);
  H.defer(t, () => ui.stop());
  const page = await H.phone(t, H.PHONES[0]);
  const asked = [];
  const answers = [false, true];
  page.on('dialog', async (d) => { asked.push(d.message()); await (answers.shift() ? d.accept() : d.dismiss()); });
  await H.open(page, ui.url, '#/visits/new');
  await H.setLang(page, 'th');
  await H.pick(page, 'producer_id', name);
  await page.fill('form input[name=visited_at]', `${new Date().getFullYear() + 5}-01-01T10:00`);
  // Asked; "cancel": the field is marked, nothing is written.
  await page.click('form button[type=submit]');
  await page.waitForSelector('.field[data-col="visited_at"] .field-error:not([hidden])');
  assert.equal(asked.length, 1);
  assert.match(asked[0], /หลังนาฬิกาของเครื่องนี้ \d+ วัน/);
  assert.equal(H.list(home, 'visit').length, 0);
  // "OK": saved as given.
  await page.click('form button[type=submit]');
  await page.waitForFunction(() => /^#\/visits\/[0-9a-f-]{36}$/.test(location.hash));
  assert.equal(asked.length, 2);
  const visits = H.list(home, 'visit');
  assert.equal(visits.length, 1);
  assert.match(visits[0].visited_at, new RegExp(`^${new Date().getFullYear() + 4}-12-31T|^${new Date().getFullYear() + 5}-01-01T`));
  // An edit to 1999 is asked too (over ten years back).
  answers.push(false);
  await page.click('#visit-edit');
  await page.waitForSelector('form input[name=visited_at]');
  await page.fill('form input[name=visited_at]', '1999-01-01T10:00');
  await page.click('form button[type=submit]');
  await page.waitForSelector('.field[data-col="visited_at"] .field-error:not([hidden])');
  assert.match(asked[2], /ก่อนนาฬิกาของเครื่องนี้กว่า \d+ ปี/);
  assert.equal(H.list(home, 'visit')[0].visited_at, visits[0].visited_at);
});

test('a field officer puts a visit right on the phone (a wrong time, a typo in its notes), its position kept', async (t) => {
  const server = await H.startServer(t);
  const home = H.enrolledHome(server, 'field_officer', '5011');
  const [producer] = H.importProducers(home, 1);
  const visit = H.kboOk(home, 'visit', 'add', '--producer', producer, '--at', '2030-01-01T03:00:00Z',
    '--lat', '19.3667', '--lon', '99.2', '--accuracy', '12', '--purpose', 'ติดตามผล',
    '--notes', 'ต้นแบบกระเป่า').trim();
  const ui = await H.startUi(home);
  H.defer(t, () => ui.stop());
  const page = await H.phone(t, H.PHONES[0]);
  await H.open(page, ui.url, `#/visits/${visit}`);
  await H.setLang(page, 'th');
  // It was offered only a delete, which lost the position taken there.
  await page.click('#visit-edit');
  await page.waitForSelector('form textarea[name=notes]');
  assert.equal(await page.inputValue('form input[name=lat]'), '19.3667');
  await page.fill('form input[name=visited_at]', '2024-03-10T10:30');
  await page.fill('form textarea[name=notes]', 'ต้นแบบกระเป๋า');
  await page.click('form button[type=submit]');
  await page.waitForFunction((id) => location.hash === `#/visits/${id}`, visit);
  const row = JSON.parse(H.kboOk(home, 'show', 'visit', visit, '--json'));
  assert.equal(row.notes, 'ต้นแบบกระเป๋า');
  assert.equal(row.visited_at, '2024-03-10T03:30:00Z', 'Bangkok 10:30 is 03:30 UTC');
  assert.equal(row.lat, 19.3667, 'the position stays');
  assert.equal(row.lon, 99.2);
  assert.equal(row.accuracy_m, 12);
  // Saved with nothing changed: nothing written.
  const before = JSON.parse(H.kboOk(home, 'status', '--json')).pending_changes;
  await page.click('#visit-edit');
  await page.waitForSelector('form textarea[name=notes]');
  await page.click('form button[type=submit]');
  await page.waitForFunction((id) => location.hash === `#/visits/${id}`, visit);
  assert.equal(JSON.parse(H.kboOk(home, 'status', '--json')).pending_changes, before);
  // A bad value is said by its field, and nothing is written.
  await page.click('#visit-edit');
  await page.waitForSelector('form input[name=lat]');
  await page.fill('form input[name=lat]', '123');
  await page.click('form button[type=submit]');
  await page.waitForSelector('.field[data-col="lat"] .field-error:not([hidden])');
  assert.equal(JSON.parse(H.kboOk(home, 'show', 'visit', visit, '--json')).lat, 19.3667);
});
