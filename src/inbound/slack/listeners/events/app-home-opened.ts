import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { z } from 'zod';
import type { HomeService } from '../../../../use-cases/home/home-service';
import type { Logger } from 'pino';

/** The fields of the app_home_opened event the bot reads, checked at the edge. */
const HomeOpened = z.object({
  user: z.string().regex(/^[UW][A-Z0-9]{2,}$/),
  channel: z.string().regex(/^D[A-Z0-9]{2,}$/).optional(),
  tab: z.string().optional(),
});

/** The Home tab (not the Messages tab) was opened: publish that person's overview. */
export function appHomeOpenedHandler(home: HomeService, logger: Logger) {
  return async ({ event }: SlackEventMiddlewareArgs<'app_home_opened'> & AllMiddlewareArgs): Promise<void> => {
    const parsed = HomeOpened.safeParse(event);
    if (!parsed.success) {
      logger.warn({ issues: parsed.error.issues.length }, 'unreadable app_home_opened event');
      return;
    }
    if (parsed.data.tab !== undefined && parsed.data.tab !== 'home') return;
    home.opened(parsed.data.user, parsed.data.channel);
  };
}
