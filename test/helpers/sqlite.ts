/**
 * A connection of its own to a SQLite file, as another process would open it: for tests that look
 * at or tamper with a store's file behind its back (the stores keep their own connection private).
 */
import Database from 'better-sqlite3';

export function openRaw(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('busy_timeout = 5000');
  return db;
}

/** Run SQL on the file through a fresh connection (closed afterwards). */
export function runSql(file: string, sql: string): void {
  const db = openRaw(file);
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}
