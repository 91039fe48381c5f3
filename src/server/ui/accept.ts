/**
 * Whether a request's `Accept` header prefers an HTML page to plain text: what tells a browser
 * (`text/html,application/xhtml+xml,…,*\/*;q=0.8`) from an Ollama client, `curl` (`*\/*`) or a
 * health check (no header) at `GET /`. HTML only when the client names `text/html` (or
 * `application/xhtml+xml`) itself, at a quality above zero and at least that of plain text;
 * a client that names `text/plain` as highly as HTML gets the text (it asked for it).
 *
 * @example
 * ```ts
 * prefersHtml('text/html,application/xhtml+xml,application/xml;q=0.9,*\/*;q=0.8'); // true
 * prefersHtml('*\/*'); // false
 * prefersHtml(undefined); // false
 * ```
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (accept === undefined || accept === '') return false;
  let html = 0;
  let plain: number | undefined;
  let text = 0;
  let any = 0;
  for (const part of accept.split(',').slice(0, MAX_MEDIA_RANGES)) {
    const [range = '', ...parameters] = part.split(';');
    const type = range.trim().toLowerCase();
    const quality = qualityOf(parameters);
    if (type === 'text/html' || type === 'application/xhtml+xml') html = Math.max(html, quality);
    else if (type === 'text/plain') plain = Math.max(plain ?? 0, quality);
    else if (type === 'text/*') text = Math.max(text, quality);
    else if (type === '*/*') any = Math.max(any, quality);
  }
  if (html <= 0) return false;
  return plain === undefined ? html >= Math.max(text, any) : html > plain;
}

/** More media ranges than any browser sends: the rest of a longer header is not read. */
const MAX_MEDIA_RANGES = 32;

function qualityOf(parameters: readonly string[]): number {
  for (const parameter of parameters) {
    const [name = '', value = ''] = parameter.split('=');
    if (name.trim().toLowerCase() !== 'q') continue;
    const quality = Number(value.trim());
    return Number.isFinite(quality) ? Math.min(1, Math.max(0, quality)) : 1;
  }
  return 1;
}
