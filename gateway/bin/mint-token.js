#!/usr/bin/env node
'use strict';
// Mint an HS256 token for one of fashionrec's roles with FR_JWT_SECRET:
//   node bin/mint-token.js fashionrec_reader [subject] [ttl-seconds]
const { mint } = require('../src/auth');
const { ROLES } = require('../src/config');

const [role, sub, ttl] = process.argv.slice(2);
const secret = process.env.FR_JWT_SECRET || '';
if (!ROLES.includes(role) || secret.length < 32) {
  console.error(`usage: FR_JWT_SECRET=<32+ chars> mint-token.js {${ROLES.join('|')}} [subject] [ttl-seconds]`);
  process.exit(2);
}
process.stdout.write(mint(secret, { role, sub, ttlSeconds: ttl ? Number(ttl) : 3600 }) + '\n');
