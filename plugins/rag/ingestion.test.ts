/**
 * Adding, replacing, skipping unchanged, deleting and listing documents, against the real
 * in-memory search index. Embeddings come from the hashed embedder (testing/hashed-embedder.ts):
 * a hand-made ModelAccess, as there is no embedding model here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type EmbedRequest, isPlugboardError, MemorySearchIndex, type ModelAccess } from '../../src/index.ts';
import { documentIdFor } from './document-id.ts';
import { HASHED_EMBEDDER_MODEL, hashedModelAccess } from './testing/hashed-embedder.ts';
import { minimalPdf } from './testing/minimal-pdf.ts';
import { startRag } from './testing/rag-harness.ts';
import { bodyOf, upload } from './testing/upload.ts';

const GUIDE = [
  '# Refunds',
  '',
  'Refunds take five working days. They go back to the card used for the purchase.',
  '',
  '# Shipping',
  '',
  'Shipping is free above fifty euros. Parcels leave the warehouse every weekday.',
].join('\n');

test('a document is parsed, chunked, embedded in batches and indexed with its metadata', async () => {
  const calls: EmbedRequest[] = [];
  const rag = await startRag(
    { chunk_tokens: 32, chunk_overlap: 0, embed_batch: 1, embedding_model: 'nomic-embed-text' },
    { access: hashedModelAccess({ calls }) },
  );
  const reply = await upload(rag, 'handbook', 'guide.md', GUIDE, 'text/markdown', {
    'x-rag-metadata': '{"team":"support","year":2024}',
  });
  assert.equal('status' in reply && reply.status, 201);
  const body = bodyOf(reply);
  assert.deepEqual(body, {
    collection: 'handbook',
    document: documentIdFor('handbook', 'guide.md'),
    name: 'guide.md',
    chunks: 2,
    status: 'added',
    embedding_model: HASHED_EMBEDDER_MODEL,
  });
  assert.equal(calls.length, 2, 'embed_batch 1: one call per chunk');
  assert.equal(calls[0]?.model, 'nomic-embed-text');
  const hits = await rag.index.search('rag:handbook', { text: 'shipping', topK: 5, filter: { kind: 'chunk' } });
  assert.equal(hits.length, 1);
  assert.equal(hits[0]?.id, `${body.document}#1`);
  assert.deepEqual(
    { ...hits[0]?.metadata, revision: 'r' },
    {
      team: 'support',
      year: 2024,
      kind: 'chunk',
      document: body.document,
      name: 'guide.md',
      chunk: 1,
      revision: 'r',
      start: GUIDE.indexOf('# Shipping'),
      end: GUIDE.length,
      section: 'Shipping',
    },
  );
  const byVector = await rag.index.search('rag:handbook', {
    vector: (await hashedModelAccess().embed({ input: ['refunds card'] })).embeddings[0]!,
    topK: 1,
    filter: { kind: 'chunk' },
  });
  assert.equal(byVector[0]?.metadata.section, 'Refunds', 'chunks were stored with their vectors');
});

test('the same content again is `unchanged` (nothing embedded); changed content replaces every old chunk', async () => {
  const calls: EmbedRequest[] = [];
  const rag = await startRag({ chunk_tokens: 32, chunk_overlap: 0 }, { access: hashedModelAccess({ calls }) });
  await upload(rag, 'default', 'guide.md', GUIDE, 'text/markdown');
  const embedded = calls.length;
  const again = await upload(rag, 'default', 'guide.md', GUIDE, 'text/markdown');
  assert.equal('status' in again && again.status, 200);
  assert.equal(bodyOf(again).status, 'unchanged');
  assert.equal(calls.length, embedded, 'nothing was embedded again');

  const shorter = await upload(rag, 'default', 'guide.md', 'Only one paragraph about gift cards now.', 'text/markdown');
  assert.equal(bodyOf(shorter).status, 'replaced');
  assert.equal(bodyOf(shorter).chunks, 1);
  assert.equal(await rag.index.count('rag:default', { kind: 'chunk' }), 1, 'the second old chunk is gone');
  assert.deepEqual(await rag.index.search('rag:default', { text: 'shipping', filter: { kind: 'chunk' } }), []);
  assert.equal((await rag.index.search('rag:default', { text: 'gift', filter: { kind: 'chunk' } })).length, 1);

  const withMetadata = await upload(
    rag,
    'default',
    'guide.md',
    'Only one paragraph about gift cards now.',
    'text/markdown',
    {
      'x-rag-metadata': '{"lang":"en"}',
    },
  );
  assert.equal(bodyOf(withMetadata).status, 'replaced', 'new metadata is a change');
});

test('documents are listed, deleted one by one, and collections listed and dropped', async () => {
  const rag = await startRag({}, { access: hashedModelAccess() });
  await upload(rag, 'default', 'b.txt', 'Bravo text about boats.', 'text/plain');
  await upload(rag, 'default', 'a.md', '# Alpha\n\nAlpha text.', undefined, { 'x-rag-metadata': '{"n":1}' });
  await upload(rag, 'other', 'c.pdf', minimalPdf([['Charlie on page one.'], ['More on page two.']]), 'application/pdf');

  const listed = bodyOf(
    await rag.request('GET', '/v1/rag/collections/:collection/documents', { params: { collection: 'default' } }),
  );
  assert.equal(listed.total, 2);
  assert.equal(listed.truncated, false);
  const documents = listed.documents as Record<string, unknown>[];
  assert.deepEqual(
    documents.map((document) => [document.name, document.format, document.chunks, document.metadata]),
    [
      ['a.md', 'markdown', 1, { n: 1 }],
      ['b.txt', 'text', 1, {}],
    ],
  );
  assert.match(String(documents[0]?.sha256), /^[0-9a-f]{64}$/);

  const collections = bodyOf(await rag.request('GET', '/v1/rag/collections'));
  assert.deepEqual(collections.collections, [
    { name: 'default', documents: 2, chunks: 2 },
    { name: 'other', documents: 1, chunks: 1 },
  ]);

  const id = String(documents[0]?.document);
  const deleted = await rag.request('DELETE', '/v1/rag/collections/:collection/documents/:document', {
    params: { collection: 'default', document: id },
  });
  assert.equal('status' in deleted && deleted.status, 204);
  const again = await rag
    .request('DELETE', '/v1/rag/collections/:collection/documents/:document', {
      params: { collection: 'default', document: id },
    })
    .catch((error: unknown) => error);
  assert.ok(isPlugboardError(again, 'rag/DOCUMENT_NOT_FOUND'), String(again));
  assert.equal(await rag.index.count('rag:default', { document: id }), 0, 'its chunks and its entry are gone');

  assert.equal(
    (
      (await rag.request('DELETE', '/v1/rag/collections/:collection', { params: { collection: 'other' } })) as {
        status: number;
      }
    ).status,
    204,
  );
  const missing = await rag
    .request('GET', '/v1/rag/collections/:collection/documents', { params: { collection: 'other' } })
    .catch((error: unknown) => error);
  assert.ok(isPlugboardError(missing, 'rag/COLLECTION_NOT_FOUND'), String(missing));
});

test('a PDF keeps its page numbers on its chunks', async () => {
  const rag = await startRag({ chunk_tokens: 32, chunk_overlap: 0 }, { access: hashedModelAccess() });
  const pdf = minimalPdf([
    ['Warranty covers two years of normal use at home, with repairs or a replacement at our choice and cost.'],
    ['Batteries are covered for one year only, and only when they hold less than half of their first charge.'],
  ]);
  await upload(rag, 'default', 'warranty.pdf', pdf, 'application/pdf');
  const [hit] = await rag.index.search('rag:default', { text: 'batteries', filter: { kind: 'chunk' } });
  assert.equal(hit?.metadata.page, 2);
  const [first] = await rag.index.search('rag:default', { text: 'warranty', filter: { kind: 'chunk' } });
  assert.equal(first?.metadata.page, 1);
});

test('without embeddings a document is indexed for keyword search, and embedded once they work', async () => {
  let working = false;
  const hashed = hashedModelAccess();
  const access: ModelAccess = {
    ...hashed,
    embed: async (request) => {
      if (!working) throw new Error('connect ECONNREFUSED 127.0.0.1:11434');
      return hashed.embed(request);
    },
  };
  let now = 0;
  const rag = await startRag({ embed_retry_seconds: 10 }, { access, plugin: { now: () => now } });
  const first = bodyOf(await upload(rag, 'default', 'notes.txt', 'Keyword only for now.'));
  assert.equal(first.embedding_model, null);
  assert.equal((await rag.index.search('rag:default', { text: 'keyword', filter: { kind: 'chunk' } })).length, 1);
  assert.equal(bodyOf(await upload(rag, 'default', 'notes.txt', 'Keyword only for now.')).status, 'unchanged');

  working = true;
  now = 11_000;
  const second = bodyOf(await upload(rag, 'default', 'notes.txt', 'Keyword only for now.'));
  assert.equal(second.status, 'replaced', 'embedded now that embeddings work');
  assert.equal(second.embedding_model, HASHED_EMBEDDER_MODEL);
  const chunks = await rag.index.search('rag:default', { text: 'keyword', filter: { kind: 'chunk' } });
  assert.equal(chunks.length, 1, 'the re-embedded chunks are still there');
  assert.deepEqual(chunks[0]?.matchedBy, ['keyword']);
  const byVector = await rag.index.search('rag:default', {
    vector: (await hashed.embed({ input: ['Keyword only for now.'] })).embeddings[0]!,
    filter: { kind: 'chunk' },
  });
  assert.equal(byVector.length, 1, 'and now found by vector too');
});

test('an embedding model of another size than the collection’s is refused with what to do', async () => {
  const index = new MemorySearchIndex();
  const small: ModelAccess = {
    ...hashedModelAccess(),
    embed: async (request) => ({ embeddings: request.input.map(() => [1, 0, 0]), backend: 'b', model: 'tiny' }),
  };
  await upload(await startRag({}, { index, access: hashedModelAccess() }), 'default', 'a.txt', 'First document.');
  const error = await upload(await startRag({}, { index, access: small }), 'default', 'b.txt', 'Second one.').catch(
    (caught: unknown) => caught,
  );
  assert.ok(isPlugboardError(error, 'rag/EMBEDDING_MISMATCH'), String(error));
  assert.equal(error.status, 409);
});

test('refusals: no name, JSON body, too large, bad metadata, reserved keys, bad collection, empty text', async () => {
  const rag = await startRag({ max_document_bytes: 2048 }, { access: hashedModelAccess() });
  const refused = async (promise: Promise<unknown>, code: string, pattern: RegExp) => {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    assert.ok(isPlugboardError(error, code), `${code}: ${String(error)}`);
    assert.match(error.message, pattern);
  };
  await refused(
    rag.request('POST', '/v1/rag/collections/:collection/documents', {
      params: { collection: 'default' },
      body: new Uint8Array([65]),
    }),
    'rag/INVALID_REQUEST',
    /name/,
  );
  await refused(
    rag.request('POST', '/v1/rag/collections/:collection/documents', {
      params: { collection: 'default' },
      query: { name: 'a.json' },
      body: { text: 'hello' },
      contentType: 'application/json',
    }),
    'rag/INVALID_REQUEST',
    /raw bytes/,
  );
  await refused(upload(rag, 'default', 'big.txt', 'x'.repeat(4096)), 'rag/DOCUMENT_TOO_LARGE', /4096 bytes/);
  await refused(
    upload(rag, 'default', 'a.txt', 'x', undefined, { 'x-rag-metadata': '{nope' }),
    'rag/INVALID_REQUEST',
    /JSON/,
  );
  await refused(
    upload(rag, 'default', 'a.txt', 'x', undefined, { 'x-rag-metadata': '{"tags":["a"]}' }),
    'rag/INVALID_REQUEST',
    /metadata\.tags/,
  );
  await refused(
    upload(rag, 'default', 'a.txt', 'x', undefined, { 'x-rag-metadata': '{"document":"other"}' }),
    'rag/INVALID_REQUEST',
    /rag plugin's own/,
  );
  await refused(upload(rag, '-bad/name', 'a.txt', 'x'), 'rag/INVALID_REQUEST', /collection/);
  await refused(upload(rag, 'default', 'blank.md', '\n\n   \n'), 'rag/EMPTY_DOCUMENT', /blank\.md/);
  await refused(upload(rag, 'default', 'photo.png', 'x', 'image/png'), 'rag/UNSUPPORTED_FORMAT', /image\/png/);
});
