import type { ConfigRuntime } from '../../config/config-runtime.ts';
import { redactSecrets } from '../../config/redact.ts';
import type { AdminControl } from './admin-control.ts';

/**
 * The admin API's access to a ConfigRuntime: reloads and the effective configuration; and,
 * for `GET /plugins` and `GET /health`, the file and what its last reload did.
 */
export function configAdminControl(runtime: ConfigRuntime): AdminControl {
  return {
    reload: () => runtime.reload(),
    reloadPlugin: (name) => runtime.reloadPlugin(name),
    effectiveConfig: () => redactSecrets(runtime.config) as Readonly<Record<string, unknown>>,
    get file() {
      return runtime.file;
    },
    pluginEntry: (name) => runtime.config.plugins.find((entry) => entry.name === name),
    configStatus: () => ({
      ...(runtime.file === undefined ? {} : { file: runtime.file }),
      ...(runtime.lastReload === undefined ? {} : { lastReload: runtime.lastReload }),
    }),
  };
}
