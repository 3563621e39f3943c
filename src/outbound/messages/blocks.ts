import type { types } from '@slack/bolt';
import { LIMITS, truncate } from './format';

export type Block = types.KnownBlock;
export type Button = types.Button;

/** What every renderer returns: the blocks and the plain-text fallback Slack requires. */
export interface SlackMessage {
  text: string;
  blocks: Block[];
}

export function section(text: string, accessory?: Button): types.SectionBlock {
  return {
    type: 'section',
    text: { type: 'mrkdwn', text: truncate(text, LIMITS.sectionText) },
    ...(accessory ? { accessory } : {}),
  };
}

export function fields(pairs: Array<[string, string]>): types.SectionBlock {
  return {
    type: 'section',
    fields: pairs.slice(0, LIMITS.fields).map(([k, v]) => ({ type: 'mrkdwn', text: truncate(`*${k}*\n${v}`, LIMITS.fieldText) })),
  };
}

export function header(text: string): types.HeaderBlock {
  return { type: 'header', text: { type: 'plain_text', text: truncate(text, LIMITS.header), emoji: true } };
}

export function context(...texts: string[]): types.ContextBlock {
  return {
    type: 'context',
    elements: texts.slice(0, LIMITS.contextElements).map((t) => ({ type: 'mrkdwn', text: truncate(t, LIMITS.sectionText) })),
  };
}

export function divider(): types.DividerBlock {
  return { type: 'divider' };
}

export function button(options: {
  text: string;
  actionId: string;
  value: string;
  style?: 'primary' | 'danger';
  /** What a screen reader says instead of the text, e.g. which of ten "Restore…" buttons this is. */
  accessibilityLabel?: string;
  confirm?: { title: string; text: string; confirm: string; deny: string; style?: 'primary' | 'danger' };
}): Button {
  if (options.value.length > LIMITS.buttonValue) throw new Error(`button value over ${LIMITS.buttonValue} characters`);
  return {
    type: 'button',
    text: { type: 'plain_text', text: truncate(options.text, LIMITS.buttonText), emoji: true },
    action_id: options.actionId,
    value: options.value,
    ...(options.style ? { style: options.style } : {}),
    // Slack's limit for accessibility_label is 75 characters.
    ...(options.accessibilityLabel ? { accessibility_label: truncate(options.accessibilityLabel, 75) } : {}),
    ...(options.confirm
      ? {
          confirm: {
            title: { type: 'plain_text', text: truncate(options.confirm.title, 100) },
            // plain_text: the dialog quotes names from outside (instance, backup), which mrkdwn would parse.
            text: { type: 'plain_text', text: truncate(options.confirm.text, 300) },
            confirm: { type: 'plain_text', text: truncate(options.confirm.confirm, 30) },
            deny: { type: 'plain_text', text: truncate(options.confirm.deny, 30) },
            ...(options.confirm.style ? { style: options.confirm.style } : {}),
          },
        }
      : {}),
  };
}

export function actions(blockId: string, elements: Button[]): types.ActionsBlock {
  return { type: 'actions', block_id: blockId, elements: elements.slice(0, 25) };
}

/** Final guard: never more blocks than Slack accepts, fallback text within bounds. */
export function message(text: string, blocks: Block[]): SlackMessage {
  const capped = blocks.length > LIMITS.blocks ? [...blocks.slice(0, LIMITS.blocks - 1), context('_…more not shown_')] : blocks;
  return { text: truncate(text, LIMITS.fallbackText), blocks: capped };
}
