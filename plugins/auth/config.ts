import { z } from 'zod';
import { KEY_HASH_PATTERN } from './key-hash.ts';
import { SCOPES } from './scopes.ts';

/**
 * The auth plugin's `config`, checked strictly (a misspelt key is an error). A number or boolean
 * written as `${VAR}` in YAML is coerced by the configuration loader before this schema sees it.
 */

const flag = z.boolean();

const whole = (min: number, max: number) => z.number().int().min(min).max(max);

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const envName = z
  .string()
  .regex(ENV_NAME, { error: 'expected the name of an environment variable, such as AUTH_PEPPER' });

/** A key's name: shown in logs and as the principal's id, so kept printable. */
export const keyIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$/, { error: 'expected 1–64 letters, digits, ".", "_", ":", "@" or "-"' });

export const keyHashSchema = z
  .string()
  .regex(KEY_HASH_PATTERN, { error: 'expected "sha256:<64 hex digits>" or "hmac-sha256:<64 hex digits>"' });

export const scopeListSchema = z.array(z.enum(SCOPES)).min(1, { error: 'give at least one scope' });

/** An instant: an ISO 8601 date or date-time (`2026-01-31`, `2026-01-31T12:00:00Z`). */
export const instantSchema = z.string().refine((text) => !Number.isNaN(Date.parse(text)), {
  error: 'expected an ISO 8601 date or date-time, such as 2026-01-31T00:00:00Z',
});

/** A key written in the plugin's config: its hash, or the environment variable holding it. */
export const configKeySchema = z
  .strictObject({
    id: keyIdSchema,
    hash: keyHashSchema.optional(),
    /** An environment variable holding the plaintext key, hashed at load: the key never sits in a file. */
    key_env: envName.optional(),
    /** Refused with a message: a plaintext key belongs in the environment (`key_env`), not in config. */
    key: z
      .never({ error: 'a plaintext key is not accepted in config: use key_env: <VARIABLE> or hash: sha256:<hex>' })
      .optional(),
    scopes: scopeListSchema,
    models: z.array(z.string().min(1)).min(1).optional(),
    expires_at: instantSchema.optional(),
    disabled: flag.default(false),
  })
  .refine((key) => (key.hash === undefined) !== (key.key_env === undefined), {
    error: 'give exactly one of hash or key_env',
    path: ['hash'],
  });

/** Signature algorithms a token may use: public-key ones only, so no shared secret is needed or accepted. */
export const JWT_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

const names = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

/** Verification of JWTs from an identity provider; one key source of three. */
export const jwtSchema = z
  .strictObject({
    issuer: names,
    audience: names,
    jwks_file: z.string().min(1).optional(),
    jwks_url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL of a JSON Web Key Set' }).optional(),
    public_key: z
      .string()
      .includes('-----BEGIN PUBLIC KEY-----', { error: 'expected a PEM public key (SPKI)' })
      .optional(),
    algorithms: z
      .array(
        z.enum(JWT_ALGORITHMS, {
          error: `expected one of ${JWT_ALGORITHMS.join(', ')} (HMAC algorithms such as HS256 are not accepted: tokens must be signed with a private key)`,
        }),
      )
      .min(1)
      .default(['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA', 'Ed25519']),
    clock_tolerance_seconds: whole(0, 600).default(5),
    scopes_claim: z.string().min(1).default('scope'),
    jwks_timeout_ms: whole(1, 60_000).default(5000),
  })
  .refine(
    (jwt) => [jwt.jwks_file, jwt.jwks_url, jwt.public_key].filter((source) => source !== undefined).length === 1,
    { error: 'give exactly one of jwks_file, jwks_url or public_key', path: ['jwks_url'] },
  );

/** The zod schema of the plugin's `config`. */
export const authConfigSchema = z
  .strictObject({
    keys: z.array(configKeySchema).default([]),
    keys_file: z.string().min(1).optional(),
    keys_file_check_ms: whole(0, 3_600_000).default(1000),
    pepper_env: envName.optional(),
    header: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, { error: 'expected an HTTP header name' })
      .transform((name) => name.toLowerCase())
      .default('x-api-key'),
    anonymous: flag.default(false),
    strip_credentials: flag.default(true),
    jwt: jwtSchema.optional(),
  })
  .refine((config) => config.keys.length > 0 || config.keys_file !== undefined || config.jwt !== undefined, {
    error: 'configure at least one credential source: keys, keys_file or jwt',
    path: ['keys'],
  });

/** The plugin's config as validated, defaults applied. */
export type AuthConfig = z.output<typeof authConfigSchema>;
/** One `keys:` entry of the config. */
export type ConfigKey = AuthConfig['keys'][number];
/** The `jwt:` section. */
export type JwtConfig = NonNullable<AuthConfig['jwt']>;
