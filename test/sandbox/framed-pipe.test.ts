/**
 * The message pipe between the server and a sandboxed process: JSON lines, split or joined
 * anyhow by the transport, and a limit on a message's size — a hostile process cannot make the
 * server read and parse a message of any size (Node's IPC channel would). Over a real socket.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { FramedPipe } from '../../src/sandbox/framed-pipe.ts';

async function socketPair(): Promise<[Socket, Socket]> {
  const dir = mkdtempSync(join(tmpdir(), 'plugboard-pipe-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const server = createServer();
  server.listen(join(dir, 'sock'));
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const client = connect(join(dir, 'sock'));
  const [serverSide] = (await accepted) as [Socket];
  server.close();
  after(() => {
    client.destroy();
    serverSide.destroy();
  });
  return [client, serverSide];
}

describe('FramedPipe', () => {
  test('messages arrive whole and in order, however the bytes are cut', async () => {
    const [a, b] = await socketPair();
    const receiver = new FramedPipe(b, 1024);
    const got: unknown[] = [];
    receiver.on('message', (message) => got.push(message));
    const text = `${JSON.stringify({ n: 1, s: 'a\nb' })}\n${JSON.stringify({ n: 2 })}\n${JSON.stringify({ n: 3, s: 'é😀' })}\n`;
    for (let index = 0; index < text.length; index += 3) a.write(text.slice(index, index + 3));
    for (let waited = 0; waited < 100 && got.length < 3; waited++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(got, [{ n: 1, s: 'a\nb' }, { n: 2 }, { n: 3, s: 'é😀' }]);
  });

  test('a message over the limit is a violation, before it is read whole', async () => {
    const [a, b] = await socketPair();
    const receiver = new FramedPipe(b, 10_000);
    const violation = once(receiver, 'violation');
    a.write(`"${'x'.repeat(50_000)}`); // no end of line: it never ends
    const [what] = (await violation) as [string];
    assert.match(what, /longer than 10000 bytes/);
  });

  test('a line that is not JSON is a violation; send after close reports false', async () => {
    const [a, b] = await socketPair();
    const receiver = new FramedPipe(b, 1024);
    const violation = once(receiver, 'violation');
    a.write('{not json}\n');
    assert.match(((await violation) as [string])[0], /not JSON/);
    const sender = new FramedPipe(a, 1024);
    sender.close();
    assert.equal(sender.send({ t: 'ping' }), false, 'nothing is sent on a closed pipe');
  });
});
