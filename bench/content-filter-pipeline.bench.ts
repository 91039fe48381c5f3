/**
 * What the content filter costs through the real pipeline (default categories): CPU µs per
 * non-streamed request, and per streamed chunk of a 900-character reply (chunks of 4 and
 * of 20 characters), each with and without the filter. CPU time (process.cpuUsage), not wall
 * time: the scripted backend answers at once, so the two are close, but CPU is what the
 * filter adds on a busy server.
 */

import contentFilter from '../plugins/content-filter/content-filter.plugin.ts';
import type { ChatContext, PluginManager } from '../src/index.ts';
import { chatRequest, collectStream, createScriptedBackend, startManager } from '../src/testing/index.ts';
import { machine, writeResults } from './report.ts';

const QUICK = process.env.BENCH_QUICK === '1';
const ROUNDS = QUICK ? 2 : 6;

/** The user's message: a card number and an e-mail address, both redacted on input. */
const USER = 'Please charge my card 4111 1111 1111 1111 and send the receipt to alice.smith@example.com, thanks.';

/** A 900-character reply: mostly prose, with a phone number, an e-mail, an IP and some numbers. */
const REPLY = (() => {
  const parts = [
    'Thanks for your order. Your receipt was sent to alice.smith@example.com a moment ago, ',
    'and the charge of 42.50 USD will appear on your statement within two business days. ',
    'If anything looks wrong, call our support line at (415) 555-2671 between 9:00 and 17:00, ',
    'or reply to this message with your order number 2024-01-15-7781. Our servers at 10.0.0.7 ',
    'log every request for thirty days, after which the records are deleted for good. ',
    'We never store the full card number; only the last four digits are kept for refunds. ',
  ];
  let text = '';
  for (let index = 0; text.length < 900; index++) text += parts[index % parts.length];
  return text.slice(0, 900);
})();

interface Scenario {
  readonly name: string;
  readonly filter: boolean;
  readonly mode: 'json' | 'stream';
  readonly chunkChars: number;
  readonly chunks: number;
  readonly manager: PluginManager;
  readonly run: () => Promise<string>;
  /** CPU µs of each measured batch, per request. */
  readonly perRequest: number[];
}

async function scenario(filter: boolean, mode: 'json' | 'stream', chunkChars: number): Promise<Scenario> {
  const backend = createScriptedBackend({ reply: REPLY, chunking: chunkChars, recordCalls: false });
  const manager = await startManager(filter ? [backend, contentFilter] : [backend]);
  const context: ChatContext = chatRequest(USER, { stream: mode === 'stream' });
  const run =
    mode === 'json'
      ? async () => (await manager.chat(context)).message.content
      : async () => (await collectStream(manager.stream(context))).text;
  const chunks = mode === 'stream' ? Math.ceil(REPLY.length / chunkChars) : 0;
  const name = `${mode === 'json' ? 'json' : `stream-${chunkChars}`}-${filter ? 'filter' : 'none'}`;
  return { name, filter, mode, chunkChars, chunks, manager, run, perRequest: [] };
}

/** CPU µs (user + system) per request over `count` sequential requests. */
async function batch(target: Scenario, count: number): Promise<number> {
  const start = process.cpuUsage();
  for (let index = 0; index < count; index++) await target.run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / count;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

async function main(): Promise<void> {
  const host = machine();
  console.log(`content filter through the pipeline — ${host.cpu}, Node ${host.node}`);
  const scenarios: Scenario[] = [];
  for (const filter of [false, true]) {
    scenarios.push(await scenario(filter, 'json', 4));
    scenarios.push(await scenario(filter, 'stream', 4));
    scenarios.push(await scenario(filter, 'stream', 20));
  }

  // The filter must do its work: the streamed reply equals the non-streamed one, values redacted.
  const expected = await scenarios.find((target) => target.filter && target.mode === 'json')!.run();
  if (!expected.includes('[email]') || !expected.includes('[phone]')) throw new Error(`not filtered: ${expected}`);
  for (const target of scenarios.filter((each) => each.filter)) {
    if ((await target.run()) !== expected) throw new Error(`${target.name}: output differs from the whole reply`);
  }

  // Size batches to ~0.3 s each after a warm-up; interleave rounds so that drift hits all alike.
  const sizes = new Map<Scenario, number>();
  for (const target of scenarios) {
    await batch(target, QUICK ? 20 : 200);
    sizes.set(target, Math.max(20, Math.round((QUICK ? 100_000 : 300_000) / (await batch(target, 20)))));
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of scenarios) target.perRequest.push(await batch(target, sizes.get(target)!));
  }

  const rows = scenarios
    .filter((target) => target.filter)
    .map((target) => {
      const without = scenarios.find(
        (other) => !other.filter && other.mode === target.mode && other.chunkChars === target.chunkChars,
      )!;
      const withUs = median(target.perRequest);
      const withoutUs = median(without.perRequest);
      const row: Record<string, unknown> = {
        name: target.mode === 'json' ? 'json' : `stream-${target.chunkChars}`,
        mode: target.mode,
        reply_chars: REPLY.length,
        cpu_us_per_request_with: round(withUs),
        cpu_us_per_request_without: round(withoutUs),
        cpu_us_per_request_added: round(withUs - withoutUs),
      };
      if (target.mode === 'stream') {
        row.chunk_chars = target.chunkChars;
        row.chunks = target.chunks;
        row.cpu_us_per_chunk_with = round(withUs / target.chunks, 2);
        row.cpu_us_per_chunk_without = round(withoutUs / target.chunks, 2);
        row.cpu_us_per_chunk_added = round((withUs - withoutUs) / target.chunks, 2);
      }
      return row;
    });
  for (const target of scenarios) await target.manager.shutdown();

  const out = writeResults('content-filter-pipeline', rows);
  console.table(
    rows.map((row) => ({
      scenario: row.name,
      'µs/request with': row.cpu_us_per_request_with,
      'µs/request without': row.cpu_us_per_request_without,
      'µs/request added': row.cpu_us_per_request_added,
      'µs/chunk with': row.cpu_us_per_chunk_with ?? '',
      'µs/chunk without': row.cpu_us_per_chunk_without ?? '',
    })),
  );
  console.log(`Wrote ${out}`);
}

await main();
