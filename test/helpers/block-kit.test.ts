import { allTexts, assertBlockKitLimits, blockKitViolations } from './block-kit';

const ok = { text: 'fallback', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'hi' } }] };
const button = (over: Record<string, unknown> = {}) => ({ type: 'button', text: { type: 'plain_text', text: 'Go' }, action_id: 'go', value: 'v', ...over });

describe('assertBlockKitLimits', () => {
  it('accepts a message within the limits', () => {
    expect(() => assertBlockKitLimits(ok)).not.toThrow();
    expect(blockKitViolations(ok)).toEqual([]);
  });

  it.each<[string, { text?: unknown; blocks?: unknown }, RegExp]>([
    ['no fallback text', { ...ok, text: ' ' }, /^text: the plain-text fallback/],
    ['51 blocks', { text: 't', blocks: Array.from({ length: 51 }, () => ({ type: 'divider' })) }, /^blocks: 51 blocks, limit 50/],
    ['a long section', { text: 't', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } }] }, /blocks\[0\]\.text\.text: 3001 characters, limit 3000/],
    ['an empty section', { text: 't', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '' } }] }, /blocks\[0\]\.text\.text: empty/],
    ['a section without text', { text: 't', blocks: [{ type: 'section' }] }, /a section needs text or fields/],
    ['11 fields', { text: 't', blocks: [{ type: 'section', fields: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'f' })) }] }, /11 fields, limit 10/],
    ['a long field', { text: 't', blocks: [{ type: 'section', fields: [{ type: 'mrkdwn', text: 'f'.repeat(2001) }] }] }, /fields\[0\]\.text: 2001 characters/],
    ['a long header', { text: 't', blocks: [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }] }, /151 characters, limit 150/],
    ['a mrkdwn header', { text: 't', blocks: [{ type: 'header', text: { type: 'mrkdwn', text: 'h' } }] }, /expected plain_text/],
    ['11 context elements', { text: 't', blocks: [{ type: 'context', elements: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'c' })) }] }, /11 elements, limit 10/],
    ['a long button text', { text: 't', blocks: [{ type: 'actions', elements: [button({ text: { type: 'plain_text', text: 'b'.repeat(76) } })] }] }, /76 characters, limit 75/],
    ['a long button value', { text: 't', blocks: [{ type: 'actions', elements: [button({ value: 'v'.repeat(2001) })] }] }, /value: 2001 characters, limit 2000/],
    [
      'a long confirm title',
      { text: 't', blocks: [{ type: 'actions', elements: [button({ confirm: { title: { type: 'plain_text', text: 't'.repeat(101) }, text: { type: 'plain_text', text: 'x' }, confirm: { type: 'plain_text', text: 'y' }, deny: { type: 'plain_text', text: 'n' } } })] }] },
      /confirm\.title\.text: 101 characters, limit 100/,
    ],
    [
      'a long confirm text and buttons',
      { text: 't', blocks: [{ type: 'actions', elements: [button({ confirm: { title: { type: 'plain_text', text: 't' }, text: { type: 'plain_text', text: 'x'.repeat(301) }, confirm: { type: 'plain_text', text: 'y'.repeat(31) }, deny: { type: 'plain_text', text: 'n' } } })] }] },
      /confirm\.text\.text: 301 characters, limit 300/,
    ],
    ['a cut emoji', { text: 't', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '😀'.slice(0, 1) } }] }, /lone UTF-16 surrogate/],
    ['a duplicate block_id', { text: 't', blocks: [{ type: 'divider', block_id: 'a' }, { type: 'divider', block_id: 'a' }] }, /block_id: duplicate/],
    ['an unknown block', { text: 't', blocks: [{ type: 'rich_text' }] }, /unchecked block type rich_text/],
  ])('refuses %s', (_name, message, problem) => {
    expect(blockKitViolations(message)).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
    expect(() => assertBlockKitLimits(message)).toThrow(/Block Kit limits broken/);
  });

  it('reports confirm buttons over 30 characters', () => {
    const m = { text: 't', blocks: [{ type: 'actions', elements: [button({ confirm: { title: { type: 'plain_text', text: 't' }, text: { type: 'mrkdwn', text: 'x' }, confirm: { type: 'plain_text', text: 'y'.repeat(31) }, deny: { type: 'plain_text', text: 'n'.repeat(31) } } })] }] };
    expect(blockKitViolations(m)).toEqual([
      'blocks[0].elements[0].confirm.confirm.text: 31 characters, limit 30',
      'blocks[0].elements[0].confirm.deny.text: 31 characters, limit 30',
    ]);
  });

  it('collects every text of a message', () => {
    expect(allTexts({ text: 'f', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 's' }, accessory: button() }] })).toEqual(['f', 's', 'Go', 'v']);
  });
});
