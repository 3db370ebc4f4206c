'use strict';
// Serving: each route is one call of a fashionrec serving function with named
// arguments, in the serving API's order (docs/serving.md: name, subject, k,
// exclude_seen, candidates, exclude, context, version, own options) and under
// its names.  Defaults in the schemas are the SQL functions' own, so the
// OpenAPI document shows what the database will do.
const S = require('../schemas');

const RECOMMEND = `SELECT item_id, score, rank FROM fashionrec.recommend(
  name => $1, user_id => $2::bigint, k => $3::integer, exclude_seen => $4::boolean,
  candidates => $5::bigint[], exclude => $6::bigint[], context => $7::text, version => $8::integer)`;
const SESSION = `SELECT item_id, score, rank FROM fashionrec.recommend_for_items(
  name => $1, item_ids => $2::bigint[], k => $3::integer, exclude_seen => $4::boolean,
  candidates => $5::bigint[], exclude => $6::bigint[], context => $7::text, version => $8::integer,
  weights => $9::real[])`;
const SIMILAR = `SELECT item_id, score, rank FROM fashionrec.similar_items(
  name => $1, item_id => $2::bigint, k => $3::integer, candidates => $4::bigint[], exclude => $5::bigint[],
  version => $6::integer)`;

module.exports = async function serving(app) {
  const tags = ['serving'];
  app.get('/recommendations/:model/:user_id', {
    schema: {
      tags, summary: 'Top-k items for a user (fashionrec.recommend)', security: S.bearer,
      params: { type: 'object', properties: { model: S.name, user_id: S.id }, required: ['model', 'user_id'] },
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          k: { type: 'integer', minimum: 1, default: 10 },
          exclude_seen: { type: 'boolean', default: true },
          candidates: S.idList, exclude: S.idList,
          context: { type: 'string', maxLength: 200 },
          version: { type: 'integer', minimum: 1 },
        },
      },
      response: { 200: S.ranked, ...S.errors(404, 409) },
    },
  }, async (req) => {
    const q = req.query;
    return app.sql(req, 'recommend', RECOMMEND, [req.params.model, req.params.user_id, q.k, q.exclude_seen,
      S.splitIds(q.candidates), S.splitIds(q.exclude), q.context ?? null, q.version ?? null]);
  });

  app.post('/recommendations/:model/session', {
    schema: {
      tags, summary: 'Top-k items for an anonymous session\'s items, folded in (fashionrec.recommend_for_items)',
      security: S.bearer,
      params: { type: 'object', properties: { model: S.name }, required: ['model'] },
      body: {
        type: 'object', additionalProperties: false, required: ['item_ids'],
        properties: {
          item_ids: { ...S.idArray, minItems: 1 },
          k: { type: 'integer', minimum: 1, default: 10 },
          exclude_seen: { type: 'boolean', default: true },
          candidates: S.idArray, exclude: S.idArray,
          context: { type: 'string', maxLength: 200 },
          version: { type: 'integer', minimum: 1 },
          weights: { type: 'array', items: { type: 'number' } },
        },
      },
      response: { 200: S.ranked, ...S.errors(404, 409) },
    },
  }, async (req) => {
    const b = req.body;
    return app.sql(req, 'session', SESSION, [req.params.model, b.item_ids, b.k, b.exclude_seen,
      b.candidates ?? null, b.exclude ?? null, b.context ?? null, b.version ?? null, b.weights ?? null]);
  });

  app.get('/similar/:model/:item_id', {
    schema: {
      tags, summary: 'Items most similar to one item (fashionrec.similar_items)', security: S.bearer,
      params: { type: 'object', properties: { model: S.name, item_id: S.id }, required: ['model', 'item_id'] },
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          k: { type: 'integer', minimum: 1, default: 10 },
          candidates: S.idList, exclude: S.idList,
          version: { type: 'integer', minimum: 1 },
        },
      },
      response: { 200: S.ranked, ...S.errors(404, 409) },
    },
  }, async (req) => {
    const q = req.query;
    return app.sql(req, 'similar', SIMILAR, [req.params.model, req.params.item_id, q.k,
      S.splitIds(q.candidates), S.splitIds(q.exclude), q.version ?? null]);
  });
};
