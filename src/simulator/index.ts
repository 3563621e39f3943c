export { startSimulator, Simulator, SIM_APIS, type SimApi, type SimulatorOptions } from './server';
export type { Fault, ScopedFault, FaultScope } from './faults';
export type { RecordedRequest, TransitionEvent, OutageStartEvent, OutageEndEvent, SimulatorEventMap } from './events';
export { A9S_PG, TASK_STATUSES, type SimTaskStatus, type SeedBackupOptions, type SeedRestoreOptions, type ForgottenBackup } from './model';
export type { InstanceJson, BackupJson, RestoreJson, TaskJson, BackupOrder } from './view';
export type { RestBackupJson, RestRestoreJson, RestConfigJson } from './rest-view';
export type { SimInstanceConfig } from './model';
export { accessLine, loggerLine, formatAccessTime, formatLoggerTime } from './agent-log';
export { seedDemoHistory } from './demo';
