/** statementCache: one prepared statement per SQL text and database. */
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { statementCache } from '../../src/util/sqlite.js';

describe('statementCache', () => {
  it('prepares each text once and gives the same statement back, per database', () => {
    const db = new Database(':memory:');
    const other = new Database(':memory:');
    try {
      const statement = statementCache(db);
      const a = statement('SELECT 1 AS one');
      expect(statement('SELECT 1 AS one')).toBe(a);
      expect(statement('SELECT 2 AS two')).not.toBe(a);
      expect(a.get()).toEqual({ one: 1 });
      expect(statementCache(other)('SELECT 1 AS one')).not.toBe(a);
    } finally {
      db.close();
      other.close();
    }
  });
});
