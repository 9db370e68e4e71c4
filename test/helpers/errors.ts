/** The FlockError a function throws (fails the test if it throws nothing or something else). */
import { expect } from 'vitest';
import { FlockError } from '../../src/util/errors.js';

export function errorOf(fn: () => unknown): FlockError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FlockError);
    return err as FlockError;
  }
  throw new Error('expected a FlockError');
}
