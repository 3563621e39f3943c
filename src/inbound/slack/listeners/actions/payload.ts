import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { z } from 'zod';
import type { Deps, Origin } from '../../../../use-cases/deps';
import { ephemeralReply } from '../../reply';

export type ButtonArgs = SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs;

/** The fields of a block_actions payload the bot reads, checked at the edge. */
const ActionBody = z.object({
  user: z.object({ id: z.string().min(1) }),
  channel: z.object({ id: z.string().min(1) }).nullish(),
  container: z.object({ channel_id: z.string().optional(), message_ts: z.string().optional() }).passthrough().nullish(),
  message: z.object({ ts: z.string().optional() }).passthrough().nullish(),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().max(2000).optional() })).min(1),
  trigger_id: z.string().min(1).max(200).optional(),
});

export interface ParsedClick {
  origin: Origin;
  value: string;
  /** The ts of the message whose button was clicked; undefined when the payload has none. */
  messageTs: string | undefined;
  /** For views.open (a modal); Slack always sends one with a click. */
  triggerId: string | undefined;
}

/** Parses the click and builds who/where/how-to-answer; undefined for a payload we can not read. */
export function parseClick(deps: Deps, args: ButtonArgs): ParsedClick | undefined {
  const parsed = ActionBody.safeParse(args.body);
  if (!parsed.success) {
    deps.logger.warn({ issues: parsed.error.issues.length }, 'unreadable block_actions payload');
    return undefined;
  }
  const body = parsed.data;
  const channel = body.channel?.id ?? body.container?.channel_id ?? '';
  const user = body.user.id;
  return {
    value: body.actions[0]?.value ?? '',
    messageTs: body.container?.message_ts ?? body.message?.ts,
    triggerId: body.trigger_id,
    origin: { user, channel, reply: ephemeralReply({ respond: args.respond, client: args.client, channel, user, logger: deps.logger }) },
  };
}

export const RequestId = z.string().regex(/^\d{1,12}$/).transform(Number);
