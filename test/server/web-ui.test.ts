/**
 * The web UI's serving: `GET /` answers a browser (Accept: text/html first) with the UI's page
 * and everyone else — Ollama's clients, curl, health checks — with the liveness text as before;
 * `/ui/` serves the build's files: the page `no-cache`, hashed assets for a year, `.br`/`.gz`
 * siblings to clients that accept them; every UI response carries the security headers; a
 * missing build is a 503 page that says how to build it; paths that leave the folder, however
 * encoded, are 404s. Over real HTTP, with raw requests where fetch would decode or normalize.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { Ollama } from 'ollama';
import { createSilentLogger } from '../../src/index.ts';
import { createServer, type PlugboardServer } from '../../src/server/create-server.ts';
import { ROOT_TEXT } from '../../src/server/ollama/meta-routes.ts';
import { prefersHtml } from '../../src/server/ui/accept.ts';
import { UI_CONTENT_SECURITY_POLICY } from '../../src/server/ui/security-headers.ts';
import { DEFAULT_UI_FOLDER } from '../../src/server/ui/web-ui.ts';
import { createScriptedBackend, startManager } from '../../src/testing/index.ts';
import { CapturingLogger } from './admin-support.ts';

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
const PAGE =
  '<!doctype html><html><head><script type="module" src="/ui/assets/index-abc123.js"></script></head><body></body></html>\n';
const SCRIPT = `console.log(${JSON.stringify('plugboard '.repeat(200))});\n`;
const STYLE = 'body { margin: 0 }\n';
const SECRET = 'outside-the-ui-folder-4242';
const EXPECTED_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

interface Raw {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** A GET (or HEAD) as written: no decoding, no path normalization, only the headers given. */
function raw(url: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Raw> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const outgoing = request({ hostname, port, path, method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }),
      );
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

function assertSecurityHeaders(response: Raw, what: string): void {
  assert.equal(response.headers['content-security-policy'], EXPECTED_CSP, `${what}: CSP`);
  assert.equal(response.headers['x-content-type-options'], 'nosniff', `${what}: nosniff`);
  assert.equal(response.headers['referrer-policy'], 'no-referrer', `${what}: referrer policy`);
  assert.equal(response.headers['x-frame-options'], 'DENY', `${what}: no framing`);
}

interface Running {
  readonly url: string;
  readonly server: PlugboardServer;
  close(): Promise<void>;
}

async function start(ui: { folder: string } | false, logger = createSilentLogger()): Promise<Running> {
  const manager = await startManager([createScriptedBackend({ name: 'echo', models: ['echo'], reply: 'pong' })], {
    logger,
  });
  const server = await createServer({ manager, logger, settings: { host: '127.0.0.1', port: 0 }, ui, tracing: false });
  const url = await server.listen();
  return {
    url,
    server,
    async close() {
      await server.close();
      await manager.shutdown();
    },
  };
}

let root: string;
let folder: string;
let running: Running;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'plugboard-ui-'));
  folder = join(root, 'ui');
  await mkdir(join(folder, 'assets'), { recursive: true });
  await writeFile(join(root, 'secret.txt'), SECRET);
  await writeFile(join(folder, 'index.html'), PAGE);
  await writeFile(join(folder, '.build-stamp.json'), '{"stamp":"x"}');
  await writeFile(join(folder, 'assets', 'index-abc123.js'), SCRIPT);
  await writeFile(join(folder, 'assets', 'index-abc123.js.br'), brotliCompressSync(SCRIPT));
  await writeFile(join(folder, 'assets', 'index-abc123.js.gz'), gzipSync(SCRIPT));
  // No compressed siblings: served as it is whatever the client accepts.
  await writeFile(join(folder, 'assets', 'style-def456.css'), STYLE);
  running = await start({ folder });
});

after(async () => {
  await running?.close();
  await rm(root, { recursive: true, force: true });
});

describe('GET /: the page for browsers, the liveness text for everyone else', () => {
  test('a browser gets index.html with the security headers, no-cache, and Vary: Accept', async () => {
    const page = await raw(running.url, '/', { accept: BROWSER });
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(page.body.toString(), PAGE);
    assert.equal(page.headers['cache-control'], 'no-cache');
    assert.match(String(page.headers.vary), /accept/i);
    assertSecurityHeaders(page, 'GET / (browser)');
    assert.equal(UI_CONTENT_SECURITY_POLICY, EXPECTED_CSP);
    const head = await raw(running.url, '/', { accept: BROWSER }, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-type'], 'text/html; charset=utf-8');
  });

  test('curl, no Accept, JSON and text clients get the liveness text, as from Ollama', async () => {
    for (const accept of ['*/*', undefined, 'application/json', 'text/plain, text/html', 'text/html;q=0, */*']) {
      const answer = await raw(running.url, '/', accept === undefined ? {} : { accept });
      assert.equal(answer.status, 200, `Accept: ${accept}`);
      assert.equal(answer.headers['content-type'], 'text/plain; charset=utf-8', `Accept: ${accept}`);
      assert.equal(answer.body.toString(), ROOT_TEXT, `Accept: ${accept}`);
    }
    const fetched = await fetch(`${running.url}/`);
    assert.equal(await fetched.text(), ROOT_TEXT, 'fetch’s default Accept (*/*) gets the text');
  });

  test('the Ollama client and the other APIs answer as before next to the UI', async () => {
    const ollama = new Ollama({ host: running.url });
    assert.equal((await ollama.version()).version, '0.12.0');
    const reply = await ollama.chat({ model: 'echo', messages: [{ role: 'user', content: 'ping' }] });
    assert.equal(reply.message.content, 'pong');
    const models = await fetch(`${running.url}/v1/models`);
    assert.equal(models.status, 200);
    const unknown = await fetch(`${running.url}/v1/ui/assets/index-abc123.js`);
    assert.equal(unknown.status, 404, 'the UI’s files are not under /v1');
  });

  test('prefersHtml: HTML only when named, at a quality at least that of plain text', () => {
    const cases: [string | undefined, boolean][] = [
      [BROWSER, true],
      ['text/html', true],
      ['application/xhtml+xml', true],
      ['*/*', false],
      [undefined, false],
      ['', false],
      ['application/json', false],
      ['text/plain', false],
      ['text/plain, text/html', false],
      ['text/html, text/plain;q=0.5', true],
      ['text/html;q=0.5, */*', false],
      ['text/html;q=0', false],
      ['TEXT/HTML', true],
    ];
    for (const [accept, expected] of cases) assert.equal(prefersHtml(accept), expected, `Accept: ${accept}`);
  });
});

describe('/ui/: the build’s files', () => {
  test('/ui/ and /ui/index.html are the page: no-cache, security headers', async () => {
    for (const path of ['/ui/', '/ui', '/ui/index.html']) {
      const page = await raw(running.url, path);
      assert.equal(page.status, 200, path);
      assert.equal(page.body.toString(), PAGE, path);
      assert.equal(page.headers['cache-control'], 'no-cache', path);
      assertSecurityHeaders(page, path);
    }
  });

  test('hashed assets: cached for a year, immutable, with the security headers and Vary: Accept-Encoding', async () => {
    const script = await raw(running.url, '/ui/assets/index-abc123.js');
    assert.equal(script.status, 200);
    assert.equal(script.body.toString(), SCRIPT);
    assert.equal(script.headers['content-encoding'], undefined, 'no encoding asked: the plain file');
    assert.match(String(script.headers['content-type']), /^(text|application)\/javascript/);
    assert.equal(script.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.match(String(script.headers.vary), /accept-encoding/i);
    assertSecurityHeaders(script, 'an asset');
    const style = await raw(running.url, '/ui/assets/style-def456.css');
    assert.equal(style.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.match(String(style.headers['content-type']), /^text\/css/);
  });

  test('precompressed siblings: br or gzip as the client accepts, the file itself when there is none', async () => {
    const br = await raw(running.url, '/ui/assets/index-abc123.js', { 'accept-encoding': 'gzip, deflate, br' });
    assert.equal(br.status, 200);
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(brotliDecompressSync(br.body).toString(), SCRIPT);
    assert.match(String(br.headers['content-type']), /javascript/, 'the type of the file, not of .br');
    assert.equal(br.headers['cache-control'], 'public, max-age=31536000, immutable');
    const gz = await raw(running.url, '/ui/assets/index-abc123.js', { 'accept-encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(gz.body).toString(), SCRIPT);
    const plain = await raw(running.url, '/ui/assets/style-def456.css', { 'accept-encoding': 'br, gzip' });
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body.toString(), STYLE);
  });

  test('paths that leave the folder, plain or encoded, dot files and unknown files are 404s', async () => {
    for (const path of [
      '/ui/../secret.txt',
      '/ui/assets/../../secret.txt',
      '/ui/%2e%2e/secret.txt',
      '/ui/%2E%2E/secret.txt',
      '/ui/..%2fsecret.txt',
      '/ui/%2e%2e%2fsecret.txt',
      '/ui/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/ui/%252e%252e/secret.txt',
      '/ui/..%5csecret.txt',
      '/ui/assets/..%00/secret.txt',
      '/ui/.build-stamp.json',
      '/ui/assets/missing-000.js',
    ]) {
      const answer = await raw(running.url, path);
      assert.ok(answer.status === 404 || answer.status === 400, `${path}: refused (got ${answer.status})`);
      assert.ok(!answer.body.toString().includes(SECRET), `${path}: the file outside is not sent`);
      assert.ok(!answer.body.toString().includes('"stamp"'), `${path}: the dot file is not sent`);
    }
  });

  test('another method than GET or HEAD is a 405 with Allow', async () => {
    const post = await fetch(`${running.url}/ui/assets/index-abc123.js`, { method: 'POST', body: '{}' });
    assert.equal(post.status, 405);
    assert.match(post.headers.get('allow') ?? '', /GET/);
  });
});

describe('without a build, and without the UI', () => {
  test('no index.html: a browser gets a 503 page saying how to build it (logged once), curl the text; a build made later is served', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'plugboard-ui-empty-'));
    const logger = new CapturingLogger();
    const bare = await start({ folder: empty }, logger);
    try {
      for (const path of ['/', '/ui/']) {
        const page = await raw(bare.url, path, { accept: BROWSER });
        assert.equal(page.status, 503, path);
        assert.equal(page.headers['content-type'], 'text/html; charset=utf-8', path);
        const html = page.body.toString();
        assert.match(html, /npm run build:ui/, `${path}: says how to build it`);
        assert.ok(!html.includes(empty), `${path}: names no path of the server`);
        assert.ok(!/\bat .+:\d+:\d+/.test(html), `${path}: no stack trace`);
        assertSecurityHeaders(page, `${path} (not built)`);
      }
      const text = await raw(bare.url, '/', { accept: '*/*' });
      assert.equal(text.status, 200);
      assert.equal(text.body.toString(), ROOT_TEXT);
      const warnings = logger.of('web_ui').filter((line) => line.level === 'warn');
      assert.equal(warnings.length, 1, 'the missing build is logged once');
      assert.match(String(warnings[0]?.message), /npm run build:ui/);

      await writeFile(join(empty, 'index.html'), PAGE);
      const built = await raw(bare.url, '/', { accept: BROWSER });
      assert.equal(built.status, 200, 'a build made while the server runs is served');
      assert.equal(built.body.toString(), PAGE);
    } finally {
      await bare.close();
      await rm(empty, { recursive: true, force: true });
    }
  });

  test('ui: false: `/` is the text for browsers too, and /ui/ does not exist', async () => {
    const off = await start(false);
    try {
      const page = await raw(off.url, '/', { accept: BROWSER });
      assert.equal(page.body.toString(), ROOT_TEXT);
      assert.equal(page.headers['content-security-policy'], undefined);
      assert.equal((await raw(off.url, '/ui/')).status, 404);
    } finally {
      await off.close();
    }
  });

  test('the default folder is this package’s dist/ui', () => {
    assert.equal(DEFAULT_UI_FOLDER, `${join(new URL('../../', import.meta.url).pathname, 'dist', 'ui')}/`);
  });
});
