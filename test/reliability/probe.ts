/**
 * The reliability suite's client side: a Plugboard CLI process to probe, requests that are
 * classified by what the client actually received, and the report they add up to.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const ADMIN_TOKEN = 'reliability-suite-admin-token';

/**
 * What one request came to, from the client's side:
 * - `ok`: a complete answer that carries the user's message (nothing lost);
 * - `clean-error`: a well-formed error in the API's format — a status with an error body,
 *   or a stream that ends with its error event/line and is properly terminated;
 * - `lost`: anything else — a reset connection, a cut or malformed stream, a 200 without
 *   the user's message, a 500 (a bug of ours);
 * - `hung`: no complete answer within the client's deadline.
 */
export type Outcome = 'ok' | 'clean-error' | 'lost' | 'hung';

export interface ProbeResult {
  readonly outcome: Outcome;
  readonly status: number;
  readonly detail?: string;
}

export type Api = 'openai' | 'ollama';

/** Sends one chat request and classifies what came back. `expect` must appear in an `ok` answer. */
export function probe(
  url: string,
  api: Api,
  stream: boolean,
  text: string,
  options: { deadlineMs?: number; expect?: string } = {},
): Promise<ProbeResult> {
  const deadlineMs = options.deadlineMs ?? 10_000;
  const expect = options.expect ?? text;
  const path = api === 'openai' ? '/v1/chat/completions' : '/api/chat';
  const body = JSON.stringify({ model: 'primary', stream, messages: [{ role: 'user', content: text }] });
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const request = httpRequest(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      agent: false,
    });
    const timer = setTimeout(() => {
      request.destroy();
      finish({ outcome: 'hung', status: 0 });
    }, deadlineMs);
    request.on('error', (error) => finish({ outcome: 'lost', status: 0, detail: String(error) }));
    request.on('response', (response) => {
      let received = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        received += chunk;
      });
      response.on('error', (error) =>
        finish({ outcome: 'lost', status: response.statusCode ?? 0, detail: String(error) }),
      );
      response.on('aborted', () => finish({ outcome: 'lost', status: response.statusCode ?? 0, detail: 'aborted' }));
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        finish({ ...classify(api, stream, status, received, expect), status });
      });
    });
    request.end(body);
  });
}

function classify(
  api: Api,
  stream: boolean,
  status: number,
  body: string,
  expect: string,
): Omit<ProbeResult, 'status'> {
  if (status >= 500 && status !== 502 && status !== 503 && status !== 504)
    return { outcome: 'lost', detail: `${status} ${body.slice(0, 200)}` };
  if (status !== 200) {
    return hasErrorBody(body)
      ? { outcome: 'clean-error' }
      : { outcome: 'lost', detail: `${status} ${body.slice(0, 200)}` };
  }
  if (!stream) {
    try {
      const parsed = JSON.parse(body) as {
        choices?: { message?: { content?: string } }[];
        message?: { content?: string };
      };
      const content = api === 'openai' ? parsed.choices?.[0]?.message?.content : parsed.message?.content;
      return content?.includes(expect) ? { outcome: 'ok' } : { outcome: 'lost', detail: `content: ${content}` };
    } catch {
      return { outcome: 'lost', detail: `not JSON: ${body.slice(0, 200)}` };
    }
  }
  return api === 'openai' ? classifySse(body, expect) : classifyNdjson(body, expect);
}

function hasErrorBody(body: string): boolean {
  try {
    return (JSON.parse(body) as { error?: unknown }).error !== undefined;
  } catch {
    return false;
  }
}

/**
 * A complete SSE stream ends with `data: [DONE]`; one cut by an error ends with the error
 * event and no `[DONE]` (docs/api/openai.md). Anything else was cut or garbled.
 */
function classifySse(body: string, expect: string): Omit<ProbeResult, 'status'> {
  const events = body
    .split('\n\n')
    .map((event) => event.trim())
    .filter((event) => event.startsWith('data: '))
    .map((event) => event.slice(6));
  let text = '';
  for (const [index, data] of events.entries()) {
    const last = index === events.length - 1;
    if (data === '[DONE]') {
      if (!last) return { outcome: 'lost', detail: 'events after [DONE]' };
      return text.includes(expect) ? { outcome: 'ok' } : { outcome: 'lost', detail: `streamed: ${text}` };
    }
    let parsed: { error?: unknown; choices?: { delta?: { content?: string } }[] };
    try {
      parsed = JSON.parse(data);
    } catch {
      return { outcome: 'lost', detail: `bad event: ${data.slice(0, 200)}` };
    }
    if (parsed.error !== undefined) {
      return last ? { outcome: 'clean-error' } : { outcome: 'lost', detail: 'events after the error event' };
    }
    text += parsed.choices?.[0]?.delta?.content ?? '';
  }
  return { outcome: 'lost', detail: `no [DONE] nor error event: …${body.slice(-200)}` };
}

function classifyNdjson(body: string, expect: string): Omit<ProbeResult, 'status'> {
  const lines = body.split('\n').filter((line) => line.trim() !== '');
  let text = '';
  for (const [index, line] of lines.entries()) {
    let parsed: { error?: unknown; done?: boolean; message?: { content?: string } };
    try {
      parsed = JSON.parse(line);
    } catch {
      return { outcome: 'lost', detail: `bad line: ${line.slice(0, 200)}` };
    }
    if (parsed.error !== undefined)
      return index === lines.length - 1
        ? { outcome: 'clean-error' }
        : { outcome: 'lost', detail: 'error line not last' };
    text += parsed.message?.content ?? '';
    if (parsed.done === true) {
      if (index !== lines.length - 1) return { outcome: 'lost', detail: 'lines after done' };
      return text.includes(expect) ? { outcome: 'ok' } : { outcome: 'lost', detail: `streamed: ${text}` };
    }
  }
  return { outcome: 'lost', detail: `no done line: …${body.slice(-200)}` };
}

/** Runs `tasks` with at most `concurrency` at once. */
export async function pooled<T>(tasks: readonly (() => Promise<T>)[], concurrency: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, tasks.length) }, async () => {
      while (next < tasks.length) {
        const index = next++;
        results[index] = await tasks[index]!();
      }
    }),
  );
  return results;
}

/** Counts outcomes. */
export function tally(results: readonly ProbeResult[]): Record<Outcome, number> {
  const counts: Record<Outcome, number> = { ok: 0, 'clean-error': 0, lost: 0, hung: 0 };
  for (const result of results) counts[result.outcome]++;
  return counts;
}

/** `plugboard serve` in a child process, its log captured. */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly url: string;
  log(): string;
  /** Resolves with the exit code. */
  readonly exit: Promise<number | null>;
  admin(path: string): Promise<Response>;
  stop(): Promise<number | null>;
}

export async function startServer(configFile: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/plugboard.mjs'), 'serve', '--config', configFile], {
    env: { ...process.env, PLUGBOARD_ADMIN_TOKEN: ADMIN_TOKEN, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => {
    output += text;
  });
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      output += text;
      const match = /Plugboard (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    void exit.then((code) => reject(new Error(`plugboard exited with ${code} before listening:\n${output}`)));
  });
  return {
    child,
    url,
    exit,
    log: () => output,
    admin: (path) =>
      fetch(`${url}/admin${path}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exit;
    },
  };
}

/** Adds one section to bench/results/reliability.json (the suite's files each write their own). */
export async function writeSection(name: string, section: unknown): Promise<void> {
  const file = join(ROOT, 'bench/results/reliability.json');
  let report: { sections?: Record<string, unknown> } = {};
  try {
    report = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    // first section of a fresh report
  }
  const sections = { ...report.sections, [name]: { ...(section as object), measuredAt: new Date().toISOString() } };
  await mkdir(dirname(file), { recursive: true });
  await writeFile(
    file,
    `${JSON.stringify({ node: process.version, cpus: (await import('node:os')).availableParallelism(), sections }, null, 2)}\n`,
  );
}
