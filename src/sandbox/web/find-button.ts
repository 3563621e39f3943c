import { z } from 'zod';
import type { Block } from '../fake-slack';
import type { ClickedButton } from '../slack-requests';

const ButtonElement = z.looseObject({
  type: z.literal('button'),
  action_id: z.string(),
  text: z.looseObject({ text: z.string() }).optional(),
  value: z.string().optional(),
  style: z.string().optional(),
});

function elementsOf(block: Block): unknown[] {
  if (block.type === 'actions' && Array.isArray(block.elements)) return block.elements;
  if (block.type === 'section' && block.accessory !== undefined) return [block.accessory];
  return [];
}

/**
 * The button a click refers to, looked up in the message as Slack holds it. A click on a button
 * that is not there cannot happen in Slack, so the sandbox refuses it rather than invent one.
 * Without a block id the first button with that action id is taken, which suits tests.
 */
export function findButton(blocks: readonly Block[], actionId: string, blockId?: string): ClickedButton | undefined {
  for (const block of blocks) {
    if (blockId !== undefined && block.block_id !== blockId) continue;
    for (const element of elementsOf(block)) {
      const button = ButtonElement.safeParse(element);
      if (!button.success || button.data.action_id !== actionId) continue;
      return {
        blockId: block.block_id ?? '',
        actionId,
        ...(button.data.text === undefined ? {} : { text: button.data.text.text }),
        ...(button.data.value === undefined ? {} : { value: button.data.value }),
        ...(button.data.style === undefined ? {} : { style: button.data.style }),
      };
    }
  }
  return undefined;
}
