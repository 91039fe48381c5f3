/**
 * pullModelFile against a local HTTP server in the Hugging Face Hub's URL layout (FakeHub: no
 * internet here, and tests must not download anything): a full pull through `hf:` with the
 * endpoint overridden, a resume after a cut connection, a server that ignores Range, a file that
 * does not match its advertised SHA-256, a file that is no GGUF, an abort, one pull per file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { isPlugboardError } from '../../src/core/errors/plugboard-error.ts';
import { type PullProgress, pullModelFile } from '../../src/model-files/pull-model-file.ts';
import { RuntimeFixture } from '../support/runtime-fixture.ts';
import { tinyGgufBytes } from '../support/tiny-gguf.ts';
import { etagOf, FakeHub } from './fake-hub.ts';

const MODEL = tinyGgufBytes();
const MODEL_SHA = createHash('sha256').update(MODEL).digest('hex');
const HALF = Math.floor(MODEL.length / 2);

let hub: FakeHub;
let dir: string;

before(async () => {
  hub = await FakeHub.start();
});
after(() => hub.close());
beforeEach(async () => {
  dir = join(await RuntimeFixture.tempDir('plugboard-models-'), 'models');
});
afterEach(() => rm(join(dir, '..'), { recursive: true, force: true }));

/** The promise's rejection, which must be a PlugboardError with `code`. */
async function refusal(promise: Promise<unknown>, code: string) {
  const error = await promise.then(
    () => assert.fail(`expected ${code}, but the pull succeeded`),
    (thrown: unknown) => thrown,
  );
  assert.ok(isPlugboardError(error, code), `expected ${code}, got ${String(error)}`);
  return error;
}

const sha256Of = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
const sha256Text = (text: string) => createHash('sha256').update(text).digest('hex');
const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

describe('pullModelFile', () => {
  test('pulls hf:owner/repo/file.gguf from the endpoint given, verifying the SHA-256 the Hub advertises', async () => {
    hub.serve('owner/repo/resolve/main/full.gguf', { bytes: MODEL });
    const progress: PullProgress[] = [];
    const result = await pullModelFile({
      source: 'hf:owner/repo/full.gguf',
      dir,
      endpoint: hub.url,
      env: {},
      onProgress: (event) => progress.push(event),
    });
    assert.equal(result.outcome, 'downloaded');
    assert.equal(result.verified, 'sha256');
    assert.equal(result.sha256, MODEL_SHA);
    assert.equal(result.path, join(dir, 'full.gguf'));
    assert.equal(await sha256Of(result.path), MODEL_SHA);
    assert.deepEqual(await readdir(dir), ['full.gguf'], 'no part or lock file is left');
    assert.equal(progress.at(-1)?.received, MODEL.length);
    assert.equal(progress.at(-1)?.total, MODEL.length);
    assert.ok(
      hub.requests.some((request) => request.path === '/cdn/owner/repo/resolve/main/full.gguf'),
      'the redirect to storage was followed',
    );

    const requestsBefore = hub.requests.length;
    const again = await pullModelFile({ source: 'hf:owner/repo/full.gguf', dir, endpoint: hub.url, env: {} });
    assert.equal(again.outcome, 'already-present');
    assert.equal(again.bytes, MODEL.length);
    assert.equal(hub.requests.length, requestsBefore, 'a file already there is not fetched again');
  });

  test('reads the endpoint from HF_ENDPOINT, and takes a branch after a colon', async () => {
    hub.serve('owner/repo/resolve/v2/sub/branch.gguf', { bytes: MODEL });
    const result = await pullModelFile({
      source: 'hf:owner/repo:v2/sub/branch.gguf',
      dir,
      env: { HF_ENDPOINT: hub.url },
    });
    assert.equal(result.outcome, 'downloaded');
    assert.equal(await sha256Of(join(dir, 'branch.gguf')), MODEL_SHA);
  });

  test('a cut connection keeps the part file, and the next pull resumes it with a Range request', async () => {
    hub.serve('owner/repo/resolve/main/cut.gguf', { bytes: MODEL, cutOnceAt: HALF });
    const source = 'hf:owner/repo/cut.gguf';
    const error = await refusal(
      pullModelFile({ source, dir, endpoint: hub.url, env: {} }),
      'MODEL_DOWNLOAD_INTERRUPTED',
    );
    assert.match(error.message, /pull again to resume/);
    const part = join(dir, 'cut.gguf.part');
    const partSize = (await stat(part)).size;
    assert.ok(partSize > 0 && partSize < MODEL.length, `the part file holds what arrived (${partSize} bytes)`);
    assert.equal(await exists(join(dir, 'cut.gguf')), false, 'no unfinished file under the final name');

    const result = await pullModelFile({ source, dir, endpoint: hub.url, env: {} });
    assert.equal(result.outcome, 'downloaded');
    assert.equal(result.resumedFrom, partSize);
    assert.equal(result.verified, 'sha256');
    assert.deepEqual(
      hub.rangeRequests().map((request) => [request.path, request.range]),
      [
        ['/owner/repo/resolve/main/cut.gguf', `bytes=${partSize}-`],
        ['/cdn/owner/repo/resolve/main/cut.gguf', `bytes=${partSize}-`],
      ],
    );
    assert.equal(await sha256Of(join(dir, 'cut.gguf')), MODEL_SHA);
    assert.deepEqual(await readdir(dir), ['cut.gguf']);
  });

  test('a file changed on its server since the part was written is fetched whole, never spliced', async () => {
    const changed = Buffer.from(MODEL);
    changed[changed.length - 1] = (changed.at(-1) ?? 0) ^ 0xff;
    hub.serve('files/changing.gguf', { bytes: MODEL, sha256: null, direct: true, cutOnceAt: HALF });
    const source = `${hub.url}files/changing.gguf`;
    await refusal(pullModelFile({ source, dir, env: {} }), 'MODEL_DOWNLOAD_INTERRUPTED');
    assert.deepEqual(
      JSON.parse(await readFile(join(dir, 'changing.gguf.part.json'), 'utf8')),
      { source, urlSha256: sha256Text(source), validator: etagOf(MODEL) },
      'the part records its URL and the ETag of the version it holds',
    );

    hub.serve('files/changing.gguf', { bytes: changed, sha256: null, direct: true });
    const result = await pullModelFile({ source, dir, env: {} });
    assert.equal(result.resumedFrom, 0, 'the new version is fetched from the start');
    assert.deepEqual(
      hub
        .rangeRequests()
        .filter((request) => request.path === '/files/changing.gguf')
        .map((request) => request.ifRange),
      [etagOf(MODEL)],
      'the resume asked for the rest only of the version the part holds',
    );
    assert.ok((await readFile(join(dir, 'changing.gguf'))).equals(changed), 'the file is the new version, whole');
    assert.deepEqual(await readdir(dir), ['changing.gguf'], 'the part and its record are gone');
  });

  test('a part from another URL is started over, not resumed', async () => {
    const other = Buffer.from(MODEL);
    other[other.length - 1] = (other.at(-1) ?? 0) ^ 0x0f;
    hub.serve('a/same-name.gguf', { bytes: MODEL, sha256: null, direct: true, cutOnceAt: HALF });
    hub.serve('b/same-name.gguf', { bytes: other, sha256: null, direct: true });
    await refusal(pullModelFile({ source: `${hub.url}a/same-name.gguf`, dir, env: {} }), 'MODEL_DOWNLOAD_INTERRUPTED');
    const result = await pullModelFile({ source: `${hub.url}b/same-name.gguf`, dir, env: {} });
    assert.equal(result.resumedFrom, 0);
    assert.deepEqual(
      hub.rangeRequests().filter((request) => request.path.endsWith('/same-name.gguf')),
      [],
      'no range was asked of the other URL',
    );
    assert.ok((await readFile(join(dir, 'same-name.gguf'))).equals(other), 'the file is the other URL’s, whole');
  });

  test('a server that ignores Range sends the whole file, and the part is started over', async () => {
    hub.serve('owner/repo/resolve/main/norange.gguf', { bytes: MODEL, ignoreRange: true });
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'norange.gguf.part'), Buffer.from('stale bytes of an older download'));
    const result = await pullModelFile({ source: 'hf:owner/repo/norange.gguf', dir, endpoint: hub.url, env: {} });
    assert.equal(result.resumedFrom, 0);
    assert.equal(await sha256Of(join(dir, 'norange.gguf')), MODEL_SHA);
  });

  test('a part file that is already whole (416) is checked and renamed; one longer than the file starts over', async () => {
    hub.serve('owner/repo/resolve/main/whole.gguf', { bytes: MODEL });
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'whole.gguf.part'), MODEL);
    await writeFile(
      join(dir, 'whole.gguf.part.json'),
      JSON.stringify({
        urlSha256: sha256Text(`${hub.url}owner/repo/resolve/main/whole.gguf`),
        validator: etagOf(MODEL),
      }),
    );
    const whole = await pullModelFile({ source: 'hf:owner/repo/whole.gguf', dir, endpoint: hub.url, env: {} });
    assert.equal(whole.resumedFrom, MODEL.length);
    assert.equal(whole.verified, 'sha256');
    assert.equal(await sha256Of(join(dir, 'whole.gguf')), MODEL_SHA);

    hub.serve('owner/repo/resolve/main/long.gguf', { bytes: MODEL });
    await writeFile(join(dir, 'long.gguf.part'), Buffer.concat([MODEL, Buffer.from('trailing junk')]));
    const long = await pullModelFile({ source: 'hf:owner/repo/long.gguf', dir, endpoint: hub.url, env: {} });
    assert.equal(long.resumedFrom, 0);
    assert.equal(await sha256Of(join(dir, 'long.gguf')), MODEL_SHA);
    assert.deepEqual((await readdir(dir)).sort(), ['long.gguf', 'whole.gguf']);
  });

  test('a file that does not match its advertised SHA-256 is refused, deleted, and never lands in the folder', async () => {
    const corrupt = Buffer.from(MODEL);
    corrupt[corrupt.length - 1] = (corrupt.at(-1) ?? 0) ^ 0xff;
    hub.serve('owner/repo/resolve/main/corrupt.gguf', { bytes: corrupt, sha256: MODEL_SHA });
    const error = await refusal(
      pullModelFile({ source: 'hf:owner/repo/corrupt.gguf', dir, endpoint: hub.url, env: {} }),
      'MODEL_CHECKSUM_MISMATCH',
    );
    assert.match(error.message, new RegExp(`announced ${MODEL_SHA}`));
    assert.deepEqual(await readdir(dir), [], 'neither the file nor its part is in the folder');
  });

  test('a file that is no GGUF (a web page from a plain URL) is refused and absent from the folder', async () => {
    hub.serve('downloads/page.gguf', {
      bytes: Buffer.from('<!doctype html><html><body>Sign in to download</body></html>'),
      sha256: null,
      direct: true,
    });
    const error = await refusal(
      pullModelFile({ source: `${hub.url}downloads/page.gguf`, dir, env: {} }),
      'MODEL_NOT_GGUF',
    );
    assert.match(error.message, /is not a GGUF model: it starts with "<!doctype html><" instead of "GGUF"/);
    assert.deepEqual(await readdir(dir), []);
  });

  test('a body that does not start with GGUF is refused as its first bytes arrive, not at its end', async () => {
    const page = Buffer.concat([Buffer.from('<!doctype html><html><body>'), Buffer.alloc(1_000_000, 'x')]);
    // The body stalls after 64 KiB: a pull that waited for its end would never finish.
    hub.serve('downloads/stalling.gguf', { bytes: page, sha256: null, direct: true, stallAt: 65_536 });
    const error = await refusal(
      pullModelFile({ source: `${hub.url}downloads/stalling.gguf`, dir, env: {}, signal: AbortSignal.timeout(30_000) }),
      'MODEL_NOT_GGUF',
    );
    assert.match(error.message, /it starts with "<!doctype html><" instead of "GGUF"/);
    assert.deepEqual(await readdir(dir), [], 'no part, record or lock is left');
  });

  test('an abort keeps the part file, and the next pull resumes it', async () => {
    hub.serve('owner/repo/resolve/main/abort.gguf', { bytes: MODEL, stallAt: HALF });
    const controller = new AbortController();
    const source = 'hf:owner/repo/abort.gguf';
    const error = await refusal(
      pullModelFile({
        source,
        dir,
        endpoint: hub.url,
        env: {},
        signal: controller.signal,
        onProgress: ({ received }) => {
          if (received >= HALF) controller.abort();
        },
      }),
      'MODEL_PULL_CANCELLED',
    );
    assert.match(error.message, /the part file is kept/);
    assert.equal((await stat(join(dir, 'abort.gguf.part'))).size, HALF);
    assert.equal(await exists(join(dir, 'abort.gguf.lock')), false, 'the lock is released');

    hub.serve('owner/repo/resolve/main/abort.gguf', { bytes: MODEL });
    const result = await pullModelFile({ source, dir, endpoint: hub.url, env: {} });
    assert.equal(result.resumedFrom, HALF);
    assert.equal(await sha256Of(join(dir, 'abort.gguf')), MODEL_SHA);
  });

  test('one pull per file: a second pull of the same file while the first runs is refused', async () => {
    hub.serve('owner/repo/resolve/main/busy.gguf', { bytes: MODEL, stallAt: HALF });
    const controller = new AbortController();
    const stalled = hub.stalled.promise;
    const first = pullModelFile({
      source: 'hf:owner/repo/busy.gguf',
      dir,
      endpoint: hub.url,
      env: {},
      signal: controller.signal,
    });
    await stalled;
    await refusal(
      pullModelFile({ source: 'hf:owner/repo/busy.gguf', dir, endpoint: hub.url, env: {} }),
      'MODEL_PULL_IN_PROGRESS',
    );
    controller.abort();
    await refusal(first, 'MODEL_PULL_CANCELLED');
  });

  test('a lock file left by a process that died is taken over', async () => {
    hub.serve('owner/repo/resolve/main/stale.gguf', { bytes: MODEL });
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    assert.ok(dead !== undefined && dead > 0, 'a finished process gives its pid');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'stale.gguf.lock'), `${dead}\n`);
    const result = await pullModelFile({ source: 'hf:owner/repo/stale.gguf', dir, endpoint: hub.url, env: {} });
    assert.equal(result.outcome, 'downloaded');
  });

  test('a lock file naming this very process (a pid reused after a restart) is taken over', async () => {
    hub.serve('owner/repo/resolve/main/reused.gguf', { bytes: MODEL });
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'reused.gguf.lock'), `${process.pid}\n`);
    const result = await pullModelFile({ source: 'hf:owner/repo/reused.gguf', dir, endpoint: hub.url, env: {} });
    assert.equal(result.outcome, 'downloaded');
  });

  test('a lock held by a live process is refused with the hint to delete the lock file', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'held.gguf.lock'), `${process.ppid}\n`);
    const error = await refusal(
      pullModelFile({ source: 'hf:owner/repo/held.gguf', dir, endpoint: hub.url, env: {} }),
      'MODEL_PULL_IN_PROGRESS',
    );
    assert.ok(error.message.includes(`delete ${join(dir, 'held.gguf')}.lock`), `the hint is there: ${error.message}`);
  });

  test('a missing file is a 404 that says what to check', async () => {
    const error = await refusal(
      pullModelFile({ source: 'hf:owner/repo/missing.gguf', dir, endpoint: hub.url, env: {} }),
      'MODEL_DOWNLOAD_FAILED',
    );
    assert.match(error.message, /answered 404: no such file: check the owner, repository, branch and file name/);
    assert.deepEqual(await readdir(dir), []);
  });
});
