/**
 * Reliability: slow-body clients (slowloris on the body) alongside normal traffic. Trickling
 * uploads are cut (408) or turned away (503) within the body deadline, their connections
 * closed; they never hold the server against clients sending at a normal pace, whose
 * requests all succeed. Writes the `slowClients` section of bench/results/reliability.json.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openRaw } from '../support/raw-http.ts';
import { pluginFiles } from './fault-plugins.ts';
import { type ProbeResult, probe, startServer, tally, writeSection } from './probe.ts';

const BODY_TIMEOUT_S = 1;
const MAX_PENDING = 8;
const SLOW_CLIENTS = 24;

const CONFIG = `
mode: development
server:
  host: 127.0.0.1
  port: 0
  body_timeout: ${BODY_TIMEOUT_S}
  body_min_rate_kb: 1
  max_pending_bodies: ${MAX_PENDING}
observability:
  logging: { level: ERROR, format: json }
backends:
  primary: { plugin_file: ./primary.plugin.ts }
`;

describe('reliability: slow-body clients', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plugboard-slow-'));
    await writeFile(join(dir, 'primary.plugin.ts'), pluginFiles()['primary.plugin.ts']!);
    await writeFile(join(dir, 'config.yaml'), CONFIG);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('trickling uploads are cut within the deadline; normal clients are all served', async () => {
    const server = await startServer(join(dir, 'config.yaml'));
    try {
      const body = JSON.stringify({ model: 'primary', messages: [{ role: 'user', content: 'slow '.repeat(40) }] });
      const head = (path: string) =>
        `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
      const started = performance.now();
      const slow = Array.from({ length: SLOW_CLIENTS }, (_, index) => {
        const request = openRaw(server.url, head(index % 2 === 0 ? '/v1/chat/completions' : '/api/chat'), '{');
        // One byte every 250 ms: 4 B/s, far under the 1 KiB/s that earns more time.
        void request.trickle(body.slice(1), 250, 1);
        return Promise.all([request.response, request.closed]).then(([response]) => ({
          status: response.status,
          closedAfterMs: performance.now() - started,
        }));
      });
      // Normal clients keep chatting the whole time.
      const normal: ProbeResult[] = [];
      let running = true;
      const clients = Array.from({ length: 4 }, async (_, client) => {
        while (running) {
          normal.push(await probe(server.url, client % 2 ? 'ollama' : 'openai', client > 1, `normal ${client}`));
          await sleep(5);
        }
      });
      const cut = await Promise.all(slow);
      running = false;
      await Promise.all(clients);

      const statuses: Record<string, number> = {};
      for (const result of cut) statuses[result.status] = (statuses[result.status] ?? 0) + 1;
      const slowest = Math.max(...cut.map((result) => result.closedAfterMs));
      const outcomes = tally(normal);
      await writeSection('slowClients', {
        slowClients: SLOW_CLIENTS,
        bodyTimeoutSeconds: BODY_TIMEOUT_S,
        maxPendingBodies: MAX_PENDING,
        slowStatuses: statuses,
        lastSlowClosedAfterMs: Math.round(slowest),
        normalRequests: normal.length,
        normalOutcomes: outcomes,
      });
      assert.equal(
        (statuses['408'] ?? 0) + (statuses['503'] ?? 0),
        SLOW_CLIENTS,
        `every slow upload cut or refused: ${JSON.stringify(statuses)}`,
      );
      // Cut at the deadline, not at some later sweep (generous slack for a loaded 2-core machine).
      assert.ok(slowest < BODY_TIMEOUT_S * 1000 + 3000, `last slow upload closed after ${Math.round(slowest)} ms`);
      assert.ok(normal.length > 20, `normal traffic ran (${normal.length})`);
      assert.deepEqual(outcomes, { ok: normal.length, 'clean-error': 0, lost: 0, hung: 0 });
    } finally {
      await server.stop();
    }
  });
});
