'use strict';
// Every endpoint's success and error paths against the real database: the
// answers are compared with the same SQL functions called directly.
const { describe, it, after } = require('node:test');
const assert = require('node:assert/strict');
const { call, sql, token, closeDb } = require('./helpers');

const trainer = token('fashionrec_trainer', 'api-trainer');
const reader = token('fashionrec_reader', 'api-reader');
const app = token('fashionrec_app', 'api-app');
after(closeDb);

function isProblem(r, status, sqlstate) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get('content-type'), /^application\/problem\+json/);
  assert.equal(r.json.status, status);
  assert.equal(typeof r.json.title, 'string');
  if (sqlstate) assert.equal(r.json.sqlstate, sqlstate);
}

describe('serving', () => {
  it('GET /recommendations returns what fashionrec.recommend returns', async () => {
    const r = await call('GET', '/recommendations/t-als/7?k=5', { tok: reader });
    assert.equal(r.status, 200);
    const want = await sql("SELECT item_id::int, rank FROM fashionrec.recommend('t-als', 7, k => 5) ORDER BY rank");
    assert.deepEqual(r.json.map((x) => [x.item_id, x.rank]), want.map((x) => [x.item_id, x.rank]));
  });
  it('passes candidates, exclude, exclude_seen and version through', async () => {
    const cands = (await sql("SELECT array_agg(item_id::int ORDER BY item_id) AS a FROM (SELECT item_id FROM fashionrec.recommend('t-als', 7, k => 8)) s"))[0].a;
    const r = await call('GET', `/recommendations/t-als/7?k=3&candidates=${cands.join(',')}&exclude=${cands[0]}&exclude_seen=false&version=1`, { tok: app });
    assert.equal(r.status, 200, r.text);
    const want = await sql(`SELECT item_id::int FROM fashionrec.recommend('t-als', 7, k => 3, candidates => $1::bigint[],
                            exclude => ARRAY[$2]::bigint[], exclude_seen => false, version => 1) ORDER BY rank`, [cands, cands[0]]);
    assert.deepEqual(r.json.map((x) => x.item_id), want.map((x) => x.item_id));
    assert.ok(!r.json.some((x) => x.item_id === cands[0]));
  });
  it('context picks a context ranking of a popularity model', async () => {
    const r = await call('GET', '/recommendations/t-ctx/1?k=4&context=Summer', { tok: reader });
    assert.equal(r.status, 200, r.text);
    const want = await sql("SELECT item_id::int FROM fashionrec.recommend('t-ctx', 1, k => 4, context => 'Summer') ORDER BY rank");
    assert.deepEqual(r.json.map((x) => x.item_id), want.map((x) => x.item_id));
  });
  it('POST /recommendations/{model}/session folds in a session', async () => {
    const r = await call('POST', '/recommendations/t-als/session', { tok: reader, body: { item_ids: [1, 2, 3], k: 4, weights: [3, 1, 1] } });
    assert.equal(r.status, 200, r.text);
    const want = await sql("SELECT item_id::int FROM fashionrec.recommend_for_items('t-als', ARRAY[1,2,3]::bigint[], k => 4, weights => ARRAY[3,1,1]::real[]) ORDER BY rank");
    assert.deepEqual(r.json.map((x) => x.item_id), want.map((x) => x.item_id));
  });
  it('a session takes the serving API\'s options: exclude_seen, candidates, exclude', async () => {
    const r = await call('POST', '/recommendations/t-als/session',
      { tok: reader, body: { item_ids: [1, 2], k: 3, exclude_seen: false, exclude: [1], weights: [2, 1] } });
    assert.equal(r.status, 200, r.text);
    const want = await sql(`SELECT item_id::int FROM fashionrec.recommend_for_items('t-als', ARRAY[1,2]::bigint[], k => 3,
                            exclude_seen => false, exclude => ARRAY[1]::bigint[], weights => ARRAY[2,1]::real[]) ORDER BY rank`);
    assert.deepEqual(r.json.map((x) => x.item_id), want.map((x) => x.item_id));
    assert.ok(!r.json.some((x) => x.item_id === 1));
  });
  it('GET /similar passes exclude through', async () => {
    const first = await sql("SELECT item_id::int FROM fashionrec.similar_items('t-knn', 5, k => 1)");
    const r = await call('GET', `/similar/t-knn/5?k=3&exclude=${first[0].item_id}`, { tok: reader });
    assert.equal(r.status, 200, r.text);
    const want = await sql("SELECT item_id::int FROM fashionrec.similar_items('t-knn', 5, k => 3, exclude => ARRAY[$1]::bigint[]) ORDER BY rank",
      [first[0].item_id]);
    assert.deepEqual(r.json.map((x) => x.item_id), want.map((x) => x.item_id));
    assert.ok(!r.json.some((x) => x.item_id === first[0].item_id));
  });
  it('GET /similar returns similar_items, and nothing for an unknown item', async () => {
    const r = await call('GET', '/similar/t-knn/5?k=3', { tok: reader });
    assert.equal(r.status, 200);
    const want = await sql("SELECT item_id::int FROM fashionrec.similar_items('t-knn', 5, k => 3) ORDER BY rank");
    assert.deepEqual(r.json.map((x) => x.item_id), want.map((x) => x.item_id));
    assert.equal(want.length, 3);
    const none = await call('GET', '/similar/t-knn/987654321', { tok: reader });
    assert.deepEqual(none.json, []);
  });
  it('unknown model: 404 problem with the SQLSTATE and hint', async () => {
    const r = await call('GET', '/recommendations/no-such-model/1', { tok: reader });
    isProblem(r, 404, '42704');
    assert.match(r.json.detail, /no-such-model/);
    assert.ok(r.json.hint);
  });
  it('SQL errors map to problem+json: k over max_k (54000), context on ALS (0A000), bigint overflow (22003)', async () => {
    isProblem(await call('GET', '/recommendations/t-als/1?k=10001', { tok: reader }), 400, '54000');
    isProblem(await call('GET', '/recommendations/t-als/1?context=x', { tok: reader }), 400, '0A000');
    isProblem(await call('GET', '/recommendations/t-als/99999999999999999999', { tok: reader }), 400);
    isProblem(await call('GET', '/recommendations/t-als/9223372036854775808', { tok: reader }), 400, '22003');
  });
  it('request validation: 400 before the database for malformed input', async () => {
    isProblem(await call('GET', '/recommendations/t-als/1?k=0', { tok: reader }), 400);
    isProblem(await call('GET', '/recommendations/t-als/abc', { tok: reader }), 400);
    isProblem(await call('GET', '/recommendations/t-als/1?candidates=1,x', { tok: reader }), 400);
    isProblem(await call('GET', '/recommendations/t-als/1?bogus=1', { tok: reader }), 400);
    isProblem(await call('POST', '/recommendations/t-als/session', { tok: reader, body: { item_ids: [] } }), 400);
    isProblem(await call('POST', '/recommendations/t-als/session', { tok: reader, body: { item_ids: ['x'] } }), 400);
  });
});

describe('experiments', () => {
  it('GET /experiments lists fashionrec.experiments', async () => {
    const r = await call('GET', '/experiments', { tok: reader });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.map((x) => x.name).sort(), ['draft-only', 'home']);
    assert.equal(r.json.find((x) => x.name === 'home').status, 'running');
  });
  it('serves by variant and logs an exposure; tracks an event', async () => {
    const before = (await sql("SELECT count(*)::int AS n FROM fashionrec.event WHERE event_type = 'exposure'"))[0].n;
    const r = await call('POST', '/experiments/home/recommendations/1001', { tok: app, body: { k: 3 } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.length, 3);
    const variant = (await sql("SELECT fashionrec.assign('home', 1001) AS v"))[0].v;
    assert.equal(r.json[0].variant, variant);
    const afterN = (await sql("SELECT count(*)::int AS n FROM fashionrec.event WHERE event_type = 'exposure'"))[0].n;
    assert.equal(afterN, before + 1);
    const noLog = await call('POST', '/experiments/home/recommendations/1001', { tok: app, body: { k: 3, log_exposure: false } });
    assert.equal(noLog.status, 200);
    assert.equal((await sql("SELECT count(*)::int AS n FROM fashionrec.event WHERE event_type = 'exposure'"))[0].n, afterN);
    const t = await call('POST', '/experiments/home/events', { tok: app, body: { user_id: 1001, event: 'purchase', item_id: r.json[0].item_id, value: 19.9 } });
    assert.equal(t.status, 200, t.text);
    assert.deepEqual(t.json, { recorded: true });
    const ev = await sql("SELECT value FROM fashionrec.event WHERE user_id = 1001 AND event_type = 'purchase'");
    assert.equal(ev.length, 1);
  });
  it('results: per variant, as experiment_results; history from online_history', async () => {
    const r = await call('GET', '/experiments/home/results?alpha=0.1', { tok: trainer });
    assert.equal(r.status, 200, r.text);
    const want = await sql("SELECT variant, users::int, p_value FROM fashionrec.experiment_results('home', alpha => 0.1)");
    assert.deepEqual(r.json.map((x) => [x.variant, x.users]), want.map((x) => [x.variant, x.users]));
    const h = await call('GET', '/experiments/home/history', { tok: reader });
    const n = (await sql("SELECT count(*)::int AS n FROM fashionrec.online_history WHERE experiment = 'home'"))[0].n;
    assert.equal(h.json.length, n);
    assert.ok(n > 0);
  });
  it('errors: unknown experiment 404, app may not read results 403, unknown event 400', async () => {
    isProblem(await call('GET', '/experiments/nope/results', { tok: trainer }), 404, '42704');
    isProblem(await call('POST', '/experiments/nope/recommendations/1', { tok: app }), 404, '42704');
    isProblem(await call('GET', '/experiments/home/results', { tok: app }), 403, '42501');
    isProblem(await call('GET', '/experiments/home/results', { tok: reader }), 403, '42501');
    const bad = await call('POST', '/experiments/home/events', { tok: app, body: { user_id: 1001, event: 'teleport' } });
    assert.ok(bad.status === 400, bad.text);
    // a reader may not serve by variant (it writes an assignment)
    isProblem(await call('POST', '/experiments/home/recommendations/5', { tok: reader }), 403, '42501');
  });
});

describe('models and jobs', () => {
  it('GET /models lists the registry; GET /models/{name} has versions and evaluations', async () => {
    const r = await call('GET', '/models', { tok: reader });
    const want = await sql('SELECT name, version FROM fashionrec.models');
    assert.deepEqual(r.json.map((m) => [m.name, m.version]), want.map((m) => [m.name, m.version]));
    const one = await call('GET', '/models/t-als', { tok: reader });
    assert.equal(one.status, 200);
    assert.deepEqual(one.json.versions.map((v) => v.version), [1, 2]);
    const evals = await sql(`SELECT count(*)::int AS n FROM fashionrec.evaluation e JOIN fashionrec.model m ON m.id = e.model_id
                              WHERE m.name = 't-als' AND m.version = 1`);
    assert.equal(one.json.versions[0].evaluations.length, evals[0].n);
    assert.ok(evals[0].n >= 2);
    assert.equal(typeof one.json.versions[0].evaluations[0].metrics.ndcg, 'number');
    isProblem(await call('GET', '/models/none-such', { tok: reader }), 404);
  });
  it('POST /train returns a job at once; GET /jobs/{id} shows notices, then the version', async () => {
    const r = await call('POST', '/models/t-job/train', {
      tok: trainer, body: { algorithm: 'als', source: 'shop.train', params: { factors: 8, iterations: 4 } },
    });
    assert.equal(r.status, 202, r.text);
    assert.ok(['queued', 'running'].includes(r.json.status), r.json.status);
    assert.equal(r.headers.get('location'), `/jobs/${r.json.id}`);
    let job;
    for (let i = 0; i < 200; i++) {
      job = (await call('GET', `/jobs/${r.json.id}`, { tok: trainer })).json;
      if (!['queued', 'running'].includes(job.status)) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(job.status, 'succeeded', JSON.stringify(job));
    assert.equal(job.version, 1);
    assert.ok(job.notices.some((n) => /als iteration 4 of 4/.test(n.message)), JSON.stringify(job.notices));
    const row = await sql("SELECT version FROM fashionrec.models WHERE name = 't-job'");
    assert.deepEqual(row, [{ version: 1 }]);
    // another subject does not see the job
    isProblem(await call('GET', `/jobs/${r.json.id}`, { tok: token('fashionrec_trainer', 'someone-else') }), 404);
  });
  it('a failing training is a failed job with the problem; a reader may not train (403 at once)', async () => {
    const r = await call('POST', '/models/t-bad/train', { tok: trainer, body: { algorithm: 'als', source: 'shop.train', params: { factors: -1 } } });
    assert.equal(r.status, 202);
    let job;
    for (let i = 0; i < 100; i++) {
      job = (await call('GET', `/jobs/${r.json.id}`, { tok: trainer })).json;
      if (!['queued', 'running'].includes(job.status)) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(job.status, 'failed');
    assert.equal(job.error.status, 400);
    assert.equal(job.error.sqlstate, '22023');
    assert.deepEqual(await sql("SELECT * FROM fashionrec.models WHERE name = 't-bad'"), []);
    isProblem(await call('POST', '/models/t-bad/train', { tok: reader, body: { algorithm: 'als', source: 'shop.train' } }), 403, '42501');
    isProblem(await call('POST', '/models/t-bad/train', { tok: app, body: { algorithm: 'als', source: 'shop.train' } }), 403, '42501');
    isProblem(await call('GET', '/jobs/00000000-0000-4000-8000-000000000000', { tok: trainer }), 404);
  });
  it('activate and rollback, with their errors', async () => {
    let r = await call('POST', '/models/t-als/activate', { tok: trainer, body: { version: 2 } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(await sql("SELECT version FROM fashionrec.models WHERE name = 't-als' AND active"), [{ version: 2 }]);
    r = await call('POST', '/models/t-als/rollback', { tok: trainer });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.active_version, 1);
    assert.deepEqual(await sql("SELECT version FROM fashionrec.models WHERE name = 't-als' AND active"), [{ version: 1 }]);
    isProblem(await call('POST', '/models/t-als/activate', { tok: trainer, body: { version: 99 } }), 404, '42704');
    isProblem(await call('POST', '/models/t-als/activate', { tok: reader, body: { version: 2 } }), 403, '42501');
    isProblem(await call('POST', '/models/t-knn/rollback', { tok: trainer }), 409, '55000');
    isProblem(await call('POST', '/models/t-als/activate', { tok: trainer, body: {} }), 400);
  });
});

describe('monitoring data', () => {
  it('serving stats and history', async () => {
    const s = await call('GET', '/serving/stats', { tok: reader });
    assert.equal(s.status, 200);
    assert.ok(s.json.some((x) => x.name === 't-als' && x.calls > 0));
    const h = await call('GET', '/serving/history?model=t-als', { tok: reader });
    const n = (await sql("SELECT count(*)::int AS n FROM fashionrec.stats_history WHERE model = 't-als'"))[0].n;
    assert.equal(h.json.length, n);
    assert.ok(n > 0);
  });
  it('drift of a configured window; an unconfigured one is 404', async () => {
    const w = await call('GET', '/drift/windows', { tok: reader });
    assert.deepEqual(w.json, { 't-als': ['h1', 'h2', 'summer-only'] });
    const d = await call('GET', '/models/t-als/drift?window=summer-only', { tok: reader });
    assert.equal(d.status, 200, d.text);
    const season = d.json.signals.find((s) => s.signal === 'attribute:season' && s.measure === 'psi');
    assert.equal(season.verdict, 'drift');
    isProblem(await call('GET', '/models/t-als/drift?window=nope', { tok: reader }), 404);
    isProblem(await call('GET', '/models/t-als/drift', { tok: reader }), 400);
  });
  it('feature sets, staleness, errors; unknown set 404', async () => {
    const f = await call('GET', '/feature-sets', { tok: reader });
    assert.deepEqual(f.json.map((x) => x.name), ['t-attrs']);
    const st = await call('GET', '/feature-sets/t-attrs/staleness', { tok: reader });
    assert.deepEqual(st.json, { new_items: 1, changed_items: 0, deleted_items: 0, queued_items: 0 });
    const e = await call('GET', '/feature-sets/t-attrs/errors', { tok: reader });
    assert.deepEqual(e.json, []);
    isProblem(await call('GET', '/feature-sets/nope/staleness', { tok: reader }), 404, '42704');
  });
  it('retrain log', async () => {
    const r = await call('GET', '/retrain-log', { tok: reader });
    const want = await sql('SELECT name, decision FROM fashionrec.retrain_log ORDER BY id');
    assert.deepEqual(r.json.map((x) => [x.name, x.decision]), want.map((x) => [x.name, x.decision]));
    const one = await call('GET', '/retrain-log?model=t-pop', { tok: reader });
    assert.deepEqual(one.json.map((x) => x.name), ['t-pop']);
  });
});

describe('authentication', () => {
  const routes = [['GET', '/models'], ['GET', '/recommendations/t-als/1'], ['POST', '/models/t-als/rollback'], ['GET', '/metrics']];
  it('no token, a bad signature, an expired token, a token without role: 401', async () => {
    // a changed first character of the signature always changes its bytes
    const forged = token('fashionrec_trainer', 'x').replace(/\.([^.])([^.]*)$/, (_, c, rest) => `.${c === 'A' ? 'B' : 'A'}${rest}`);
    // the same signature spelt with the last character's spare bits set: decodes alike, refused
    const genuine = token('fashionrec_reader', 'x');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const respelt = genuine.slice(0, -1) + alphabet[alphabet.indexOf(genuine.slice(-1)) | 1];
    assert.equal((await call('GET', '/models', { tok: genuine })).status, 200);
    const expired = token('fashionrec_reader', 'x', -10);
    const { mint } = require('../src/auth');
    const otherKey = mint('another-secret-that-is-long-enough-000', { role: 'fashionrec_reader' });
    for (const [m, p] of routes) {
      for (const tok of [undefined, forged, respelt, expired, otherKey, 'not.a.jwt']) {
        const r = await call(m, p, { tok });
        isProblem(r, 401);
        assert.equal(r.headers.get('www-authenticate'), 'Bearer');
      }
    }
  });
  it('a role outside fashionrec\'s: 403, and SET ROLE never sees it', async () => {
    const crypto = require('node:crypto');
    const b = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const h = b({ alg: 'HS256', typ: 'JWT' });
    for (const role of ['postgres', 'fashionrec_gateway', "fashionrec_reader; RESET ROLE"]) {
      const p = b({ role, sub: 'evil', exp: Math.floor(Date.now() / 1000) + 60 });
      const sig = crypto.createHmac('sha256', process.env.FR_JWT_SECRET).update(`${h}.${p}`).digest('base64url');
      isProblem(await call('GET', '/models', { tok: `${h}.${p}.${sig}` }), 403);
    }
    const noRole = (() => {
      const p = b({ sub: 'x', exp: Math.floor(Date.now() / 1000) + 60 });
      return `${h}.${p}.${crypto.createHmac('sha256', process.env.FR_JWT_SECRET).update(`${h}.${p}`).digest('base64url')}`;
    })();
    isProblem(await call('GET', '/models', { tok: noRole }), 401);
  });
  it('public: /health, /openapi.json, /docs, /dashboard; unknown routes 404 problem', async () => {
    for (const p of ['/health', '/openapi.json', '/docs/', '/dashboard/', '/vendor/uplot/uPlot.iife.min.js']) {
      assert.equal((await call('GET', p)).status, 200, p);
    }
    isProblem(await call('GET', '/no/such/route'), 404);
  });
});
