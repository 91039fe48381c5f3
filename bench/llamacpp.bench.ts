/**
 * `npm run bench:llamacpp`: tokens per second of a reply streamed through Plugboard with the
 * llamacpp backend, against node-llama-cpp called directly on the same model with the same
 * settings. Target: Plugboard ≥ 0.95× direct.
 *
 * The model is the tiny random llama of test/support/tiny-gguf.ts (~460 KB, generated in
 * milliseconds): at ~1 ms a token on one thread, it makes any per-token overhead of the
 * pipeline visible, where a real model (20–100 ms a token on a CPU) would hide it.
 *
 * Three ways, interleaved round by round so that drift and other load hit them alike:
 * - `direct`: LlamaChat.generateResponse with an onTextChunk callback — what the plugin calls;
 * - `plugboard-stream`: manager.stream() over the llamacpp backend, every chunk read;
 * - `plugboard-http`: POST /v1/chat/completions with stream: true to a real server, the SSE
 *   body read to its end.
 * Each reply is 200 tokens at temperature 0 (the same text every time); tokens/s is
 * completion tokens over the time from request to last token, the median over the rounds; the
 * ratio to direct is paired per round (each round's direct time over its Plugboard time), then
 * the median.
 *
 * Env: BENCH_QUICK=1 for a short run (a few seconds); BENCH_TOKENS to change the reply length.
 * Writes bench/results/llamacpp.json.
 */
import { type ChatHistoryItem, getLlama, LlamaChat, LlamaLogLevel, resolveChatWrapper } from 'node-llama-cpp';
import { LlamaCppBackend } from '../plugins/llamacpp/llamacpp.plugin.ts';
import { createSilentLogger, type PluginManager } from '../src/index.ts';
import { createServer } from '../src/server/create-server.ts';
import { chatRequest, startManager } from '../src/testing/index.ts';
import { TINY_GGUF, tinyGgufFile } from '../test/support/tiny-gguf.ts';
import { machine, writeResults } from './report.ts';

process.env.NODE_LLAMA_CPP_SKIP_DOWNLOAD ??= 'true';

const QUICK = process.env.BENCH_QUICK === '1';
const TOKENS = Number(process.env.BENCH_TOKENS ?? 200);
const ROUNDS = QUICK ? 6 : 60;
const WARMUP = QUICK ? 3 : 5;
const PROMPT = 'Tell me a long story about the sea.';
/** The plugin's settings, repeated for the direct calls so that both do the same work. */
const SETTINGS = {
  threads: 1,
  sequences: 2,
  contextSize: TINY_GGUF.contextLength,
  temperature: 0,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repeatPenalty: { penalty: 1.1, lastTokens: 64 },
} as const;

interface Way {
  readonly name: string;
  readonly description: string;
  /** One reply; resolves with the completion tokens it counted. */
  readonly run: () => Promise<number>;
  readonly samples: { ms: number; tokens: number }[];
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function directWay(modelPath: string): Promise<{ way: Way; dispose: () => Promise<void> }> {
  const llama = await getLlama({
    gpu: false,
    build: 'never',
    skipDownload: true,
    maxThreads: SETTINGS.threads,
    logLevel: LlamaLogLevel.error,
  });
  const model = await llama.loadModel({ modelPath });
  const context = await model.createContext({
    contextSize: SETTINGS.contextSize,
    sequences: SETTINGS.sequences,
    threads: SETTINGS.threads,
    batchSize: 512,
  });
  const sequence = context.getSequence();
  const chat = new LlamaChat({
    contextSequence: sequence,
    chatWrapper: resolveChatWrapper(model, { warningLogs: false }),
  });
  const history: ChatHistoryItem[] = [{ type: 'user', text: PROMPT }];
  const way: Way = {
    name: 'llamacpp-direct',
    description: 'node-llama-cpp LlamaChat.generateResponse, onTextChunk',
    samples: [],
    async run() {
      const before = sequence.tokenMeter.getState();
      let text = '';
      const response = await chat.generateResponse(history, {
        maxTokens: TOKENS,
        temperature: SETTINGS.temperature,
        topK: SETTINGS.topK,
        topP: SETTINGS.topP,
        minP: SETTINGS.minP,
        repeatPenalty: SETTINGS.repeatPenalty,
        onTextChunk: (chunk) => {
          text += chunk;
        },
      });
      if (response.metadata.stopReason !== 'maxTokens' || text.length === 0) throw new Error('direct: short reply');
      return sequence.tokenMeter.diff(before).usedOutputTokens;
    },
  };
  return { way, dispose: () => llama.dispose() };
}

function streamWay(manager: PluginManager): Way {
  return {
    name: 'llamacpp-plugboard-stream',
    description: 'PluginManager.stream() over the llamacpp backend, every chunk read',
    samples: [],
    async run() {
      const stream = manager.stream(
        chatRequest(PROMPT, { stream: true, options: { temperature: SETTINGS.temperature, maxTokens: TOKENS } }),
      );
      let chunks = 0;
      for await (const chunk of stream) if (chunk.content) chunks++;
      const response = await stream.response;
      if (chunks === 0 || response.finishReason !== 'length') throw new Error('plugboard: short reply');
      return response.usage!.completionTokens;
    },
  };
}

function httpWay(url: string): Way {
  const body = JSON.stringify({
    model: 'llamacpp/tiny',
    messages: [{ role: 'user', content: PROMPT }],
    temperature: SETTINGS.temperature,
    max_tokens: TOKENS,
    stream: true,
    stream_options: { include_usage: true },
  });
  return {
    name: 'llamacpp-plugboard-http',
    description: 'POST /v1/chat/completions stream: true (SSE) to a Plugboard server, body read to the end',
    samples: [],
    async run() {
      const response = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      if (!response.ok || response.body === null) throw new Error(`http: status ${response.status}`);
      const decoder = new TextDecoder();
      let text = '';
      for await (const part of response.body) text += decoder.decode(part, { stream: true });
      const usage = /"completion_tokens":(\d+)/.exec(text);
      if (usage === null) throw new Error('http: no usage in the stream');
      return Number(usage[1]);
    },
  };
}

async function sample(way: Way, record: boolean): Promise<void> {
  const start = performance.now();
  const tokens = await way.run();
  const ms = performance.now() - start;
  if (tokens !== TOKENS) throw new Error(`${way.name}: ${tokens} tokens instead of ${TOKENS}`);
  if (record) way.samples.push({ ms, tokens });
}

async function main(): Promise<void> {
  const began = performance.now();
  const host = machine();
  console.log(`llamacpp benchmark — ${host.cpu}, ${host.cores} cores, Node ${host.node}`);
  const modelPath = await tinyGgufFile();
  const config = {
    model_path: modelPath,
    model_id: 'tiny',
    threads: SETTINGS.threads,
    sequences: SETTINGS.sequences,
    context_size: SETTINGS.contextSize,
    temperature: SETTINGS.temperature,
    top_k: SETTINGS.topK,
    top_p: SETTINGS.topP,
    min_p: SETTINGS.minP,
    repeat_penalty: SETTINGS.repeatPenalty.penalty,
    preload: true,
  };
  const manager = await startManager([[new LlamaCppBackend(), { config }]]);
  // The server over the same manager: one model instance serves both Plugboard ways.
  const server = await createServer({
    manager,
    logger: createSilentLogger(),
    settings: { host: '127.0.0.1', port: 0 },
    tracing: false,
  });
  const url = await server.listen();
  const direct = await directWay(modelPath);
  const ways = [direct.way, streamWay(manager), httpWay(url)];

  for (let index = 0; index < WARMUP; index++) for (const way of ways) await sample(way, false);
  for (let index = 0; index < ROUNDS; index++) {
    // Rotate the order each round: no way always runs right after another.
    for (let offset = 0; offset < ways.length; offset++) await sample(ways[(index + offset) % ways.length]!, true);
  }

  const rate = (way: Way) => median(way.samples.map((item) => (item.tokens / item.ms) * 1000));
  // Paired: each round's direct reply against the same round's Plugboard reply, so that drift
  // between rounds (other processes on the machine) cancels out; then the median over rounds.
  const ratio = (way: Way) => median(way.samples.map((item, index) => direct.way.samples[index]!.ms / item.ms));
  const rows = ways.map((way) => ({
    name: way.name,
    method: way.description,
    tokens_per_s: round(rate(way), 1),
    ratio_vs_direct: round(ratio(way), 3),
    p50_ms_per_reply: round(median(way.samples.map((item) => item.ms)), 2),
    tokens_per_reply: TOKENS,
    replies: way.samples.length,
    model: `tiny random llama (test/support/tiny-gguf.ts): ${TINY_GGUF.embeddingLength}-wide, ${TINY_GGUF.blockCount} blocks, F32`,
    settings: { ...SETTINGS, maxTokens: TOKENS, prompt: PROMPT },
  }));
  const out = writeResults('llamacpp', rows);

  console.table(
    rows.map((row) => ({
      name: row.name,
      'tokens/s': row.tokens_per_s,
      '× direct': row.ratio_vs_direct,
      'p50 ms / reply': row.p50_ms_per_reply,
      replies: row.replies,
    })),
  );
  const stream = rows.find((row) => row.name === 'llamacpp-plugboard-stream')!;
  const http = rows.find((row) => row.name === 'llamacpp-plugboard-http')!;
  console.log(
    `${stream.ratio_vs_direct >= 0.95 ? 'MET   ' : 'MISSED'} Plugboard stream ≥ 0.95× direct: ${stream.ratio_vs_direct}×`,
  );
  console.log(
    `${http.ratio_vs_direct >= 0.95 ? 'MET   ' : 'MISSED'} Plugboard HTTP (SSE) ≥ 0.95× direct: ${http.ratio_vs_direct}×`,
  );

  await server.close();
  await manager.shutdown();
  await direct.dispose();
  console.log(`Wrote ${out} in ${round((performance.now() - began) / 1000, 1)} s`);
}

await main();
