/**
 * A tiny random llama model in GGUF format, for tests and benchmarks of the llamacpp backend.
 *
 * The file is a real model llama.cpp loads and runs: GGUF v3, F32 tensors, 32-byte alignment,
 * a byte-level vocabulary (`<unk>`, `<s>`, `</s>`, `▁` and the 256 byte tokens `<0x00>`…`<0xFF>`,
 * so every generated token decodes to bytes), 64-wide embeddings, 2 blocks of 4 heads, a
 * 128-wide feed-forward and a 256-token context. Its weights are seeded random numbers: the
 * same options always give the same bytes, and its output is gibberish — assert structure,
 * token counts and determinism, never the text.
 *
 * About 460 KB, built in milliseconds and cached under `.cache/tiny-gguf/` (gitignored).
 *
 * @example
 * ```ts
 * const modelPath = await tinyGgufFile();
 * const plugin = createLlamaCppBackend();
 * await startManager([[plugin, { config: { model_path: modelPath } }]]);
 * ```
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Options of the generated model. */
export interface TinyGgufOptions {
  /** Seed of the random weights (default 42). */
  readonly seed?: number;
  /** Metadata keys to leave out, to make a broken model (e.g. `llama.block_count`). */
  readonly omitKeys?: readonly string[];
  /** Tensors to leave out, to make a broken model (e.g. `blk.1.ffn_up.weight`). */
  readonly omitTensors?: readonly string[];
  /** A chat template (`tokenizer.chat_template`, Jinja); none by default. */
  readonly chatTemplate?: string;
  /** `general.name` (default `plugboard-tiny`). */
  readonly name?: string;
}

/** The shape of the tiny model. */
export const TINY_GGUF = Object.freeze({
  embeddingLength: 64,
  blockCount: 2,
  headCount: 4,
  feedForwardLength: 128,
  contextLength: 256,
  /** `<unk>`, `<s>`, `</s>`, `▁` and 256 byte tokens. */
  vocabularySize: 260,
  bosTokenId: 1,
  eosTokenId: 2,
});

const ALIGNMENT = 32;

/** GGUF metadata value types. */
enum ValueType {
  Uint32 = 4,
  Int32 = 5,
  Float32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
}

type MetadataValue =
  | { readonly type: ValueType.Uint32 | ValueType.Int32 | ValueType.Float32; readonly value: number }
  | { readonly type: ValueType.Bool; readonly value: boolean }
  | { readonly type: ValueType.String; readonly value: string }
  | { readonly type: ValueType.Array; readonly items: ValueType.String; readonly value: readonly string[] }
  | {
      readonly type: ValueType.Array;
      readonly items: ValueType.Int32 | ValueType.Float32;
      readonly value: readonly number[];
    };

const u32 = (value: number): MetadataValue => ({ type: ValueType.Uint32, value });
const f32 = (value: number): MetadataValue => ({ type: ValueType.Float32, value });
const str = (value: string): MetadataValue => ({ type: ValueType.String, value });

/** The vocabulary: tokens, their types (1 normal, 2 unknown, 3 control, 6 byte) and scores. */
function vocabulary(): { tokens: string[]; types: number[]; scores: number[] } {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [2, 3, 3];
  for (let byte = 0; byte < 256; byte++) {
    tokens.push(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
  }
  tokens.push('\u2581');
  types.push(1);
  return { tokens, types, scores: tokens.map(() => 0) };
}

/** A tensor to write: its GGUF dimensions (innermost first) and its F32 data. */
interface Tensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

/** Mulberry32: a small, fast, seeded PRNG. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function tensors(seed: number): Tensor[] {
  const next = random(seed);
  const { embeddingLength: embd, feedForwardLength: ff, blockCount, vocabularySize: vocab } = TINY_GGUF;
  /** A [out, in] weight matrix, written with GGUF dims [in, out], uniform in ±scale. */
  const matrix = (name: string, out: number, input: number, scale: number): Tensor => {
    const data = new Float32Array(out * input);
    for (let index = 0; index < data.length; index++) data[index] = (next() * 2 - 1) * scale;
    return { name, dims: [input, out], data };
  };
  const norm = (name: string): Tensor => ({ name, dims: [embd], data: new Float32Array(embd).fill(1) });
  const result: Tensor[] = [matrix('token_embd.weight', vocab, embd, 1)];
  for (let block = 0; block < blockCount; block++) {
    const prefix = `blk.${block}`;
    const scale = 1 / Math.sqrt(embd);
    result.push(
      norm(`${prefix}.attn_norm.weight`),
      matrix(`${prefix}.attn_q.weight`, embd, embd, scale),
      matrix(`${prefix}.attn_k.weight`, embd, embd, scale),
      matrix(`${prefix}.attn_v.weight`, embd, embd, scale),
      matrix(`${prefix}.attn_output.weight`, embd, embd, scale),
      norm(`${prefix}.ffn_norm.weight`),
      matrix(`${prefix}.ffn_gate.weight`, ff, embd, scale),
      matrix(`${prefix}.ffn_up.weight`, ff, embd, scale),
      matrix(`${prefix}.ffn_down.weight`, embd, ff, 1 / Math.sqrt(ff)),
    );
  }
  // A large output scale gives peaked logits: varied, mostly printable bytes rather than noise.
  result.push(norm('output_norm.weight'), matrix('output.weight', vocab, embd, 2));
  return result;
}

function metadata(options: TinyGgufOptions): [string, MetadataValue][] {
  const { tokens, types, scores } = vocabulary();
  const entries: [string, MetadataValue][] = [
    ['general.architecture', str('llama')],
    ['general.name', str(options.name ?? 'plugboard-tiny')],
    ['general.alignment', u32(ALIGNMENT)],
    ['general.file_type', u32(0)], // ALL_F32
    ['llama.context_length', u32(TINY_GGUF.contextLength)],
    ['llama.embedding_length', u32(TINY_GGUF.embeddingLength)],
    ['llama.block_count', u32(TINY_GGUF.blockCount)],
    ['llama.feed_forward_length', u32(TINY_GGUF.feedForwardLength)],
    ['llama.attention.head_count', u32(TINY_GGUF.headCount)],
    ['llama.attention.head_count_kv', u32(TINY_GGUF.headCount)],
    ['llama.attention.layer_norm_rms_epsilon', f32(1e-5)],
    ['llama.rope.dimension_count', u32(TINY_GGUF.embeddingLength / TINY_GGUF.headCount)],
    ['tokenizer.ggml.model', str('llama')],
    ['tokenizer.ggml.tokens', { type: ValueType.Array, items: ValueType.String, value: tokens }],
    ['tokenizer.ggml.scores', { type: ValueType.Array, items: ValueType.Float32, value: scores }],
    ['tokenizer.ggml.token_type', { type: ValueType.Array, items: ValueType.Int32, value: types }],
    ['tokenizer.ggml.unknown_token_id', u32(0)],
    ['tokenizer.ggml.bos_token_id', u32(TINY_GGUF.bosTokenId)],
    ['tokenizer.ggml.eos_token_id', u32(TINY_GGUF.eosTokenId)],
    ['tokenizer.ggml.add_bos_token', { type: ValueType.Bool, value: true }],
    ['tokenizer.ggml.add_eos_token', { type: ValueType.Bool, value: false }],
    ['tokenizer.ggml.add_space_prefix', { type: ValueType.Bool, value: false }],
  ];
  if (options.chatTemplate !== undefined) entries.push(['tokenizer.chat_template', str(options.chatTemplate)]);
  const omit = new Set(options.omitKeys ?? []);
  return entries.filter(([key]) => !omit.has(key));
}

/** Appends little-endian values to a growing list of buffers. */
class Writer {
  readonly parts: Buffer[] = [];
  length = 0;

  push(buffer: Buffer): void {
    this.parts.push(buffer);
    this.length += buffer.length;
  }
  u32(value: number): void {
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32LE(value);
    this.push(buffer);
  }
  i32(value: number): void {
    const buffer = Buffer.alloc(4);
    buffer.writeInt32LE(value);
    this.push(buffer);
  }
  u64(value: number): void {
    const buffer = Buffer.alloc(8);
    buffer.writeBigUInt64LE(BigInt(value));
    this.push(buffer);
  }
  f32(value: number): void {
    const buffer = Buffer.alloc(4);
    buffer.writeFloatLE(value);
    this.push(buffer);
  }
  string(value: string): void {
    const bytes = Buffer.from(value, 'utf8');
    this.u64(bytes.length);
    this.push(bytes);
  }
  padTo(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    if (pad > 0) this.push(Buffer.alloc(pad));
  }
}

function writeValue(writer: Writer, value: MetadataValue): void {
  writer.u32(value.type);
  switch (value.type) {
    case ValueType.Uint32:
      writer.u32(value.value);
      break;
    case ValueType.Int32:
      writer.i32(value.value);
      break;
    case ValueType.Float32:
      writer.f32(value.value);
      break;
    case ValueType.Bool:
      writer.push(Buffer.from([value.value ? 1 : 0]));
      break;
    case ValueType.String:
      writer.string(value.value);
      break;
    case ValueType.Array:
      writer.u32(value.items);
      writer.u64(value.value.length);
      for (const item of value.value) {
        if (value.items === ValueType.String) writer.string(item as string);
        else if (value.items === ValueType.Int32) writer.i32(item as number);
        else writer.f32(item as number);
      }
      break;
  }
}

/** The bytes of the tiny model. Deterministic: the same options give the same bytes. */
export function tinyGgufBytes(options: TinyGgufOptions = {}): Buffer {
  const omitTensors = new Set(options.omitTensors ?? []);
  const all = tensors(options.seed ?? 42).filter((tensor) => !omitTensors.has(tensor.name));
  const entries = metadata(options);
  const writer = new Writer();
  writer.push(Buffer.from('GGUF', 'ascii'));
  writer.u32(3);
  writer.u64(all.length);
  writer.u64(entries.length);
  for (const [key, value] of entries) {
    writer.string(key);
    writeValue(writer, value);
  }
  let offset = 0;
  for (const tensor of all) {
    writer.string(tensor.name);
    writer.u32(tensor.dims.length);
    for (const dim of tensor.dims) writer.u64(dim);
    writer.u32(0); // GGML_TYPE_F32
    writer.u64(offset);
    offset += tensor.data.byteLength;
    offset += (ALIGNMENT - (offset % ALIGNMENT)) % ALIGNMENT;
  }
  writer.padTo(ALIGNMENT);
  for (const tensor of all) {
    writer.push(Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength));
    writer.padTo(ALIGNMENT);
  }
  return Buffer.concat(writer.parts, writer.length);
}

/** `.cache/tiny-gguf/` at the repository root. */
export const TINY_GGUF_CACHE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.cache', 'tiny-gguf');

/**
 * Writes the tiny model (once per distinct options) and returns its absolute path. Safe to
 * call from concurrent test files: each writes a temporary file and renames it into place.
 */
export async function tinyGgufFile(options: TinyGgufOptions = {}, directory = TINY_GGUF_CACHE): Promise<string> {
  const bytes = tinyGgufBytes(options);
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
  const file = join(directory, `${options.name ?? 'plugboard-tiny'}-${hash}.gguf`);
  const existing = await stat(file).catch(() => undefined);
  if (existing?.size === bytes.length) return file;
  await mkdir(directory, { recursive: true });
  const temporary = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(temporary, bytes);
  await rename(temporary, file);
  return file;
}

/**
 * The `backends:` section of a config that serves the tiny model through the llamacpp backend
 * as `llamacpp/tiny` (one thread, a generous timeout for a loaded machine).
 *
 * @example
 * ```ts
 * await fixture.write('config.yaml', `mode: production\n${tinyLlamacppBackendsYaml(await tinyGgufFile())}`);
 * ```
 */
export function tinyLlamacppBackendsYaml(modelPath: string): string {
  return `backends:
  llamacpp:
    timeout: 60
    config:
      model_path: ${JSON.stringify(modelPath)}
      model_id: tiny
      threads: 1
`;
}
