/**
 * The servers of the rogue-plugin suites: the rogue plugins one server holds, an in-process
 * server on a fixture folder, and a fleet of real `plugboard serve` processes (one per attack
 * that ends or blocks a server), started in the background and stopped together.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../../src/index.ts';
import type { RunningPlugboard } from '../../../src/server/serve.ts';
import { RuntimeFixture } from '../../support/runtime-fixture.ts';
import type { AttackName } from './attacks.ts';
import { type CliServer, ServerProbe, startCliServer } from './harness.ts';
import { type RogueEntry, writeRogueServer } from './server-files.ts';

/** The secret in the server's environment that no sandboxed plugin may see. */
export const SECRET = `sk-secret-${process.pid}-rogue`;
/** The first line of every config.yaml: a plugin that read the file would repeat it. */
export const MARKER = `rogue-suite config marker ${process.pid}`;
/** A native addon whose file a sandboxed plugin may read (node_modules is readable). */
export const ADDON = fileURLToPath(
  new URL('../../../node_modules/better-sqlite3/build/Release/better_sqlite3.node', import.meta.url),
);
/** Attacks that harm nothing but what they reach: one process runs them all, and must survive them all. */
export const PROBES: readonly AttackName[] = [
  'spawn',
  'passwd',
  'config',
  'write',
  'eval',
  'vm',
  'guard',
  'binding',
  'env',
  'socket',
  'fetch',
];

/**
 * The probing plugins of a server in `dir` — `rogue-probe` beside config.yaml (the sandbox then
 * grants only its own file) and `rogue-sub` in a sub-folder (which it may read; it reads the
 * config through `..`, and fetches from the one host it is allowed) — sandboxed or in the
 * server's process. `port`: the recording HTTP server; `otherPath`: where a write outside lands.
 */
export function probingRogues(dir: string, port: number, otherPath: string, sandboxed: boolean): RogueEntry[] {
  const sandbox = sandboxed ? true : undefined;
  return [
    {
      name: 'probe',
      attacks: sandboxed ? [...PROBES, 'kill-pid', 'fork-bomb'] : PROBES,
      sandbox,
      config: {
        path: join(dir, 'config.yaml'),
        ownFile: join(dir, 'rogue-probe.plugin.ts'),
        ownPath: join(dir, 'rogue-written.txt'),
        otherPath,
        addon: ADDON,
        pid: process.pid,
        probeExternal: sandboxed,
        url: `http://127.0.0.1:${port}/${sandboxed ? 'denied' : 'trusted'}`,
      },
    },
    {
      name: 'sub',
      attacks: ['config', 'fetch'],
      folder: 'sub',
      sandbox: sandboxed ? { network: { allow_hosts: [`127.0.0.1:${port}`] } } : undefined,
      config: {
        path: join(dir, 'sub', '..', 'config.yaml'),
        ownFile: join(dir, 'sub', 'rogue-sub.plugin.ts'),
        url: `http://127.0.0.1:${port}/${sandboxed ? 'allowed' : 'trusted'}`,
      },
    },
  ];
}

/** A server in the test process on a fixture folder holding `rogues`. */
export interface InProcessServer {
  readonly fixture: RuntimeFixture;
  readonly probe: ServerProbe;
  /** Stops it (once; later calls do nothing). */
  stop(): Promise<void>;
}

/** Writes the folder (`prefix`, with a `sub/`) and serves it with SECRET in the environment. */
export async function startInProcessServer(
  prefix: string,
  rogues: (dir: string) => RogueEntry[],
  options: { readonly logger?: Logger; readonly bystander?: boolean } = {},
): Promise<InProcessServer> {
  const fixture = new RuntimeFixture(await RuntimeFixture.tempDir(prefix));
  await mkdir(join(fixture.dir, 'sub'));
  await writeRogueServer(fixture.dir, {
    marker: MARKER,
    rogues: rogues(fixture.dir),
    ...(options.bystander === undefined ? {} : { bystander: options.bystander }),
  });
  let running: RunningPlugboard | undefined = await fixture.serve({
    env: { OPENAI_API_KEY: SECRET },
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  return {
    fixture,
    probe: new ServerProbe(running.url),
    async stop() {
      const stopping = running;
      running = undefined;
      await stopping?.stop('test');
    },
  };
}

/** Real `plugboard serve` processes, one rogue plugin each, by key. */
export class CliFleet {
  readonly #servers = new Map<string, Promise<CliServer>>();
  readonly #started: { server: CliServer; graceMs: number }[] = [];
  readonly #folders: string[] = [];

  /** Starts one in the background (its test awaits {@link get}); `nodeFlags` go before the CLI's path. */
  start(key: string, entry: RogueEntry, nodeFlags: readonly string[] = []): void {
    const start = async () => {
      const dir = await mkdtemp(join(tmpdir(), `plugboard-rogue-cli-${key}-`));
      this.#folders.push(dir);
      const file = await writeRogueServer(dir, {
        marker: MARKER,
        rogues: [entry],
        bystander: false,
        logLevel: 'WARNING',
      });
      const server = startCliServer(file, { env: { OPENAI_API_KEY: SECRET }, nodeFlags });
      // Only a sandboxed one has cgroups to remove in a graceful stop; the others may hang: killed at once.
      this.#started.push({ server, graceMs: entry.sandbox === undefined ? 0 : 5000 });
      await server.url;
      return server;
    };
    const started = start();
    started.catch(() => undefined); // its test reports the failure
    this.#servers.set(key, started);
  }

  /** The server started as `key`, once it listens. */
  async get(key: string): Promise<{ server: CliServer; probe: ServerProbe }> {
    const server = await this.#servers.get(key);
    if (server === undefined) throw new Error(`no server ${key}`);
    return { server, probe: new ServerProbe(await server.url) };
  }

  /** Stops every server (and what it started), and removes their folders. */
  async stopAll(): Promise<void> {
    await Promise.allSettled(this.#servers.values());
    await Promise.all(this.#started.map(({ server, graceMs }) => server.stop(graceMs)));
    for (const dir of this.#folders) await rm(dir, { recursive: true, force: true });
  }
}
