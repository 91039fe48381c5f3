/**
 * Model sources: `hf:` sources resolve on the Hub's endpoint (option, then HF_ENDPOINT, then
 * huggingface.co), Hub web-page URLs turn into file URLs, any other http(s) URL is taken as it
 * is; everything that is no plain .gguf file name, or could escape the models folder, is refused.
 * Also the GGUF header check that guards the rename into the folder.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { isPlugboardError } from '../../src/core/errors/plugboard-error.ts';
import type { Logger } from '../../src/core/logger.ts';
import { parseGgufHeader } from '../../src/model-files/gguf-header.ts';
import { ModelPulls } from '../../src/model-files/model-pulls.ts';
import { parseModelSource, shownSource } from '../../src/model-files/model-source.ts';
import { RuntimeFixture } from '../support/runtime-fixture.ts';
import { tinyGgufBytes } from '../support/tiny-gguf.ts';
import { FakeHub } from './fake-hub.ts';

const NO_ENV = { env: {} };

describe('parseModelSource', () => {
  test('hf:owner/repo/file.gguf resolves on huggingface.co, branch main', () => {
    const source = parseModelSource('hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf', NO_ENV);
    assert.equal(source.kind, 'huggingface');
    assert.equal(source.file, 'qwen2.5-0.5b-instruct-q4_k_m.gguf');
    assert.equal(
      source.url.href,
      'https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/qwen2.5-0.5b-instruct-q4_k_m.gguf',
    );
  });

  test('a branch after a colon, and a file in a sub-folder (saved under its own name)', () => {
    const source = parseModelSource('hf:owner/repo:v1.2/quants/model-Q4_K_M.gguf', NO_ENV);
    assert.equal(source.url.href, 'https://huggingface.co/owner/repo/resolve/v1.2/quants/model-Q4_K_M.gguf');
    assert.equal(source.file, 'model-Q4_K_M.gguf');
  });

  test('the endpoint comes from the option, else HF_ENDPOINT', () => {
    assert.equal(
      parseModelSource('hf:o/r/m.gguf', { endpoint: 'http://127.0.0.1:9/mirror', env: { HF_ENDPOINT: 'http://x/' } })
        .url.href,
      'http://127.0.0.1:9/mirror/o/r/resolve/main/m.gguf',
    );
    assert.equal(
      parseModelSource('hf:o/r/m.gguf', { env: { HF_ENDPOINT: 'https://hf-mirror.example/' } }).url.href,
      'https://hf-mirror.example/o/r/resolve/main/m.gguf',
    );
  });

  test('a Hub blob (web page) URL becomes its resolve URL; a resolve URL stays', () => {
    for (const given of [
      'https://huggingface.co/owner/repo/blob/main/model.gguf',
      'https://huggingface.co/owner/repo/resolve/main/model.gguf?download=true',
    ]) {
      const source = parseModelSource(given, NO_ENV);
      assert.equal(source.kind, 'huggingface', given);
      assert.equal(source.url.href, 'https://huggingface.co/owner/repo/resolve/main/model.gguf', given);
    }
  });

  test('any other http(s) URL of a .gguf file is taken as it is', () => {
    const source = parseModelSource('https://example.com/files/tiny.gguf?token=abc', NO_ENV);
    assert.equal(source.kind, 'url');
    assert.equal(source.url.href, 'https://example.com/files/tiny.gguf?token=abc');
    assert.equal(source.file, 'tiny.gguf');
  });

  test('refuses what is no plain .gguf file, or could leave the models folder', () => {
    const refused: Record<string, RegExp> = {
      '': /it is empty/,
      'hf:owner/repo': /name the file too/,
      'hf:owner/repo/model.bin': /does not end in \.gguf/,
      'hf:owner/repo/../x.gguf': /segment "\.\." is not allowed/,
      'hf:owner/repo/.hidden.gguf': /not a safe file name/,
      'hf:owner/re po/x.gguf': /not a Hugging Face repository name/,
      'hf:owner/repo:a:b/x.gguf': /at most one ":"/,
      'https://example.com/a/..%2F..%2Fetc.gguf': /not a safe file name/,
      'https://example.com/a%2F..%2Fb.gguf': /not a safe file name/,
      'https://user:secret@example.com/x.gguf': /user name or password/,
      'ftp://example.com/x.gguf': /only http\(s\) URLs/,
      'file:///etc/passwd.gguf': /only http\(s\) URLs/,
      'models/x.gguf': /neither `hf:owner\/repo\/file\.gguf` nor an http\(s\) URL/,
    };
    for (const [given, why] of Object.entries(refused)) {
      assert.throws(
        () => parseModelSource(given, NO_ENV),
        (error: unknown) => isPlugboardError(error, 'MODEL_SOURCE_INVALID') && why.test(error.message),
        `"${given}" is refused (${why})`,
      );
    }
  });

  test('an HF_ENDPOINT that is no http(s) URL is refused, naming the variable', () => {
    assert.throws(
      () => parseModelSource('hf:o/r/m.gguf', { env: { HF_ENDPOINT: 'ftp://mirror/' } }),
      (error: unknown) => isPlugboardError(error, 'MODEL_SOURCE_INVALID') && /HF_ENDPOINT/.test(error.message),
    );
  });
});

describe('parseGgufHeader', () => {
  test('reads the tiny model’s header', () => {
    const header = parseGgufHeader(tinyGgufBytes().subarray(0, 24), 'tiny.gguf');
    assert.equal(header.version, 3);
    assert.ok(header.tensorCount > 0, 'the tiny model has tensors');
    assert.ok(header.metadataCount > 0, 'the tiny model has metadata');
  });

  test('refuses other files, a version-1 file and a damaged header, saying what it found', () => {
    const header = (version: number, tensors: bigint, keys: bigint) => {
      const bytes = Buffer.alloc(24);
      bytes.write('GGUF', 0, 'latin1');
      bytes.writeUInt32LE(version, 4);
      bytes.writeBigUInt64LE(tensors, 8);
      bytes.writeBigUInt64LE(keys, 16);
      return bytes;
    };
    const cases: [Buffer, RegExp][] = [
      [Buffer.from('{"error":"Entry not found"}'), /starts with "\{\\"error\\":\\"Entry " instead of "GGUF"/],
      [Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0]), /starts with bytes 504b03040000 instead/],
      [Buffer.alloc(0), /nothing \(the file is empty\)/],
      [Buffer.from('GGUF\x03\0'), /only 6 bytes long/],
      [header(1, 1n, 1n), /version 1, which llama\.cpp no longer reads/],
      [header(0x03000000, 1n, 1n), /unknown GGUF version 50331648/],
      [header(3, 2n ** 40n, 3n), /header is damaged/],
      [header(3, 3n, 0n), /header is damaged/],
    ];
    for (const [bytes, why] of cases) {
      assert.throws(
        () => parseGgufHeader(bytes, 'x.gguf'),
        (error: unknown) => isPlugboardError(error, 'MODEL_NOT_GGUF') && why.test(error.message),
        `${why}`,
      );
    }
  });
});

describe('presigned URLs', () => {
  const SIGNATURE = 'X-Amz-Signature=0123456789abcdef-secret';

  test('shownSource hides the query of an http(s) URL, and leaves other sources alone', () => {
    assert.equal(shownSource(`https://bucket.example/m.gguf?${SIGNATURE}`), 'https://bucket.example/m.gguf?…');
    assert.equal(shownSource(new URL('https://bucket.example/m.gguf#frag')), 'https://bucket.example/m.gguf?…');
    assert.equal(shownSource('https://bucket.example/m.gguf'), 'https://bucket.example/m.gguf');
    assert.equal(shownSource('hf:owner/repo/m.gguf'), 'hf:owner/repo/m.gguf');
  });

  test('a refused source does not repeat its query', () => {
    let error: unknown;
    try {
      parseModelSource(`https://bucket.example/m.bin?${SIGNATURE}`, NO_ENV);
    } catch (thrown) {
      error = thrown;
    }
    assert.ok(isPlugboardError(error, 'MODEL_SOURCE_INVALID'), `refused: ${String(error)}`);
    assert.ok(!JSON.stringify({ message: error.message, details: error.details }).includes('secret'), error.message);
  });

  test('pull lists and logs show the source with its query as ?…', async () => {
    const hub = await FakeHub.start();
    const dir = await RuntimeFixture.tempDir('plugboard-presigned-');
    const lines: string[] = [];
    const record = (object: Record<string, unknown>, message?: string) =>
      lines.push(JSON.stringify({ ...object, message }));
    const logger: Logger = { debug: record, info: record, warn: record, error: record, child: () => logger };
    try {
      hub.serve('bucket/signed.gguf', { bytes: tinyGgufBytes(), sha256: null, direct: true });
      const pulls = new ModelPulls({ dir, env: {}, logger });
      const started = pulls.start(`${hub.url}bucket/signed.gguf?${SIGNATURE}`);
      assert.equal(started.source, `${hub.url}bucket/signed.gguf?…`);
      for (let wait = 0; pulls.list()[0]?.state === 'running' && wait < 1000; wait++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await pulls.close();
      assert.equal(pulls.list()[0]?.state, 'done', JSON.stringify(pulls.list()));
      assert.ok(!JSON.stringify(pulls.list()).includes('secret'), JSON.stringify(pulls.list()));
      assert.ok(lines.length > 0, 'the pull was logged');
      assert.ok(!lines.join('\n').includes('secret'), lines.join('\n'));
    } finally {
      await hub.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
