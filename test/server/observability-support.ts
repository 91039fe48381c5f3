/**
 * Helpers of the observability tests: chat requests over real HTTP, captured log lines,
 * a strict reader of Prometheus' text format, and a server with tracing.
 */
import assert from 'node:assert/strict';
import type { PluginManagerOptions } from '../../src/core/manager/plugin-manager.ts';
import type { PluginSettings } from '../../src/core/plugin/metadata.ts';
import { createDefaultLogger, type Logger } from '../../src/index.ts';
import type { TracingOptions } from '../../src/server/observability/tracing.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';

/** A log line as the default logger writes it. */
export type LogLine = Record<string, unknown> & { readonly level: string; readonly message?: string };

/** The production logger (JSON, redaction) at `debug`, writing into memory. */
export function captureLogs(): {
  readonly logger: Logger;
  readonly lines: () => LogLine[];
  readonly raw: () => string;
} {
  const written: string[] = [];
  const logger = createDefaultLogger('debug', 'json', { write: (line: string) => written.push(line) });
  return {
    logger,
    raw: () => written.join(''),
    lines: () => written.map((line) => JSON.parse(line) as LogLine),
  };
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: () => unknown;
}

/** POST /v1/chat/completions with one user message. */
export async function chat(
  url: string,
  content: string,
  options: { readonly stream?: boolean; readonly model?: string; readonly headers?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: JSON.stringify({
      model: options.model ?? 'scripted-model',
      stream: options.stream ?? false,
      messages: [{ role: 'user', content }],
    }),
  });
  return answer(response);
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return answer(await fetch(url, { headers }));
}

async function answer(response: Response): Promise<HttpAnswer> {
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
}

/** One sample of a Prometheus exposition. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Values are Go floats: digits, or NaN / ±Inf in any case (prom-client writes `Nan`). */
const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|[nN][aA][nN]|[+-][iI][nN][fF])$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/**
 * Reads Prometheus' text format strictly: every line must be a `# HELP`, a `# TYPE` or a
 * sample, every sample's metric must have been declared by a `# TYPE` line before it.
 */
export function parsePrometheus(text: string): Sample[] {
  const declared = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$/.exec(line);
    if (help) continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      declared.set(type[1]!, type[2]!);
      continue;
    }
    const sample = SAMPLE_LINE.exec(line);
    assert.ok(sample, `not a Prometheus sample line: ${line}`);
    const [, name, labelText, value] = sample;
    const family = [...declared.keys()].find(
      (declaredName) => name === declaredName || /_(bucket|sum|count|total)$/.test(name!.slice(declaredName.length)),
    );
    assert.ok(family, `sample of an undeclared metric: ${line}`);
    const labels: Record<string, string> = {};
    for (const match of (labelText ?? '').matchAll(LABEL)) labels[match[1]!] = match[2]!;
    samples.push({ name: name!, labels, value: /^nan$/i.test(value!) ? Number.NaN : Number(value) });
  }
  return samples;
}

/** The value of the one sample named `name` whose labels include `labels`. */
export function sampleValue(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  const matching = samples.filter(
    (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  assert.equal(matching.length, 1, `one sample ${name}${JSON.stringify(labels)}, found ${matching.length}`);
  return matching[0]!.value;
}

/** GET /metrics, parsed. */
export async function scrape(url: string): Promise<Sample[]> {
  const response = await get(`${url}/metrics`);
  assert.equal(response.status, 200);
  return parsePrometheus(response.text);
}

/** Like startTestServer, with the server's tracing options. */
export function startTracedServer(
  plugins: readonly (unknown | readonly [unknown, PluginSettings])[],
  tracing: TracingOptions | false,
  options: { readonly logger?: Logger; readonly manager?: PluginManagerOptions } = {},
): Promise<TestServer> {
  return startTestServer(plugins, { ...options, logger: options.logger ?? createDefaultLogger('silent'), tracing });
}
