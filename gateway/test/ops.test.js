'use strict';
// Operations: /health, /metrics against the extension's counters, rate
// limits (429 with Retry-After and X-RateLimit-*), the request log, and the
// statuses of a standby (25006 -> 503) and a statement timeout (57014 -> 504)
// from a second gateway started read-only with a short timeout.
const { describe, it, after, before } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const { spawn } = require('node:child_process');
const { call, sql, token, closeDb } = require('./helpers');

after(closeDb);

describe('health and metrics', () => {
  it('/health: reachable, versions, primary, store size', async () => {
    const r = await call('GET', '/health');
    assert.equal(r.status, 200);
    const [want] = await sql("SELECT extversion, pg_total_relation_size('fashionrec.artifact')::int AS size FROM pg_extension WHERE extname = 'fashionrec'");
    assert.equal(r.json.status, 'ok');
    assert.equal(r.json.extension_version, want.extversion);
    assert.equal(r.json.standby, false);
    assert.equal(r.json.store_bytes, want.size);
  });
  it('/metrics: serving counters and histograms equal serving_stats; retraining; SRM for trainers', async () => {
    const tok = token('fashionrec_trainer', 'metrics');
    for (let i = 0; i < 3; i++) await call('GET', `/recommendations/t-als/${i + 1}`, { tok });
    const r = await call('GET', '/metrics', { tok });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/plain/);
    const [s] = await sql("SELECT calls::int, errors::int FROM fashionrec.serving_stats WHERE name = 't-als' AND version = 1 AND function = 'recommend'");
    const l = 'model="t-als",version="1",function="recommend"';
    const value = (name) => Number((r.text.match(new RegExp(`^${name}\\{${l}\\} (\\S+)$`, 'm')) || [])[1]);
    assert.equal(value('fashionrec_serving_calls_total'), s.calls);
    assert.equal(value('fashionrec_serving_errors_total'), s.errors);
    assert.equal(value('fashionrec_serving_latency_seconds_count'), s.calls);
    assert.match(r.text, new RegExp(`fashionrec_serving_latency_seconds_bucket\\{${l},le="\\+Inf"\\} ${s.calls}`));
    assert.match(r.text, /^fashionrec_retrain_last_decision\{model="t-als",decision="kept"\} 1$/m);
    assert.match(r.text, /^fashionrec_experiment_srm\{experiment="home"\} [01]$/m);
    assert.match(r.text, /^fashionrec_gateway_http_request_duration_seconds_count\{route="\/recommendations\/:model\/:user_id",method="GET",status="200"\} \d+/m);
    // readers may not run experiment_results: no SRM family, the rest is there
    const rr = await call('GET', '/metrics', { tok: token('fashionrec_reader', 'metrics-reader') });
    assert.equal(rr.status, 200);
    assert.doesNotMatch(rr.text, /fashionrec_experiment_srm\{/);
    assert.match(rr.text, /fashionrec_serving_calls_total\{/);
    assert.equal((await call('GET', '/metrics')).status, 401);
  });
});

describe('rate limits', () => {
  it('per subject: 429 with Retry-After and X-RateLimit-* after the limit; other subjects unaffected', async () => {
    const max = Number(process.env.GW_RATE_MAX);
    const tok = token('fashionrec_reader', 'rate-limited');
    let last;
    for (let i = 0; i < max; i++) {
      last = await call('GET', '/drift/windows', { tok });
      assert.equal(last.status, 200, `request ${i + 1}`);
    }
    assert.equal(last.headers.get('x-ratelimit-limit'), String(max));
    assert.equal(last.headers.get('x-ratelimit-remaining'), '0');
    const r = await call('GET', '/drift/windows', { tok });
    assert.equal(r.status, 429);
    assert.match(r.headers.get('content-type'), /problem\+json/);
    assert.ok(Number(r.headers.get('retry-after')) > 0);
    assert.ok(r.headers.get('x-ratelimit-reset'));
    assert.equal(r.json.status, 429);
    assert.match(r.json.detail, /Rate limit of \d+ requests per/);
    // the same role under another subject is a separate budget
    assert.equal((await call('GET', '/drift/windows', { tok: token('fashionrec_reader', 'not-limited') })).status, 200);
  });
});

describe('request log', () => {
  it('one JSON line per request with route, status, ms, subject; no tokens or authorization headers', async () => {
    const tok = token('fashionrec_reader', 'log-check');
    await call('GET', '/recommendations/t-als/42?k=2', { tok });
    await new Promise((res) => setTimeout(res, 100));
    const lines = fs.readFileSync(process.env.GW_LOG, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const mine = lines.filter((l) => l.sub === 'log-check');
    assert.equal(mine.length, 1);
    assert.deepEqual([mine[0].route, mine[0].method, mine[0].status, mine[0].role],
      ['/recommendations/:model/:user_id', 'GET', 200, 'fashionrec_reader']);
    assert.equal(typeof mine[0].ms, 'number');
    const text = fs.readFileSync(process.env.GW_LOG, 'utf8');
    assert.ok(!text.includes(tok.split('.')[2]), 'a token signature is in the log');
    assert.doesNotMatch(text, /authorization|Bearer ey/i);
  });
});

describe('standby and timeouts (a second gateway: read-only transactions, 300 ms statement timeout)', () => {
  let child; let base; let dir;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-ops-'));
    const cfg = path.join(dir, 'config.json');
    fs.writeFileSync(cfg, JSON.stringify({ driftWindows: { 't-als': [{
      name: 'slow', recent_source: 'SELECT customer_id, product_id, 1.0 FROM shop.events, pg_catalog.pg_sleep(2) s' }] } }));
    const port = await new Promise((res) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });
    base = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [path.join(__dirname, '..', 'bin', 'gateway.js')], {
      env: { ...process.env, PGDATABASE: process.env.GW_DB, PGUSER: 'fashionrec_gateway', FR_GATEWAY_PORT: String(port),
             FR_GATEWAY_CONFIG: cfg, FR_GATEWAY_STATEMENT_TIMEOUT_MS: '300', FR_GATEWAY_RATE_MAX: '5',
             PGOPTIONS: '-c default_transaction_read_only=on' },
      stdio: 'ignore',
    });
    for (let i = 0; i < 100; i++) {
      // an unknown route answers 404 once listening and is not rate limited
      try { if ((await fetch(`${base}/ready-check`)).status === 404) return; } catch { /* not yet */ }
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error('second gateway did not start');
  });
  after(() => { child.kill(); fs.rmSync(dir, { recursive: true, force: true }); });

  const req = (p, init = {}) => fetch(base + p, init).then(async (r) => ({ status: r.status, headers: r.headers, json: await r.json() }));
  it('a write on a read-only server: 503 with a hint', async () => {
    const tok = token('fashionrec_trainer', 'standby');
    const r = await req('/models/t-als/activate', { method: 'POST', headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' }, body: '{"version": 1}' });
    assert.equal(r.status, 503);
    assert.equal(r.json.sqlstate, '25006');
    assert.match(r.json.hint, /primary/);
    // serving still works there
    assert.equal((await req('/recommendations/t-als/1', { headers: { authorization: `Bearer ${tok}` } })).status, 200);
  });
  it('a statement over the timeout: 504', async () => {
    const tok = token('fashionrec_reader', 'timeout');
    const r = await req('/models/t-als/drift?window=slow', { headers: { authorization: `Bearer ${tok}` } });
    assert.equal(r.status, 504);
    assert.equal(r.json.sqlstate, '57014');
  });
  it('anonymous requests are limited per client address', async () => {
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await fetch(`${base}/openapi.json`)).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
  });
});

describe('FR_GATEWAY_ROLE_MODE=session (one connection, roles switched between requests)', () => {
  let child; let base;
  before(async () => {
    const port = await new Promise((res) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });
    base = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [path.join(__dirname, '..', 'bin', 'gateway.js')], {
      env: { ...process.env, PGDATABASE: process.env.GW_DB, PGUSER: 'fashionrec_gateway', FR_GATEWAY_PORT: String(port),
             FR_GATEWAY_ROLE_MODE: 'session', FR_GATEWAY_POOL: '1', FR_GATEWAY_TRAIN_POOL: '1', FR_GATEWAY_RATE_MAX: '0' },
      stdio: 'ignore',
    });
    for (let i = 0; i < 100; i++) {
      try { if ((await fetch(`${base}/ready-check`)).status === 404) return; } catch { /* not yet */ }
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error('session-mode gateway did not start');
  });
  after(() => child.kill());

  const req = (tok, p, init = {}) => fetch(base + p, { ...init, headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json', ...(init.headers || {}) } })
    .then(async (r) => ({ status: r.status, json: await r.json() }));
  it('each request runs as its own token\'s role on the same connection', async () => {
    const trainer = token('fashionrec_trainer', 'session-t');
    const reader = token('fashionrec_reader', 'session-r');
    const app = token('fashionrec_app', 'session-a');
    for (let round = 0; round < 2; round++) {
      assert.equal((await req(trainer, '/experiments/home/results')).status, 200);
      const denied = await req(reader, '/experiments/home/results');
      assert.equal(denied.status, 403);
      assert.equal(denied.json.sqlstate, '42501');
      assert.equal((await req(app, '/experiments/home/recommendations/7', { method: 'POST', body: '{"k": 2}' })).status, 200);
      assert.equal((await req(reader, '/experiments/home/recommendations/7', { method: 'POST', body: '{"k": 2}' })).status, 403);
      assert.equal((await req(app, '/models/t-als/activate', { method: 'POST', body: '{"version": 1}' })).status, 403);
      const rec = await req(reader, '/recommendations/t-als/7?k=3');
      const want = await sql("SELECT item_id::int FROM fashionrec.recommend('t-als', 7, k => 3) ORDER BY rank");
      assert.deepEqual(rec.json.map((x) => x.item_id), want.map((x) => x.item_id));
    }
  });
  it('a training job runs from a connection left as another role', async () => {
    const trainer = token('fashionrec_trainer', 'session-job');
    await req(token('fashionrec_reader', 'session-r2'), '/models');   // leave the connection as a reader
    const r = await req(trainer, '/models/t-session/train', { method: 'POST', body: JSON.stringify({ algorithm: 'popularity', source: 'shop.train' }) });
    assert.equal(r.status, 202);
    let job;
    for (let i = 0; i < 100; i++) {
      job = (await req(trainer, `/jobs/${r.json.id}`)).json;
      if (!['queued', 'running'].includes(job.status)) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(job.status, 'succeeded', JSON.stringify(job));
  });
  it('with one training connection a second job is queued at once, then runs', async () => {
    const trainer = token('fashionrec_trainer', 'session-queue');
    const body = JSON.stringify({ algorithm: 'als', source: 'shop.train', params: { factors: 32, iterations: 8 } });
    const t0 = Date.now();
    const a = await req(trainer, '/models/t-queue/train', { method: 'POST', body });
    const b = await req(trainer, '/models/t-queue/train', { method: 'POST', body });
    assert.equal(a.status, 202);
    assert.equal(b.status, 202);
    assert.equal(b.json.status, 'queued', JSON.stringify(b.json));
    assert.ok(Date.now() - t0 < 2000);
    const done = {};
    for (let i = 0; i < 200 && Object.keys(done).length < 2; i++) {
      for (const j of [a.json, b.json]) {
        const cur = (await req(trainer, `/jobs/${j.id}`)).json;
        if (!['queued', 'running'].includes(cur.status)) done[j.id] = cur;
      }
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.deepEqual(Object.values(done).map((j) => [j.status, j.version]).sort(), [['succeeded', 1], ['succeeded', 2]]);
    assert.ok(done[b.json.id].started_at >= done[a.json.id].finished_at, 'the second job waited for the first');
  });
});
