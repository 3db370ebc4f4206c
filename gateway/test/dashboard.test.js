'use strict';
// The dashboard in a real headless Chromium (Debian's, driven by
// playwright-core): every page renders without console errors and each
// chart holds the number of points the database says it must.  Screenshots
// go to test-artifacts/.  Skipped, with a message, when chromium is absent.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { sql, token, closeDb, URL: BASE } = require('./helpers');

const CHROMIUM = process.env.FR_CHROMIUM;
const skip = CHROMIUM ? false : 'chromium is not installed (apt-get install chromium, or set FR_CHROMIUM): dashboard tests skipped';

describe('dashboard in headless Chromium', { skip }, () => {
  let browser; let page; const errors = [];
  before(async () => {
    const { chromium } = require('playwright-core');
    const profile = require('node:fs').mkdtempSync(path.join(require('node:os').tmpdir(), 'gw-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, viewport: { width: 1200, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = browser.pages()[0] || await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    const tok = token('fashionrec_trainer', 'dashboard');
    await page.goto(`${BASE}/dashboard/#models&token=${tok}`);
  });
  after(async () => { if (browser) await browser.close(); await closeDb(); });

  async function open(name) {
    errors.length = 0;
    await page.evaluate((n) => { location.hash = n; }, name);
    await page.waitForFunction((n) => document.body.dataset.ready === n, name, { timeout: 30000 });
    await page.screenshot({ path: path.join(process.env.GW_ARTIFACTS, `dashboard-${name}.png`), fullPage: true });
    assert.deepEqual(errors, [], `console errors on ${name}`);
    assert.equal(await page.$('.error'), null, `an error box on ${name}: ${await page.textContent('main')}`);
    return Object.fromEntries(await page.$$eval('.chart', (els) => els.map((e) => [e.id, { points: Number(e.dataset.points), flagged: Number(e.dataset.flagged || 0), canvas: !!e.querySelector('canvas, svg') }])));
  }
  const n = async (q, v) => (await sql(q, v))[0].n;

  it('the token left the address bar', async () => {
    assert.doesNotMatch(page.url(), /token=/);
  });
  it('models: the evaluation history of the first evaluated model, one point per evaluation and metric', async () => {
    const charts = await open('models');
    // one point per evaluation and metric it reports (ndcg, precision, recall)
    const points = await n(`SELECT sum((e.metrics ? 'ndcg')::int + (e.metrics ? 'precision')::int + (e.metrics ? 'recall')::int)::int AS n
                              FROM fashionrec.evaluation e JOIN fashionrec.model m ON m.id = e.model_id
                             WHERE m.name = (SELECT min(name) FROM fashionrec.model mm
                                              WHERE EXISTS (SELECT FROM fashionrec.evaluation x WHERE x.model_id = mm.id))`);
    assert.ok(points > 0);
    assert.equal(charts['chart-model-metrics'].points, points);
    assert.ok(charts['chart-model-metrics'].canvas);
    assert.equal(await page.$$eval('#models-table tr', (r) => r.length), 1 + await n('SELECT count(*)::int AS n FROM fashionrec.model'));
  });
  it('experiments: rate intervals per variant, exposures over time', async () => {
    const charts = await open('experiments');
    assert.equal(charts['chart-rates-home'].points, 2);
    assert.equal(charts['chart-exposures-home'].points, await n("SELECT count(*)::int AS n FROM fashionrec.online_history WHERE experiment = 'home'"));
    assert.ok(charts['chart-exposures-home'].points > 0);
    assert.ok(!('chart-rates-draft-only' in charts));
  });
  it('serving: calls per snapshot for every series, p50 and p99 of the busiest', async () => {
    const charts = await open('serving');
    assert.equal(charts['chart-serving-calls'].points, await n("SELECT count(*)::int AS n FROM fashionrec.stats_history WHERE taken_at > now() - interval '7 days' AND seconds > 0"));
    const busiest = await n(`WITH s AS (SELECT model, version, function, sum(calls) c, count(*) n, count(p50_ms) p50, count(p99_ms) p99
                               FROM fashionrec.stats_history GROUP BY 1, 2, 3 ORDER BY c DESC LIMIT 1) SELECT (p50 + p99)::int AS n FROM s`);
    assert.equal(charts['chart-serving-latency'].points, busiest);
  });
  it('drift: PSI per signal over the configured windows, the drifted points flagged', async () => {
    const charts = await open('drift');
    // 3 windows x 4 PSI signals (item popularity, user activity, category, season)
    assert.equal(charts['chart-drift-t-als'].points, 12);
    assert.ok(charts['chart-drift-t-als'].flagged >= 1);
  });
  it('feature sets: staleness and errors', async () => {
    await open('features');
    assert.equal(await page.getAttribute('#stale-t-attrs', 'data-behind'), '1');
  });
  it('retraining: champion and challenger scores per run', async () => {
    const charts = await open('retraining');
    assert.equal(charts['chart-retrain-scores'].points,
      await n('SELECT (count(champion_score) + count(challenger_score))::int AS n FROM fashionrec.retrain_log'));
  });
});
