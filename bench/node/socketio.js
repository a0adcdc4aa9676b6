'use strict';
// Socket.IO peer for the WebSocket workloads (bench/README.md), as Socket.IO's docs show
// rooms: a client emits "join" with an acknowledgement and the server puts its socket in
// the room; POST /publish broadcasts with io.to(room).emit("tick", {seq, sent, pad}).
// Clients connect with the WebSocket transport directly (socket.io-client's
// `transports: ["websocket"]`), so no long-polling handshake is measured.

const http = require('node:http');
const { Server } = require('socket.io');

const port = Number(process.argv[2] || process.env.PORT || 8080);
const TOPIC = 'bench:all';

function answer(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

// Socket.IO answers its own path (/socket.io/) and hands every other request to this.
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (req.method === 'POST' && url.pathname === '/publish') {
    const q = url.searchParams;
    io.to(TOPIC).emit('tick', {
      seq: Number(q.get('seq') || 0),
      sent: Number(q.get('sent') || 0),
      pad: 'x'.repeat(Number(q.get('size') || 0)),
    });
    answer(res, 200, { ok: true });
  } else if (url.pathname === '/count') {
    const room = io.of('/').adapter.rooms.get(TOPIC);
    answer(res, 200, { sockets: room ? room.size : 0 });
  } else {
    answer(res, 404, { error: 'not found' });
  }
});

const io = new Server(server, { serveClient: false });

io.on('connection', (socket) => {
  socket.on('join', (topic, ack) => {
    if (typeof topic !== 'string') return;
    socket.join(topic);
    if (typeof ack === 'function') ack({ status: 'ok' });
  });
});

server.listen(port, '127.0.0.1');
