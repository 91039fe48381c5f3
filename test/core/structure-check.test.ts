/**
 * Structural checks (FR-2.3): the run-time stand-in for the spec's protocols. A value that is
 * not a plugin is rejected with PLUGIN_INVALID_STRUCTURE, naming the file, every offending
 * member and what was found there, with a "did you mean" hint for likely typos.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  checkPluginStructure,
  createSilentLogger,
  isPlugboardError,
  type PlugboardError,
  PluginManager,
} from '../../src/index.ts';

const BROKEN = fileURLToPath(new URL('../fixtures/plugins/broken/', import.meta.url));

const noop = (value: unknown) => value;

/** Runs the check and returns the PlugboardError it throws (fails the test if it does not throw). */
function structureError(value: unknown, source?: string): PlugboardError {
  try {
    checkPluginStructure(value, source);
  } catch (error) {
    assert.ok(isPlugboardError(error, 'PLUGIN_INVALID_STRUCTURE'), `expected PLUGIN_INVALID_STRUCTURE, got ${error}`);
    return error;
  }
  assert.fail('checkPluginStructure accepted an invalid plugin');
}

function problemsOf(error: PlugboardError): string[] {
  const problems = error.details?.problems;
  assert.ok(Array.isArray(problems), 'details.problems must list the problems');
  return problems as string[];
}

const meta = { name: 'sample', version: '1.0.0' } as const;

describe('checkPluginStructure: valid plugins and what it derives', () => {
  test('derives the kinds from the methods present', () => {
    const shape = checkPluginStructure({
      metadata: meta,
      processMessage: noop,
      chat: noop,
      listModels: () => [],
      extend: noop,
      processRequest: noop,
    });
    assert.deepEqual(
      [...shape.kinds].sort(),
      ['backend-provider', 'feature-extension', 'message-processor', 'middleware'].sort(),
    );
    assert.deepEqual(shape.hookMethods, []);
  });

  test('each kind alone is recognised', () => {
    const cases = [
      [{ processMessage: noop }, 'message-processor'],
      [{ chat: noop, listModels: noop }, 'backend-provider'],
      [{ extend: noop }, 'feature-extension'],
      [{ processRequest: noop }, 'middleware'],
      [{ processResponse: noop }, 'middleware'],
    ] as const;
    for (const [members, kind] of cases) {
      const shape = checkPluginStructure({ metadata: meta, ...members });
      assert.deepEqual([...shape.kinds], [kind], `members ${Object.keys(members).join(', ')}`);
    }
  });

  test('a hook-only plugin is valid and its on<Hook> methods are found', () => {
    const shape = checkPluginStructure({ metadata: meta, onRequestEnd: noop, onStartup: noop });
    assert.equal(shape.kinds.size, 0);
    assert.deepEqual([...shape.hookMethods].sort(), ['requestEnd', 'startup']);
  });

  test('methods on a class prototype count, including hook methods', () => {
    class Base {
      readonly metadata = meta;
      processMessage(message: unknown) {
        return message;
      }
    }
    class WithHook extends Base {
      onMessageSent() {}
    }
    const shape = checkPluginStructure(new WithHook());
    assert.deepEqual([...shape.kinds], ['message-processor']);
    assert.deepEqual(shape.hookMethods, ['messageSent']);
  });

  test('accepts full metadata: description, kinds, dependencies, priority, policy, timeout, a zod schema', () => {
    const plugin = {
      metadata: {
        ...meta,
        description: 'all fields',
        kinds: ['message-processor'],
        dependencies: { other: '^1.2.0', third: '>=2 <4' },
        priority: 'HIGH',
        failurePolicy: 'closed',
        timeoutMs: 250,
        configSchema: z.object({ limit: z.number().default(3) }),
      },
      processMessage: noop,
      direction: 'input',
    };
    const shape = checkPluginStructure(plugin);
    assert.equal(shape.plugin, plugin, 'returns the same object, not a copy');
  });
});

describe('checkPluginStructure: values that are not plugins', () => {
  for (const [label, value, found] of [
    ['null', null, 'null'],
    ['undefined', undefined, 'nothing'],
    ['a number', 42, 'number 42'],
    ['a string', 'plugin', 'string "plugin"'],
  ] as const) {
    test(`${label} is rejected, saying what was found`, () => {
      const error = structureError(value, '/plugins/x.plugin.ts');
      assert.match(error.message, /^\/plugins\/x\.plugin\.ts: expected a plugin object/);
      assert.ok(error.message.includes(`found ${found}`), error.message);
      assert.equal(error.details?.file, '/plugins/x.plugin.ts');
    });
  }

  test('an object without metadata is rejected and the missing metadata named', () => {
    const error = structureError({ processMessage: noop });
    assert.match(error.message, /metadata: missing/);
    assert.equal(error.plugin, undefined);
  });

  test('an object with metadata but no kind or hook says what to add', () => {
    const error = structureError({ metadata: meta, helper: noop });
    assert.match(
      error.message,
      /implements no kind, no hook, no endpoint, provides no service and registers into none: add processMessage, chat \+ listModels/,
    );
  });

  test('endpoints are checked: method, a path under /v1/ with valid segments, a handler, no duplicates', () => {
    const handle = () => ({ body: {} });
    const error = structureError({
      metadata: meta,
      endpoints: [
        { method: 'GET', path: '/v1/notes/:id', handle },
        { method: 'GET', path: '/v1/notes/:other', handle },
        { method: 'FETCH', path: '/notes', handle },
        { method: 'POST', path: '/v1/notes/../etc', handle },
        { method: 'POST', path: '/v1/notes/:id/:id', handle },
        { method: 'DELETE', path: '/v1/notes/:id' },
      ],
    });
    assert.match(error.message, /another endpoint of this plugin already answers GET \/v1\/notes\/:/);
    assert.match(error.message, /endpoints\[2\]\.method: must be one of GET, POST, PUT, PATCH, DELETE/);
    assert.match(error.message, /endpoints\[2\]\.path: must start with \/v1\//);
    assert.match(error.message, /endpoints\[3\]\.path/);
    assert.match(error.message, /endpoints\[4\]\.path: a parameter name appears twice/);
    assert.match(error.message, /endpoints\[5\]\.handle: must be a function/);
  });

  test('a plugin with only endpoints, or one that registers into a consumed service at initialize, is valid', () => {
    const handle = () => ({ body: {} });
    assert.doesNotThrow(() =>
      checkPluginStructure({ metadata: meta, endpoints: [{ method: 'GET', path: '/v1/notes', handle }] }),
    );
    const ref = { id: 'test.registry', members: [], description: undefined, defaultFactory: undefined };
    assert.doesNotThrow(() => checkPluginStructure({ metadata: { ...meta, consumes: [ref] }, initialize: noop }));
    assert.throws(() => checkPluginStructure({ metadata: { ...meta, consumes: [ref] } }), /registers into none/);
  });
});

describe('checkPluginStructure: missing and wrongly typed members', () => {
  test('names the missing required member and the kind that needs it', () => {
    const error = structureError({ metadata: meta, chat: noop }, '/plugins/half.plugin.ts');
    assert.deepEqual(problemsOf(error), ['listModels: missing (required by backend-provider, which chat implies)']);
    assert.match(error.message, /^\/plugins\/half\.plugin\.ts: plugin "sample" is not valid: listModels: missing/);
    assert.equal(error.plugin, 'sample');
    assert.equal(error.details?.file, '/plugins/half.plugin.ts');
  });

  test('an optional member alone still implies its kind (embed → backend needs chat and listModels)', () => {
    const problems = problemsOf(structureError({ metadata: meta, embed: noop }));
    assert.ok(
      problems.some((p) => p.startsWith('chat: missing (required by backend-provider')),
      problems.join('\n'),
    );
    assert.ok(problems.some((p) => p.startsWith('listModels: missing (required by backend-provider')));
  });

  test('names a member of the wrong type and what it found', () => {
    const problems = problemsOf(structureError({ metadata: meta, processMessage: 'uppercase' }));
    assert.deepEqual(problems, ['processMessage: must be a function, found string "uppercase"']);
  });

  test('lifecycle methods must be functions when present', () => {
    const problems = problemsOf(
      structureError({ metadata: meta, processMessage: noop, initialize: true, shutdown: {}, healthCheck: [1] }),
    );
    assert.deepEqual(problems, [
      'initialize: must be a function, found boolean true',
      'shutdown: must be a function, found an object',
      'healthCheck: must be a function, found an array',
    ]);
  });

  test('a hook method that is not a function is reported', () => {
    const problems = problemsOf(structureError({ metadata: meta, processMessage: noop, onRequestEnd: 'log' }));
    assert.deepEqual(problems, ['onRequestEnd: must be a function, found string "log"']);
  });

  test('every problem is reported at once, not just the first', () => {
    const problems = problemsOf(
      structureError({ metadata: { name: 'X', version: 'one' }, chat: noop, processMessage: 3, direction: 'up' }),
    );
    assert.equal(problems.length, 5, problems.join('\n'));
    for (const member of ['metadata.name', 'metadata.version', 'listModels', 'processMessage', 'direction']) {
      assert.ok(
        problems.some((problem) => problem.startsWith(`${member}:`)),
        `no problem reported for ${member}: ${problems.join('; ')}`,
      );
    }
  });

  test('direction and streaming options are checked', () => {
    assert.deepEqual(problemsOf(structureError({ metadata: meta, processMessage: noop, direction: 'sideways' })), [
      'direction: expected "input", "output" or "both", found string "sideways"',
    ]);
    assert.deepEqual(
      problemsOf(structureError({ metadata: meta, processMessage: noop, streaming: { window: -1, transform: 1 } })),
      [
        'streaming.window: expected a whole number of characters ≥ 0, found number -1',
        'streaming.transform: must be a function, found number 1',
      ],
    );
    assert.ok(
      problemsOf(structureError({ metadata: meta, extend: noop, streaming: { window: 0, transform: noop } })).includes(
        'streaming: only message processors (with processMessage) can stream',
      ),
    );
  });
});

describe('checkPluginStructure: typos get a suggestion', () => {
  test('a misspelt hook method suggests the right one', () => {
    const error = structureError({ metadata: meta, processMessage: noop, onMesageReceived: noop });
    assert.deepEqual(problemsOf(error), ['onMesageReceived: not a hook (did you mean "onMessageReceived"?)']);
    assert.match(error.message, /did you mean "onMessageReceived"/);
  });

  test('misspelt hooks on a class prototype are caught too', () => {
    class Plugin {
      readonly metadata = meta;
      processMessage(message: unknown) {
        return message;
      }
      onRequestStrat() {}
    }
    assert.match(
      structureError(new Plugin()).message,
      /onRequestStrat: not a hook \(did you mean "onRequestStart"\?\)/,
    );
  });

  test('a misspelt plugin method is refused with the right name, not silently ignored', () => {
    // Before, this middleware loaded and its response side never ran.
    const middleware = problemsOf(structureError({ metadata: meta, processRequest: noop, procesResponse: noop }));
    assert.deepEqual(middleware, ['procesResponse: not a plugin member (did you mean "processResponse"?)']);
    class Backend {
      readonly metadata = meta;
      chat() {}
      listModels() {}
      helthCheck() {}
    }
    assert.deepEqual(problemsOf(structureError(new Backend())), [
      'helthCheck: not a plugin member (did you mean "healthCheck"?)',
    ]);
  });

  test('helpers that only look like plugin members load: short names, and names the plugin also has right', () => {
    for (const plugin of [
      { metadata: meta, processMessage: noop, processMessages: noop },
      { metadata: meta, chat: noop, listModels: noop, chats: noop, embeds: noop },
      { metadata: meta, extend: noop, format: noop, config: {}, state: 1 },
    ]) {
      assert.doesNotThrow(() => checkPluginStructure(plugin));
    }
  });

  test('an on<Something> method far from every hook is rejected without a wrong suggestion', () => {
    const problems = problemsOf(structureError({ metadata: meta, processMessage: noop, onSomethingElse: noop }));
    assert.deepEqual(problems, ['onSomethingElse: not a hook']);
  });

  test('a misspelt metadata key, kind or priority suggests the right one', () => {
    const problems = problemsOf(
      structureError({
        metadata: { ...meta, dependancies: {}, kinds: ['midleware'], priority: 'NORMA' },
        processMessage: noop,
      }),
    );
    assert.ok(problems.includes('metadata.dependancies: unknown key (did you mean "dependencies"?)'), problems.join());
    assert.ok(problems.includes('metadata.kinds: unknown kind "midleware" (did you mean "middleware"?)'));
    assert.ok(
      problems.some(
        (p) => p.startsWith('metadata.priority:') && p.endsWith('found string "NORMA" (did you mean "NORMAL"?)'),
      ),
      problems.join('\n'),
    );
  });
});

describe('checkPluginStructure: metadata rules', () => {
  const invalidMetadata: readonly [string, Record<string, unknown>, RegExp][] = [
    ['an upper-case name', { name: 'Content Filter' }, /metadata\.name: .*found string "Content Filter"/],
    ['a name starting with a digit', { name: '1filter' }, /metadata\.name: expected lower-case letters/],
    ['an empty name', { name: '' }, /metadata\.name: .*found string ""/],
    ['a non-string name', { name: 7 }, /metadata\.name: .*found number 7/],
    ['a missing version', { version: undefined }, /metadata\.version: expected a semantic version .*found nothing/],
    ['a non-semver version', { version: '1.0' }, /metadata\.version: .*found string "1\.0"/],
    ['a "v"-less garbage version', { version: 'latest' }, /metadata\.version: .*found string "latest"/],
    [
      'a dependency range that is not semver',
      { dependencies: { store: 'newest' } },
      /metadata\.dependencies\.store: expected a semver range like "\^1\.0\.0", found string "newest"/,
    ],
    [
      'a dependency range that is not a string',
      { dependencies: { store: 2 } },
      /metadata\.dependencies\.store: .*found number 2/,
    ],
    [
      'dependencies as an array',
      { dependencies: ['store'] },
      /metadata\.dependencies: expected \{ name: "semver range" \}/,
    ],
    [
      'an unknown priority',
      { priority: 'URGENT' },
      /metadata\.priority: expected one of CRITICAL, HIGH, NORMAL, LOW, MONITORING/,
    ],
    [
      'a lower-case priority',
      { priority: 'high' },
      /metadata\.priority: .*found string "high" \(did you mean "HIGH"\?\)/,
    ],
    ['an unknown failure policy', { failurePolicy: 'ignore' }, /metadata\.failurePolicy: expected "open" or "closed"/],
    ['a zero timeout', { timeoutMs: 0 }, /metadata\.timeoutMs: expected a positive number/],
    ['a timeout given as text', { timeoutMs: '30s' }, /metadata\.timeoutMs: .*found string "30s"/],
    ['a description that is not text', { description: 5 }, /metadata\.description: expected a string/],
    ['kinds that is not an array', { kinds: 'middleware' }, /metadata\.kinds: expected an array of kinds/],
    [
      'a config schema that is not a Standard Schema',
      { configSchema: { parse: noop } },
      /metadata\.configSchema: expected a Standard Schema/,
    ],
  ];
  for (const [label, override, expected] of invalidMetadata) {
    test(`rejects ${label}`, () => {
      const error = structureError({ metadata: { ...meta, ...override }, processMessage: noop });
      assert.equal(problemsOf(error).length, 1, problemsOf(error).join('\n'));
      assert.match(error.message, expected);
    });
  }

  test('accepts every well-formed dependency range', () => {
    for (const range of ['^1.0.0', '~2.3', '>=1.0.0 <3.0.0', '1.x', '*', '1.2.3 || 2.x']) {
      assert.doesNotThrow(
        () => checkPluginStructure({ metadata: { ...meta, dependencies: { other: range } }, processMessage: noop }),
        `range ${range}`,
      );
    }
  });

  test('accepts every priority and prerelease versions', () => {
    for (const priority of ['CRITICAL', 'HIGH', 'NORMAL', 'LOW', 'MONITORING']) {
      assert.doesNotThrow(() =>
        checkPluginStructure({ metadata: { ...meta, version: '2.0.0-beta.3', priority }, processMessage: noop }),
      );
    }
  });

  test('a declared kind must match the methods present', () => {
    const problems = problemsOf(
      structureError({ metadata: { ...meta, kinds: ['backend-provider'] }, processMessage: noop }),
    );
    assert.deepEqual(problems, ['metadata.kinds: declares backend-provider but has none of chat, listModels, embed']);
  });
});

describe('structure problems through the manager', () => {
  test('register() refuses an invalid plugin and nothing is registered', async () => {
    const manager = new PluginManager({ logger: createSilentLogger() });
    await assert.rejects(
      manager.register({ metadata: meta, chat: noop }),
      (error: unknown) =>
        isPlugboardError(error, 'PLUGIN_INVALID_STRUCTURE') && /listModels: missing/.test(error.message),
    );
    assert.deepEqual(Object.keys(manager.getPluginStatus().plugins), []);
  });

  test('loadPlugin() names the file and the problem, for each broken fixture', async () => {
    const manager = new PluginManager({ logger: createSilentLogger() });
    const cases: readonly [string, RegExp][] = [
      [
        'missing-method.plugin.ts',
        /plugin "half-backend" is not valid: listModels: missing \(required by backend-provider/,
      ],
      ['wrong-type.plugin.ts', /processMessage: must be a function, found string "uppercase"/],
      ['misspelt-hook.plugin.ts', /onMesageReceived: not a hook \(did you mean "onMessageReceived"\?\)/],
      [
        'bad-metadata.plugin.ts',
        /metadata\.name: .*metadata\.version: .*metadata\.dependencies\.greeter: .*metadata\.priority: /,
      ],
    ];
    for (const [file, expected] of cases) {
      const path = `${BROKEN}${file}`;
      await assert.rejects(manager.loadPlugin(path), (error: unknown) => {
        assert.ok(isPlugboardError(error, 'PLUGIN_INVALID_STRUCTURE'), `${file}: ${error}`);
        assert.ok(
          error.message.startsWith(`${path}: `),
          `${file}: the message must start with the path: ${error.message}`,
        );
        assert.match(error.message, expected);
        assert.equal(error.details?.file, path);
        return true;
      });
    }
    assert.deepEqual(Object.keys(manager.getPluginStatus().plugins), []);
  });
});
