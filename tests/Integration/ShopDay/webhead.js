// One webhead of the shop: an HTTP server that reports every request to StatsD through hot-shots (a real client).
// The version it serves is the content of <appDir>/version, read on every request; a version containing "bad" fails
// 3 requests in 10. shop.errors is incremented only on a failure, so that counter appears with the first error.
// GET /health answers "ok" (503 "sick" after GET /sick, until GET /well). Usage: node webhead.js PORT STATSD_PORT APP_DIR
const http = require('http');
const fs = require('fs');
const StatsD = require('hot-shots');
const [port, statsdPort, appDir] = process.argv.slice(2);
const statsd = new StatsD({ host: '127.0.0.1', port: Number(statsdPort), errorHandler: e => console.error('statsd:', e.message) });
let sick = false;
let n = 0;
http.createServer((req, res) => {
  if (req.url === '/health') { res.writeHead(sick ? 503 : 200); res.end(sick ? 'sick\n' : 'ok\n'); return; }
  if (req.url === '/sick' || req.url === '/well') { sick = req.url === '/sick'; res.end(req.url.slice(1) + '\n'); return; }
  let version = 'unknown';
  try { version = fs.readFileSync(appDir + '/version', 'utf8').trim(); } catch (e) { }
  n++;
  const failed = version.includes('bad') && n % 10 < 3;
  statsd.increment('shop.requests');
  if (failed) statsd.increment('shop.errors');
  statsd.timing('shop.latency', 20 + n % 7);
  res.writeHead(failed ? 500 : 200);
  res.end(`${version} ${failed ? 'error' : 'ok'}\n`);
}).listen(Number(port), '127.0.0.1', () => console.log(`listening on ${port}`));
