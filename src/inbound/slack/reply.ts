import type { RespondFn } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Reply } from '../../use-cases/deps';
import type { SlackMessage } from '../../outbound/messages/blocks';

interface EphemeralApi {
  chat: { postEphemeral(args: { channel: string; user: string; text: string; blocks?: unknown[] }): Promise<unknown> };
}

/**
 * Ephemeral answers go through the request's response_url (works in any channel, even one
 * the bot is not in); if that fails (expired, used up), chat.postEphemeral is the fallback.
 */
export function ephemeralReply(options: {
  respond: RespondFn | undefined;
  client: EphemeralApi;
  channel: string;
  user: string;
  logger: Logger;
}): Reply {
  return async (message: SlackMessage) => {
    if (options.respond) {
      try {
        const res = await options.respond({ response_type: 'ephemeral', replace_original: false, text: message.text, blocks: message.blocks });
        // Bolt hands back the fetch Response unread; an unread body holds its connection open.
        await res.arrayBuffer().catch(() => undefined);
        return;
      } catch (err) {
        options.logger.debug({ err: (err as Error).message }, 'response_url failed; using chat.postEphemeral');
      }
    }
    try {
      await options.client.chat.postEphemeral({ channel: options.channel, user: options.user, text: message.text, blocks: message.blocks });
    } catch (err) {
      options.logger.warn({ err: (err as { data?: { error?: string } }).data?.error ?? (err as Error).message }, 'could not send an ephemeral reply');
    }
  };
}
