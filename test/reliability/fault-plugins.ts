/**
 * The faulty plugins of the reliability suite: one plugin per place a plugin can sit in a
 * request, each able to commit every fault of the matrix. A plugin misbehaves only for the
 * requests that ask it to — the user message carries `fault=<fault> kind=<kind>` — so one
 * server runs the whole matrix. Each plugin file is self-contained (no shared helper
 * module): a stray error must come from the plugin's own file to be attributed to it.
 */
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const INDEX = pathToFileURL(fileURLToPath(new URL('../../src/index.ts', import.meta.url))).href;

/** What a faulty plugin does wrong. */
export const FAULTS = [
  'throw',
  'reject',
  'floating-rejection',
  'timer-throw',
  'hang',
  'slow',
  'invalid',
  'mutate',
  'sync-overrun',
] as const;
export type Fault = (typeof FAULTS)[number];

/** Where the faulty plugin sits. */
export const KINDS = [
  'input-processor',
  'output-processor',
  'streaming-transform',
  'middleware-request',
  'middleware-response',
  'feature-extension',
  'hook',
  'monitoring-hook',
  'backend',
  'backend-stream',
] as const;
export type Kind = (typeof KINDS)[number];

/** The plugin (by name) that commits a kind's faults. */
export const PLUGIN_OF: Readonly<Record<Kind, string>> = {
  'input-processor': 'f-input',
  'output-processor': 'f-output',
  'streaming-transform': 'f-transform',
  'middleware-request': 'f-middleware',
  'middleware-response': 'f-middleware',
  'feature-extension': 'f-extension',
  hook: 'f-hook',
  'monitoring-hook': 'f-monitor',
  backend: 'primary',
  'backend-stream': 'primary',
};

/**
 * Faults a kind cannot commit: a windowed transform and a stream get no object to mutate,
 * and what a `requestEnd` handler returns is ignored by design (it returns nothing).
 */
export function applies(fault: Fault, kind: Kind): boolean {
  if (kind === 'monitoring-hook') return fault !== 'invalid';
  if (kind === 'streaming-transform') return fault !== 'mutate';
  if (kind === 'backend-stream') return fault !== 'mutate';
  return true;
}

/** Plugin timeout (seconds) in the suite's config; `slow` takes three times as long, `sync-overrun` blocks 1.5×. */
export const TIMEOUT_S = 0.1;

/** The fault code every plugin file starts with. `KIND` tells which requests are its own. */
function prelude(kinds: readonly Kind[]): string {
  return `
import {
  createMessage, defineBackend, defineFeatureExtension, defineMessageProcessor, defineMiddleware,
  lastUserMessage,
} from '${INDEX}';
const KINDS = ${JSON.stringify(kinds)};
const TIMEOUT_MS = ${TIMEOUT_S * 1000};
/** The fault this request asks of this plugin in the role \`kind\`, if any. */
function faultOf(context, kind) {
  const text = lastUserMessage(context)?.content ?? '';
  const match = /fault=([a-z-]+) kind=([a-z-]+)/.exec(text);
  return match && match[2] === kind && KINDS.includes(kind) ? match[1] : undefined;
}
function misbehave(fault, value, mutate) {
  switch (fault) {
    case 'throw': throw new Error('fault: throw');
    case 'reject': return Promise.reject(new Error('fault: reject'));
    case 'floating-rejection': void Promise.reject(new Error('fault: floating rejection')); return value;
    case 'timer-throw': setTimeout(() => { throw new Error('fault: timer throw'); }, 1); return value;
    case 'hang': return new Promise(() => undefined);
    case 'slow': return new Promise((resolve) => setTimeout(() => resolve(value), TIMEOUT_MS * 3));
    case 'invalid': return 42;
    case 'mutate': mutate(); return value;
    case 'sync-overrun': { const until = performance.now() + TIMEOUT_MS * 1.5; while (performance.now() < until); return value; }
    default: return value;
  }
}
`;
}

const SOURCES: Readonly<Record<string, string>> = {
  'f-input': `${prelude(['input-processor'])}
export default defineMessageProcessor({
  metadata: { name: 'f-input', version: '1.0.0' },
  direction: 'input',
  processMessage: (message, context) =>
    misbehave(faultOf(context, 'input-processor'), message, () => { message.content = 'mutated'; }),
});`,
  'f-output': `${prelude(['output-processor'])}
export default defineMessageProcessor({
  metadata: { name: 'f-output', version: '1.0.0' },
  direction: 'output',
  processMessage: (message, context) =>
    misbehave(faultOf(context, 'output-processor'), message, () => { message.content = 42; }),
  // Streams pass through untouched (a processor without this would hold every stream back
  // until its end); its faults are those of processMessage, on replies that are not streamed.
  streaming: { window: 0, transform: (text) => text },
});`,
  'f-transform': `${prelude(['streaming-transform'])}
export default defineMessageProcessor({
  metadata: { name: 'f-transform', version: '1.0.0' },
  direction: 'output',
  processMessage: (message) => message,
  streaming: {
    window: 4,
    transform: (text, context) => misbehave(faultOf(context, 'streaming-transform'), text, () => undefined),
  },
});`,
  'f-middleware': `${prelude(['middleware-request', 'middleware-response'])}
export default defineMiddleware({
  metadata: { name: 'f-middleware', version: '1.0.0' },
  processRequest: (context) =>
    misbehave(faultOf(context, 'middleware-request'), context, () => { context.messages.push({ role: 'user', content: 'x' }); }),
  processResponse: (response, context) =>
    misbehave(faultOf(context, 'middleware-response'), response, () => { response.message.content = 'mutated'; }),
});`,
  'f-extension': `${prelude(['feature-extension'])}
export default defineFeatureExtension({
  metadata: { name: 'f-extension', version: '1.0.0' },
  extend: (context) =>
    misbehave(faultOf(context, 'feature-extension'), context, () => { context.metadata.injected = true; }),
});`,
  'f-hook': `${prelude(['hook'])}
export default defineFeatureExtension({
  metadata: { name: 'f-hook', version: '1.0.0' },
  extend: (context) => context,
  onRequestStart: (payload) =>
    misbehave(faultOf(payload.context, 'hook'), undefined, () => { payload.context.messages.length = 0; }),
});`,
  'f-monitor': `${prelude(['monitoring-hook'])}
export default defineFeatureExtension({
  metadata: { name: 'f-monitor', version: '1.0.0', priority: 'MONITORING' },
  extend: (context) => context,
  onRequestEnd: (payload) =>
    misbehave(faultOf(payload.context, 'monitoring-hook'), undefined, () => { payload.response.message.content = 'x'; }),
});`,
  primary: `${prelude(['backend', 'backend-stream'])}
function echo(context) { return 'echo: ' + (lastUserMessage(context)?.content ?? ''); }
async function* words(text, fault) {
  const parts = text.split(' ');
  for (let index = 0; index < parts.length; index++) {
    yield { content: (index === 0 ? '' : ' ') + parts[index] };
    if (index === 0 && fault !== undefined) {
      // The stream has started: the fault happens after the first chunk reached the client.
      if (fault === 'invalid') yield null;
      else {
        const value = misbehave(fault, 'x', () => undefined);
        if (value && typeof value.then === 'function') await value;
      }
    }
  }
  yield { finishReason: 'stop' };
}
export default defineBackend({
  metadata: { name: 'primary', version: '1.0.0' },
  chat(context) {
    const reply = echo(context);
    const stream = () => words(reply, faultOf(context, 'backend-stream'));
    const answer = () =>
      context.stream || faultOf(context, 'backend-stream')
        ? stream()
        : { message: createMessage({ role: 'assistant', content: reply }), finishReason: 'stop' };
    const fault = faultOf(context, 'backend');
    if (fault === undefined) return answer();
    const value = misbehave(fault, 'ok', () => { context.messages.length = 0; });
    if (value === 42) return 42;
    return value && typeof value.then === 'function' ? value.then(answer) : answer();
  },
  listModels: () => [{ id: 'primary' }],
});`,
  spare: `${prelude([])}
export default defineBackend({
  metadata: { name: 'spare', version: '1.0.0' },
  chat: (context) => ({
    message: createMessage({ role: 'assistant', content: 'spare echo: ' + (lastUserMessage(context)?.content ?? '') }),
    finishReason: 'stop',
  }),
  listModels: () => [{ id: 'spare' }],
});`,
};

/** The plugin files, by file name. */
export function pluginFiles(): Record<string, string> {
  return Object.fromEntries(Object.entries(SOURCES).map(([name, source]) => [`${name}.plugin.ts`, source]));
}

/** The suite's config: every faulty plugin fail-open with short timeouts and a quick breaker. */
export function suiteConfig(options: { halfOpenSeconds: number; threshold: number }): string {
  const entry = (name: string) =>
    `  ${name}: { plugin_file: ${join('.', `${name}.plugin.ts`)}, timeout: ${TIMEOUT_S} }`;
  return [
    'mode: development',
    'server: { host: 127.0.0.1, port: 0, shutdown_timeout: 2 }',
    'plugin_manager: { default_timeout: 5 }',
    'hooks:',
    `  default_timeout: ${TIMEOUT_S}`,
    `  circuit_breaker: { failure_threshold: ${options.threshold}, timeout_seconds: ${options.halfOpenSeconds} }`,
    'observability:',
    '  logging: { level: ERROR, format: json }',
    'backends:',
    `  primary: { plugin_file: ./primary.plugin.ts, timeout: ${TIMEOUT_S}, fallback: spare }`,
    '  spare: { plugin_file: ./spare.plugin.ts }',
    'message_processors:',
    entry('f-input'),
    entry('f-output'),
    entry('f-transform'),
    'middleware:',
    entry('f-middleware'),
    'features:',
    entry('f-extension'),
    entry('f-hook'),
    entry('f-monitor'),
    '',
  ].join('\n');
}
