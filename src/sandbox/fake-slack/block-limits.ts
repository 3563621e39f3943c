import { z } from 'zod';
import { BlockSchema, type Block } from './types';

/**
 * Slack refuses a message whose blocks break Block Kit's limits, and a bot that only ever meets
 * a lenient fake finds out in production. The limits a backup bot can hit (long text, many
 * fields, button labels, confirm dialogs, duplicate ids) are checked here with Slack's error
 * codes; element types the bot does not use pass through unchecked.
 */

const maxText = (n: number) => z.string().min(1).max(n);
const PlainText = (n: number) => z.looseObject({ type: z.literal('plain_text'), text: maxText(n), emoji: z.boolean().optional() });
const AnyText = (n: number) => z.looseObject({ type: z.enum(['plain_text', 'mrkdwn']), text: maxText(n) });

const Confirm = z.looseObject({
  title: PlainText(100),
  text: AnyText(300),
  confirm: PlainText(30),
  deny: PlainText(30),
  style: z.enum(['primary', 'danger']).optional(),
});

const Button = z.looseObject({
  type: z.literal('button'),
  text: PlainText(75),
  action_id: z.string().min(1).max(255).optional(),
  value: z.string().max(2000).optional(),
  url: z.string().max(3000).optional(),
  style: z.enum(['primary', 'danger']).optional(),
  confirm: Confirm.optional(),
});

const OtherElement = z.looseObject({ type: z.string().refine((t) => t !== 'button') });
const Element = z.union([Button, OtherElement]);

const blockId = z.string().min(1).max(255).optional();

const KnownBlocks = {
  header: z.looseObject({ type: z.literal('header'), block_id: blockId, text: PlainText(150) }),
  section: z
    .looseObject({
      type: z.literal('section'),
      block_id: blockId,
      text: AnyText(3000).optional(),
      fields: z.array(AnyText(2000)).min(1).max(10).optional(),
      accessory: Element.optional(),
    })
    .refine((s) => s.text !== undefined || s.fields !== undefined, { message: 'a section needs text or fields' }),
  context: z.looseObject({
    type: z.literal('context'),
    block_id: blockId,
    elements: z.array(z.union([AnyText(3000), z.looseObject({ type: z.literal('image') })])).min(1).max(10),
  }),
  actions: z.looseObject({ type: z.literal('actions'), block_id: blockId, elements: z.array(Element).min(1).max(25) }),
  divider: z.looseObject({ type: z.literal('divider'), block_id: blockId }),
} as const;

const MAX_BLOCKS = 50;
const MAX_MESSAGE_TEXT = 40_000;

export interface ContentError {
  error: string;
  messages?: string[];
}

function pointer(path: ReadonlyArray<PropertyKey>): string {
  return `/${path.map(String).join('/')}`;
}

export function parseBlocks(value: unknown): { blocks: Block[] } | ContentError {
  const array = z.array(BlockSchema).safeParse(value);
  if (!array.success) return { error: 'invalid_blocks_format' };
  const blocks = array.data;
  const messages: string[] = [];
  if (blocks.length > MAX_BLOCKS) messages.push(`[ERROR] no more than ${MAX_BLOCKS} items allowed [json-pointer:/blocks]`);

  const seenIds = new Set<string>();
  blocks.forEach((block, index) => {
    if (block.block_id !== undefined) {
      if (seenIds.has(block.block_id)) messages.push(`[ERROR] duplicate block_id [json-pointer:/blocks/${index}/block_id]`);
      seenIds.add(block.block_id);
    }
    const schema = (KnownBlocks as Record<string, z.ZodType | undefined>)[block.type];
    const result = schema?.safeParse(block);
    for (const issue of result?.success === false ? result.error.issues : []) {
      messages.push(`[ERROR] ${issue.message} [json-pointer:${pointer(['blocks', index, ...issue.path])}]`);
    }
  });
  return messages.length > 0 ? { error: 'invalid_blocks', messages } : { blocks };
}

export interface MessageContent {
  text?: string;
  blocks?: Block[];
  attachments?: unknown[];
}

/** Validates the text/blocks/attachments trio of chat.postMessage, chat.update and chat.postEphemeral. */
export function parseMessageContent(
  args: Record<string, unknown>,
  options: { requireContent: boolean },
): { content: MessageContent } | ContentError {
  const content: MessageContent = {};
  if (args.text !== undefined) {
    if (typeof args.text !== 'string') return { error: 'invalid_arguments' };
    if (args.text.length > MAX_MESSAGE_TEXT) return { error: 'msg_too_long' };
    content.text = args.text;
  }
  if (args.blocks !== undefined) {
    const parsed = parseBlocks(args.blocks);
    if ('error' in parsed) return parsed;
    content.blocks = parsed.blocks;
  }
  if (args.attachments !== undefined) {
    if (!Array.isArray(args.attachments)) return { error: 'invalid_attachments' };
    content.attachments = args.attachments;
  }
  const empty = (content.text ?? '') === '' && (content.blocks?.length ?? 0) === 0 && (content.attachments?.length ?? 0) === 0;
  if (options.requireContent && empty) return { error: 'no_text' };
  return { content };
}
