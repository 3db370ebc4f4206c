'use strict';
// The gateway: Fastify with OpenAPI generated from the route schemas, JWT
// auth, per-subject rate limits, problem+json errors, Prometheus metrics, a
// JSON log line per request, and the dashboard's static files.
const path = require('node:path');
const Fastify = require('fastify');
const { createPools, query } = require('./db');
const auth = require('./auth');
const errors = require('./errors');
const metrics = require('./metrics');
const { Jobs } = require('./jobs');

async function build(cfg) {
  const app = Fastify({
    logger: { level: cfg.logLevel, redact: ['req.headers.authorization'] },
    // one line per request of our own (below) instead of Fastify's two
    logController: new Fastify.LogController({ disableRequestLogging: true }),
    trustProxy: cfg.trustProxy,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    bodyLimit: 1024 * 1024,
  });
  const { pool, trainPool } = createPools(cfg);
  app.decorate('cfg', cfg);
  app.decorate('pool', pool);
  app.decorate('jobs', new Jobs(trainPool, pool, cfg, app.log));
  // the one way a route reaches the database: one statement as the token's role
  app.decorate('sqlAs', async (role, name, text, values) =>
    (await query(pool, role, cfg.statementTimeoutMs, name, text, values, cfg.roleMode)).rows);
  app.decorate('sql', (req, name, text, values) => app.sqlAs(req.user.role, name, text, values));
  app.addHook('onClose', async () => { await pool.end(); await trainPool.end(); });

  app.addSchema(errors.problemSchema);
  // the dashboard's files, the charting library and Swagger UI are public
  // (the dashboard asks for a token and sends it with its API calls)
  app.addHook('onRoute', (opts) => {
    if (opts.url.startsWith('/dashboard/') || opts.url.startsWith('/vendor/') || opts.url.startsWith('/docs')) {
      opts.config = { ...(opts.config || {}), auth: false };
    }
  });

  // rate limits (registered before any route, so every route has one),
  // checked after authentication: keyed by the token's subject, by the
  // client address for anonymous requests (behind a proxy: FR_GATEWAY_TRUST_PROXY)
  if (cfg.rateMax > 0) {
    await app.register(require('@fastify/rate-limit'), {
      max: cfg.rateMax,
      timeWindow: cfg.rateWindowMs,
      hook: 'preHandler',
      keyGenerator: (req) => (req.user && req.user.sub ? `sub:${req.user.sub}` : `ip:${req.ip}`),
      // thrown by the plugin, then answered as problem+json by the error handler
      errorResponseBuilder: (req, ctx) => Object.assign(
        new Error(`Rate limit of ${ctx.max} requests per ${ctx.after} exceeded; retry in ${Math.ceil(ctx.ttl / 1000)} s.`),
        { statusCode: 429 }),
    });
  }

  await app.register(require('@fastify/swagger'), {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'fashionrec HTTP gateway',
        version: require('../package.json').version,
        description: 'Every endpoint is one parameterised call of a fashionrec SQL function, run as the role named by the bearer token. docs/http.md has the details.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      tags: [{ name: 'serving' }, { name: 'experiments' }, { name: 'models' }, { name: 'monitoring' }, { name: 'operations' }],
    },
    refResolver: { buildLocalReference: (json, baseUri, fragment, i) => json.$id || `def-${i}` },
  });
  await app.register(require('@fastify/swagger-ui'), { routePrefix: '/docs', uiConfig: { persistAuthorization: true } });
  app.get('/openapi.json', { config: { auth: false }, schema: { hide: true } }, async () => app.swagger());

  auth.register(app, cfg);

  app.setErrorHandler((err, req, reply) => {
    const p = errors.fromError(err);
    if (p.status >= 500) req.log.error({ err, sqlstate: err.code }, 'request failed');
    return errors.send(reply, p);
  });
  app.setNotFoundHandler((req, reply) => errors.send(reply, errors.problem(404, `no route ${req.method} ${req.url.split('?')[0]}`)));

  // one JSON log line per request: route pattern (no ids, no query string,
  // no token), status, time, subject; and the Prometheus histogram
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url || 'unmatched';
    const ms = reply.elapsedTime;
    metrics.httpDuration.observe({ route, method: req.method, status: reply.statusCode }, ms / 1000);
    if (route.startsWith('/docs') || route.startsWith('/dashboard') || route.startsWith('/vendor')) return;
    req.log.info({ route, method: req.method, status: reply.statusCode, ms: Math.round(ms * 100) / 100,
                   sub: req.user ? req.user.sub : null, role: req.user ? req.user.role : null }, 'request');
  });

  await app.register(require('./routes/serving'));
  await app.register(require('./routes/experiments'));
  await app.register(require('./routes/models'));
  await app.register(require('./routes/monitoring'));

  // the dashboard and the charting library, both from this package (no CDN)
  await app.register(require('@fastify/static'), {
    root: path.join(__dirname, '..', 'public', 'dashboard'), prefix: '/dashboard/',
  });
  await app.register(require('@fastify/static'), {
    root: path.dirname(require.resolve('uplot/dist/uPlot.iife.min.js')), prefix: '/vendor/uplot/', decorateReply: false,
  });
  app.get('/dashboard', { config: { auth: false }, schema: { hide: true } }, (req, reply) => reply.redirect('/dashboard/'));
  return app;
}

module.exports = { build };
