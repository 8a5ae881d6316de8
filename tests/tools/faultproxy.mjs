#!/usr/bin/env node
// faultproxy.mjs: an HTTP reverse proxy that injects the faults an S3 client
// must survive, for pipedag-c's fs tests. No npm dependencies.
//
// usage: node faultproxy.mjs --listen 127.0.0.1:PORT --upstream 127.0.0.1:PORT2
//          [--every K]        answer every K-th request 503 SlowDown (not forwarded)
//          [--throttle-every K] answer every K-th request 429 (not forwarded)
//          [--drop-every K]   every K-th GET response with a body: send the headers
//                             and about half the body, then reset the connection
//          [--cut-upload-every K] every K-th request with a body: read part of
//                             it, then reset the connection (nothing forwarded)
//          [--slow-every K]   every K-th GET response body trickles (64 KiB / 20 ms)
//          [--stall-every K]  every K-th GET response: headers and a little of the
//                             body, then nothing (the connection stays open)
//          [--log]
// Counters are per fault kind over all requests, so runs are deterministic.
import http from 'node:http';

const args = process.argv.slice(2);
const opt = { every: 0, throttle: 0, drop: 0, cut: 0, slow: 0, stall: 0, log: false };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--listen') opt.listen = args[++i];
  else if (a === '--upstream') opt.upstream = args[++i];
  else if (a === '--every') opt.every = Number(args[++i]);
  else if (a === '--throttle-every') opt.throttle = Number(args[++i]);
  else if (a === '--drop-every') opt.drop = Number(args[++i]);
  else if (a === '--cut-upload-every') opt.cut = Number(args[++i]);
  else if (a === '--slow-every') opt.slow = Number(args[++i]);
  else if (a === '--stall-every') opt.stall = Number(args[++i]);
  else if (a === '--log') opt.log = true;
  else { console.error(`unknown argument ${a}`); process.exit(2); }
}
const [lhost, lport] = opt.listen.split(':');
const [uhost, uport] = opt.upstream.split(':');
const n = { req: 0, body: 0, resp: 0 };
const stats = { s503: 0, s429: 0, drop: 0, cut: 0, slow: 0, stall: 0 };
const log = (...m) => { if (opt.log) console.log(...m); };

function xmlError(res, status, code) {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected by faultproxy</Message></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const k = ++n.req;
  const sock = req.socket;
  const hasBody = Number(req.headers['content-length'] || 0) > 0;
  if (opt.every && k % opt.every === 0) {
    stats.s503++; log(k, 'inject 503', req.method, req.url);
    req.resume(); req.on('end', () => xmlError(res, 503, 'SlowDown'));
    return;
  }
  if (opt.throttle && k % opt.throttle === 0) {
    stats.s429++; log(k, 'inject 429', req.method, req.url);
    req.resume(); req.on('end', () => xmlError(res, 429, 'TooManyRequests'));
    return;
  }
  if (hasBody && opt.cut && ++n.body % opt.cut === 0) {
    stats.cut++; log(k, 'cut upload', req.method, req.url);
    let seen = 0;
    const total = Number(req.headers['content-length']);
    req.on('data', (c) => { seen += c.length; if (seen >= total / 3) req.socket.destroy(); });
    return;
  }
  const up = http.request({ host: uhost, port: uport, method: req.method, path: req.url, headers: req.headers }, (ur) => {
    const len = Number(ur.headers['content-length'] || 0);
    // response bodies of GETs only: a lost answer to a POST that the server
    // carried out (CompleteMultipartUpload) cannot be told apart from a
    // failure on s3rver, whose multipart ETag is not AWS's MD5-of-MD5s
    const withBody = req.method === 'GET' && len > 0 && ur.statusCode < 300;
    const r = withBody ? ++n.resp : 0;
    const drop = withBody && opt.drop && r % opt.drop === 0;
    const slow = withBody && opt.slow && r % opt.slow === 0;
    const stall = withBody && opt.stall && r % opt.stall === 0;
    res.writeHead(ur.statusCode, ur.headers);
    if (stall) {
      stats.stall++; log(k, 'stall response body', req.method, req.url, len);
      let sent = false;
      ur.on('data', (c) => { if (!sent) { sent = true; res.write(c.subarray(0, Math.min(c.length, 1000))); } });
      // keep the socket open; the client must time out on its own
      return;
    }
    if (drop) {
      stats.drop++; log(k, 'drop response body', req.method, req.url, len);
      // the first half of the body, byte-exact, then a reset
      const half = Math.floor(len / 2);
      let sent = 0;
      ur.on('data', (c) => {
        if (sent >= half) return;
        const part = c.subarray(0, Math.min(c.length, half - sent));
        sent += part.length;
        res.write(part);
        if (sent >= half) { ur.destroy(); setTimeout(() => sock.destroy(), 10); }
      });
      return;
    }
    if (slow) {
      stats.slow++; log(k, 'slow response body', req.method, req.url, len);
      ur.pause();
      const chunks = [];
      ur.on('data', (c) => chunks.push(c));
      ur.on('end', () => {
        const all = Buffer.concat(chunks);
        let at = 0;
        const tick = () => {
          if (at >= all.length) { res.end(); return; }
          res.write(all.subarray(at, at + 65536)); at += 65536;
          setTimeout(tick, 20);
        };
        tick();
      });
      ur.resume();
      return;
    }
    ur.pipe(res);
  });
  up.on('error', (e) => { log(k, 'upstream error', e.message); res.destroy(); });
  req.pipe(up);
});
server.keepAliveTimeout = 30000;
server.listen(Number(lport), lhost, () => log(`faultproxy on ${opt.listen} -> ${opt.upstream}`));
process.on('SIGTERM', () => { console.log('faultproxy stats', JSON.stringify(stats)); process.exit(0); });
