/**
 * What bench/sandbox.bench.ts measures: the plugin it sandboxes, the bare IPC children of its
 * floor, the sandbox's child program spoken to without the proxy, and the echo backend of its
 * pipeline runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type ChatChunk,
  type ChatContext,
  createSilentLogger,
  defineBackend,
  type PluginCall,
  type PluginManager,
} from '../src/index.ts';
import { FramedPipe } from '../src/sandbox/framed-pipe.ts';
import { childEntry, INSTALL_ROOT, sandboxEnv } from '../src/sandbox/launch-command.ts';
import type { ChildMessage, ParentMessage } from '../src/sandbox/protocol.ts';
import type { SandboxOptions } from '../src/sandbox/sandbox-options.ts';

const PLUGBOARD_SRC = fileURLToPath(new URL('../src/index.ts', import.meta.url));

export const silentLogger = createSilentLogger();

// ——— the plugin: an output processor, whole messages and a streaming transform (window 0) ———

const PLUGIN_SOURCE = `
import { defineMessageProcessor, withContent } from ${JSON.stringify(PLUGBOARD_SRC)};
export default defineMessageProcessor({
  metadata: { name: 'shout', version: '1.0.0' },
  direction: 'output',
  processMessage: (message) => withContent(message, message.content.toUpperCase()),
  streaming: { window: 0, transform: (text) => text.toUpperCase() },
});
`;

/**
 * Writes the plugin file into `root/folder` (a folder of its own: a sandbox may read its folder,
 * and its cgroup is named after it); returns the file's path.
 */
export function writePlugin(root: string, folder: string): string {
  mkdirSync(join(root, folder));
  const path = join(root, folder, 'shout.plugin.ts');
  writeFileSync(path, PLUGIN_SOURCE);
  return path;
}

/** The sandbox of the brief: 256 MB, no imports listed, no network; the CPU quota as given. */
export function sandboxOptions(modulePath: string, cpuPercent: number): SandboxOptions {
  return { modulePath, memoryMb: 256, cpuPercent, allowedImports: [], deniedImports: [], allowHosts: [] };
}

/** A minimal PluginCall, as the runtime passes it (no services, effects accepted and dropped). */
export const benchCall: PluginCall = {
  plugin: 'shout',
  requestId: 'bench-request',
  signal: new AbortController().signal,
  logger: silentLogger,
  services: {
    get: () => {
      throw new Error('no services in this bench');
    },
    find: () => undefined,
  },
  setResponseHeader: () => true,
  setResponseData: () => true,
};

// ——— the floor: a bare Node child on a message pipe, as the sandbox speaks ———

/** A child spoken to as the sandbox speaks to its process: JSON lines on fd 3 (src/sandbox/framed-pipe.ts). */
export class PipedChild extends EventEmitter<{ message: [unknown] }> {
  readonly #pipe: FramedPipe;

  constructor(readonly child: ChildProcess) {
    super();
    this.#pipe = new FramedPipe(child.stdio[3] as Socket, 64 * 1024 * 1024);
    this.#pipe.on('message', (message) => this.emit('message', message));
  }

  send(message: unknown): void {
    this.#pipe.send(message);
  }

  kill(): void {
    this.child.kill();
  }
}

/** The child side of the pipe, for `node -e`: `send(m)` and `HANDLE(m)` per message. */
const CHILD_PIPE = `const s = new (require('node:net').Socket)({ fd: 3, readable: true, writable: true }); s.setEncoding('utf8');
const send = (m) => s.write(JSON.stringify(m) + '\\n'); let b = '';
s.on('data', (d) => { b += d; let i; while ((i = b.indexOf('\\n')) >= 0) { const m = JSON.parse(b.slice(0, i)); b = b.slice(i + 1); HANDLE(m); } });
s.on('end', () => process.exit(0));`;

/** Answers with what it was sent. */
export const ECHO_CHILD = `const HANDLE = (m) => send(m); ${CHILD_PIPE}`;
/** Answers as the sandbox answers a `processMessage` call: `{ t: 'result', id, ok, value: message }`. */
export const REPLY_CHILD = `const HANDLE = (m) => send({ t: 'result', id: m.id, ok: true, value: m.args[0] }); ${CHILD_PIPE}`;
/** Says it is ready, then ignores what it is sent (start-up). */
export const READY_CHILD = `const HANDLE = () => {}; ${CHILD_PIPE} send('ready');`;

/**
 * A bare `node -e code` child with a message pipe on fd 3: the environment of a sandboxed process
 * (the server's own may slow every start: NODE_EXTRA_CA_CERTS costs ~80 ms).
 */
export function forkBare(code: string): PipedChild {
  return new PipedChild(
    spawn(process.execPath, ['-e', code], { env: sandboxEnv(), stdio: ['ignore', 'inherit', 'inherit', 'pipe'] }),
  );
}

/** One round trip to a child that answers each message with one: send, resolve on its next message. */
export function pingPong(child: PipedChild, message: object): Promise<unknown> {
  return new Promise((resolve) => {
    child.once('message', resolve);
    child.send(message);
  });
}

/**
 * The sandbox's own child program (child-main with its ChildHost, from the build when current)
 * started as a bare child (the sandbox's environment, but no permission model, namespaces nor
 * cgroup) with `modulePath` loaded through its protocol. Spoken to directly (no proxy), it shows
 * the child's share of a call, and of a start-up.
 */
export async function startChildHostDirect(modulePath: string): Promise<PipedChild> {
  const entry = await childEntry();
  const child = new PipedChild(
    spawn(process.execPath, ['--enable-source-maps', entry.path], {
      env: sandboxEnv(),
      stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
    }),
  );
  await new Promise((resolve) => child.once('message', resolve)); // { t: 'ready' }
  const load: ParentMessage = {
    t: 'load',
    modulePath,
    policy: {
      allowedImports: [],
      deniedImports: [],
      trustedRoots: [join(INSTALL_ROOT, 'src'), join(INSTALL_ROOT, 'dist')],
      allowedHosts: [],
    },
  };
  child.send(load);
  const loaded = (await new Promise<unknown>((resolve) => child.once('message', resolve))) as ChildMessage;
  if (loaded.t !== 'loaded') {
    child.kill();
    throw new Error(`the sandbox's child program did not load the plugin: ${JSON.stringify(loaded)}`);
  }
  return child;
}

// ——— the pipeline: an echo backend that streams the user's text in 4-character chunks ———

/** Echoes the last user message: whole, or streamed 4 characters a chunk. */
export const echoBackend = defineBackend({
  metadata: { name: 'echo', version: '1.0.0' },
  chat(context) {
    const text = context.messages.at(-1)?.content ?? '';
    if (!context.stream) return { message: { role: 'assistant', content: text }, finishReason: 'stop' };
    return streamOf(text);
  },
  listModels: () => [{ id: 'echo' }],
});

/** Module-level, not an `async function*` expression per call (see docs/PERFORMANCE.md). */
async function* streamOf(text: string): AsyncGenerator<ChatChunk> {
  for (let index = 0; index < text.length; index += 4) yield { content: text.slice(index, index + 4) };
  yield { finishReason: 'stop' };
}

/**
 * One request through `manager` (JSON or streamed, as `context` says), as a function to time;
 * run once here to check that the reply comes back upper-cased (the processor ran).
 */
export async function requestRunner(manager: PluginManager, context: ChatContext): Promise<() => Promise<unknown>> {
  const expected = (context.messages.at(-1)?.content ?? '').toUpperCase();
  const run = context.stream
    ? async () => {
        const stream = manager.stream(context);
        let text = '';
        for await (const chunk of stream) text += chunk.content ?? '';
        return text;
      }
    : async () => (await manager.chat(context)).message.content;
  const text = await run();
  if (text !== expected) throw new Error(`the processor did not run: got ${JSON.stringify(text).slice(0, 80)}`);
  return run;
}
