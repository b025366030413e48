/** Fakes of the vhost-user layer for tests (meant for the package's `./testing` entry). */
export {
  FakeVhostUserBackend,
  type FakeBackendCall,
  type FakeVhostUserBackendOptions,
} from './fake-backend.js';
export { decodeReply, frontendMessage, type DecodedReply, type FrontendMessage } from './frontend.js';
