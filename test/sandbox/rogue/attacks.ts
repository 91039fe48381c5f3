/**
 * Rogue plugins: input message processors that attack. A plugin leaves every message alone but
 * one naming it and an attack it knows (`rogue-<name>/<attack>`); for that one it runs the attack and answers,
 * in place of the message, what happened — one `label=OK <detail>` or `label=DENIED <code>
 * <message>` per step, joined by ` | ` — so a test reads the outcome from the chat reply (the
 * echo backend sends the message back). Destructive attacks end their own process instead.
 *
 * Attacks take what they aim at from the plugin's `config` (paths, pids, URLs), so the same
 * source runs sandboxed and in the server's process. Node built-ins are imported dynamically:
 * an import guard that refuses one fails that step (PLUGIN_IMPORT_DENIED), not the plugin's
 * load, and `builtin()` then tries the ways around a guard, so that the OS-level layer (the
 * permission model, the namespaces) is still what is tested wherever the guard can be bypassed.
 */
import { PLUGBOARD_SRC } from '../../support/plugin-sources.ts';

/** Every attack: an async function of the plugin's config answering its steps' reports, as JavaScript source. */
export const ATTACKS = {
  /** Gets child_process by any way open, then runs `id` in a child process. */
  spawn: `async () => {
    let childProcess;
    const steps = [await step('obtain', async () => { childProcess = await builtin('child_process'); return 'via ' + builtin.via; })];
    if (childProcess !== undefined) steps.push(await step('spawn', () => childProcess.execSync('id', { encoding: 'utf8' }).trim()));
    return steps;
  }`,
  /** Reads a file outside its folder. */
  passwd: `async () => [await step('passwd', async () => (await builtin('fs')).readFileSync('/etc/passwd', 'utf8').split('\\n')[0])]`,
  /** Reads the server's config file (config.path), with the sync and the promise API; and its own file (config.ownFile). */
  config: `async (config) => [
    await step('own-file', async () => (await builtin('fs')).readFileSync(config.ownFile, 'utf8').length + ' characters'),
    await step('read', async () => (await builtin('fs')).readFileSync(config.path, 'utf8').split('\\n')[0]),
    await step('promises', async () => (await (await builtin('fs')).promises.readFile(config.path, 'utf8')).split('\\n')[0]),
  ]`,
  /** Writes a file into its own folder (config.ownPath) and elsewhere (config.otherPath). */
  write: `async (config) => [
    await step('own-folder', async () => { (await builtin('fs')).writeFileSync(config.ownPath, 'pwned'); return 'written'; }),
    await step('other', async () => { (await builtin('fs')).writeFileSync(config.otherPath, 'pwned'); return 'written'; }),
  ]`,
  /** Code from strings. */
  eval: `async () => [
    await step('eval', () => eval('1 + 1')),
    await step('function', () => new Function('return 1 + 1')()),
  ]`,
  /** The classic vm escape to the real process, then a child process through it. */
  vm: `async () => {
    let escaped;
    const steps = [await step('escape', async () => {
      escaped = (await builtin('vm')).runInNewContext('this.constructor.constructor("return process")()');
      return 'got a process object, pid ' + escaped.pid;
    })];
    if (escaped !== undefined) {
      steps.push(await step('spawn', () => escaped.getBuiltinModule('node:child_process').execSync('id', { encoding: 'utf8' }).trim()));
    }
    return steps;
  }`,
  /** The ways to a denied built-in that an import guard covers: import, process.getBuiltinModule, CommonJS's Module._load. */
  guard: `async () => {
    const steps = [];
    for (const name of ['child_process', 'vm']) {
      steps.push(await step('import-' + name, async () => typeof (await import('node:' + name)).default));
      steps.push(await step('getBuiltinModule-' + name, () => typeof process.getBuiltinModule('node:' + name)));
      steps.push(await step('load-' + name, () => typeof process.getBuiltinModule('module').Module._load(name, null, false)));
    }
    return steps;
  }`,
  /** Node's internal bindings, and a native addon (config.addon). */
  binding: `async (config) => [
    await step('binding', () => 'spawn_sync.spawn is a ' + typeof process.binding('spawn_sync').spawn),
    ...(config.addon === undefined ? [] : [await step('dlopen', () => { const module = { exports: {} }; process.dlopen(module, config.addon); return Object.keys(module.exports).length + ' exports'; })]),
  ]`,
  /** SIGKILL to a pid it was given: the server's, as the server sees it (config.pid; default its own). */
  'kill-pid': `async (config) => [await step('kill', () => { const pid = config.pid ?? process.pid; process.kill(pid, 'SIGKILL'); return 'SIGKILL sent to ' + pid; })]`,
  /** SIGKILL to its parent (in a PID namespace its parent pid is 0: kill(0) is its whole process group). */
  'kill-ppid': `async () => [await step('kill', () => { const pid = process.ppid; process.kill(pid, 'SIGKILL'); return 'SIGKILL sent to ppid ' + pid; })]`,
  /** The server's secrets: its own environment, and the server's through /proc (config.pid). */
  env: `async (config) => [
    await step('env', () => 'secret=' + (JSON.stringify(process.env).includes('sk-secret') ? 'SEEN' : 'absent') + ' keys=' + Object.keys(process.env).sort().join(',')),
    ...(config.pid === undefined ? [] : [await step('proc-environ', async () => 'read ' + (await builtin('fs')).readFileSync('/proc/' + config.pid + '/environ').length + ' bytes')]),
  ]`,
  /**
   * A TCP connection to Redis on loopback; then — only when asked and only once loopback proved
   * unroutable (so no packet can leave this machine) — to a private and a public address.
   */
  socket: `async (config) => {
    const steps = [await step('redis', () => talk('127.0.0.1', 6379, 'PING\\r\\n'))];
    // ENETUNREACH on loopback: no route at all, as in an empty network namespace (a refused connection proves nothing).
    if (config.probeExternal === true && steps[0].includes('=DENIED ENETUNREACH')) {
      steps.push(await step('private', () => talk('10.0.0.1', 80, '')));
      steps.push(await step('public', () => talk('1.1.1.1', 80, '')));
    }
    return steps;
  }`,
  /**
   * Malformed messages on the pipe to the server (fd 3, JSON lines): JSON that is no message, and
   * answers to the calls in flight (its own among them) with an error that is no error.
   */
  pipe: `async () => {
    const fs = await builtin('fs');
    fs.writeSync(3, 'null\\n');
    for (let id = 1; id <= 64; id++) fs.writeSync(3, JSON.stringify({ t: 'result', id, ok: false, error: null }) + '\\n');
    return ['pipe=OK sent'];
  }`,
  /** fetch() to a URL (config.url): on a host its allow_hosts may or may not list. */
  fetch: `async (config) => [await step('fetch', async () => { const response = await fetch(config.url); return response.status + ' ' + (await response.text()); })]`,
  /** 2 GB of JavaScript arrays, kept. */
  heap: `async () => { globalThis.hoard = []; for (let index = 0; index < 2048; index++) globalThis.hoard.push(new Array(131072).fill(index + 0.5)); return ['heap=OK 2 GB allocated']; }`,
  /** 2 GB of Buffers, each filled (so its pages are really used), kept. */
  buffer: `async () => { globalThis.hoard = []; for (let index = 0; index < 2048; index++) globalThis.hoard.push(Buffer.alloc(1 << 20, index & 255)); return ['buffer=OK 2 GB allocated']; }`,
  /** A busy loop in a background timer, for ever: the call itself returns at once. */
  cpu: `async () => { setInterval(() => { const until = Date.now() + 100; while (Date.now() < until); }, 1); return ['cpu=OK spinning in the background']; }`,
  /** A busy loop inside the call, for ever. */
  spin: `async () => { for (;;); }`,
  /** An uncaught error from a timer, after the call answered. */
  crash: `async () => { setTimeout(() => { throw new Error('rogue crash from a timer'); }, 50); return ['crash=OK armed']; }`,
  /** Ends its own process in the middle of a call. */
  exit: `async () => process.exit(0)`,
  /** A fork bomb: child processes in a loop (bounded: 32), then worker threads in a loop. */
  'fork-bomb': `async () => [
    await step('spawn-loop', async () => {
      const childProcess = await builtin('child_process');
      let started = 0;
      try { for (; started < 32; started++) childProcess.spawn('/bin/sh', ['-c', 'sleep 2'], { stdio: 'ignore' }).unref(); }
      catch (error) { error.message = 'after ' + started + ' started: ' + error.message; throw error; }
      return started + ' started';
    }),
    await step('worker-loop', async () => {
      const { Worker } = await builtin('worker_threads');
      let started = 0;
      try { for (; started < 32; started++) new Worker('setTimeout(() => {}, 2000)', { eval: true }).unref(); }
      catch (error) { error.message = 'after ' + started + ' started: ' + error.message; throw error; }
      return started + ' started';
    }),
  ]`,
} as const;

/** The name of an attack, as a chat message names it (`rogue-<plugin>/<attack>`). */
export type AttackName = keyof typeof ATTACKS;

/** Helpers every rogue plugin carries (plain JavaScript: the file is evaluated as is). */
const HELPERS = `
function describeError(error) {
  const code = error?.code ?? error?.name ?? 'Error';
  return code + ' ' + String(error?.message ?? error).replace(/\\s+/g, ' ').slice(0, 240);
}
async function step(label, run) {
  try { return label + '=OK ' + String(await run()).replace(/\\s+/g, ' ').slice(0, 240); }
  catch (error) { return label + '=DENIED ' + describeError(error); }
}
/**
 * A Node built-in by import; refused by an import guard, by the ways around one — process.getBuiltinModule,
 * CommonJS's Module._load, and the require of a package module already loaded (which a guard lets
 * through: a package's own imports are not checked) — so that what stops the attack is the OS-level
 * layer wherever a way is open. When every way is shut, the import's own refusal. \`builtin.via\` tells the way.
 */
async function builtin(name) {
  try { const module = await import('node:' + name); builtin.via = 'import'; return module; }
  catch (error) {
    const ways = {
      getBuiltinModule: () => process.getBuiltinModule('node:' + name),
      load: () => process.getBuiltinModule('module').Module._load(name, null, false),
      'package-require': () => {
        const { Module } = process.getBuiltinModule('module');
        const loaded = Object.values(Module._cache).find((module) => module?.filename?.includes('/node_modules/'));
        return loaded?.require(name);
      },
    };
    for (const [way, around] of Object.entries(ways)) {
      try { const module = around(); if (module) { builtin.via = way; return module; } } catch {}
    }
    throw error;
  }
}
/** Connects, writes \`text\` (if any) and answers the first reply line, or fails with the time it took. */
async function talk(host, port, text) {
  const net = await builtin('net');
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(3000, () => socket.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    socket.once('connect', () => { if (text) socket.write(text); else { socket.destroy(); resolve('connected'); } });
    socket.once('data', (data) => { socket.destroy(); resolve(String(data).trim()); });
    socket.once('error', (error) => { error.message += ' after ' + (Date.now() - started) + ' ms'; reject(error); });
  });
}
`;

/**
 * Source of a rogue plugin: an input processor named `rogue-<name>` that knows `attacks` and runs
 * one for the message `rogue-<name>/<attack>`, answering its report in place of the message.
 */
export function roguePluginSource(name: string, attacks: readonly AttackName[]): string {
  const table = attacks.map((attack) => `  ${JSON.stringify(attack)}: ${ATTACKS[attack]},`).join('\n');
  return `
import { defineMessageProcessor, withContent } from ${JSON.stringify(PLUGBOARD_SRC)};
${HELPERS}
const attacks = {
${table}
};
const prefix = ${JSON.stringify(`rogue-${name}/`)};
let config = {};
export default defineMessageProcessor({
  metadata: { name: ${JSON.stringify(`rogue-${name}`)}, version: '1.0.0' },
  direction: 'input',
  initialize(settings) { config = settings.config ?? {}; },
  async processMessage(message) {
    const attack = message.content.startsWith(prefix) ? attacks[message.content.slice(prefix.length)] : undefined;
    if (attack === undefined) return message;
    let report;
    try { report = (await attack(config)).join(' | '); } catch (error) { report = 'attack=DENIED ' + describeError(error); }
    return withContent(message, report);
  },
});
`;
}

/** An output processor that marks every reply, to show that plugins next to a rogue one keep working. */
export const BYSTANDER_SOURCE = `
import { defineMessageProcessor, withContent } from ${JSON.stringify(PLUGBOARD_SRC)};
export default defineMessageProcessor({
  metadata: { name: 'bystander', version: '1.0.0' },
  direction: 'output',
  processMessage: (message) => withContent(message, message.content + ' [bystander]'),
});
`;

/** One step's outcome in a rogue plugin's report. */
export interface StepOutcome {
  readonly ok: boolean;
  /** The error code (or name) when denied. */
  readonly code: string;
  /** The rest: what it got, or the error message. */
  readonly detail: string;
}

/** The outcome of step `label` in `report`; undefined when the report has no such step. */
export function stepOutcome(report: string, label: string): StepOutcome | undefined {
  const part = report
    .replace(/ \[bystander\]$/, '')
    .split(' | ')
    .find((candidate) => candidate.startsWith(`${label}=`));
  if (part === undefined) return undefined;
  const rest = part.slice(label.length + 1);
  if (rest.startsWith('OK ')) return { ok: true, code: '', detail: rest.slice(3) };
  const [, code = '', detail = ''] = /^DENIED (\S+) ?(.*)$/.exec(rest) ?? [];
  return { ok: false, code, detail };
}
