'use strict';
// Health, Prometheus metrics and the monitoring data the dashboard draws:
// serving statistics and their history, drift, feature sets, retraining log.
const S = require('../schemas');
const M = require('../metrics');
const { problem, send } = require('../errors');

const HEALTH = `SELECT (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'fashionrec') AS extension_version,
       fashionrec.version() AS library_version,
       pg_catalog.pg_is_in_recovery() AS standby,
       pg_catalog.pg_total_relation_size('fashionrec.artifact') AS store_bytes`;
const STATS = `SELECT name, version, function, calls, rows, errors, cache_loads, mean_ms, p50_ms, p95_ms, p99_ms,
       max_ms, stats_since, note
  FROM fashionrec.serving_stats ORDER BY calls DESC NULLS LAST`;
const HISTORY = `SELECT taken_at, seconds, model, version, function, calls, errors, cache_loads, mean_ms, p50_ms, p95_ms, p99_ms
  FROM fashionrec.stats_history
 WHERE ($1::text IS NULL OR model = $1) AND taken_at >= pg_catalog.now() - $2::integer * interval '1 hour'
 ORDER BY taken_at, model, version, function`;
const DRIFT = `SELECT signal, measure, value, warning, alert, verdict, detail
  FROM fashionrec.drift(name => $1, recent_source => $2, attributes => $3::text)`;
const FEATURE_SETS = `SELECT name, kind, source::text AS source, dimension, vocabulary_version, generation, items, tombstones,
       errors, queued, oov_share, oov_baseline, realtime, created_at, refreshed_at, rebuilt_at
  FROM fashionrec.feature_sets`;
const STALENESS = `SELECT new_items, changed_items, deleted_items, queued_items FROM fashionrec.feature_staleness(name => $1)`;
const FEATURE_ERRORS = `SELECT item_id, reason, detail, seen_at FROM fashionrec.feature_errors(name => $1) LIMIT 1000`;
const RETRAIN_LOG = `SELECT id, name, started_at, finished_at, decision, reason, champion_version, challenger_version,
       promoted_version, metric, k, margin, champion_score, challenger_score, test_users, test_interactions, run_by
  FROM fashionrec.retrain_log WHERE ($1::text IS NULL OR name = $1) ORDER BY id`;

const num = { type: ['number', 'null'] };
const int = { type: ['integer', 'null'] };
const str = { type: ['string', 'null'] };
const arrayOf = (properties) => ({ type: 'array', items: { type: 'object', properties } });
const nameParam = { type: 'object', properties: { name: S.name }, required: ['name'] };

module.exports = async function monitoring(app) {
  app.get('/health', {
    config: { auth: false },
    schema: {
      tags: ['operations'], summary: 'Database reachable, extension version, primary or standby, model store size',
      response: {
        200: {
          type: 'object',
          properties: {
            status: { type: 'string' }, extension_version: str, library_version: str,
            standby: { type: 'boolean' }, store_bytes: { type: 'integer' }, training_jobs_running: { type: 'integer' },
          },
        },
        503: { content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } }, description: 'database unreachable' },
      },
    },
  }, async (req, reply) => {
    try {
      const [row] = await app.sqlAs(app.cfg.anonRole, 'health', HEALTH, []);
      return { status: 'ok', ...row, training_jobs_running: app.jobs.running() };
    } catch (err) {
      req.log.warn({ err: err.message }, 'health check failed');
      return send(reply, problem(503, 'The database is not reachable or fashionrec is not installed.'));
    }
  });

  app.get('/metrics', {
    schema: {
      tags: ['operations'], summary: 'Prometheus text: gateway requests, serving calls/errors/latency, retraining, SRM',
      security: S.bearer,
      response: { 200: { type: 'string', description: 'Prometheus text exposition format' }, ...S.errors() },
    },
  }, async (req, reply) => {
    M.jobsRunning.set(app.jobs.running());
    const lines = [await M.registry.metrics()];
    lines.push(...M.servingText(await app.sql(req, 'metrics_serving', M.SERVING, [])));
    lines.push(...M.retrainText(await app.sql(req, 'metrics_retrain', M.RETRAIN, [])));
    try {
      lines.push(...M.srmText(await app.sql(req, 'metrics_srm', M.SRM, [])));
    } catch (err) {
      if (err.code !== '42501') throw err;   // results are for trainers: others get no SRM family
    }
    reply.type('text/plain; version=0.0.4; charset=utf-8');
    return lines.join('\n') + '\n';
  });

  const tags = ['monitoring'];
  app.get('/serving/stats', {
    schema: {
      tags, summary: 'Serving calls, errors and latency per model version and function (fashionrec.serving_stats)',
      security: S.bearer,
      response: {
        200: arrayOf({
          name: str, version: int, function: str, calls: int, rows: int, errors: int, cache_loads: int,
          mean_ms: num, p50_ms: num, p95_ms: num, p99_ms: num, max_ms: num, stats_since: str, note: str,
        }),
        ...S.errors(),
      },
    },
  }, async (req) => app.sql(req, 'serving_stats', STATS, []));

  app.get('/serving/history', {
    schema: {
      tags, summary: 'Serving statistics per snapshot interval (fashionrec.stats_history)', security: S.bearer,
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          model: S.name,
          hours: { type: 'integer', minimum: 1, maximum: 24 * 366, default: 24 * 7, description: 'how far back' },
        },
      },
      response: {
        200: arrayOf({
          taken_at: { type: 'string' }, seconds: { type: 'number' }, model: str, version: int, function: { type: 'string' },
          calls: { type: 'integer' }, errors: { type: 'integer' }, cache_loads: { type: 'integer' },
          mean_ms: num, p50_ms: num, p95_ms: num, p99_ms: num,
        }),
        ...S.errors(),
      },
    },
  }, async (req) => app.sql(req, 'stats_history', HISTORY, [req.query.model ?? null, req.query.hours]));

  app.get('/drift/windows', {
    schema: {
      tags, summary: 'The drift windows the gateway is configured with, per model', security: S.bearer,
      response: {
        200: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
        ...S.errors(),
      },
    },
  }, async () => Object.fromEntries(Object.entries(app.cfg.driftWindows).map(([m, ws]) => [m, ws.map((w) => w.name)])));

  app.get('/models/:name/drift', {
    schema: {
      tags, summary: 'Drift of a configured recent window against the model\'s training data (fashionrec.drift)',
      description: 'The window is looked up by name in the gateway\'s configuration (FR_GATEWAY_CONFIG): the SQL of a window is the operator\'s, never the request\'s.',
      security: S.bearer, params: nameParam,
      querystring: {
        type: 'object', additionalProperties: false, required: ['window'],
        properties: { window: { type: 'string', maxLength: 100 } },
      },
      response: {
        200: {
          type: 'object',
          properties: {
            model: { type: 'string' }, window: { type: 'string' }, until: str,
            signals: arrayOf({ signal: { type: 'string' }, measure: { type: 'string' }, value: num, warning: num,
              alert: num, verdict: { type: 'string' }, detail: str }),
          },
        },
        ...S.errors(404),
      },
    },
  }, async (req, reply) => {
    const w = (app.cfg.driftWindows[req.params.name] || []).find((x) => x.name === req.query.window);
    if (!w) return send(reply, problem(404, `no drift window "${req.query.window}" is configured for model "${req.params.name}"`));
    const signals = await app.sql(req, 'drift', DRIFT, [req.params.name, w.recent_source, w.attributes ?? null]);
    return { model: req.params.name, window: w.name, until: w.until ?? null, signals };
  });

  app.get('/feature-sets', {
    schema: {
      tags, summary: 'Feature sets with items, tombstones, errors, queue, OOV share (fashionrec.feature_sets)',
      security: S.bearer,
      response: {
        200: arrayOf({
          name: { type: 'string' }, kind: { type: 'string' }, source: str, dimension: int, vocabulary_version: int,
          generation: int, items: int, tombstones: int, errors: int, queued: int, oov_share: num, oov_baseline: num,
          realtime: { type: 'boolean' }, created_at: str, refreshed_at: str, rebuilt_at: str,
        }),
        ...S.errors(),
      },
    },
  }, async (req) => app.sql(req, 'feature_sets', FEATURE_SETS, []));

  app.get('/feature-sets/:name/staleness', {
    schema: {
      tags, summary: 'What refresh_features() would do now (fashionrec.feature_staleness)', security: S.bearer,
      params: nameParam,
      response: {
        200: { type: 'object', properties: { new_items: int, changed_items: int, deleted_items: int, queued_items: int } },
        ...S.errors(404),
      },
    },
  }, async (req) => (await app.sql(req, 'feature_staleness', STALENESS, [req.params.name]))[0]);

  app.get('/feature-sets/:name/errors', {
    schema: {
      tags, summary: 'Items that failed validation, with the reason (fashionrec.feature_errors)', security: S.bearer,
      params: nameParam,
      response: { 200: arrayOf({ item_id: { type: 'integer' }, reason: str, detail: str, seen_at: str }), ...S.errors(404) },
    },
  }, async (req) => app.sql(req, 'feature_errors', FEATURE_ERRORS, [req.params.name]));

  app.get('/retrain-log', {
    schema: {
      tags, summary: 'Every retrain() run with its decision and scores (fashionrec.retrain_log)', security: S.bearer,
      querystring: { type: 'object', additionalProperties: false, properties: { model: S.name } },
      response: {
        200: arrayOf({
          id: { type: 'integer' }, name: { type: 'string' }, started_at: { type: 'string' }, finished_at: { type: 'string' },
          decision: { type: 'string' }, reason: { type: 'string' }, champion_version: int, challenger_version: int,
          promoted_version: int, metric: str, k: int, margin: num, champion_score: num, challenger_score: num,
          test_users: int, test_interactions: int, run_by: { type: 'string' },
        }),
        ...S.errors(),
      },
    },
  }, async (req) => app.sql(req, 'retrain_log', RETRAIN_LOG, [req.query.model ?? null]));
};
