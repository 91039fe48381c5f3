/**
 * The store contract suites can fail: each deliberately broken store in
 * test/fixtures/broken-stores/ runs its contract in a child process, which must exit non-zero
 * with exactly the tests that target its bug among the failures, while unrelated tests pass.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

interface BrokenStore {
  readonly fixture: string;
  readonly bug: string;
  /** Tests that must fail because of the bug. */
  readonly failing: readonly string[];
  /** Tests that must still pass: the failures are specific, not a crash. */
  readonly passing: readonly string[];
}

const brokenStores: readonly BrokenStore[] = [
  {
    fixture: 'racy-key-value-store.ts',
    bug: 'increment and setIfAbsent read, yield, then write',
    failing: ['100 concurrent increments count exactly 100', '20 concurrent setIfAbsent calls: exactly one stores'],
    passing: ['increment counts from 0 by 1, or by a given delta, negative included', 'an entry expires after its ttl'],
  },
  {
    fixture: 'ttl-ignoring-key-value-store.ts',
    bug: 'ttlMs is checked but never applied',
    failing: [
      'an entry expires after its ttl',
      'ttl() reports the remaining time, close to the ttl set',
      'set with a ttl replaces an earlier ttl',
      'setIfAbsent treats an expired key as absent and applies its ttl',
      'increment applies ttl only when it creates the key (fixed window)',
      'increment keeps the ttl of an existing key',
    ],
    passing: ['100 concurrent increments count exactly 100', 'a bad ttlMs is refused', 'prefixes compose'],
  },
  {
    fixture: 'iso-date-conversation-store.ts',
    bug: 'timestamps come back as ISO strings (SQLite TEXT columns)',
    failing: [
      'create returns an empty conversation with a UUID and Dates',
      'messages come back equal, frozen, with Date timestamps',
      'setSummary stores the summary with a Date and bumps updatedAt',
      'timestamps are Dates in every result',
    ],
    passing: [
      'another principal can neither see nor change a conversation',
      'list returns the most recently updated first',
      'append is atomic: an invalid message in a batch stores none',
    ],
  },
  {
    fixture: 'piecemeal-append-conversation-store.ts',
    bug: 'append stores a batch one message at a time',
    failing: [
      'append is atomic: an invalid message in a batch stores none',
      'concurrent appends give each batch consecutive sequences, no gaps',
    ],
    passing: ['append numbers messages from 1, contiguously across calls', 'timestamps are Dates in every result'],
  },
  {
    fixture: 'filter-ignoring-search-index.ts',
    bug: 'search and count ignore the metadata filter',
    failing: [
      'equality, any-of and several keys filter keyword and vector search',
      'filter values match by type: numbers, booleans and null',
      'filters apply before topK',
    ],
    passing: [
      'vector: nearest by cosine similarity first, whatever the length',
      'upsert with the same id replaces the document',
    ],
  },
  {
    fixture: 'late-filter-search-index.ts',
    bug: 'the filter is applied after topK',
    failing: ['filters apply before topK'],
    passing: [
      'equality, any-of and several keys filter keyword and vector search',
      'count and deleteWhere honour filters',
    ],
  },
  {
    fixture: 'dot-product-search-index.ts',
    bug: 'vectors are ranked by dot product, not cosine similarity',
    failing: ['vector: nearest by cosine similarity first, whatever the length'],
    passing: ['hybrid: a document found by both rankings comes first', 'topK limits the hits, 5 by default'],
  },
];

describe('the store contracts catch broken stores', () => {
  for (const store of brokenStores) {
    test(`${store.fixture}: ${store.bug}`, () => {
      const { status, failed, passed, output } = runContract(store.fixture);
      assert.notEqual(status, 0, `the contract run should fail:\n${output}`);
      for (const name of store.failing)
        assert.ok(failed.has(name), `"${name}" should fail; failed: ${[...failed].join(' | ')}`);
      for (const name of store.passing)
        assert.ok(passed.has(name), `"${name}" should pass; it is not among the passed`);
    });
  }
});

/** Runs a fixture under `node --test` with the TAP reporter and reads which tests passed and failed. */
function runContract(fixture: string): {
  status: number | null;
  failed: Set<string>;
  passed: Set<string>;
  output: string;
} {
  const file = fileURLToPath(new URL(`../../fixtures/broken-stores/${fixture}`, import.meta.url));
  // Without this, a child of a `node --test` run reports in the parent's internal format, not TAP.
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', file], {
    encoding: 'utf8',
    env,
    timeout: 60_000,
  });
  const output = `${result.stdout}${result.stderr}`;
  const failed = new Set<string>();
  const passed = new Set<string>();
  for (const line of result.stdout.split('\n')) {
    const match = /^\s*(not ok|ok) \d+ - (.*?)(?: # .*)?$/.exec(line);
    if (match) (match[1] === 'ok' ? passed : failed).add(match[2]!.replaceAll('\\#', '#'));
  }
  return { status: result.status, failed, passed, output };
}
