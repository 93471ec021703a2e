// KBO Field: the mobile web UI served by `kbo ui` (docs/ui.md), and the
// phone app's screens when kbo-server serves it at /app/ (docs/phone-app.md).
// Plain modern JavaScript, no framework, no network beyond this device.
// Every write is one request = one store transaction; forms keep what was
// typed when the store refuses it, and show each problem next to its field
// in the person's language.
'use strict';

(() => {
  // ---- state --------------------------------------------------------------
  const LANG_KEY = 'kbo.lang';
  const JUDGE_KEY = 'kbo.judge';
  const CONTEST_KEY = 'kbo.contest';
  const MAX_PHOTO_BYTES = 20 * 1024 * 1024;
  const STATUS_CYCLE = ['present', 'late', 'absent', 'excused'];
  const STATUS_MARK = { present: '✓', late: '◐', absent: '✗', excused: '✉' };

  const state = {
    lang: localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'th',
    dict: {},
    fallback: {},
    ref: null,
    renderToken: 0,
  };

  // ---- the phone app: the same screens over the core in a worker ----------
  // At /app/ on the province's server (docs/phone-app.md) there is no kbo ui
  // behind the page: its /api, /blob and /thumb requests go to the client's
  // core, compiled to WebAssembly, in a worker (client/app/web/worker.js),
  // which keeps the records on this phone and syncs them itself.
  const APP = /^\/app\//.test(location.pathname);
  // The upload copy the page makes of a photo (as kbo photo add's): long
  // edge and JPEG quality. Drawing it on a canvas turns it upright and
  // leaves the camera's metadata (the position too) behind.
  const APP_PHOTO_EDGE = 1600;
  // The phone app keeps a 1600 px copy made in the browser, never the photo
  // as taken: a 108-megapixel phone's 20–60 MB photos are taken (the limit
  // is what a phone's browser decodes without running out of memory).
  const APP_MAX_PHOTO_BYTES = 100 * 1024 * 1024;
  const APP_PHOTO_QUALITY = 0.8;
  const APP_PHOTO_HEAD = 256 * 1024;
  const core = APP ? startCore() : null;

  function startCore() {
    const worker = new Worker('worker.js');
    const waiting = new Map();
    let nextId = 1;
    let syncing = 0;
    let progress = null;
    let fatal = null;
    let fatalCode = null;
    let readyDone;
    const ready = new Promise((resolve) => { readyDone = resolve; });
    const fail = (message, code) => {
      fatal = message;
      fatalCode = code || 'start';
      readyDone();
      for (const done of waiting.values()) done(null);
      waiting.clear();
    };
    worker.onmessage = (event) => {
      const m = event.data;
      if (m.ready) readyDone();
      else if (m.fatal) fail(m.fatal, m.code);
      else if (m.progress) { try { progress = JSON.parse(m.progress); } catch (e) { progress = null; } }
      else if (waiting.has(m.id)) {
        // What the worker holds of the home's files in memory after the
        // request (photos are read from storage only when needed): shown
        // to nobody, read by the tests.
        if (typeof m.held === 'number') document.documentElement.dataset.kboHeld = String(m.held);
        const done = waiting.get(m.id); waiting.delete(m.id); done(m);
      }
    };
    worker.onerror = (event) => fail(event.message || 'the app could not start');
    const encoder = new TextEncoder();
    async function photoCopy(file) {
      const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
      const scale = Math.min(1, APP_PHOTO_EDGE / Math.max(bitmap.width, bitmap.height));
      const w = Math.max(1, Math.round(bitmap.width * scale));
      const hgt = Math.max(1, Math.round(bitmap.height * scale));
      const canvas = new OffscreenCanvas(w, hgt);
      canvas.getContext('2d').drawImage(bitmap, 0, 0, w, hgt);
      bitmap.close();
      const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: APP_PHOTO_QUALITY });
      return new Uint8Array(await blob.arrayBuffer());
    }
    async function part(name, value) {
      if (typeof value === 'string') return { name, filename: '', type: '', data: encoder.encode(value) };
      let data;
      try {
        data = await photoCopy(value);
      } catch (e) {
        // Not a picture the browser can draw: the core says why it is refused.
        return { name, filename: value.name || 'photo', type: value.type, data: new Uint8Array(await value.arrayBuffer()) };
      }
      // Its date and position, which the copy does not carry, are read by
      // the core from the head of the photo as taken (its EXIF).
      const head = new Uint8Array(await value.slice(0, APP_PHOTO_HEAD).arrayBuffer());
      const base = (value.name || 'photo').replace(/\.[^.]*$/, '');
      return { name, filename: `${base}.jpg`, type: 'image/jpeg', data, head };
    }
    async function call(method, path, body) {
      await ready;
      if (fatal) throw new Error(fatal);
      const url = new URL(path, location.origin);
      const msg = { method, path: url.pathname, query: Array.from(url.searchParams.entries()) };
      if (body instanceof FormData) {
        msg.contentType = 'multipart/form-data';
        msg.parts = [];
        for (const [name, value] of body.entries()) msg.parts.push(await part(name, value));
      } else if (body !== undefined) {
        msg.contentType = 'application/json';
        msg.body = encoder.encode(JSON.stringify(body));
      }
      msg.id = nextId++;
      const sync = method === 'POST' && msg.path === '/api/sync';
      if (sync) { syncing += 1; progress = null; noteSyncRunning(true); }
      try {
        const reply = await new Promise((resolve) => { waiting.set(msg.id, resolve); worker.postMessage(msg); });
        if (!reply) throw new Error(fatal || 'the app stopped');
        // Answered, however it went: not cut by the page closing.
        if (sync && syncing === 1) noteSyncRunning(false);
        return reply;
      } finally {
        if (sync) syncing -= 1;
      }
    }
    const urls = new Map();
    return {
      call,
      // GET /api/sync/progress, answered here: the worker is busy syncing.
      progress: () => ({ ...(progress || {}), running: syncing > 0 && !!progress }),
      // A sync was asked of the worker and has not answered (it may not
      // have reported any progress yet).
      syncing: () => syncing > 0,
      // An object URL of a photo (/blob/SHA, /thumb/SHA) for an <img>.
      // Only photos found are remembered (one not yet synced down may come
      // later); the oldest are let go past 200.
      async objectUrl(path) {
        if (urls.has(path)) return urls.get(path);
        let u = '';
        try {
          const r = await call('GET', path);
          if (r.status === 200) u = URL.createObjectURL(new Blob([r.body], { type: r.type }));
        } catch (e) {
          u = '';
        }
        if (u) {
          urls.set(path, u);
          if (urls.size > 200) {
            const [first, old] = urls.entries().next().value;
            urls.delete(first);
            URL.revokeObjectURL(old);
          }
        }
        return u;
      },
      // Why the app could not start (null: it did): "other_tab",
      // "no_storage", "start".
      failure: () => fatalCode,
    };
  }

  function appShell() {
    const link = document.createElement('link');
    link.rel = 'manifest';
    link.href = 'manifest.webmanifest';
    document.head.append(link);
    if ('serviceWorker' in navigator) {
      navigator.serviceWorker.register('sw.js', { scope: './' }).catch((e) => console.warn('service worker:', e));
    }
    // Records must outlive the browser's clean-ups when space runs low.
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
  }

  // ---- small DOM helpers ---------------------------------------------------
  function h(tag, props, ...kids) {
    const el = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'text') el.textContent = v;
        else if (k === 'dataset') Object.assign(el.dataset, v);
        else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else if (k === 'value') el.value = v;
        else if (k === 'checked' || k === 'selected') el[k] = !!v;
        else el.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const kid of kids.flat(Infinity)) {
      if (kid === undefined || kid === null || kid === false) continue;
      el.append(kid instanceof Node ? kid : String(kid));
    }
    return el;
  }
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

  // ---- i18n -------------------------------------------------------------------
  function t(key, params) {
    let s = state.dict[key];
    if (s === undefined) s = state.fallback[key];
    if (s === undefined) s = key;
    if (params) s = s.replace(/\{(\w+)\}/g, (m, p) => (p in params ? String(params[p]) : m));
    return s;
  }
  function has(key) { return key in state.dict || key in state.fallback; }
  // A visit's purpose: one of the named ones is stored as its code
  // (follow_up) and shown by its name; any other text as it was typed.
  function purposeText(p) { return p && has(`purpose.${p}`) ? t(`purpose.${p}`) : p; }

  // A byte count as a person reads it: "900 B", "142 KB", "3.4 MB", "10.0 GB".
  function sizeText(n) {
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
    if (n < 1024 * 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MB`;
    return `${(n / (1024 * 1024 * 1024)).toFixed(1)} GB`;
  }

  // What a sync did (the counts of POST /api/sync), in the person's language.
  // `partial`: a sync cut part-way, said by what it did only ("nothing new"
  // of a pull that never finished was untrue).
  function syncSummaryText(c, partial) {
    const n = (x) => Number(x).toLocaleString(locale());
    const parts = [];
    if (c.redated_rows > 0) parts.push(t('home.sum.redated', { n: n(c.redated_rows) }));
    if (c.future_times > 0) parts.push(t('home.sum.future_times', { n: n(c.future_times) }));
    if (c.pushed_rows > 0) parts.push(t('home.sum.sent', { n: n(c.pushed_rows) }));
    if (c.needless_deletes > 0) parts.push(t('home.sum.needless_deletes', { n: n(c.needless_deletes) }));
    // Rows refused or kept waiting were sent too: "nothing to send" beside
    // "the server refused 1" said two things.
    if (!partial && !(c.pushed_rows > 0) && !(c.needless_deletes > 0) &&
        !(c.refused_rows > 0) && !(c.waiting_rows > 0)) parts.push(t('home.sum.nothing_sent'));
    if (c.pulled_rows > 0) parts.push(t('home.sum.received', { n: n(c.pulled_rows) }));
    else if (!partial && !(c.rows_left > 0)) parts.push(t('home.sum.nothing_received'));
    if (c.rows_left > 0) parts.push(t('home.sum.rows_left', { n: n(c.rows_left) }));
    if (c.new_conflicts > 0) parts.push(t('home.sum.conflicts', { n: n(c.new_conflicts) }));
    if (c.photos_sent > 0) parts.push(t('home.sum.photos', { n: n(c.photos_sent), size: sizeText(c.photo_bytes) }));
    if (c.originals_sent > 0) parts.push(t('home.sum.originals', { n: n(c.originals_sent), size: sizeText(c.original_bytes) }));
    if (c.previews > 0) parts.push(t('home.sum.previews', { n: n(c.previews) }));
    if (c.photos_held_back > 0) parts.push(t('home.sum.held_back', { n: n(c.photos_held_back) }));
    if (c.originals_held_back > 0) parts.push(t('home.sum.originals_held_back', { n: n(c.originals_held_back) }));
    if (c.waiting_rows > 0) parts.push(t('home.sum.waiting', { n: n(c.waiting_rows) }));
    if (c.refused_rows > 0) parts.push(t('home.sum.refused', { n: n(c.refused_rows) }));
    if (c.resent_sets > 0) parts.push(t('home.sum.resent', { n: n(c.resent_sets) }));
    if (c.server_rewound) parts.push(t('home.sum.rewound'));
    return parts.join(' · ');
  }

  async function loadLang(lang) {
    const get = async (l) => {
      const r = await fetch(`${l}.json`, { cache: 'no-cache' });
      return r.ok ? r.json() : {};
    };
    state.fallback = await get('en');
    state.dict = lang === 'en' ? state.fallback : await get(lang);
    state.lang = lang;
    document.documentElement.lang = lang;
    $('#lang').textContent = lang === 'th' ? 'EN' : 'ไทย';
    $('#lang').setAttribute('aria-label', t('lang.switch'));
    document.title = t('app.title');
  }

  function colLabel(entity, col) {
    const specific = `col.${entity}.${col}`;
    return has(specific) ? t(specific) : t(`col.${col}`);
  }
  function named(list, value) {
    const item = (state.ref && state.ref[list] || []).find((x) => x.value === value);
    if (!item) return value == null ? '' : String(value);
    return state.lang === 'th' ? item.name_th : item.name_en;
  }
  function districtName(code) {
    const d = state.ref && state.ref.districts.find((x) => x.code === code);
    if (!d) return code || '';
    return state.lang === 'th' ? d.name_th : d.name_en;
  }
  // An enrolment's districts ("5011,5009" or "all") by name.
  function districtsText(list) {
    const codes = String(list || '').split(',').map((c) => c.trim()).filter(Boolean);
    if (codes.includes('all')) return t('enrol.all_districts');
    return codes.map(districtName).join(', ');
  }
  function entityLabel(entity) { return t(`entity.${entity}`); }

  // ---- dates: Thai local time, Buddhist Era in Thai ---------------------------
  const TZ = 'Asia/Bangkok';
  function locale() { return state.lang === 'th' ? 'th-TH-u-ca-buddhist' : 'en-GB'; }
  function fmtDateTime(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short', timeZone: TZ }).format(d);
  }
  function fmtDate(ymd) {
    if (!ymd) return '';
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd);
    if (!m) return ymd;
    const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
    return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeZone: 'UTC' }).format(d);
  }
  function bangkokParts(date) {
    const parts = new Intl.DateTimeFormat('en-CA', {
      timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    }).formatToParts(date);
    const o = {};
    for (const p of parts) o[p.type] = p.value;
    return o;
  }
  // Fiscal years run from 1 October, in Buddhist Era.
  // The Thai fiscal year (BE) a "YYYY-MM-DD" falls in; null if it is not
  // a date the store takes (Gregorian 1900-2399: a BE year typed there is
  // refused with its own message, not asked about).
  function fiscalYearOfDate(date) {
    const m = /^(\d{4})-(\d{2})-\d{2}$/.exec(date || '');
    if (!m || +m[1] < 1900 || +m[1] > 2399) return null;
    return (+m[2] >= 10 ? +m[1] + 1 : +m[1]) + 543;
  }
  function currentFiscalYear() {
    const p = bangkokParts(new Date());
    return (+p.month >= 10 ? +p.year + 1 : +p.year) + 543;
  }
  function localInputNow() { return utcToLocalInput(new Date().toISOString()); }
  // An ISO 8601 UTC time as a datetime-local box shows it (this device's
  // time, to the minute).
  function utcToLocalInput(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return '';
    const pad = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }
  function localInputToUtc(value) {
    if (!value) return '';
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) return value;
    return d.toISOString().slice(0, 19) + 'Z';
  }
  // A visit's time more than a day after this phone's clock, or over ten
  // years before it, is most likely a slip (2031 for 2026): asked, saved as
  // given if the person says so (kbo visit add says the same on stderr).
  // False, with the field marked, when they go back to correct it.
  function visitTimeConfirmed(f, local) {
    const at = new Date(local).getTime();
    if (!local || Number.isNaN(at)) return true;
    const day = 86400000;
    const now = Date.now();
    let question = null;
    if (at - now > day) question = t('visit.time_ahead', { n: Math.floor((at - now) / day) });
    else if (now - at > 3653 * day) question = t('visit.time_long_ago', { n: Math.floor((now - at) / (365 * day)) });
    if (!question || confirm(question)) return true;
    setFieldError(f, 'visited_at', t('visit.time_check'));
    return false;
  }
  function todayIso() {
    const p = bangkokParts(new Date());
    return `${p.year}-${p.month}-${p.day}`;
  }

  // ---- API ----------------------------------------------------------------------
  async function api(method, path, body) {
    if (APP) return appApi(method, path, body);
    const init = { method, headers: {}, credentials: 'same-origin' };
    if (body instanceof FormData) {
      init.body = body;
    } else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers['Content-Type'] = 'application/json';
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      return { ok: false, status: 0, data: { error: 'network', message: String(e) } };
    }
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (res.status === 401 && path !== '/api/pin') {
      showPin();
      return { ok: false, status: 401, data: data || { error: 'unauthenticated', message: '' }, stop: true };
    }
    if (!data) data = res.ok ? {} : { error: 'internal', message: `HTTP ${res.status}` };
    return { ok: res.ok, status: res.status, data };
  }
  async function appApi(method, path, body) {
    if (method === 'GET' && path === '/api/sync/progress') return { ok: true, status: 200, data: core.progress() };
    let reply;
    try {
      reply = await core.call(method, path, body);
    } catch (e) {
      const why = core.failure();
      const message = why ? t(`app.${why}`) : String(e && e.message ? e.message : e);
      return { ok: false, status: 503, data: { error: 'app', message, detail: String(e && e.message ? e.message : e) } };
    }
    let data = null;
    try { data = JSON.parse(new TextDecoder().decode(reply.body)); } catch (e) { data = null; }
    const ok = reply.status >= 200 && reply.status < 300;
    if (!data) data = ok ? {} : { error: 'internal', message: `HTTP ${reply.status}` };
    return { ok, status: reply.status, data };
  }
  async function getJson(path) {
    const r = await api('GET', path);
    if (!r.ok) throw r;
    return r.data;
  }

  // The store's English messages, in the person's words and language.
  // Each pattern names the column it is about ({label}).
  const ERRORS = [
    [/^(\w+) is required for an? (\w+)$/, 'err.required'],
    [/^(\w+) is required and cannot be emptied$/, 'err.required'],
    [/^(\w+) must be from (\S+) to (\S+) \(got (.*)\)$/, 'err.range', (m) => ({ min: m[2], max: m[3], got: m[4] })],
    [/^(\w+) must be a whole number \(got (.*)\)$/, 'err.integer', (m) => ({ got: m[2] })],
    [/^(\w+) must be a whole number/, 'err.integer', () => ({ got: '' })],
    [/^(\w+) must be a number \(got (.*)\)$/, 'err.number', (m) => ({ got: m[2] })],
    [/^(\w+) must be a finite number$/, 'err.number', () => ({ got: '' })],
    [/^(\w+) is too large a number/, 'err.too_big'],
    [/^(\w+) is out of the range of numbers/, 'err.too_big'],
    [/^(\w+) must be one of (.*) \(got (.*)\)$/, 'err.enum', (m) => ({ got: m[3] })],
    [/^(\w+) '(\d+)-\d\d-\d\d.*' has a Buddhist Era year[:;] dates are Gregorian \((\d+) BE is (\d+)\)$/, 'err.be_year', (m) => ({ be: m[3], ce: m[4] })],
    [/^(\w+) must be a date written/, 'err.date'],
    [/^(\w+) must be a time written/, 'err.datetime'],
    [/^(\w+) year must be from (\d+) to (\d+)/, 'err.year', (m) => ({ min: m[2], max: m[3] })],
    [/^(\w+) '(.*)' is not a day of the calendar$/, 'err.no_such_day'],
    [/^(\w+) '(.*)' is not a time of day$/, 'err.datetime'],
    [/^(\w+) '(.*)' is not a Chiang Mai district/, 'err.district'],
    [/^(\w+) is too long: (\d+) bytes, at most (\d+)/, 'err.too_long', (m) => ({ bytes: m[2], max: m[3], thai: Math.floor(Number(m[3]) / 3) })],
    [/^(\w+) contains a control character/, 'err.control'],
    [/^(\w+) is not valid UTF-8 text$/, 'err.control'],
    [/^(\w+) must be the id of a/, 'err.ref'],
    [/^(\w+) must be text or a number$/, 'err.type'],
    [/^(\w+) is given twice$/, 'err.twice'],
    [/^day (\d+) is outside the workshop's days \(1 to (\d+)\)$/, 'err.day_outside', (m) => ({ day: m[1], days: m[2] }), 'day'],
    [/^no (\w+) with id \S+ \((it was deleted|already deleted)\)$/, 'err.deleted', (m) => ({ entity: entityLabel(m[1]) }), ''],
    [/^no (\w+) with id \S+$/, 'err.not_found_ref', (m) => ({ entity: entityLabel(m[1]) }), ''],
    [/^enrolment \S+ belongs to another workshop$/, 'err.other_workshop', null, 'enrolment_id'],
    [/is not a JPEG or PNG image$/, 'err.not_image', null, 'photo'],
    [/does not decode as a picture|is a damaged (JPEG|PNG) image/, 'err.damaged_image', null, 'photo'],
    [/the image is (\d+) x (\d+) pixels, more than the (\d+) megapixels/, 'err.image_too_many_pixels', (m) => ({ w: m[1], h: m[2], max: m[3] }), 'photo'],
    [/^participant_name '.*' is already enrolled in this workshop for this producer/, 'err.already_enrolled', null, 'participant_name'],
    [/^district (\d+) is outside this device's districts/, 'err.outside_districts', (m) => ({ district: m[1] }), 'district_code'],
    [/^a position needs both lat and lon \((\w+) is missing\)$/, 'err.position_pair', null, ''],
    [/was revoked on /, 'err.revoked', null, ''],
    [/could not be verified: this device is not enrolled on this server/, 'err.not_known', null, ''],
    [/^another sync of this device is running/, 'err.sync_running', null, ''],
    [/\((clock_skew|clock_ahead)\)$/, 'err.clock', null, ''],
    [/is ([\d.]+) MiB; the limit is (\d+) MiB$/, 'err.photo_too_big', (m) => ({ size: m[1], max: m[2] }), 'photo'],
    [/^choose a photo to add$/, 'err.choose_photo', null, 'file'],
    [/ is empty \(0 bytes\): take or choose the photo again/, 'err.empty_photo', null, 'photo'],
    [/has no column/, 'err.unknown_column', null, ''],
    [/^(\w+) names this \w+ and cannot be edited/, 'err.natural_key'],
    [/^nothing to change$/, 'err.nothing_to_change', null, ''],
    [/larger than 64 KiB/, 'err.too_large', null, ''],
    [/larger than 20 MiB|too large/, 'err.photo_too_big', () => ({ size: '>20', max: 20 }), ''],
    [/^sync not available$/, 'err.sync_unavailable', null, ''],
    [/^this device is not enrolled/, 'err.not_enrolled', null, ''],
    [/^wrong PIN$/, 'err.wrong_pin', null, ''],
    [/^too many wrong PINs/, 'err.pin_locked', null, ''],
  ];
  function translateError(message, entity) {
    if (!message) return t('err.generic');
    for (const [re, key, params, col] of ERRORS) {
      const m = re.exec(message);
      if (!m) continue;
      const column = col !== undefined ? col : m[1];
      const p = Object.assign({ label: column ? colLabel(entity, column) : '' }, params ? params(m) : {});
      return t(key, p);
    }
    // Not a known phrase: the store's own words, in English.
    return state.lang === 'th' ? `${t('err.prefix')} ${message}` : message;
  }
  // The detail under an outcome already said in the person's language: a
  // known phrase in that language; otherwise the program's own English
  // words, which in Thai are folded away under "details (English)" for
  // whoever helps the officer, so the screen reads in Thai.
  // Why the server could not be reached, in the person's words; the
  // program's own (the address, the socket's error) stay under "details".
  const REACH = [
    [/^cannot reach /, 'err.unreachable'],
    [/with a web page, not the server: a Wi-Fi or mobile-data sign-in page/, 'home.sync_sign_in_page'],
  ];
  function detailNode(message, cls = 'detail') {
    if (!message) return null;
    const reach = REACH.find(([re]) => re.test(message));
    if (reach && state.lang === 'th') {
      return h('div', { class: cls }, t(reach[1]), h('details', { class: 'tech' },
        h('summary', null, t('detail.tech')), h('span', { lang: 'en' }, message)));
    }
    if (ERRORS.some(([re]) => re.test(message))) return h('div', { class: cls }, translateError(message, ''));
    if (state.lang !== 'th') return h('div', { class: cls }, message);
    return h('details', { class: `${cls} tech` }, h('summary', null, t('detail.tech')), h('span', { lang: 'en' }, message));
  }
  // The program's own words, as they are: folded away under "details" on a
  // Thai screen.
  function techNode(message) {
    if (state.lang !== 'th') return h('div', { class: 'detail' }, message);
    return h('details', { class: 'detail tech' }, h('summary', null, t('detail.tech')), h('span', { lang: 'en' }, message));
  }
  // Why a sync failed, under "sync failed": the app's own words where it
  // has them, else the sync client's (detailNode).
  function syncFailureDetail(d) {
    if (d.error === 'storage_full') return h('div', { class: 'detail' }, t('home.sync_storage_full'));
    if (d.error === 'sign_in_page') return h('div', { class: 'detail' }, t('home.sync_sign_in_page'));
    // The server does not know this device (replaced, set up again): the
    // way out is enrolling again, here.
    if (/could not be verified: this device is not enrolled on this server/.test(d.message || '')) {
      return h('div', { class: 'detail', id: 'sync-not-known' }, t('err.not_known'), ' ',
        h('a', { class: 'button', href: '#/enrol', id: 'enrol-again' }, t('enrol.again_title')), techNode(d.message));
    }
    if (d.error === 'internal' || d.error === 'app') return h('div', { class: 'detail' }, replyMessage({ data: d }, ''));
    return detailNode(d.message);
  }
  function replyMessage(reply, entity) {
    const d = reply.data || {};
    if (d.error === 'network') return t('err.network');
    if (d.error === 'app') return d.message;  // the app's worker did not start
    if (d.error === 'storage_full') return t('err.storage_full');
    if (d.error === 'internal') return t(APP ? 'err.internal_app' : 'err.internal');
    // The store names the problem (field.problem, shared/status.h): its words
    // in this language, no phrase matching.
    if (typeof d.problem === 'string' && has(d.problem)) {
      const p = Object.assign({}, d.params && typeof d.params === 'object' ? d.params : {});
      p.label = d.field ? colLabel(entity, d.field) : '';
      return t(d.problem, p);
    }
    return translateError(d.message, entity);
  }

  // ---- toast ----------------------------------------------------------------------
  let toastTimer = 0;
  function toast(text, bad) {
    const el = $('#toast');
    el.textContent = text;
    el.className = bad ? 'toast bad' : 'toast';
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { el.hidden = true; }, bad ? 6000 : 2500);
  }
  // A toast that no longer holds (an earlier refusal, once the next try
  // worked) is taken away.
  function hideToast() {
    clearTimeout(toastTimer);
    $('#toast').hidden = true;
  }

  // "Saved", or — the row saved but its photo not (the device's storage
  // full, say) — saying so, so that the row is not saved again: the photo
  // is added from the saved row's page.
  function savedToast(r) {
    if (!r.data || !r.data.photo_error) { toast(t('form.saved')); return; }
    toast(t(r.data.photo_problem === 'storage_full' ? 'form.saved_photo_storage_full'
      : 'form.saved_photo_not'), true);
  }

  // ---- forms ------------------------------------------------------------------------
  // A field spec: {col, type, required, options, rows, rowLabel, hint,
  // inputmode, min, max, step, value, accept}. Types: text, textarea,
  // number, decimal, tel, date, datetime, select, seg (radio buttons),
  // picker (search a list of rows), file (photo).
  // What a field takes, in the browser's own count (UTF-16 units): a text is
  // at most 4,000 bytes, a note 64 KiB (shared/entities.cc), and a Thai
  // letter is 3 bytes. A paste of 200,000 Thai letters froze the page for
  // half a minute laying them out (and again from its draft each time the
  // form opened) before saying the form was too large; now it stops here.
  // A text longer in bytes than its limit is still said, by field, on save
  // (a note of 64 KiB in Latin letters fits; in Thai, 21,845 letters do),
  // and a field that stops a paste short says so as it happens (atLimit).
  const TEXT_MAX_UNITS = 4000;
  const NOTE_MAX_UNITS = 65536;
  const NOTE_MAX_BYTES = 65536;
  const utf8Bytes = (s) => new TextEncoder().encode(s).length;
  function fieldView(entity, f, value) {
    const id = `f-${f.col}`;
    const label = f.label || colLabel(entity, f.col);
    const required = f.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null;
    const err = h('p', { class: 'field-error', id: `e-${f.col}`, role: 'alert', hidden: true });
    const common = { id, name: f.col, 'aria-describedby': `e-${f.col}` };
    let control;
    const v = value === undefined || value === null ? '' : String(value);
    switch (f.type) {
      case 'textarea':
        control = h('textarea', Object.assign({ rows: 3, maxlength: NOTE_MAX_UNITS }, common), v);
        break;
      case 'select': {
        control = h('select', common,
          h('option', { value: '' }, f.required ? t('form.choose') : '—'),
          (f.options || []).map((o) => h('option', { value: o.value, selected: o.value === v }, o.label)));
        break;
      }
      case 'seg': {
        control = h('div', { class: 'seg', role: 'radiogroup', 'aria-labelledby': `l-${f.col}`, id },
          (f.options || []).map((o) => h('label', null,
            h('input', { type: 'radio', name: f.col, value: o.value, checked: o.value === v }), o.label)));
        return h('div', { class: 'field', dataset: { col: f.col } },
          h('span', { class: 'label', id: `l-${f.col}` }, label, required), control, err,
          f.hint ? h('p', { class: 'hint' }, f.hint) : null);
      }
      case 'picker':
        control = pickerView(f, v);
        return h('div', { class: 'field', dataset: { col: f.col } },
          h('label', { for: `${id}-search` }, label, required), control, err,
          f.hint ? h('p', { class: 'hint' }, f.hint) : null);
      case 'file': {
        // The native control says "Choose File" in the browser's language;
        // a big label in the person's language opens it instead.
        const input = h('input', Object.assign({ type: 'file', accept: 'image/*', capture: 'environment', class: 'vh' }, common));
        const chosen = h('span', { class: 'file-name' }, t('photo.none_chosen'));
        input.addEventListener('change', () => {
          const file = input.files && input.files[0];
          chosen.textContent = file ? file.name : t('photo.none_chosen');
        });
        return h('div', { class: 'field', dataset: { col: f.col } },
          h('span', { class: 'label' }, label, required),
          h('label', { for: id, class: 'button file-btn' }, `📷 ${t('photo.choose')}`), input, chosen, err);
      }
      default: {
        // Whole numbers as text with a numeric keyboard, as decimals are: a
        // number input drops Thai digits (๓ left the days empty, saved as 5),
        // and the store reads them (ParseText) and says what is wrong.
        const types = { number: 'text', decimal: 'text', tel: 'tel', date: 'date', datetime: 'datetime-local', text: 'text' };
        const modes = { number: 'numeric', decimal: 'decimal', tel: 'tel' };
        control = h('input', Object.assign({
          type: types[f.type] || 'text',
          inputmode: f.inputmode || modes[f.type],
          min: f.min, max: f.max, step: f.step,
          list: f.list, autocomplete: 'off', value: v,
          maxlength: ['text', 'tel', undefined].includes(f.type) ? TEXT_MAX_UNITS : undefined,
        }, common));
        if (f.onChange) control.addEventListener('change', () => f.onChange(control.value));
      }
    }
    return h('div', { class: 'field', dataset: { col: f.col } },
      h('label', { for: id }, label, required), control, err,
      f.hint ? h('p', { class: 'hint' }, f.hint) : null);
  }

  // Search a list of rows and pick one; the chosen id goes in a hidden input.
  function pickerView(f, value) {
    const hidden = h('input', { type: 'hidden', name: f.col, id: `f-${f.col}`, value });
    const search = h('input', {
      type: 'search', id: `f-${f.col}-search`, name: `${f.col}_search`, autocomplete: 'off',
      placeholder: t('form.search'), 'aria-describedby': `e-${f.col}`,
    });
    const options = h('ul', { class: 'picker-options', hidden: true });
    const picked = h('div', { class: 'picked', hidden: true });
    const rows = f.rows || [];
    const show = (row) => {
      hidden.value = row ? row.id : '';
      picked.replaceChildren();
      if (row) {
        picked.append(h('span', null, f.rowLabel(row)),
          h('button', { type: 'button', onclick: () => { show(null); search.focus(); } }, t('form.change')));
      }
      picked.hidden = !row;
      search.hidden = !!row;
      options.hidden = true;
      hidden.dispatchEvent(new Event('change', { bubbles: true }));
    };
    const filter = () => {
      const q = search.value.trim().toLowerCase();
      const hits = rows.filter((r) => !q || f.rowLabel(r).toLowerCase().includes(q) ||
        (f.rowSearch && f.rowSearch(r).toLowerCase().includes(q))).slice(0, 8);
      options.replaceChildren(...hits.map((r) => h('li', null,
        h('button', { type: 'button', class: 'pick-option', onclick: () => show(r) }, f.rowLabel(r)))));
      if (!hits.length) options.append(h('li', { class: 'empty' }, t('form.no_match')));
      options.hidden = false;
    };
    search.addEventListener('input', filter);
    search.addEventListener('focus', filter);
    hidden.addEventListener('kbo-restore', () => show(rows.find((r) => r.id === hidden.value) || null));
    const wrap = h('div', { class: 'picker' }, hidden, search, picked, options);
    const initial = rows.find((r) => r.id === value);
    if (initial) show(initial);
    if (f.onPick) hidden.addEventListener('change', () => f.onPick(rows.find((r) => r.id === hidden.value) || null));
    return wrap;
  }

  // What is typed in a form outlives the page until it is saved: a reload,
  // a tab the phone's browser closed while the camera was open, a save
  // that waited behind a sync when the page went. Kept in localStorage per
  // screen and form (only what the person typed, `data-typed`; never a
  // photo, which is chosen again), put back when that screen is drawn
  // again, forgotten once saved or thrown away. A draft whose save had
  // been sent says it may have been saved already.
  const DRAFT_PREFIX = 'kbo.draft:';
  const DRAFT_DAYS = 14;
  const DRAFT_MAX = 20;
  // A form's largest typed text, in UTF-8 bytes: a whole note and its other
  // fields (a Thai note past the store's 64 KiB is not kept to be refused
  // again each time the form opens).
  const DRAFT_MAX_BYTES = 2 * 65536;
  const draftTooLarge = (typed) => utf8Bytes(JSON.stringify(typed)) > DRAFT_MAX_BYTES;
  const draftKey = (entity) => `${DRAFT_PREFIX}${location.hash || '#/'}|${entity}`;
  function draftRead(key) {
    try {
      const d = JSON.parse(localStorage.getItem(key) || 'null');
      if (!d || !Array.isArray(d.typed) || !d.typed.length) return null;
      if (Date.now() - (+d.at || 0) > DRAFT_DAYS * 86400000 ||
          draftTooLarge(d.typed)) {
        localStorage.removeItem(key);
        return null;
      }
      return d;
    } catch (e) { return null; }
  }
  function draftWrite(key, draft) {
    try {
      // A draft larger than a form may hold is never kept: it would be put
      // back, and refused, each time the form opens.
      if (!draft.typed.length || draftTooLarge(draft.typed)) {
        localStorage.removeItem(key);
        return;
      }
      localStorage.setItem(key, JSON.stringify(draft));
      // The oldest go first past DRAFT_MAX screens.
      const keys = [];
      for (let i = 0; i < localStorage.length; ++i) {
        const k = localStorage.key(i);
        if (k && k.startsWith(DRAFT_PREFIX)) keys.push(k);
      }
      if (keys.length > DRAFT_MAX) {
        const at = (k) => { try { return +JSON.parse(localStorage.getItem(k)).at || 0; } catch (e) { return 0; } };
        keys.sort((a, b) => at(a) - at(b)).slice(0, keys.length - DRAFT_MAX).forEach((k) => localStorage.removeItem(k));
      }
    } catch (e) { /* storage full or blocked: the form on the screen still holds it */ }
  }
  const draftForget = (key) => { try { localStorage.removeItem(key); } catch (e) { /* blocked */ } };
  // The typed fields of one form (as formSnapshot, for one form; no
  // secrets), each with the value the screen drew it with (`was`).
  function typedFields(form, drawn) {
    const out = [];
    for (const el of form.elements) {
      if (!el.name || el.type === 'file' || el.type === 'search' || el.type === 'submit' ||
          el.type === 'button' || el.type === 'password' || /token|pin/.test(el.name)) continue;
      const was = drawn.get(el.name);
      if (el.type === 'radio' || el.type === 'checkbox') {
        if (!form.querySelector(`[name="${CSS.escape(el.name)}"][data-typed]`)) continue;
        if (el.checked) out.push({ form: 0, name: el.name, value: el.value, checked: true, was });
      } else if (el.dataset.typed) {
        out.push({ form: 0, name: el.name, value: el.value, was });
      }
    }
    return out;
  }
  // Each named field's value as the screen drew it (a radio group's: the
  // one checked).
  function drawnValues(form) {
    const out = new Map();
    for (const el of form.elements) {
      if (!el.name || el.type === 'file') continue;
      if (el.type === 'radio' || el.type === 'checkbox') {
        if (el.checked || !out.has(el.name)) out.set(el.name, el.checked ? el.value : '');
      } else {
        out.set(el.name, el.value);
      }
    }
    return out;
  }
  // An edit screen's draft outlives the page (a reload, a closed tab), not
  // leaving it in the app: tapping back abandons an edit, and a draft
  // found days later would put old values over newer ones.
  const editDrafts = new Set();
  // A redraw of the same screen in the other language: its typing is put
  // back by the switch itself, not as a draft.
  let redrawing = false;
  window.addEventListener('hashchange', () => {
    for (const key of editDrafts) draftForget(key);
    editDrafts.clear();
  });

  // A form over `fields`; `submit(values, form)` returns an api() reply.
  function formView(entity, fields, values, opts) {
    const formErr = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const saveBtn = h('button', { type: 'submit', class: 'primary big' }, opts.submitLabel || t('form.save'));
    const draftNote = h('div', { class: 'draft-note', role: 'status', hidden: true });
    const form = h('form', { novalidate: true, autocomplete: 'off' }, draftNote, formErr,
      fields.map((f) => (f.node ? f.node : fieldView(entity, f, values[f.col]))),
      opts.extra || null,
      h('div', { class: 'actions' }, saveBtn, opts.secondary || null));
    const key = draftKey(entity);
    const drawnAt = location.hash;
    // Never a draft of the enrolment screen: its address may hold a token.
    const drafting = entity !== 'enrol' && !/^#\/enrol/.test(drawnAt);
    const editing = !/\/new(\/|$|\?)/.test(drawnAt);
    const drawn = drawnValues(form);
    let sending = false;
    let restoring = false;
    const keep = () => {
      if (!drafting || restoring || location.hash !== drawnAt) return;
      draftWrite(key, { at: Date.now(), typed: typedFields(form, drawn), sending });
      if (editing) editDrafts.add(key);
    };
    form.addEventListener('input', keep);
    form.addEventListener('change', keep);
    form.addEventListener('input', atLimit);
    // Put back once the screen is drawn (its pickers and lists are there).
    // A field the row holds another value in now than when it was typed
    // (a sync brought the office's) is not put back over it.
    const kept = drafting && !redrawing ? draftRead(key) : null;
    if (kept) {
      let tries = 0;
      const putBack = () => {
        if (location.hash !== drawnAt) return;
        // Drawn when the screen's other parts have loaded.
        if (!form.isConnected) { if (++tries < 100) setTimeout(putBack, 50); return; }
        const all = [...document.querySelectorAll('#app form')];
        const still = kept.typed.filter((x) => x.was === undefined || drawn.get(x.name) === undefined || drawn.get(x.name) === x.was);
        if (!still.length) { draftForget(key); return; }
        restoring = true;
        formRestore(still.map((x) => ({ ...x, form: all.indexOf(form) })));
        restoring = false;
        for (const x of still) {
          for (const el of form.elements) if (el.name === x.name) el.dataset.typed = '1';
        }
        if (editing) editDrafts.add(key);
        const away = h('button', { type: 'button', class: 'link' }, t('draft.discard'));
        away.addEventListener('click', () => { draftForget(key); render(); });
        draftNote.replaceChildren(
          h('span', null, t(kept.sending ? 'draft.restored_sent' : 'draft.restored')), ' ', away);
        draftNote.hidden = false;
      };
      setTimeout(putBack, 0);
    }
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (saveBtn.disabled) return;
      clearErrors(form);
      saveBtn.disabled = true;
      const label = saveBtn.textContent;
      saveBtn.textContent = t('form.saving');
      sending = true;
      keep();
      // A save that waits (behind a sync on the phone app, whose one
      // worker is syncing) says what it waits for.
      const waiting = setTimeout(async () => {
        const p = await api('GET', '/api/sync/progress');
        if (saveBtn.disabled && p.ok && p.data && p.data.running) {
          saveBtn.textContent = t('form.saving_after_sync');
        }
      }, 1500);
      let reply = null;
      try {
        reply = await opts.submit(readForm(form), form);
        if (reply && !reply.ok && !reply.stop) showErrors(form, reply, entity);
      } finally {
        clearTimeout(waiting);
        // No answer (the page going away aborts the request; the link to
        // the device's own server broke): it may have been saved. Refused
        // here before sending (null): it was not.
        sending = !!reply && reply.status === 0;
        // Saved: nothing left to keep. Refused or not sent: kept, to send again.
        if (reply && reply.ok) draftForget(key);
        else keep();
        draftNote.hidden = true;
        saveBtn.disabled = false;
        saveBtn.textContent = label;
      }
    });
    return form;
  }

  function readForm(form) {
    const out = {};
    for (const el of form.elements) {
      if (!el.name || el.type === 'file' || el.name.endsWith('_search')) continue;
      if (el.type === 'radio') {
        if (el.checked) out[el.name] = el.value;
        else if (!(el.name in out)) out[el.name] = '';
        continue;
      }
      out[el.name] = el.value;
    }
    return out;
  }

  function clearErrors(form) {
    for (const p of $$('.field-error, .form-error', form)) { p.hidden = true; p.textContent = ''; }
    for (const el of $$('[aria-invalid]', form)) el.removeAttribute('aria-invalid');
  }

  // Puts each problem next to its field; the rest above the form. What the
  // person typed stays in the form.
  function showErrors(form, reply, entity) {
    const d = reply.data || {};
    const fields = d.fields || (d.field ? { [d.field]: d.message } : {});
    const loose = [];
    let first = null;
    for (const [col, msg] of Object.entries(fields)) {
      const box = form.querySelector(`.field[data-col="${CSS.escape(col)}"]`);
      // One field's problem the store names (field.problem): its words in
      // this language; otherwise each phrase of the message, matched.
      const text = Object.keys(fields).length === 1 && typeof d.problem === 'string' && has(d.problem)
        ? replyMessage(reply, entity)
        : msg.split('; ').map((m) => translateError(m, entity)).join(' ');
      if (!box) { loose.push(text); continue; }
      const p = $('.field-error', box);
      delete p.dataset.atLimit;  // the save's word: typing does not clear it
      p.textContent = text;
      p.hidden = false;
      for (const c of $$('input, select, textarea', box)) c.setAttribute('aria-invalid', 'true');
      if (!first) first = box;
    }
    if (!Object.keys(fields).length) loose.push(replyMessage(reply, entity));
    // "Check the marked fields" only when one is marked (the app not
    // answering is no field's fault).
    const fieldMarked = !!first;
    if (loose.length) {
      const fe = $('.form-error', form);
      fe.textContent = `${t('form.not_saved')} ${loose.join(' ')}`;
      fe.hidden = false;
      if (!first) first = fe;
    }
    toast(fieldMarked ? t('form.not_saved_toast') : t('form.not_saved_see'), true);
    if (first) first.scrollIntoView({ block: 'center' });
  }

  // A field at its maxlength has been cut short by the browser (a paste
  // longer than it takes): said under it, not left to be found later.
  function atLimit(e) {
    const c = e.target;
    if (!c || !(c.maxLength > 0) || !c.name) return;
    const box = c.closest('.field');
    const p = box && $('.field-error', box);
    if (!p) return;
    const label = $('label, .label', box);
    const name = label ? label.textContent.replace(/\s*\*$/, '') : '';
    // A note is counted in bytes, as the store counts it (a Thai letter is
    // three): past them it is said now, not on save.
    const bytes = c.tagName === 'TEXTAREA' ? utf8Bytes(c.value) : 0;
    const said = bytes > NOTE_MAX_BYTES
      ? t('err.too_long', { label: name, bytes: bytes.toLocaleString(), max: NOTE_MAX_BYTES.toLocaleString(), thai: Math.floor(NOTE_MAX_BYTES / 3).toLocaleString() })
      : t('form.at_limit', { label: name, max: c.maxLength.toLocaleString() });
    if (c.value.length >= c.maxLength || bytes > NOTE_MAX_BYTES) {
      p.textContent = said;
      p.hidden = false;
      p.dataset.atLimit = '1';
    } else if (p.dataset.atLimit) {
      delete p.dataset.atLimit;
      p.textContent = '';
      p.hidden = true;
    }
  }

  function setFieldError(form, col, text) {
    const box = form.querySelector(`.field[data-col="${CSS.escape(col)}"]`);
    if (!box) return;
    const p = $('.field-error', box);
    delete p.dataset.atLimit;  // not cleared by typing: it is this save's
    p.textContent = text;
    p.hidden = false;
    for (const c of $$('input, select, textarea', box)) c.setAttribute('aria-invalid', 'true');
  }

  // An edit sends only what changed; with no change there is nothing to do.
  async function patch(entity, id, values, original) {
    const diff = changed(values, original);
    if (!Object.keys(diff).length) {
      toast(t('form.no_changes'));
      return { ok: true, status: 200, data: { id } };
    }
    return patchSeen(entity, id, diff, original);
  }

  // An edit names what the form was drawn with for each column it changes
  // (`_seen`, the row as read: `raw`): one changed since (a sync brought a
  // colleague's value, another screen saved one) is refused, 409
  // changed_since, not written over unseen. The form is then told what the
  // row holds now, beside each such field, and the next save (the person
  // has seen it) goes through.
  async function patchSeen(entity, id, diff, raw) {
    const seen = {};
    for (const k of Object.keys(diff)) seen[k] = raw[k] === undefined ? null : raw[k];
    const r = await api('PATCH', `/api/${entity}/${id}`, { ...diff, _seen: seen });
    if (r.status !== 409 || !r.data || r.data.error !== 'changed_since') return r;
    const now = await api('GET', `/api/${entity}/${id}`);
    if (!now.ok || !now.data) return r;
    const fields = {};
    for (const k of Object.keys((r.data && r.data.fields) || seen)) {
      if (!(k in seen)) continue;
      raw[k] = now.data[k];
      const v = now.data[k];
      fields[k] = t('err.changed_since_field', { value: v === null || v === undefined || v === '' ? '—' : shownValue(entity, k, v) });
    }
    return { ok: false, status: 409, data: { error: 'changed_since', fields } };
  }
  // A stored value as a form shows it (an option's label).
  function shownValue(entity, col, v) {
    const opts = { status: 'statuses', stage: 'stages', category: 'categories', kind: 'kinds', purpose: 'purposes' };
    if (opts[col] && state.ref && state.ref[opts[col]]) {
      try { return named(opts[col], v); } catch (e) { return String(v); }
    }
    return String(v);
  }

  // Only what changed, for an edit.
  function changed(values, original) {
    const out = {};
    for (const [k, v] of Object.entries(values)) {
      const before = original[k] === null || original[k] === undefined ? '' : String(original[k]);
      if (v !== before) out[k] = v;
    }
    return out;
  }

  // A photo input with a preview and a size check before anything is sent.
  function photoField(col, label) {
    const node = fieldView('photo', { col, type: 'file', label: label || t('photo.take') });
    const input = $('input', node);
    const preview = h('img', { class: 'preview', alt: '', hidden: true });
    node.insertBefore(preview, $('.field-error', node));
    input.addEventListener('change', () => {
      const file = input.files && input.files[0];
      if (preview.src) URL.revokeObjectURL(preview.src);
      preview.hidden = !file;
      if (file) preview.src = URL.createObjectURL(file);
    });
    return node;
  }
  function checkPhoto(form, col) {
    const input = form.querySelector(`input[name="${col}"]`);
    const file = input && input.files && input.files[0];
    const limit = APP ? APP_MAX_PHOTO_BYTES : MAX_PHOTO_BYTES;
    if (file && file.size > limit) {
      setFieldError(form, col, t('err.photo_too_big', { size: (file.size / 1048576).toFixed(1), max: limit / 1048576 }));
      toast(t('form.not_saved_toast'), true);
      return { ok: false, file };
    }
    return { ok: true, file };
  }

  // ---- option lists -------------------------------------------------------------------
  const opts = (list) => (state.ref[list] || []).map((x) => ({ value: x.value, label: state.lang === 'th' ? x.name_th : x.name_en }));
  // The districts offered: this device's own once it is enrolled for some
  // (a Phrao trainer picks from Phrao, not from all 25), and `keep`, a
  // value a row holds already, so an edit never shows it blank.
  const districtOpts = (keep) => {
    const mine = state.ref.device_districts;
    return state.ref.districts.filter((d) => !mine || mine.includes(d.code) || d.code === keep).map((d) => ({
      value: d.code, label: state.lang === 'th' ? `${d.name_th} (${d.name_en})` : `${d.name_en} (${d.name_th})`,
    }));
  };
  // A new row's district: this device's first, else Phrao.
  const defaultDistrict = () => (state.ref.device_districts && state.ref.device_districts[0]) || '5011';
  // Whether this device's role may make `action` on rows of `entity`
  // (docs/roles.md; the store refuses the rest): the screens offer only
  // that. Anything goes before enrolment, as in the store.
  const may = (entity, action = 'create') => {
    const m = state.ref && state.ref.may;
    return !m || !!(m[entity] && m[entity][action]);
  };
  // Said where a screen shows rows this role reads but does not write.
  const readOnlyNotice = (id, key) => h('p', { class: 'notice read-only', id },
    t(key, { role: roleName(state.ref && state.ref.role) }));
  function producerLabel(p) { return p.name; }
  function producerSearch(p) { return `${p.name} ${p.village || ''} ${p.tambon || ''} ${p.cluster_brand || ''} ${districtName(p.district_code)}`; }

  // ---- photos strip ---------------------------------------------------------------------
  // The grid draws the small thumbnail (/thumb/, 320 px), at the photo's own
  // aspect ratio (its width and height reserve the space before it loads);
  // the upload copy (/blob/) opens when the person taps it.
  // `redraw`, if given: the photo can be deleted, and this redraws what
  // showed it.
  function thumb(p, redraw) {
    const img = h('img', { src: APP ? undefined : `/thumb/${p.sha256}`, alt: p.caption || t('photo.photo'), loading: 'lazy', width: p.width || undefined, height: p.height || undefined });
    const link = h('a', { href: `/blob/${p.sha256}`, target: '_blank', rel: 'noopener' }, img);
    if (APP) {
      // The photos are in the app's worker, not at a URL of the server.
      core.objectUrl(`/thumb/${p.sha256}`).then((u) => { if (u) img.src = u; });
      link.href = '#';
      link.addEventListener('click', async (event) => {
        event.preventDefault();
        const u = await core.objectUrl(`/blob/${p.sha256}`);
        if (u) window.open(u, '_blank', 'noopener');
      });
    }
    let del = null;
    if (redraw) {
      del = h('button', { type: 'button', class: 'danger small photo-delete', dataset: { photo: p.id },
        'aria-label': t('photo.delete') }, t('form.delete'));
      del.addEventListener('click', () => deleteRow('photo', p.id, redraw, t('photo.confirm_delete')));
    }
    return h('figure', { class: 'thumb', dataset: { photo: p.id } }, link,
      h('figcaption', null, p.caption || '', p.taken_at ? h('span', { class: 'sub' }, ` ${fmtDateTime(p.taken_at)}`) : null), del);
  }
  async function photoSection(subjectType, subjectId) {
    const box = h('section', { class: 'photos' }, h('h2', null, t('photo.title')));
    const grid = h('div', { class: 'thumbs' });
    const load = async () => {
      const list = await getJson(`/api/photo?subject_id=${subjectId}`);
      grid.replaceChildren(...list.map((p) => thumb(p, load)));
      if (!list.length) grid.append(h('p', { class: 'empty' }, t('photo.none')));
    };
    await load();
    const form = formView('photo', [{ node: photoField('file') }, { col: 'caption', type: 'text' }], {}, {
      submitLabel: t('photo.add'),
      submit: async (values, f) => {
        const check = checkPhoto(f, 'file');
        if (!check.ok) return null;
        if (!check.file) { setFieldError(f, 'file', t('err.choose_photo')); return null; }
        const fd = new FormData();
        fd.append('subject', `${subjectType}:${subjectId}`);
        fd.append('caption', values.caption || '');
        fd.append('file', check.file, check.file.name || 'photo.jpg');
        const r = await api('POST', '/api/photo', fd);
        if (r.ok) {
          toast(t('form.saved'));
          f.reset();
          for (const i of $$('input[type=file]', f)) i.dispatchEvent(new Event('change'));
          await load();
        }
        return r;
      },
    });
    box.append(grid, form);
    return box;
  }

  // ---- screens ---------------------------------------------------------------------------
  const NAV = [
    ['home', '#/'], ['producers', '#/producers'], ['workshops', '#/workshops'],
    ['visits', '#/visits'], ['products', '#/products'], ['photos', '#/photos'],
    ['contest', '#/contest'], ['conflicts', '#/conflicts'],
  ];
  function renderNav(active) {
    $('#nav').replaceChildren(...NAV.map(([key, href]) =>
      h('a', { href, 'aria-current': key === active ? 'page' : null, dataset: { nav: key } }, t(`nav.${key}`))));
  }

  function page(title, ...kids) {
    return [h('h1', null, title), ...kids];
  }

  // The app's room on the phone: used, left, and whether the browser keeps
  // it when space runs low (persistent storage, asked for at start).
  // Used: the bytes of the records and photos (the worker counts its files)
  // and what else the browser holds for the app (its own files, kept by the
  // service worker), where it says (usageDetails). Not the
  // browser's usage as it stands: Chromium counts in it the room it grants
  // the worker's open database handles ahead of their writes (worker.js,
  // storedBytes). Left: the browser's quota less its usage, what it lets
  // the app write now.
  async function storageLine() {
    if (!APP || !navigator.storage || !navigator.storage.estimate) return null;
    const [est, kept, stored] = await Promise.all([navigator.storage.estimate(),
      navigator.storage.persisted ? navigator.storage.persisted() : Promise.resolve(false),
      api('GET', '/api/storage')]);
    const usage = est.usage || 0;
    // (usageDetails, Chromium's alone: the app's files are "caches".)
    const others = Object.entries(est.usageDetails || {})
      .reduce((n, [kind, bytes]) => (kind === 'fileSystem' ? n : n + bytes), 0);
    const used = stored.ok && typeof stored.data.bytes === 'number' ? stored.data.bytes + others : usage;
    return h('p', { class: 'sub', id: 'storage', dataset: { used, usage, quota: est.quota, persisted: kept } },
      t('home.storage', { used: sizeText(used), left: sizeText(Math.max(0, (est.quota || 0) - usage)) }),
      ' · ', t(kept ? 'home.storage_kept' : 'home.storage_not_kept'));
  }

  // A refused row's title: what it is and why, in the person's language,
  // a link to its form where the app has one (fix it there, or delete it).
  const REFUSED_FORMS = { producer: '#/producers/', workshop: '#/workshops/', product: '#/products/', visit: '#/visits/' };
  function refusedTitle(r) {
    const text = `${has(`entity.${r.entity}`) ? t(`entity.${r.entity}`) : r.entity} · ${has(`reason.${r.reason}`) ? t(`reason.${r.reason}`) : r.reason}`;
    // A row that moved to another district has left this device: no form.
    if (r.not_held) return h('span', { class: 'title' }, `${text} · ${t('home.refused_gone')}`);
    const form = REFUSED_FORMS[r.entity];
    const href = form && /^[0-9a-f-]{36}$/.test(r.row_id || '')
      ? `${form}${r.row_id}${r.entity === 'workshop' || r.entity === 'product' ? '/edit' : ''}` : null;
    return href ? h('a', { class: 'title', href }, text) : h('span', { class: 'title' }, text);
  }

  // Home: what is waiting, what the province confirmed, and the sync button.
  async function homeScreen() {
    const st = await getJson('/api/status');
    const storage = await storageLine();
    const card = (key, num, cls) => h('div', { class: `card ${cls || ''}`, dataset: { stat: key } },
      h('div', { class: 'num' }, num), h('div', { class: 'lbl' }, t(`home.${key}`)));
    const outcome = h('div', { class: 'outcome', id: 'sync-outcome', role: 'status', 'aria-live': 'polite', hidden: true });
    const progress = h('div', { class: 'progress', id: 'sync-progress', hidden: true }, h('span'));
    const progressText = h('p', { id: 'sync-progress-text', hidden: true });
    const btn = h('button', { type: 'button', class: 'primary big', id: 'sync' }, t('home.sync'));
    // The progress of a sync while it runs: the one this tap started, or one
    // already running when home opened (started before the officer left
    // this screen, or in another window), which this screen follows to its
    // end instead of offering to start a second.
    // One poller of /api/sync/progress while a sync runs, drawing what it
    // has done: records (bytes for photos) of the total, the time left once
    // it can be told, the seconds it has run once they are many (a stalled
    // link shows "0 of 1" for minutes: they say it is still trying).
    // `onEnd`, if given, is called once the answer says it no longer runs
    // (a sync this screen did not start, followed). Stops when the screen
    // is left. Returns the function that stops it and clears the bar.
    const showProgress = (start, onEnd) => {
      btn.disabled = true;
      outcome.hidden = true;
      progress.hidden = false;
      progressText.hidden = false;
      const bar = progress.firstChild;
      progress.classList.remove('determinate');
      bar.style.width = '';
      let asking = false;
      let stopped = false;
      let timer = null;
      const stop = () => {
        stopped = true;
        clearInterval(timer);
        progress.hidden = true;
        progressText.hidden = true;
        btn.disabled = false;
        outcome.replaceChildren();
      };
      const tick = async () => {
        if (stopped || asking) return;
        if (!document.body.contains(btn)) { stopped = true; clearInterval(timer); return; }
        asking = true;
        const p = await api('GET', '/api/sync/progress');
        asking = false;
        if (stopped) return;
        const d = p.ok ? p.data : null;
        if (onEnd && (!d || !d.running)) { stop(); onEnd(d); return; }
        // Seconds since the sync began (the device says, for one this
        // screen did not start), else since the tap.
        const secs = d && typeof d.elapsed_s === 'number' ? Math.round(d.elapsed_s)
          : Math.round((Date.now() - start) / 1000);
        if (d && d.running && d.busy_s !== null && d.busy_s !== undefined) {
          // The province's server asked to wait (an evening rush): say so.
          progressText.textContent = t('home.sync_busy', { s: Math.max(1, Math.round(d.busy_s)) });
          return;
        }
        if (!d || !d.running || !d.phase) {
          progressText.textContent = t('home.syncing', { s: secs });
          return;
        }
        const elapsed = secs >= 10 ? ` · ${t('home.sync_elapsed', { s: secs })}` : '';
        const amount = (n) => (d.unit === 'bytes' ? sizeText(n) : n.toLocaleString());
        let text = t(d.total > 0 ? 'home.sync_of' : 'home.sync_count', {
          phase: t(`home.sync_phase.${d.phase}`), done: amount(d.done), total: amount(d.total),
        });
        if (d.seconds_left !== null) text += ' · ' + t('home.sync_left', { s: Math.max(1, Math.round(d.seconds_left)) });
        progressText.textContent = text + elapsed;
        if (d.fraction !== null) {
          progress.classList.add('determinate');
          bar.style.width = `${Math.round(d.fraction * 100)}%`;
        } else {
          progress.classList.remove('determinate');
          bar.style.width = '';
        }
      };
      progressText.textContent = t('home.syncing', { s: 0 });
      timer = setInterval(tick, 700);
      return stop;
    };
    // Follows a sync this screen did not start (one running when home
    // opened, or that a second tap met) until it ends, then says so: ended,
    // or ended with the problem the device recorded (the cards show it).
    const follow = () => {
      showProgress(Date.now(), async () => {
        const fresh = await api('GET', '/api/status');
        if (!document.body.contains(btn)) return;
        if (fresh.ok) updateCards(fresh.data);
        const failed = fresh.ok && !!fresh.data.last_error;
        outcome.className = failed ? 'outcome bad' : 'outcome ok';
        outcome.dataset.outcome = failed ? 'ended_failed' : 'ended';
        outcome.replaceChildren(t(failed ? 'home.sync_ended_failed' : 'home.sync_ended'));
        outcome.hidden = false;
      });
    };
    btn.addEventListener('click', async () => {
      const done = showProgress(Date.now());
      delete outcome.dataset.said;
      const r = await api('POST', '/api/sync', {});
      done();
      if (!r.ok && r.data && r.data.error === 'sync_running') {
        // Already running: a sync of these screens (another window, or
        // tapped before this screen opened) is followed, not called a
        // failure; one of `kbo sync` on this computer, which these screens
        // cannot follow, is said as it is.
        const p = await api('GET', '/api/sync/progress');
        if (p.ok && p.data.running) { follow(); return; }
      }
      if (r.ok) {
        outcome.className = 'outcome ok';
        outcome.dataset.outcome = 'ok';
        const said = r.data.counts ? syncSummaryText(r.data.counts) : r.data.summary;
        outcome.append(...[t('home.sync_ok'), said ? h('div', { class: 'detail', id: 'sync-summary' }, said) : null].filter(Boolean));
      } else if (!APP && r.status === 0) {
        // kbo ui itself did not answer (stopped, or killed during the
        // sync): not the signal (it was said as "no signal").
        outcome.className = 'outcome bad';
        outcome.dataset.outcome = 'app_down';
        outcome.append(t('home.app_down'));
      } else if (r.data.error === 'unavailable' || r.data.error === 'network') {
        outcome.className = 'outcome offline';
        outcome.dataset.outcome = 'unavailable';
        // "No signal, everything is kept" says it: the reason's own
        // sentence would say it again; only its details (the address,
        // the socket's words) go under it.
        // A phone that says it has no network: no signal. One that has a
        // network did not hear the server, which may be down (a killed
        // server was called "no signal" with full bars).
        const m = r.data.message;
        const said = navigator.onLine === false ? 'home.no_signal' : 'home.no_answer';
        outcome.dataset.said = said;
        outcome.append(...[t(said), REACH[0][0].test(m || '') ? techNode(m) : detailNode(m)].filter(Boolean));
      } else if (!r.stop) {
        outcome.className = 'outcome bad';
        outcome.dataset.outcome = 'error';
        outcome.append(...[t('home.sync_failed'), syncFailureDetail(r.data)].filter(Boolean));
      }
      // A clock minutes off: the sync went by the server's; the person
      // hears the phone's is wrong (its records carry its time).
      const off = r.data && r.data.counts ? Number(r.data.counts.clock_off_ms) || 0 : 0;
      if (Math.abs(off) >= 60000) {
        outcome.append(h('div', { class: 'detail', id: 'sync-clock' },
          t(off > 0 ? 'home.clock_ahead' : 'home.clock_behind', { m: Math.round(Math.abs(off) / 60000) })));
      }
      // Cut part-way: what went before the cut is kept and said (a retry
      // then has only the rest to do).
      const partial = !r.ok && r.data.counts ? syncSummaryText(r.data.counts, true) : '';
      if (partial) {
        outcome.append(h('div', { class: 'detail', id: 'sync-partial' },
          t('home.sync_partial', { said: partial })));
      }
      outcome.hidden = false;
      // Counts after the attempt (the outcome box stays, and says this
      // attempt's problem: the card does not say it a second time).
      const fresh = await api('GET', '/api/status');
      if (fresh.ok) updateCards(fresh.data, { sayError: false });
      // In view (at 360 px it showed only its top edge below the button).
      if (document.body.contains(outcome)) outcome.scrollIntoView({ block: 'nearest' });
    });
    const cards = h('div', { class: 'cards', id: 'status-cards' });
    const updateCards = (s, { sayError = true } = {}) => {
      cards.replaceChildren(
        card('pending_changes', s.pending_changes),
        card('pending_blobs', s.pending_blobs),
        card('confirmed_changes', s.confirmed_changes),
        h('a', { class: 'card', href: '#/conflicts', dataset: { stat: 'open_conflicts' } },
          h('div', { class: 'num' }, s.open_conflicts), h('div', { class: 'lbl' }, t('home.open_conflicts'))),
        h('div', { class: 'card wide', dataset: { stat: 'last_sync' } },
          h('div', { class: 'lbl' }, t('home.last_sync')),
          h('div', { class: 'title' }, s.last_sync ? fmtDateTime(s.last_sync) : t('home.never')),
          s.last_error && sayError ? h('div', { class: 'sub', id: 'last-error' }, `${t('home.last_error')}: `, detailNode(s.last_error, 'said')) : null),
        s.refused_rows > 0 ? h('div', { class: 'card wide refused', dataset: { stat: 'refused_rows' } },
          h('div', { class: 'lbl' }, `${t('home.refused')}: ${s.refused_rows}`),
          h('ul', { class: 'refused-list' }, (s.refused || []).slice(0, 10).map((r) => h('li', { dataset: { rowId: r.row_id, reason: r.reason } },
            refusedTitle(r),
            // The server's words (which row, why) are English: folded away
            // under "details" on a Thai screen, as every such detail is.
            detailNode(r.message, 'sub')))),
          h('div', { class: 'sub' }, t('home.refused_hint'))) : '',  // replaceChildren writes null as "null"
      );
    };
    updateCards(st);
    // A sync running when home opens is shown and followed.
    api('GET', '/api/sync/progress').then((p) => {
      if (p.ok && p.data.running && !btn.disabled) follow();
    });
    return page(t('nav.home'),
      st.enrolled ? h('p', { class: 'sub' }, t('home.enrolled', { server: st.server || '', role: has(`role.${st.role}`) ? t(`role.${st.role}`) : st.role || '' }))
        : enrolNotice(st),
      cards,
      storage,
      h('section', { class: 'sync-box' }, btn, progress, progressText, outcome,
        h('p', { class: 'hint' }, t('home.sync_hint'))),
      h('div', { class: 'actions' },
        h('a', { class: 'button', href: '#/workshops' }, t('nav.workshops')),
        h('a', { class: 'button', href: '#/visits/new' }, t('visit.new'))),
      h('p', { class: 'sub' }, `${t('home.device')}: ${st.device_id} · kbo ${st.version}`));
  }

  // ---- enrolment (as kbo enroll) ----
  function roleName(role) { return has(`role.${role}`) ? t(`role.${role}`) : role || ''; }
  function enrolNotice(st) {
    return h('div', { class: 'notice', id: 'not-enrolled' }, h('p', null, t('home.not_enrolled')),
      st.enrol_available ? h('a', { class: 'button primary', href: '#/enrol', id: 'enrol-open' }, t('enrol.open')) : null);
  }
  async function enrolScreen(params = new URLSearchParams()) {
    const st = await getJson('/api/status');
    const back = h('p', null, h('a', { class: 'back', href: '#/' }, `← ${t('nav.home')}`));
    // Enrolled already: said, and enrolling again offered (the server was
    // replaced and no longer knows this device, or the office gave a token
    // for other districts); what waits to be sent is kept and goes to the
    // server enrolled with.
    const again = !!st.enrolled;
    const already = again ? h('p', { class: 'notice', id: 'enrol-already' },
      t('enrol.already', { server: st.server || '', role: roleName(st.role) })) : null;
    if (!st.enrol_available) return page(t('enrol.title'), back, already || h('p', { class: 'notice' }, t('enrol.unavailable')));
    const outcome = h('div', { class: 'outcome', id: 'enrol-outcome', role: 'status', 'aria-live': 'polite', hidden: true });
    const say = (kind, text, detail) => {
      outcome.className = `outcome ${{ ok: 'ok', unavailable: 'offline', working: '' }[kind] ?? 'bad'}`;
      outcome.dataset.outcome = kind;
      outcome.replaceChildren(...[text, detailNode(detail)].filter(Boolean));
      outcome.hidden = false;
    };
    const form = formView('enrol', [
      { col: 'server', type: 'text', required: true, label: t('enrol.server'), inputmode: 'url' },
      { col: 'token', type: 'text', required: true, label: t('enrol.token') },
    ], { server: APP ? location.origin : again ? st.server || '' : '', token: params.get('token') || '' }, {
      submitLabel: t(again ? 'enrol.again_submit' : 'enrol.submit'),
      extra: APP ? scanButton((token) => { $('#f-token', form).value = token; }) : null,
      submit: async (values, f) => {
        outcome.hidden = true;
        // Enrolling again is asked once more, whoever filled the form (a QR
        // link brings a token meant for some phone; the new token may give
        // another role or districts; a changed address sends everything on
        // this device to that server).
        if (again && !confirm(t('enrol.confirm_again', { server: values.server, old: st.server || '', role: roleName(st.role) }))) {
          outcome.hidden = true;
          return null;
        }
        say('working', t('enrol.working'));
        let r = await api('POST', '/api/enrol', again ? { ...values, again: true } : values);
        // Changes still waiting for the server enrolled with before: they go
        // to this one if the person says so (nothing is deleted either way).
        if (!r.ok && r.data && r.data.error === 'pending_elsewhere') {
          if (!confirm(t('enrol.confirm_elsewhere', { old: st.server || '', server: values.server }))) {
            say('already', t('enrol.kept_elsewhere', { old: st.server || '' }));
            return null;
          }
          r = await api('POST', '/api/enrol', { ...values, again: true, force: true });
        }
        const d = r.data || {};
        if (r.ok) {
          hideToast();
          say('ok', t('enrol.done', { server: d.server, role: roleName(d.role), districts: districtsText(d.districts) }));
          state.ref = null;  // the pickers now offer the enrolment's districts
          // Said in the outcome (a toast over it on a small screen hid it),
          // with the way on.
          outcome.append(h('p', null, h('a', { class: 'button primary', href: '#/', id: 'enrol-home' }, t('nav.home'))));
          $('button[type=submit]', f).hidden = true;
          return r;
        }
        if (r.stop) return r;
        outcome.hidden = true;
        if (d.error === 'invalid_argument' && (d.fields || d.field)) {
          const cols = Object.keys(d.fields || { [d.field]: d.message });
          if (cols.includes('server')) setFieldError(f, 'server', t('enrol.err_server'));
          if (cols.includes('token')) setFieldError(f, 'token', t('enrol.err_token'));
        } else if (d.error === 'enrol_refused') {
          setFieldError(f, 'token', t('enrol.err_refused'));
          say('refused', t('enrol.err_refused'), d.message);
        } else if (d.error === 'sign_in_page') {
          say('unavailable', t('home.sync_sign_in_page'), d.message);
        } else if (d.error === 'unavailable' || d.error === 'network') {
          say('unavailable', d.error === 'network' ? t('err.network') : t('enrol.err_unreachable'), d.message);
        } else if (d.error === 'already_enrolled') {
          say('already', t('enrol.err_already'), d.message);
        } else {
          say('error', replyMessage(r, 'enrol'), ['internal', 'app'].includes(d.error) ? '' : d.message);
        }
        toast(t('form.not_saved_toast'), true);
        return null;
      },
    });
    // The app enrols with the server it came from (its pages may reach no
    // other: the server's Content-Security-Policy).
    if (APP) $('#f-server', form).readOnly = true;
    if (again) {
      return page(t('enrol.title'), back, already, h('h2', null, t('enrol.again_title')),
        h('p', { class: 'sub', id: 'enrol-again-hint' }, t('enrol.again_hint')), form, outcome);
    }
    return page(t('enrol.title'), back, h('p', { class: 'sub' }, t(APP ? 'enrol.hint_app' : 'enrol.hint')), form, outcome);
  }

  // The console's enrolment QR code, read with the camera where the browser
  // can (BarcodeDetector): it holds <server>/app/#/enroll?token=TOKEN. The
  // app enrols only with the server it came from.
  function scanButton(found) {
    if (!('BarcodeDetector' in window) || !navigator.mediaDevices) return null;
    const status = h('p', { class: 'sub', id: 'scan-status', role: 'status', hidden: true });
    const video = h('video', { id: 'scan-video', playsinline: true, muted: true, hidden: true });
    const btn = h('button', { type: 'button', class: 'big', id: 'scan' }, t('enrol.scan'));
    let stream = null;
    const stop = () => {
      if (stream) stream.getTracks().forEach((tr) => tr.stop());
      stream = null;
      video.hidden = true;
    };
    btn.addEventListener('click', async () => {
      if (stream) { stop(); return; }
      status.hidden = false;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
      } catch (e) {
        status.textContent = t('enrol.scan_no_camera');
        return;
      }
      video.srcObject = stream;
      video.hidden = false;
      await video.play().catch(() => {});
      status.textContent = t('enrol.scan_looking');
      const detector = new BarcodeDetector({ formats: ['qr_code'] });
      while (stream && document.body.contains(video)) {
        const codes = await detector.detect(video).catch(() => []);
        for (const c of codes) {
          let url = null;
          try { url = new URL(c.rawValue); } catch (e) { url = null; }
          const token = url && new URLSearchParams(url.hash.replace(/^#[^?]*\??/, '')).get('token');
          if (!token) { status.textContent = t('enrol.scan_not_ours'); continue; }
          if (url.origin !== location.origin) {
            status.textContent = t('enrol.scan_other_server', { server: url.origin });
            continue;
          }
          found(token);
          status.textContent = t('enrol.scan_done');
          stop();
          return;
        }
        await new Promise((r) => setTimeout(r, 300));
      }
      stop();
    });
    return h('div', { class: 'scan' }, btn, video, status);
  }

  // ---- producers ----
  async function producersScreen() {
    const rows = await getJson('/api/producer');
    const q = h('input', { type: 'search', id: 'producer-search', placeholder: t('producer.search'), 'aria-label': t('producer.search') });
    const district = h('select', { id: 'producer-district', 'aria-label': t('col.district_code') },
      h('option', { value: '' }, t('producer.all_districts')),
      districtOpts().map((o) => h('option', { value: o.value }, o.label)));
    const list = h('ul', { class: 'list', id: 'producer-list' });
    const draw = () => {
      const needle = q.value.trim().toLowerCase();
      const hits = rows.filter((p) => (!district.value || p.district_code === district.value) &&
        (!needle || producerSearch(p).toLowerCase().includes(needle)));
      list.replaceChildren(...hits.map((p) => h('li', null, h('a', { class: 'row-link', href: `#/producers/${p.id}` },
        h('span', { class: 'title' }, p.name), p.otop_stars != null ? h('span', { class: 'badge' }, `${'★'.repeat(p.otop_stars)}${p.otop_stars ? '' : '0★'}`) : null,
        h('span', { class: 'sub', style: null }, ` · ${named('kinds', p.kind)} · ${districtName(p.district_code)}${p.tambon ? ' · ' + p.tambon : ''}`)))));
      if (!hits.length) list.append(h('li', { class: 'empty' }, rows.length ? t('form.no_match') : t('producer.none')));
    };
    q.addEventListener('input', draw);
    district.addEventListener('change', draw);
    draw();
    return page(t('nav.producers'),
      h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/producers/new', id: 'producer-add' }, t('producer.add'))),
      h('div', { class: 'filters' }, q, district), list);
  }

  function tambonField(districtCode, value) {
    const list = state.ref.tambon[districtCode];
    const f = { col: 'tambon', type: 'text', list: 'tambon-list' };
    const node = fieldView('producer', f, value);
    const dl = h('datalist', { id: 'tambon-list' },
      (list || []).map((x) => h('option', { value: x.name_th }, x.name_en)));
    node.append(dl);
    return node;
  }

  async function producerForm(id) {
    const original = id ? await getJson(`/api/producer/${id}`) : { district_code: defaultDistrict(), kind: 'group' };
    const fields = [
      { col: 'kind', type: 'seg', required: true, options: opts('kinds') },
      { col: 'name', type: 'text', required: true },
      { col: 'district_code', type: 'select', required: true, options: districtOpts(original.district_code) },
      { node: tambonField(original.district_code, original.tambon) },
      { col: 'village', type: 'text' },
      { col: 'contact', type: 'text' },
      { col: 'phone', type: 'tel' },
      { col: 'category', type: 'select', options: opts('categories') },
      { col: 'otop_stars', type: 'number', min: 0, max: 5, hint: t('producer.stars_hint') },
      { col: 'members', type: 'number', min: 0 },
      { col: 'cluster_brand', type: 'text' },
    ];
    const del = id ? h('button', { type: 'button', class: 'danger', id: 'producer-delete' }, t('form.delete')) : null;
    const form = formView('producer', fields, original, {
      secondary: del,
      submit: async (values) => {
        const r = id ? await patch('producer', id, values, original)
          : await api('POST', '/api/producer', values);
        if (r.ok) { toast(t('form.saved')); location.hash = id ? `#/producers/${id}` : `#/producers/${r.data.id}`; if (id) render(); }
        return r;
      },
    });
    // The tambon list follows the district.
    const sel = form.querySelector('select[name="district_code"]');
    sel.addEventListener('change', () => {
      const dl = $('#tambon-list', form);
      dl.replaceChildren(...(state.ref.tambon[sel.value] || []).map((x) => h('option', { value: x.name_th }, x.name_en)));
    });
    if (del) del.addEventListener('click', () => deleteRow('producer', id, '#/producers', confirmNamed('producer', original.name)));
    // Deleted (here, or on another device and synced): shown as it was,
    // said so, and nothing offered that the store would refuse.
    const gone = id && original.deleted
      ? h('p', { class: 'notice', id: 'producer-deleted' }, t('err.deleted', { entity: entityLabel('producer') })) : null;
    if (gone) form.querySelectorAll('input, select, textarea, button').forEach((e) => { e.disabled = true; });
    const disputed = id ? await disputedNotice('producer', id) : null;
    const kids = [h('p', null, h('a', { class: 'back', href: '#/producers' }, `← ${t('nav.producers')}`)), gone, disputed, form];
    if (id) kids.push(await photoSection('producer', id));
    return page(id ? original.name : t('producer.add'), ...kids);
  }

  // The fields of a row two people set differently that the office has not
  // decided, said over its form (the values shown may change when it does;
  // a person who saw their value gone typed it again, not knowing).
  async function disputedNotice(entity, id) {
    const r = await api('GET', '/api/conflicts');
    if (!r.ok || !Array.isArray(r.data)) return null;
    const cols = [...new Set(r.data
      .filter((c) => !c.resolved_at && c.entity === entity && c.row_id === id && c.column_name !== 'deleted')
      .map((c) => c.column_name))];
    if (!cols.length) return null;
    return h('div', { class: 'notice', id: 'row-disputed', dataset: { cols: cols.join(',') } },
      h('p', null, `⚠ ${t('form.disputed', { cols: cols.map((c) => colLabel(entity, c)).join(', ') })}`),
      h('a', { class: 'button', href: '#/conflicts' }, t('form.disputed_link')));
  }

  // Rows recorded under this one (a producer's enrolments and their marks)
  // refuse a plain delete; the person is shown them and asked again.
  // `back`: the screen to go to afterwards (a hash), or what to do instead
  // (a function: redraw the list the row was in). `question`: what to ask
  // first, when "delete this?" would not say what goes.
  async function deleteRow(entity, id, back, question) {
    if (!confirm(question || t('form.confirm_delete'))) return false;
    let r = await api('DELETE', `/api/${entity}/${id}`);
    const d = r.data || {};
    if (!r.ok && d.error === 'has_children' && d.children) {
      const list = Object.entries(d.children).map(([e, n]) => `${entityLabel(e)} ${n}`).join(', ');
      // Rows under it this role may not delete (a trainer's participants
      // and marks under a field officer's producer): said, not offered as a
      // delete that would only be refused.
      const notOurs = Object.keys(d.children).filter((e) => !may(e, 'delete'));
      if (notOurs.length) {
        toast(t('form.cascade_not_yours', { list, role: roleName(state.ref && state.ref.role) }), true);
        return false;
      }
      if (!confirm(t('form.confirm_cascade', { list }))) return false;
      r = await api('DELETE', `/api/${entity}/${id}?cascade=1`);
    }
    if (r.ok) {
      const n = (r.data && r.data.rows) || 1;
      toast(n > 1 ? t('form.deleted_n', { n: n - 1 }) : t('form.deleted'));
      if (typeof back === 'function') await back();
      else if (location.hash === back) render();
      else location.hash = back;
      return true;
    }
    if (!r.stop) toast(replyMessage(r, entity), true);
    return false;
  }
  // A delete button for a form or a screen (the row's own page).
  // `name`, if given, is what the question names ("Delete the producer
  // 'กลุ่มทอผ้า'?"), so a tap on the wrong row's page is caught.
  function deleteButton(domId, entity, id, back, label, name) {
    const b = h('button', { type: 'button', class: 'danger', id: domId }, label || t('form.delete'));
    b.addEventListener('click', () => deleteRow(entity, id, back, name ? confirmNamed(entity, name) : undefined));
    return b;
  }
  function confirmNamed(entity, name) {
    return t('form.confirm_delete_named', { what: `${entityLabel(entity)} "${name}"` });
  }

  // ---- workshops ----
  async function workshopsScreen() {
    const [rows, enrolments] = await Promise.all([getJson('/api/workshop'), getJson('/api/enrolment')]);
    const count = {};
    for (const e of enrolments) count[e.workshop_id] = (count[e.workshop_id] || 0) + 1;
    const list = h('ul', { class: 'list', id: 'workshop-list' }, rows.slice().reverse().map((w) => h('li', null,
      h('a', { class: 'row-link', href: `#/workshops/${w.id}` },
        h('span', { class: 'title' }, w.title),
        h('span', { class: 'sub' }, ` · ${t('workshop.fy', { fy: w.fiscal_year })}`),
        h('span', { class: 'sub', style: null }, h('br'),
          `${fmtDate(w.start_date)} · ${t('workshop.days_n', { n: w.days })} · ${districtName(w.district_code)} · ${t('workshop.enrolled_n', { n: count[w.id] || 0 })}`)))));
    if (!rows.length) list.append(h('li', { class: 'empty' }, t('workshop.none')));
    return page(t('nav.workshops'),
      may('workshop') ? h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/workshops/new', id: 'workshop-add' }, t('workshop.add')))
        : readOnlyNotice('workshops-read-only', 'role.reads_workshops'), list);
  }

  async function workshopForm(id) {
    // An old link, or typed: a role that may not write workshops is told
    // so here, not after filling the form in.
    if (!may('workshop', id ? 'edit' : 'create')) {
      return page(t('workshop.add'), h('p', null, h('a', { class: 'back', href: id ? `#/workshops/${id}` : '#/workshops' }, `← ${t('form.back')}`)),
        readOnlyNotice('workshop-read-only', 'role.reads_workshops'));
    }
    const original = id ? await getJson(`/api/workshop/${id}`)
      : { fiscal_year: currentFiscalYear(), days: 5, district_code: defaultDistrict(), start_date: todayIso() };
    const fields = [
      { col: 'title', type: 'text', required: true },
      { col: 'fiscal_year', type: 'number', required: true, hint: t('workshop.fy_hint') },
      { col: 'venue', type: 'text' },
      { col: 'district_code', type: 'select', required: true, options: districtOpts(original.district_code) },
      { col: 'start_date', type: 'date', required: true },
      { col: 'days', type: 'number', min: 1, max: 30 },
      { col: 'target_participants', type: 'number', min: 0 },
    ];
    const form = formView('workshop', fields, original, {
      secondary: id && may('workshop', 'delete') ? deleteButton('workshop-delete', 'workshop', id, '#/workshops', null, original.title) : null,
      submit: async (values, f) => {
        // A fiscal year its start date is not in is most likely a slip
        // (2568 for 2567): the reports would count it there. Asked, not
        // refused (kbo workshop add says the same on stderr).
        const fy = wholeNumber(values.fiscal_year);
        const of = fiscalYearOfDate(values.start_date);
        if (fy >= 2500 && fy <= 2700 && of && fy !== of && !confirm(t('workshop.fy_mismatch', { fy, of, date: fmtDate(values.start_date) }))) {
          setFieldError(f, 'fiscal_year', t('workshop.fy_mismatch_field', { of }));
          return null;
        }
        const r = id ? await patch('workshop', id, values, original)
          : await api('POST', '/api/workshop', values);
        if (r.ok) { toast(t('form.saved')); location.hash = `#/workshops/${id || r.data.id}`; }
        return r;
      },
    });
    return page(id ? original.title : t('workshop.add'),
      h('p', null, h('a', { class: 'back', href: id ? `#/workshops/${id}` : '#/workshops' }, `← ${t('form.back')}`)), form);
  }

  async function workshopScreen(id, tab, dayParam) {
    const w = await getJson(`/api/workshop/${id}`);
    const days = w.days || 5;
    // (Day 0 is not day 1: an address with no day is.)
    const asked = dayParam === undefined || dayParam === '' ? 1 : parseInt(dayParam, 10);
    const day = Math.min(Math.max(asked, 1), days);
    const tabs = h('div', { class: 'actions' },
      h('a', { class: `button ${tab === 'rollcall' ? 'primary' : ''}`, href: `#/workshops/${id}/rollcall/${day}`, id: 'tab-rollcall' }, t('workshop.rollcall')),
      h('a', { class: `button ${tab === 'people' ? 'primary' : ''}`, href: `#/workshops/${id}/people`, id: 'tab-people' }, t('workshop.people')),
      may('workshop', 'edit') ? h('a', { class: 'button', href: `#/workshops/${id}/edit`, id: 'workshop-edit' }, t('form.edit')) : null);
    const info = h('p', { class: 'sub' },
      `${t('workshop.fy', { fy: w.fiscal_year })} · ${fmtDate(w.start_date)} · ${t('workshop.days_n', { n: days })} · ${districtName(w.district_code)}${w.venue ? ' · ' + w.venue : ''}`);
    // A day the workshop does not have (an old link, or it was shortened):
    // said, and no other day's roll call drawn in its place.
    const body = tab === 'people' ? await peopleView(w)
      : asked !== day ? h('section', null,
        h('p', { class: 'notice', id: 'rc-no-day' }, t('rollcall.no_such_day', { n: asked, days })),
        h('div', { class: 'days' }, Array.from({ length: days }, (_, i) => i + 1).map((d) =>
          h('a', { class: 'button', href: `#/workshops/${id}/rollcall/${d}`, dataset: { day: d } }, t('rollcall.day_n', { n: d })))))
        : await rollCallView(w, day);
    return page(w.title, h('p', null, h('a', { class: 'back', href: '#/workshops' }, `← ${t('nav.workshops')}`)), info, tabs, body);
  }

  async function peopleView(w) {
    const [producers, enrolments] = await Promise.all([getJson('/api/producer'), getJson(`/api/enrolment?workshop_id=${w.id}`)]);
    const byId = Object.fromEntries(producers.map((p) => [p.id, p]));
    const gone = await deletedProducers(enrolments.map((e) => e.producer_id).filter((id) => !byId[id]));
    const list = h('ol', { class: 'list', id: 'enrolment-list' }, enrolments.map((e) => h('li', null,
      h('a', { class: 'row-link', href: `#/workshops/${w.id}/people/${e.id}`, dataset: { enrolment: e.id } },
        h('span', { class: 'title' }, e.participant_name),
        h('span', { class: 'sub' }, ` · ${byId[e.producer_id] ? byId[e.producer_id].name : ''}`),
        gone[e.producer_id] ? h('span', { class: 'notice-inline producer-gone' }, h('br'), t('product.producer_deleted', { name: gone[e.producer_id] })) : null,
        h('span', { class: 'sub go' }, ` › ${t('person.open', { n: w.days || 5 })}`)))));
    if (!enrolments.length) list.append(h('li', { class: 'empty' }, t('workshop.no_people')));
    const form = formView('enrolment', [
      { col: 'producer_id', type: 'picker', required: true, rows: producers, rowLabel: producerLabel, rowSearch: producerSearch,
        onPick: (p) => { const n = form.querySelector('input[name="participant_name"]'); if (p && !n.value) n.value = p.contact || ''; } },
      { col: 'participant_name', type: 'text', required: true },
    ], {}, {
      submitLabel: t('workshop.enrol'),
      submit: async (values) => {
        const r = await api('POST', '/api/enrolment', Object.assign({ workshop_id: w.id }, values));
        if (r.ok) { toast(t('form.saved')); render(); }
        return r;
      },
    });
    return h('section', null, ...(may('enrolment') ? [h('h2', null, t('workshop.enrol_title')), form]
      : [readOnlyNotice('people-read-only', 'role.reads_workshops')]),
      h('h2', null, t('workshop.people_n', { n: enrolments.length })), list);
  }

  // One participant over the course: each day's mark (with its date and
  // note; a day links to that day's roll-call) and their producer's
  // products with the latest progress.
  async function personScreen(wsId, enrolmentId) {
    const [w, e, marks] = await Promise.all([getJson(`/api/workshop/${wsId}`), getJson(`/api/enrolment/${enrolmentId}`),
      getJson(`/api/attendance?enrolment_id=${enrolmentId}`)]);
    const [producer, products] = await Promise.all([api('GET', `/api/producer/${e.producer_id}`),
      getJson(`/api/product?producer_id=${e.producer_id}`)]);
    const progress = await Promise.all(products.map((p) => getJson(`/api/progress?product_id=${p.id}`)));
    const days = w.days || 5;
    const byDay = {};
    for (const m of marks) if (m.workshop_id === w.id) byDay[m.day] = m;
    const count = { present: 0, late: 0, absent: 0, excused: 0, unmarked: 0 };
    const dayList = h('ol', { class: 'list person-days', id: 'person-days' }, Array.from({ length: days }, (_, i) => {
      const day = i + 1;
      const m = byDay[day];
      const s = m ? m.status : null;
      count[s || 'unmarked'] += 1;
      return h('li', { dataset: { day, status: s || '' } },
        h('a', { class: 'row-link day-row', href: `#/workshops/${w.id}/rollcall/${day}` },
          h('span', { class: 'day-name' }, h('span', { class: 'title' }, t('rollcall.day_n', { n: day })), h('br'),
            h('span', { class: 'sub' }, dayDate(w, day))),
          h('span', { class: `mark ${s || 'unmarked'}` }, s ? `${STATUS_MARK[s]} ${named('statuses', s)}` : t('rollcall.unmarked')),
          m && m.note ? h('span', { class: 'sub day-note' }, m.note) : null));
    }));
    const summary = h('p', { class: 'counts', id: 'person-counts' }, ['present', 'late', 'absent', 'excused', 'unmarked'].map((k) =>
      h('span', { dataset: { count: k } }, `${k === 'unmarked' ? t('rollcall.unmarked') : named('statuses', k)} ${count[k]}`)));
    const producerName = producer.ok ? producer.data.name : '';
    const productList = h('ul', { class: 'list', id: 'person-products' }, products.map((p, i) => {
      const last = progress[i].length ? progress[i][progress[i].length - 1] : null;
      return h('li', null, h('a', { class: 'row-link', href: `#/products/${p.id}` },
        h('span', { class: 'title' }, p.name), h('span', { class: 'badge' }, named('stages', p.stage)), h('br'),
        h('span', { class: 'sub' }, last ? `${named('stages', last.stage)}${last.percent != null ? ` · ${last.percent}%` : ''}${last.notes ? ` · ${last.notes}` : ''}`
          : t('person.no_progress'))));
    }));
    if (!products.length) productList.append(h('li', { class: 'empty' }, t('person.no_products')));
    // Enrolled by mistake (the wrong person, the wrong workshop): taken out,
    // with their marks once the person has been told how many.
    const remove = h('button', { type: 'button', class: 'danger', id: 'enrolment-delete' }, t('person.remove'));
    remove.addEventListener('click', () => deleteRow('enrolment', e.id, `#/workshops/${w.id}/people`,
      t('person.confirm_remove', { name: e.participant_name, workshop: w.title })));
    return page(e.participant_name,
      h('p', null, h('a', { class: 'back', href: `#/workshops/${w.id}/people` }, `← ${w.title}`)),
      h('p', { class: 'sub' }, `${producerName}${producerName ? ' · ' : ''}${t('person.title')}`),
      h('h2', null, t('person.days', { n: days })), summary, dayList,
      h('h2', null, t('person.products', { name: producerName || e.participant_name })), productList,
      may('enrolment', 'delete') ? h('div', { class: 'actions' }, remove) : null);
  }

  // Roll-call writes not yet made outlive the page (its queue does not: a
  // reload, a closed tab, the phone's browser killed): each is kept in
  // localStorage, with the device it is for, until its answer comes, and a
  // new page makes what is left, in order, before it draws a roll-call (and
  // when it starts). One made twice records the same value again.
  const KEPT_KEY = 'kbo.kept-writes';
  let keptSeq = 0;
  let sendingKept = null;
  const keptList = () => {
    try {
      const v = JSON.parse(localStorage.getItem(KEPT_KEY) || '[]');
      return Array.isArray(v) ? v : [];
    } catch (e) { return []; }
  };
  const keptSave = (list) => {
    try {
      if (list.length) localStorage.setItem(KEPT_KEY, JSON.stringify(list));
      else localStorage.removeItem(KEPT_KEY);
    } catch (e) { /* storage full or blocked: the page's queue still makes it */ }
  };
  // The one mark a kept write is about ('' for a sheet of marks).
  const keptCell = (k) => {
    const b = k.kind === 'clear' ? k : k.body || {};
    return b.enrolment_id ? `${b.workshop_id}/${b.enrolment_id}/${b.day}` : '';
  };
  function keepWrite(write) {
    const key = `${Date.now()}-${keptSeq++}`;
    // A later tap or clear of the same mark supersedes one still kept (its
    // answer never came): made later, the older one would undo it.
    const cell = keptCell(write);
    const device = state.deviceId || '';
    const all = keptList();
    const left = all.filter((k) => !cell || keptCell(k) !== cell || (k.device && k.device !== device));
    // What the superseded taps saw and made, this one saw too (the person
    // tapped through them): the store holding any of them is no change
    // made since by someone else (the first may have been saved, its
    // answer lost, or not).
    let kept = { ...write, key, device };
    if (write.kind === 'mark' && write.body) {
      const gone = all.filter((k) => !left.includes(k) && k.kind === 'mark' && k.body);
      if (gone.length) {
        const seenOf = (col) => {
          const out = [];
          const add = (v) => { const x = Array.isArray(v) ? v : [v === undefined || v === null ? '' : v]; for (const y of x) if (!out.includes(y)) out.push(y); };
          for (const k of gone) { add(k.body[`seen_${col}`]); if (col in k.body) add(k.body[col]); }
          add(write.body[`seen_${col}`]);
          return out;
        };
        // (In place: the tap sent now names them too, when the one before
        // it never reached the store.)
        const seenNote = 'seen_note' in write.body ? seenOf('note') : undefined;
        write.body.seen_status = seenOf('status');
        if (seenNote !== undefined) write.body.seen_note = seenNote;
        kept = { ...write, key, device };
      }
    }
    keptSave([...left, kept]);
    return key;
  }
  const forgetWrite = (key) => keptSave(keptList().filter((x) => x.key !== key));
  function sendKeptWrites() {
    if (!sendingKept) sendingKept = sendKept().finally(() => { sendingKept = null; });
    return sendingKept;
  }
  async function sendKept() {
    if (!keptList().length && state.deviceId) return;
    const st = await api('GET', '/api/status');
    if (!st.ok || !st.data) return;
    state.deviceId = st.data.device_id;
    // Kept taps whose mark was changed since (a sync brought a colleague's):
    // not made, and said so, not written over the newer mark.
    let changedSince = 0;
    for (const k of keptList()) {
      if (k.device && k.device !== state.deviceId) continue;  // another home's: left for it
      let r;
      if (k.kind === 'clear') {
        const rc = await api('GET', `/api/workshop/${k.workshop_id}/rollcall?day=${k.day}`);
        if (rc.status === 0 || rc.status === 401) return;
        const row = rc.ok && rc.data && Array.isArray(rc.data.rows) ? rc.data.rows.find((x) => x.enrolment_id === k.enrolment_id) : null;
        r = row && row.attendance_id ? await api('DELETE', `/api/attendance/${row.attendance_id}`) : { ok: true, status: 200 };
      } else {
        r = await api('POST', '/api/attendance', k.body);
      }
      // Not reachable, or locked: made later. Anything else was answered.
      if (r.status === 0 || r.status === 401) return;
      if (r.status === 409 && r.data && r.data.error === 'changed_since') changedSince += 1;
      forgetWrite(k.key);
    }
    if (changedSince) toast(t('rollcall.kept_changed', { n: changedSince }), true);
  }

  // Roll-call: one tap cycles present → late → absent → excused; each tap is
  // saved at once as one action, in the order tapped.
  async function rollCallView(w, day) {
    await sendKeptWrites();
    const rc = await getJson(`/api/workshop/${w.id}/rollcall?day=${day}`);
    // A role that does not mark attendance (a field officer) reads the
    // roll-call: no buttons that would only be refused.
    const canMark = may('attendance', 'create') && may('attendance', 'edit');
    let queue = Promise.resolve();
    let pending = 0;
    // The rows whose last tap this app did not answer (kept on the phone,
    // saved when the roll-call is drawn again): not "every tap saved".
    const unsent = new Set();
    const pendingEl = h('span', { id: 'rc-pending', dataset: { pending: '0' } });
    const counts = h('div', { class: 'counts', id: 'rc-counts' });
    const setPending = (d) => {
      pending += d;
      pendingEl.dataset.pending = String(pending);
      // What it says is of the taps: "every tap saved", not "attendance
      // complete" (it read so beside people not yet marked). Not over an
      // empty roll-call, nor on one this device only reads.
      pendingEl.dataset.unsent = String(unsent.size);
      pendingEl.textContent = pending ? t('rollcall.saving', { n: pending })
        : unsent.size ? t('rollcall.unsent', { n: unsent.size })
          : rc.rows.length && canMark ? t('rollcall.all_saved') : '';
    };
    const drawCounts = () => {
      const c = { present: 0, late: 0, absent: 0, excused: 0, unmarked: 0 };
      for (const r of rc.rows) c[r.status || 'unmarked'] += 1;
      counts.replaceChildren(...['present', 'late', 'absent', 'excused', 'unmarked'].map((s) =>
        h('span', { dataset: { count: s } }, `${s === 'unmarked' ? t('rollcall.unmarked') : named('statuses', s)} ${c[s]}`)));
    };
    const save = (row, status, note, seen) => {
      setPending(1);
      const body = { workshop_id: w.id, enrolment_id: row.enrolment_id, day, status };
      // What the row showed before this tap: a mark changed since (a sync
      // brought a colleague's, another screen tapped it, or this tap is
      // kept and made later) is refused, not written over unseen.
      body.seen_status = seen.status || '';
      if (note !== undefined) body.seen_note = seen.note || '';
      // A tap on the status sends no note: the one recorded (perhaps by a
      // colleague, synced since this screen was drawn) is kept. The note
      // form sends what it holds, '' to clear it.
      if (note !== undefined) body.note = note;
      // The mark's id is known once it is saved (a clear queued behind the
      // tap deletes it by that id).
      const key = keepWrite({ kind: 'mark', body });
      const p = queue.then(() => api('POST', '/api/attendance', body)).then((r) => {
        if (r.status !== 0) forgetWrite(key);
        if (r.status === 0) unsent.add(row.enrolment_id);
        else unsent.delete(row.enrolment_id);
        if (r.ok && r.data && r.data.id) row.attendance_id = r.data.id;
        return r;
      });
      queue = p.catch(() => null);
      return p.finally(() => setPending(-1));
    };
    const rowView = (row) => {
      const li = h('li', { class: 'rc-row', dataset: { enrolment: row.enrolment_id } });
      const btn = h('button', { type: 'button', class: 'st' });
      const noteBtn = h('button', { type: 'button', class: 'note-btn', 'aria-label': t('rollcall.note') }, '✎');
      const noteLine = h('div', { class: 'rc-note' });
      const errLine = h('p', { class: 'rc-error', role: 'alert', hidden: true });
      const extra = h('div', { class: 'rc-extra', hidden: true });
      let saved = { status: row.status, note: row.note };
      const draw = () => {
        const s = row.status;
        btn.className = `st ${s || 'unmarked'}`;
        btn.dataset.status = s || '';
        btn.textContent = s ? `${STATUS_MARK[s]} ${named('statuses', s)}` : t('rollcall.tap');
        btn.setAttribute('aria-label', `${row.participant_name}: ${s ? named('statuses', s) : t('rollcall.unmarked')}`);
        noteBtn.classList.toggle('has-note', !!row.note);
        noteLine.textContent = row.note || '';
        noteLine.hidden = !row.note;
      };
      // `seen`: the mark as the row showed it before this tap or note.
      const commit = async (withNote, seen) => {
        li.classList.add('saving');
        errLine.hidden = true;
        const r = await save(row, row.status, withNote ? (row.note || '') : undefined, seen);
        li.classList.remove('saving');
        li.classList.toggle('unsent', r.status === 0);
        if (r.ok) {
          saved = { status: row.status, note: row.note };
        } else if (r.status === 409 && r.data && r.data.error === 'changed_since') {
          // Changed since it was drawn: shown as it is now, and said so.
          const now = await api('GET', `/api/workshop/${w.id}/rollcall?day=${day}`);
          const held = now.ok && now.data && Array.isArray(now.data.rows) ? now.data.rows.find((x) => x.enrolment_id === row.enrolment_id) : null;
          row.status = held ? held.status : saved.status;
          row.note = held ? held.note : saved.note;
          if (held) row.attendance_id = held.attendance_id;
          saved = { status: row.status, note: row.note };
          draw(); drawCounts();
          errLine.textContent = t('rollcall.changed_since', { status: row.status ? named('statuses', row.status) : t('rollcall.unmarked') });
          errLine.hidden = false;
        } else if (r.status === 0) {
          // Kept (keepWrite) and made when a roll-call is drawn again: the
          // row goes on showing what was tapped, not what was before.
          errLine.textContent = t('rollcall.kept_unsent');
          errLine.hidden = false;
        } else if (!r.stop) {
          errLine.textContent = replyMessage(r, 'attendance');
          errLine.hidden = false;
          row.status = saved.status; row.note = saved.note;
          draw(); drawCounts();
        }
        return r;
      };
      if (!canMark) btn.disabled = true;
      if (!canMark) noteBtn.hidden = true;
      btn.addEventListener('click', () => {
        if (!canMark) return;
        const seen = { status: row.status, note: row.note };
        const i = STATUS_CYCLE.indexOf(row.status);
        row.status = STATUS_CYCLE[(i + 1) % STATUS_CYCLE.length];
        draw(); drawCounts();
        commit(false, seen);
      });
      noteBtn.addEventListener('click', () => {
        if (!extra.hidden) { extra.hidden = true; return; }
        // A note may hold line breaks (typed on a device, imported from a
        // sheet): a text box keeps them, a one-line input would drop them.
        const input = h('textarea', { rows: 2, value: row.note || '', maxlength: TEXT_MAX_UNITS, 'aria-label': t('rollcall.note'), name: 'note', placeholder: t('rollcall.note_hint') });
        const ok = h('button', { type: 'submit', class: 'primary' }, t('form.save'));
        // A mark tapped on the wrong name goes back to not marked (the
        // mark is deleted, after every tap before it is saved).
        const clear = row.status ? h('button', { type: 'button', class: 'danger rc-clear' }, t('rollcall.clear')) : null;
        if (clear) clear.addEventListener('click', async () => {
          if (!confirm(t('rollcall.confirm_clear', { name: row.participant_name, n: day }))) return;
          setPending(1);
          li.classList.add('saving');
          errLine.hidden = true;
          // No id here (a tap whose answer never came, kept): the store is
          // asked which mark it holds, as a kept clear does.
          const key = keepWrite({ kind: 'clear', workshop_id: w.id, enrolment_id: row.enrolment_id, day });
          const clearIt = async () => {
            let id = row.attendance_id;
            if (!id) {
              const now = await api('GET', `/api/workshop/${w.id}/rollcall?day=${day}`);
              if (now.status === 0) return now;
              const held = now.ok && now.data && Array.isArray(now.data.rows) ? now.data.rows.find((x) => x.enrolment_id === row.enrolment_id) : null;
              id = held && held.attendance_id;
            }
            return id ? api('DELETE', `/api/attendance/${id}`) : { ok: true, status: 200 };
          };
          const p = queue.then(clearIt)
            .then((res) => { if (res.status !== 0) forgetWrite(key); return res; });
          queue = p.catch(() => null);
          const r = await p.finally(() => setPending(-1));
          li.classList.remove('saving');
          if (r.ok) {
            row.status = null; row.note = null; row.attendance_id = null;
            saved = { status: null, note: null };
            extra.hidden = true;
            draw(); drawCounts();
            toast(t('rollcall.cleared'));
          } else if (r.status === 0) {
            // The clear is kept and made later: shown as cleared, as a kept
            // tap is shown as tapped.
            row.status = null; row.note = null; row.attendance_id = null;
            extra.hidden = true;
            draw(); drawCounts();
            errLine.textContent = t('rollcall.kept_unsent');
            errLine.hidden = false;
          } else if (!r.stop) {
            errLine.textContent = replyMessage(r, 'attendance');
            errLine.hidden = false;
          }
        });
        const f = h('form', { class: 'note-form' }, input, ok, clear);
        f.addEventListener('submit', async (ev) => {
          ev.preventDefault();
          if (!row.status) { errLine.textContent = t('rollcall.status_first'); errLine.hidden = false; return; }
          const seen = { status: row.status, note: row.note };
          row.note = input.value;
          draw();
          const r = await commit(true, seen);
          if (r.ok) extra.hidden = true;
        });
        extra.replaceChildren(f);
        extra.hidden = false;
        input.focus();
      });
      draw();
      // Marked from outside the row (everyone else present): saved as shown.
      row.markSaved = () => { saved = { status: row.status, note: row.note }; draw(); };
      // Set differently by two people, not yet decided: the value shown may
      // change when the office decides (the conflicts screen has both).
      const disputed = row.disputed ? h('span', { class: 'rc-disputed' }, `⚠ ${t('rollcall.disputed')}`) : null;
      li.append(btn, h('div', { class: 'rc-name' }, h('span', { class: 'n' }, row.participant_name),
        h('span', { class: 'p' }, row.producer_deleted ? t('product.producer_deleted', { name: row.producer_name || '' }) : (row.producer_name || '')),
        disputed), noteBtn, noteLine, extra, errLine);
      return li;
    };
    const dayBtns = h('div', { class: 'days', role: 'group', 'aria-label': t('rollcall.day') },
      h('span', { class: 'days-label' }, t('rollcall.day')),
      Array.from({ length: rc.days }, (_, i) => i + 1).map((d) => h('a', {
        class: `button ${d === day ? 'primary' : ''}`, href: `#/workshops/${w.id}/rollcall/${d}`,
        'aria-current': d === day ? 'true' : null, 'aria-label': t('rollcall.day_n', { n: d }), dataset: { day: d },
      }, String(d))));
    const allPresent = h('button', { type: 'button', id: 'rc-all-present' }, t('rollcall.rest_present'));
    allPresent.addEventListener('click', async () => {
      const rest = rc.rows.filter((r) => !r.status);
      if (!rest.length) return;
      allPresent.disabled = true;
      setPending(1);
      const marks = rest.map((r) => ({ workshop_id: w.id, enrolment_id: r.enrolment_id, day, status: 'present' }));
      // Only marks still empty on the device: one recorded meanwhile (another
      // screen, an import) is not overwritten by this sheet's old view.
      const key = keepWrite({ kind: 'mark', body: { marks, only_unmarked: true } });
      const p = queue.then(() => api('POST', '/api/attendance', { marks, only_unmarked: true }))
        .then((res) => { if (res.status !== 0) forgetWrite(key); return res; });
      queue = p.catch(() => null);
      const r = await p;
      setPending(-1);
      allPresent.disabled = false;
      if (r.ok && !(r.data && r.data.kept > 0) && r.data && Array.isArray(r.data.ids) && r.data.ids.length === rest.length) {
        // Marked as sent: the rows are set in place, not drawn again, so a
        // note being typed on another row is not lost.
        // (A row tapped while this was saving keeps its tap: it went after.)
        rest.forEach((row, i) => {
          row.attendance_id = r.data.ids[i];
          if (row.status) return;
          row.status = 'present';
          row.markSaved();
        });
        drawCounts();
      } else if (r.ok) {
        // Some were marked meanwhile: the roll-call as it now stands.
        if (r.data && r.data.kept > 0) toast(t('rollcall.kept_meanwhile', { n: r.data.kept }));
        render();
      } else if (r.status === 0) toast(t('rollcall.kept_unsent'), true);
      else if (!r.stop) toast(replyMessage(r, 'attendance'), true);
    });
    drawCounts();
    setPending(0);
    const list = h('ol', { class: 'rollcall', id: 'rollcall' }, rc.rows.map(rowView));
    if (!rc.rows.length) list.append(h('li', { class: 'empty' }, t('workshop.no_people')));
    // Marks on days past the workshop's last: kept, and said so.
    const beyond = rc.beyond_days ? h('p', { class: 'notice', id: 'rc-beyond', dataset: { marks: rc.beyond_days.marks } },
      t('rollcall.beyond', { ...rc.beyond_days, days: rc.days })) : null;
    // A day after today (Thailand): nobody has attended it yet; marks are
    // taken, but the screen says so (the wrong day tapped, or the wrong
    // workshop).
    const dayIso = dayIsoOf(w, day);
    const future = dayIso && dayIso > todayIso()
      ? h('p', { class: 'notice', id: 'rc-future' }, t('rollcall.future', { n: day, date: fmtDate(dayIso) })) : null;
    return h('section', null, beyond, dayBtns, future,
      h('div', { class: 'rc-head' }, h('strong', null, t('rollcall.title', { n: day, date: dayDate(w, day) })), counts, pendingEl),
      canMark ? h('p', { class: 'hint' }, t('rollcall.hint')) : readOnlyNotice('rc-read-only', 'role.reads_rollcall'), list,
      rc.rows.length && canMark ? h('div', { class: 'actions' }, allPresent) : null);
  }
  function dayIsoOf(w, day) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(w.start_date || '');
    if (!m) return '';
    return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3] + day - 1)).toISOString().slice(0, 10);
  }
  function dayDate(w, day) {
    const iso = dayIsoOf(w, day);
    return iso ? fmtDate(iso) : '';
  }

  // ---- visits ----
  async function visitsScreen() {
    const [visits, producers] = await Promise.all([getJson('/api/visit'), getJson('/api/producer')]);
    const byId = Object.fromEntries(producers.map((p) => [p.id, p]));
    // A visit whose producer was deleted (on another device, synced here)
    // is titled by that producer's name and says so, not by a raw id.
    const gone = await deletedProducers(visits.map((v) => v.producer_id).filter((id) => !byId[id]));
    const sorted = visits.slice().sort((a, b) => (a.visited_at < b.visited_at ? 1 : -1));
    const list = h('ul', { class: 'list', id: 'visit-list' }, sorted.map((v) => h('li', { dataset: { visit: v.id } },
      h('a', { class: 'row-link', href: `#/visits/${v.id}` },
        h('span', { class: 'title' }, byId[v.producer_id] ? byId[v.producer_id].name : (gone[v.producer_id] || v.producer_id)),
        h('span', { class: 'sub' }, ` · ${fmtDateTime(v.visited_at)}`),
        gone[v.producer_id] ? h('span', { class: 'notice-inline producer-gone' }, h('br'), t('product.producer_deleted', { name: gone[v.producer_id] })) : null,
        v.purpose ? h('span', { class: 'sub' }, h('br'), purposeText(v.purpose)) : null,
        v.follow_up ? h('span', { class: 'sub' }, h('br'), `${t('col.follow_up')}: ${v.follow_up}`) : null))));
    if (!visits.length) list.append(h('li', { class: 'empty' }, t('visit.none')));
    return page(t('nav.visits'),
      h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/visits/new', id: 'visit-add' }, t('visit.new'))), list);
  }

  async function visitForm(producerId) {
    const producers = await getJson('/api/producer');
    const geoStatus = h('p', { class: 'hint', id: 'geo-status' }, t('visit.geo_manual'));
    const geoBtn = h('button', { type: 'button', id: 'geo' }, t('visit.use_location'));
    const fields = [
      { col: 'producer_id', type: 'picker', required: true, rows: producers, rowLabel: producerLabel, rowSearch: producerSearch },
      { col: 'visited_at', type: 'datetime', required: true },
      { node: h('div', { class: 'field' }, h('span', { class: 'label' }, t('visit.location')), geoStatus, h('div', { class: 'actions' }, geoBtn)) },
      { node: h('div', { class: 'two' }, fieldView('visit', { col: 'lat', type: 'decimal' }), fieldView('visit', { col: 'lon', type: 'decimal' })) },
      { col: 'accuracy_m', type: 'decimal' },
      { col: 'purpose', type: 'text', list: 'purpose-list' },
      { col: 'notes', type: 'textarea' },
      { col: 'follow_up', type: 'textarea' },
      { col: 'next_visit', type: 'date' },
      { node: photoField('photo') },
      { col: 'photo_caption', type: 'text', label: t('col.caption') },
    ];
    const form = formView('visit', fields, { producer_id: producerId || '', visited_at: localInputNow() }, {
      submit: async (values, f) => {
        const check = checkPhoto(f, 'photo');
        if (!check.ok) return null;
        if (!visitTimeConfirmed(f, values.visited_at)) return null;
        const fd = new FormData();
        for (const [k, v] of Object.entries(values)) {
          if (k === 'photo_caption') continue;
          fd.append(k, k === 'visited_at' ? localInputToUtc(v) : v);
        }
        if (check.file) {
          fd.append('photo', check.file, check.file.name || 'photo.jpg');
          fd.append('photo_caption', values.photo_caption || '');
        }
        const r = await api('POST', '/api/visit', fd);
        if (r.ok) { savedToast(r); location.hash = `#/visits/${r.data.id}`; }
        return r;
      },
    });
    form.append(h('datalist', { id: 'purpose-list' }, ['purpose.follow_up', 'purpose.product_dev', 'purpose.packaging', 'purpose.marketing', 'purpose.register']
      .map((k) => h('option', { value: t(k) }))));
    const setPos = (pos) => {
      form.querySelector('input[name="lat"]').value = pos.coords.latitude.toFixed(6);
      form.querySelector('input[name="lon"]').value = pos.coords.longitude.toFixed(6);
      form.querySelector('input[name="accuracy_m"]').value = Math.round(pos.coords.accuracy || 0);
      // Kept with what is typed (a position taken at the producer's
      // outlives a reload elsewhere).
      for (const n of ['lat', 'lon', 'accuracy_m']) form.querySelector(`input[name="${n}"]`).dataset.typed = '1';
      form.dispatchEvent(new Event('change'));
      geoStatus.textContent = t('visit.geo_ok', { m: Math.round(pos.coords.accuracy || 0) });
      geoStatus.dataset.state = 'ok';
    };
    const locate = () => {
      if (!navigator.geolocation || !window.isSecureContext) {
        geoStatus.textContent = t('visit.geo_unavailable');
        geoStatus.dataset.state = 'unavailable';
        return;
      }
      geoStatus.textContent = t('visit.geo_wait');
      navigator.geolocation.getCurrentPosition(setPos, () => {
        geoStatus.textContent = t('visit.geo_denied');
        geoStatus.dataset.state = 'denied';
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    };
    geoBtn.addEventListener('click', locate);
    // Ask without a button press only when the person has already allowed it.
    if (navigator.permissions && navigator.geolocation && window.isSecureContext) {
      navigator.permissions.query({ name: 'geolocation' }).then((p) => { if (p.state === 'granted') locate(); }).catch(() => {});
    }
    return page(t('visit.new'), h('p', null, h('a', { class: 'back', href: '#/visits' }, `← ${t('nav.visits')}`)), form);
  }

  async function visitScreen(id) {
    const v = await getJson(`/api/visit/${id}`);
    const p = await api('GET', `/api/producer/${v.producer_id}`);
    const producerGone = p.ok && p.data.deleted
      ? h('p', { class: 'notice', id: 'visit-producer-deleted' }, t('visit.producer_deleted_long', { name: p.data.name })) : null;
    const kv = h('dl', { class: 'kv' },
      [['producer_id', p.ok ? p.data.name : v.producer_id], ['visited_at', fmtDateTime(v.visited_at)],
        ['lat', v.lat != null ? `${v.lat}, ${v.lon}${v.accuracy_m != null ? ` (±${Math.round(v.accuracy_m)} ${state.lang === 'th' ? 'ม.' : 'm'})` : ''}` : ''],
        ['purpose', purposeText(v.purpose)], ['notes', v.notes], ['follow_up', v.follow_up], ['next_visit', fmtDate(v.next_visit)]]
        .filter(([, val]) => val).map(([k, val]) => [h('dt', null, k === 'lat' ? t('visit.location') : colLabel('visit', k)), h('dd', null, val)]));
    return page(t('visit.title'), h('p', null, h('a', { class: 'back', href: '#/visits' }, `← ${t('nav.visits')}`)), producerGone, kv,
      h('div', { class: 'actions' },
        may('visit', 'edit') ? h('a', { class: 'button', href: `#/visits/${id}/edit`, id: 'visit-edit' }, t('form.edit')) : null,
        deleteButton('visit-delete', 'visit', id, '#/visits', null,
          `${p.ok ? p.data.name : ''} ${fmtDateTime(v.visited_at)}`.trim())),
      await photoSection('visit', id));
  }

  // A visit put right where it shows (a wrong time, a typo in its notes):
  // its position, taken at the producer's, stays unless changed here (a
  // delete and a new visit lost it).
  async function visitEditForm(id) {
    const v = await getJson(`/api/visit/${id}`);
    const original = { ...v, visited_at: utcToLocalInput(v.visited_at), purpose: purposeText(v.purpose) };
    const fields = [
      { col: 'visited_at', type: 'datetime', required: true },
      { node: h('div', { class: 'two' }, fieldView('visit', { col: 'lat', type: 'decimal' }, original.lat),
        fieldView('visit', { col: 'lon', type: 'decimal' }, original.lon)) },
      { col: 'accuracy_m', type: 'decimal' },
      { col: 'purpose', type: 'text' },
      { col: 'notes', type: 'textarea' },
      { col: 'follow_up', type: 'textarea' },
      { col: 'next_visit', type: 'date' },
    ];
    const form = formView('visit', fields, original, {
      submit: async (values, f) => {
        const diff = changed(values, original);
        if (!Object.keys(diff).length) {
          toast(t('form.no_changes'));
          location.hash = `#/visits/${id}`;
          return { ok: true, status: 200, data: { id } };
        }
        if (diff.visited_at !== undefined) {
          if (!visitTimeConfirmed(f, diff.visited_at)) return null;
          diff.visited_at = localInputToUtc(diff.visited_at);
        }
        const r = await patchSeen('visit', id, diff, v);
        if (r.ok) { toast(t('form.saved')); location.hash = `#/visits/${id}`; }
        // Told what it holds now: the form's own view follows the row, so
        // the next save sends only what still differs.
        if (r.status === 409) for (const k of Object.keys(r.data.fields || {})) original[k] = k === 'visited_at' ? utcToLocalInput(v[k]) : k === 'purpose' ? purposeText(v[k]) : v[k];
        return r;
      },
    });
    return page(t('visit.edit'), h('p', null, h('a', { class: 'back', href: `#/visits/${id}` }, `← ${t('form.back')}`)), form);
  }

  // ---- products ----
  async function productsScreen() {
    const [products, producers, progress] = await Promise.all([getJson('/api/product'), getJson('/api/producer'), getJson('/api/progress')]);
    const byId = Object.fromEntries(producers.map((p) => [p.id, p]));
    const latest = {};
    for (const e of progress) latest[e.product_id] = e;
    // A product whose producer was deleted (on another device, synced
    // here) is said so, not shown with an empty producer.
    // The latest entry's percent is of its stage: shown beside the
    // product's stage only when that is the same stage.
    const pct = (p) => {
      const e = latest[p.id];
      return e && e.percent != null && e.stage === p.stage ? ` · ${e.percent}%` : '';
    };
    const gone = await deletedProducers(products.map((p) => p.producer_id).filter((id) => !byId[id]));
    const list = h('ul', { class: 'list', id: 'product-list' }, products.map((p) => h('li', { dataset: { product: p.id } },
      h('a', { class: 'row-link', href: `#/products/${p.id}` },
        h('span', { class: 'title' }, p.name), h('span', { class: 'badge' }, named('stages', p.stage)),
        h('span', { class: 'sub' }, h('br'), `${byId[p.producer_id] ? byId[p.producer_id].name : ''}${p.category ? ' · ' + named('categories', p.category) : ''}${pct(p)}`),
        gone[p.producer_id] ? h('span', { class: 'notice-inline producer-gone' }, h('br'), t('product.producer_deleted', { name: gone[p.producer_id] })) : null))));
    if (!products.length) list.append(h('li', { class: 'empty' }, t('product.none')));
    return page(t('nav.products'),
      h('div', { class: 'actions' }, h('a', { class: 'button primary', href: '#/products/new', id: 'product-add' }, t('product.add'))), list);
  }

  // Of these producer ids, those of producers held here deleted: id -> name.
  async function deletedProducers(ids) {
    const out = {};
    for (const id of [...new Set(ids)]) {
      const r = await api('GET', `/api/producer/${id}`);
      if (r.ok && r.data.deleted) out[id] = r.data.name;
    }
    return out;
  }

  async function productForm(id) {
    const producers = await getJson('/api/producer');
    const original = id ? await getJson(`/api/product/${id}`) : { stage: 'idea' };
    const fields = [
      { col: 'producer_id', type: 'picker', required: true, rows: producers, rowLabel: producerLabel, rowSearch: producerSearch },
      { col: 'name', type: 'text', required: true },
      { col: 'category', type: 'select', options: opts('categories') },
      { col: 'stage', type: 'select', options: opts('stages'), hint: t('product.stage_hint') },
      { col: 'description', type: 'textarea' },
      { col: 'identity_story', type: 'textarea' },
    ];
    if (id) fields.shift();  // the producer is part of what the product is
    const form = formView('product', fields, original, {
      secondary: id ? deleteButton('product-delete', 'product', id, '#/products', null, original.name) : null,
      submit: async (values) => {
        const r = id ? await patch('product', id, values, original)
          : await api('POST', '/api/product', values);
        if (r.ok) { toast(t('form.saved')); location.hash = `#/products/${id || r.data.id}`; }
        return r;
      },
    });
    return page(id ? original.name : t('product.add'),
      h('p', null, h('a', { class: 'back', href: id ? `#/products/${id}` : '#/products' }, `← ${t('form.back')}`)), form);
  }

  // What a progress entry did to its product's stage (POST /api/progress
  // answers product_stage): moved ahead, or kept (never moved back).
  function stageToast(ps) {
    if (!ps) return t('form.saved');
    if (ps.moved) return t('product.stage_moved', { stage: named('stages', ps.after), before: ps.before ? named('stages', ps.before) : '—' });
    if (ps.entry_stage !== ps.after) return t('product.stage_kept', { stage: named('stages', ps.after), entry: named('stages', ps.entry_stage) });
    return t('form.saved');
  }

  async function productScreen(id) {
    const [p, entries, workshops, progressPhotos] = await Promise.all([getJson(`/api/product/${id}`), getJson(`/api/progress?product_id=${id}`),
      getJson('/api/workshop'), getJson('/api/photo?subject_type=progress')]);
    const producer = await api('GET', `/api/producer/${p.producer_id}`);
    // A photo taken with a progress entry is shown with it (it is the
    // entry's, not the product's: the photos below are the product's own).
    const photosOf = {};
    for (const ph of progressPhotos) (photosOf[ph.subject_id] = photosOf[ph.subject_id] || []).push(ph);
    const wsName = Object.fromEntries(workshops.map((w) => [w.id, w.title]));
    // An entry recorded by mistake can be deleted; the product's stage
    // stays (stages only move forward).
    const timeline = h('ol', { class: 'list', id: 'progress-list' }, entries.slice().reverse().map((e) => {
      const del = h('button', { type: 'button', class: 'danger small', dataset: { progress: e.id },
        'aria-label': `${t('form.delete')}: ${named('stages', e.stage)}` }, t('form.delete'));
      del.addEventListener('click', () => deleteRow('progress', e.id, () => render()));
      return h('li', { class: 'with-action', dataset: { progress: e.id } },
        h('div', { class: 'row-link' }, h('span', { class: 'title' }, named('stages', e.stage)),
          e.percent != null ? h('span', { class: 'badge' }, `${e.percent}%`) : null,
          e.workshop_id ? h('span', { class: 'sub' }, ` · ${wsName[e.workshop_id] || ''}`) : null,
          e.notes ? h('span', { class: 'sub' }, h('br'), e.notes) : null,
          photosOf[e.id] ? h('div', { class: 'thumbs progress-photos' }, photosOf[e.id].map((ph) => thumb(ph, () => render()))) : null), del);
    }));
    if (!entries.length) timeline.append(h('li', { class: 'empty' }, t('product.no_progress')));
    const form = formView('progress', [
      { col: 'stage', type: 'select', required: true, options: opts('stages') },
      { col: 'percent', type: 'number', min: 0, max: 100 },
      { col: 'workshop_id', type: 'select', options: workshops.map((w) => ({ value: w.id, label: w.title })) },
      { col: 'notes', type: 'textarea' },
      { node: photoField('photo') },
    ], { stage: p.stage }, {
      submitLabel: t('product.add_progress'),
      submit: async (values, f) => {
        const check = checkPhoto(f, 'photo');
        if (!check.ok) return null;
        const fd = new FormData();
        fd.append('product_id', id);
        for (const [k, v] of Object.entries(values)) fd.append(k, v);
        if (check.file) fd.append('photo', check.file, check.file.name || 'photo.jpg');
        const r = await api('POST', '/api/progress', fd);
        if (r.ok) {
          if (r.data.photo_error) savedToast(r);
          else toast(stageToast(r.data.product_stage));
          render();
        }
        return r;
      },
    });
    const producerGone = producer.ok && producer.data.deleted
      ? h('p', { class: 'notice', id: 'product-producer-deleted' }, t('product.producer_deleted_long', { name: producer.data.name })) : null;
    const kv = h('dl', { class: 'kv' },
      [['producer_id', producer.ok ? producer.data.name : ''], ['stage', named('stages', p.stage)], ['category', named('categories', p.category)],
        ['description', p.description], ['identity_story', p.identity_story]]
        .filter(([, v]) => v).map(([k, v]) => [h('dt', null, colLabel('product', k)), h('dd', null, v)]));
    return page(p.name, h('p', null, h('a', { class: 'back', href: '#/products' }, `← ${t('nav.products')}`)), producerGone, kv,
      h('div', { class: 'actions' }, h('a', { class: 'button', href: `#/products/${id}/edit` }, t('form.edit'))),
      h('h2', null, t('product.progress')), timeline, h('h2', null, t('product.add_progress')), form,
      await photoSection('product', id));
  }

  // ---- photos ----
  const SUBJECTS = ['producer', 'product', 'workshop', 'visit'];
  async function photosScreen() {
    const [photos, progress, ...lists] = await Promise.all([getJson('/api/photo'), getJson('/api/progress'), ...SUBJECTS.map((s) => getJson(`/api/${s}`))]);
    const rowsOf = Object.fromEntries(SUBJECTS.map((s, i) => [s, lists[i]]));
    // (Photos taken with a progress entry are listed too, named by their
    // product and stage; one is added on the product's page.)
    rowsOf.progress = progress;
    const producerName = Object.fromEntries(rowsOf.producer.map((p) => [p.id, p.name]));
    const productName = Object.fromEntries(rowsOf.product.map((p) => [p.id, p.name]));
    const labelOf = (type, r) => {
      if (type === 'progress') return `${productName[r.product_id] || ''} · ${named('stages', r.stage)}${r.percent != null ? ` ${r.percent}%` : ''}`;
      if (type === 'producer' || type === 'product') return r.name;
      if (type === 'workshop') return r.title;
      if (type === 'visit') return `${producerName[r.producer_id] || ''} · ${fmtDateTime(r.visited_at)}`;
      return r.id;
    };
    const typeSel = fieldView('photo', { col: 'subject_type', type: 'select', required: true, options: SUBJECTS.map((s) => ({ value: s, label: entityLabel(s) })) }, 'producer');
    const rowBox = h('div');
    const drawRows = () => {
      const type = $('select', typeSel).value;
      rowBox.replaceChildren(fieldView('photo', { col: 'subject_id', type: 'picker', required: true, rows: rowsOf[type] || [], rowLabel: (r) => labelOf(type, r) }, ''));
    };
    $('select', typeSel).addEventListener('change', drawRows);
    drawRows();
    const form = formView('photo', [{ node: typeSel }, { node: rowBox }, { node: photoField('file') }, { col: 'caption', type: 'text' }], {}, {
      submitLabel: t('photo.add'),
      submit: async (values, f) => {
        const check = checkPhoto(f, 'file');
        if (!check.ok) return null;
        if (!check.file) { setFieldError(f, 'file', t('err.choose_photo')); toast(t('form.not_saved_toast'), true); return null; }
        const fd = new FormData();
        fd.append('subject_type', values.subject_type);
        fd.append('subject_id', values.subject_id);
        fd.append('caption', values.caption || '');
        fd.append('file', check.file, check.file.name || 'photo.jpg');
        const r = await api('POST', '/api/photo', fd);
        if (r.ok) { toast(t('form.saved')); render(); }
        return r;
      },
    });
    const grid = h('div', { class: 'thumbs', id: 'photo-grid' }, photos.slice().reverse().map((p) => {
      const f = thumb(p, () => render());
      const rows = rowsOf[p.subject_type] || [];
      const row = rows.find((r) => r.id === p.subject_id);
      $('figcaption', f).prepend(h('strong', null, `${entityLabel(p.subject_type)}${row ? ': ' + labelOf(p.subject_type, row) : ''}`), h('br'));
      return f;
    }));
    if (!photos.length) grid.append(h('p', { class: 'empty' }, t('photo.none')));
    return page(t('nav.photos'), h('p', { class: 'sub' }, t('photo.hint')), form, h('h2', null, t('photo.all')), grid);
  }

  // ---- contest ----
  async function contestScreen() {
    const [products, scores, producers] = await Promise.all([getJson('/api/product'), getJson('/api/contest_score'), getJson('/api/producer')]);
    const producerName = Object.fromEntries(producers.map((p) => [p.id, p.name]));
    const criteria = state.ref.criteria;
    const contests = contestsOf(scores);
    const contest = initialContest(contests);
    if (!may('contest_score')) return contestReadOnly(scores, products, producerName, contests, contest);
    const judge = localStorage.getItem(JUDGE_KEY) || '';
    const total = h('div', { class: 'total', id: 'score-total' });
    const crit = criteria.map((c) => {
      const input = h('input', { type: 'text', inputmode: 'numeric', min: 0, max: c.max, id: `f-${c.value}`, name: c.value, 'aria-describedby': `e-${c.value}` });
      const step = (d) => () => {
        const v = Math.min(c.max, Math.max(0, (wholeNumber(input.value) || 0) + d));
        input.value = String(v);
        input.dispatchEvent(new Event('input', { bubbles: true }));
      };
      return h('div', { class: 'field criterion', dataset: { col: c.value } },
        h('label', { for: `f-${c.value}` }, `${state.lang === 'th' ? c.name_th : c.name_en} (0–${c.max})`),
        h('button', { type: 'button', 'aria-label': '−1', onclick: step(-1) }, '−'), input,
        h('button', { type: 'button', 'aria-label': '+1', onclick: step(1) }, '+'),
        h('p', { class: 'field-error', id: `e-${c.value}`, role: 'alert', hidden: true }));
    });
    const sumUp = (form) => {
      let sum = 0;
      for (const c of criteria) sum += wholeNumber(form.querySelector(`input[name="${c.value}"]`).value) || 0;
      total.textContent = t('contest.total', { n: sum });
    };
    const fill = (form) => {
      const v = readForm(form);
      // As the store matches a score again: the same product, the contest
      // and judge whatever their case or spacing (a judge typed with a
      // stray space still sees, and keeps, the recorded comment).
      const same = (x) => x.product_id === v.product_id;
      const s = scores.find((x) => same(x) && x.contest === v.contest && x.judge === v.judge)
        || scores.find((x) => same(x) && looseKey(x.contest) === looseKey(v.contest)
          && looseKey(x.judge) === looseKey(v.judge));
      for (const c of criteria) form.querySelector(`input[name="${c.value}"]`).value = s ? s[c.value] : '';
      form.querySelector('[name="comment"]').value = s && s.comment ? s.comment : '';
      shown = s || null;
      scoreDelete.hidden = !shown;
      sumUp(form);
    };
    // Nothing typed on the card yet (what a person typed is never replaced
    // by a recorded card).
    const cardEmpty = (form) => criteria.every((c) => !form.querySelector(`input[name="${c.value}"]`).value.trim())
      && !form.querySelector('[name="comment"]').value.trim();
    // The judge's scorecard shown, once recorded, can be deleted (a product
    // scored by mistake, a judge's name mistyped).
    let shown = null;
    let judgeKey = looseKey(judge);
    const scoreDelete = h('button', { type: 'button', class: 'danger', id: 'score-delete', hidden: true }, t('contest.delete'));
    scoreDelete.addEventListener('click', () => {
      if (!shown) return;
      deleteRow('contest_score', shown.id, () => render(),
        t('contest.confirm_delete', { judge: shown.judge, product: (products.find((p) => p.id === shown.product_id) || {}).name || '' }));
    });
    const form = formView('contest_score', [
      { node: contestField(contests, contest, (c, typing) => { drawRanking(c); if (!typing) fill(form); }) },
      // Another judge is another scorecard: refilled (or emptied) when the
      // name is changed, so one judge's scores are never saved as another's.
      { col: 'judge', type: 'text', required: true, onChange: (v) => {
        // Another judge, not the same name spelt again (a card being
        // corrected keeps what was typed on it).
        if (looseKey(v) === judgeKey) return;
        judgeKey = looseKey(v);
        if (shown || cardEmpty(form)) fill(form);
      } },
      { col: 'product_id', type: 'picker', required: true, rows: products, rowLabel: (p) => `${p.name} · ${producerName[p.producer_id] || ''}`, onPick: () => {
        // Scores typed before the product was picked are this product's
        // card being written: kept (they were emptied, or replaced by the
        // judge's recorded card with no word); a recorded card is said.
        if (shown || cardEmpty(form)) { fill(form); return; }
        const typed = criteria.map((c) => form.querySelector(`input[name="${c.value}"]`).value);
        const comment = form.querySelector('[name="comment"]').value;
        fill(form);
        criteria.forEach((c, i) => { form.querySelector(`input[name="${c.value}"]`).value = typed[i]; });
        form.querySelector('[name="comment"]').value = comment;
        sumUp(form);
        if (shown) toast(t('contest.typed_kept'));
      } },
      ...crit.map((node) => ({ node })),
      { node: total },
      { col: 'comment', type: 'textarea' },
    ], { contest, judge }, {
      submitLabel: t('contest.save'),
      secondary: scoreDelete,
      submit: async (values, f) => {
        const bad = contestProblem(contests, values.contest, f);
        if (bad) {
          setFieldError(f, 'contest', bad);
          toast(t('form.not_saved_toast'), true);
          return null;
        }
        values.contest = values.contest.trim();
        values.judge = values.judge.trim().replace(/\s+/g, ' ');  // as the store keeps it
        localStorage.setItem(JUDGE_KEY, values.judge);
        localStorage.setItem(CONTEST_KEY, values.contest);
        const r = await api('POST', '/api/contest_score', values);
        if (r.ok) { toast(t('form.saved')); render(); }
        return r;
      },
    });
    form.addEventListener('input', () => sumUp(form));
    sumUp(form);
    const rankingBox = h('div', { id: 'ranking-box' });
    function drawRanking(c) { rankingBox.replaceChildren(rankingView(scores, products, producerName, c.trim())); }
    drawRanking(contest);
    return page(t('nav.contest'), h('p', { class: 'sub' }, t('contest.hint')), form,
      h('h2', null, t('contest.ranking')), rankingBox);
  }

  // The contest screen of a role that does not score (a field officer): the
  // rankings, with a choice of contest, and no scorecard to be refused.
  function contestReadOnly(scores, products, producerName, contests, contest) {
    const box = h('div', { id: 'ranking-box' });
    const draw = (c) => box.replaceChildren(rankingView(scores, products, producerName, c));
    const select = h('select', { id: 'contest-view', name: 'contest_view' },
      contests.map((c) => h('option', { value: c.name, selected: c.name === contest }, t('contest.option', { contest: c.name, n: c.n }))));
    select.addEventListener('change', () => draw(select.value));
    draw(contests.some((c) => c.name === contest) ? contest : (contests[0] || { name: '' }).name);
    return page(t('nav.contest'), readOnlyNotice('contest-read-only', 'role.reads_contest'),
      contests.length ? h('div', { class: 'field' }, h('label', { for: 'contest-view' }, t('contest.choose')), select)
        : h('p', { class: 'empty', id: 'contest-none' }, t('contest.none_here')),
      ...(contests.length ? [h('h2', null, t('contest.ranking')), box] : []));
  }

  // The contests that have scores here, the most recently scored first
  // (rows come in the order they were recorded), with how many each has.
  function contestsOf(scores) {
    const seen = new Map();
    scores.forEach((s, i) => {
      const had = seen.get(s.contest);
      seen.set(s.contest, { last: i, n: had ? had.n + 1 : 1 });
    });
    return [...seen.entries()].sort((a, b) => b[1].last - a[1].last).map(([name, v]) => ({ name, n: v.n }));
  }
  // The contest chosen last on this device if it has scores, else the most
  // recently scored one; a suggested name only when there are none, so a
  // default never hides scores.
  function initialContest(contests) {
    const remembered = localStorage.getItem(CONTEST_KEY);
    if (remembered && contests.some((c) => c.name === remembered)) return remembered;
    if (contests.length) return contests[0].name;
    return `KBO CM CONTEST ${currentFiscalYear()}`;
  }
  const looseName = (s) => s.trim().replace(/\s+/g, ' ').toLowerCase();
  // A whole number as a person types it, Thai digits too (๑๕ is 15), as the
  // store reads it; NaN if it is none.
  function wholeNumber(text) {
    return parseInt(String(text).replace(/[\u0E50-\u0E59]/g, (d) => String(d.charCodeAt(0) - 0x0E50)), 10);
  }
  // The store's key for a contest or a judge (LooseNameKey,
  // shared/name_match.h): no spaces, no invisible characters, ASCII case
  // folded, SARA AM typed as two characters taken as the one, a tone mark
  // typed before its vowel sign put after it.
  const thaiMarkClass = (m) => (/[\u0E31\u0E34-\u0E3A\u0E47]/.test(m) ? 0 : 1);
  const looseKey = (s) => (s || '').replace(/[\u00AD\u200B\u200C\u2060\uFEFF]/g, '')
    .replace(/\s+/g, '').replace(/[A-Z]/g, (c) => c.toLowerCase())
    .replace(/\u0E4D([\u0E48-\u0E4C\u0E4E]*)\u0E32/g, '$1\u0E33')
    .replace(/[\u0E31\u0E34-\u0E3A\u0E47-\u0E4E]{2,}/g,
      (run) => [...run].sort((a, b) => thaiMarkClass(a) - thaiMarkClass(b)).join(''));
  // Why `name` cannot be the contest, or '' if it can.
  function contestProblem(contests, name, form) {
    const typed = (name || '').trim();
    if ([...typed].length < 3) return t('err.contest_name');
    const isNew = $('#f-contest-choice', form) && $('#f-contest-choice', form).value === '';
    const same = contests.find((c) => looseName(c.name) === looseName(typed));
    if (isNew && same && same.name !== typed) return t('err.contest_exists', { contest: same.name });
    return '';
  }
  // The contest: one of those with scores, or a new one by name. The chosen
  // name is the form's "contest" (the text box, hidden unless new).
  function contestField(contests, initial, onChange) {
    const input = h('input', { type: 'text', id: 'f-contest', name: 'contest', autocomplete: 'off', 'aria-describedby': 'e-contest', value: initial });
    const known = contests.some((c) => c.name === initial);
    const select = h('select', { id: 'f-contest-choice', 'aria-describedby': 'e-contest' },
      contests.map((c) => h('option', { value: c.name, selected: c.name === initial }, t('contest.option', { contest: c.name, n: c.n }))),
      h('option', { value: '', selected: !known }, t('contest.new')));
    const newBox = h('div', { class: 'contest-new', hidden: known },
      h('label', { for: 'f-contest' }, t('contest.new_name')), input,
      h('p', { class: 'hint' }, contests.length ? t('contest.new_hint', { year: currentFiscalYear() }) : t('contest.none_yet')));
    select.addEventListener('change', () => {
      const isNew = select.value === '';
      newBox.hidden = !isNew;
      input.value = isNew ? '' : select.value;
      if (isNew) input.focus();
      onChange(input.value);
    });
    // Typing a new name shows its ranking; the scores typed stay.
    input.addEventListener('input', () => onChange(input.value, true));
    return h('div', { class: 'field', dataset: { col: 'contest' } },
      h('label', { for: 'f-contest-choice' }, t('contest.choose'), h('span', { class: 'req', 'aria-hidden': 'true' }, ' *')),
      select, newBox, h('p', { class: 'field-error', id: 'e-contest', role: 'alert', hidden: true }));
  }

  function rankingView(scores, products, producerName, contest) {
    const criteria = state.ref.criteria.map((c) => c.value);
    const byProduct = {};
    for (const s of scores) {
      if (s.contest !== contest) continue;
      const sum = criteria.reduce((a, c) => a + (s[c] || 0), 0);
      (byProduct[s.product_id] = byProduct[s.product_id] || []).push(sum);
    }
    const rows = Object.entries(byProduct).map(([pid, totals]) => ({
      pid, judges: totals.length, avg: totals.reduce((a, b) => a + b, 0) / totals.length,
    })).sort((a, b) => b.avg - a.avg);
    const name = (pid) => { const p = products.find((x) => x.id === pid); return p ? `${p.name} · ${producerName[p.producer_id] || ''}` : pid; };
    if (!rows.length) return h('p', { class: 'empty', id: 'contest-showing', dataset: { contest } }, t('contest.no_scores', { contest }));
    let rank = 0;
    let prev = null;
    return h('div', null, h('p', { class: 'sub', id: 'contest-showing', dataset: { contest } }, t('contest.showing', { contest })), h('table', { id: 'ranking' },
      h('thead', null, h('tr', null, h('th', { class: 'n' }, '#'), h('th', null, t('entity.product')), h('th', { class: 'n' }, t('contest.judges')), h('th', { class: 'n' }, t('contest.average')))),
      h('tbody', null, rows.map((r, i) => {
        if (r.avg !== prev) { rank = i + 1; prev = r.avg; }
        return h('tr', null, h('td', { class: 'n' }, rank), h('td', null, name(r.pid)), h('td', { class: 'n' }, r.judges),
          h('td', { class: 'n' }, r.avg.toLocaleString(locale(), { maximumFractionDigits: 1 })));
      }))));
  }

  // ---- conflicts (read-only) ----
  // A cell's value as people read it: enumerations by name, districts by name.
  function cellLabel(col, value) {
    if (value == null || value === '') return '—';
    const lists = { status: 'statuses', stage: 'stages', category: 'categories', kind: 'kinds' };
    if (lists[col]) return named(lists[col], value);
    if (col === 'district_code') return districtName(value);
    if (col === 'purpose') return purposeText(String(value));
    return String(value);
  }
  // A conflict's value as people read it: a referenced row by its name (the
  // API sends current_name, incoming_name, resolved_name), dates and times
  // in the person's calendar, codes by their names.
  function conflictValue(c, side) {
    const value = c[`${side}_value`];
    if (value == null || value === '') return '—';
    const name = c[`${side}_name`];
    if (name) return name;
    // A delete against an edit made without knowing of it (the server's
    // edit-of-deleted conflict): what each side meant, not 1 and 0.
    if (c.column_name === 'deleted') {
      if (String(value) !== '0') return t('conflict.deleted');
      if (side === 'incoming' && String(c.current_value) === '1') return t('conflict.edited_not_knowing');
      // A delete that did not know of this edit (the server's
      // delete-of-edited conflict).
      if (side === 'current' && String(c.incoming_value) === '1') return t('conflict.edited_unseen');
      return t('conflict.not_deleted');
    }
    const cols = (state.ref.entities || {})[c.entity] || [];
    const col = cols.find((x) => x.name === c.column_name);
    if (col && col.type === 'date') return fmtDate(value);
    if (col && col.type === 'datetime') return fmtDateTime(value);
    if (c.column_name === 'subject_type') return entityLabel(value);
    return cellLabel(c.column_name, value);
  }
  // Which row: its name (a participant, a product, a group), what it
  // belongs to, and its day (a roll-call mark's course day and date).
  function conflictSubject(c) {
    const s = c.subject || {};
    const when = s.day != null ? (s.date ? t('conflict.day', { n: s.day, date: fmtDate(s.date) }) : t('conflict.day_no_date', { n: s.day }))
      : s.date ? fmtDate(s.date) : s.at ? fmtDateTime(s.at) : null;
    return [
      h('div', { class: 'conflict-head' }, h('strong', { class: 'conflict-name' }, `${entityLabel(c.entity)}: ${s.name || t('conflict.not_held')}`),
        h('span', { class: 'badge' }, c.resolved_at ? t('conflict.resolved') : t('conflict.open'))),
      s.context ? h('div', { class: 'sub conflict-context' }, s.context) : null,
      when ? h('div', { class: 'conflict-when' }, when) : null,
      h('div', { class: 'conflict-what' }, h('span', { class: 'sub' }, `${t('conflict.what')}: `), h('strong', null, colLabel(c.entity, c.column_name))),
    ];
  }
  // Who recorded one side of a conflict: this device, or another one.
  function whose(c, side) {
    const mine = c[`${side}_mine`];
    if (typeof mine !== 'boolean') return null;
    return h('span', { class: 'sub whose', dataset: { mine: String(mine) } }, ` (${t(mine ? 'conflict.by_me' : 'conflict.by_other')})`);
  }
  async function conflictsScreen() {
    const rows = await getJson('/api/conflicts');
    const list = h('div', { id: 'conflict-list' }, rows.map((c) => {
      const resolved = !!c.resolved_at;
      // What the row shows now (a later edit may show neither value).
      const side = c.now_side || (c.winner === 'incoming' ? 'incoming' : 'current');
      const [shown, other] = side === 'incoming' ? ['incoming', 'current'] : ['current', 'incoming'];
      const vals = resolved
        ? h('div', { class: 'vals' },
          h('span', { class: 'sub' }, t('conflict.resolved_value')),
          h('strong', { dataset: { resolved: '' } }, conflictValue(c, 'resolved')),
          h('span', { class: 'sub' }, t('conflict.resolved_at')), h('span', null, fmtDateTime(c.resolved_at)),
          // The office's reason, as it wrote it (so the people whose values
          // differed know why).
          c.resolution_reason ? h('span', { class: 'sub' }, t('conflict.reason')) : null,
          c.resolution_reason ? h('span', { class: 'reason', dataset: { reason: '' } }, c.resolution_reason) : null)
        : side === 'since'
          ? h('div', { class: 'vals' },
            h('span', { class: 'sub' }, t('conflict.shown')),
            h('span', { dataset: { shown: '' } }, conflictValue(c, 'now'), h('span', { class: 'sub' }, ` (${t('conflict.written_since')})`)),
            h('span', { class: 'sub' }, t('conflict.values_were')),
            h('span', { dataset: { other: '' } }, conflictValue(c, 'current'), whose(c, 'current'), ' · ', conflictValue(c, 'incoming'), whose(c, 'incoming')),
            h('span', { class: 'sub' }, t('conflict.detected')), h('span', null, fmtDateTime(c.detected_at)))
          : h('div', { class: 'vals' },
            h('span', { class: 'sub' }, t('conflict.shown')), h('span', { dataset: { shown: '' } }, conflictValue(c, shown), whose(c, shown)),
            h('span', { class: 'sub' }, t('conflict.other')), h('span', { dataset: { other: '' } }, conflictValue(c, other), whose(c, other)),
            h('span', { class: 'sub' }, t('conflict.detected')), h('span', null, fmtDateTime(c.detected_at)));
      return h('div', { class: resolved ? 'conflict resolved' : 'conflict', dataset: { id: c.id, rowId: c.row_id } },
        conflictSubject(c), vals);
    }));
    if (!rows.length) list.append(h('p', { class: 'empty' }, t('conflict.none')));
    return page(t('nav.conflicts'), h('p', { class: 'notice' }, t('conflict.hint')), list);
  }

  // ---- PIN (a tablet shared in a hall) ----
  let pinShown = false;
  function showPin() {
    if (pinShown) return;
    pinShown = true;
    state.renderToken += 1;
    renderNav('');
    const input = h('input', { type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, id: 'f-pin', name: 'pin', 'aria-describedby': 'e-pin' });
    const err = h('p', { class: 'field-error', id: 'e-pin', role: 'alert', hidden: true });
    const form = h('form', { class: 'pin-box', novalidate: true },
      h('div', { class: 'field', dataset: { col: 'pin' } }, h('label', { for: 'f-pin' }, t('pin.label')), input, err),
      h('button', { type: 'submit', class: 'primary big' }, t('pin.ok')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const r = await api('POST', '/api/pin', { pin: input.value.trim() });
      if (r.ok) { pinShown = false; render(); return; }
      err.textContent = replyMessage(r, '');
      err.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.select();
    });
    $('#app').replaceChildren(h('h1', null, t('pin.title')), h('p', null, t('pin.hint')), form);
    input.focus();
  }

  // ---- router ----
  const ROUTES = [
    [/^\/?$/, 'home', () => homeScreen()],
    [/^\/producers$/, 'producers', () => producersScreen()],
    [/^\/producers\/new$/, 'producers', () => producerForm(null)],
    [/^\/producers\/([0-9a-f-]{36})$/, 'producers', (m) => producerForm(m[1])],
    [/^\/workshops$/, 'workshops', () => workshopsScreen()],
    [/^\/workshops\/new$/, 'workshops', () => workshopForm(null)],
    [/^\/workshops\/([0-9a-f-]{36})\/edit$/, 'workshops', (m) => workshopForm(m[1])],
    [/^\/workshops\/([0-9a-f-]{36})\/people$/, 'workshops', (m) => workshopScreen(m[1], 'people')],
    [/^\/workshops\/([0-9a-f-]{36})\/people\/([0-9a-f-]{36})$/, 'workshops', (m) => personScreen(m[1], m[2])],
    [/^\/workshops\/([0-9a-f-]{36})(?:\/rollcall(?:\/(\d+))?)?$/, 'workshops', (m) => workshopScreen(m[1], 'rollcall', m[2])],
    [/^\/visits$/, 'visits', () => visitsScreen()],
    [/^\/visits\/new(?:\/([0-9a-f-]{36}))?$/, 'visits', (m) => visitForm(m[1])],
    [/^\/visits\/([0-9a-f-]{36})$/, 'visits', (m) => visitScreen(m[1])],
    [/^\/visits\/([0-9a-f-]{36})\/edit$/, 'visits', (m) => visitEditForm(m[1])],
    [/^\/products$/, 'products', () => productsScreen()],
    [/^\/products\/new$/, 'products', () => productForm(null)],
    [/^\/products\/([0-9a-f-]{36})\/edit$/, 'products', (m) => productForm(m[1])],
    [/^\/products\/([0-9a-f-]{36})$/, 'products', (m) => productScreen(m[1])],
    [/^\/photos$/, 'photos', () => photosScreen()],
    [/^\/contest$/, 'contest', () => contestScreen()],
    [/^\/conflicts$/, 'conflicts', () => conflictsScreen()],
    // #/enrol, and the console's QR code: #/enroll?token=TOKEN (opened by
    // the phone's camera, or scanned in the app).
    [/^\/enroll?(?:\?(.*))?$/, 'home', (m) => enrolScreen(new URLSearchParams(m[1] || ''))],
  ];

  async function render() {
    const token = ++state.renderToken;
    const path = location.hash.replace(/^#/, '') || '/';
    const route = ROUTES.find(([re]) => re.test(path));
    const app = $('#app');
    // Not ready until this render finishes (a language switch re-renders
    // the same path: the old mark must not claim the new text is there).
    delete app.dataset.ready;
    // An address with no screen is replaced by home, not stacked on it: back
    // then goes where the person was, not to it again.
    if (!route) { history.replaceState(null, '', '#/'); return render(); }
    renderNav(route[1]);
    document.body.dataset.screen = route[1];
    try {
      if (!state.ref) state.ref = await getJson('/api/reference');
      const kids = await route[2](route[0].exec(path));
      if (token !== state.renderToken) return;  // the person moved on
      // (A part a screen leaves out is null: replaceChildren would show
      // the word "null".)
      app.replaceChildren(...[].concat(kids).filter((k) => k != null));
      // Another screen opens at its top (its title, its way back), not at
      // the last screen's scroll; a redraw of the same one stays put.
      if (path !== state.drawnPath) window.scrollTo(0, 0);
      state.drawnPath = path;
      app.dataset.ready = path;
    } catch (e) {
      if (token !== state.renderToken || (e && e.stop)) return;
      const msg = e && e.data ? replyMessage(e, '') : String(e);
      app.replaceChildren(h('h1', null, t('err.title')), h('p', { class: 'form-error' }, msg),
        h('p', null, h('a', { class: 'button', href: '#/' }, t('nav.home'))));
      app.dataset.ready = path;
    }
  }

  // What a person changed in the screen's forms (marked as they type or
  // pick, `data-typed`), to be put back by formRestore after a redraw: only
  // that, so a value drawn from the store and changed since by a sync is
  // not put back over the newer one. Files and searches are left out.
  document.addEventListener('input', (e) => { if (e.target && e.target.name) e.target.dataset.typed = '1'; }, true);
  document.addEventListener('change', (e) => { if (e.target && e.target.name) e.target.dataset.typed = '1'; }, true);
  function formSnapshot() {
    const out = [];
    document.querySelectorAll('#app form').forEach((form, i) => {
      for (const el of form.elements) {
        if (!el.name || el.type === 'file' || el.type === 'search' || el.type === 'submit' || el.type === 'button') continue;
        if (el.type === 'radio' || el.type === 'checkbox') {
          if (!form.querySelector(`[name="${el.name}"][data-typed]`)) continue;
          if (el.checked) out.push({ form: i, name: el.name, value: el.value, checked: true });
        } else if (el.dataset.typed) {
          out.push({ form: i, name: el.name, value: el.value });
        }
      }
    });
    return out;
  }
  function formRestore(typed) {
    const forms = document.querySelectorAll('#app form');
    for (const x of typed) {
      const form = forms[x.form];
      if (!form) continue;
      for (const el of form.elements) {
        if (el.name !== x.name) continue;
        if (x.checked) {
          if (el.value === x.value && !el.checked) {
            el.checked = true;
            el.dispatchEvent(new Event('change', { bubbles: true }));
          }
        } else if (el.value !== x.value) {
          el.value = x.value;
          if (el.type === 'hidden') {
            // A picker shows the row its hidden input now names.
            el.dispatchEvent(new Event('kbo-restore', { bubbles: true }));
          } else {
            // What follows the field follows it again (a district's tambon
            // list, a photo's subject rows, a scorecard's total).
            el.dispatchEvent(new Event('input', { bubbles: true }));
            el.dispatchEvent(new Event('change', { bubbles: true }));
          }
        }
      }
    }
  }

  async function start() {
    if (APP) appShell();
    await loadLang(state.lang);
    $('#lang').addEventListener('click', async () => {
      const next = state.lang === 'th' ? 'en' : 'th';
      localStorage.setItem(LANG_KEY, next);
      await loadLang(next);
      if (pinShown) { pinShown = false; showPin(); return; }
      // What is typed in a form on the screen is kept across the redraw in
      // the other language (a half-filled visit is not thrown away).
      const typed = formSnapshot();
      const path = location.hash;
      // (The forms' drafts are not put back by this redraw: the page did
      // not close, and what is typed comes back just below.)
      redrawing = true;
      try {
        await render();
      } finally {
        redrawing = false;
      }
      // (Not if the person went elsewhere meanwhile: another screen's forms.)
      if (location.hash === path) formRestore(typed);
    });
    window.addEventListener('hashchange', () => { if (!pinShown) render(); });
    if (APP) window.addEventListener('online', () => { if (readSyncNote()) resumeCutSync(); else syncWhenOnline(); });
    // What a page before this one had not made yet (a reload mid-roll-call).
    await sendKeptWrites();
    if (!pinShown) await render();
    if (APP) await resumeCutSync();
  }

  // A sync the page's closing cut (a reload, the app swiped away, the
  // phone's battery): noted while one runs, so the app opened again knows,
  // says so, and goes on with it (what it had sent is kept on the server;
  // the rest, and the pull, follow) — online now, else when the signal
  // returns. Once only: a sync cut again after going on by itself (one
  // that stops the app, say) waits for the Sync button, and the app opens
  // for recording as ever. Not in a second tab the app refused (its core
  // does not answer): the first tab's sync runs on.
  const SYNC_RUNNING_KEY = 'kbo.sync-running';
  let resumedTries = 0;  // cut syncs this page went on with by itself
  function readSyncNote() {
    try {
      const raw = localStorage.getItem(SYNC_RUNNING_KEY);
      if (!raw) return null;
      const note = JSON.parse(raw);
      if (!note || typeof note.at !== 'string') return null;
      return { at: note.at, tries: Number.isInteger(note.tries) ? note.tries : 1 };
    } catch (e) {
      return null;  // unreadable, or not ours: as if none
    }
  }
  function noteSyncRunning(running) {
    try {
      if (running) {
        localStorage.setItem(SYNC_RUNNING_KEY,
          JSON.stringify({ at: new Date().toISOString(), tries: resumedTries + 1 }));
      } else {
        resumedTries = 0;
        localStorage.removeItem(SYNC_RUNNING_KEY);
      }
    } catch (e) {
      // Storage full: the note is a courtesy; the sync itself is whole.
    }
  }
  // With a signal now (`online`: the browser said it came back), a cut sync
  // goes on; without, it waits for the signal (the note stays for it).
  async function resumeCutSync() {
    const note = readSyncNote();
    if (!note || !core || core.syncing()) return;
    const st = await api('GET', '/api/status');
    if (!st.ok) return;
    const said = { at: fmtDateTime(note.at) };
    if (!st.data.enrolled) { noteSyncRunning(false); return; }
    if (note.tries >= 2) {
      // Cut twice: said, and left to the button.
      noteSyncRunning(false);
      toast(t('home.sync_cut_again', said), true);
      return;
    }
    if (!navigator.onLine) {
      toast(t('home.sync_cut_later', said));
      return;
    }
    resumedTries = note.tries;
    await syncWhenOnline({ always: true, running: t('home.sync_cut_resume', said) });
  }

  // `always`: even with nothing waiting (a cut sync's pull); `running`: what
  // the note says meanwhile.
  let onlineSyncing = false;
  async function syncWhenOnline({ always = false, running = null } = {}) {
    if (onlineSyncing || !core || core.syncing()) return;
    onlineSyncing = true;
    try {
      const st = await api('GET', '/api/status');
      if (!st.ok || !st.data.enrolled) return;
      if (!always && st.data.pending_changes + st.data.pending_blobs === 0) return;
      const btn = document.getElementById('sync');
      if (btn) {
        if (running) toast(running);
        if (!btn.disabled) btn.click();
        return;
      }
      document.documentElement.dataset.kboAutoSync = 'running';
      toast(running || t('home.auto_sync_running'));
      // Records only, away from home: the app's one worker is busy for the
      // whole of a sync, and a photo on a slow link held a trainer's
      // roll-call taps for the length of its upload. Photos go with the
      // next sync the person starts (home's Sync button, or this one there).
      const r = await api('POST', '/api/sync', { records_only: true });
      document.documentElement.dataset.kboAutoSync = r.ok ? 'ok' : 'failed';
      const photos = r.ok && r.data && r.data.status ? Number(r.data.status.pending_blobs) || 0 : 0;
      toast(r.ok ? (photos > 0 ? t('home.auto_sync_ok_photos', { n: photos }) : t('home.auto_sync_ok'))
        : t('home.auto_sync_failed'), !r.ok);
    } finally {
      onlineSyncing = false;
    }
  }
  start();
})();
