/**
 * Saves a Blob as a file the browser downloads (a link to an object URL, clicked): the way to
 * save what a request with an Authorization header fetched.
 *
 * @example
 * ```ts
 * downloadBlob(new Blob(['# Notes']), 'notes.md');
 * ```
 */
export function downloadBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.rel = 'noopener';
  document.body.append(link);
  link.click();
  link.remove();
  // The download has started by then; the URL is only needed for that.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
