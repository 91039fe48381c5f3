/**
 * `plugboard rag add` against a real Plugboard server (scripted backend, rag plugin), against
 * a port with nothing listening (a real "connection refused"), and against a node:http stub
 * that refuses with a 401 — the quickest way to have a server refuse every upload.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createScriptedBackend } from '../../src/testing/index.ts';
import { closedPort } from '../../test/support/closed-port.ts';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import { runRagCommand } from './cli.ts';
import { createRagPlugin } from './rag.plugin.ts';

let server: TestServer;
let folder: string;

before(async () => {
  server = await startTestServer([
    createScriptedBackend(),
    [createRagPlugin(), { config: { collections: ['notes'] } }],
  ]);
  folder = await mkdtemp(join(tmpdir(), 'plugboard-rag-cli-'));
  await mkdir(join(folder, 'docs', 'deep'), { recursive: true });
  await writeFile(join(folder, 'docs', 'intro.md'), '# Intro\n\nWelcome to the handbook.');
  await writeFile(join(folder, 'docs', 'deep', 'faq.txt'), 'Questions and answers about the handbook.');
  await writeFile(join(folder, 'docs', 'deep', 'image.png'), 'not a document');
  await writeFile(join(folder, 'single.html'), '<h1>Single</h1><p>One page.</p>');
});
after(async () => {
  await server.close();
  await rm(folder, { recursive: true, force: true });
});

function recordingIo() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (line: string) => out.push(line), err: (line: string) => err.push(line), env: {} } };
}

test('adds files and the supported files of folders, named by their path in the folder', async () => {
  const { out, err, io } = recordingIo();
  const argv = ['add', join(folder, 'docs'), join(folder, 'single.html'), '--collection', 'notes', '--url', server.url];
  const code = await runRagCommand(argv, io);
  assert.equal(code, 0, err.join('\n'));
  assert.deepEqual(out.slice(0, 3), [
    'deep/faq.txt: added (1 chunks)',
    'intro.md: added (1 chunks)',
    'single.html: added (1 chunks)',
  ]);
  assert.match(out.at(-1)!, /3 added, 0 replaced, 0 unchanged, 0 refused; 3 chunks/);
  const listed = (await (await fetch(`${server.url}/v1/rag/collections/notes/documents`)).json()) as {
    documents: { name: string }[];
  };
  assert.deepEqual(
    listed.documents.map((document) => document.name),
    ['deep/faq.txt', 'intro.md', 'single.html'],
  );
  const again = recordingIo();
  assert.equal(await runRagCommand(argv, again.io), 0);
  assert.match(again.out.at(-1)!, /0 added, 0 replaced, 3 unchanged/);
});

test('a refused file is named with the server’s reason, the rest still go, and the exit code is 1', async () => {
  const bad = join(folder, 'bad.txt');
  await writeFile(bad, Buffer.from([0xff, 0xfe, 0x00]));
  const { out, err, io } = recordingIo();
  const code = await runRagCommand(['add', bad, join(folder, 'single.html'), '--url', server.url, '-c', 'notes'], io);
  assert.equal(code, 1);
  assert.match(err.join('\n'), /bad\.txt: refused \(422\) "bad\.txt" is not UTF-8 text/);
  assert.match(out.at(-1)!, /1 refused/);
});

test('an unreachable server is one clear message and exit code 1', async () => {
  const { err, io } = recordingIo();
  const url = `http://127.0.0.1:${await closedPort()}`;
  const code = await runRagCommand(['add', join(folder, 'single.html'), '--url', url], io);
  assert.equal(code, 1);
  assert.match(
    err.join('\n'),
    /Cannot reach Plugboard at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\): is the server running/,
  );
});

test('a server that refuses the key stops at the first file, saying what to check', async () => {
  const uploads: string[] = [];
  const stub = createServer((request, response) => {
    uploads.push(`${request.method} ${request.url} ${request.headers.authorization}`);
    response.writeHead(401, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: { message: 'Invalid API key', code: 'auth/invalid_key' } }));
  });
  await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = stub.address() as { port: number };
    const { err, io } = recordingIo();
    const code = await runRagCommand(
      ['add', join(folder, 'docs'), '--url', `http://127.0.0.1:${port}`, '--api-key', 'pb-secret'],
      io,
    );
    assert.equal(code, 1);
    assert.deepEqual(uploads, ['POST /v1/rag/collections/default/documents?name=deep%2Ffaq.txt Bearer pb-secret']);
    assert.match(err.join('\n'), /deep\/faq\.txt: refused \(401\) Invalid API key[\s\S]*documents scope/);
  } finally {
    await new Promise((resolve) => stub.close(resolve));
  }
});

test('wrong usage is exit code 2 with the usage', async () => {
  for (const argv of [
    [],
    ['add'],
    ['remove', 'x'],
    ['add', 'x', '--collection', '../etc'],
    ['add', 'x', '--metadata', '[1]'],
  ]) {
    const { err, io } = recordingIo();
    assert.equal(await runRagCommand(argv, io), 2, argv.join(' '));
    assert.ok(err.join('\n').length > 0, 'says why');
  }
});
