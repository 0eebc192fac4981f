/**
 * The Worker's bindings and vars (wrangler.toml, secrets), shared by the Worker and the object.
 */
import type { AuthEnv } from './auth.js';
import type { DatabaseObject } from './database-object.js';

export interface Env extends AuthEnv {
  /** One Durable Object per database, addressed by `idFromName(<name>)`. */
  DATABASE: DurableObjectNamespace<DatabaseObject>;
  /** The lake's bucket (Iceberg export; a later issue). */
  LAKE: R2Bucket;
  /** Optional JSON object overriding server/limits.ts defaults. */
  DOSQL_LIMITS?: string;
}
