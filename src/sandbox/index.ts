export * from './fake-slack';
export { createSandboxRoutes, findPublicDir, type SandboxRoutes, type SandboxRoutesOptions } from './web';
export * from './slack-requests';
