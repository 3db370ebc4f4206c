'use strict';
// Shared pieces of the route schemas (they become the OpenAPI document).
const id = { type: 'string', pattern: '^-?[0-9]{1,19}$', description: 'a bigint id' };
const name = { type: 'string', minLength: 1, maxLength: 200, description: 'a model name' };
const idList = {
  type: 'string', pattern: '^(-?[0-9]{1,19})(,-?[0-9]{1,19})*$',
  description: 'comma-separated item ids',
};
const idArray = { type: 'array', items: { type: 'integer' }, maxItems: 100000 };

const errors = (...codes) => Object.fromEntries(
  [400, 401, 403, 429, 500, 503, 504, ...codes].map((c) => [c, {
    description: 'problem details',
    content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } },
  }]));

const ranked = {
  type: 'array',
  items: {
    type: 'object',
    properties: { item_id: { type: 'integer' }, score: { type: 'number' }, rank: { type: 'integer' } },
    required: ['item_id', 'score', 'rank'],
  },
};

const bearer = [{ bearerAuth: [] }];

// "1,2,3" -> ['1','2','3'] (strings: PostgreSQL casts them to bigint exactly)
const splitIds = (s) => (s === undefined ? null : s.split(','));

module.exports = { id, name, idList, idArray, errors, ranked, bearer, splitIds };
