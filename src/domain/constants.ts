/** The platform's own PostgreSQL: the Backup Manager's database, restored with it down. */
export const A9S_PG = 'a9s-pg';

/** The backup agent's log on the a9s-pg master VM: where a restore's progress can be seen. */
export const AGENT_LOG_PATH = '/var/vcap/sys/log/backup-agent/production.log';
