'use strict';
// Shared by the Express and Fastify peers: the pg pool, TechEmpower's rules for
// `queries`, the fortunes page and the /cpu work. Each peer file wires these into
// its framework the way that framework's docs show.

const os = require('node:os');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { Pool } = require('pg');
const { CPU_LIMIT, countPrimes } = require('./primes');

const pool = new Pool({
  connectionString: process.env.BENCH_DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/bench',
  max: Number(process.env.BENCH_DB_POOL_SIZE || 10),
});

const randomId = () => 1 + Math.floor(Math.random() * 10000);

// Not an integer (or missing) means 1; clamped to 1..500.
function queriesCount(raw) {
  const n = Number.parseInt(raw, 10);
  if (Number.isNaN(n) || n < 1) return 1;
  return n > 500 ? 500 : n;
}

const SELECT_WORLD = { name: 'select-world', text: 'SELECT id, randomnumber FROM world WHERE id = $1' };

async function getWorld() {
  const { rows } = await pool.query({ ...SELECT_WORLD, values: [randomId()] });
  return { id: rows[0].id, randomNumber: rows[0].randomnumber };
}

// pg runs each pool.query on a free connection, so the reads of one request run concurrently.
const getWorlds = (count) => Promise.all(Array.from({ length: count }, getWorld));

async function updateWorlds(count) {
  const worlds = await getWorlds(count);
  for (const world of worlds) world.randomNumber = randomId();
  // One statement for all rows (TechEmpower allows batching the writes), ids in order.
  const sorted = [...worlds].sort((a, b) => a.id - b.id);
  const values = [];
  const rows = sorted.map((w, i) => {
    values.push(w.id, w.randomNumber);
    return `($${2 * i + 1}::int, $${2 * i + 2}::int)`;
  });
  await pool.query(
    `UPDATE world SET randomnumber = v.r FROM (VALUES ${rows.join(', ')}) AS v (id, r) ` +
      'WHERE world.id = v.id',
    values,
  );
  return worlds;
}

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => ESCAPES[c]);

async function fortunesHtml() {
  const { rows } = await pool.query({ name: 'select-fortunes', text: 'SELECT id, message FROM fortune' });
  rows.push({ id: 0, message: 'Additional fortune added at request time.' });
  rows.sort((a, b) => (a.message < b.message ? -1 : a.message > b.message ? 1 : 0));
  const body = rows
    .map((f) => `<tr><td>${f.id}</td><td>${escapeHtml(f.message)}</td></tr>\n`)
    .join('');
  return (
    '<!DOCTYPE html>\n<html>\n<head><title>Fortunes</title></head>\n<body>\n<table>\n' +
    `<tr><th>id</th><th>message</th></tr>\n${body}</table>\n</body>\n</html>\n`
  );
}

// Node's guide "Don't Block the Event Loop" advises offloading CPU work to a worker
// pool; this is a minimal one on worker_threads (one thread per available CPU).
class WorkerPool {
  constructor(size) {
    this.idle = [];
    this.queue = [];
    for (let i = 0; i < size; i++) {
      const worker = new Worker(path.join(__dirname, 'cpu-worker.js'));
      worker.unref();
      this.idle.push(worker);
    }
  }

  run(limit) {
    return new Promise((resolve, reject) => {
      this.queue.push({ limit, resolve, reject });
      this.drain();
    });
  }

  drain() {
    while (this.idle.length && this.queue.length) {
      const worker = this.idle.pop();
      const job = this.queue.shift();
      const done = (fn, value) => {
        worker.removeAllListeners('message');
        worker.removeAllListeners('error');
        this.idle.push(worker);
        fn(value);
        this.drain();
      };
      worker.once('message', (value) => done(job.resolve, value));
      worker.once('error', (err) => done(job.reject, err));
      worker.postMessage(job.limit);
    }
  }
}

const inline = process.env.BENCH_CPU_MODE === 'inline';
const workers = inline ? null : new WorkerPool(os.availableParallelism());

// The /cpu body: in a worker thread, or on the event loop when BENCH_CPU_MODE=inline.
async function cpuResult() {
  const primes = inline ? countPrimes(CPU_LIMIT) : await workers.run(CPU_LIMIT);
  return { limit: CPU_LIMIT, primes };
}

const port = Number(process.argv[2] || process.env.PORT || 8080);

module.exports = {
  cpuResult,
  fortunesHtml,
  getWorld,
  getWorlds,
  pool,
  port,
  queriesCount,
  updateWorlds,
};
