'use strict';
// An injection attempt in every string parameter: each value travels as a
// bind parameter (or is refused by the schema) and reaches SQL only as data.
// Afterwards the shop's tables, the registry and the roles are unchanged.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { call, sql, token, closeDb } = require('./helpers');

const trainer = token('fashionrec_trainer', 'injector');
const app = token('fashionrec_app', 'injector-app');
const ATTACKS = [
  "x'; DROP TABLE shop.products; --",
  'x"); DELETE FROM shop.events; --',
  "') OR 1=1 --",
  '$1; SELECT pg_sleep(10)',
  "t-als' UNION SELECT 1, 1::real, 1 --",
];
const e = encodeURIComponent;

async function state() {
  const [p] = await sql('SELECT (SELECT count(*)::int FROM shop.products) AS products, (SELECT count(*)::int FROM shop.events) AS events');
  const models = await sql('SELECT name, version, active FROM fashionrec.models');
  const roles = await sql("SELECT rolname, rolsuper FROM pg_roles WHERE rolname LIKE 'fashionrec%' ORDER BY 1");
  return { p, models, roles };
}

async function jobOutcome(r) {
  if (r.status !== 202) return r.status;
  for (let i = 0; i < 100; i++) {
    const j = (await call('GET', `/jobs/${r.json.id}`, { tok: trainer })).json;
    if (!['queued', 'running'].includes(j.status)) return j.status === 'failed' ? j.error.status : 500;
    await new Promise((res) => setTimeout(res, 50));
  }
  return 500;
}

describe('injection attempts in every string parameter', () => {
  let before_;
  before(async () => { before_ = await state(); });
  after(closeDb);

  for (const a of ATTACKS) {
    it(`refuses ${JSON.stringify(a)} as data`, async () => {
      const attempts = [
        ['GET', `/recommendations/${e(a)}/1`],
        ['GET', `/recommendations/t-als/1?context=${e(a)}`],
        ['GET', `/recommendations/t-als/${e(a)}`],
        ['GET', `/recommendations/t-als/1?candidates=${e(a)}`],
        ['GET', `/recommendations/t-als/1?exclude=${e(a)}`],
        ['POST', `/recommendations/${e(a)}/session`, { item_ids: [1] }],
        ['GET', `/similar/${e(a)}/1`],
        ['GET', `/similar/t-knn/${e(a)}`],
        ['GET', `/experiments/${e(a)}/results`],
        ['GET', `/experiments/home/results?metric=${e(a)}`],
        ['GET', `/experiments/${e(a)}/history`],
        ['POST', `/experiments/${e(a)}/recommendations/1`, {}],
        ['POST', `/experiments/${e(a)}/events`, { user_id: 1, event: 'click' }],
        ['POST', '/experiments/home/events', { user_id: 1, event: a }],
        ['GET', `/models/${e(a)}`],
        ['POST', `/models/${e(a)}/activate`, { version: 1 }],
        ['POST', `/models/${e(a)}/rollback`],
        ['GET', `/models/${e(a)}/drift?window=h1`],
        ['GET', `/models/t-als/drift?window=${e(a)}`],
        ['GET', `/serving/history?model=${e(a)}`],
        ['GET', `/retrain-log?model=${e(a)}`],
        ['GET', `/feature-sets/${e(a)}/staleness`],
        ['GET', `/feature-sets/${e(a)}/errors`],
        ['GET', `/jobs/${e(a)}`],
      ];
      for (const [m, p, body] of attempts) {
        const r = await call(m, p, { tok: p.startsWith('/experiments') && m === 'POST' ? app : trainer, body });
        assert.ok(r.status < 500, `${m} ${p}: ${r.status} ${r.text}`);
        if (r.status >= 400) assert.match(r.headers.get('content-type'), /problem\+json/, `${m} ${p}`);
      }
      // a model name that is an attack is just a name; the events are refused, lists are empty
      const ok = await call('GET', `/serving/history?model=${e(a)}`, { tok: trainer });
      assert.deepEqual(ok.json, []);
      // training: the name, algorithm and source fields
      for (const body of [{ algorithm: a, source: 'shop.train' }, { algorithm: 'popularity', source: a },
                          { algorithm: 'popularity', source: `shop.train; ${a}` }]) {
        const status = await jobOutcome(await call('POST', '/models/inj/train', { tok: trainer, body }));
        assert.ok(status >= 400 && status < 500, `train ${JSON.stringify(body)}: ${status}`);
      }
    });
  }

  it('a data-modifying source is refused by the database, not run', async () => {
    const status = await jobOutcome(await call('POST', '/models/inj/train', {
      tok: trainer, body: { algorithm: 'popularity', source: 'WITH d AS (DELETE FROM shop.products RETURNING *) SELECT product_id, product_id FROM d' },
    }));
    assert.equal(status, 400);
  });

  it('left the shop, the registry and the roles as they were', async () => {
    assert.deepEqual(await state(), before_);
  });
});
