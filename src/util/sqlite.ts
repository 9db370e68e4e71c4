/** SQLite helpers shared by the state DB and the fingerprint index. */
import type Database from 'better-sqlite3';

/**
 * A function that gives the prepared statement for an SQL text, preparing it once per database:
 * preparing costs more than running most statements. A statement is shared by every caller of the
 * same text, so set modes (`pluck`, `raw`) only on texts used in one place.
 */
export function statementCache(db: Database.Database): (sql: string) => Database.Statement {
  const statements = new Map<string, Database.Statement>();
  return (sql) => {
    let st = statements.get(sql);
    if (!st) {
      st = db.prepare(sql);
      statements.set(sql, st);
    }
    return st;
  };
}
