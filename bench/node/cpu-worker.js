'use strict';
const { parentPort } = require('node:worker_threads');
const { countPrimes } = require('./primes');

parentPort.on('message', (limit) => parentPort.postMessage(countPrimes(limit)));
