/**
 * The tiny GGUF generator (test/support/tiny-gguf.ts): its file reads back as the llama model
 * it claims to be, is the same for the same seed, and stays small.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { readGgufFileInfo } from 'node-llama-cpp';
import { TINY_GGUF, tinyGgufBytes, tinyGgufFile } from '../../test/support/tiny-gguf.ts';

describe('tiny GGUF generator', () => {
  let directory: string | undefined;
  after(async () => {
    if (directory !== undefined) await rm(directory, { recursive: true, force: true });
  });
  /** A scratch directory, so the tests do not depend on (or change) the shared cache. */
  const scratch = async (): Promise<string> => {
    directory ??= await mkdtemp(join(tmpdir(), 'plugboard-tiny-gguf-'));
    return directory;
  };

  test('the file reads back with the llama keys, the vocabulary and every tensor shape', async () => {
    const path = await tinyGgufFile({ seed: 3 }, await scratch());
    const info = await readGgufFileInfo(path, { sourceType: 'filesystem', logWarnings: false });
    assert.equal(info.version, 3);
    const metadata = info.metadata;
    assert.equal(metadata.general.architecture, 'llama');
    assert.equal(metadata.general.alignment, 32);
    const llama = info.architectureMetadata;
    assert.equal(llama.context_length, TINY_GGUF.contextLength);
    assert.equal(llama.embedding_length, 64);
    assert.equal(llama.block_count, 2);
    assert.equal(llama.feed_forward_length, 128);
    assert.equal(llama.attention?.head_count, 4);
    assert.ok(Math.abs((llama.attention?.layer_norm_rms_epsilon ?? 0) - 1e-5) < 1e-9);
    const tokenizer = metadata.tokenizer.ggml;
    assert.equal(tokenizer.model, 'llama');
    assert.equal(tokenizer.tokens.length, TINY_GGUF.vocabularySize);
    assert.deepEqual(tokenizer.tokens.slice(0, 4), ['<unk>', '<s>', '</s>', '<0x00>']);
    assert.equal(tokenizer.tokens[3 + 0x41], '<0x41>');
    assert.ok(tokenizer.tokens.includes('\u2581'), 'has the ▁ token');
    assert.equal(tokenizer.token_type?.length, TINY_GGUF.vocabularySize);
    assert.equal(tokenizer.bos_token_id, 1);
    assert.equal(tokenizer.eos_token_id, 2);
    assert.equal(tokenizer.add_space_prefix, false);

    const shapes = new Map(info.tensorInfo?.map((tensor) => [tensor.name, tensor.dimensions.map(Number)]));
    assert.equal(shapes.size, 3 + 9 * 2);
    // ne[0] is the innermost dimension: a [out, in] matrix is written [in, out].
    assert.deepEqual(shapes.get('token_embd.weight'), [64, 260]);
    assert.deepEqual(shapes.get('output.weight'), [64, 260]);
    assert.deepEqual(shapes.get('output_norm.weight'), [64]);
    for (const block of [0, 1]) {
      for (const name of ['attn_q', 'attn_k', 'attn_v', 'attn_output']) {
        assert.deepEqual(shapes.get(`blk.${block}.${name}.weight`), [64, 64], name);
      }
      assert.deepEqual(shapes.get(`blk.${block}.ffn_gate.weight`), [64, 128]);
      assert.deepEqual(shapes.get(`blk.${block}.ffn_up.weight`), [64, 128]);
      assert.deepEqual(shapes.get(`blk.${block}.ffn_down.weight`), [128, 64]);
      assert.deepEqual(shapes.get(`blk.${block}.attn_norm.weight`), [64]);
      assert.deepEqual(shapes.get(`blk.${block}.ffn_norm.weight`), [64]);
    }
    for (const tensor of info.tensorInfo ?? []) {
      assert.equal(tensor.ggmlType, 0, `${tensor.name} is F32`);
      assert.equal(Number(tensor.fileOffset) % 32, 0, `${tensor.name} is aligned`);
    }
    // The data section ends where the last tensor does: nothing is cut off.
    const last = info.tensorInfo!.at(-1)!;
    const lastBytes = last.dimensions.reduce<number>((product, dim) => product * Number(dim), 4);
    assert.ok((await stat(path)).size >= Number(last.fileOffset) + lastBytes);
  });

  test('the same seed gives the same bytes, another seed other weights', async () => {
    const first = tinyGgufBytes({ seed: 11 });
    assert.ok(first.equals(tinyGgufBytes({ seed: 11 })));
    const other = tinyGgufBytes({ seed: 12 });
    assert.equal(other.length, first.length);
    assert.ok(!other.equals(first));
    // The cached file is those bytes.
    const path = await tinyGgufFile({ seed: 11 }, await scratch());
    assert.ok((await readFile(path)).equals(first));
    assert.equal(await tinyGgufFile({ seed: 11 }, await scratch()), path);
  });

  test('a few hundred KB, and broken variants leave out what they are asked to', async () => {
    const bytes = tinyGgufBytes();
    assert.ok(bytes.length > 100_000 && bytes.length < 1_000_000, `${bytes.length} bytes`);
    const path = await tinyGgufFile(
      { omitKeys: ['llama.attention.head_count'], omitTensors: ['blk.1.ffn_up.weight'], name: 'broken' },
      await scratch(),
    );
    const info = await readGgufFileInfo(path, { sourceType: 'filesystem', logWarnings: false });
    assert.equal(info.architectureMetadata.attention?.head_count, undefined);
    assert.equal(info.metadata.general.name, 'broken');
    assert.ok(!info.tensorInfo?.some((tensor) => tensor.name === 'blk.1.ffn_up.weight'));
    assert.equal(info.tensorInfo?.length, 20);
  });
});
