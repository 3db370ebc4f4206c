#!/usr/bin/env node
'use strict';
// Regenerates docs/img/dashboard-*.png from a running gateway (make demo's):
//   node gateway/test/screenshots.js http://127.0.0.1:8480 "$TOKEN" docs/img
// Debian's chromium via playwright-core, viewport-sized pictures to keep them small.
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const { chromium } = require('playwright-core');

const [base, token, out] = process.argv.slice(2);
if (!base || !token || !out) { console.error('usage: screenshots.js GATEWAY_URL TOKEN OUTDIR'); process.exit(2); }
(async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-shots-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.FR_CHROMIUM || '/usr/bin/chromium', headless: true,
    viewport: { width: 1000, height: 720 }, deviceScaleFactor: 1,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  await page.goto(`${base}/dashboard/#models&token=${token}`);
  const shots = { models: 'models', experiments: 'experiments', serving: 'serving', drift: 'drift', features: 'features', retraining: 'retraining' };
  for (const [name, hash] of Object.entries(shots)) {
    await page.evaluate((h) => { location.hash = h; }, hash);
    await page.waitForFunction((h) => document.body.dataset.ready === h, hash, { timeout: 60000 });
    // experiments: start at the running experiment, the one with a history
    if (name === 'experiments') await page.evaluate(() => { const h = [...document.querySelectorAll('main > h2')].pop(); if (h) h.scrollIntoView(); });
    if (name === 'models') await page.evaluate(() => document.getElementById('model-select').scrollIntoView());
    const file = path.join(out, `dashboard-${name}.png`);
    await page.screenshot({ path: file });
    await page.evaluate(() => window.scrollTo(0, 0));
    console.log(file, fs.statSync(file).size);
  }
  await ctx.close();
  fs.rmSync(profile, { recursive: true, force: true });
})().catch((e) => { console.error(e); process.exit(1); });
