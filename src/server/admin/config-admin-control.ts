import type { ConfigRuntime } from '../../config/config-runtime.ts';
import { redactSecrets } from '../../config/redact.ts';
import type { AdminControl } from './admin-control.ts';

// PLACEHOLDER for reloadPlugin — being written with the admin API.
/** The admin API's access to a ConfigRuntime: reloads and the effective configuration. */
export function configAdminControl(runtime: ConfigRuntime): AdminControl {
  return {
    reload: () => runtime.reload(),
    reloadPlugin: () => Promise.reject(new Error('not implemented yet')),
    effectiveConfig: () => redactSecrets(runtime.config) as Readonly<Record<string, unknown>>,
    get file() {
      return runtime.file;
    },
  };
}
