/** The part of sql.js's API the benchmarks use (the package ships no types; @types/sql.js is not a dependency). */
declare module 'sql.js' {
  type SqlJsValue = number | string | Uint8Array | null;
  interface SqlJsStatement {
    bind(params?: SqlJsValue[]): boolean;
    step(): boolean;
    getAsObject(): Record<string, SqlJsValue>;
    run(params?: SqlJsValue[]): void;
    reset(): void;
    free(): boolean;
  }
  interface SqlJsDatabase {
    exec(sql: string): unknown;
    run(sql: string, params?: SqlJsValue[]): SqlJsDatabase;
    prepare(sql: string): SqlJsStatement;
    close(): void;
  }
  interface SqlJsStatic {
    Database: new () => SqlJsDatabase;
  }
  export default function initSqlJs(config?: unknown): Promise<SqlJsStatic>;
}
