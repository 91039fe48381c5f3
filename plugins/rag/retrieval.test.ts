/**
 * Retrieval in `extend`: the numbered sources injected as one system message, the citations
 * set for the reply, the request's narrowing in `context.metadata.rag`, and the keyword-only
 * fallback (logged once, health degraded). Embeddings come from the hashed embedder or from
 * a hand-made ModelAccess that fails, as there is no embedding model here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createChatContext, type HealthReport, isPlugboardError, type ModelAccess } from '../../src/index.ts';
import { chatRequest } from '../../src/testing/index.ts';
import { DEFAULT_INSTRUCTIONS } from './config.ts';
import { EXCERPT_CHARS, excerpt } from './sources.ts';
import { hashedModelAccess } from './testing/hashed-embedder.ts';
import { minimalPdf } from './testing/minimal-pdf.ts';
import { type RagHarness, startRag } from './testing/rag-harness.ts';
import { bodyOf, upload } from './testing/upload.ts';

const REFUNDS = `# Refunds\n\nRefunds take five working days and go back to the card used. ${'Our finance team checks every refund by hand before it is paid. '.repeat(6)}`;
const WARRANTY = minimalPdf([
  ['Warranty covers two years of normal use at home, with repairs at our cost.'],
  ['Batteries are covered for one year only, when they hold less than half a charge.'],
]);

/** Two collections with a document each; `access: null` starts the plugin without a model access service. */
async function stocked(config: Record<string, unknown> = {}, access: ModelAccess | null = hashedModelAccess()) {
  const rag = await startRag(
    { collections: ['default', 'legal'], chunk_tokens: 32, chunk_overlap: 0, ...config },
    access === null ? {} : { access },
  );
  await upload(rag, 'default', 'refunds.md', REFUNDS, 'text/markdown', { 'x-rag-metadata': '{"lang":"en"}' });
  await upload(rag, 'legal', 'warranty.pdf', WARRANTY, 'application/pdf', { 'x-rag-metadata': '{"lang":"de"}' });
  return rag;
}

type Citation = {
  source: number;
  name: string;
  page?: number;
  section?: string;
  excerpt: string;
  score: number;
  document: string;
  chunk: number;
};
const citations = (rag: RagHarness) => (rag.responseData.get('citations') ?? []) as Citation[];

test('the best chunks go in as one system message of numbered sources, after the operator’s system prompt', async () => {
  const rag = await startRag({ chunk_tokens: 32, chunk_overlap: 0, top_k: 3 }, { access: hashedModelAccess() });
  await upload(rag, 'default', 'refunds.md', REFUNDS, 'text/markdown');
  await upload(rag, 'default', 'warranty.pdf', WARRANTY, 'application/pdf');
  const context = await rag.extend(
    chatRequest([
      { role: 'system', content: 'You are the shop assistant.' },
      { role: 'user', content: 'Hello' },
      { role: 'assistant', content: 'Hi!' },
      { role: 'user', content: 'How long is the warranty on batteries?' },
    ]),
  );
  assert.deepEqual(
    context.messages.map((message) => message.role),
    ['system', 'system', 'user', 'assistant', 'user'],
  );
  assert.equal(context.messages[0]?.content, 'You are the shop assistant.');
  const sources = context.messages[1]!.content;
  assert.ok(sources.startsWith(DEFAULT_INSTRUCTIONS), 'the instruction to cite as [n] comes first');
  assert.match(sources, /\n\n\[\d\] warranty\.pdf \(page 2\): Batteries are covered for one year only/);
  const numbered = [...sources.matchAll(/^\[(\d+)\] (\S+)/gm)].map((match) => [Number(match[1]), match[2]]);
  assert.deepEqual(
    numbered.map(([n]) => n),
    [1, 2, 3],
  );
  const cited = citations(rag);
  assert.deepEqual(
    cited.map((citation) => [citation.source, citation.name]),
    numbered,
    'citations are numbered as the sources',
  );
  const batteries = cited.find((citation) => citation.page === 2)!;
  assert.deepEqual(
    { ...batteries, source: 0, score: 0, excerpt: batteries.excerpt.slice(0, 30) },
    {
      source: 0,
      collection: 'default',
      document: batteries.document,
      name: 'warranty.pdf',
      chunk: 1,
      page: 2,
      excerpt: 'Batteries are covered for one ',
      score: 0,
    },
  );
  assert.match(batteries.document, /^warranty-pdf-[0-9a-f]{12}$/);
  assert.ok(batteries.score > 0, 'scores are the index’s');
});

test('citations carry sections and excerpts of at most 240 characters, cut with an ellipsis', async () => {
  const rag = await stocked({ chunk_tokens: 200 });
  await rag.extend(chatRequest('who checks each refund?'));
  const [first] = citations(rag);
  assert.equal(first?.name, 'refunds.md');
  assert.equal(first?.section, 'Refunds');
  assert.equal(first?.page, undefined);
  assert.ok(first!.excerpt.length <= EXCERPT_CHARS, `${first!.excerpt.length} characters`);
  assert.ok(first!.excerpt.endsWith('…'), 'a cut excerpt says so');
  assert.equal(excerpt('short  text\n here'), 'short text here');
});

test('context.metadata.rag narrows the collections, filters, sets top_k, or turns retrieval off', async () => {
  const rag = await stocked();
  const ask = (rag_: unknown) =>
    rag.extend(
      createChatContext({
        messages: [{ role: 'user', content: 'refunds warranty batteries' }],
        metadata: { rag: rag_ },
      }),
    );

  await ask({ collections: ['default'] });
  assert.deepEqual(new Set(citations(rag).map((citation) => citation.name)), new Set(['refunds.md']));
  await ask({ filter: { lang: 'de' }, top_k: 1 });
  assert.deepEqual(
    citations(rag).map((citation) => citation.name),
    ['warranty.pdf'],
  );
  const off = await ask({ enabled: false });
  assert.equal(off.messages.length, 1, 'nothing injected');
  assert.equal(rag.responseData.has('citations'), false);
  for (const bad of [{ collections: ['secret'] }, { top_k: 0 }, { colections: ['default'] }]) {
    const error = await ask(bad).catch((caught: unknown) => caught);
    assert.ok(isPlugboardError(error, 'rag/INVALID_REQUEST'), `${JSON.stringify(bad)}: ${String(error)}`);
    assert.equal(error.status, 400);
  }
});

test('a client narrows the collections with x-rag-collections or OpenAI metadata.rag_collections, never widens them', async () => {
  const rag = await stocked();
  const ask = (headers: Record<string, string>, openai?: Record<string, unknown>) =>
    rag.extend(
      createChatContext({
        messages: [{ role: 'user', content: 'refunds warranty batteries' }],
        client: { headers },
        metadata: openai === undefined ? {} : { openai: { metadata: openai } },
      }),
    );
  await ask({ 'x-rag-collections': 'legal' });
  assert.deepEqual(new Set(citations(rag).map((citation) => citation.name)), new Set(['warranty.pdf']));
  await ask({}, { rag_collections: 'default' });
  assert.deepEqual(new Set(citations(rag).map((citation) => citation.name)), new Set(['refunds.md']));
  const off = await ask({ 'x-rag-collections': 'none' });
  assert.equal(off.messages.length, 1, 'none: nothing injected');
  const error = await ask({ 'x-rag-collections': 'default, secret' }).catch((caught: unknown) => caught);
  assert.ok(isPlugboardError(error, 'rag/INVALID_REQUEST'), String(error));
  assert.equal(error.status, 400);
});

test('no hit (or none above min_score), no message; a blank question, no search', async () => {
  const rag = await stocked({ min_score: 1000 });
  const context = await rag.extend(chatRequest('refunds'));
  assert.equal(context.messages.length, 1);
  assert.deepEqual(rag.responseData.get('citations'), []);
  const plain = await startRag({}, { access: hashedModelAccess() });
  const nothing = await plain.extend(chatRequest('zebra crossing rules'));
  assert.equal(nothing.messages.length, 1);
  const blank = await plain.extend(chatRequest('   '));
  assert.equal(blank.messages.length, 1);
  assert.equal(plain.responseData.has('citations'), false, 'a blank question is not searched');
});

test('when embedding fails: keyword-only retrieval, logged once, health degraded with the reason', async () => {
  let embedCalls = 0;
  const failing: ModelAccess = {
    ...hashedModelAccess(),
    embed: async () => {
      embedCalls++;
      throw new Error('backend "ollama" has no embeddings');
    },
  };
  let now = 0;
  const rag = await startRag({ embed_retry_seconds: 60 }, { access: failing, plugin: { now: () => now } });
  await upload(rag, 'default', 'refunds.md', REFUNDS, 'text/markdown');
  for (let request = 0; request < 5; request++) {
    const context = await rag.extend(chatRequest('how long do refunds take?'));
    assert.match(
      context.messages[0]!.content,
      /\[1\] refunds\.md \(section "Refunds"\)/,
      'keyword search still finds it',
    );
  }
  const warnings = rag.log.filter((line) => line.level === 'warn');
  assert.equal(warnings.length, 1, JSON.stringify(warnings));
  assert.match(warnings[0]!.message ?? '', /keyword search only/);
  assert.equal(embedCalls, 1, 'not retried on every request');
  const health = (await rag.plugin.healthCheck!({} as never)) as HealthReport;
  assert.equal(health.status, 'degraded');
  assert.match(
    health.message ?? '',
    /keyword-only retrieval: embedding with \(default backend\) failed .*no embeddings/,
  );

  now = 61_000;
  await rag.extend(chatRequest('refunds'));
  assert.equal(embedCalls, 2, 'tried again after embed_retry_seconds');
  assert.equal(rag.log.filter((line) => line.level === 'warn').length, 1, 'still logged only once');
});

test('without a model access service at all: keyword-only from the start', async () => {
  const rag = await stocked({}, null);
  const context = await rag.extend(chatRequest('batteries'));
  assert.match(context.messages[0]!.content, /warranty\.pdf \(page 2\)/);
  const health = (await rag.plugin.healthCheck!({} as never)) as HealthReport;
  assert.equal(health.status, 'degraded');
  assert.match(health.message ?? '', /no model access service/);
  assert.equal(rag.log.filter((line) => line.level === 'warn').length, 1);
});

test('with embeddings: hybrid mode, healthy; the search endpoint shows hits, scores and how they matched', async () => {
  const rag = await stocked();
  const reply = bodyOf(
    await rag.request('POST', '/v1/rag/search', {
      body: { collection: 'legal', query: 'battery coverage', top_k: 2 },
      contentType: 'application/json',
    }),
  );
  assert.equal(reply.mode, 'hybrid');
  const hits = reply.hits as { name: string; page: number; matched_by: string[]; score: number; text: string }[];
  assert.equal(hits[0]?.name, 'warranty.pdf');
  assert.equal(hits[0]?.page, 2);
  assert.ok(hits[0]?.matched_by.includes('vector'), JSON.stringify(hits[0]));
  assert.equal(((await rag.plugin.healthCheck!({} as never)) as HealthReport).status, 'healthy');
  const error = await rag.request('POST', '/v1/rag/search', { body: { query: '' } }).catch((caught: unknown) => caught);
  assert.ok(isPlugboardError(error, 'rag/INVALID_REQUEST'), String(error));
});

test("the sources fit a token budget: max_source_tokens, else a share of the model's context window", async () => {
  const rag = await stocked({ max_source_tokens: 100 });
  const ask = () =>
    rag.extend(createChatContext({ messages: [{ role: 'user', content: 'refunds warranty batteries finance' }] }));
  const capped = await ask();
  const sources = capped.messages.find((message) => message.role === 'system')?.content ?? '';
  assert.ok(citations(rag).length >= 1, 'the best chunk fits');
  assert.ok(citations(rag).length < 4, `some chunks were left out: ${citations(rag).length}`);
  assert.ok(sources.length / 4 < 100 + DEFAULT_INSTRUCTIONS.length / 4 + 1, 'within the budget');

  // A model whose backend reports a 64-token window: sources take at most half of it.
  const small = hashedModelAccess();
  const smallWindow = await stocked({}, { ...small, contextLength: async () => 64 });
  await smallWindow.extend(
    createChatContext({ messages: [{ role: 'user', content: 'refunds warranty batteries finance' }] }),
  );
  const kept = citations(smallWindow).length;
  const roomy = await stocked({}, { ...small, contextLength: async () => 100_000 });
  await roomy.extend(
    createChatContext({ messages: [{ role: 'user', content: 'refunds warranty batteries finance' }] }),
  );
  assert.ok(
    kept < citations(roomy).length,
    `a small window keeps fewer sources (${kept} vs ${citations(roomy).length})`,
  );
});

test('before any document is added, a chat costs no embedding call: empty collections are not searched', async () => {
  const calls: unknown[] = [];
  const rag = await startRag({ collections: ['default'] }, { access: hashedModelAccess({ calls: calls as never[] }) });
  const context = await rag.extend(createChatContext({ messages: [{ role: 'user', content: 'anything there?' }] }));
  assert.equal(context.messages.length, 1, 'nothing injected');
  assert.deepEqual(citations(rag), []);
  assert.equal(calls.length, 0, 'the question was not embedded');
  await upload(rag, 'default', 'refunds.md', REFUNDS, 'text/markdown');
  const embeddedForDocument = calls.length;
  await rag.extend(createChatContext({ messages: [{ role: 'user', content: 'refunds?' }] }));
  assert.equal(calls.length, embeddedForDocument + 1, 'with a document, the question is embedded');
  assert.ok(citations(rag).length >= 1, 'and found');
});
