/**
 * Chat with a local GGUF model in the terminal, through Plugboard and the llamacpp backend:
 *
 *   npx tsx plugins/llamacpp/chat.ts ./models/model.gguf              # a conversation
 *   npx tsx plugins/llamacpp/chat.ts ./models/model.gguf "Hello!"     # one reply, then exit
 *   npx tsx plugins/llamacpp/chat.ts ./models                         # a folder: its first model by name
 *
 * Options: --system <text>, --max-tokens <n>, --temperature <t>, --threads <n>,
 * --context-size <n>, --gpu <auto|cuda|vulkan|metal>. Type /exit (or Ctrl-D) to leave.
 */
import { statSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { createChatContext, createSilentLogger, type MessageInput, PluginManager } from '../../src/index.ts';
import type { LlamaCppConfigInput } from './config.ts';
import { createLlamaCppBackend } from './llamacpp.plugin.ts';

process.env.NODE_LLAMA_CPP_SKIP_DOWNLOAD ??= 'true';

const USAGE =
  'Usage: npx tsx plugins/llamacpp/chat.ts <model.gguf | models folder> [prompt] [--system text] [--max-tokens n] [--temperature t] [--threads n] [--context-size n] [--gpu auto|cuda|vulkan|metal]';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    system: { type: 'string' },
    'max-tokens': { type: 'string' },
    temperature: { type: 'string' },
    threads: { type: 'string' },
    'context-size': { type: 'string' },
    gpu: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
const [modelPath, prompt] = positionals;
if (values.help || modelPath === undefined) {
  console.error(USAGE);
  process.exit(values.help ? 0 : 2);
}

const config: LlamaCppConfigInput = {
  ...(statSync(modelPath, { throwIfNoEntry: false })?.isDirectory()
    ? { models_dir: modelPath }
    : { model_path: modelPath }),
  preload: true,
  ...(values.threads === undefined ? {} : { threads: Number(values.threads) }),
  ...(values['context-size'] === undefined ? {} : { context_size: Number(values['context-size']) }),
  ...(values.gpu === undefined ? {} : { gpu: values.gpu as LlamaCppConfigInput['gpu'] }),
};
const options = {
  ...(values['max-tokens'] === undefined ? {} : { maxTokens: Number(values['max-tokens']) }),
  ...(values.temperature === undefined ? {} : { temperature: Number(values.temperature) }),
};

const manager = new PluginManager({ logger: createSilentLogger(), defaultTimeoutMs: 600_000 });
await manager.register(createLlamaCppBackend(), { config });
process.stderr.write(`Loading ${modelPath} …\n`);
await manager.initialize();
const status = manager.getPluginStatus().plugins.llamacpp;
if (status?.state !== 'ACTIVE') {
  console.error(status?.lastError?.message ?? 'the llamacpp backend did not start');
  await manager.shutdown();
  process.exit(1);
}

const history: MessageInput[] = values.system === undefined ? [] : [{ role: 'system', content: values.system }];

/** Streams the reply to `text` to stdout and adds both to the conversation. */
async function reply(text: string): Promise<void> {
  history.push({ role: 'user', content: text });
  const stream = manager.stream(createChatContext({ messages: history, stream: true, options }));
  let answer = '';
  for await (const chunk of stream) {
    if (chunk.content) {
      answer += chunk.content;
      process.stdout.write(chunk.content);
    }
  }
  const response = await stream.response;
  process.stdout.write('\n');
  const usage = response.usage;
  if (usage) process.stderr.write(`[${usage.promptTokens} prompt + ${usage.completionTokens} reply tokens]\n`);
  history.push({ role: 'assistant', content: answer });
}

try {
  if (prompt !== undefined) {
    await reply(prompt);
  } else {
    const terminal = createInterface({ input: process.stdin, output: process.stdout, prompt: '> ' });
    process.stderr.write('Type a message, /exit to leave.\n');
    terminal.prompt();
    // Lines typed (or piped in) while a reply is streaming wait their turn.
    for await (const line of terminal) {
      if (line.trim() === '/exit') break;
      if (line.trim() !== '') {
        await reply(line).catch((error: unknown) => console.error(`error: ${(error as Error).message}`));
      }
      terminal.prompt();
    }
    terminal.close();
  }
} finally {
  await manager.shutdown();
}
