import { resolve } from 'node:path';
import {
  type ChatContext,
  type HealthReport,
  type Logger,
  type Principal,
  type RejectDecision,
  updateContext,
} from '../../src/index.ts';
import type { AuthConfig, ConfigKey } from './config.ts';
import { extractCredential, withoutCredentials } from './credentials.ts';
import { authErrors } from './errors.ts';
import { createJwtVerifier, type JwtOutcome, type JwtVerifier, looksLikeJwt } from './jwt.ts';
import type { KeyRecord } from './key-file.ts';
import { KeyFileReloader } from './key-file-reloader.ts';
import { hashKey } from './key-hash.ts';
import { KeyStore, type StoredKey } from './key-store.ts';
import { requiredScope, type Scope } from './scopes.ts';

/** What the plugin answers for a request: the request with its principal, or a refusal. */
export type Admission = ChatContext | RejectDecision;

/**
 * Decides who is asking and whether they may: the credential from the headers, checked
 * against the API keys (config and keys file) or as a JWT, then the scope the operation needs
 * and the key's model allow-list. Built once per plugin instance by {@link Authenticator.create}.
 *
 * @example
 * ```ts
 * const auth = await Authenticator.create(config.config);
 * const admitted = await auth.admit(context, call.logger); // the context with its principal, or a refusal
 * ```
 */
export class Authenticator {
  #store: KeyStore;

  private constructor(
    private readonly config: AuthConfig,
    private readonly configKeys: readonly StoredKey[],
    private readonly pepper: string | undefined,
    private readonly reloader: KeyFileReloader | undefined,
    private readonly jwt: JwtVerifier | undefined,
  ) {
    this.#store = new KeyStore(configKeys, pepper);
  }

  /**
   * Reads every key source; anything missing or invalid — an unset `key_env` or `pepper_env`,
   * a missing or broken keys file, an unusable JWKS file or public key — is an error, so the
   * plugin does not start with fewer keys than configured.
   *
   * @example
   * ```ts
   * const auth = await Authenticator.create(authConfigSchema.parse({ keys_file: 'keys.yaml' }));
   * ```
   * @throws PlugboardError `auth/KEYS_INVALID` naming the setting or file.
   */
  static async create(config: AuthConfig, env: NodeJS.ProcessEnv = process.env): Promise<Authenticator> {
    try {
      const pepper = config.pepper_env === undefined ? undefined : required(env, config.pepper_env, 'pepper_env');
      const configKeys = config.keys.map((key) => storedFromConfig(key, env));
      const jwt = config.jwt === undefined ? undefined : await createJwtVerifier(config.jwt);
      let auth: Authenticator | undefined;
      const reloader =
        config.keys_file === undefined
          ? undefined
          : // Relative to the working directory, as every path in a plugin's config (the log names the absolute one).
            new KeyFileReloader(resolve(config.keys_file), config.keys_file_check_ms, (records) =>
              auth!.#install(records),
            );
      auth = new Authenticator(config, configKeys, pepper, reloader, jwt);
      await reloader?.load();
      return auth;
    } catch (error) {
      throw authErrors.KEYS_INVALID(`auth: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * The request with its principal (and without its credential headers), or a 401/403 refusal.
   * Synchronous unless the keys file is due for a check or the credential is a JWT.
   */
  admit(context: ChatContext, logger: Logger): Admission | Promise<Admission> {
    const refresh = this.reloader?.refresh(logger);
    return refresh === undefined ? this.#admit(context, logger) : refresh.then(() => this.#admit(context, logger));
  }

  /** Healthy while every key source is in use; degraded while the keys file is broken (old keys in force). */
  health(): HealthReport {
    const problem = this.reloader?.problem;
    return {
      status: problem === undefined ? 'healthy' : 'degraded',
      ...(problem === undefined ? {} : { message: problem }),
      details: {
        keys: this.#store.size,
        ...(this.reloader === undefined ? {} : { keys_file: this.reloader.path }),
        ...(this.jwt === undefined ? {} : { jwt: this.jwt.keySource }),
        anonymous: this.config.anonymous,
      },
    };
  }

  /** Replaces the key set with the config's keys plus a fresh read of the file. @throws on a duplicate. */
  #install(records: readonly KeyRecord[]): void {
    const source = this.reloader?.path ?? 'keys file';
    this.#store = new KeyStore(
      [...this.configKeys, ...records.map((record) => storedFromFile(record, source))],
      this.pepper,
    );
  }

  #admit(context: ChatContext, logger: Logger): Admission | Promise<Admission> {
    const credential = extractCredential(context.client?.headers ?? {}, this.config.header);
    if (credential.kind === 'none') {
      // Anonymous mode: no principal, so later plugins can tell (and limit) unauthenticated callers.
      if (this.config.anonymous) return context;
      return refuse(logger, 'UNAUTHENTICATED', 'Missing credentials: send "Authorization: Bearer <API key or token>"');
    }
    if (credential.kind === 'malformed') {
      return refuse(logger, 'UNAUTHENTICATED', 'The Authorization header must be "Bearer <API key or token>"');
    }
    if (this.jwt !== undefined && looksLikeJwt(credential.token)) {
      return this.jwt.verify(credential.token).then((outcome) => this.#withToken(context, outcome, logger));
    }
    const found = this.#store.lookup(credential.token);
    switch (found.status) {
      case 'unknown':
        return refuse(logger, 'UNAUTHENTICATED', 'Invalid API key');
      case 'disabled':
        return refuse(logger, 'UNAUTHENTICATED', 'This API key has been revoked', found.key.id);
      case 'expired':
        return refuse(logger, 'EXPIRED', 'This API key has expired', found.key.id);
      case 'valid':
        return this.#authorize(context, logger, {
          id: found.key.id,
          scopes: found.key.scopes,
          allowsModel: found.key.models === undefined ? undefined : found.allowsModel,
          attributes: { auth: 'api_key' },
        });
    }
  }

  #withToken(context: ChatContext, outcome: JwtOutcome, logger: Logger): Admission {
    if (outcome.status === 'expired') return refuse(logger, 'EXPIRED', 'The token has expired');
    if (outcome.status === 'invalid') return refuse(logger, 'UNAUTHENTICATED', `Invalid token: ${outcome.reason}`);
    const { subject, issuer, scopes } = outcome.identity;
    return this.#authorize(context, logger, {
      id: subject,
      scopes,
      allowsModel: undefined,
      attributes: { auth: 'jwt', ...(issuer === undefined ? {} : { issuer }) },
    });
  }

  /** The scope the operation needs, then the model allow-list; then the principal goes into the context. */
  #authorize(context: ChatContext, logger: Logger, who: Caller): Admission {
    const scope = requiredScope(context);
    if (!who.scopes.includes(scope)) {
      return refuse(
        logger,
        'FORBIDDEN',
        `This credential lacks the "${scope}" scope, which this request needs`,
        who.id,
      );
    }
    // The model list names no model; everything else is checked against a restricted key's list.
    if (who.allowsModel !== undefined && context.operation !== 'models.list') {
      if (context.model === undefined) {
        return refuse(
          logger,
          'FORBIDDEN',
          'This key is limited to certain models: name the model in the request',
          who.id,
        );
      }
      if (!who.allowsModel(context.model)) {
        return refuse(logger, 'FORBIDDEN', `This key is not allowed to use the model "${context.model}"`, who.id);
      }
    }
    const principal: Principal = { id: who.id, roles: [...who.scopes], attributes: who.attributes };
    const client = context.client;
    if (!this.config.strip_credentials || client?.headers === undefined) return updateContext(context, { principal });
    return updateContext(context, {
      principal,
      client: { ...client, headers: withoutCredentials(client.headers, this.config.header) },
    });
  }
}

/** Who a valid credential names, and what it may do. */
interface Caller {
  readonly id: string;
  readonly scopes: readonly Scope[];
  /** Set for a key with a model allow-list. */
  readonly allowsModel: ((model: string) => boolean) | undefined;
  readonly attributes: Readonly<Record<string, unknown>>;
}

/**
 * What a 401 tells the client to do (RFC 6750): authenticate with a bearer credential; for an
 * expired or invalid one, that the token is the problem. A 403 needs no challenge.
 */
const CHALLENGES = {
  UNAUTHENTICATED: { 'www-authenticate': 'Bearer realm="plugboard"' },
  EXPIRED: { 'www-authenticate': 'Bearer realm="plugboard", error="invalid_token"' },
} as const;

/** A refusal; logged at debug level with the key's id when known, never with the credential. */
function refuse(logger: Logger, code: 'UNAUTHENTICATED' | 'EXPIRED' | 'FORBIDDEN', message: string, id?: string) {
  logger.debug({ operation: 'auth', error: `auth/${code}`, ...(id === undefined ? {} : { key_id: id }) }, message);
  // A 403's caller is known: the audit record (logging) names it through details.principal,
  // which no API sends to the client.
  const error =
    code === 'FORBIDDEN'
      ? authErrors[code](message, id === undefined ? {} : { details: { principal: id } })
      : authErrors[code](message, { headers: CHALLENGES[code] });
  return { decision: 'reject', error } as const satisfies RejectDecision;
}

function storedFromConfig(key: ConfigKey, env: NodeJS.ProcessEnv): StoredKey {
  // The schema guarantees exactly one of hash and key_env.
  const hash = key.hash ?? hashKey(required(env, key.key_env!, `keys "${key.id}": key_env`));
  return {
    id: key.id,
    hash,
    scopes: key.scopes,
    ...(key.models === undefined ? {} : { models: key.models }),
    ...(key.expires_at === undefined ? {} : { expiresAt: Date.parse(key.expires_at) }),
    disabled: key.disabled,
    source: 'config',
  };
}

function storedFromFile(record: KeyRecord, source: string): StoredKey {
  return {
    id: record.id,
    hash: record.hash,
    scopes: record.scopes,
    ...(record.models === undefined ? {} : { models: record.models }),
    ...(record.expires_at === undefined ? {} : { expiresAt: Date.parse(record.expires_at) }),
    disabled: record.disabled ?? false,
    source,
  };
}

function required(env: NodeJS.ProcessEnv, name: string, setting: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`${setting}: the environment variable ${name} is not set`);
  return value;
}
