/**
 * Reliability: configuration edits under load, as careless operators and editors make them —
 * atomic saves, in-place rewrites, a truncated file (`> config.yaml`, a non-atomic save
 * caught half-way), a whitespace-only file, a half-written file with broken YAML. While
 * clients chat without pause, no request may be lost, hang or fail: a bad file is refused
 * and the running configuration keeps serving. Writes the `configEdits` section of
 * bench/results/reliability.json.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pluginFiles } from './fault-plugins.ts';
import {
  type Outcome,
  type ProbeResult,
  probe,
  type ServerProcess,
  startServer,
  tally,
  writeSection,
} from './probe.ts';

const CONCURRENCY = 6;

/** A valid config; `suffix` changes with each edit so that every edit is a real change. */
function config(suffix: number): string {
  return [
    'mode: development',
    'server: { host: 127.0.0.1, port: 0 }',
    'plugin_manager: { enable_hot_reload: true }',
    'observability:',
    '  logging: { level: ERROR, format: json }',
    'backends:',
    `  primary: { plugin_file: ./primary.plugin.ts, timeout: ${2 + (suffix % 3)} }`,
    'message_processors:',
    `  f-input: { plugin_file: ./f-input.plugin.ts, timeout: ${1 + (suffix % 2)} }`,
    '',
  ].join('\n');
}

interface Edit {
  readonly name: string;
  /** Writes the edit; resolves once the file is as the edit leaves it for `holdMs`. */
  readonly apply: (file: string, version: number) => Promise<void>;
  readonly holdMs: number;
  /** True when the edit leaves a valid file that must be applied. */
  readonly valid: boolean;
}

const atomic = async (file: string, text: string): Promise<void> => {
  const temporary = `${file}.${process.hrtime.bigint()}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, file);
};

const EDITS: readonly Edit[] = [
  { name: 'atomic save', apply: (file, version) => atomic(file, config(version)), holdMs: 400, valid: true },
  { name: 'in-place rewrite', apply: (file, version) => writeFile(file, config(version)), holdMs: 400, valid: true },
  { name: 'truncated to empty', apply: (file) => writeFile(file, ''), holdMs: 1500, valid: false },
  { name: 'whitespace only', apply: (file) => writeFile(file, '\n  \n\t\n'), holdMs: 800, valid: false },
  {
    name: 'half-written (cut mid-line)',
    apply: (file, version) => writeFile(file, config(version).slice(0, config(version).indexOf('timeout:') + 4)),
    holdMs: 800,
    valid: false,
  },
  {
    name: 'invalid value',
    // The processor's own entry is invalid: that entry is refused, the rest would apply.
    apply: (file, version) =>
      writeFile(file, config(version).replace('f-input.plugin.ts, timeout: ', 'f-input.plugin.ts, timeout: -')),
    holdMs: 800,
    valid: false,
  },
];

describe('reliability: configuration edits under load', () => {
  let dir: string;
  let file: string;
  let server: ServerProcess;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plugboard-edits-'));
    const files = pluginFiles();
    for (const name of ['primary.plugin.ts', 'f-input.plugin.ts']) await writeFile(join(dir, name), files[name]!);
    file = join(dir, 'config.yaml');
    await writeFile(file, config(0));
    server = await startServer(file);
  });

  after(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function inputTimeoutMs(): Promise<number | undefined> {
    const status = (await (await fetch(`${server.url}/plugins`)).json()) as {
      plugins: Record<string, { timeoutMs: number }>;
    };
    return status.plugins['f-input']?.timeoutMs;
  }

  test('no request is lost, hangs or fails while the file is edited, emptied and half-written', async () => {
    const results: (ProbeResult & { during: string })[] = [];
    let during = 'steady';
    let running = true;
    let sent = 0;
    const clients = Array.from({ length: CONCURRENCY }, async (_, client) => {
      while (running) {
        const stream = sent++ % 2 === 0;
        const api = client % 2 === 0 ? 'openai' : 'ollama';
        const label = during;
        const result = await probe(server.url, api, stream, `client ${client} asks ${sent}`);
        results.push({ ...result, during: label });
      }
    });
    const edits: { name: string; applied: boolean }[] = [];
    let version = 1;
    try {
      await sleep(300);
      for (let pass = 0; pass < 2; pass++) {
        for (const edit of EDITS) {
          during = edit.name;
          const written = version++;
          await edit.apply(file, written);
          await sleep(edit.holdMs);
          const health = await fetch(`${server.url}/health/ready`);
          assert.equal(health.status, 200, `ready during "${edit.name}"`);
          // A valid edit is applied; a broken file leaves the previous version running.
          const timeoutMs = await inputTimeoutMs();
          if (edit.valid) assert.equal(timeoutMs, (1 + (written % 2)) * 1000, `"${edit.name}" applied`);
          else assert.equal(timeoutMs, (1 + ((written - 1) % 2)) * 1000, `"${edit.name}" refused`);
          // Put a valid file back (a new version: the reload after a refused file is real too).
          during = `restore after ${edit.name}`;
          await atomic(file, config(version++));
          await sleep(300);
          edits.push({ name: edit.name, applied: edit.valid });
        }
      }
    } finally {
      running = false;
      await Promise.all(clients);
    }
    const outcomes = tally(results);
    const byEdit: Record<string, Record<Outcome, number>> = {};
    for (const result of results) {
      byEdit[result.during] ??= { ok: 0, 'clean-error': 0, lost: 0, hung: 0 };
      byEdit[result.during]![result.outcome]++;
    }
    const failures = results.filter((result) => result.outcome !== 'ok').slice(0, 5);
    await writeSection('configEdits', {
      concurrency: CONCURRENCY,
      edits: edits.length,
      requests: results.length,
      outcomes,
      byEdit,
      examples: failures,
    });
    assert.ok(results.length > 100, `load was applied (${results.length} requests)`);
    assert.deepEqual(
      { lost: outcomes.lost, hung: outcomes.hung, failed: outcomes['clean-error'] },
      { lost: 0, hung: 0, failed: 0 },
      JSON.stringify({ byEdit, failures }),
    );
    assert.equal(server.child.exitCode, null);
  });
});
