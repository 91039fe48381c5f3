/**
 * Puts text on the clipboard: the Clipboard API where the page may use it (https, localhost),
 * else the old selection-and-copy way, which works over plain http on a LAN address too.
 * Resolves whether it worked.
 *
 * @example
 * ```ts
 * if (await copyText(code)) showCopied();
 * ```
 */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard !== undefined && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Refused (permissions, focus): try the other way.
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'visually-hidden';
  const focused = document.activeElement as HTMLElement | null;
  document.body.append(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand('copy');
  } catch {
    copied = false;
  }
  area.remove();
  focused?.focus();
  return copied;
}
