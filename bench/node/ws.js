'use strict';
// Node `ws` peer for the WebSocket workloads (bench/README.md), as ws's README shows a
// broadcast: one WebSocketServer on an http.Server, each message serialized once and
// sent to every open client of the topic. Speaks the benchmark's small JSON protocol
// (the shape of Tidal's): {"type":"join","ref":1,"topic":...} is answered with a reply,
// and POST /publish?seq=&sent=&size= sends {"type":"event",...,"data":{seq,sent,pad}}.

const http = require('node:http');
const { WebSocketServer, WebSocket } = require('ws');

const port = Number(process.argv[2] || process.env.PORT || 8080);
const topics = new Map(); // topic -> Set of sockets

function publish(topic, data) {
  const members = topics.get(topic);
  if (!members) return 0;
  const frame = JSON.stringify({ type: 'event', topic, event: 'tick', data });
  for (const client of members) {
    if (client.readyState === WebSocket.OPEN) client.send(frame);
  }
  return members.size;
}

function answer(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (req.method === 'POST' && url.pathname === '/publish') {
    const q = url.searchParams;
    const data = {
      seq: Number(q.get('seq') || 0),
      sent: Number(q.get('sent') || 0),
      pad: 'x'.repeat(Number(q.get('size') || 0)),
    };
    answer(res, 200, { delivered: publish('bench:all', data) });
  } else if (url.pathname === '/count') {
    const members = topics.get('bench:all');
    answer(res, 200, { sockets: members ? members.size : 0 });
  } else {
    answer(res, 404, { error: 'not found' });
  }
});

const wss = new WebSocketServer({ server, path: '/ws' });

wss.on('connection', (ws) => {
  const joined = new Set();
  ws.on('message', (raw) => {
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch {
      return;
    }
    if (frame.type === 'join' && typeof frame.topic === 'string') {
      if (!topics.has(frame.topic)) topics.set(frame.topic, new Set());
      topics.get(frame.topic).add(ws);
      joined.add(frame.topic);
      ws.send(JSON.stringify({ type: 'reply', ref: frame.ref, topic: frame.topic, status: 'ok' }));
    }
  });
  ws.on('close', () => {
    for (const topic of joined) topics.get(topic).delete(ws);
  });
  ws.on('error', () => {});
});

server.listen(port, '127.0.0.1');
