/**
 * A Plugboard message image (base64 data, a `data:` URL or an http(s) URL) as the `source`
 * of an Anthropic image block.
 */
import type { Base64ImageSource, URLImageSource } from '@anthropic-ai/sdk/resources/messages';
import { PlugboardError } from '../../src/index.ts';

type MediaType = Base64ImageSource['media_type'];

const MEDIA_TYPES: readonly MediaType[] = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];

/** How each supported format's base64 text begins (its magic bytes, encoded). */
const SIGNATURES: readonly (readonly [string, MediaType])[] = [
  ['iVBORw0KGgo', 'image/png'],
  ['/9j/', 'image/jpeg'],
  ['R0lGOD', 'image/gif'],
  ['UklGR', 'image/webp'],
];

/**
 * The image source for `image`: http(s) URLs as `url` sources, `data:` URLs and bare base64
 * as `base64` sources with their media type (read from the URL, or from the data's magic bytes).
 * @throws PlugboardError `REQUEST_INVALID` for a format Anthropic does not accept.
 */
export function toImageSource(image: string): Base64ImageSource | URLImageSource {
  const text = image.trim();
  if (/^https?:\/\//i.test(text)) return { type: 'url', url: text };
  const dataUrl = /^data:([^;,]+)?(;[^,]*)?,(.*)$/is.exec(text);
  if (dataUrl) {
    const mediaType = (dataUrl[1] ?? '').toLowerCase();
    if (!(dataUrl[2] ?? '').toLowerCase().includes('base64')) {
      throw invalid(`an image data URL must be base64-encoded (data:${mediaType};base64,…)`);
    }
    if (!isMediaType(mediaType)) {
      throw invalid(`image type "${mediaType || '(none)'}" is not supported; use ${MEDIA_TYPES.join(', ')}`);
    }
    return { type: 'base64', media_type: mediaType, data: dataUrl[3] ?? '' };
  }
  const data = text.replace(/\s+/g, '');
  const sniffed = SIGNATURES.find(([prefix]) => data.startsWith(prefix))?.[1];
  if (sniffed === undefined) {
    throw invalid(
      `an image is neither an http(s) URL, a data: URL, nor base64 data of a ${MEDIA_TYPES.join(', ')} image`,
    );
  }
  return { type: 'base64', media_type: sniffed, data };
}

function isMediaType(value: string): value is MediaType {
  return (MEDIA_TYPES as readonly string[]).includes(value);
}

function invalid(message: string): PlugboardError {
  return new PlugboardError('REQUEST_INVALID', `anthropic: ${message}`, { plugin: 'anthropic' });
}
