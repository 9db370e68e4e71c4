import { describe, expect, it } from 'vitest';
import { convertRow } from '../../src/dataset/convert.js';

const conv = (...turns: [string, string][]) => turns.map(([role, content]) => ({ role, content }));

describe('convertRow', () => {
  it('converts ShareGPT, with a leading system turn', () => {
    expect(convertRow({ conversations: [{ from: 'system', value: 'Be kind.' }, { from: 'human', value: 'Hi' }, { from: 'gpt', value: 'Hello!' }] }, 'sharegpt'))
      .toEqual({ ok: true, row: { system: 'Be kind.', conversations: conv(['user', 'Hi'], ['assistant', 'Hello!']) } });
    expect(convertRow({ system: 'S', conversations: [{ from: 'user', value: 'q' }, { from: 'assistant', value: 'a' }] }, 'sharegpt'))
      .toEqual({ ok: true, row: { system: 'S', conversations: conv(['user', 'q'], ['assistant', 'a']) } });
  });

  it('reports ShareGPT rows it cannot convert', () => {
    expect(convertRow({ conversations: [{ from: 'dog', value: 'woof' }] }, 'sharegpt')).toEqual({ ok: false, errors: ['turn 1: unknown speaker "dog" (known: human, user, gpt, assistant, system)'] });
    expect(convertRow({ items: [] }, 'sharegpt')).toMatchObject({ ok: false, errors: [expect.stringMatching(/^missing "conversations"/)] });
    expect(convertRow({ conversations: [{ from: 'human', value: 'q' }, { from: 'system', value: 's' }] }, 'sharegpt')).toMatchObject({ ok: false });
    // the converted row is validated too: it must end with the assistant
    expect(convertRow({ conversations: [{ from: 'human', value: 'q' }] }, 'sharegpt')).toMatchObject({ ok: false, errors: [expect.stringMatching(/ends with the user/)] });
  });

  it('converts Alpaca, joining instruction and input', () => {
    expect(convertRow({ instruction: 'Translate to French.', input: 'Good night', output: 'Bonne nuit' }, 'alpaca'))
      .toEqual({ ok: true, row: { system: null, conversations: conv(['user', 'Translate to French.\n\nGood night'], ['assistant', 'Bonne nuit']) } });
    expect(convertRow({ instruction: 'Name a colour.', input: '', output: 'Blue' }, 'alpaca'))
      .toEqual({ ok: true, row: { system: null, conversations: conv(['user', 'Name a colour.'], ['assistant', 'Blue']) } });
    expect(convertRow({ instruction: 'x' }, 'alpaca')).toEqual({ ok: false, errors: ['"output" must be a string, got undefined'] });
    expect(convertRow({ instruction: 'x', output: '  ' }, 'alpaca')).toEqual({ ok: false, errors: ['turn 2: "content" is empty'] });
  });

  it('converts OpenAI messages, with a system message and text parts', () => {
    expect(convertRow({ messages: [{ role: 'system', content: 'Sys' }, { role: 'user', content: [{ type: 'text', text: 'Hi' }, { type: 'text', text: 'there' }] }, { role: 'assistant', content: 'Hey' }] }, 'openai'))
      .toEqual({ ok: true, row: { system: 'Sys', conversations: conv(['user', 'Hi\nthere'], ['assistant', 'Hey']) } });
  });

  it('reports OpenAI rows it cannot convert', () => {
    expect(convertRow({ messages: [{ role: 'user', content: 'q' }, { role: 'tool', content: 'x' }] }, 'openai')).toEqual({ ok: false, errors: ['message 2: role "tool" is not supported (system, user, assistant)'] });
    expect(convertRow({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] }, 'openai')).toEqual({ ok: false, errors: ['message 1: only text content parts are supported, got "image_url"'] });
    expect(convertRow({ messages: [{ role: 'user', content: 'q' }, { role: 'system', content: 's' }] }, 'openai')).toEqual({ ok: false, errors: ['message 2: a system message is only allowed first, once'] });
    expect(convertRow('text', 'openai')).toEqual({ ok: false, errors: ['a row must be a JSON object, got string'] });
  });
});
