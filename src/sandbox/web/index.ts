export { createSandboxRoutes, type SandboxRoutes, type SandboxRoutesOptions } from './routes';
export { findPublicDir } from './static-files';
