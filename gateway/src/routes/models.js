'use strict';
// The registry: list, one model's versions with their evaluation history,
// training as a job, activate and rollback.
const S = require('../schemas');
const { problem, send } = require('../errors');

const LIST = `SELECT m.name, m.version, m.algorithm, m.status, m.active, m.users, m.items, m.interactions, m.seconds,
       m.trained_at,
       (SELECT pg_catalog.count(*) FROM fashionrec.evaluation e JOIN fashionrec.model r ON r.id = e.model_id
         WHERE r.name = m.name AND r.version = m.version) AS evaluations
  FROM fashionrec.models m`;
// one statement: the versions, each with its evaluate() history
const ONE = `SELECT m.name, m.version, m.algorithm, m.status, m.active, m.users, m.items, m.interactions,
       m.seconds, m.trained_at, m.params, m.info,
       COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                          'evaluated_at', e.evaluated_at, 'k', e.k, 'metrics', e.metrics) ORDER BY e.evaluated_at)
                   FROM fashionrec.evaluation e JOIN fashionrec.model r ON r.id = e.model_id
                  WHERE r.name = m.name AND r.version = m.version), '[]'::jsonb) AS evaluations
  FROM fashionrec.models m WHERE m.name = $1`;
const ACTIVATE = 'SELECT fashionrec.activate(name => $1, version => $2::integer)';
const ROLLBACK = 'SELECT fashionrec.rollback(name => $1) AS version';

const num = { type: ['number', 'null'] };
const modelRow = {
  name: { type: 'string' }, version: { type: 'integer' }, algorithm: { type: 'string' },
  status: { type: 'string' }, active: { type: 'boolean' }, users: { type: ['integer', 'null'] },
  items: { type: ['integer', 'null'] }, interactions: { type: ['integer', 'null'] }, seconds: num,
  trained_at: { type: ['string', 'null'], format: 'date-time' },
};
const nameParam = { type: 'object', properties: { name: S.name }, required: ['name'] };
const jobSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' }, model: { type: 'string' }, algorithm: { type: 'string' },
    status: { type: 'string', enum: ['queued', 'running', 'succeeded', 'failed'] }, role: { type: 'string' },
    created_at: { type: 'string' }, started_at: { type: ['string', 'null'] }, finished_at: { type: ['string', 'null'] },
    version: { type: ['integer', 'null'] }, pid: { type: ['integer', 'null'] },
    error: { anyOf: [{ type: 'null' }, { $ref: 'Problem#' }] },
    last_notice: { type: ['string', 'null'] },
    notices: { type: 'array', items: { type: 'object', properties: { at: { type: 'string' }, message: { type: 'string' } } } },
    progress: {
      type: ['object', 'null'], additionalProperties: true,
      properties: { state: { type: ['string', 'null'] }, wait_event: { type: ['string', 'null'] }, seconds: num },
    },
  },
};

module.exports = async function models(app) {
  const tags = ['models'];
  app.get('/models', {
    schema: {
      tags, summary: 'Every model version (fashionrec.models)', security: S.bearer,
      response: {
        200: { type: 'array', items: { type: 'object', properties: { ...modelRow, evaluations: { type: 'integer' } } } },
        ...S.errors(),
      },
    },
  }, async (req) => app.sql(req, 'models', LIST, []));

  app.get('/models/:name', {
    schema: {
      tags, summary: 'A model\'s versions with parameters and evaluation history', security: S.bearer, params: nameParam,
      response: {
        200: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            versions: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  ...modelRow,
                  params: { type: 'object', additionalProperties: true },
                  info: { type: ['object', 'null'], additionalProperties: true },
                  evaluations: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: {
                        evaluated_at: { type: 'string' }, k: { type: 'integer' },
                        metrics: { type: 'object', additionalProperties: true },
                      },
                    },
                  },
                },
              },
            },
          },
        },
        ...S.errors(404),
      },
    },
  }, async (req, reply) => {
    const rows = await app.sql(req, 'model', ONE, [req.params.name]);
    if (rows.length === 0) return send(reply, problem(404, `model "${req.params.name}" does not exist`));
    return { name: req.params.name, versions: rows };
  });

  app.post('/models/:name/train', {
    schema: {
      tags, summary: 'Start training a new version (fashionrec.train); returns a job at once', security: S.bearer,
      params: nameParam,
      body: {
        type: 'object', additionalProperties: false, required: ['algorithm', 'source'],
        properties: {
          algorithm: { type: 'string', maxLength: 100 },
          source: {
            type: 'string', maxLength: 10000,
            description: 'a table, view or read-only SELECT, read with the token role\'s privileges',
          },
          params: { type: 'object', additionalProperties: true },
          activate: { type: 'boolean' },
        },
      },
      response: { 202: jobSchema, ...S.errors() },
    },
  }, async (req, reply) => {
    const job = await app.jobs.start({ name: req.params.name, ...req.body, role: req.user.role, sub: req.user.sub },
      (text) => app.sql(req, 'may_train', text, []));
    reply.code(202).header('location', `/jobs/${job.id}`);
    return app.jobs.get(job.id, req.user.sub);
  });

  app.get('/jobs/:id', {
    schema: {
      tags, summary: 'A training job: status, version or error, notices and backend activity', security: S.bearer,
      params: { type: 'object', properties: { id: { type: 'string', format: 'uuid' } }, required: ['id'] },
      response: { 200: jobSchema, ...S.errors(404) },
    },
  }, async (req, reply) => {
    const job = await app.jobs.get(req.params.id, req.user.sub);
    if (!job) return send(reply, problem(404, 'no such job (jobs are visible to the subject that started them)'));
    return job;
  });

  app.post('/models/:name/activate', {
    schema: {
      tags, summary: 'Serve a version (fashionrec.activate)', security: S.bearer, params: nameParam,
      body: {
        type: 'object', additionalProperties: false, required: ['version'],
        properties: { version: { type: 'integer', minimum: 1 } },
      },
      response: {
        200: { type: 'object', properties: { name: { type: 'string' }, active_version: { type: 'integer' } } },
        ...S.errors(404),
      },
    },
  }, async (req) => {
    await app.sql(req, 'activate', ACTIVATE, [req.params.name, req.body.version]);
    return { name: req.params.name, active_version: req.body.version };
  });

  app.post('/models/:name/rollback', {
    schema: {
      tags, summary: 'Re-activate the previously active version (fashionrec.rollback)', security: S.bearer,
      params: nameParam,
      response: {
        200: { type: 'object', properties: { name: { type: 'string' }, active_version: { type: 'integer' } } },
        ...S.errors(404, 409),
      },
    },
  }, async (req) => {
    const rows = await app.sql(req, 'rollback', ROLLBACK, [req.params.name]);
    return { name: req.params.name, active_version: rows[0].version };
  });
};
