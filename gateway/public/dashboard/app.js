'use strict';
// The fashionrec dashboard: plain browser JavaScript over the gateway's own
// REST API (the same endpoints and the same token as any client), charts by
// uPlot served by the gateway.  Every chart element carries data-points (the
// number of points drawn) so the browser tests can check what is plotted.

const COLORS = ['#2f6fdf', '#f4a340', '#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#a6761d', '#666666', '#17becf'];
const $main = document.getElementById('main');

// ---- token and API ----------------------------------------------------------
// A token arrives once in the URL fragment (#token=..., never sent to the
// server or its logs) or through the form, and is kept for this tab only.
(function takeToken() {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) {
    sessionStorage.setItem('fr-token', decodeURIComponent(m[1]));
    const page = location.hash.slice(1).split('&').find((p) => !p.startsWith('token=')) || 'models';
    history.replaceState(null, '', `${location.pathname}${location.search}#${page}`);
  }
})();
const token = () => sessionStorage.getItem('fr-token');

class ApiError extends Error {
  constructor(problem) { super(problem.detail || problem.title); this.problem = problem; }
}
async function api(path) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token()}` } });
  const body = await res.json();
  if (!res.ok) throw new ApiError(body);
  return body;
}

// ---- small DOM helpers --------------------------------------------------------
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v; else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}
const fmt = (v, d = 4) => (v === null || v === undefined ? '–' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(d)) : String(v));
const pct = (v, d = 2) => (v === null || v === undefined ? '–' : `${(100 * v).toFixed(d)}%`);
const epoch = (s) => Date.parse(s) / 1000;
function table(rows, cols, id) {
  return el('table', { id, class: 'data' }, el('tr', {}, cols.map(([label]) => el('th', {}, label))),
    rows.map((r) => el('tr', {}, cols.map(([, f, cls]) => el('td', { class: cls }, f(r))))));
}
function section(title, ...children) { return el('section', {}, el('h2', {}, title), ...children); }

// ---- charts -------------------------------------------------------------------
// A time chart of named series: {label, points: [[t, y], ...], flagged: Set of t}.
// uPlot wants one shared x array, so series are aligned on the union of times.
function timeChart(id, title, series, { yLabel = '', height = 260, timeAxis = true } = {}) {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const data = [xs, ...series.map((s) => {
    const ys = new Array(xs.length).fill(null);
    for (const [x, y] of s.points) ys[index.get(x)] = y;
    return ys;
  })];
  const points = series.reduce((n, s) => n + s.points.filter((p) => p[1] !== null).length, 0);
  const flagged = series.reduce((n, s) => n + (s.flagged ? s.flagged.size : 0), 0);
  const box = el('div', { class: 'chart', id, 'data-points': points, 'data-series': series.length, 'data-flagged': flagged });
  const wrap = section(title, box);
  if (xs.length === 0) { box.append(el('p', { class: 'muted' }, 'no data yet')); return wrap; }
  const opts = {
    width: Math.min(1140, document.body.clientWidth - 80), height,
    // a single point gets a minute either side instead of uPlot's years
    scales: { x: { time: timeAxis, range: (u, min, max) => (min === max ? [min - 60, max + 60] : [min, max]) } },
    axes: [{}, { label: yLabel }],
    series: [{}, ...series.map((s, i) => ({
      label: s.label, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true,
      points: { show: true, size: 6 },
    }))],
    hooks: {
      // flagged points (drift verdicts, failed runs) as red rings
      draw: [(u) => {
        const ctx = u.ctx;
        series.forEach((s, si) => {
          if (!s.flagged) return;
          for (const [x, y] of s.points) {
            if (!s.flagged.has(x) || y === null) continue;
            const cx = u.valToPos(x, 'x', true), cy = u.valToPos(y, 'y', true);
            ctx.beginPath(); ctx.strokeStyle = '#b3261e'; ctx.lineWidth = 2 * devicePixelRatio;
            ctx.arc(cx, cy, 7 * devicePixelRatio, 0, 2 * Math.PI); ctx.stroke();
          }
        });
      }],
    },
  };
  // uPlot measures its container: draw once the section is in the document
  requestAnimationFrame(() => new uPlot(opts, data, box));
  return wrap;
}

// Rates with 95% interval bars per variant, drawn as SVG (a categorical axis
// with error bars is not what uPlot is for).
function intervalChart(id, title, rows) {
  const W = 640, H = 60 + 44 * rows.length, left = 150, right = 40;
  const hi = Math.max(1e-9, ...rows.map((r) => r.high)) * 1.1;
  const x = (v) => left + (W - left - right) * v / hi;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('width', W); svg.setAttribute('height', H); svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const add = (tag, attrs, text) => {
    const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    svg.append(e); return e;
  };
  rows.forEach((r, i) => {
    const y = 30 + 44 * i;
    add('text', { x: 8, y: y + 5, 'font-size': 13 }, `${r.variant}${r.control ? ' (control)' : ''}`);
    add('line', { x1: x(r.low), x2: x(r.high), y1: y, y2: y, stroke: COLORS[i % COLORS.length], 'stroke-width': 3 });
    for (const v of [r.low, r.high]) add('line', { x1: x(v), x2: x(v), y1: y - 8, y2: y + 8, stroke: COLORS[i % COLORS.length], 'stroke-width': 2 });
    add('circle', { class: 'point', cx: x(r.rate), cy: y, r: 5, fill: COLORS[i % COLORS.length] });
    add('text', { x: x(r.high) + 6, y: y + 4, 'font-size': 12, fill: '#5b6578' }, pct(r.rate));
  });
  for (let t = 0; t <= 4; t++) {
    const v = hi * t / 4;
    add('line', { x1: x(v), x2: x(v), y1: 10, y2: H - 20, stroke: '#eceff3' });
    add('text', { x: x(v) - 12, y: H - 6, 'font-size': 11, fill: '#7a8496' }, pct(v, 1));
  }
  return section(title, el('div', { class: 'chart', id, 'data-points': rows.length }, svg),
    el('p', { class: 'legend-note' }, 'dot: rate; bar: its 95% Wald interval, rate ± 1.96·√(rate(1 − rate)/users)'));
}

// ---- pages --------------------------------------------------------------------
const pages = {
  async models() {
    const models = await api('/models');
    const names = [...new Set(models.map((m) => m.name))];
    const out = [section('Model versions', table(models, [
      ['name', (m) => m.name], ['version', (m) => m.version, 'num'], ['algorithm', (m) => m.algorithm],
      ['status', (m) => m.status], ['active', (m) => (m.active ? el('span', { class: 'good' }, 'active') : '')],
      ['users', (m) => fmt(m.users), 'num'], ['items', (m) => fmt(m.items), 'num'],
      ['interactions', (m) => fmt(m.interactions), 'num'], ['seconds', (m) => fmt(m.seconds, 2), 'num'],
      ['evaluations', (m) => m.evaluations, 'num'], ['trained', (m) => new Date(m.trained_at).toLocaleString()],
    ], 'models-table'))];
    // the model in the URL, else the first one that has been evaluated
    const chosen = new URLSearchParams(location.hash.split('?')[1] || '').get('model')
      || (models.find((m) => m.evaluations > 0) || models[0] || {}).name;
    if (!chosen) return out;
    const detail = await api(`/models/${encodeURIComponent(chosen)}`);
    const select = el('select', { id: 'model-select', onchange: (e) => { location.hash = `models?model=${encodeURIComponent(e.target.value)}`; } },
      names.map((n) => el('option', n === chosen ? { selected: '' } : {}, n)));
    const series = [];
    for (const metric of ['ndcg', 'precision', 'recall']) {
      for (const v of detail.versions) {
        const pts = v.evaluations.filter((e) => e.metrics[metric] !== undefined).map((e) => [epoch(e.evaluated_at), e.metrics[metric]]);
        if (pts.length) series.push({ label: `v${v.version}${v.active ? ' (active)' : ''} ${metric}@k`, points: pts });
      }
    }
    out.push(el('div', {}, 'model: ', select));
    out.push(timeChart('chart-model-metrics', `${chosen}: evaluation metrics per version over time`, series, { yLabel: 'metric@k' }));
    return out;
  },

  async experiments() {
    const exps = await api('/experiments');
    const out = [section('Experiments', table(exps, [
      ['name', (x) => x.name], ['status', (x) => x.status], ['primary metric', (x) => x.primary_metric],
      ['variants', (x) => x.variants], ['users', (x) => x.users, 'num'], ['winner', (x) => x.winner || ''],
      ['started', (x) => (x.started_at ? new Date(x.started_at).toLocaleString() : '')],
    ]))];
    for (const x of exps.filter((e) => e.status !== 'draft')) {
      const [results, history] = await Promise.all([
        api(`/experiments/${encodeURIComponent(x.name)}/results`),
        api(`/experiments/${encodeURIComponent(x.name)}/history`),
      ]);
      const rows = results.filter((r) => r.segment === null && r.rate !== null).map((r) => {
        const half = r.users > 0 ? 1.96 * Math.sqrt(r.rate * (1 - r.rate) / r.users) : 0;
        return { variant: r.variant, control: r.is_control, rate: r.rate, low: Math.max(0, r.rate - half), high: Math.min(1, r.rate + half) };
      });
      const srm = results.some((r) => r.srm);
      out.push(el('h2', {}, `${x.name} — ${x.primary_metric}`));
      if (srm) out.push(el('div', { class: 'warn', id: `srm-${x.name}` }, 'Sample-ratio mismatch: users per variant do not match the weights (p < 0.001). Check assignment before reading the results.'));
      out.push(intervalChart(`chart-rates-${x.name}`, `${x.name}: ${x.primary_metric} rate per variant with 95% intervals`, rows));
      out.push(section(`${x.name}: lift over the control`, table(results.filter((r) => r.segment === null), [
        ['variant', (r) => r.variant + (r.is_control ? ' (control)' : '')], ['users', (r) => r.users, 'num'],
        ['exposures', (r) => r.exposures, 'num'], ['conversions', (r) => r.conversions, 'num'], ['rate', (r) => pct(r.rate), 'num'],
        ['lift', (r) => pct(r.lift), 'num'], ['relative lift', (r) => pct(r.relative_lift, 1), 'num'],
        ['95% interval of the lift', (r) => (r.ci_low === null ? '–' : `[${pct(r.ci_low)}, ${pct(r.ci_high)}]`)],
        ['p-value', (r) => fmt(r.p_value, 5), 'num'],
        ['significant', (r) => (r.significant === null ? '–' : r.significant ? el('span', { class: 'good' }, 'yes') : 'no')],
        ['SRM p', (r) => fmt(r.srm_p_value, 3), 'num'],
      ])));
      const variants = [...new Set(history.map((h) => h.variant))];
      out.push(timeChart(`chart-exposures-${x.name}`, `${x.name}: exposures per snapshot interval`,
        variants.map((v) => ({ label: v, points: history.filter((h) => h.variant === v).map((h) => [epoch(h.taken_at), h.exposures]) })),
        { yLabel: 'exposures' }));
    }
    return out;
  },

  async serving() {
    const [stats, history] = await Promise.all([api('/serving/stats'), api('/serving/history')]);
    const key = (h) => (h.model === null ? `(no model) ${h.function}` : `${h.model} v${h.version} ${h.function}`);
    const keys = [...new Set(history.map(key))];
    const busiest = keys.map((k) => [k, history.filter((h) => key(h) === k).reduce((n, h) => n + h.calls, 0)])
      .sort((a, b) => b[1] - a[1])[0];
    const out = [];
    // calls per second of each interval: the first snapshot's interval runs
    // from the server's start, so raw counts would dwarf the rest
    out.push(timeChart('chart-serving-calls', 'Calls per second, per snapshot interval', keys.map((k) => ({
      label: k,
      points: history.filter((h) => key(h) === k).map((h) => [epoch(h.taken_at), h.seconds > 0 ? h.calls / h.seconds : null]),
    })), { yLabel: 'calls/s' }));
    if (busiest) {
      const rows = history.filter((h) => key(h) === busiest[0]);
      out.push(timeChart('chart-serving-latency', `Latency of ${busiest[0]} (the busiest series): p50 and p99`, [
        { label: 'p50 ms', points: rows.map((h) => [epoch(h.taken_at), h.p50_ms]) },
        { label: 'p99 ms', points: rows.map((h) => [epoch(h.taken_at), h.p99_ms]) },
      ], { yLabel: 'ms' }));
    }
    out.push(section('Since the server started (fashionrec.serving_stats)', table(stats, [
      ['model', (s) => s.name ?? s.note ?? '(no model)'], ['version', (s) => fmt(s.version), 'num'], ['function', (s) => s.function],
      ['calls', (s) => fmt(s.calls), 'num'], ['errors', (s) => (s.errors ? el('span', { class: 'bad' }, s.errors) : fmt(s.errors)), 'num'],
      ['cache loads', (s) => fmt(s.cache_loads), 'num'], ['p50 ms', (s) => fmt(s.p50_ms, 3), 'num'],
      ['p95 ms', (s) => fmt(s.p95_ms, 3), 'num'], ['p99 ms', (s) => fmt(s.p99_ms, 3), 'num'],
    ])));
    return out;
  },

  async drift() {
    const windows = await api('/drift/windows');
    const out = [];
    if (Object.keys(windows).length === 0) {
      return [section('Drift', el('p', { class: 'muted' }, 'No drift windows are configured (FR_GATEWAY_CONFIG, see docs/dashboard.md).'))];
    }
    for (const [model, names] of Object.entries(windows)) {
      const results = [];
      for (const w of names) results.push(await api(`/models/${encodeURIComponent(model)}/drift?window=${encodeURIComponent(w)}`));
      // x: the end of each window (or its position when the window has no end date)
      const xOf = (r, i) => (r.until ? epoch(r.until) : i + 1);
      const signals = [...new Set(results.flatMap((r) => r.signals.filter((s) => s.measure === 'psi').map((s) => s.signal)))];
      const series = signals.map((sig) => {
        const flagged = new Set();
        const points = results.map((r, i) => {
          const s = r.signals.find((q) => q.signal === sig && q.measure === 'psi');
          if (s && (s.verdict === 'drift' || s.verdict === 'warning')) flagged.add(xOf(r, i));
          return [xOf(r, i), s ? s.value : null];
        }).filter((p) => p[1] !== null);
        return { label: sig, points, flagged };
      });
      out.push(timeChart(`chart-drift-${model}`, `${model}: PSI per signal by window (rings: warning or drift)`, series,
        { yLabel: 'PSI', timeAxis: results.every((r) => r.until) }));
      const last = results[results.length - 1];
      out.push(section(`${model}: the latest window (${last.window})`, table(last.signals, [
        ['signal', (s) => s.signal], ['measure', (s) => s.measure], ['value', (s) => fmt(s.value), 'num'],
        ['verdict', (s) => el('span', { class: s.verdict === 'drift' ? 'bad' : s.verdict === 'ok' ? 'good' : '' }, s.verdict)],
        ['detail', (s) => s.detail],
      ])));
    }
    return out;
  },

  async features() {
    const sets = await api('/feature-sets');
    const out = [section('Feature sets', table(sets, [
      ['name', (f) => f.name], ['kind', (f) => f.kind], ['source', (f) => f.source], ['items', (f) => f.items, 'num'],
      ['tombstones', (f) => f.tombstones, 'num'], ['errors', (f) => (f.errors ? el('span', { class: 'bad' }, f.errors) : 0), 'num'],
      ['queued', (f) => f.queued, 'num'], ['OOV share', (f) => pct(f.oov_share), 'num'], ['realtime', (f) => (f.realtime ? 'yes' : 'no')],
      ['refreshed', (f) => (f.refreshed_at ? new Date(f.refreshed_at).toLocaleString() : '')],
    ]))];
    for (const f of sets) {
      const [stale, errs] = await Promise.all([
        api(`/feature-sets/${encodeURIComponent(f.name)}/staleness`),
        api(`/feature-sets/${encodeURIComponent(f.name)}/errors`),
      ]);
      const behind = stale.new_items + stale.changed_items + stale.deleted_items + stale.queued_items;
      out.push(section(`${f.name}: staleness and errors`,
        el('p', { id: `stale-${f.name}`, 'data-behind': behind }, behind === 0
          ? el('span', { class: 'good' }, 'up to date with its source')
          : el('span', { class: 'bad' }, `${stale.new_items} new, ${stale.changed_items} changed, ${stale.deleted_items} deleted, ${stale.queued_items} queued items wait for refresh_features()`)),
        errs.length === 0 ? el('p', { class: 'muted' }, 'no items fail validation')
          : table(errs.slice(0, 50), [['item', (e) => e.item_id, 'num'], ['reason', (e) => e.reason], ['detail', (e) => e.detail]])));
    }
    return out;
  },

  async retraining() {
    const log = await api('/retrain-log');
    const names = [...new Set(log.map((r) => r.name))];
    const series = [];
    for (const n of names) {
      const runs = log.filter((r) => r.name === n);
      const failed = new Set(runs.filter((r) => r.decision === 'failed').map((r) => epoch(r.started_at)));
      series.push({ label: `${n} champion`, points: runs.filter((r) => r.champion_score !== null).map((r) => [epoch(r.started_at), r.champion_score]) });
      series.push({ label: `${n} challenger`, flagged: failed, points: runs.filter((r) => r.challenger_score !== null).map((r) => [epoch(r.started_at), r.challenger_score]) });
    }
    return [
      timeChart('chart-retrain-scores', 'Champion and challenger scores per retrain() run', series, { yLabel: 'score' }),
      section('Decisions', table(log.slice().reverse(), [
        ['started', (r) => new Date(r.started_at).toLocaleString()], ['model', (r) => r.name],
        ['decision', (r) => el('span', { class: r.decision === 'promoted' ? 'good' : r.decision === 'failed' ? 'bad' : '' }, r.decision)],
        ['metric', (r) => (r.metric ? `${r.metric}@${r.k}` : '')], ['champion', (r) => fmt(r.champion_score), 'num'],
        ['challenger', (r) => fmt(r.challenger_score), 'num'], ['promoted', (r) => fmt(r.promoted_version), 'num'], ['reason', (r) => r.reason],
      ])),
    ];
  },
};

// ---- routing ------------------------------------------------------------------
async function render() {
  const page = (location.hash.slice(1).split('?')[0] || 'models');
  document.querySelectorAll('#nav a').forEach((a) => a.classList.toggle('active', a.dataset.page === page));
  document.getElementById('login').hidden = !!token();
  if (!token()) { $main.replaceChildren(el('p', {}, 'Paste a bearer token to start.')); return; }
  if (!pages[page]) { $main.replaceChildren(el('p', {}, `no page ${page}`)); return; }
  $main.replaceChildren(el('p', { class: 'muted' }, 'loading…'));
  document.body.dataset.ready = '';
  try {
    const parts = await pages[page]();
    $main.replaceChildren(...parts);
  } catch (err) {
    const p = err.problem;
    $main.replaceChildren(el('div', { class: 'error' }, p ? `${p.status} ${p.title}: ${p.detail}` : String(err)));
    if (p && p.status === 401) { sessionStorage.removeItem('fr-token'); document.getElementById('login').hidden = false; }
  }
  // tests wait for this: the page and its charts are drawn
  requestAnimationFrame(() => requestAnimationFrame(() => { document.body.dataset.ready = page; }));
}
document.getElementById('login').addEventListener('submit', (e) => {
  e.preventDefault();
  sessionStorage.setItem('fr-token', document.getElementById('token').value.trim());
  render();
});
window.addEventListener('hashchange', render);
render();
