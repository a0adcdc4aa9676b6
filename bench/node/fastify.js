'use strict';
// Fastify peer, as Fastify's docs show it: async handlers returning values, the
// default logger off (as in Fastify's own benchmarks).

const fastify = require('fastify');
const c = require('./common');

const app = fastify({ logger: false });

// TechEmpower requires a Server header; Fastify sends none.
app.addHook('onRequest', (request, reply, done) => {
  reply.header('Server', 'Fastify');
  done();
});

app.get('/plaintext', async (request, reply) => {
  reply.type('text/plain');
  return 'Hello, World!';
});

app.get('/json', async () => ({ message: 'Hello, World!' }));

app.get('/db', async () => c.getWorld());

app.get('/queries', async (request) => c.getWorlds(c.queriesCount(request.query.queries)));

app.get('/updates', async (request) => c.updateWorlds(c.queriesCount(request.query.queries)));

app.get('/fortunes', async (request, reply) => {
  reply.type('text/html; charset=utf-8');
  return c.fortunesHtml();
});

app.get('/cpu', async () => c.cpuResult());

app.listen({ port: c.port, host: '127.0.0.1' }).catch((err) => {
  console.error(err);
  process.exit(1);
});
