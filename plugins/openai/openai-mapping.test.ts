/**
 * The openai backend's pure mappings: config resolution, messages, request options and the
 * assembly of streamed tool-call deltas, including the shapes servers other than OpenAI send.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { createChatContext, createMessage } from '../../src/index.ts';
import { OPENAI_DEFAULT_BASE_URL, openAiConfigSchema, resolveSettings } from './config.ts';
import { imageUrl, toOpenAiMessages } from './messages.ts';
import { toFinishReason } from './reply.ts';
import { toChatRequest } from './request.ts';
import { ToolCallAssembler } from './tool-call-assembler.ts';

const settingsOf = (config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) =>
  resolveSettings(openAiConfigSchema.parse(config), env);

describe('config', () => {
  test('defaults: OpenAI itself, key from OPENAI_API_KEY, max_completion_tokens, no retries', () => {
    const settings = settingsOf({}, { OPENAI_API_KEY: 'sk-env' });
    assert.equal(settings.baseUrl, OPENAI_DEFAULT_BASE_URL);
    assert.equal(settings.apiKey, 'sk-env');
    assert.equal(settings.maxTokensField, 'max_completion_tokens');
    assert.equal(settings.maxRetries, 0);
    assert.equal(settings.streamUsage, true);
    assert.equal(settings.listModels, true);
    assert.equal(settings.passExtra, true);
  });

  test('OPENAI_BASE_URL is the default base_url, and its key goes with it', () => {
    const settings = settingsOf({}, { OPENAI_BASE_URL: 'http://gpu:8000/v1/', OPENAI_API_KEY: 'k' });
    assert.equal(settings.baseUrl, 'http://gpu:8000/v1');
    assert.equal(settings.apiKey, 'k');
    assert.equal(settings.maxTokensField, 'max_tokens');
  });

  test('a base_url written in the config gets no key from the environment', () => {
    const settings = settingsOf({ base_url: 'http://127.0.0.1:1234/v1' }, { OPENAI_API_KEY: 'sk-env' });
    assert.equal(settings.apiKey, '');
    assert.equal(settings.maxTokensField, 'max_tokens');
  });

  test('values from environment references arrive as text and are accepted; empty means unset', () => {
    const settings = settingsOf({
      base_url: '',
      organization: '',
      health_timeout_ms: '2500',
      max_retries: '2',
      stream_usage: 'false',
      list_models: 'false',
    });
    assert.equal(settings.baseUrl, OPENAI_DEFAULT_BASE_URL);
    assert.equal(settings.organization, undefined);
    assert.equal(settings.healthTimeoutMs, 2500);
    assert.equal(settings.maxRetries, 2);
    assert.equal(settings.streamUsage, false);
    assert.equal(settings.listModels, false);
  });

  test('every example in README.md is a valid config for the plugin', () => {
    const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
    const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1]!);
    assert.ok(blocks.length >= 8, `found ${blocks.length} examples`);
    for (const block of blocks) {
      // A reference reads as its default, or as a placeholder value.
      const text = block.replace(/\$\{(\w+)(?::([^}]*))?\}/g, (_all, _name, fallback?: string) => fallback ?? 'value');
      const backends = (parse(text) as { backends: Record<string, { config?: unknown }> }).backends;
      for (const [name, entry] of Object.entries(backends)) {
        const parsed = openAiConfigSchema.safeParse(entry.config ?? {});
        assert.ok(parsed.success, `${name}: ${parsed.error?.message}\n${block}`);
      }
    }
  });

  test('unknown keys and bad values are refused', () => {
    assert.equal(openAiConfigSchema.safeParse({ apikey: 'x' }).success, false);
    assert.equal(openAiConfigSchema.safeParse({ base_url: 'ftp://x' }).success, false);
    assert.equal(openAiConfigSchema.safeParse({ max_retries: 'two' }).success, false);
    assert.equal(openAiConfigSchema.safeParse({ max_tokens_field: 'tokens' }).success, false);
  });
});

describe('messages', () => {
  test('tool results without ids (Ollama clients) answer the open call of their tool, in order', () => {
    const messages = toOpenAiMessages([
      createMessage({ role: 'user', content: 'go' }),
      createMessage({
        role: 'assistant',
        content: '',
        toolCalls: [
          { id: '', name: 'a', arguments: '{}' },
          { id: '', name: 'b', arguments: '{}' },
        ],
      }),
      createMessage({ role: 'tool', content: 'B', name: 'b' }),
      createMessage({ role: 'tool', content: 'A' }),
    ]);
    const assistant = messages[1] as { content: unknown; tool_calls: { id: string }[] };
    assert.equal(assistant.content, null, 'a turn that only called tools has null content');
    const [first, second] = assistant.tool_calls.map((call) => call.id);
    assert.ok(first && second && first !== second, 'calls without id get distinct ids');
    assert.deepEqual(messages.slice(2), [
      { role: 'tool', tool_call_id: second, content: 'B' },
      { role: 'tool', tool_call_id: first, content: 'A' },
    ]);
  });

  test('a user message without images stays a string; with images it is parts', () => {
    assert.deepEqual(toOpenAiMessages([createMessage({ role: 'user', content: 'hi', name: 'ann' })]), [
      { role: 'user', content: 'hi', name: 'ann' },
    ]);
    const [message] = toOpenAiMessages([createMessage({ role: 'user', content: '', images: ['/9j/4AAQ'] })]);
    assert.deepEqual(message, {
      role: 'user',
      content: [{ type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ' } }],
    });
  });

  test('image URLs: data: and http(s) kept, base64 typed by its signature', () => {
    assert.equal(imageUrl('data:image/gif;base64,R0lG'), 'data:image/gif;base64,R0lG');
    assert.equal(imageUrl('https://x.test/a.png'), 'https://x.test/a.png');
    assert.equal(imageUrl('UklGRiQAAABXRUJQ'), 'data:image/webp;base64,UklGRiQAAABXRUJQ');
    assert.equal(imageUrl('AAAA'), 'data:image/png;base64,AAAA');
  });

  test('thinking is not sent back', () => {
    const [message] = toOpenAiMessages([createMessage({ role: 'assistant', content: 'x', thinking: 'hmm' })]);
    assert.deepEqual(message, { role: 'assistant', content: 'x' });
  });
});

describe('request options', () => {
  const context = (options: Record<string, unknown>) =>
    createChatContext({ messages: [{ role: 'user', content: 'hi' }], options });

  test('json_schema carries strict only when json_schema_strict is set; named tool_choice is a function choice', () => {
    const schema = { type: 'object' };
    const body = toChatRequest(
      context({
        responseFormat: { type: 'json_schema', name: 'answer', schema },
        tools: [{ name: 'f' }],
        toolChoice: { name: 'f' },
      }),
      'm',
      settingsOf({ json_schema_strict: true }),
    );
    assert.deepEqual(body.response_format, {
      type: 'json_schema',
      json_schema: { name: 'answer', schema, strict: true },
    });
    assert.deepEqual(body.tools, [{ type: 'function', function: { name: 'f' } }]);
    assert.deepEqual(body.tool_choice, { type: 'function', function: { name: 'f' } });
  });

  test('pass_extra: false sends neither top_k nor extra; tool_choice without tools is dropped', () => {
    const body = toChatRequest(
      context({ topK: 3, extra: { mirostat: 1 }, toolChoice: 'auto' }),
      'm',
      settingsOf({ pass_extra: false }),
    );
    assert.deepEqual(Object.keys(body).sort(), ['messages', 'model']);
  });
});

describe('tool-call assembly', () => {
  test('OpenAI style: id and name first, arguments in pieces, by index', () => {
    const calls = new ToolCallAssembler();
    calls.add({ index: 0, id: 'call_a', function: { name: 'f', arguments: '' } });
    calls.add({ index: 1, id: 'call_b', function: { name: 'g', arguments: '{"y"' } });
    calls.add({ index: 0, function: { arguments: '{"x":' } });
    calls.add({ index: 0, function: { arguments: '1}' } });
    calls.add({ index: 1, function: { arguments: ':2}' } });
    assert.deepEqual(calls.take(), [
      { id: 'call_a', name: 'f', arguments: '{"x":1}' },
      { id: 'call_b', name: 'g', arguments: '{"y":2}' },
    ]);
    assert.equal(calls.pending, false);
  });

  test('servers that repeat id and name in every delta', () => {
    const calls = new ToolCallAssembler();
    calls.add({ index: 0, id: 'c1', function: { name: 'f', arguments: '{"a"' } });
    calls.add({ index: 0, id: 'c1', function: { name: 'f', arguments: ':1}' } });
    assert.deepEqual(calls.take(), [{ id: 'c1', name: 'f', arguments: '{"a":1}' }]);
  });

  test('no index: a new id starts a new call; the same index with a new id does too', () => {
    const calls = new ToolCallAssembler();
    calls.add({ id: 'c1', function: { name: 'f', arguments: '{}' } });
    calls.add({ id: 'c2', function: { name: 'g' } });
    calls.add({ function: { arguments: '{"b":2}' } });
    calls.add({ index: 0, id: 'c3', function: { name: 'h', arguments: '{}' } });
    calls.add({ index: 0, id: 'c4', function: { name: 'i', arguments: '{}' } });
    assert.deepEqual(
      calls.take().map((call) => [call.id, call.name, call.arguments]),
      [
        ['c1', 'f', '{}'],
        ['c2', 'g', '{"b":2}'],
        ['c3', 'h', '{}'],
        ['c4', 'i', '{}'],
      ],
    );
  });

  test('a call without id gets one; empty arguments are {}; a call without a name is an error', () => {
    const calls = new ToolCallAssembler();
    calls.add({ index: 0, function: { name: 'f' } });
    const [call] = calls.take();
    assert.match(call?.id ?? '', /^call_[0-9a-f]{24}$/);
    assert.equal(call?.arguments, '{}');
    calls.add({ index: 0, function: { arguments: '{}' } });
    assert.throws(() => calls.take(), /without a function name/);
  });

  test('finish reasons of compatible servers', () => {
    assert.equal(toFinishReason('stop', false), 'stop');
    assert.equal(toFinishReason('stop', true), 'tool_calls');
    assert.equal(toFinishReason('eos_token', false), 'stop');
    assert.equal(toFinishReason('function_call', false), 'tool_calls');
    assert.equal(toFinishReason('length', true), 'length');
    assert.equal(toFinishReason(null, false), undefined);
  });
});
