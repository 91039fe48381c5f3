/**
 * The rag plugin's quality and speed. `node --import tsx bench/rag.bench.ts [options]`
 *
 * Quality: the labelled set in bench/fixtures/rag-eval/ (15 documents written for it, 54
 * questions, each labelled with its document and a phrase the answering chunk contains) is
 * added through the plugin's upload endpoint (through the manager: parse, chunk, embed, index),
 * then each question is searched keyword-only, vector-only and hybrid (the index's RRF) and
 * scored: recall@1 and recall@5 (the share of questions with an answering chunk first / in the top 5) and MRR (the
 * mean of 1 / rank of the first answering chunk in the top 10, 0 when none).
 *
 * Embeddings: by default the hashed bag-of-words-and-trigrams embedder of
 * plugins/rag/testing/hashed-embedder.ts — a deterministic LEXICAL BASELINE, NOT A NEURAL MODEL
 * (there is no embedding model on this machine). `--gguf PATH` embeds through the llamacpp
 * backend with that GGUF file instead (meaningful only for a real embedding model; the test
 * suite's tiny GGUF has random weights).
 *
 * Speed: synthetic chunks (Zipf-distributed words, the hashed embedder at 256 dimensions)
 * ingested through the plugin's upload endpoint — ingest throughput in chunks/s, parse, chunk,
 * embed and index included — then query latency (p50/p95) of keyword, vector and hybrid
 * searches, at 10k chunks (and 100k with `--large`, which takes minutes), on the in-memory
 * index and, with `--sqlite`, on the sql_store plugin's SQLite index (FTS5 + sqlite-vec).
 *
 * Options: --gguf PATH, --chunk-tokens N (default 100), --overlap N (default 20), --large,
 * --sqlite, --no-scale. Prints numbers; asserts nothing.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createRagPlugin } from '../plugins/rag/rag.plugin.ts';
import { hashedEmbedding } from '../plugins/rag/testing/hashed-embedder.ts';
import {
  createChatContext,
  createMessage,
  defineBackend,
  definePlugin,
  MemorySearchIndex,
  type PluginManager,
  type SearchIndex,
  searchIndexRef,
} from '../src/index.ts';
import { startManager } from '../src/testing/index.ts';
import { machine } from './report.ts';

const { values: flags } = parseArgs({
  options: {
    gguf: { type: 'string' },
    'chunk-tokens': { type: 'string', default: '100' },
    overlap: { type: 'string', default: '20' },
    large: { type: 'boolean', default: false },
    sqlite: { type: 'boolean', default: false },
    'no-scale': { type: 'boolean', default: false },
  },
});
const CHUNK_TOKENS = Number(flags['chunk-tokens']);
const OVERLAP = Number(flags.overlap);
const FIXTURES = new URL('./fixtures/rag-eval/', import.meta.url);
const COLLECTION = 'eval';

interface Question {
  readonly question: string;
  readonly document: string;
  readonly phrase: string;
}

/** A backend whose embeddings are the hashed baseline, at `dimensions`. */
function hashedBackend(dimensions: number) {
  return defineBackend({
    metadata: { name: 'hashed', version: '1.0.0' },
    chat: () => ({ message: createMessage({ role: 'assistant', content: 'unused' }) }),
    listModels: () => [{ id: 'hashed' }],
    embed: (request) => ({
      model: `hashed-ngrams-${dimensions}`,
      embeddings: request.input.map((text) => hashedEmbedding(text, dimensions)),
    }),
  });
}

/** A plugin that provides the given index as the search index service. */
function indexProvider(index: SearchIndex) {
  return definePlugin({
    metadata: { name: 'bench-index', version: '1.0.0', provides: [searchIndexRef] },
    initialize: (_config, call) => call.provide(searchIndexRef, index),
  });
}

async function startStack(index: SearchIndex, backend: unknown, embeddingModel?: string): Promise<PluginManager> {
  const config = {
    collections: [COLLECTION],
    chunk_tokens: CHUNK_TOKENS,
    chunk_overlap: OVERLAP,
    embed_batch: 64,
    max_document_bytes: 64 * 1024 * 1024,
    ...(embeddingModel === undefined ? {} : { embedding_model: embeddingModel }),
  };
  // A generous timeout: the scale run uploads large synthetic documents in one request each.
  return startManager([backend, indexProvider(index), [createRagPlugin(), { config, timeoutMs: 600_000 }]]);
}

async function upload(manager: PluginManager, collection: string, name: string, text: string, type: string) {
  const match = manager.endpoints.match('POST', `/v1/rag/collections/${collection}/documents`);
  if (!('endpoint' in match)) throw new Error('the rag upload endpoint is not served');
  const reply = await manager.callEndpoint(match, createChatContext({ messages: [] }), {
    query: { name },
    headers: {},
    body: new TextEncoder().encode(text),
    contentType: type,
  });
  if (!('body' in reply)) throw new Error(`upload of ${name} answered ${JSON.stringify(reply)}`);
  return reply.body as { document: string; chunks: number; embedding_model: string | null };
}

async function embedQuery(manager: PluginManager, text: string, model: string | undefined): Promise<readonly number[]> {
  const reply = await manager.embed(
    createChatContext({
      operation: 'embeddings',
      ...(model === undefined ? {} : { model }),
      messages: [{ role: 'user', content: text }],
    }),
  );
  return reply.embeddings[0]!;
}

async function evaluate(
  label: string,
  index: SearchIndex,
  backend: unknown,
  model: string | undefined,
  embedder: string,
) {
  const manager = await startStack(index, backend, model);
  try {
    const folder = new URL('documents/', FIXTURES);
    const ids = new Map<string, string>();
    let chunks = 0;
    for (const file of readdirSync(folder).sort()) {
      const text = readFileSync(new URL(file, folder), 'utf8');
      const added = await upload(
        manager,
        COLLECTION,
        file,
        text,
        file.endsWith('.md') ? 'text/markdown' : 'text/plain',
      );
      ids.set(file, added.document);
      chunks += added.chunks;
      if (added.embedding_model === null) throw new Error(`${file} was not embedded: check the embedder`);
    }
    const target = `rag:${COLLECTION}`;
    const { questions } = JSON.parse(readFileSync(new URL('questions.json', FIXTURES), 'utf8')) as {
      questions: Question[];
    };
    const modes = {
      keyword: { first: 0, found: 0, rr: 0 },
      vector: { first: 0, found: 0, rr: 0 },
      hybrid: { first: 0, found: 0, rr: 0 },
    };
    for (const question of questions) {
      const document = ids.get(question.document);
      if (document === undefined) throw new Error(`no document ${question.document}`);
      const candidates = await index.search(target, {
        text: question.phrase,
        topK: 1000,
        filter: { kind: 'chunk', document },
      });
      const answering = new Set(candidates.filter((hit) => hit.text.includes(question.phrase)).map((hit) => hit.id));
      if (answering.size === 0) throw new Error(`no chunk of ${question.document} contains "${question.phrase}"`);
      const vector = await embedQuery(manager, question.question, model);
      const rankings = {
        keyword: await index.search(target, { text: question.question, topK: 10, filter: { kind: 'chunk' } }),
        vector: await index.search(target, { vector, topK: 10, filter: { kind: 'chunk' } }),
        hybrid: await index.search(target, { text: question.question, vector, topK: 10, filter: { kind: 'chunk' } }),
      };
      for (const [mode, hits] of Object.entries(rankings) as [keyof typeof modes, typeof candidates][]) {
        const rank = hits.findIndex((hit) => answering.has(hit.id)) + 1;
        if (rank === 1) modes[mode].first++;
        if (rank >= 1 && rank <= 5) modes[mode].found++;
        if (rank >= 1) modes[mode].rr += 1 / rank;
      }
    }
    console.log(
      `\n## Retrieval quality — ${label}: ${questions.length} questions, ${ids.size} documents, ${chunks} chunks (chunk_tokens ${CHUNK_TOKENS}, overlap ${OVERLAP}), embedder: ${embedder}\n`,
    );
    const share = (count: number) => (count / questions.length).toFixed(3);
    console.log('| mode    | recall@1 | recall@5 | MRR@10 |');
    console.log('| ------- | -------: | -------: | -----: |');
    for (const [mode, score] of Object.entries(modes)) {
      console.log(
        `| ${mode.padEnd(7)} | ${share(score.first).padStart(8)} | ${share(score.found).padStart(8)} | ${share(score.rr).padStart(6)} |`,
      );
    }
  } finally {
    await manager.shutdown();
  }
}

/** A deterministic pseudo-random generator (mulberry32). */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ter',
  'an',
  'sol',
  'vi',
  're',
  'du',
  'pon',
  'gel',
  'fa',
  'quin',
  'bro',
  'sta',
  'ne',
];
const VOCABULARY = Array.from({ length: 5000 }, (_, index) => {
  let word = '';
  let rest = index + 17;
  do {
    word += SYLLABLES[rest % SYLLABLES.length];
    rest = Math.floor(rest / SYLLABLES.length);
  } while (rest > 0);
  return word;
});

/** A Zipf-like word: rank r with probability ∝ 1/r. */
function zipfWord(next: () => number): string {
  const rank = Math.floor(Math.exp(next() * Math.log(VOCABULARY.length)));
  return VOCABULARY[Math.min(rank, VOCABULARY.length) - 1]!;
}

function paragraph(next: () => number, words: number): string {
  const sentences: string[] = [];
  for (let written = 0; written < words; ) {
    const length = 8 + Math.floor(next() * 12);
    sentences.push(`${Array.from({ length }, () => zipfWord(next)).join(' ')}.`);
    written += length;
  }
  return sentences.join(' ');
}

function percentile(sorted: readonly number[], share: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * share))]!;
}

async function scale(
  label: string,
  makeIndex: () => Promise<{ index: SearchIndex; close(): Promise<void> }>,
  total: number,
) {
  const { index, close } = await makeIndex();
  const manager = await startStack(index, hashedBackend(256));
  try {
    const next = random(42);
    // Paragraphs of ~70 words: one chunk each at chunk_tokens 100 (blank lines between them).
    const perDocument = 200;
    let chunks = 0;
    let elapsed = 0;
    for (let document = 0; chunks < total; document++) {
      const count = Math.min(perDocument, total - chunks);
      const text = Array.from({ length: count }, () => paragraph(next, 70)).join('\n\n');
      const started = performance.now();
      const added = await upload(manager, COLLECTION, `synthetic-${document}.txt`, text, 'text/plain');
      elapsed += performance.now() - started;
      chunks += added.chunks;
    }
    const target = `rag:${COLLECTION}`;
    // Fewer queries at 100k: a brute-force vector query over 100k chunks takes most of a second in memory.
    const queries = Array.from({ length: total > 20_000 ? 50 : 200 }, () =>
      Array.from({ length: 4 }, () => zipfWord(next)).join(' '),
    );
    const vectors = queries.map((query) => hashedEmbedding(query, 256));
    const timings: Record<string, number[]> = { keyword: [], vector: [], hybrid: [] };
    for (const [position, text] of queries.entries()) {
      const vector = vectors[position]!;
      for (const [mode, query] of [
        ['keyword', { text, topK: 5, filter: { kind: 'chunk' } }],
        ['vector', { vector, topK: 5, filter: { kind: 'chunk' } }],
        ['hybrid', { text, vector, topK: 5, filter: { kind: 'chunk' } }],
      ] as const) {
        const started = performance.now();
        await index.search(target, query);
        timings[mode]!.push(performance.now() - started);
      }
    }
    console.log(`\n## Scale — ${label}, ${chunks} chunks (hashed embedder, 256 dimensions)\n`);
    console.log(
      `ingest through the upload endpoint (parse, chunk, embed, index): ${Math.round(chunks / (elapsed / 1000))} chunks/s`,
    );
    console.log('| query   | p50 ms | p95 ms |');
    console.log('| ------- | -----: | -----: |');
    for (const [mode, values] of Object.entries(timings)) {
      const sorted = [...values].sort((a, b) => a - b);
      console.log(
        `| ${mode.padEnd(7)} | ${percentile(sorted, 0.5).toFixed(2).padStart(6)} | ${percentile(sorted, 0.95).toFixed(2).padStart(6)} |`,
      );
    }
  } finally {
    await manager.shutdown();
    await close();
  }
}

/** The sql_store plugin's SQLite index on a temporary file, or undefined when that plugin is not there. */
async function sqliteIndex(): Promise<(() => Promise<{ index: SearchIndex; close(): Promise<void> }>) | undefined> {
  try {
    const { openOwnSqlite } = await import('../plugins/sql-store/sql-database.ts');
    const { migrate } = await import('../plugins/sql-store/migrations.ts');
    const { SqlSearchIndex } = await import('../plugins/sql-store/sql-search-index.ts');
    return async () => {
      const folder = mkdtempSync(join(tmpdir(), 'plugboard-rag-bench-'));
      const database = openOwnSqlite(join(folder, 'bench.db'), 'plugboard_');
      await migrate(database);
      return {
        index: new SqlSearchIndex(database),
        async close() {
          await database.close();
          rmSync(folder, { recursive: true, force: true });
        },
      };
    };
  } catch (error) {
    console.log(`(SQLite skipped: the sql_store plugin could not be loaded: ${(error as Error).message})`);
    return undefined;
  }
}

const host = machine();
console.log(`# rag benchmark — ${host.cpu}, ${host.cores} cores, Node ${host.node}`);
const memory = async () => ({ index: new MemorySearchIndex() as SearchIndex, close: async () => {} });
const sqlite = flags.sqlite ? await sqliteIndex() : undefined;

if (flags.gguf !== undefined) {
  const { createLlamaCppBackend } = await import('../plugins/llamacpp/llamacpp.plugin.ts');
  const backend = [createLlamaCppBackend(), { config: { model_path: flags.gguf } }];
  await evaluate('in-memory index', new MemorySearchIndex(), backend, undefined, `llama.cpp with ${flags.gguf}`);
} else {
  const embedder = 'hashed words + character trigrams, 512 dimensions (a lexical baseline, not a neural model)';
  await evaluate('in-memory index', new MemorySearchIndex(), hashedBackend(512), undefined, embedder);
  if (sqlite) {
    const opened = await sqlite();
    try {
      await evaluate('SQLite index (sql_store)', opened.index, hashedBackend(512), undefined, embedder);
    } finally {
      await opened.close();
    }
  }
}

if (!flags['no-scale']) {
  const sizes = flags.large ? [10_000, 100_000] : [10_000];
  for (const size of sizes) {
    await scale('in-memory index', memory, size);
    if (sqlite) await scale('SQLite index (sql_store)', sqlite, size);
  }
}
