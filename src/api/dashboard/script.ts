/**
 * The dashboard's script, served as /dashboard/app.js. Plain ES2020 for any current browser; it only
 * calls the public API (GET /stats, /stats/history, /workers, /jobs, /jobs/:id/attempts; POST /jobs, /jobs/:id/cancel)
 * and writes with textContent, never innerHTML, so job data cannot inject markup. Kept free of
 * template literals so it can live in this TypeScript string.
 */
export const DASHBOARD_JS = String.raw`
'use strict';
(function () {
  var POLL_MS = 2000;
  var PAGE = 20;
  // A deployment without ALLOW_ANONYMOUS needs an API key; it stays in this tab only.
  var KEY_STORE = 'cloud.apiKey';
  var state = { offset: 0, total: 0, timer: null, busy: false };
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'class') e.className = attrs[k];
      else if (k.indexOf('data-') === 0) e.setAttribute(k, attrs[k]);
      else e[k] = attrs[k];
    });
    (children || []).forEach(function (c) { e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }

  async function api(method, path, body) {
    var init = { method: method, headers: { accept: 'application/json' } };
    var key = sessionStorage.getItem(KEY_STORE);
    if (key) init.headers.authorization = 'Bearer ' + key;
    if (body !== undefined) { init.body = JSON.stringify(body); init.headers['content-type'] = 'application/json'; }
    var res = await fetch(path, init);
    var data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) {
      var msg = data && data.error ? data.error.message : ('HTTP ' + res.status);
      var err = new Error(msg); err.status = res.status; err.body = data; throw err;
    }
    return data;
  }

  function fmtAge(sec) {
    if (sec === null || sec === undefined) return '–';
    if (sec < 1) return Math.round(sec * 1000) + ' ms';
    if (sec < 90) return (sec < 10 ? sec.toFixed(1) : Math.round(sec)) + ' s';
    if (sec < 5400) return Math.round(sec / 60) + ' min';
    return (sec / 3600).toFixed(1) + ' h';
  }
  function fmtTime(iso) { return iso ? new Date(iso).toLocaleTimeString() : '–'; }
  function setText(id, v) { var e = $(id); if (e) e.textContent = v; }

  function renderStats(s) {
    setText('depth', String(s.queue_depth));
    ['0', '1', '2'].forEach(function (p) { setText('depth-' + p, String(s.queue_depth_by_priority[p] || 0)); });
    setText('live', String(s.live_workers));
    setText('registered', String(s.workers));
    setText('throughput', String(s.throughput.succeeded + s.throughput.failed));
    setText('success', s.success_rate === null ? '–' : (s.success_rate * 100).toFixed(1) + '%');
    var st = s.jobs_by_status;
    setText('by-status', st.succeeded + ' ok · ' + st.failed + ' failed · ' + st.running + ' running · ' + (st.retrying || 0) + ' retrying');
    setText('oldest', fmtAge(s.oldest_queued_age_sec));
    var stuck = Object.keys(s.unroutable.reasons).map(function (r) { return s.unroutable.reasons[r] + ' ' + r; }).join(' · ');
    setText('unroutable', s.unroutable.count === 0 ? 'every queued job has a node that can run it' : s.unroutable.count + ' unroutable: ' + stuck);
    var p95 = null;
    Object.keys(s.wait_by_priority).forEach(function (p) { var q = s.wait_by_priority[p].p95; if (q !== null && (p95 === null || q > p95)) p95 = q; });
    setText('wait-p95', fmtAge(p95));
    var a = s.autoscale;
    var adv = $('advice');
    adv.textContent = a.action.replace('_', ' ');
    adv.className = 'advice ' + a.action;
    adv.setAttribute('data-action', a.action);
    setText('advice-workers', a.current_workers + ' → ' + a.desired_workers + ' workers');
    setText('advice-reason', a.reason + ' (since ' + fmtTime(a.since) + ')');
  }

  var NO_WORKERS = null;

  // An API key gets only the count of live nodes (GET /workers): their details are the admin's.
  function renderWorkers(res) {
    var list = res.workers || [];
    var tbody = $('workers').querySelector('tbody');
    tbody.replaceChildren();
    if (NO_WORKERS === null) NO_WORKERS = $('no-workers').textContent;
    $('no-workers').textContent = res.workers
      ? NO_WORKERS
      : res.live_workers + ' live worker node(s) can run your jobs; their details are shown to the admin only.';
    $('no-workers').hidden = list.length > 0;
    list.forEach(function (w) {
      var cls = w.heartbeat_age_sec < 10 ? 'age-ok' : w.heartbeat_age_sec < 30 ? 'age-late' : 'age-stale';
      tbody.appendChild(el('tr', { 'data-worker-id': w.id }, [
        el('td', { class: 'id', text: w.id, title: w.url }),
        el('td', { text: w.status }),
        el('td', { text: w.running + ' / ' + w.capacity }),
        el('td', { class: cls, text: fmtAge(w.heartbeat_age_sec) + ' ago' }),
        el('td', { text: (w.executors || []).join(', ') }),
      ]));
    });
  }

  var TERMINAL = { succeeded: 1, failed: 1, cancelled: 1 };

  function renderJobs(page) {
    state.total = page.total;
    var tbody = $('jobs').querySelector('tbody');
    tbody.replaceChildren();
    page.jobs.forEach(function (j) {
      var open = el('button', { type: 'button', class: 'link', text: j.id, title: 'Show attempts, result and error' });
      open.addEventListener('click', function () { showJob(j.id); });
      var actions = el('td');
      if (!TERMINAL[j.status]) {
        var cancel = el('button', { type: 'button', class: 'cancel', text: 'Cancel' });
        cancel.addEventListener('click', function () { cancelJob(j.id, cancel); });
        actions.appendChild(cancel);
      }
      tbody.appendChild(el('tr', { 'data-job-id': j.id, 'data-status': j.status }, [
        el('td', { class: 'id' }, [open]),
        el('td', { text: j.type }),
        el('td', {}, [el('span', { class: 'prio p' + j.priority, text: 'P' + j.priority })]),
        el('td', {}, [el('span', { class: 'status ' + j.status, text: j.status })]),
        el('td', { text: String(j.attempts) }),
        el('td', { text: fmtTime(j.created_at) }),
        el('td', { class: 'id', text: j.worker_id || '' }),
        actions,
      ]));
    });
    setText('jobs-total', page.total + ' total');
    var from = page.total === 0 ? 0 : state.offset + 1;
    setText('page', from + '–' + Math.min(state.offset + PAGE, page.total) + ' of ' + page.total);
    $('prev').disabled = state.offset === 0;
    $('next').disabled = state.offset + PAGE >= page.total;
  }

  function jobQuery() {
    var q = new URLSearchParams({ limit: String(PAGE), offset: String(state.offset) });
    var f = { status: $('filter-status').value, priority: $('filter-priority').value, type: $('filter-type').value.trim(), queue: $('filter-queue').value.trim() };
    Object.keys(f).forEach(function (k) { if (f[k] !== '') q.set(k, f[k]); });
    return '/jobs?' + q.toString();
  }

  function drawChart(h) {
    var canvas = $('chart');
    var dpr = window.devicePixelRatio || 1;
    var w = canvas.clientWidth || 1200, hgt = canvas.clientHeight || 220;
    canvas.width = Math.round(w * dpr); canvas.height = Math.round(hgt * dpr);
    var g = canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, hgt);
    var pad = { l: 36, r: 36, t: 10, b: 20 };
    var cw = w - pad.l - pad.r, ch = hgt - pad.t - pad.b;
    var n = h.finished.length;
    // Axis tops rounded up to a multiple of 4, so the four gridlines fall on whole numbers.
    var nice = function (v) { return Math.max(4, Math.ceil(v / 4) * 4); };
    var maxBar = nice(Math.max.apply(null, h.finished));
    var depths = h.depth.filter(function (d) { return d !== null; });
    var maxDepth = nice(depths.length ? Math.max.apply(null, depths) : 0);
    g.strokeStyle = '#263040'; g.lineWidth = 1; g.fillStyle = '#8b98a8'; g.font = '11px system-ui, sans-serif';
    for (var i = 0; i <= 4; i++) {
      var y = pad.t + ch - (ch * i) / 4;
      g.beginPath(); g.moveTo(pad.l, y); g.lineTo(pad.l + cw, y); g.stroke();
      g.textAlign = 'right'; g.fillText(String((maxBar * i) / 4), pad.l - 6, y + 4);
      g.textAlign = 'left'; g.fillText(String((maxDepth * i) / 4), pad.l + cw + 6, y + 4);
    }
    for (var m = 0; m <= 10; m += 2) {
      var x = pad.l + cw - (cw * m) / 10;
      g.textAlign = 'center'; g.fillText(m === 0 ? 'now' : '-' + m + 'm', x, hgt - 5);
    }
    var bw = cw / n;
    g.fillStyle = '#3fb950';
    h.finished.forEach(function (v, k) { if (v > 0) { var bh = (ch * v) / maxBar; g.fillRect(pad.l + k * bw + 0.5, pad.t + ch - bh, Math.max(1, bw - 1), bh); } });
    g.strokeStyle = '#4da3ff'; g.lineWidth = 2; g.beginPath();
    var started = false;
    h.depth.forEach(function (v, k) {
      if (v === null) { started = false; return; }
      var px = pad.l + k * bw + bw / 2, py = pad.t + ch - (ch * v) / maxDepth;
      if (!started) { g.moveTo(px, py); started = true; } else g.lineTo(px, py);
    });
    g.stroke();
  }

  async function refresh() {
    if (state.busy) return;
    state.busy = true;
    try {
      var r = await Promise.all([api('GET', '/stats'), api('GET', '/workers'), api('GET', jobQuery()), api('GET', '/stats/history')]);
      renderStats(r[0]); renderWorkers(r[1]); renderJobs(r[2]); drawChart(r[3]);
      var c = $('conn'); c.textContent = 'live'; c.setAttribute('data-state', 'live');
      setText('updated', 'updated ' + new Date().toLocaleTimeString());
    } catch (e) {
      var c2 = $('conn'); c2.textContent = 'offline: ' + e.message; c2.setAttribute('data-state', 'offline');
      if (e.status === 401) $('api-key').focus();
    } finally {
      state.busy = false;
    }
  }

  async function showJob(id) {
    try {
      var j = (await api('GET', '/jobs/' + encodeURIComponent(id))).job;
      setText('job-title', j.id);
      var dl = $('job-fields');
      dl.replaceChildren();
      [['status', j.status], ['attempts', j.attempts + ' (max retries ' + j.max_retries + ')'], ['priority', j.priority], ['type', j.type], ['queue', j.queue],
       ['worker', j.worker_id || '–'], ['created', j.created_at], ['started', j.started_at || '–'], ['finished', j.finished_at || '–'],
       ['next attempt', j.next_attempt_at || '–'], ['timeout', j.timeout_sec + ' s']].forEach(function (f) {
        dl.appendChild(el('dt', { text: f[0] })); dl.appendChild(el('dd', { text: String(f[1]) }));
      });
      var tries = (await api('GET', '/jobs/' + encodeURIComponent(id) + '/attempts')).attempts;
      var body = $('job-attempts').tBodies[0];
      body.replaceChildren();
      if (tries.length === 0) body.appendChild(el('tr', null, [el('td', { text: 'none ended yet', colSpan: 8 })]));
      tries.forEach(function (a) {
        body.appendChild(el('tr', null, [a.attempt, a.reason, a.exit_code === null ? '–' : a.exit_code, a.worker_id || '–', a.executor || '–',
          fmtTime(a.started_at), fmtTime(a.finished_at), a.error || ''].map(function (v) { return el('td', { text: String(v) }); })));
      });
      setText('job-result', j.result ? JSON.stringify(j.result, null, 2) : '–');
      setText('job-error', j.error || '–');
      setText('job-payload', JSON.stringify(j.payload, null, 2));
      var d = $('job-dialog');
      if (!d.open) d.showModal();
    } catch (e) {
      setText('submit-result', 'Could not load ' + id + ': ' + e.message);
    }
  }

  async function cancelJob(id, button) {
    button.disabled = true;
    try {
      await api('POST', '/jobs/' + encodeURIComponent(id) + '/cancel');
    } catch (e) {
      setText('submit-result', 'Cancel ' + id + ': ' + e.message);
    }
    await refresh();
  }

  function parsePayload(text) {
    var t = text.trim();
    if (t === '') return '';
    try { return JSON.parse(t); } catch (e) { return text; }
  }

  async function submitJob(ev) {
    ev.preventDefault();
    var out = $('submit-result');
    var body = { type: $('f-type').value.trim() || 'echo', payload: parsePayload($('f-payload').value), priority: Number($('f-priority').value) };
    var timeout = $('f-timeout').value, delay = $('f-delay').value, queue = $('f-queue').value.trim();
    if (timeout !== '') body.timeout_sec = Number(timeout);
    if (delay !== '' && Number(delay) > 0) body.delay_sec = Number(delay);
    if (queue !== '') body.queue = queue;
    $('f-submit').disabled = true;
    try {
      var j = (await api('POST', '/jobs', body)).job;
      out.className = 'muted';
      out.textContent = 'Submitted ' + j.id + ' (' + j.status + ')';
      out.setAttribute('data-job-id', j.id);
      state.offset = 0;
      await refresh();
    } catch (e) {
      out.className = 'error';
      out.textContent = e.message;
      out.removeAttribute('data-job-id');
    } finally {
      $('f-submit').disabled = false;
    }
  }

  document.addEventListener('DOMContentLoaded', function () {
    $('submit-form').addEventListener('submit', submitJob);
    $('key-form').addEventListener('submit', function (e) {
      e.preventDefault();
      var v = $('api-key').value.trim();
      if (v) sessionStorage.setItem(KEY_STORE, v); else sessionStorage.removeItem(KEY_STORE);
      $('api-key').value = '';
      refresh();
    });
    $('filters').addEventListener('input', function () { state.offset = 0; refresh(); });
    $('filters').addEventListener('submit', function (e) { e.preventDefault(); });
    $('prev').addEventListener('click', function () { state.offset = Math.max(0, state.offset - PAGE); refresh(); });
    $('next').addEventListener('click', function () { if (state.offset + PAGE < state.total) { state.offset += PAGE; refresh(); } });
    refresh();
    state.timer = setInterval(refresh, POLL_MS);
  });
})();
`;
