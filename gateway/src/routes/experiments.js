'use strict';
// A/B experiments: serving by variant and tracking (fashionrec_app), the
// list and the results (results are for trainers: the database says so).
const S = require('../schemas');

const LIST = `SELECT name, status, primary_metric, holdout, variants, users, started_at, stopped_at, winner, description
  FROM fashionrec.experiments`;
const RESULTS = `SELECT * FROM fashionrec.experiment_results(experiment => $1, metric => $2::text, alpha => $3::float8)`;
const HISTORY = `SELECT taken_at, seconds, variant, model, version, users, exposures, clicks, purchases, revenue,
       ctr, conversion_rate
  FROM fashionrec.online_history WHERE experiment = $1 ORDER BY taken_at, variant`;
const SERVE = `SELECT variant, item_id, score, rank FROM fashionrec.recommend_experiment(
  experiment => $1, user_id => $2::bigint, k => $3::integer, exclude_seen => $4::boolean,
  candidates => $5::bigint[], exclude => $6::bigint[], context => $7::text, log_exposure => $8::boolean)`;
const TRACK = `SELECT fashionrec.track(experiment => $1, user_id => $2::bigint, event => $3,
  item_id => $4::bigint, value => $5::float8) AS recorded`;

const nameParam = { type: 'object', properties: { name: S.name }, required: ['name'] };
const num = { type: ['number', 'null'] };

module.exports = async function experiments(app) {
  const tags = ['experiments'];
  app.get('/experiments', {
    schema: {
      tags, summary: 'Experiments with their status, variants and users (fashionrec.experiments)', security: S.bearer,
      response: {
        200: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              name: { type: 'string' }, status: { type: 'string' }, primary_metric: { type: 'string' },
              holdout: { type: 'number' }, variants: { type: ['string', 'null'] }, users: { type: 'integer' },
              started_at: { type: ['string', 'null'], format: 'date-time' },
              stopped_at: { type: ['string', 'null'], format: 'date-time' },
              winner: { type: ['string', 'null'] }, description: { type: ['string', 'null'] },
            },
          },
        },
        ...S.errors(),
      },
    },
  }, async (req) => app.sql(req, 'experiments', LIST, []));

  app.get('/experiments/:name/results', {
    schema: {
      tags, summary: 'Per variant: rate, lift with its interval, p-value, sample-ratio check (fashionrec.experiment_results)',
      security: S.bearer, params: nameParam,
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          metric: { type: 'string', maxLength: 100, description: 'event type; the experiment\'s primary metric by default' },
          alpha: { type: 'number', minimum: 0.0001, maximum: 0.5, default: 0.05 },
        },
      },
      response: {
        200: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              segment: { type: ['string', 'null'] }, variant: { type: 'string' }, is_control: { type: 'boolean' },
              users: { type: 'integer' }, exposures: { type: 'integer' }, conversions: { type: 'integer' },
              rate: num, lift: num, relative_lift: num, ci_low: num, ci_high: num, p_value: num,
              significant: { type: ['boolean', 'null'] }, value_per_user: num, value_lift: num, value_p_value: num,
              srm_p_value: num, srm: { type: ['boolean', 'null'] },
            },
          },
        },
        ...S.errors(404),
      },
    },
  }, async (req) => app.sql(req, 'experiment_results', RESULTS, [req.params.name, req.query.metric ?? null, req.query.alpha]));

  app.get('/experiments/:name/history', {
    schema: {
      tags, summary: 'Online metrics per variant and snapshot interval (fashionrec.online_history)',
      security: S.bearer, params: nameParam,
      response: {
        200: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              taken_at: { type: 'string', format: 'date-time' }, seconds: { type: 'number' }, variant: { type: 'string' },
              model: { type: ['string', 'null'] }, version: { type: ['integer', 'null'] }, users: { type: 'integer' },
              exposures: { type: 'integer' }, clicks: { type: 'integer' }, purchases: { type: 'integer' },
              revenue: { type: 'number' }, ctr: num, conversion_rate: num,
            },
          },
        },
        ...S.errors(),
      },
    },
  }, async (req) => app.sql(req, 'online_history', HISTORY, [req.params.name]));

  app.post('/experiments/:name/recommendations/:user_id', {
    schema: {
      tags, summary: 'Recommendations from the user\'s variant, logging an exposure (fashionrec.recommend_experiment)',
      security: S.bearer,
      params: { type: 'object', properties: { name: S.name, user_id: S.id }, required: ['name', 'user_id'] },
      body: {
        type: ['object', 'null'], additionalProperties: false,
        properties: {
          k: { type: 'integer', minimum: 1, default: 10 },
          exclude_seen: { type: 'boolean', default: true },
          candidates: S.idArray, exclude: S.idArray,
          context: { type: 'string', maxLength: 200 },
          log_exposure: { type: 'boolean', default: true },
        },
      },
      response: {
        200: {
          type: 'array',
          items: {
            type: 'object',
            properties: { variant: { type: ['string', 'null'] }, item_id: { type: 'integer' }, score: { type: 'number' }, rank: { type: 'integer' } },
          },
        },
        ...S.errors(404, 409),
      },
    },
  }, async (req) => {
    const b = req.body || {};
    return app.sql(req, 'recommend_experiment', SERVE, [req.params.name, req.params.user_id, b.k ?? 10,
      b.exclude_seen ?? true, b.candidates ?? null, b.exclude ?? null, b.context ?? null, b.log_exposure ?? true]);
  });

  app.post('/experiments/:name/events', {
    schema: {
      tags, summary: 'Record an event of an assigned user (fashionrec.track)', security: S.bearer, params: nameParam,
      body: {
        type: 'object', additionalProperties: false, required: ['user_id', 'event'],
        properties: {
          user_id: { type: 'integer' },
          event: { type: 'string', maxLength: 100, description: 'exposure, click, cart or purchase' },
          item_id: { type: 'integer' },
          value: { type: 'number' },
        },
      },
      response: {
        200: {
          type: 'object', properties: { recorded: { type: 'boolean' } },
          description: 'recorded is false for a held-out user or a stopped experiment',
        },
        ...S.errors(404, 409),
      },
    },
  }, async (req) => {
    const b = req.body;
    const rows = await app.sql(req, 'track', TRACK, [req.params.name, b.user_id, b.event, b.item_id ?? null, b.value ?? null]);
    return rows[0];
  });
};
