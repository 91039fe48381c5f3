// The web UI (ui/) is built by `npm ci`; `plugboard serve` builds it again when it is missing
// or older than its sources (an edit, a checkout), in about a second. Nothing here may stop the
// server: a failed check (an unreadable folder, a missing script) or a failed build is a
// warning, `/` then says how to build the UI, and the APIs work as before.

/**
 * Checks the web UI's build and rebuilds it when needed; never throws.
 *
 * @param {{
 *   loadState?: () => Promise<{ uiBuildNeeded(): string | undefined }>,
 *   loadBuilder?: () => Promise<{ buildUi(): Promise<unknown> }>,
 *   warn?: (line: string) => void,
 * }} [options] the loaders and the output (tests replace them)
 * @returns {Promise<void>}
 * @example
 * await refreshWebUi(); // before `serve` starts
 */
export async function refreshWebUi(options = {}) {
  const loadState = options.loadState ?? (() => import('../scripts/ui-build-state.mjs'));
  const loadBuilder = options.loadBuilder ?? (() => import('../scripts/build-ui.mjs'));
  const warn = options.warn ?? ((line) => console.error(line));
  let reason;
  try {
    reason = (await loadState()).uiBuildNeeded();
  } catch (error) {
    warn(`plugboard: cannot check the web UI's build (${messageOf(error)}); starting without rebuilding it`);
    return;
  }
  if (reason === undefined) return;
  warn(`plugboard: the web UI's build is ${reason}: building it`);
  try {
    await (await loadBuilder()).buildUi();
  } catch (error) {
    warn(`plugboard: the web UI build failed: ${messageOf(error)}`);
  }
}

/** @param {unknown} error */
function messageOf(error) {
  return error instanceof Error ? error.message : String(error);
}
