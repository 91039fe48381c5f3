/**
 * End to end through the real HTTP server: documents uploaded over the rag API (raw bodies
 * with their Content-Type, the server's body limit from max_document_bytes), listed and
 * deleted; a chat on both APIs with the official `openai` and `ollama` clients gets the
 * sources injected and the citations in the reply's `plugboard` object. The backend is the
 * scripted one (its `embed` gives 8-dimensional vectors of character sums; there is no
 * embedding model here), reached through the manager's real model access service.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { createScriptedBackend, type ScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import { createRagPlugin } from './rag.plugin.ts';
import { minimalPdf } from './testing/minimal-pdf.ts';

const FAQ = `# Returns\n\nYou can return any item within thirty days for a full refund.\n\n# Delivery\n\nParcels to Norway take four to six working days.`;

let server: TestServer;
let backend: ScriptedBackend;

before(async () => {
  backend = createScriptedBackend({ reply: 'Thirty days [1].' });
  server = await startTestServer([
    backend,
    [
      createRagPlugin(),
      { config: { collections: ['shop'], chunk_tokens: 64, chunk_overlap: 0, max_document_bytes: 4096 } },
    ],
  ]);
});
after(() => server.close());

const upload = (name: string, body: Uint8Array | string, contentType: string, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/v1/rag/collections/shop/documents?name=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...headers },
    body,
  });

test('upload, list, chat with citations on both APIs, delete', async () => {
  const added = await upload('faq.md', FAQ, 'text/markdown', { 'x-rag-metadata': '{"lang":"en"}' });
  assert.equal(added.status, 201);
  const document = (await added.json()) as { document: string; chunks: number; status: string };
  assert.equal(document.status, 'added');
  assert.equal(document.chunks, 2);
  const pdf = await upload('care.pdf', minimalPdf([['Wash wool at thirty degrees.']]), 'application/pdf');
  assert.equal(pdf.status, 201);
  const again = await upload('faq.md', FAQ, 'text/markdown', { 'x-rag-metadata': '{"lang":"en"}' });
  assert.equal(again.status, 200);
  assert.equal(((await again.json()) as { status: string }).status, 'unchanged');

  const collections = await (await fetch(`${server.url}/v1/rag/collections`)).json();
  assert.deepEqual(collections, { collections: [{ name: 'shop', documents: 2, chunks: 3 }] });

  const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  const completion = await openai.chat.completions.create({
    model: 'scripted-model',
    messages: [{ role: 'user', content: 'How many days do I have to return an item?' }],
  });
  const seen = backend.calls.at(-1)!.messages;
  assert.equal(seen[0]?.role, 'system');
  assert.match(
    seen[0]!.content,
    /\[1\] faq\.md \(section "Returns"\): # Returns\n\nYou can return any item within thirty days/,
  );
  const plugboard = (completion as unknown as { plugboard?: { citations?: { name: string; source: number }[] } })
    .plugboard;
  assert.equal(plugboard?.citations?.[0]?.name, 'faq.md');
  assert.equal(plugboard?.citations?.[0]?.source, 1);

  const ollama = new Ollama({ host: server.url });
  const reply = await ollama.chat({
    model: 'scripted-model',
    messages: [{ role: 'user', content: 'return an item refund' }],
  });
  const citations = (reply as unknown as { plugboard?: { citations?: { name: string }[] } }).plugboard?.citations;
  assert.equal(citations?.[0]?.name, 'faq.md');

  const deleted = await fetch(`${server.url}/v1/rag/collections/shop/documents/${document.document}`, {
    method: 'DELETE',
  });
  assert.equal(deleted.status, 204);
  const listed = (await (await fetch(`${server.url}/v1/rag/collections/shop/documents`)).json()) as {
    documents: { name: string }[];
  };
  assert.deepEqual(
    listed.documents.map((entry) => entry.name),
    ['care.pdf'],
  );
});

test('refusals reach the client with their code and status; the body limit is max_document_bytes', async () => {
  const unsupported = await upload('photo.png', 'x', 'image/png');
  assert.equal(unsupported.status, 415);
  assert.match(JSON.stringify(await unsupported.json()), /"code":"rag\/unsupported_format"/);
  const nameless = await fetch(`${server.url}/v1/rag/collections/shop/documents`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: 'text',
  });
  assert.equal(nameless.status, 400);
  const large = await upload('big.txt', 'x'.repeat(8192), 'text/plain');
  assert.equal(large.status, 413);
  const search = await fetch(`${server.url}/v1/rag/search`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ collection: 'shop', query: 'wool' }),
  });
  assert.equal(search.status, 200);
  const hits = ((await search.json()) as { hits: { name: string }[] }).hits;
  assert.equal(hits[0]?.name, 'care.pdf');
});
