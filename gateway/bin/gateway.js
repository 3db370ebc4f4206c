#!/usr/bin/env node
'use strict';
// Start the gateway: FR_JWT_SECRET, PG* and FR_GATEWAY_* from the environment
// (docs/http.md).  Prints one line with the address once listening.
const { load } = require('../src/config');
const { build } = require('../src/app');

(async () => {
  let cfg;
  try { cfg = load(); } catch (err) { console.error(`fashionrec-gateway: ${err.message}`); process.exit(2); }
  const app = await build(cfg);
  const address = await app.listen({ host: cfg.host, port: cfg.port });
  app.log.info({ address }, 'fashionrec gateway listening');
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => { app.close().then(() => process.exit(0), () => process.exit(1)); });
  }
})().catch((err) => { console.error(err); process.exit(1); });
