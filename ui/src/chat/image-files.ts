/** The largest image attached (its data URL is a third larger; the server's body limit is 16 MiB). */
export const MAX_IMAGE_BYTES = 8 * 1024 * 1024;

/**
 * Reads image files (from the picker or a paste) as data URLs, the form OpenAI's
 * `image_url` parts carry. Files that are not images, or too large, are refused by name.
 *
 * @example
 * ```ts
 * const { images, refused } = await readImages(input.files);
 * ```
 */
export async function readImages(
  files: Iterable<File>,
): Promise<{ readonly images: string[]; readonly refused: string[] }> {
  const images: string[] = [];
  const refused: string[] = [];
  for (const file of files) {
    if (!file.type.startsWith('image/')) {
      refused.push(`${file.name || 'the pasted file'} is not an image`);
      continue;
    }
    if (file.size > MAX_IMAGE_BYTES) {
      refused.push(`${file.name || 'the pasted image'} is larger than ${MAX_IMAGE_BYTES / 1024 / 1024} MB`);
      continue;
    }
    images.push(await dataUrlOf(file));
  }
  return { images, refused };
}

function dataUrlOf(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error(`Cannot read ${file.name}`));
    reader.readAsDataURL(file);
  });
}
