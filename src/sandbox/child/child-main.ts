/*
 * The entry point of a sandboxed plugin's process. The launcher starts it under Node's
 * permission model (no writes, no child processes, no workers, no addons, reads only of the
 * plugin's folder and Plugboard's own code), usually inside fresh network and PID namespaces,
 * with a minimal environment. It waits for one `load` message, installs the import guard, loads
 * the plugin, then answers calls until the server goes away — it never outlives the server:
 * its message pipe closing ends it.
 */
import { Socket } from 'node:net';
import { toPlugboardError } from '../../core/errors/plugboard-error.ts';
import type { AnyPlugin } from '../../core/plugin/kinds.ts';
import { loadPluginModule } from '../../core/plugin/module-loader.ts';
import { checkPluginStructure } from '../../core/plugin/structure-check.ts';
import { FramedPipe } from '../framed-pipe.ts';
import { installImportGuard } from '../imports/import-guard.ts';
import { DEFAULT_SANDBOX_DENIED, resolveImportRules } from '../imports/import-policy.ts';
import { CHILD_EXIT, type ChildMessage, type ParentMessage } from '../protocol.ts';
import { toWireError } from '../wire-values.ts';
import { BrokeredFetch } from './brokered-fetch.ts';

/** The largest message the plugin's process reads from the server (a context with images is large). */
const MAX_MESSAGE_FROM_SERVER = 256 * 1024 * 1024;

import { ChildHost } from './child-host.ts';

/** The message pipe from the server (fd 3, see framed-pipe.ts); without it this was not started by the launcher. */
function openPipe(): FramedPipe {
  try {
    return new FramedPipe(new Socket({ fd: 3, readable: true, writable: true }), MAX_MESSAGE_FROM_SERVER);
  } catch {
    process.stderr.write('plugboard sandbox: start me through the sandbox launcher (no message pipe on fd 3)\n');
    process.exit(CHILD_EXIT.bootFailed);
  }
}

const pipe = openPipe();
// The server is gone (or closed the pipe to stop it): so is the plugin.
pipe.on('close', () => process.exit(CHILD_EXIT.parentGone));
pipe.on('violation', () => process.exit(CHILD_EXIT.bootFailed));

function send(message: ChildMessage): void {
  pipe.send(message);
}

const host = new ChildHost(send);
const broker = new BrokeredFetch(send);
let loading = false;

pipe.on('message', (raw: unknown) => {
  const message = raw as ParentMessage;
  if (message.t === 'load') {
    if (loading) return;
    loading = true;
    void load(message);
    return;
  }
  if (message.t === 'fetch-result') {
    broker.settle(message.id, message.ok, message.value, message.error);
    return;
  }
  host.receive(message);
});

async function load(message: Extract<ParentMessage, { t: 'load' }>): Promise<void> {
  try {
    const { policy } = message;
    // Fetch goes through the server, to the allowed hosts only; without any, no network at all
    // (the namespace has none; this says so by name instead of a DNS error).
    globalThis.fetch = policy.allowedHosts.length > 0 ? broker.fetch : noNetwork;
    // Plugboard's own modules are loaded by now (this file's imports); from here on every import
    // the plugin makes — static, dynamic, require, its own .mjs files — passes the guard first.
    const importGuard = installImportGuard(
      resolveImportRules(policy.allowedImports, [...DEFAULT_SANDBOX_DENIED, ...policy.deniedImports], {
        trustedRoots: policy.trustedRoots,
        deniedLabel: "the sandbox's denied imports (its defaults and security.denied_imports)",
      }),
    );
    const plugin = (await loadPluginModule(message.modulePath, { importGuard })) as AnyPlugin;
    checkPluginStructure(plugin, message.modulePath);
    const shape = host.describe(plugin);
    send({
      t: 'loaded',
      shape,
      ...(message.config === undefined ? {} : { configCheck: host.checkConfig(message.config) }),
    });
  } catch (error) {
    send({ t: 'load-failed', error: toWireError(toPlugboardError(error, 'PLUGIN_MODULE_LOAD_FAILED', {})) });
  }
}

async function noNetwork(input: string | URL | Request): Promise<Response> {
  const url = input instanceof Request ? input.url : String(input);
  const { PlugboardError } = await import('../../core/errors/plugboard-error.ts');
  throw new PlugboardError(
    'PLUGIN_SANDBOX_UNSUPPORTED',
    `fetch ${new URL(url).host}: this sandboxed plugin has no network (list the host in its sandbox.network.allow_hosts)`,
  );
}

send({ t: 'ready' });
