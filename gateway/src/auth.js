'use strict';
// Authentication as PostgREST does it: an HS256 JWT whose "role" claim names
// the database role the request runs as.  The gateway only checks that the
// token is genuine and the role is one of fashionrec's; what that role may do
// is decided by PostgreSQL's GRANTs inside the request's transaction.
const crypto = require('node:crypto');
const { ROLES } = require('./config');
const { problem, send } = require('./errors');

// Routes marked config.auth === false are public (health, docs, dashboard
// files); every other route needs a token.
function register(app, cfg) {
  app.register(require('@fastify/jwt'), {
    secret: cfg.jwtSecret,
    verify: { algorithms: ['HS256'] },
  });
  app.addHook('onRequest', async (req, reply) => {
    if (req.routeOptions.config?.auth === false || !req.routeOptions.url) return;
    try {
      // base64url leaves spare bits in a signature's last character, which
      // decoders ignore: without this check a token has several spellings
      // that all verify, and a deny list keyed by the token misses them
      if (!canonicalSignature(req.headers.authorization)) throw new Error('non-canonical signature');
      await req.jwtVerify();
    } catch {
      return send(reply, problem(401, 'A valid bearer token is required (Authorization: Bearer <JWT>).'),
                  { 'www-authenticate': 'Bearer' });
    }
    const role = req.user && req.user.role;
    if (typeof role !== 'string') {
      return send(reply, problem(401, 'The token has no role claim.'), { 'www-authenticate': 'Bearer' });
    }
    if (!ROLES.includes(role)) {
      return send(reply, problem(403, `The token's role is not one of ${ROLES.join(', ')}.`));
    }
  });
}

function canonicalSignature(authorization) {
  const sig = typeof authorization === 'string' ? authorization.split('.')[2] : undefined;
  return sig === undefined || Buffer.from(sig, 'base64url').toString('base64url') === sig;
}

// Mint an HS256 token (bin/mint-token.js, the demo and the tests).
function b64url(buf) {
  return Buffer.from(buf).toString('base64url');
}
function mint(secret, { role, sub, ttlSeconds = 3600 }) {
  if (!ROLES.includes(role)) throw new Error(`role must be one of ${ROLES.join(', ')}`);
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = b64url(JSON.stringify({ role, sub: sub || role, iat: now, exp: now + ttlSeconds }));
  const sig = b64url(crypto.createHmac('sha256', secret).update(`${header}.${payload}`).digest());
  return `${header}.${payload}.${sig}`;
}

module.exports = { register, mint };
