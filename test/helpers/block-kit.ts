/**
 * Slack's Block Kit limits (https://api.slack.com/reference/block-kit), checked on any message
 * a renderer or a test payload carries. Lengths are counted in UTF-16 units, which is never
 * less than Slack's count of characters, so passing here means passing there.
 */

export const BLOCK_KIT = {
  blocks: 50,
  sectionText: 3000,
  fieldText: 2000,
  fields: 10,
  headerText: 150,
  contextElements: 10,
  contextText: 3000,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  blockId: 255,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  messageText: 40_000,
} as const;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Every way `message` breaks a limit, as `path: problem` lines; empty when it is fine. */
export function blockKitViolations(message: { text?: unknown; blocks?: unknown }): string[] {
  const out: string[] = [];
  const fail = (path: string, problem: string) => out.push(`${path}: ${problem}`);

  const string = (path: string, value: unknown, max: number): value is string => {
    if (typeof value !== 'string') {
      fail(path, `expected a string, got ${typeof value}`);
      return false;
    }
    if (value.length === 0) fail(path, 'empty');
    if (value.length > max) fail(path, `${value.length} characters, limit ${max}`);
    if (LONE_SURROGATE.test(value)) fail(path, 'holds a lone UTF-16 surrogate (a cut emoji)');
    return true;
  };

  const textObject = (path: string, value: unknown, max: number, types: readonly string[] = ['plain_text', 'mrkdwn']) => {
    if (!isObject(value)) return fail(path, 'expected a text object');
    if (typeof value.type !== 'string' || !types.includes(value.type)) fail(`${path}.type`, `expected ${types.join(' or ')}, got ${String(value.type)}`);
    string(`${path}.text`, value.text, max);
  };

  const button = (path: string, value: unknown) => {
    if (!isObject(value)) return fail(path, 'expected an element');
    if (value.type !== 'button') return fail(`${path}.type`, `unchecked element type ${String(value.type)}`);
    textObject(`${path}.text`, value.text, BLOCK_KIT.buttonText, ['plain_text']);
    string(`${path}.action_id`, value.action_id, BLOCK_KIT.actionId);
    if (value.value !== undefined && typeof value.value === 'string' && value.value.length > BLOCK_KIT.buttonValue) {
      fail(`${path}.value`, `${value.value.length} characters, limit ${BLOCK_KIT.buttonValue}`);
    }
    if (value.style !== undefined && value.style !== 'primary' && value.style !== 'danger') fail(`${path}.style`, `bad style ${String(value.style)}`);
    if (value.confirm !== undefined) {
      const c = value.confirm;
      if (!isObject(c)) return fail(`${path}.confirm`, 'expected an object');
      textObject(`${path}.confirm.title`, c.title, BLOCK_KIT.confirmTitle, ['plain_text']);
      textObject(`${path}.confirm.text`, c.text, BLOCK_KIT.confirmText);
      textObject(`${path}.confirm.confirm`, c.confirm, BLOCK_KIT.confirmButton, ['plain_text']);
      textObject(`${path}.confirm.deny`, c.deny, BLOCK_KIT.confirmButton, ['plain_text']);
    }
  };

  if (typeof message.text !== 'string' || message.text.trim() === '') fail('text', 'the plain-text fallback is missing or empty');
  else string('text', message.text, BLOCK_KIT.messageText);

  const blocks = message.blocks;
  if (!Array.isArray(blocks)) {
    fail('blocks', 'expected an array');
    return out;
  }
  if (blocks.length > BLOCK_KIT.blocks) fail('blocks', `${blocks.length} blocks, limit ${BLOCK_KIT.blocks}`);
  const ids = new Set<string>();
  blocks.forEach((block: unknown, i) => {
    const path = `blocks[${i}]`;
    if (!isObject(block)) return fail(path, 'expected an object');
    if (block.block_id !== undefined) {
      if (string(`${path}.block_id`, block.block_id, BLOCK_KIT.blockId) && ids.has(block.block_id)) fail(`${path}.block_id`, 'duplicate');
      if (typeof block.block_id === 'string') ids.add(block.block_id);
    }
    switch (block.type) {
      case 'section': {
        if (block.text === undefined && block.fields === undefined) fail(path, 'a section needs text or fields');
        if (block.text !== undefined) textObject(`${path}.text`, block.text, BLOCK_KIT.sectionText);
        if (block.fields !== undefined) {
          if (!Array.isArray(block.fields) || block.fields.length === 0) fail(`${path}.fields`, 'expected a non-empty array');
          else {
            if (block.fields.length > BLOCK_KIT.fields) fail(`${path}.fields`, `${block.fields.length} fields, limit ${BLOCK_KIT.fields}`);
            block.fields.forEach((f: unknown, j) => textObject(`${path}.fields[${j}]`, f, BLOCK_KIT.fieldText));
          }
        }
        if (block.accessory !== undefined) button(`${path}.accessory`, block.accessory);
        return;
      }
      case 'header':
        return textObject(`${path}.text`, block.text, BLOCK_KIT.headerText, ['plain_text']);
      case 'context': {
        const els = block.elements;
        if (!Array.isArray(els) || els.length === 0) return fail(`${path}.elements`, 'expected a non-empty array');
        if (els.length > BLOCK_KIT.contextElements) fail(`${path}.elements`, `${els.length} elements, limit ${BLOCK_KIT.contextElements}`);
        els.forEach((e: unknown, j) => textObject(`${path}.elements[${j}]`, e, BLOCK_KIT.contextText));
        return;
      }
      case 'actions': {
        const els = block.elements;
        if (!Array.isArray(els) || els.length === 0) return fail(`${path}.elements`, 'expected a non-empty array');
        if (els.length > BLOCK_KIT.actionsElements) fail(`${path}.elements`, `${els.length} elements, limit ${BLOCK_KIT.actionsElements}`);
        els.forEach((e: unknown, j) => button(`${path}.elements[${j}]`, e));
        return;
      }
      case 'divider':
        return;
      default:
        return fail(`${path}.type`, `unchecked block type ${String(block.type)}`);
    }
  });
  return out;
}

/** Throws with every violation listed when `message` breaks a Block Kit limit. */
export function assertBlockKitLimits(message: { text?: unknown; blocks?: unknown }): void {
  const violations = blockKitViolations(message);
  if (violations.length > 0) throw new Error(`Block Kit limits broken:\n  ${violations.join('\n  ')}`);
}

/** Every text of a message (fallback, sections, fields, context, buttons, confirm), for content checks. */
export function allTexts(message: { text?: unknown; blocks?: unknown }): string[] {
  const texts: string[] = typeof message.text === 'string' ? [message.text] : [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (isObject(v)) {
      for (const [k, x] of Object.entries(v)) {
        if ((k === 'text' || k === 'value') && typeof x === 'string') texts.push(x);
        else walk(x);
      }
    }
  };
  walk(message.blocks);
  return texts;
}
