/**
 * Starts the Portkey gateway (build/start-server.js of @portkey-ai/gateway, the package's `bin`)
 * for `npm run bench:http`, with plain Node (no tsx), as a child process of the benchmark.
 *
 * The gateway reads `--port=N` (default 8787) and listens on every interface; here it gets
 * `--port=0 --headless` (no UI or log-stream routes) and its one `listen` call is bound to
 * 127.0.0.1, so it takes a free port on the loopback only. Speaks the benchmark's IPC
 * protocol (see bench/http-targets.ts): sends `{ port }` once listening, and answers each
 * `cpu` message with `{ cpu, rss, maxRss }` (user+system CPU in µs, RSS and peak RSS in bytes).
 *
 * Requests name the upstream in headers: `x-portkey-provider: openai` and
 * `x-portkey-custom-host: http://127.0.0.1:PORT/v1` (127.0.0.1 is one of the gateway's
 * default trusted custom hosts).
 */
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnLoopback(...args) {
  net.Server.prototype.listen = listen;
  // @hono/node-server's serve() calls listen(port, hostname, callback), hostname undefined.
  const callback = args.find((arg) => typeof arg === 'function');
  this.once('listening', () => process.send?.({ port: this.address().port }));
  return callback ? listen.call(this, 0, '127.0.0.1', callback) : listen.call(this, 0, '127.0.0.1');
};

process.on('message', (message) => {
  if (message !== 'cpu') return;
  const usage = process.cpuUsage();
  process.send?.({
    cpu: usage.user + usage.system,
    rss: process.memoryUsage.rss(),
    maxRss: process.resourceUsage().maxRSS * 1024,
  });
});
// The benchmark went away (ended, or interrupted): do not outlive it.
process.on('disconnect', () => process.exit(0));

process.argv.splice(2, Infinity, '--port=0', '--headless');
await import('@portkey-ai/gateway/build/start-server.js');
