'use strict';
// A minimal keep-alive HTTP/1.1 load client: `connections` sockets to 127.0.0.1:port, each sending
// the next form body of `bodies` as a POST to `path` once the previous answer is complete. Less
// client-side CPU than any HTTP library, so a route's own cost dominates what is measured.

const net = require('node:net');

/** Sends every body once; resolves `{ done, failed }` (failed: answers other than 200). */
function drive(port, path, bodies, connections = 10) {
  return new Promise((resolve, reject) => {
    let next = 0;
    let done = 0;
    let failed = 0;
    const sockets = [];
    const head = (body) =>
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const finish = () => {
      for (const s of sockets) s.destroy();
      resolve({ done, failed });
    };
    for (let i = 0; i < connections; i++) {
      const socket = net.connect(port, '127.0.0.1');
      sockets.push(socket);
      let buf = '';
      const send = () => {
        if (next < bodies.length) socket.write(head(bodies[next++]));
      };
      socket.setEncoding('latin1');
      socket.on('connect', send);
      socket.on('error', reject);
      socket.on('data', (d) => {
        buf += d;
        for (;;) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const m = /content-length: *(\d+)/i.exec(buf.slice(0, end));
          const len = m ? Number(m[1]) : 0;
          if (buf.length < end + 4 + len) return;
          if (!buf.startsWith('HTTP/1.1 200')) failed += 1;
          buf = buf.slice(end + 4 + len);
          done += 1;
          if (done === bodies.length) return finish();
          send();
        }
      });
    }
  });
}

module.exports = { drive };
