/**
 * `Content-Encoding` of request bodies (issue #10, item 14): gzip, deflate and br bodies are
 * decoded (streaming, cut at `server.body_limit_mb` of decoded bytes: a zip bomb is a 413, not
 * an allocation), a body that is not what its label says is a 400, an unknown coding a 415.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { startTestServer, type TestServer } from '../support/http-server.ts';
import { destroyRawConnections, openRaw, within } from '../support/raw-http.ts';

const LIMIT = 256 * 1024;
const CHAT = { model: 'scripted-model', messages: [{ role: 'user', content: 'hello' }] };
const OLLAMA_CHAT = { ...CHAT, stream: false };

async function send(
  url: string,
  body: Buffer | string,
  encoding: string,
): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-encoding': encoding },
    body,
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

describe('Content-Encoding of request bodies', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer([createScriptedBackend()], { settings: { bodyLimitBytes: LIMIT } });
  });
  after(async () => {
    destroyRawConnections();
    await server.close();
  });

  const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
  const codings: [string, (data: Buffer) => Buffer][] = [
    ['gzip', gzipSync],
    ['x-gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
    ['GZip', gzipSync],
  ];

  for (const [coding, compress] of codings) {
    test(`a ${coding} body is decoded on both APIs`, async () => {
      const openai = await send(`${server.url}/v1/chat/completions`, compress(json(CHAT)), coding);
      assert.equal(openai.status, 200, openai.text);
      assert.equal((JSON.parse(openai.text) as { object: string }).object, 'chat.completion');
      const ollama = await send(`${server.url}/api/chat`, compress(json(OLLAMA_CHAT)), coding);
      assert.equal(ollama.status, 200, ollama.text);
      assert.equal((JSON.parse(ollama.text) as { done: boolean }).done, true);
    });
  }

  test('identity, and codings applied one after the other, are decoded in order', async () => {
    const identity = await send(`${server.url}/api/chat`, json(OLLAMA_CHAT), 'identity');
    assert.equal(identity.status, 200, identity.text);
    const both = await send(`${server.url}/api/chat`, brotliCompressSync(gzipSync(json(OLLAMA_CHAT))), 'gzip, br');
    assert.equal(both.status, 200, both.text);
  });

  test('a plain body labelled gzip is a 400 that says the body is not gzip', async () => {
    const openai = await send(`${server.url}/v1/chat/completions`, JSON.stringify(CHAT), 'gzip');
    assert.equal(openai.status, 400);
    const error = (JSON.parse(openai.text) as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'request_invalid');
    assert.match(error.message, /not valid gzip/);
    const ollama = await send(`${server.url}/api/chat`, JSON.stringify(OLLAMA_CHAT), 'br');
    assert.equal(ollama.status, 400);
    assert.match((JSON.parse(ollama.text) as { error: string }).error, /not valid br/);
  });

  test('a truncated gzip body is a 400', async () => {
    const whole = gzipSync(json(CHAT));
    const response = await send(`${server.url}/v1/chat/completions`, whole.subarray(0, whole.length - 6), 'gzip');
    assert.equal(response.status, 400);
  });

  test('an unknown coding is a 415 naming it, with the codings accepted', async () => {
    const openai = await send(`${server.url}/v1/chat/completions`, json(CHAT), 'compress');
    assert.equal(openai.status, 415);
    const error = (JSON.parse(openai.text) as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'unsupported_content_encoding');
    assert.match(error.message, /"compress"/);
    assert.match(openai.headers.get('accept-encoding') ?? '', /gzip/);
    const ollama = await send(`${server.url}/api/embed`, json({ model: 'scripted-model', input: 'x' }), 'gzip, snappy');
    assert.equal(ollama.status, 415);
    const body = JSON.parse(ollama.text) as { error: string; code: string };
    assert.equal(body.code, 'UNSUPPORTED_CONTENT_ENCODING');
    assert.match(body.error, /"snappy"/);
  });

  test('a body that decodes to more than the body limit is a 413', async () => {
    const padded = json({ ...CHAT, messages: [{ role: 'user', content: 'a'.repeat(LIMIT) }] });
    const compressed = gzipSync(padded);
    assert.ok(compressed.length < LIMIT / 10);
    const openai = await send(`${server.url}/v1/chat/completions`, compressed, 'gzip');
    assert.equal(openai.status, 413);
    assert.equal((JSON.parse(openai.text) as { error: { code: string } }).error.code, 'request_too_large');
    const ollama = await send(`${server.url}/api/chat`, compressed, 'gzip');
    assert.equal(ollama.status, 413);
  });

  test('a zip bomb is cut at the limit, before the rest of it is even read', async () => {
    // 16 MiB of zeros per gzip member (~16 KB each); members may be concatenated. The client
    // sends 4 of them (64 MiB decoded) and never finishes: only a decoder that stops at the
    // limit can answer, and the connection is closed.
    const member = gzipSync(Buffer.alloc(16 * 1024 * 1024));
    const request = openRaw(
      server.url,
      'POST /v1/chat/completions HTTP/1.1\r\nHost: plugboard\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n',
    );
    for (let i = 0; i < 4; i++)
      request.write(Buffer.concat([Buffer.from(`${member.length.toString(16)}\r\n`), member, Buffer.from('\r\n')]));
    const response = await within(request.response, 5000, '413 response');
    assert.equal(response.status, 413);
    assert.equal(response.headers.connection, 'close');
    await within(request.closed, 2000, 'connection closed');
  });
});
