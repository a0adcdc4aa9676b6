'use strict';
// Express peer, as Express's docs show it (run with NODE_ENV=production, which the
// runner sets, per Express's production best practices).

const express = require('express');
const c = require('./common');

const app = express();
app.disable('x-powered-by');
app.use((req, res, next) => {
  res.set('Server', 'Express'); // TechEmpower requires a Server header; Express sends none
  next();
});

app.get('/plaintext', (req, res) => {
  res.type('text/plain').send('Hello, World!');
});

app.get('/json', (req, res) => {
  res.json({ message: 'Hello, World!' });
});

app.get('/db', async (req, res, next) => {
  try {
    res.json(await c.getWorld());
  } catch (err) {
    next(err);
  }
});

app.get('/queries', async (req, res, next) => {
  try {
    res.json(await c.getWorlds(c.queriesCount(req.query.queries)));
  } catch (err) {
    next(err);
  }
});

app.get('/updates', async (req, res, next) => {
  try {
    res.json(await c.updateWorlds(c.queriesCount(req.query.queries)));
  } catch (err) {
    next(err);
  }
});

app.get('/fortunes', async (req, res, next) => {
  try {
    res.type('html').send(await c.fortunesHtml());
  } catch (err) {
    next(err);
  }
});

app.get('/cpu', async (req, res, next) => {
  try {
    res.json(await c.cpuResult());
  } catch (err) {
    next(err);
  }
});

app.listen(c.port, '127.0.0.1');
