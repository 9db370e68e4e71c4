import { describe, expect, it } from 'vitest';
import { checkRow } from '../../src/dataset/schema.js';

const u = (content: unknown) => ({ role: 'user', content });
const a = (content: unknown) => ({ role: 'assistant', content });
const errorsOf = (v: unknown) => {
  const r = checkRow(v);
  return r.ok ? [] : r.errors;
};

describe('checkRow', () => {
  it('accepts a valid row and returns it canonical', () => {
    const r = checkRow({ system: ' Be brief. ', conversations: [u(' Hi '), a('Hello'), u('Bye'), a('Bye!')] });
    expect(r).toEqual({ ok: true, row: { system: 'Be brief.', conversations: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }, { role: 'user', content: 'Bye' }, { role: 'assistant', content: 'Bye!' }] } });
  });

  it('accepts an absent or null system prompt', () => {
    expect(checkRow({ conversations: [u('q'), a('a')] }).ok).toBe(true);
    expect(checkRow({ system: null, conversations: [u('q'), a('a')] }).ok).toBe(true);
  });

  it('rejects non-object rows', () => {
    expect(errorsOf([1, 2])).toEqual(['a row must be a JSON object, got array']);
    expect(errorsOf('text')).toEqual(['a row must be a JSON object, got string']);
    expect(errorsOf(null)).toEqual(['a row must be a JSON object, got null']);
    expect(errorsOf(7)).toEqual(['a row must be a JSON object, got number']);
  });

  it('rejects a missing or malformed "conversations"', () => {
    expect(errorsOf({ system: 'x' })).toEqual(['missing "conversations"']);
    expect(errorsOf({ conversations: {} })).toEqual(['"conversations" must be an array of turns, got object']);
    expect(errorsOf({ conversations: [] })).toEqual(['"conversations" is empty: a row needs a user turn and an assistant turn']);
  });

  it('suggests convert for other formats', () => {
    expect(errorsOf({ messages: [] }).join('\n')).toContain('flock dataset convert --from openai');
    expect(errorsOf({ instruction: 'x', output: 'y' }).join('\n')).toContain('flock dataset convert --from alpaca');
    expect(errorsOf({ conversations: [{ from: 'human', value: 'q' }, { from: 'gpt', value: 'a' }] }).join('\n')).toContain('--from sharegpt');
  });

  it('rejects wrong and unknown roles, with advice', () => {
    expect(errorsOf({ conversations: [{ role: 'human', content: 'q' }, a('a')] })).toEqual([
      'turn 1: unknown role "human": roles are "user" and "assistant" (this looks like ShareGPT: run `flock dataset convert --from sharegpt`)']);
    expect(errorsOf({ conversations: [{ role: 'User', content: 'q' }, a('a')] })).toEqual(['turn 1: role "User" must be lower-case "user"']);
    expect(errorsOf({ conversations: [{ role: 'system', content: 's' }, u('q'), a('a')] })[0]).toMatch(/^turn 1: role "system" is not a turn: put the system prompt in the row's "system" field/);
    expect(errorsOf({ conversations: [{ role: 'tool', content: 'q' }, a('a')] })[0]).toMatch(/^turn 1: unknown role "tool"/);
    expect(errorsOf({ conversations: [{ role: 5, content: 'q' }, a('a')] })).toEqual(['turn 1: "role" must be "user" or "assistant", got number']);
    expect(errorsOf({ conversations: [{ content: 'q' }, a('a')] })).toEqual(['turn 1: missing "role"']);
  });

  it('rejects empty and non-string content', () => {
    expect(errorsOf({ conversations: [u(''), a('a')] })).toEqual(['turn 1: "content" is empty']);
    expect(errorsOf({ conversations: [u(' \n\t '), a('a')] })).toEqual(['turn 1: "content" is empty']);
    expect(errorsOf({ conversations: [u('q'), a(42)] })).toEqual(['turn 2: "content" must be a non-empty string, got number']);
    expect(errorsOf({ conversations: [u('q'), a(null)] })).toEqual(['turn 2: "content" must be a non-empty string, got null']);
    expect(errorsOf({ conversations: [u('q'), { role: 'assistant' }] })).toEqual(['turn 2: missing "content"']);
  });

  it('rejects conversations that do not alternate, start with the assistant or end with the user', () => {
    expect(errorsOf({ conversations: [u('q'), u('q2'), a('a')] })).toEqual(['turn 2: turns must alternate user/assistant, but turn 1 is also "user"']);
    expect(errorsOf({ conversations: [a('a'), u('q')] })).toEqual(['turn 1 must be from the user, got "assistant"']);
    expect(errorsOf({ conversations: [u('q'), a('a'), u('q2')] })).toEqual(['the conversation ends with the user (turn 3): it must end with an assistant turn']);
    expect(errorsOf({ conversations: [u('q')] })).toEqual(['the conversation ends with the user (turn 1): it must end with an assistant turn']);
  });

  it('rejects a non-string system prompt', () => {
    expect(errorsOf({ system: 5, conversations: [u('q'), a('a')] })).toEqual(['"system" must be a string or null, got number']);
    expect(errorsOf({ system: ['x'], conversations: [u('q'), a('a')] })).toEqual(['"system" must be a string or null, got array']);
  });

  it('rejects __proto__-style and unknown keys, in rows and turns', () => {
    const row = JSON.parse('{"__proto__": {"polluted": 1}, "conversations": [{"role":"user","content":"q","constructor":1},{"role":"assistant","content":"a"}]}');
    expect(errorsOf(row)).toEqual(['forbidden key "__proto__"', 'turn 1: forbidden key "constructor"']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(errorsOf({ id: 3, conversations: [u('q'), a('a')] })).toEqual(['unknown key "id": a row has only "system" and "conversations"']);
    expect(errorsOf({ conversations: [{ role: 'user', content: 'q', name: 'bob' }, a('a')] })).toEqual(['turn 1: unknown key "name": a turn has only "role" and "content"']);
  });

  it('rejects unpaired surrogates', () => {
    expect(errorsOf(JSON.parse('{"conversations":[{"role":"user","content":"bad \\ud800"},{"role":"assistant","content":"a"}]}'))).toEqual([
      'turn 1: "content" contains an unpaired UTF-16 surrogate (a broken \\uD8xx escape)']);
  });

  it('rejects turns that are not objects', () => {
    expect(errorsOf({ conversations: ['q', a('a')] })).toEqual(['turn 1 must be an object {"role", "content"}, got string']);
  });
});
