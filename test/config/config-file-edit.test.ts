// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` in plain strings is the configuration syntax under test
/**
 * Editing one plugin's `config:` mapping in a configuration file's text (the admin API's config
 * editor): only that mapping's text changes — comments, blank lines, quoting and layout
 * elsewhere stay byte for byte; unchanged keys keep their `${VAR}` references and comments;
 * entries without a mapping get one; files the editor cannot edit safely are refused with a
 * reason. Plus the merge of a submitted config with what it was shown (references and redacted
 * secrets survive a round trip) and the atomic write.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseDocument } from 'yaml';
import { locatePluginEntry, setPluginConfig } from '../../src/config/config-file-edit.ts';
import { fileWriteProblem, writeFileAtomically } from '../../src/config/config-file-write.ts';
import { substituteEnv } from '../../src/config/env-substitution.ts';
import { parseConfig } from '../../src/config/load-config.ts';
import { redactSecrets } from '../../src/config/redact.ts';
import { mergeSubmitted, sameAsShown } from '../../src/config/submitted-config.ts';

const FILE = `# Plugboard, as this team runs it.
mode: development

plugin_manager:
  plugin_directories: [., ../examples/plugins]   # flow list, no inner spaces

backends:
  ollama: # the built-in backend
    timeout: 120 # seconds
    config:
      # where Ollama listens
      host: "\${OLLAMA_HOST:http://127.0.0.1:11434}" # from the environment
      keep_alive: 5m

      # the rest are defaults
      options: { num_ctx: 4096 }
    # end of ollama

message_processors:
  content_filter:
    config:
      default_region: "\${PLUGBOARD_PHONE_REGION:US}" # how phone numbers are read
      categories:
        email: { action: redact }   # e-mail addresses
        ip:
          action: flag

features:
  memory: {} # conversations
  rag:
    enabled: false

middleware:
  token_counter: {}
`;

/** The text with `from` replaced by `to`, once (so that a test states the exact expected edit). */
function replaced(text: string, from: string, to: string): string {
  assert.equal(text.split(from).length, 2, `"${from}" occurs once in the text`);
  return text.replace(from, to);
}

function edit(text: string, name: string, config: Record<string, unknown>): string {
  const result = setPluginConfig(text, name, config);
  assert.ok(result.ok, `the edit of ${name} is accepted: ${result.ok ? '' : result.reason}`);
  return result.text;
}

describe('setPluginConfig', () => {
  test('one changed value: only its text changes, its trailing comment and every other comment stay', () => {
    const next = edit(FILE, 'content_filter', {
      default_region: 'DE',
      categories: { email: { action: 'redact' }, ip: { action: 'flag' } },
    });
    assert.equal(
      next,
      replaced(
        FILE,
        'default_region: "${PLUGBOARD_PHONE_REGION:US}" # how phone numbers are read',
        'default_region: "DE" # how phone numbers are read',
      ),
    );
  });

  test('a nested change and an added key; untouched keys keep their `${VAR}` and comments', () => {
    const next = edit(FILE, 'ollama', {
      host: '${OLLAMA_HOST:http://127.0.0.1:11434}',
      keep_alive: '10m',
      options: { num_ctx: 8192 },
      think: true,
    });
    const expected = replaced(
      replaced(FILE, 'keep_alive: 5m', 'keep_alive: 10m'),
      'options: { num_ctx: 4096 }\n',
      'options: { num_ctx: 8192 }\n      think: true\n',
    );
    assert.equal(next, expected);
    assert.match(next, /# where Ollama listens\n {6}host: "\$\{OLLAMA_HOST/, 'the comment before the first key stays');
    assert.match(next, / {4}# end of ollama\n/, 'the comment after the mapping stays');
  });

  test('a removed key disappears with its line; the rest of the mapping is as written', () => {
    const next = edit(FILE, 'ollama', {
      host: '${OLLAMA_HOST:http://127.0.0.1:11434}',
      options: { num_ctx: 4096 },
    });
    assert.equal(next, replaced(FILE, '      keep_alive: 5m\n', ''));
  });

  test('a value changing shape: its comment stays on the key’s line, a flow list stays flow', () => {
    const rag =
      'features:\n  rag:\n    config:\n      top_k: 4 # passages\n      collections: [docs, faq]\n    enabled: true\n';
    assert.equal(
      edit(rag, 'rag', { top_k: { min: 2, max: 6 }, collections: ['docs'] }),
      'features:\n  rag:\n    config:\n      top_k: # passages\n        min: 2\n        max: 6\n      collections: [docs]\n    enabled: true\n',
    );
  });

  test('`memory: {}` and an entry without config get a block mapping at the file’s indentation', () => {
    const withMemory = edit(FILE, 'memory', { max_messages: 40 });
    assert.equal(
      withMemory,
      replaced(
        FILE,
        '  memory: {} # conversations\n',
        '  memory: # conversations\n    config:\n      max_messages: 40\n',
      ),
    );
    const withRag = edit(FILE, 'rag', { top_k: 3, collections: ['docs', 'faq'] });
    assert.equal(
      withRag,
      replaced(
        FILE,
        '  rag:\n    enabled: false\n',
        '  rag:\n    enabled: false\n    config:\n      top_k: 3\n      collections:\n        - docs\n        - faq\n',
      ),
    );
  });

  test('a config emptied is written `config: {}`; one already equal is no change at all', () => {
    const emptied = edit(FILE, 'content_filter', {});
    assert.match(emptied, /\n {2}content_filter:\n {4}config: \{\}\n\nfeatures:/);
    const same = setPluginConfig(FILE, 'token_counter', {});
    assert.ok(
      same.ok && !same.changed && same.text === FILE,
      'an empty config for `token_counter: {}` changes nothing',
    );
  });

  test('the edited file loads with the new config, and nothing else of it changed', () => {
    const next = edit(FILE, 'content_filter', { default_region: 'FR', categories: { ip: { action: 'off' } } });
    const env = { OLLAMA_HOST: 'http://10.0.0.2:11434' };
    const before = parseConfig(FILE, '/srv/config.yaml', { env }).config;
    const after = parseConfig(next, '/srv/config.yaml', { env }).config;
    const filter = after.plugins.find((entry) => entry.name === 'content_filter');
    assert.deepEqual(filter?.config, { default_region: 'FR', categories: { ip: { action: 'off' } } });
    assert.deepEqual(
      after.plugins.filter((entry) => entry.name !== 'content_filter'),
      before.plugins.filter((entry) => entry.name !== 'content_filter'),
    );
  });

  test('a four-space file gets four-space additions; CRLF line endings stay CRLF', () => {
    const four = 'backends:\n    echo:\n        enabled: true\n';
    assert.equal(
      edit(four, 'echo', { a: { b: 1 } }),
      'backends:\n    echo:\n        enabled: true\n        config:\n            a:\n                b: 1\n',
    );
    const crlf = 'backends:\r\n  echo:\r\n    config:\r\n      a: 1\r\n      b: 2\r\n';
    assert.equal(
      edit(crlf, 'echo', { a: 1, b: 3 }),
      'backends:\r\n  echo:\r\n    config:\r\n      a: 1\r\n      b: 3\r\n',
    );
  });

  test('refused with a reason: no entry, YAML errors, anchors and aliases, a flow-style section', () => {
    const refusal = (text: string, name: string) => {
      const result = setPluginConfig(text, name, { a: 1 });
      assert.ok(!result.ok, `the edit of ${name} is refused`);
      return result;
    };
    assert.deepEqual(refusal(FILE, 'nope'), {
      ok: false,
      kind: 'not-found',
      reason: 'no entry in the file names "nope"',
    });
    assert.match(refusal('backends:\n  echo: [\n', 'echo').reason, /YAML syntax errors \(line \d+\)/);
    const anchored = 'backends:\n  a:\n    config: &shared\n      k: 1\n  b:\n    config: *shared\n';
    assert.match(refusal(anchored, 'a').reason, /anchors, aliases or merge keys/);
    assert.match(refusal(anchored, 'b').reason, /anchors, aliases or merge keys/);
    assert.match(refusal('backends: { echo: { enabled: true } }\n', 'echo').reason, /flow style/);
  });
});

describe('locatePluginEntry', () => {
  test('finds the section and the config as written, references unresolved', () => {
    assert.deepEqual(locatePluginEntry(FILE, 'content_filter'), {
      ok: true,
      section: 'message_processors',
      config: {
        default_region: '${PLUGBOARD_PHONE_REGION:US}',
        categories: { email: { action: 'redact' }, ip: { action: 'flag' } },
      },
    });
    assert.deepEqual(locatePluginEntry(FILE, 'memory'), { ok: true, section: 'features', config: {} });
  });
});

describe('mergeSubmitted', () => {
  const file = {
    api_key: '${OPENAI_API_KEY}',
    base_url: 'http://bob:hunter22@10.0.0.5/v1',
    port: '${PORT:8080}',
    model: 'gpt-4o',
  };
  const resolved = {
    api_key: 'sk-live-1234',
    base_url: 'http://bob:hunter22@10.0.0.5/v1',
    port: '8080',
    model: 'gpt-4o',
  };
  const shown = redactSecrets(resolved) as Record<string, unknown>;

  test('values sent back as shown keep the file’s text; changed ones are taken', () => {
    assert.deepEqual(shown, {
      api_key: '[redacted]',
      base_url: 'http://bob:***@10.0.0.5/v1',
      port: '8080',
      model: 'gpt-4o',
    });
    const submitted = { ...shown, port: 8080, model: 'gpt-5' };
    const forFile = mergeSubmitted(submitted, shown, file);
    assert.deepEqual(forFile, {
      value: { api_key: '${OPENAI_API_KEY}', base_url: file.base_url, port: '${PORT:8080}', model: 'gpt-5' },
      placeholders: [],
      movedSecrets: [],
    });
    assert.deepEqual(mergeSubmitted(submitted, shown, resolved).value, { ...resolved, model: 'gpt-5' });
  });

  test('a changed value that still holds a placeholder is reported; a left-out key is removed', () => {
    const merged = mergeSubmitted(
      { base_url: 'http://bob:***@10.0.0.6/v1', nested: { token: '[redacted]' } },
      shown,
      file,
    );
    assert.deepEqual(merged.placeholders, [['base_url'], ['nested', 'token']]);
    assert.equal('api_key' in merged.value, false, 'api_key was left out');
  });

  test('a secret kept while an address in its mapping changed is reported; typed again, it is not', () => {
    const moved = mergeSubmitted({ ...shown, base_url: 'https://attacker.example' }, shown, file);
    assert.deepEqual(moved.movedSecrets, [['api_key']]);
    const byValue = mergeSubmitted(
      { key: '[redacted]', target: 'https://attacker.example/v1' },
      { key: '[redacted]', target: 'https://api.example.com/v1' },
      { key: '${KEY}', target: 'https://api.example.com/v1' },
    );
    assert.deepEqual(byValue.movedSecrets, [['key']], 'a value that is a URL counts as an address');
    const typed = mergeSubmitted({ ...shown, base_url: 'https://other.example', api_key: 'sk-new-0000' }, shown, file);
    assert.deepEqual(typed.movedSecrets, []);
    assert.deepEqual(mergeSubmitted({ ...shown, model: 'gpt-5' }, shown, file).movedSecrets, [], 'no address changed');
  });

  test('with escapeReferences, changed strings are written so the loader reads them literally', () => {
    const submitted = {
      ...shown,
      model: '${OTHER_SECRET}',
      prompt: 'Hello ${user}, $${x}, ${ok:1} and ${not a ref}',
      list: ['${A}'],
    };
    const merged = mergeSubmitted(submitted, shown, file, { escapeReferences: true });
    assert.equal(merged.value.api_key, '${OPENAI_API_KEY}', 'an unchanged reference stays a reference');
    assert.equal(merged.value.model, '$${OTHER_SECRET}');
    assert.deepEqual(merged.value.list, ['$${A}']);
    const loaded = substituteEnv(merged.value, { OTHER_SECRET: 'leaked', user: 'u', A: 'a', OPENAI_API_KEY: 'k' });
    assert.deepEqual(loaded.missing, []);
    const value = loaded.value as Record<string, unknown>;
    assert.equal(value.model, '${OTHER_SECRET}', 'read back as typed, not from the environment');
    assert.equal(value.prompt, submitted.prompt, 'text with references and escapes reads back as typed');
    assert.deepEqual(value.list, ['${A}']);
    assert.equal(value.api_key, 'k');
  });

  test('scalars compare as text, containers element by element', () => {
    assert.ok(sameAsShown(8080, '8080'), '8080 is the "8080" shown');
    assert.ok(sameAsShown(true, 'true'), 'true is the "true" shown');
    assert.ok(!sameAsShown(8081, '8080'), '8081 is not');
    assert.ok(!sameAsShown(1, true), 'no text on either side: not equal');
    assert.ok(sameAsShown([1, { a: '2' }], ['1', { a: 2 }]), 'lists and objects compare inside');
    assert.ok(!sameAsShown({ a: 1 }, { a: 1, b: 2 }), 'a missing key is a difference');
  });
});

describe('writing the file', () => {
  test('writeFileAtomically replaces the content, keeps the mode and leaves no temporary file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plugboard-edit-'));
    try {
      const file = join(dir, 'config.yaml');
      await writeFile(file, FILE);
      await chmod(file, 0o640);
      const next = edit(FILE, 'memory', { max_messages: 3 });
      await writeFileAtomically(file, next);
      assert.equal(await readFile(file, 'utf8'), next);
      assert.equal((await stat(file)).mode & 0o777, 0o640);
      assert.deepEqual(await readdir(dir), ['config.yaml']);
      assert.equal(parseDocument(next).errors.length, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('fileWriteProblem: a writable file has none; a file without write permission is read-only, even for root', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plugboard-edit-'));
    try {
      const file = join(dir, 'config.yaml');
      await writeFile(file, FILE);
      assert.equal(await fileWriteProblem(file), undefined);
      await chmod(file, 0o444);
      assert.equal(await fileWriteProblem(file), `${file} is read-only (mode 444)`);
      assert.equal(await fileWriteProblem(join(dir, 'gone.yaml')), `${join(dir, 'gone.yaml')} does not exist`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
