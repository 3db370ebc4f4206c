'use strict';
// Prometheus: the gateway's own request metrics (prom-client) followed by
// the database's view of serving, read at scrape time under the scraper's
// token: serving calls, errors, rows, cache loads and latency histograms per
// model version and function (fashionrec._serving_stats, the shared-memory
// counters), the last retraining decision per model, and experiments'
// sample-ratio flags (experiment_results, trainers only: skipped for others).
const client = require('prom-client');

const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, prefix: 'fashionrec_gateway_' });
const httpDuration = new client.Histogram({
  name: 'fashionrec_gateway_http_request_duration_seconds',
  help: 'HTTP requests by route, method and status',
  labelNames: ['route', 'method', 'status'],
  buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
  registers: [registry],
});
const jobsRunning = new client.Gauge({
  name: 'fashionrec_gateway_training_jobs_running', help: 'Training jobs queued or running now', registers: [registry],
});

const SERVING = `SELECT s.name, s.version, s.function, s.calls, s.rows, s.errors, s.cache_loads, s.total_ms,
       s.histogram, s.note,
       (SELECT pg_catalog.array_agg(b.upper_ms ORDER BY b.bucket) FROM fashionrec.latency_buckets() b) AS uppers
  FROM fashionrec._serving_stats() s`;
const RETRAIN = `SELECT DISTINCT ON (name) name, decision, extract(epoch FROM finished_at) AS at
  FROM fashionrec.retrain_log ORDER BY name, id DESC`;
const SRM = `SELECT x.name, r.srm, r.srm_p_value
  FROM fashionrec.experiments x,
       LATERAL (SELECT bool_or(e.srm) AS srm, min(e.srm_p_value) AS srm_p_value
                  FROM fashionrec.experiment_results(experiment => x.name) e) r
 WHERE x.status <> 'draft'`;

const esc = (v) => String(v ?? '').replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (o) => `{${Object.entries(o).map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}`;

// The extension's histogram has eight buckets per doubling from 1 us; one
// bucket per doubling is plenty for Prometheus, so every eighth bound is kept
// (counts are cumulative, so coarser bounds stay exact).
function servingText(rows) {
  const out = [];
  const head = (n, type, help) => out.push(`# HELP ${n} ${help}`, `# TYPE ${n} ${type}`);
  const fam = {
    calls: ['fashionrec_serving_calls_total', 'Serving function calls'],
    errors: ['fashionrec_serving_errors_total', 'Serving calls that raised an error'],
    rows: ['fashionrec_serving_rows_total', 'Rows returned by serving calls'],
    cache_loads: ['fashionrec_serving_cache_loads_total', 'Model version loads into a backend cache'],
  };
  const live = rows.filter((r) => !r.note);
  for (const [col, [n, help]] of Object.entries(fam)) {
    head(n, 'counter', help);
    for (const r of live) out.push(`${n}${labels({ model: r.name ?? '', version: r.version ?? '', function: r.function })} ${r[col]}`);
  }
  const h = 'fashionrec_serving_latency_seconds';
  head(h, 'histogram', 'Time inside serving functions');
  for (const r of live) {
    const l = { model: r.name ?? '', version: r.version ?? '', function: r.function };
    const hist = (r.histogram || []).map(Number);
    let cum = 0;
    for (let i = 0; i < hist.length; i++) {
      cum += hist[i];
      const upper = r.uppers[i];
      if (upper !== null && (i + 1) % 8 === 0) out.push(`${h}_bucket${labels({ ...l, le: (upper / 1000).toPrecision(6) })} ${cum}`);
    }
    out.push(`${h}_bucket${labels({ ...l, le: '+Inf' })} ${r.calls}`);
    out.push(`${h}_sum${labels(l)} ${r.total_ms / 1000}`);
    out.push(`${h}_count${labels(l)} ${r.calls}`);
  }
  const enabled = rows.length === 0 || live.length > 0 ? 1 : 0;
  head('fashionrec_serving_stats_enabled', 'gauge', '1 when fashionrec is preloaded and counts serving calls');
  out.push(`fashionrec_serving_stats_enabled ${enabled}`);
  return out;
}

function retrainText(rows) {
  const out = ['# HELP fashionrec_retrain_last_decision The last retrain() decision per model (1 for the decision taken)',
    '# TYPE fashionrec_retrain_last_decision gauge'];
  for (const r of rows) {
    for (const d of ['promoted', 'kept', 'skipped', 'failed']) {
      out.push(`fashionrec_retrain_last_decision${labels({ model: r.name, decision: d })} ${r.decision === d ? 1 : 0}`);
    }
  }
  out.push('# HELP fashionrec_retrain_last_timestamp_seconds When the last retrain() run of a model finished',
    '# TYPE fashionrec_retrain_last_timestamp_seconds gauge');
  for (const r of rows) out.push(`fashionrec_retrain_last_timestamp_seconds${labels({ model: r.name })} ${Number(r.at)}`);
  return out;
}

function srmText(rows) {
  const out = ['# HELP fashionrec_experiment_srm 1 when an experiment shows a sample-ratio mismatch (p < 0.001)',
    '# TYPE fashionrec_experiment_srm gauge'];
  for (const r of rows) out.push(`fashionrec_experiment_srm${labels({ experiment: r.name })} ${r.srm ? 1 : 0}`);
  out.push('# HELP fashionrec_experiment_srm_p_value Sample-ratio mismatch p-value of an experiment',
    '# TYPE fashionrec_experiment_srm_p_value gauge');
  for (const r of rows) if (r.srm_p_value !== null) out.push(`fashionrec_experiment_srm_p_value${labels({ experiment: r.name })} ${r.srm_p_value}`);
  return out;
}

module.exports = { registry, httpDuration, jobsRunning, SERVING, RETRAIN, SRM, servingText, retrainText, srmText };
