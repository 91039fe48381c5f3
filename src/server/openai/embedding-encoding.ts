/**
 * OpenAI's `encoding_format: "base64"`: the vector as little-endian float32 values, base64
 * encoded. The official clients ask for it by default (it is a quarter of the JSON size)
 * and decode it with a `Float32Array`, so the byte order must be little-endian, which every
 * platform they run on uses.
 *
 * @example
 * ```ts
 * toBase64Float32([1, 0.5]); // 'AACAPwAAAD8='
 * ```
 */
export function toBase64Float32(vector: readonly number[]): string {
  const bytes = Buffer.allocUnsafe(vector.length * 4);
  for (const [index, value] of vector.entries()) bytes.writeFloatLE(value, index * 4);
  return bytes.toString('base64');
}
