'use strict';
// The OpenAPI document: valid OpenAPI 3 (swagger-parser), every route of the
// gateway in it with its security and error responses; Swagger UI served.
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const SwaggerParser = require('@apidevtools/swagger-parser');
const { call } = require('./helpers');

describe('OpenAPI', () => {
  it('is a valid OpenAPI 3 document', async () => {
    const r = await call('GET', '/openapi.json');
    assert.equal(r.status, 200);
    assert.match(r.json.openapi, /^3\./);
    await SwaggerParser.validate(structuredClone(r.json));
  });
  it('documents every endpoint, with bearer auth and problem+json errors', async () => {
    const { json } = await call('GET', '/openapi.json');
    const want = {
      '/recommendations/{model}/{user_id}': ['get'], '/recommendations/{model}/session': ['post'],
      '/similar/{model}/{item_id}': ['get'], '/experiments': ['get'], '/experiments/{name}/results': ['get'],
      '/experiments/{name}/history': ['get'], '/experiments/{name}/recommendations/{user_id}': ['post'],
      '/experiments/{name}/events': ['post'], '/models': ['get'], '/models/{name}': ['get'],
      '/models/{name}/train': ['post'], '/jobs/{id}': ['get'], '/models/{name}/activate': ['post'],
      '/models/{name}/rollback': ['post'], '/health': ['get'], '/metrics': ['get'], '/serving/stats': ['get'],
      '/serving/history': ['get'], '/drift/windows': ['get'], '/models/{name}/drift': ['get'],
      '/feature-sets': ['get'], '/feature-sets/{name}/staleness': ['get'], '/feature-sets/{name}/errors': ['get'],
      '/retrain-log': ['get'],
    };
    assert.deepEqual(Object.keys(json.paths).sort(), Object.keys(want).sort());
    for (const [p, methods] of Object.entries(want)) {
      for (const m of methods) {
        const op = json.paths[p][m];
        assert.ok(op, `${m} ${p}`);
        if (p !== '/health') {
          assert.deepEqual(op.security, [{ bearerAuth: [] }], `${m} ${p} security`);
          assert.ok(op.responses['401'].content['application/problem+json'], `${m} ${p} 401`);
          assert.ok(op.responses['429'], `${m} ${p} 429`);
        }
      }
    }
    assert.equal(json.components.securitySchemes.bearerAuth.scheme, 'bearer');
  });
  it('serves Swagger UI at /docs', async () => {
    const r = await call('GET', '/docs/');
    assert.equal(r.status, 200);
    assert.match(r.text, /swagger/i);
  });
});
